"""Apply: makes a plan's changes in AWS (the other writers: destroy.py deletes a deployment,
lock.py holds the apply lock, runlog.py records an apply).

Changes run in the plan's order: the log table, the dead-letter queue, then the executor
(code, configuration and asynchronous-invoke configuration, waiting until Lambda reports it
active and updated), then the schedule group, then schedule
creates and updates (concurrently, bounded), and deletes last. A failure in the table, the
executor or the group stops everything after it, since the schedules depend on them. A
failed schedule change stops new ones from starting and skips every delete (a rename must
not delete the old schedule when creating the new one failed). Every change ends as done,
failed (with the error) or not attempted, so a partial apply reports exactly where it
stopped; running again converges, because the next plan is made from what is live. Ctrl-C
stops it the same way: the calls in flight finish, no new one starts, and the result says
so (`interrupted`). SIGTERM (how CI cancels a job) does the same once the command has turned
it into `Terminated` in the main thread.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, cast

from botocore.exceptions import ClientError

from reconciler.aws import WRITE_WORKERS, Clients, describe_aws_exception, retry_hint
from reconciler.awserror import error_code, error_message, gone_is_done
from reconciler.checks import escape_controls
from reconciler.errors import FatalError, InternalError
from reconciler.executor import manifest
from reconciler.live import read_function, read_invoke_config, read_schedule
from reconciler.package import ExecutorPackage
from reconciler.plan import CREATE, DELETE, UPDATE, Change
from reconciler.resources import (
    DEAD_LETTER_QUEUE,
    EXECUTOR,
    INVOKE_FIELDS,
    LOG_TABLE,
    SCHEDULE,
    SCHEDULE_GROUP,
    FunctionSpec,
    InvokeConfig,
    QueueSpec,
    Resource,
    ScheduleSpec,
    TableSpec,
)

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.literals import BillingModeType
    from mypy_boto3_dynamodb.type_defs import WaiterConfigTypeDef as TableWaiterConfig
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_lambda.type_defs import WaiterConfigTypeDef as FunctionWaiterConfig
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

ChangeStatus = Literal["done", "failed", "not attempted"]
DONE: Final = "done"
FAILED: Final = "failed"
NOT_ATTEMPTED: Final = "not attempted"  # a change apply never started (not ec2's error code)
_WAIT_TABLE: TableWaiterConfig = {"Delay": 2, "MaxAttempts": 90}
_WAIT_FUNCTION: FunctionWaiterConfig = {"Delay": 1, "MaxAttempts": 300}
_PAST = {CREATE: "created", UPDATE: "updated", DELETE: "deleted"}
CTRL_C = "Ctrl-C"
SIGTERM = "SIGTERM"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: apply stops exactly as for Ctrl-C."""


def stopped_by(exc: BaseException) -> str:
    return SIGTERM if isinstance(exc, Terminated) else CTRL_C


def in_flight_error(by: str) -> str:
    return f"interrupted ({by}) while in progress: it may or may not have been made"


INTERRUPTED_IN_FLIGHT = in_flight_error(CTRL_C)


@dataclass(frozen=True)
class ChangeResult:
    change: Change
    status: ChangeStatus
    error: str | None = None

    def line(self) -> str:
        c = self.change
        if self.status == DONE:
            return f"{c.symbol} {_PAST[c.action]} {c.kind} {c.name}"
        if self.status == FAILED:
            return f"! failed to {c.action} {c.kind} {c.name}: {escape_controls(str(self.error))}"
        return f"  not attempted: {c.action} {c.kind} {c.name}"


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[ChangeResult, ...]
    interrupted: bool = False  # Ctrl-C or SIGTERM stopped it
    stopped_by: str = CTRL_C  # which of the two, when interrupted

    def with_status(self, status: str) -> list[ChangeResult]:
        return [r for r in self.results if r.status == status]

    @property
    def outcome(self) -> str:
        """ok: everything done; failed: nothing done; partial: in between."""
        done = len(self.with_status(DONE))
        if done == len(self.results):
            return "ok"
        return "failed" if done == 0 else "partial"

    def summary(self) -> str:
        done = self.with_status(DONE)
        counts = {a: sum(1 for r in done if r.change.action == a) for a in _PAST}
        text = ", ".join(f"{counts[a]} {_PAST[a]}" for a in _PAST)
        failed, skipped = len(self.with_status(FAILED)), len(self.with_status(NOT_ATTEMPTED))
        if failed or skipped:
            text += f"; {failed} failed, {skipped} not attempted"
        return text

    @property
    def first_error(self) -> str | None:
        failed = self.with_status(FAILED)
        return failed[0].error if failed else None


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, FatalError):
        return str(exc)
    text = describe_aws_exception(exc) or f"{type(exc).__name__}: {exc}"
    hint = retry_hint(error_code(exc) or "", error_message(exc))
    return f"{text} ({hint})" if hint else text


# The log table


def create_table(dynamodb: DynamoDBClient, spec: TableSpec) -> None:
    api = spec.to_api()
    params = {
        "TableName": spec.name,
        "BillingMode": spec.billing_mode,
        "AttributeDefinitions": api["AttributeDefinitions"],
        "KeySchema": api["KeySchema"],
    }
    if api["GlobalSecondaryIndexes"]:
        params["GlobalSecondaryIndexes"] = api["GlobalSecondaryIndexes"]
    try:
        dynamodb.create_table(**params)
    except ClientError as exc:
        if error_code(exc) != "ResourceInUseException":  # another apply is creating it
            raise
    dynamodb.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig=_WAIT_TABLE)
    set_table_options(dynamodb, spec, ttl=True, pitr=True)


def set_table_options(dynamodb: DynamoDBClient, spec: TableSpec, *, ttl: bool, pitr: bool) -> None:
    if ttl:
        dynamodb.update_time_to_live(
            TableName=spec.name,
            TimeToLiveSpecification={
                "Enabled": spec.ttl_attribute is not None,
                "AttributeName": spec.ttl_attribute or "expires_at",
            },
        )
    if pitr:
        dynamodb.update_continuous_backups(
            TableName=spec.name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": spec.point_in_time_recovery
            },
        )


def update_table(dynamodb: DynamoDBClient, change: Change, spec: TableSpec) -> None:
    if change.changed("BillingMode"):
        # One of the two modes: runlog.TABLE_DEFINITION's (PAY_PER_REQUEST) or AWS's answer.
        mode = cast("BillingModeType", spec.billing_mode)
        dynamodb.update_table(TableName=spec.name, BillingMode=mode)
        dynamodb.get_waiter("table_exists").wait(TableName=spec.name, WaiterConfig=_WAIT_TABLE)
    set_table_options(
        dynamodb,
        spec,
        ttl=change.changed("TimeToLive.AttributeName"),
        pitr=change.changed("PointInTimeRecovery"),
    )


# The dead-letter queue


def create_queue(sqs: Any, spec: QueueSpec) -> None:
    """CreateQueue is idempotent for the same attributes; one that exists otherwise is set."""
    try:
        sqs.create_queue(QueueName=spec.name, Attributes=spec.attributes())
    except ClientError as exc:
        if error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        update_queue(sqs, spec)


def update_queue(sqs: Any, spec: QueueSpec) -> None:
    url = sqs.get_queue_url(QueueName=spec.name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes=spec.attributes())


# The executor


def _zip_for(spec: FunctionSpec, package: ExecutorPackage | None) -> bytes:
    if package is None or package.code_sha256 != spec.code_sha256:
        built = package.code_sha256 if package else "none"
        raise FatalError(
            f"the executor code built here (CodeSha256 {built}) is not the code the plan "
            f"deploys ({spec.code_sha256}): make the plan again with this version of ouroboros"
        )
    return package.zip_bytes


def _wait_updated(lambda_: LambdaClient, name: str) -> None:
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT_FUNCTION)


def create_function(
    lambda_: LambdaClient, spec: FunctionSpec, package: ExecutorPackage | None
) -> None:
    zip_bytes = _zip_for(spec, package)
    try:
        lambda_.create_function(**spec.configuration(), Code={"ZipFile": zip_bytes}, Publish=False)
    except ClientError as exc:
        if error_code(exc) != "ResourceConflictException":
            raise
        _ours_or_raise(exc, EXECUTOR, spec, read_function(lambda_, spec.name))
    lambda_.get_waiter("function_active_v2").wait(
        FunctionName=spec.name, WaiterConfig=_WAIT_FUNCTION
    )
    put_invoke_config(lambda_, spec)


def put_invoke_config(lambda_: LambdaClient, spec: FunctionSpec) -> None:
    """Retries, event age and the on-failure destination of Scheduler's asynchronous invokes.

    Put, not Update: it replaces the whole configuration, so nothing set by hand survives.
    """
    if spec.invoke is None:
        with gone_is_done():
            lambda_.delete_function_event_invoke_config(FunctionName=spec.name)
        return
    lambda_.put_function_event_invoke_config(FunctionName=spec.name, **spec.invoke.to_api())
    # moto keeps the first configuration put and appends later ones: check, and replace it
    # there. On AWS the put has replaced it and this is one read.
    if InvokeConfig.from_api(read_invoke_config(lambda_, spec.name)) != spec.invoke:
        with gone_is_done():
            lambda_.delete_function_event_invoke_config(FunctionName=spec.name)
        lambda_.put_function_event_invoke_config(FunctionName=spec.name, **spec.invoke.to_api())


def update_function(
    lambda_: LambdaClient, change: Change, spec: FunctionSpec, package: ExecutorPackage | None
) -> None:
    # Lambda refuses an update while another is in progress: wait before each one.
    if change.changed("CodeSha256"):
        zip_bytes = _zip_for(spec, package)
        _wait_updated(lambda_, spec.name)
        lambda_.update_function_code(FunctionName=spec.name, ZipFile=zip_bytes)
    if any(f.field not in ("CodeSha256", *INVOKE_FIELDS) for f in change.diff):
        _wait_updated(lambda_, spec.name)
        lambda_.update_function_configuration(**spec.configuration())
    _wait_updated(lambda_, spec.name)
    if any(f.field in INVOKE_FIELDS for f in change.diff):
        put_invoke_config(lambda_, spec)


# The schedule group and the schedules


def create_group(scheduler: EventBridgeSchedulerClient, name: str) -> None:
    # moto (unlike AWS) silently re-creates an existing group and wipes its schedules, so
    # never create one without looking first.
    try:
        scheduler.get_schedule_group(Name=name)
        return
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    try:
        scheduler.create_schedule_group(Name=name)
    except ClientError as exc:
        # There now: our own create retried after its reply was lost, or another apply's.
        # A group is only its name, so either way it is the group we wanted.
        if error_code(exc) != "ConflictException":
            raise


def create_schedule(scheduler: EventBridgeSchedulerClient, spec: ScheduleSpec) -> None:
    """Create; a ConflictException is done when the schedule there is exactly the one sent.

    botocore retries a create whose reply was lost, and the retry then meets the schedule
    the first attempt made: that is our own success. Anything else there is someone else's.
    (The executor's create is treated the same way.)
    """
    try:
        scheduler.create_schedule(**spec.to_api())
    except ClientError as exc:
        if error_code(exc) != "ConflictException":
            raise
        _ours_or_raise(exc, SCHEDULE, spec, read_schedule(scheduler, spec.group, spec.name))


def _ours_or_raise(
    exc: ClientError, kind: str, sent: ScheduleSpec | FunctionSpec, there: Resource | None
) -> None:
    """A create met an existing resource: done if it is exactly the one sent, else an error."""
    if there is None:  # deleted again since: nothing to compare, the error stands
        raise exc
    if isinstance(there, FunctionSpec) and isinstance(sent, FunctionSpec):
        # The invoke configuration is put after the create: the first attempt never got to it.
        there = dataclasses.replace(there, invoke=sent.invoke)
    if there != sent:
        wanted, found = sent.fields(), there.fields()
        differing = ", ".join(f for f in wanted if wanted[f] != found.get(f))
        raise FatalError(
            f"{kind} {sent.name} already exists and is not the one this apply sent (it differs "
            f"in {differing}): someone else created it meanwhile (another apply, or by hand); "
            "run reconcile plan again to see it"
        ) from exc


def put_schedule(scheduler: EventBridgeSchedulerClient, change: Change, spec: ScheduleSpec) -> None:
    if change.action == CREATE:
        create_schedule(scheduler, spec)
    elif change.changed("ActionAfterCompletion"):
        # Switching between one-time and recurring: moto's UpdateSchedule ignores this field,
        # so replace the schedule; AWS gives the same end state either way.
        delete_schedule(scheduler, spec.group, spec.name)
        create_schedule(scheduler, spec)
    else:
        scheduler.update_schedule(**spec.to_api())


def delete_schedule(scheduler: EventBridgeSchedulerClient, group: str, name: str) -> None:
    with gone_is_done():
        scheduler.delete_schedule(Name=name, GroupName=group)


def apply_change(
    clients: Clients, change: Change, package: ExecutorPackage | None, group: str
) -> None:
    """Make one change, raising on failure."""
    desired = change.desired
    if change.kind == LOG_TABLE and isinstance(desired, TableSpec):
        if change.action == CREATE:
            create_table(clients.dynamodb, desired)
        else:
            update_table(clients.dynamodb, change, desired)
    elif change.kind == DEAD_LETTER_QUEUE and isinstance(desired, QueueSpec):
        if change.action == CREATE:
            create_queue(clients.sqs, desired)
        else:
            update_queue(clients.sqs, desired)
    elif change.kind == EXECUTOR and isinstance(desired, FunctionSpec):
        if change.action == CREATE:
            create_function(clients.lambda_, desired, package)
        else:
            update_function(clients.lambda_, change, desired, package)
    elif change.kind == SCHEDULE_GROUP:
        create_group(clients.scheduler, change.name)
    elif change.kind == SCHEDULE and change.action == DELETE:
        delete_schedule(clients.scheduler, group, change.name)
    elif change.kind == SCHEDULE and isinstance(desired, ScheduleSpec):
        put_schedule(clients.scheduler, change, desired)
    else:
        raise InternalError(f"cannot {change.action} {change.kind} {change.name}: not supported")


# Running a whole plan

Progress = Callable[[ChangeResult], None]

# Set once a run of concurrent changes starts nothing more (stop is set) and its main thread
# waits for the calls in flight; cleared when the next run starts. A hook for the Ctrl-C tests,
# which must know when no change can start any more, whatever the machine's load.
settling = threading.Event()


def _attempt(
    clients: Clients, change: Change, package: ExecutorPackage | None, group: str
) -> ChangeResult:
    try:
        apply_change(clients, change, package, group)
    except InternalError:
        raise  # a bug, not a failed change: the CLI handler reports it (exit 3)
    except Exception as exc:
        return ChangeResult(change, FAILED, _error_text(exc))
    return ChangeResult(change, DONE)


def _run_concurrently(
    clients: Clients,
    indexed: Sequence[tuple[int, Change]],
    package: ExecutorPackage | None,
    group: str,
    workers: int,
    report: Progress,
    should_continue: Callable[[], bool],
    results: dict[int, ChangeResult],
) -> None:
    """Run changes `workers` at a time into `results`; once one fails, start no more.

    Each worker records its own result and the main thread waits on a count of calls in
    flight, not on futures or threads: Ctrl-C can land while the pool is still handing out
    work (a future not yet returned, a thread not yet tracked), and a change that was made
    must still be reported, and made before we return.
    """
    stop = threading.Event()
    state = threading.Condition()
    in_flight = [0]
    settling.clear()
    finished: dict[int, ChangeResult] = {}
    bugs: list[InternalError] = []  # raised again in the main thread once all have settled

    def attempt(index: int, change: Change) -> None:
        with state:
            if stop.is_set() or not should_continue():
                stop.set()
                return
            in_flight[0] += 1
        result = ChangeResult(change, FAILED, INTERRUPTED_IN_FLIGHT)
        try:
            result = _attempt(clients, change, package, group)
        except InternalError as exc:
            bugs.append(exc)
            result = ChangeResult(change, FAILED, str(exc))
        finally:
            with state:
                if result.status == FAILED:
                    stop.set()
                finished[index] = result
                in_flight[0] -= 1
                state.notify_all()

    def collect() -> None:
        """Record and report, from the main thread, what has finished since the last call."""
        with state:
            new = [(i, r) for i, r in finished.items() if i not in results]
        for index, result in new:
            results[index] = result
            report(result)

    def settle() -> None:
        """Start nothing more; wait for the calls in flight to finish.

        A second Ctrl-C or SIGTERM meanwhile (a CI runner sends SIGINT, then SIGTERM) changes
        nothing: the calls cannot be cut short safely, and each must still be reported.
        """
        with state:
            stop.set()
            settling.set()  # the waiter runs once wait_for below releases the lock
            while in_flight[0]:
                try:
                    state.wait_for(lambda: in_flight[0] == 0)
                except KeyboardInterrupt:
                    continue

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ouroboros-apply")
    try:
        futures = [pool.submit(attempt, index, change) for index, change in indexed]
        for _ in as_completed(futures):
            collect()
    except KeyboardInterrupt:
        # Ctrl-C: the queued changes return at once; the calls in flight cannot be cut
        # short safely, so let them finish and report them with the rest.
        settle()
        collect()
        raise
    finally:
        settle()
        pool.shutdown(wait=False)
    collect()
    if bugs:
        raise bugs[0]


def apply_changes(
    clients: Clients,
    changes: Sequence[Change],
    *,
    group: str,
    package: ExecutorPackage | None,
    workers: int | None = None,
    progress: Progress | None = None,
    should_continue: Callable[[], bool] = lambda: True,
) -> ApplyResult:
    report: Progress = progress or (lambda _result: None)
    workers = workers or WRITE_WORKERS
    results: dict[int, ChangeResult] = {}
    indexed = list(enumerate(changes))
    head = [(i, c) for i, c in indexed if c.kind != SCHEDULE]
    upserts = [(i, c) for i, c in indexed if c.kind == SCHEDULE and c.action != DELETE]
    deletes = [(i, c) for i, c in indexed if c.kind == SCHEDULE and c.action == DELETE]

    def healthy() -> bool:
        return all(r.status == DONE for r in results.values()) and should_continue()

    interrupted: str | None = None
    try:
        for index, change in head:
            if not healthy():
                break
            try:
                results[index] = _attempt(clients, change, package, group)
            except KeyboardInterrupt as exc:
                results[index] = ChangeResult(change, FAILED, in_flight_error(stopped_by(exc)))
                raise
            report(results[index])
        for batch in (upserts, deletes):
            if batch and healthy():
                _run_concurrently(
                    clients, batch, package, group, workers, report, should_continue, results
                )
    except KeyboardInterrupt as exc:
        interrupted = stopped_by(exc)
    return ApplyResult(
        tuple(results.get(i) or ChangeResult(c, NOT_ATTEMPTED) for i, c in indexed),
        interrupted=interrupted is not None,
        stopped_by=interrupted or CTRL_C,
    )


def schedules_after(
    live: Iterable[ScheduleSpec], results: Iterable[ChangeResult]
) -> list[ScheduleSpec]:
    """The schedules live once the done changes are made (the manifest describes these)."""
    by_name = {s.name: s for s in live}
    for result in results:
        change = result.change
        if result.status != DONE or change.kind != SCHEDULE:
            continue
        if change.action == DELETE:
            by_name.pop(change.name, None)
        elif isinstance(change.desired, ScheduleSpec):
            by_name[change.name] = change.desired
    return [by_name[name] for name in sorted(by_name)]


def write_manifest(
    dynamodb: DynamoDBClient, table: str, schedules: Iterable[ScheduleSpec], written_at: str
) -> manifest.Manifest:
    """The executor's manifest of enabled rules (§12), from the schedules now live."""
    entries = []
    for spec in schedules:
        try:
            event = json.loads(spec.input or "")
        except ValueError:
            continue  # not a schedule of ours: the executor would refuse its events anyway
        if isinstance(event, dict) and "rule" in event and "action" in event:
            entries.append((event, spec.expression, spec.timezone, spec.state == "ENABLED"))
    built = manifest.build(entries, written_at)
    dynamodb.put_item(TableName=table, Item=manifest.encode(built))
    return built
