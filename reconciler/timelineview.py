"""Timeline renderers: the pinned JSON (DESIGN.md §11) and the text a terminal shows, including
the week grid the plan's Markdown comment embeds. Pure: strings in, strings out.

The week grid draws one row per local day of the rule's zone and one cell per half hour of the
wall clock, so a reader sees "08:00-19:00, Mon-Fri" as written. A cell is on when the rule holds
the instances on for at least half of it; a wall time that does not exist (spring forward) and
the time outside the window are blank; a repeated wall time (fall back) is on if either pass is.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reconciler import timeengine
from reconciler.model import Rule
from reconciler.timeline import (
    Firing,
    SkipHook,
    Window,
    calendar_skip,
    firings,
    notes,
    on_hours,
    on_windows,
)

WIDTH = 100  # the text stays readable in a terminal this wide
SLOT = timedelta(minutes=30)
_SLOTS_PER_DAY = 48
_DAY_MARGIN = timedelta(hours=3)  # a local day's wall clock can run past its UTC span (fall back)
ON_CELL, OFF_CELL, BLANK_CELL = "#", ".", " "
_LABEL = "Mon 2026-11-30  "  # the shape of a row label, for the header's indent
LEGEND = "# on  . off  blank: outside the window, or a time that does not exist"


@dataclass(frozen=True)
class RuleTimeline:
    """One rule's timeline over a window: what both renderers show."""

    rule: Rule
    firings: tuple[Firing, ...]
    windows: tuple[Window, ...]
    on_hours: float
    notes: tuple[str, ...]


def build(
    rule: Rule, start: datetime, end: datetime, skip: SkipHook | None = calendar_skip
) -> RuleTimeline:
    """The rule's timeline; by default its calendar's days are skipped firings (§12)."""
    return RuleTimeline(
        rule=rule,
        firings=tuple(firings(rule, start, end, skip)),
        windows=tuple(on_windows(rule, start, end, skip)),
        on_hours=on_hours(rule, start, end, skip),
        notes=tuple(notes(rule, start, end)),
    )


# --------------------------------------------------------------------------------------------
# JSON (pinned)


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_json(timeline: RuleTimeline) -> dict[str, object]:
    return {
        "rule": timeline.rule.name,
        "timezone": timeline.rule.timezone,
        "firings": [
            {
                "action": f.action,
                "local": f.local.isoformat(),
                "utc": utc_text(f.utc),
                "skipped": f.skipped,
            }
            for f in timeline.firings
        ],
        "on_hours": timeline.on_hours,
        "notes": list(timeline.notes),
    }


# --------------------------------------------------------------------------------------------
# Week grid


def week_grid(
    rule: Rule, start: datetime, end: datetime, windows: Sequence[Window] | None = None
) -> list[str]:
    """The grid's lines: an hour header, one row per local day in [start, end), a legend."""
    where = timeengine.zone(rule.timezone)
    shown = list(windows) if windows is not None else on_windows(rule, start, end)
    changes = {
        change.wall_before.date(): change
        for change in timeengine.offset_changes(rule.timezone, start, end)
    }
    header = " " * len(_LABEL) + "".join(f"{hour:02d}  " for hour in range(0, 24, 2))
    lines = [header.rstrip()]
    for day in _local_days(start, end, where):
        todays = _overlapping(shown, day, where)
        cells = "".join(
            _cell(day, slot, where, start, end, todays) for slot in range(_SLOTS_PER_DAY)
        )
        mark = _dst_mark(changes.get(day))
        lines.append(f"{day:%a %Y-%m-%d}  {cells}{mark}".rstrip())
    lines.append(" " * len(_LABEL) + LEGEND)
    return lines


def _local_days(start: datetime, end: datetime, where: ZoneInfo) -> Iterator[date]:
    day = start.astimezone(where).date()
    last = (end - timedelta(microseconds=1)).astimezone(where).date()
    while day <= last:
        yield day
        day += timedelta(days=1)


def _overlapping(windows: Sequence[Window], day: date, where: ZoneInfo) -> list[Window]:
    """The windows that touch a local day (a year has hundreds; a day's cells need a few)."""
    lo = datetime.combine(day, time(), where) - _DAY_MARGIN
    hi = datetime.combine(day + timedelta(days=1), time(), where) + _DAY_MARGIN
    return [w for w in windows if w.start < hi and w.stop > lo]


def _cell(
    day: date,
    slot: int,
    where: ZoneInfo,
    start: datetime,
    end: datetime,
    windows: Sequence[Window],
) -> str:
    wall = datetime.combine(day, time()) + slot * SLOT
    cells = [_pass_cell(at, start, end, windows) for at in _instants(wall, where)]
    if ON_CELL in cells:
        return ON_CELL
    return OFF_CELL if OFF_CELL in cells else BLANK_CELL


def _instants(wall: datetime, where: ZoneInfo) -> list[datetime]:
    """The UTC instants a wall time happens at: none in a gap, two in a repeated hour."""
    first = wall.replace(tzinfo=where).astimezone(UTC)
    if first.astimezone(where).replace(tzinfo=None) != wall:
        return []
    second = wall.replace(tzinfo=where, fold=1).astimezone(UTC)
    return [first] if second == first else [first, second]


def _pass_cell(at: datetime, start: datetime, end: datetime, windows: Sequence[Window]) -> str:
    lo, hi = max(at, start), min(at + SLOT, end)
    if hi <= lo:
        return BLANK_CELL
    on = sum((_overlap(w.start, w.stop, lo, hi) for w in windows), timedelta())
    return ON_CELL if on * 2 >= hi - lo else OFF_CELL


def _overlap(a: datetime, b: datetime, lo: datetime, hi: datetime) -> timedelta:
    return max(timedelta(), min(b, hi) - max(a, lo))


def _dst_mark(change: timeengine.OffsetChange | None) -> str:
    if change is None:
        return ""
    verb = "jumps to" if change.forward else "goes back to"
    return f"  DST: {change.wall_before:%H:%M} {verb} {change.wall_after:%H:%M}"


# --------------------------------------------------------------------------------------------
# Text


def render_text(timelines: Sequence[RuleTimeline], start: datetime, end: datetime) -> str:
    count = len(timelines)
    lines = [
        f"Timeline from {_utc_minute(start)} to {_utc_minute(end)} ({_length(start, end)}), "
        f"{count} rule{'' if count == 1 else 's'}",
    ]
    for timeline in timelines:
        lines += ["", *_rule_text(timeline, start, end)]
    return "\n".join(lines) + "\n"


def _length(start: datetime, end: datetime) -> str:
    days, rest = divmod(end - start, timedelta(days=1))
    if not rest:
        return f"{days} day{'' if days == 1 else 's'}"
    return f"{round((end - start) / timedelta(hours=1), 2):g} hours"


def _utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _rule_text(timeline: RuleTimeline, start: datetime, end: datetime) -> list[str]:
    rule = timeline.rule
    if not rule.enabled:
        return [f"{rule.name} ({rule.timezone}): disabled", *_notes_text(timeline.notes)]
    lines = [f"{rule.name} ({rule.timezone}): {on_phrase(timeline, start, end)}"]
    lines += ["  " + line for line in week_grid(rule, start, end, timeline.windows)]
    lines += _firings_text(timeline.firings)
    lines += _notes_text(timeline.notes)
    return lines


def on_phrase(timeline: RuleTimeline, start: datetime, end: datetime) -> str:
    """The rule's on_hours against the window's length: "on 55 of 168 hours"."""
    total = round((end - start) / timedelta(hours=1), 2)
    return f"on {timeline.on_hours:g} of {total:g} hours"


def _firings_text(found: Sequence[Firing]) -> list[str]:
    if not found:
        return ["  no firings in this window"]
    lines = ["  firings (local time, then UTC):"]
    for firing in found:
        line = (
            f"    {firing.action:<5}  {firing.local:%a %Y-%m-%d %H:%M}"
            f"{_offset(firing.local)}  {firing.utc:%Y-%m-%d %H:%M}Z"
        )
        if firing.skipped:
            line += f"  skipped: {firing.skipped}"
        lines += textwrap.wrap(line, WIDTH, subsequent_indent=" " * 12)
    return lines


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")  # +0100
    return f"{text[:3]}:{text[3:]}"


def _notes_text(found: Sequence[str]) -> list[str]:
    lines = []
    for note in found:
        lines += textwrap.wrap(f"note: {note}", WIDTH - 2, subsequent_indent="      ")
    return ["  " + line for line in lines]
