"""The executor event (DESIGN.md §6): checked with the loader's rules, then parsed.

Everything here runs before any AWS call, so a malformed, unknown or unfiltered event is
refused without touching an account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import checks, runlog
from reconciler.calendars import Calendar

# arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-office-hours-stop; group
# and schedule names as AWS allows them ([0-9a-zA-Z-_.]+, 1-64), so nothing else reaches a log.
_SCHEDULE_ARN_RE = re.compile(
    r"arn:aws[a-z-]*:scheduler:[a-z0-9-]+:[0-9]{12}:schedule/[0-9A-Za-z_.-]{1,64}/"
    r"[0-9A-Za-z_.-]{1,64}"
)
_PLACEHOLDER = "<aws.scheduler."


class EventRefused(Exception):
    """The event is not one the executor will act on; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Occurrence:
    """One firing of one schedule: what to do, where, and the delivery's identity."""

    rule: str
    action: str
    hibernate: bool
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    max_instances: int
    role_name: str
    schedule_arn: str
    scheduled_time: str  # UTC with a Z: the log's sort keys depend on this exact form
    execution_id: str
    resource: str = checks.DEFAULT_RESOURCE  # DESIGN.md §9: absent from the event = ec2
    calendar: Calendar | None = None  # the rule's calendar, in the rule's time zone (§12)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return [(account, region) for account in self.accounts for region in self.regions]


def parse_event(event: object, default_execution_id: str = "") -> Occurrence:
    """The checked event, or EventRefused listing every problem."""
    problems = [str(p) for p in checks.check_event(event)]
    if problems or not isinstance(event, Mapping):
        raise EventRefused(problems)
    problems += [str(p) for p in checks.check_bounds(event)]
    problems += _check_delivery(event)
    execution_id = str(event.get("execution_id") or default_execution_id)
    if not execution_id:
        problems.append("execution_id: missing, and the invocation has no request id")
    if problems:
        raise EventRefused(problems)
    return Occurrence(
        rule=event["rule"],
        action=event["action"],
        hibernate=event["hibernate"],
        accounts=tuple(event["accounts"]),
        regions=tuple(event["regions"]),
        targets=tuple((name, _as_tuple(values)) for name, values in event["targets"].items()),
        max_instances=event["max_instances"],
        role_name=event["role_name"],
        schedule_arn=event["schedule_arn"],
        scheduled_time=runlog.iso_z(runlog.parse_instant(event["scheduled_time"])),
        execution_id=execution_id,
        resource=checks.event_resource(event),
        calendar=Calendar.from_event(event["calendar"]) if "calendar" in event else None,
    )


def _check_delivery(event: Mapping[str, Any]) -> list[str]:
    """What check_event leaves open: the values Scheduler substitutes at fire time."""
    problems: list[str] = []
    for key in ("schedule_arn", "scheduled_time", "execution_id"):
        if _PLACEHOLDER in str(event.get(key, "")):
            problems.append(
                f"{key}: {event[key]!r} is an unsubstituted placeholder; only EventBridge "
                "Scheduler fills it in (invoking by hand? give real values)"
            )
    if problems:
        return problems
    if not _SCHEDULE_ARN_RE.fullmatch(event["schedule_arn"]):
        problems.append(
            f"schedule_arn: {event['schedule_arn']!r} is not a schedule ARN such as "
            "arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop"
        )
    try:
        runlog.parse_instant(event["scheduled_time"])
    except ValueError:
        problems.append(
            f"scheduled_time: {event['scheduled_time']!r} is not an ISO 8601 time such as "
            "2026-11-27T19:00:00Z"
        )
    return problems


def _as_tuple(values: str | list[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)
