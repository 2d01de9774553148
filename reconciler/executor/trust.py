"""The trust boundary: act only on an event that a deployed schedule of our own group sent.

Whoever may invoke the function can send it any well-formed event. So before touching EC2 the
executor checks the event against what it can trust, and refuses (logged) otherwise:

- from its environment, set by `reconcile apply` from the settings (never from the event):
  the target role, the schedule group and, if set, the accounts rules may name;
- the clock: `scheduled_time` no later than now (plus a little skew; a future time would let
  a caller pre-claim the occurrence so the real firing does nothing) and no earlier than the
  schedules' retry window allows a delivery to be late;
- the schedule itself (scheduler:GetSchedule, in its own account, region and group): enabled,
  targeting this very function, its Input equal to the event with the three values Scheduler
  fills in put back as placeholders, and its expression firing at `scheduled_time`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import awserror, runlog, timeengine
from reconciler.executor.event import Occurrence

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

CLOCK_SKEW = timedelta(minutes=5)
# The schedules' RetryPolicy.MaximumEventAgeInSeconds (desired.RETRY_MAX_EVENT_AGE_S), plus
# Lambda's own asynchronous retries of a failed invocation (minutes) as margin. An event that
# waited longer (Lambda throttled for over an hour) is dropped, as Scheduler drops a late one.
MAX_EVENT_AGE = timedelta(seconds=3600) + timedelta(minutes=15)
# The values Scheduler substitutes in the Input at fire time (DESIGN.md §6).
PLACEHOLDERS = {
    "schedule_arn": "<aws.scheduler.schedule-arn>",
    "scheduled_time": "<aws.scheduler.scheduled-time>",
    "execution_id": "<aws.scheduler.execution-id>",
}


class ScheduleUnreadable(Exception):
    """GetSchedule failed for a reason other than "no such schedule": a retry may succeed."""


@dataclass(frozen=True)
class Boundary:
    """What the executor trusts: its environment and its own function ARN."""

    function_arn: str  # unqualified: arn:<partition>:lambda:<region>:<account>:function:<name>
    group: str
    target_role: str
    allowed_accounts: frozenset[str] | None = None  # None: any account

    @property
    def schedule_prefix(self) -> str:
        """Every schedule this executor serves has an ARN starting with this."""
        _, partition, _, region, account, *_ = self.function_arn.split(":")
        return f"arn:{partition}:scheduler:{region}:{account}:schedule/{self.group}/"


def unqualified(function_arn: str) -> str | None:
    """The function's ARN without a version or alias, or None if it is not a function ARN."""
    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda" or parts[5] != "function" or not parts[6]:
        return None
    return ":".join(parts[:7])


def check_event(occ: Occurrence, boundary: Boundary, now: datetime) -> list[str]:
    """What the event alone shows to be untrusted: no AWS call."""
    problems: list[str] = []
    if occ.role_name != boundary.target_role:
        problems.append(
            f"role_name: {occ.role_name!r} is not this executor's target role "
            f"({boundary.target_role!r}, from {runlog.TARGET_ROLE_ENV})"
        )
    if boundary.allowed_accounts is not None:
        others = [a for a in occ.accounts if a not in boundary.allowed_accounts]
        if others:
            problems.append(
                f"accounts: {', '.join(others)} not in allowed_accounts "
                f"({runlog.ALLOWED_ACCOUNTS_ENV})"
            )
    problems += _check_time(occ.scheduled_time, now)
    if not occ.schedule_arn.startswith(boundary.schedule_prefix):
        problems.append(
            f"schedule_arn: {occ.schedule_arn} is not a schedule of group {boundary.group} in "
            f"this function's account and region ({boundary.schedule_prefix}...)"
        )
    return problems


def _check_time(scheduled_time: str, now: datetime) -> list[str]:
    when = runlog.parse_instant(scheduled_time)
    if when > now + CLOCK_SKEW:
        return [
            f"scheduled_time: {scheduled_time} is in the future (now {runlog.iso_z(now)}): an "
            "occurrence is acted on when it fires, never before"
        ]
    if when < now - MAX_EVENT_AGE:
        return [
            f"scheduled_time: {scheduled_time} is older than the schedules' retry window "
            f"(now {runlog.iso_z(now)}): too late to act on"
        ]
    return []


def read_schedule(
    scheduler: EventBridgeSchedulerClient, occ: Occurrence, group: str
) -> Mapping[str, Any] | None:
    """The schedule the event names (None if there is none); ScheduleUnreadable otherwise."""
    name = occ.schedule_arn.rsplit("/", 1)[-1]
    try:
        return dict(scheduler.get_schedule(Name=name, GroupName=group))
    except ClientError as exc:
        if awserror.error_code(exc) == "ResourceNotFoundException":
            return None
        raise ScheduleUnreadable(f"GetSchedule {group}/{name} failed: {exc}") from exc
    except BotoCoreError as exc:
        raise ScheduleUnreadable(f"GetSchedule {group}/{name} failed: {exc}") from exc


def check_schedule(
    event: Mapping[str, Any],
    occ: Occurrence,
    schedule: Mapping[str, Any] | None,
    boundary: Boundary,
) -> list[str]:
    """Whether the deployed schedule sends exactly this event, to this function, now."""
    if schedule is None:
        return [
            f"schedule_arn: no schedule {occ.schedule_arn} exists: no deployed schedule sent it"
        ]
    problems: list[str] = []
    if schedule.get("Arn", occ.schedule_arn) != occ.schedule_arn:
        problems.append(f"schedule_arn: the schedule's ARN is {schedule.get('Arn')}")
    if schedule.get("State", "ENABLED") != "ENABLED":
        problems.append(f"the schedule is {schedule.get('State')}: it sends no events")
    target = schedule.get("Target") or {}
    if target.get("Arn") != boundary.function_arn:
        problems.append(
            f"the schedule targets {target.get('Arn')}, not this function ({boundary.function_arn})"
        )
    differing = _input_differences(event, target.get("Input"))
    if differing:
        problems.append(f"the event differs from the schedule's input in: {', '.join(differing)}")
    problems += _check_occurrence(schedule, occ.scheduled_time)
    zone = str(schedule.get("ScheduleExpressionTimezone") or "UTC")
    if occ.calendar is not None and occ.calendar.timezone != zone:
        problems.append(
            f"calendar: its time zone {occ.calendar.timezone} is not the schedule's ({zone})"
        )
    return problems


def _input_differences(event: Mapping[str, Any], template: object) -> list[str]:
    """The keys in which the event is not the Input with Scheduler's values filled in."""
    try:
        sent = json.loads(template) if isinstance(template, str) else None
    except ValueError:
        sent = None
    if not isinstance(sent, dict):
        return ["the whole input (the schedule's is not a JSON object)"]
    received = {**event, **PLACEHOLDERS}
    keys = sorted(set(sent) | set(received))
    return [k for k in keys if sent.get(k, _MISSING) != received.get(k, _MISSING)]


_MISSING = object()


def _check_occurrence(schedule: Mapping[str, Any], scheduled_time: str) -> list[str]:
    """Whether the schedule's expression fires at `scheduled_time`."""
    text = str(schedule.get("ScheduleExpression", ""))
    tz = str(schedule.get("ScheduleExpressionTimezone") or "UTC")
    when = runlog.parse_instant(scheduled_time)
    try:
        expression = timeengine.parse(text, now=when)
        if expression.kind == "rate":
            return _check_rate(schedule, when)
        fire = next(timeengine.iter_fires(expression, tz, when - timedelta(seconds=1)), None)
    except (timeengine.ExpressionError, timeengine.TimezoneError) as exc:
        return [f"the schedule's expression {text} ({tz}) cannot be evaluated here: {exc}"]
    if fire is None or fire != when:
        return [f"scheduled_time: {text} ({tz}) does not fire at {scheduled_time}"]
    return []


def _check_rate(schedule: Mapping[str, Any], when: datetime) -> list[str]:
    # rate() counts from the schedule's StartDate or its last create/update, which AWS does not
    # report exactly (LastModificationDate moves with any update): its phase cannot be known,
    # so any time since the schedule began counts as one of its firings.
    start = schedule.get("StartDate") or schedule.get("CreationDate")
    if isinstance(start, datetime) and when < start - CLOCK_SKEW:
        return [
            f"scheduled_time: {runlog.iso_z(when)} is before the schedule began "
            f"({runlog.iso_z(start)})"
        ]
    return []
