"""Live state: read what is deployed, and nothing outside the owned schedule group.

ListSchedules returns summaries without expression or input, so each schedule needs its own
GetSchedule: ceil(N/100) list pages plus N gets. The gets run concurrently (a botocore client
is thread-safe) and start as soon as each list page arrives. The executor and the log table
are read beside them. Everything is normalised by reconciler.resources on the way in.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler.aws import READ_WORKERS, Clients
from reconciler.awserror import error_code
from reconciler.errors import FatalError
from reconciler.model import Settings
from reconciler.resources import (
    FunctionSpec,
    GroupSpec,
    LiveState,
    QueueSpec,
    ScheduleSpec,
    TableSpec,
)

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

LIST_PAGE_SIZE = 100  # the API's maximum (moto's default page is 50)
_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        # SQS's answer for a queue that does not exist (JSON and query protocols)
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)


def _absent(exc: ClientError) -> bool:
    return error_code(exc) in _NOT_FOUND


def read_group(scheduler: EventBridgeSchedulerClient, name: str) -> GroupSpec | None:
    try:
        group = scheduler.get_schedule_group(Name=name)
    except ClientError as exc:
        if _absent(exc):
            return None
        raise
    if group.get("State") == "DELETING":
        raise FatalError(
            f"schedule group {name!r} is being deleted: wait until it is gone, then run again"
        )
    return GroupSpec(name=name)


def list_schedule_names(scheduler: EventBridgeSchedulerClient, group: str) -> Iterator[list[str]]:
    """One list of names per ListSchedules page, for the owned group only."""
    token: str | None = None
    while True:
        params: dict[str, Any] = {"GroupName": group, "MaxResults": LIST_PAGE_SIZE}
        if token:
            params["NextToken"] = token
        page = scheduler.list_schedules(**params)
        yield [s["Name"] for s in page.get("Schedules", []) if s.get("GroupName", group) == group]
        token = page.get("NextToken")
        if not token:
            return


def read_schedule(
    scheduler: EventBridgeSchedulerClient, group: str, name: str
) -> ScheduleSpec | None:
    try:
        return ScheduleSpec.from_api(scheduler.get_schedule(Name=name, GroupName=group))
    except ClientError as exc:
        if _absent(exc):  # deleted between the list and the get
            return None
        raise


def read_schedules(
    scheduler: EventBridgeSchedulerClient, group: str, pool: ThreadPoolExecutor
) -> tuple[ScheduleSpec, ...]:
    futures: list[Future[ScheduleSpec | None]] = []
    for names in list_schedule_names(scheduler, group):
        futures += [pool.submit(read_schedule, scheduler, group, name) for name in names]
    found = [spec for spec in (f.result() for f in futures) if spec is not None]
    return tuple(sorted(found, key=lambda s: s.name))


def read_function(lambda_: LambdaClient, name: str) -> FunctionSpec | None:
    try:
        response = lambda_.get_function(FunctionName=name)
    except ClientError as exc:
        if _absent(exc):
            return None
        raise
    return FunctionSpec.from_api(
        {**response["Configuration"], "EventInvokeConfig": read_invoke_config(lambda_, name)}
    )


def read_invoke_config(lambda_: LambdaClient, name: str) -> dict[str, Any] | None:
    """The function's asynchronous-invoke configuration (unqualified), or None when unset."""
    try:
        config = lambda_.get_function_event_invoke_config(FunctionName=name)
    except ClientError as exc:
        if _absent(exc):
            return None
        raise
    return dict(config)


def read_queue(sqs: Any, name: str) -> QueueSpec | None:
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    except ClientError as exc:
        if _absent(exc):
            return None
        raise
    return QueueSpec.from_api({"QueueName": name, "Attributes": attributes.get("Attributes", {})})


def read_table(dynamodb: DynamoDBClient, name: str) -> TableSpec | None:
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if _absent(exc):
            return None
        raise
    ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    backups = dynamodb.describe_continuous_backups(TableName=name).get(
        "ContinuousBackupsDescription", {}
    )
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
    return TableSpec.from_api(
        {
            **table,
            "BillingMode": (table.get("BillingModeSummary") or {}).get("BillingMode"),
            "TimeToLive": {
                "Enabled": ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"),
                "AttributeName": ttl.get("AttributeName"),
            },
            "PointInTimeRecoveryEnabled": pitr == "ENABLED",
        }
    )


def table_exists(clients: Clients, name: str) -> bool:
    try:
        clients.dynamodb.describe_table(TableName=name)
    except ClientError as exc:
        if _absent(exc):
            return False
        raise
    return True


def read_live(clients: Clients, settings: Settings, *, workers: int = READ_WORKERS) -> LiveState:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ouroboros-read")
    try:
        function = pool.submit(read_function, clients.lambda_, settings.function_name)
        table = pool.submit(read_table, clients.dynamodb, settings.log_table)
        queue = pool.submit(read_queue, clients.sqs, settings.dead_letter_queue)
        group = read_group(clients.scheduler, settings.schedule_group)
        schedules = read_schedules(clients.scheduler, group.name, pool) if group else ()
        return LiveState(
            group=group,
            schedules=schedules,
            function=function.result(),
            table=table.result(),
            queue=queue.result(),
        )
    finally:
        # On a failure, do not start the gets still queued: the first error is the answer.
        pool.shutdown(wait=True, cancel_futures=True)
