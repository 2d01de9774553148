"""`reconcile next EXPR`: the next fire times of an EventBridge Scheduler expression.

One ISO 8601 time per line, with the UTC offset in the zone (`2026-03-30T08:00:00+02:00`), so
the output pipes into other tools. Notes (rate anchoring, an `at()` already past, a cron that
runs out) go to stderr. With --calendar, a time on one of the calendar's dates (in the zone)
is followed by `  skipped: <reason>`: the schedule fires, and the executor does nothing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from reconciler import output, timeengine
from reconciler.calendarfiles import load_calendar
from reconciler.calendars import Calendar, skip_reason_at
from reconciler.errors import FatalError

MAX_COUNT = 10_000


def run(
    expression: str,
    *,
    tz: str = "UTC",
    after: str | None = None,
    count: int = 5,
    calendar: str | None = None,
) -> int:
    if not 1 <= count <= MAX_COUNT:
        raise FatalError(f"--count must be between 1 and {MAX_COUNT}, not {count}")
    problem = timeengine.check_timezone(tz)
    if problem is not None:
        raise FatalError(f"--timezone: {problem}")
    skipping = _calendar(calendar, tz) if calendar else None
    start = _parse_after(after, tz)
    try:
        # A cron whose years are all past is an error, but --after may ask about the past.
        expr = timeengine.parse(expression, now=min(datetime.now(UTC), start))
    except timeengine.ExpressionError as exc:
        raise FatalError(f"{expression.strip()}: {exc}") from None
    fires = timeengine.next_fires(expr, tz, start, count)
    for fire in fires:
        reason = skip_reason_at(skipping, fire) if skipping else None
        output.out(fire.isoformat() + (f"  skipped: {reason}" if reason else ""))
    note = _note(expr, tz, start, len(fires), count)
    if note:
        output.err(f"note: {note}")
    return 0


def _calendar(given: str, tz: str) -> Calendar:
    """A calendar by name (calendars/NAME.yaml here) or by file, read in the zone `tz`."""
    path = (
        given if given.endswith((".yaml", ".yml")) else os.path.join("calendars", f"{given}.yaml")
    )
    name = os.path.splitext(os.path.basename(path))[0]
    if not os.path.isfile(path):
        raise FatalError(
            f"--calendar: no calendar file {path} (give a name in calendars/ or a file)"
        )
    found, problems = load_calendar(name, path, path)
    if found is None:
        first = problems[0].text() if problems else f"{path}: cannot be read"
        raise FatalError(f"--calendar: {first}")
    return found.in_zone(tz)


def _parse_after(after: str | None, tz: str) -> datetime:
    """ISO 8601; without an offset it is a wall-clock time in `tz`; a bare date is midnight."""
    if after is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        parsed = datetime.fromisoformat(after.strip())
    except ValueError:
        raise FatalError(
            f"--after '{after}' is not an ISO 8601 date or time, e.g. 2026-03-30, "
            "2026-03-30T08:00 or 2026-03-30T08:00:00+02:00"
        ) from None
    if not timeengine.MIN_YEAR <= parsed.year <= timeengine.MAX_YEAR:
        raise FatalError(
            f"--after '{after}' must be in the years EventBridge schedules, "
            f"{timeengine.MIN_YEAR}-{timeengine.MAX_YEAR}"
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timeengine.zone(tz))
    return parsed


def _note(expr: timeengine.Expression, tz: str, start: datetime, found: int, wanted: int) -> str:
    if expr.rate is not None:
        return (
            f"{expr.canonical} counts from --after ({start.isoformat()}) here; on AWS it "
            "counts from when the schedule is created, or from its StartDate"
        )
    if expr.at is not None and found == 0:
        gap = timeengine.dst_gap_warning(expr, tz)
        if gap is not None:
            return gap
        return (
            f"{expr.canonical} fires once, at "
            f"{expr.at.replace(tzinfo=timeengine.zone(tz)).isoformat()}, which is not after "
            f"{start.isoformat()}: nothing to show"
        )
    if expr.cron is not None and found < wanted:
        left = (
            f"no fire times after {start.isoformat()}"
            if found == 0
            else f"only {found} fire time{'' if found == 1 else 's'} left"
        )
        return f"{left}: the year field '{expr.cron.fields[5]}' ends in {expr.cron.years[-1]}"
    return ""
