"""`reconcile destroy --settings FILE`: remove everything a settings file deployed.

What it removes, in this order, all in the settings' home region and named by the settings:
every schedule in its schedule group (nothing fires after that), the group, the executor,
the dead-letter queue (with any messages still in it), and the log table only with
--include-logs (the run log and apply records live there). The
same confirmation rules as apply; the apply lock is taken when the table exists, so a
destroy never runs beside an apply.

Made for the settings a deployment had before a change of region, group, function or table
(the plan's notes point here), so it guards against taking the new deployment with it: an
executor serving another group (its description says which) is kept, and so is a table that
kept executor still logs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from reconciler import audit, output
from reconciler.apply import DONE, FAILED, NOT_ATTEMPTED, ChangeResult, apply_changes
from reconciler.aws import Clients, describe_aws_exception
from reconciler.awserror import error_code, gone_is_done
from reconciler.checks import escape_controls
from reconciler.commands.apply import confirm, make_lock
from reconciler.commands.plan import connect
from reconciler.desired import described_group
from reconciler.live import read_live
from reconciler.lock import parse_duration
from reconciler.model import Settings
from reconciler.plan import DELETE, Change, not_created_by_ouroboros
from reconciler.resources import (
    DEAD_LETTER_QUEUE,
    EXECUTOR,
    LOG_TABLE,
    SCHEDULE,
    SCHEDULE_GROUP,
    LiveState,
)
from reconciler.runlog import TABLE_ENV
from reconciler.settings import load_settings

if TYPE_CHECKING:  # boto3-stubs (the dev extra)
    from mypy_boto3_dynamodb.type_defs import WaiterConfigTypeDef

_WAIT_TABLE_GONE: WaiterConfigTypeDef = {"Delay": 2, "MaxAttempts": 90}


@dataclass(frozen=True)
class Teardown:
    changes: tuple[Change, ...]  # deletes, in the order they are made
    kept: tuple[str, ...]  # what stays, and why


def teardown(settings: Settings, live: LiveState, *, include_logs: bool) -> Teardown:
    """What destroy deletes (pure): the group's schedules, the group, the executor, the table."""
    changes = [Change(DELETE, SCHEDULE, s.name, before=s) for s in live.schedules]
    kept: list[str] = []
    if live.group is not None:
        changes.append(Change(DELETE, SCHEDULE_GROUP, live.group.name, before=live.group))
    function = live.function
    serves = described_group(function.description) if function else None
    if function is not None and serves == settings.schedule_group:
        changes.append(Change(DELETE, EXECUTOR, function.name, before=function))
    elif function is not None:
        whose = f"serves schedule group {serves}" if serves else "is not an Ouroboros executor"
        kept.append(f"executor {function.name} is kept: it {whose} (its description says so)")
    kept_sends_there = (
        function is not None
        and serves != settings.schedule_group
        and live.queue is not None
        and function.invoke is not None
        and function.invoke.on_failure == live.queue.arn
    )
    if live.queue is not None and kept_sends_there:
        kept.append(
            f"dead-letter queue {live.queue.name} is kept: the kept executor sends its "
            "failures there"
        )
    elif live.queue is not None:
        changes.append(Change(DELETE, DEAD_LETTER_QUEUE, live.queue.name, before=live.queue))
    table_in_use = (
        function is not None
        and serves != settings.schedule_group
        and dict(function.environment).get(TABLE_ENV) == settings.log_table
    )
    if live.table is not None and not include_logs:
        kept.append(
            f"log table {live.table.name} is kept, with its run log: add --include-logs to "
            "delete it too"
        )
    elif live.table is not None and table_in_use:
        kept.append(f"log table {live.table.name} is kept: the kept executor still logs to it")
    elif live.table is not None:
        changes.append(Change(DELETE, LOG_TABLE, live.table.name, before=live.table))
    return Teardown(tuple(changes), tuple(kept))


def render(settings: Settings, path: str, plan: Teardown) -> str:
    where = f"{settings.region} (schedule group {settings.schedule_group})"
    if not plan.changes:
        lines = [f"Nothing to destroy: nothing {path} deploys exists in {where}."]
    else:
        lines = [f"Ouroboros will delete everything {path} deployed in {where}:", ""]
        for change in plan.changes:
            why = not_created_by_ouroboros(change, settings)
            note = f" (not created by Ouroboros: {why})" if why else ""
            lines.append(f"  - delete {change.kind} {change.name}{note}")
        lines.append("")
    lines += [f"Note: {k}" for k in plan.kept]
    if plan.changes:
        lines.append(f"Destroy: {len(plan.changes)} to delete.")
    # The path is the user's, the notes quote what is live: neither may drive the terminal.
    return "\n".join(escape_controls(line) for line in lines) + "\n"


# Deleting (the schedules go through apply's own concurrent deletes)


def delete_group(clients: Clients, name: str) -> None:
    with gone_is_done():
        clients.scheduler.delete_schedule_group(Name=name)


def delete_function(clients: Clients, name: str) -> None:
    with gone_is_done():
        clients.lambda_.delete_function(FunctionName=name)


def delete_queue(clients: Clients, name: str) -> None:
    try:
        url = clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return  # already gone: done
        raise
    clients.sqs.delete_queue(QueueUrl=url)


def delete_table(clients: Clients, name: str) -> None:
    with gone_is_done():
        clients.dynamodb.delete_table(TableName=name)
        clients.dynamodb.get_waiter("table_not_exists").wait(
            TableName=name, WaiterConfig=_WAIT_TABLE_GONE
        )


_DELETERS: dict[str, Callable[[Clients, str], None]] = {
    SCHEDULE_GROUP: delete_group,
    EXECUTOR: delete_function,
    DEAD_LETTER_QUEUE: delete_queue,
    LOG_TABLE: delete_table,
}


def execute(
    clients: Clients, settings: Settings, changes: tuple[Change, ...]
) -> list[ChangeResult]:
    schedules = tuple(c for c in changes if c.kind == SCHEDULE)
    results = list(
        apply_changes(clients, schedules, group=settings.schedule_group, package=None).results
    )
    for change in changes[len(schedules) :]:
        if any(r.status != DONE for r in results):  # a schedule left: its group must stay
            results.append(ChangeResult(change, NOT_ATTEMPTED))
            continue
        try:
            _DELETERS[change.kind](clients, change.name)
        except Exception as exc:
            error = describe_aws_exception(exc) or f"{type(exc).__name__}: {exc}"
            results.append(ChangeResult(change, FAILED, error))
        else:
            results.append(ChangeResult(change, DONE))
    return results


def report(results: list[ChangeResult]) -> int:
    output.out("")
    for result in results:
        output.out(f"  {result.line()}")
    done = sum(1 for r in results if r.status == DONE)
    failed = [r for r in results if r.status == FAILED]
    if done == len(results):
        output.out(f"\nDestroy complete: {done} deleted.")
        return 0
    output.out(f"\nDestroy stopped: {done} deleted, {len(results) - done} left.")
    why = failed[0].error if failed else "a change before it failed"
    output.err(
        f"error: {escape_controls(str(why))}\nRun `reconcile destroy` again once the cause is fixed."
    )
    return 1


def run(
    *, settings_path: str, include_logs: bool = False, yes: bool = False, lock_timeout: str = "5m"
) -> int:
    timeout_s = parse_duration(lock_timeout)
    settings = load_settings(settings_path)
    clients = connect(settings)
    live = read_live(clients, settings)
    plan = teardown(settings, live, include_logs=include_logs)
    output.out(render(settings, settings_path, plan), nl=False)
    if not plan.changes:
        return 0
    confirm(yes, "destroy", "Delete all of these?")
    if live.table is None:
        return report(execute(clients, settings, plan.changes))
    with make_lock(clients, settings, audit.actor(), timeout_s, release_gone=True):
        return report(execute(clients, settings, plan.changes))
