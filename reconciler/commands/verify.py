"""`reconcile verify`: every firing the deployed schedules should have made, matched with the
run log (DESIGN.md §11). Exit 0 all ran ok, 2 some missed, failed or late, 1 error.

What it reads, all in the home region:
- the deployed schedules: ListSchedules, then GetSchedule for each (the expression, state,
  zone and the dates of its last change);
- the run log, with Query only, never Scan: one query per rule when there are fewer rules
  than days in the window, else one index query per UTC day (runlog.py knows the keys);
- the dead-letter queue without consuming it: its depth (GetQueueAttributes) and the messages
  a few ReceiveMessage calls with VisibilityTimeout 0 can see, never deleted. SQS returns a
  sample of the queue per receive, so a deep queue is reported by depth, not message by
  message.
The number of requests of each kind goes to stderr (and into the JSON), so a run that starts
to Scan or to read per item shows at once.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler import checks, output, runlog
from reconciler.aws import READ_WORKERS, client_in
from reconciler.awserror import error_code
from reconciler.commands.logs import parse_window
from reconciler.errors import FatalError
from reconciler.live import list_schedule_names, read_group
from reconciler.model import Settings
from reconciler.resources import ScheduleSpec
from reconciler.settings import load_settings
from reconciler.verify import (
    DeadLetter,
    Deployed,
    Finding,
    QueueReport,
    Verdict,
    event_of,
    read_dead_letter,
    verify,
)

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

EXIT_FINDINGS = 2
PEEK_RECEIVES = 5  # ReceiveMessage calls of up to 10 messages each
# After an apply that touched every schedule, each has a note: the text shows the first ones.
NOTES_SHOWN = 10


class RequestCounter:
    """Counts every AWS request a client sends, by "service.Operation" (botocore's event)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any = None, **_: Any) -> None:
        if model is not None:
            self.counts[f"{model.service_model.service_name}.{model.name}"] += 1


def run(
    *,
    settings_path: str,
    since: str = "24h",
    until: str | None = None,
    rules: Sequence[str] = (),
    fmt: str = "text",
    now: datetime | None = None,
) -> int:
    settings = load_settings(settings_path)
    now = now or _now()
    start, end = parse_window(since, until, now, not_after_now=True)
    for name in rules:
        problems = checks.check_rule_name(name, ("--rule",))
        if problems:
            raise FatalError(str(problems[0]))
    counter = RequestCounter()
    schedules = read_deployed(settings, counter)
    if rules:
        schedules = [d for d in schedules if (event_of(d.spec) or {}).get("rule") in rules]
        _warn_unknown(rules, schedules)
    # Only rules that can have fired: a DISABLED schedule expects nothing, so costs no query.
    enabled = [d for d in schedules if d.spec.state == "ENABLED" and event_of(d.spec)]
    wanted = sorted({str((event_of(d.spec) or {}).get("rule")) for d in enabled})
    entries = read_runs(settings, settings_path, wanted, start, end, counter)
    queue = read_queue(settings, counter)
    verdict = verify(schedules, entries, since=start, until=end, now=now, rules=rules, queue=queue)
    verdict = dataclasses.replace(verdict, requests=dict(sorted(counter.counts.items())))
    if fmt == "json":
        output.out(json.dumps(verdict.document(), indent=2))
    else:
        output.out(render_text(verdict, settings), nl=False)
    output.err(f"requests: {_requests_line(verdict.requests)}")
    return 0 if verdict.all_ok else EXIT_FINDINGS


def _now() -> datetime:
    """The clock `--since 24h` counts back from (tests pin it)."""
    return datetime.now(UTC)


def _warn_unknown(rules: Sequence[str], schedules: Sequence[Deployed]) -> None:
    found = {(event_of(d.spec) or {}).get("rule") for d in schedules}
    for name in rules:
        if name not in found:
            output.err(f"warning: no deployed schedule for rule {name}: nothing to verify for it")


# Reading


def read_deployed(settings: Settings, counter: RequestCounter) -> list[Deployed]:
    """Every schedule in the owned group, with the dates of its creation and last change."""
    scheduler: EventBridgeSchedulerClient = counter.watch(client_in(settings.region, "scheduler"))
    group = settings.schedule_group
    if read_group(scheduler, group) is None:
        raise FatalError(
            f"schedule group {group} not found in {settings.region}: nothing is deployed "
            "there; run `reconcile apply` first, or check region and schedule_group"
        )
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        futures = [
            pool.submit(_get_schedule, scheduler, group, name)
            for names in list_schedule_names(scheduler, group)
            for name in names
        ]
        found = [f.result() for f in futures]
    return [d for d in found if d is not None]


def _get_schedule(scheduler: EventBridgeSchedulerClient, group: str, name: str) -> Deployed | None:
    try:
        raw = scheduler.get_schedule(Name=name, GroupName=group)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":  # deleted since the list
            return None
        raise
    return Deployed(
        ScheduleSpec.from_api(raw),
        created=_utc(raw.get("CreationDate")),
        modified=_utc(raw.get("LastModificationDate")),
    )


def _utc(value: object) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def read_runs(
    settings: Settings,
    settings_path: str,
    rules: Sequence[str],
    start: datetime,
    end: datetime,
    counter: RequestCounter,
) -> list[dict[str, Any]]:
    """The run items in the window: per rule, or per day when that takes fewer queries."""
    if not rules:
        return []
    client: DynamoDBClient = counter.watch(client_in(settings.region, "dynamodb"))
    days = math.floor((end - start).total_seconds() / 86400) + 2
    try:
        if len(rules) <= days:
            entries: list[dict[str, Any]] = []
            for rule in rules:
                entries += runlog.query_rule(client, settings.log_table, rule, start, end)
            return entries
        return runlog.query_range(client, settings.log_table, start, end)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise FatalError(
                f"log table {settings.log_table} not found in {settings.region}: `reconcile "
                f"apply` creates it; if it exists elsewhere, check log_table and region in "
                f"{settings_path}"
            ) from None
        raise


def read_queue(settings: Settings, counter: RequestCounter) -> QueueReport:
    """The dead-letter queue's depth and what a few receives can see, none of it consumed."""
    sqs = counter.watch(client_in(settings.region, "sqs"))
    name = settings.dead_letter_queue
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
    except ClientError as exc:
        if error_code(exc) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return QueueReport(name, None)
        raise
    depth = int(attributes.get("ApproximateNumberOfMessages", 0))
    return QueueReport(name, depth, tuple(_peek(sqs, url)) if depth else ())


def _peek(sqs: Any, url: str) -> list[DeadLetter]:
    """Receive with VisibilityTimeout 0 and never delete: every message stays for the next
    reader (its receive count goes up, which matters only with a redrive policy, and this
    queue has none)."""
    seen: dict[str, DeadLetter] = {}
    for _ in range(PEEK_RECEIVES):
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        new = [m for m in messages if m["MessageId"] not in seen]
        for message in new:
            attributes = {
                k: str(v.get("StringValue", ""))
                for k, v in (message.get("MessageAttributes") or {}).items()
            }
            seen[message["MessageId"]] = read_dead_letter(message.get("Body", ""), attributes)
        if not new:
            break
    return sorted(seen.values(), key=lambda m: (str(m.scheduled_time), str(m.rule)))


# Rendering


def render_text(verdict: Verdict, settings: Settings) -> str:
    window = f"{runlog.iso_z(verdict.since)} to {runlog.iso_z(verdict.until)}"
    counts = (
        f"{verdict.expected} expected, {verdict.ok} ok, {len(verdict.missed)} missed, "
        f"{len(verdict.failed)} failed, {len(verdict.late)} late"
    )
    lines = [f"Firings from {window} (schedule group {settings.schedule_group}): {counts}"]
    for bucket, findings in (
        ("missed", verdict.missed),
        ("failed", verdict.failed),
        ("late", verdict.late),
    ):
        lines += [_finding_line(bucket, f) for f in findings]
    lines += _queue_lines(verdict.queue)
    lines += [f"note: {n}" for n in verdict.notes[:NOTES_SHOWN]]
    if len(verdict.notes) > NOTES_SHOWN:
        lines.append(
            f"note: {len(verdict.notes) - NOTES_SHOWN} more notes (--format json lists them all)"
        )
    return "\n".join(checks.escape_controls(line) for line in lines) + "\n"


def _finding_line(bucket: str, finding: Finding) -> str:
    return (
        f"  {bucket:<6}  {finding.scheduled_time}  {finding.rule} {finding.action}: "
        f"{finding.detail}"
    )


def _queue_lines(queue: QueueReport | None) -> list[str]:
    if queue is None:
        return []
    if queue.depth is None:
        return [
            f"Dead-letter queue {queue.name}: not found (apply creates it); lost invocations "
            "cannot be seen"
        ]
    if not queue.depth:
        return [f"Dead-letter queue {queue.name}: empty"]
    lines = [
        f"Dead-letter queue {queue.name}: {queue.depth} message(s), {len(queue.letters)} "
        "peeked (not consumed)"
    ]
    for letter in queue.letters:
        what = (
            f"{letter.rule} {letter.action} {letter.scheduled_time}"
            if letter.rule
            else "a message that names no firing"
        )
        lines.append(f"  dead    {what} ({letter.source}): {letter.error}")
    return lines


def _requests_line(requests: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in requests.items()) or "none"
