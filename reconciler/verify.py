"""Proof of execution (DESIGN.md §11 `reconcile verify`): expected firings against the run log.

Pure: the deployed schedules, the run-log entries and the dead-letter messages come in as
data; no AWS, no clock of its own. Every occurrence a deployed schedule should have fired in
the window is computed with the time engine (so DISABLED schedules, at() one-shots, time
zones and DST gaps count exactly as EventBridge Scheduler fires them) and ends in exactly one
bucket: ok, missed (no run logged), failed (a run that did not succeed, or a pair with no
run) or late (it ran, but its first attempt started more than LATE after the scheduled time).

What cannot be known is not expected, and said so in `notes`: a schedule changed inside the
window is checked from its last change on (its earlier expression or state is gone), and a
firing in the last LATE minutes without a run yet may still be on its way.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler import runlog
from reconciler.resources import ScheduleSpec
from reconciler.timeengine import ExpressionError, TimezoneError, iter_fires, parse

LATE = timedelta(minutes=5)
SKIPPED = "skipped"  # the executor's status for a calendar day
_NOT_A_RUN = frozenset({"duplicate"})  # a repeat delivery's own row: not a run of its own


@dataclass(frozen=True)
class Deployed:
    """A deployed schedule and the two dates GetSchedule adds (None when unknown)."""

    spec: ScheduleSpec
    created: datetime | None = None
    modified: datetime | None = None


@dataclass(frozen=True)
class Occurrence:
    rule: str
    action: str
    scheduled_time: str  # ISO 8601 UTC with a Z, as the executor logs it
    pairs: tuple[tuple[str, str], ...]  # (account, region) the event names


@dataclass(frozen=True)
class Finding:
    rule: str
    action: str
    scheduled_time: str
    detail: str

    def document(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "action": self.action,
            "scheduled_time": self.scheduled_time,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DeadLetter:
    """One message peeked in the dead-letter queue, read back to the occurrence it lost."""

    rule: str | None
    action: str | None
    scheduled_time: str | None
    source: str  # "scheduler" (Scheduler gave up invoking) or "lambda" (the executor failed)
    error: str

    def document(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "action": self.action,
            "scheduled_time": self.scheduled_time,
            "source": self.source,
            "error": self.error,
        }


@dataclass(frozen=True)
class QueueReport:
    name: str
    depth: int | None  # ApproximateNumberOfMessages; None when the queue does not exist
    letters: tuple[DeadLetter, ...] = ()


@dataclass(frozen=True)
class Verdict:
    since: datetime
    until: datetime
    expected: int
    ok: int
    missed: tuple[Finding, ...]
    failed: tuple[Finding, ...]
    late: tuple[Finding, ...]
    notes: tuple[str, ...] = ()
    queue: QueueReport | None = None
    requests: Mapping[str, int] = field(default_factory=dict)

    @property
    def all_ok(self) -> bool:
        return not (self.missed or self.failed or self.late)

    def document(self) -> dict[str, Any]:
        """The pinned JSON (expected, ok, missed, failed, late), then what this tool adds."""
        document: dict[str, Any] = {
            "expected": self.expected,
            "ok": self.ok,
            "missed": [f.document() for f in self.missed],
            "failed": [f.document() for f in self.failed],
            "late": [f.document() for f in self.late],
            "since": runlog.iso_z(self.since),
            "until": runlog.iso_z(self.until),
            "notes": list(self.notes),
        }
        if self.queue is not None:
            document["dead_letters"] = {
                "queue": self.queue.name,
                "depth": self.queue.depth,
                "peeked": [letter.document() for letter in self.queue.letters],
            }
        document["requests"] = dict(self.requests)
        return document


# Expected occurrences


def event_of(spec: ScheduleSpec) -> Mapping[str, Any] | None:
    """The executor event a schedule sends, or None when its Input is not one of ours."""
    try:
        event = json.loads(spec.input or "")
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("rule"), str):
        return None
    return event


def _pairs(event: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    accounts, regions = event.get("accounts") or [], event.get("regions") or []
    return tuple((str(a), str(r)) for a in accounts for r in regions)


def _instant(text: str | None) -> datetime | None:
    return runlog.parse_instant(text) if text else None


def expected_occurrences(
    deployed: Deployed, since: datetime, until: datetime
) -> tuple[list[Occurrence], list[str]]:
    """What one schedule should have fired in [since, until], and notes on what is not known."""
    spec = deployed.spec
    event = event_of(spec)
    if event is None:
        return [], [f"schedule {spec.name}: its Input is not an Ouroboros event; not checked"]
    rule, action = str(event["rule"]), str(event.get("action", ""))
    if spec.state != "ENABLED":
        return [], [f"rule {rule} {action}: the schedule is {spec.state}: no firing expected"]
    notes: list[str] = []
    low = since
    if deployed.modified is not None and deployed.modified > since:
        low = deployed.modified
        notes.append(
            f"rule {rule} {action}: the schedule changed at {runlog.iso_z(deployed.modified)}; "
            "firings before that are not checked"
        )
    start, end = _instant(spec.start_date), _instant(spec.end_date)
    low = max(low, start) if start and not spec.expression.startswith("at(") else low
    high = min(until, end) if end and not spec.expression.startswith("at(") else until
    try:
        times = _fire_times(spec, deployed, low, high)
    except (ExpressionError, TimezoneError) as exc:
        return [], [f"rule {rule} {action}: cannot compute its firings ({exc}); not checked"]
    pairs = _pairs(event)
    return [Occurrence(rule, action, runlog.iso_z(t), pairs) for t in times], notes


def _fire_times(
    spec: ScheduleSpec, deployed: Deployed, low: datetime, high: datetime
) -> list[datetime]:
    """Fire times in [low, high]; rate() counts from the schedule's start (or creation)."""
    expression = parse(spec.expression, now=low)
    after = low - timedelta(seconds=1)
    if expression.rate is not None:
        anchor = _instant(spec.start_date) or deployed.created or low
        anchor = anchor.replace(second=0, microsecond=0)  # Scheduler's minute precision
        steps = max(0, (after - anchor) // expression.rate)
        after = anchor + steps * expression.rate
    times: list[datetime] = []
    for fire in iter_fires(expression, spec.timezone, after):
        utc = fire.astimezone(UTC)
        if utc > high:
            break
        if utc >= low:
            times.append(utc)
    return times


# Matching with the run log


def _first_start(entry: Mapping[str, Any]) -> str:
    """When the occurrence's first attempt started: a retry keeps earlier ones in history."""
    starts = [str(h.get("started_at", "")) for h in entry.get("history") or []]
    starts.append(str(entry.get("started_at", "")))
    return min((s for s in starts if s), default="")


def _runs_by_occurrence(
    entries: Iterable[Mapping[str, Any]],
) -> dict[tuple[str, str, str], list[Mapping[str, Any]]]:
    runs: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for entry in entries:
        if entry.get("kind") != runlog.KIND_RUN or entry.get("status") in _NOT_A_RUN:
            continue
        key = (str(entry.get("rule")), str(entry.get("action")), str(entry.get("scheduled_time")))
        runs.setdefault(key, []).append(entry)
    return runs


def judge(occ: Occurrence, runs: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(bucket, detail) for one occurrence: ok, missed, failed, late or pending."""
    if not runs:
        return "missed", "no run in the log"
    # `skipped`: the rule's calendar kept this firing from acting, by design (§12).
    bad = [r for r in runs if r.get("status") not in ("ok", SKIPPED, runlog.RUNNING)]
    if bad:
        return "failed", _failure_detail(bad[0])
    done = {(str(r.get("account")), str(r.get("region"))) for r in runs}
    absent = [f"{a}/{r}" for a, r in occ.pairs if (a, r) not in done]
    if absent:
        return "failed", f"no run logged in {', '.join(absent)}"
    if any(r.get("status") == runlog.RUNNING for r in runs):
        return "pending", "still running"
    first = min(_first_start(r) for r in runs)
    delay = (
        runlog.parse_instant(first) - runlog.parse_instant(occ.scheduled_time) if first else None
    )
    if delay is not None and delay > LATE:
        return "late", f"first run started {_duration(delay)} after the scheduled time ({first})"
    return "ok", ""


def _failure_detail(entry: Mapping[str, Any]) -> str:
    status = str(entry.get("status"))
    where = f"{entry.get('account')}/{entry.get('region')}"
    detail = str(entry.get("detail") or "")
    if not detail and entry.get("errors"):
        first = entry["errors"][0]
        detail = f"{first.get('code')}: {first.get('message')}"
    return f"{status} in {where}" + (f": {detail}" if detail else "")


def _duration(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def verify(
    schedules: Iterable[Deployed],
    entries: Iterable[Mapping[str, Any]],
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    rules: Sequence[str] = (),
    queue: QueueReport | None = None,
) -> Verdict:
    """Every expected occurrence in [since, until] judged against the run log's entries."""
    occurrences: list[Occurrence] = []
    notes: list[str] = []
    for deployed in sorted(schedules, key=lambda d: d.spec.name):
        event = event_of(deployed.spec)
        if rules and (event is None or event.get("rule") not in rules):
            continue
        found, said = expected_occurrences(deployed, since, until)
        occurrences += found
        notes += said
    runs = _runs_by_occurrence(entries)
    lost = _lost(queue)
    buckets: dict[str, list[Finding]] = {"missed": [], "failed": [], "late": []}
    ok = pending = 0
    for occ in sorted(occurrences, key=lambda o: (o.scheduled_time, o.rule, o.action)):
        bucket, detail = judge(occ, runs.get((occ.rule, occ.action, occ.scheduled_time), []))
        if bucket == "missed" and runlog.parse_instant(occ.scheduled_time) > now - LATE:
            bucket = "pending"
        if bucket == "ok":
            ok += 1
        elif bucket == "pending":
            pending += 1
        else:
            letter = lost.get((occ.rule, occ.action, occ.scheduled_time))
            if letter is not None:
                detail += f"; in the dead-letter queue ({letter.source}: {letter.error})"
            buckets[bucket].append(Finding(occ.rule, occ.action, occ.scheduled_time, detail))
    if pending:
        notes.append(
            f"{pending} firing(s) in the last {int(LATE.total_seconds() // 60)} minutes or still "
            "running are not judged yet"
        )
    return Verdict(
        since=since,
        until=until,
        expected=len(occurrences) - pending,
        ok=ok,
        missed=tuple(buckets["missed"]),
        failed=tuple(buckets["failed"]),
        late=tuple(buckets["late"]),
        notes=tuple(notes),
        queue=queue,
    )


def _lost(queue: QueueReport | None) -> dict[tuple[str, str, str], DeadLetter]:
    if queue is None:
        return {}
    return {
        (str(m.rule), str(m.action), str(m.scheduled_time)): m
        for m in queue.letters
        if m.rule and m.action and m.scheduled_time
    }


# Dead letters


def read_dead_letter(body: str, attributes: Mapping[str, str]) -> DeadLetter:
    """A dead-letter message, from either sender.

    EventBridge Scheduler sends the target's Input as the body, with the error in message
    attributes (ERROR_CODE, ERROR_MESSAGE); Lambda's on-failure destination sends a record
    whose requestPayload is the event and responsePayload the function's error.
    """
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return DeadLetter(None, None, None, "unknown", "the message is not an Ouroboros event")
    if "requestPayload" in value:
        event = value.get("requestPayload")
        response = value.get("responsePayload")
        context = value.get("requestContext") or {}
        error = (response.get("errorMessage") if isinstance(response, dict) else None) or str(
            context.get("condition", "the executor failed")
        )
        return _letter(event if isinstance(event, dict) else {}, "lambda", str(error))
    code, message = attributes.get("ERROR_CODE", ""), attributes.get("ERROR_MESSAGE", "")
    error = ": ".join(p for p in (code, message) if p) or "Scheduler could not invoke the executor"
    return _letter(value, "scheduler", error)


def _letter(event: Mapping[str, Any], source: str, error: str) -> DeadLetter:
    def text(key: str) -> str | None:
        value = event.get(key)
        return str(value) if isinstance(value, str) and value else None

    scheduled = text("scheduled_time")
    if scheduled is not None:
        with contextlib.suppress(ValueError):  # kept as written when it is no instant
            scheduled = runlog.iso_z(runlog.parse_instant(scheduled))
    return DeadLetter(text("rule"), text("action"), scheduled, source, error[:300])
