"""A rule's week as the chart draws it: seven local days, each with its on-bars and DST note.

Pure. Every time comes from reconciler.timeline (on-windows, hours, notes) and timeengine (the
zone's offset changes): this module only cuts the windows into local days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo

from reconciler import timeengine, timeline
from reconciler.model import Rule

WEEK_DAYS = 7
MONTH_DAYS = 30
# A day with more firings than this (a rate() rule) is summed up, not drawn one by one.
MARKS_MAX = 8


@dataclass(frozen=True)
class Bar:
    """Part of an on-window within one local day, in wall-clock hours (0 to 24)."""

    start: float
    end: float
    text: str  # "08:00-19:00" (an en dash)


@dataclass(frozen=True)
class Mark:
    """A firing within one local day, in wall-clock hours."""

    hour: float
    action: str
    text: str  # "stop 19:00", "stop 19:00 (skipped: Christmas Day)"
    skipped: bool


@dataclass(frozen=True)
class Day:
    date: str  # YYYY-MM-DD, local
    label: str  # "Mon 30 Nov"
    bars: tuple[Bar, ...]
    on_hours: float
    dst: str | None  # "clocks go forward (23-hour day)" on a day the offset changes
    marks: tuple[Mark, ...]  # empty when there are more than MARKS_MAX
    firings: str  # "start 08:00, stop 19:00", or "288 firings"


@dataclass(frozen=True)
class Week:
    start: str  # local midnight, ISO 8601 with offset
    days: tuple[Day, ...]
    on_hours: float
    notes: tuple[str, ...]


def local_midnight(rule: Rule, now: datetime) -> datetime:
    """The start of today in the rule's zone: where its week and its month begin."""
    zone = timeengine.zone(rule.timezone)
    return datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)


@dataclass(frozen=True)
class RuleTimes:
    """A rule's week and its hours off over the next 7 and 30 days, from one timeline read."""

    week: Week
    off_week: float | None
    off_month: float | None


def times_of(rule: Rule, now: datetime, skip: timeline.SkipHook | None = None) -> RuleTimes:
    """`skip` vetoes firings (a holiday calendar): they are marked, and act on nothing.

    The 30 days' on-windows are read once: the week and both sums are cut from them."""
    start = local_midnight(rule, now)
    week_end, month_end = _day_start(start, WEEK_DAYS), _day_start(start, MONTH_DAYS)
    windows = timeline.on_windows(rule, start, month_end, skip)
    return RuleTimes(
        week=_week(rule, start, week_end, windows, skip),
        off_week=_off(rule, start, week_end, windows),
        off_month=_off(rule, start, month_end, windows),
    )


def week_of(rule: Rule, now: datetime, skip: timeline.SkipHook | None = None) -> Week:
    return times_of(rule, now, skip).week


def hours_off(
    rule: Rule, now: datetime, *, days: int, skip: timeline.SkipHook | None = None
) -> float | None:
    """Hours off in the `days` local days from today; None where the rule alone does not say
    (disabled, or only a start or only a stop: something else turns the fleet on or off)."""
    start = local_midnight(rule, now)
    end = _day_start(start, days)
    return _off(rule, start, end, timeline.on_windows(rule, start, end, skip))


def _week(
    rule: Rule,
    start: datetime,
    end: datetime,
    windows: list[timeline.Window],
    skip: timeline.SkipHook | None,
) -> Week:
    times = _Times(
        windows,
        timeengine.offset_changes(rule.timezone, start, end),
        timeline.firings(rule, start, end, skip),
    )
    days = tuple(_day(start, n, times) for n in range(WEEK_DAYS))
    return Week(
        start=start.isoformat(),
        days=days,
        on_hours=round(sum(day.on_hours for day in days), 2),
        notes=tuple(timeline.notes(rule, start, end)),
    )


def _off(
    rule: Rule, start: datetime, end: datetime, windows: list[timeline.Window]
) -> float | None:
    if not rule.enabled or rule.start is None or rule.stop is None:
        return None
    total = (end - start).total_seconds() / 3600
    return round(total - _on_hours(windows, start, end), 2)


def _on_hours(windows: list[timeline.Window], start: datetime, end: datetime) -> float:
    """The windows' hours within [start, end), rounded to the minute as timeline.on_hours."""
    seconds = sum(max((min(w.stop, end) - max(w.start, start)).total_seconds(), 0) for w in windows)
    return round(round(seconds / 60) / 60, 2)


def _day_start(week_start: datetime, n: int) -> datetime:
    """Local midnight n days on (wall-clock days: 23 or 25 hours long across a DST change).

    In UTC: Python subtracts two times of one zone as wall clocks, which would make every day
    24 hours long."""
    midnight = datetime.combine(week_start.date() + timedelta(days=n), time(0), week_start.tzinfo)
    return midnight.astimezone(UTC)


@dataclass(frozen=True)
class _Times:
    """What the timeline says about the whole week, before it is cut into days."""

    windows: list[timeline.Window]
    changes: list[timeengine.OffsetChange]
    firings: list[timeline.Firing]


def _day(week_start: datetime, n: int, times: _Times) -> Day:
    start, end = _day_start(week_start, n), _day_start(week_start, n + 1)
    zone = week_start.tzinfo
    bars = []
    seconds = 0.0
    for window in times.windows:
        lo, hi = max(window.start, start), min(window.stop, end)
        if lo < hi:
            seconds += (hi - lo).total_seconds()
            bars.append(_bar(lo, hi, start, end, zone))
    marks, summary = _marks([f for f in times.firings if start <= f.utc < end])
    length = (end - start).total_seconds() / 3600
    dst = None
    if any(start <= change.instant < end for change in times.changes):
        direction = "forward" if length < 24 else "back"
        dst = f"clocks go {direction} ({length:g}-hour day)"
    return Day(
        date=start.astimezone(zone).date().isoformat(),
        label=f"{start.astimezone(zone):%a %d %b}",
        bars=tuple(bars),
        on_hours=round(seconds / 3600, 2),
        dst=dst,
        marks=marks,
        firings=summary,
    )


def _marks(firings: list[timeline.Firing]) -> tuple[tuple[Mark, ...], str]:
    """The day's firings to draw, and in words."""
    if len(firings) > MARKS_MAX:
        return (), f"{len(firings):,} firings"
    marks = tuple(_mark(f) for f in firings)
    return marks, ", ".join(m.text for m in marks)


def _mark(firing: timeline.Firing) -> Mark:
    text = f"{firing.action} {firing.local:%H:%M}"
    if firing.skipped:
        text += f" (skipped: {firing.skipped})"
    return Mark(_wall_hours(firing.local), firing.action, text, firing.skipped is not None)


def _bar(
    lo: datetime, hi: datetime, day_start: datetime, day_end: datetime, zone: tzinfo | None
) -> Bar:
    a, b = lo.astimezone(zone), hi.astimezone(zone)
    start = 0.0 if lo == day_start else _wall_hours(a)
    end = 24.0 if hi == day_end else _wall_hours(b)
    text = f"{_clock(start)}\u2013{_clock(end)}"
    return Bar(start=start, end=max(end, start), text=text)


def _wall_hours(moment: datetime) -> float:
    return moment.hour + moment.minute / 60


def _clock(hours: float) -> str:
    whole = round(hours * 60)
    return f"{whole // 60:02d}:{whole % 60:02d}"
