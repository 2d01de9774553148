"""What a rule does over a stretch of time: its firings, its on-windows and the DST notes.

Pure (no AWS). Every fire time comes from reconciler.timeengine, so a timeline, a plan's next
firings and the executor agree. Times are aware datetimes; windows are [start, end).

- A firing is an invocation EventBridge makes. A local time in a DST gap is never invoked, so it
  is not a firing: `notes` names it. A firing the `skip` hook vetoes (a holiday) is still a
  firing, with `skipped` saying why it does nothing.
- A rule is "on" from a start that acts to the next stop that acts. A start and a stop in the
  same minute run as start then stop (the stop wins), so such a window is empty.
- rate() counts from when the schedule was created, which the rules do not say: here it counts
  from `rate_from` (default: the window's start, as `reconcile next` counts from --after), so
  its first firing is one period after it.
- A disabled rule (enabled: false) has no firings; `notes` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import takewhile

from reconciler import autostart, calendars, timeengine
from reconciler.model import INSTANCE_ACTIONS, Rule

ON = "on"
OFF = "off"
# state_at looks back in growing steps, back to the first year EventBridge schedules, so a
# yearly cron (or one pinned to a past year) is found at a cost of a few dozen probes.
_FIRST_LOOKBACK = timedelta(days=1)
_MINUTE = timedelta(minutes=1)
_MAX_SKIPPED = 1000  # a skip hook that vetoes more firings in a row than this: state unknown
_EARLIEST = datetime(timeengine.MIN_YEAR, 1, 1, tzinfo=UTC)
_ACTION_ORDER: dict[str, int] = {action: i for i, action in enumerate(INSTANCE_ACTIONS)}


@dataclass(frozen=True)
class Firing:
    rule: str
    action: str  # "start" | "stop"
    utc: datetime  # aware, UTC
    local: datetime  # aware, in the rule's zone
    skipped: str | None  # why it does nothing (None: it acts)


@dataclass(frozen=True)
class Window:
    """An on-window: from a start to the next stop."""

    start: datetime  # aware UTC; clipped to the window's start
    stop: datetime  # aware UTC; clipped to the window's end
    open_start: bool  # True if the rule was already on at the window's start
    open_end: bool  # True if still on at the window's end

    @property
    def hours(self) -> float:
        return (self.stop - self.start).total_seconds() / 3600


SkipHook = Callable[[Rule, Firing], str | None]  # e.g. a holiday calendar


# --------------------------------------------------------------------------------------------
# Firings


def calendar_skip(rule: Rule, firing: Firing) -> str | None:
    """The SkipHook of a rule's holiday calendar (§12): its date in the rule's zone."""
    if rule.calendar_spec is None:
        return None
    return calendars.skip_reason_at(rule.calendar_spec, firing.utc)


def firings(
    rule: Rule,
    start: datetime,
    end: datetime,
    skip: SkipHook | None = None,
    *,
    rate_from: datetime | None = None,
) -> list[Firing]:
    """Every firing of the rule at or after `start` and before `end`, in time order."""
    if not rule.enabled or end <= start:
        return []
    anchor = rate_from if rate_from is not None else start
    found = [
        _firing(rule, action, fire, skip)
        for action in INSTANCE_ACTIONS
        for fire in _fires(rule, action, start, end, anchor)
    ]
    return sorted(found, key=lambda f: (f.utc, _ACTION_ORDER[f.action]))


def _firing(rule: Rule, action: str, fire: datetime, skip: SkipHook | None) -> Firing:
    firing = Firing(rule.name, action, fire.astimezone(UTC), fire, None)
    reason = skip(rule, firing) if skip is not None else None
    return replace(firing, skipped=reason) if reason else firing


def _fires(
    rule: Rule, action: str, start: datetime, end: datetime, anchor: datetime
) -> Iterator[datetime]:
    """The fire times of one of the rule's expressions in [start, end), in the rule's zone."""
    text = rule.expression(action)
    if text is None:
        return iter(())
    expr = timeengine.normalise(text)
    step = _rate_step(expr)
    if step is not None:
        return _rate_fires(step, rule.timezone, anchor, start, end)
    # iter_fires is strictly after; cron and at() fire on whole minutes.
    fires = timeengine.iter_fires(expr, rule.timezone, start - timedelta(microseconds=1))
    return takewhile(lambda fire: fire < end, fires)


def _rate_step(expr: str) -> timedelta | None:
    if not expr.startswith("rate("):
        return None
    return timeengine.parse(expr).rate


def _rate_fires(
    step: timedelta, tz: str, anchor: datetime, start: datetime, end: datetime
) -> Iterator[datetime]:
    """anchor + k * step (k >= 1) within [start, end): elapsed time, found by arithmetic, not by
    stepping from the anchor (a year back at one minute is half a million steps)."""
    k = max(1, -((anchor - start) // step))  # ceil((start - anchor) / step)
    where = timeengine.zone(tz)
    while (fire := anchor + k * step) < end:
        yield fire.astimezone(where)
        k += 1


# --------------------------------------------------------------------------------------------
# State and on-windows


def state_at(
    rule: Rule,
    when: datetime,
    skip: SkipHook | None = None,
    *,
    rate_from: datetime | None = None,
) -> str | None:
    """The rule's state after every firing that acts at or before `when`: "on" or "off", or
    None if none ever did.

    rate() counts from `rate_from` (default `when`: a rate has not fired yet).
    """
    last = _last_acting(rule, when + timedelta(microseconds=1), skip, rate_from or when)
    return None if last is None else _state_after(last)


def _state_after(firing: Firing) -> str:
    return ON if firing.action == "start" else OFF


def _last_acting(
    rule: Rule, before: datetime, skip: SkipHook | None, anchor: datetime
) -> Firing | None:
    """The last firing before `before` that acts: the later of each action's last firing,
    stepping back past skipped ones (at most _MAX_SKIPPED in a row: then None)."""
    if not rule.enabled:
        return None
    bounds: dict[str, datetime] = {
        action: before for action in INSTANCE_ACTIONS if rule.expression(action)
    }
    for _ in range(_MAX_SKIPPED):
        candidates = [
            _firing(rule, action, fire, skip)
            for action, bound in bounds.items()
            if (fire := _last_fire(rule, action, bound, anchor)) is not None
        ]
        if not candidates:
            return None
        latest = max(candidates, key=lambda f: (f.utc, _ACTION_ORDER[f.action]))
        if not latest.skipped:
            return latest
        bounds[latest.action] = latest.utc
    return None


def _last_fire(rule: Rule, action: str, before: datetime, anchor: datetime) -> datetime | None:
    """The last fire time of one action before `before` (and after 1970), or None.

    Doubling steps back find a stretch that holds a fire; bisecting it finds the last one. Each
    probe asks the time engine for one next fire, so a cron that fired every minute of a year
    long ago costs a few dozen probes, not half a million fire times.
    """
    text = rule.expression(action)
    assert text is not None
    step = _rate_step(timeengine.normalise(text))
    if step is not None:  # anchor + k * step, k >= 1
        k = -((anchor - before) // step) - 1  # the last k with anchor + k * step < before
        return (anchor + k * step).astimezone(timeengine.zone(rule.timezone)) if k >= 1 else None
    hi, width = before, _FIRST_LOOKBACK
    while True:
        if hi <= _EARLIEST:
            return None
        lo = max(hi - width, _EARLIEST)
        if _fires_in(rule, action, lo, hi):
            break
        hi, width = lo, width * 2
    # A fire in [lo, hi), none in [hi, before): narrow [lo, hi) to less than a minute, which
    # holds exactly one cron or at() fire.
    while hi - lo >= _MINUTE:
        mid = lo + (hi - lo) / 2
        if _fires_in(rule, action, mid, hi):
            lo = mid
        else:
            hi = mid
    return next(_fires(rule, action, lo, hi, anchor))


def _fires_in(rule: Rule, action: str, lo: datetime, hi: datetime) -> bool:
    return next(_fires(rule, action, lo, hi, lo), None) is not None


def on_windows(
    rule: Rule,
    start: datetime,
    end: datetime,
    skip: SkipHook | None = None,
    *,
    rate_from: datetime | None = None,
) -> list[Window]:
    """The rule's on-windows within [start, end), clipped to it; empty windows are left out."""
    if not rule.enabled or end <= start:
        return []
    anchor = rate_from or start
    before = _last_acting(rule, start, skip, anchor)
    was_on = before is not None and _state_after(before) == ON
    on_since = start if was_on else None
    windows: list[Window] = []
    for firing in firings(rule, start, end, skip, rate_from=anchor):
        if firing.skipped:
            continue
        if firing.action == "start" and on_since is None:
            on_since = firing.utc
        elif firing.action == "stop" and on_since is not None:
            windows.append(_window(on_since, firing.utc, open_start=was_on and not windows))
            on_since = None
    if on_since is not None:
        windows.append(_window(on_since, end, open_start=was_on and not windows, open_end=True))
    return [w for w in windows if w.stop > w.start]


def _window(on: datetime, off: datetime, *, open_start: bool, open_end: bool = False) -> Window:
    return Window(on.astimezone(UTC), off.astimezone(UTC), open_start, open_end)


def on_hours(
    rule: Rule,
    start: datetime,
    end: datetime,
    skip: SkipHook | None = None,
    *,
    rate_from: datetime | None = None,
) -> float:
    """Hours on within [start, end): the sum of the on-windows, rounded to the minute."""
    windows = on_windows(rule, start, end, skip, rate_from=rate_from)
    minutes = round(sum(w.hours for w in windows) * 60)
    return round(minutes / 60, 2)


# --------------------------------------------------------------------------------------------
# Notes


def notes(rule: Rule, start: datetime, end: datetime) -> list[str]:
    """What a reader of the firings needs to know: a disabled rule, a rule with one action, how
    rate() counts, an at() outside the window, and every DST change in the window with the
    local times it skips or repeats."""
    if not rule.enabled:
        return ["disabled (enabled: false): its schedules exist but are DISABLED, so nothing fires"]
    found = _one_action_notes(rule)
    for action in INSTANCE_ACTIONS:
        found += _expression_notes(rule, action, start, end)
    found += _dst_notes(rule, start, end)
    found += _autostart_notes(rule, start)
    return found


def _autostart_notes(rule: Rule, start: datetime) -> list[str]:
    """RDS and Aurora start a stopped database by themselves after seven days."""
    what = autostart.RESTARTED_KINDS.get(rule.resource)
    if what is None or rule.stop is None:
        return []
    expressions: dict[str, timeengine.Expression] = {
        action: timeengine.parse(timeengine.normalise(text), now=_EARLIEST)
        for action in INSTANCE_ACTIONS
        if (text := rule.expression(action)) is not None
    }
    long_stop = autostart.first_long_stop(expressions, rule.timezone, start)
    if long_stop is not None:
        return [long_stop.message(rule.resource, rule.timezone)]
    return [
        f"AWS starts a stopped {what} by itself after 7 days; this rule fires at least weekly, "
        "so its next stop stops it again"
    ]


def _one_action_notes(rule: Rule) -> list[str]:
    if rule.stop is None:
        return [
            "no stop: this rule only starts; the instances stay on until something else stops "
            "them, and on_hours counts them on"
        ]
    if rule.start is None:
        return ["no start: this rule only stops, so on_hours is 0"]
    return []


def _expression_notes(rule: Rule, action: str, start: datetime, end: datetime) -> list[str]:
    text = rule.expression(action)
    if text is None:
        return []
    expr = timeengine.parse(timeengine.normalise(text), now=_EARLIEST)
    if expr.rate is not None:
        return [
            f"{action} {expr.canonical} counts from when the schedule is created (or its "
            f"StartDate), which the rules do not say: shown counting from "
            f"{start.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"
        ]
    if expr.at is not None:
        gap = timeengine.dst_gap_warning(expr, rule.timezone)
        if gap is not None:
            return [f"{action}: {gap}"]
        when = expr.at.replace(tzinfo=timeengine.zone(rule.timezone))
        if not start <= when < end:
            side = "before" if when < start else "after"
            return [f"{action} {expr.canonical} fires once, {side} this window"]
    return []


def _dst_notes(rule: Rule, start: datetime, end: datetime) -> list[str]:
    found = []
    for change in timeengine.offset_changes(rule.timezone, start, end):
        found.append(_change_note(rule.timezone, change))
        for action in INSTANCE_ACTIONS:
            note = _affected_note(rule, action, change)
            if note:
                found.append(note)
    return found


def _change_note(tz: str, change: timeengine.OffsetChange) -> str:
    direction = "forward" if change.forward else "back"
    length = 24 + (change.before - change.after).total_seconds() / 3600
    return (
        f"{change.wall_before:%Y-%m-%d}: clocks go {direction} in {tz} "
        f"({change.wall_before:%H:%M} to {change.wall_after:%H:%M}, UTC{_offset(change.before)} "
        f"to UTC{_offset(change.after)}), a {length:g}-hour day; fire times keep their local time"
    )


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _affected_note(rule: Rule, action: str, change: timeengine.OffsetChange) -> str | None:
    """The local times of one action that the change skips (gap) or repeats (fall back)."""
    text = rule.expression(action)
    if text is None or not timeengine.normalise(text).startswith("cron("):
        return None  # rate() has no wall time; an at() in a gap is an expression note
    lo, hi = sorted((change.wall_before, change.wall_after))
    times = [wall for wall in _minutes(lo, hi) if timeengine.names_wall_minute(text, wall)]
    if not times:
        return None
    listed = _list_times(times)
    day = f"{lo:%Y-%m-%d}"
    if change.forward:
        verb = "does" if len(times) == 1 else "do"
        return f"{day}: {action} {listed} {verb} not exist in {rule.timezone}: skipped"
    first = times[0].replace(tzinfo=timeengine.zone(rule.timezone))
    verb = "happens" if len(times) == 1 else "happen"
    return (
        f"{day}: {action} {listed} {verb} twice in {rule.timezone}: fires once, on the first "
        f"pass ({first:%H:%M}{_offset(change.before)} = {first.astimezone(UTC):%H:%M} UTC)"
    )


def _minutes(lo: datetime, hi: datetime) -> Iterator[datetime]:
    wall = lo
    while wall < hi:
        yield wall
        wall += timedelta(minutes=1)


def _list_times(times: list[datetime]) -> str:
    shown = [f"{wall:%H:%M}" for wall in times]
    if len(shown) == 1:
        return shown[0]
    if len(shown) <= 4:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return ", ".join(shown[:3]) + f" and {len(shown) - 3} more times"
