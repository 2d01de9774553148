"""Conflicts between rules (DESIGN.md §10): two enabled rules acting on one instance, one's
stop falling inside the other's on-window (a start and the stop after it) in the next 14 days.

Pure. Found statically when two rules' filters are provably the same set (the same filters,
accounts and regions, however written: a YAML alias included), and from the target preview
otherwise (an instance both rules matched when the plan read them).

On-windows and firings come from reconciler.timeline (the time engine of `next`, `timeline`
and `verify`), calendar-skipped firings left out as the executor leaves them out. Where the
executor's union of on-windows (DESIGN.md §12, executor/decisions.py) keeps the instances up
at the stop, the pair is not a conflict but "held on": the same decision code says which.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Final

from reconciler import timeline
from reconciler.calendars import Calendar
from reconciler.executor import decisions
from reconciler.executor.manifest import Manifest, RuleEntry
from reconciler.model import Rule
from reconciler.timeengine import iter_fires, zone

# DESIGN.md §10 defines a conflict within the next 14 days; a monthly rule collides once a
# month, so later collisions (within a year) are reported too, each with its date and `soon`
# telling the 14-day ones apart: the repository's own month-end example would otherwise be
# silent for two weeks out of four.
CONFLICT_DAYS = 14
LOOKAHEAD_DAYS = 366
# A window open at `now` began at most this long before it (an older start shows as this).
_LOOKBACK = timedelta(days=31)
# Pairs of rules listed (a pathological rule set can have a million); the rest are counted.
MAX_PAIRS = 500
# Entries per pair of rules: one per shared instance, up to this many (the message counts all).
MAX_PER_PAIR = 20
# Fires looked at per expression: a rate(1 minute) has 20,160 in 14 days.
_MAX_FIRES = 50_000
# Stops inside the other's windows checked against the union before a pair counts as held on.
_MAX_CUTS = 100
# The union resolves the pair: the executor skips the instances at the stop (DESIGN.md §12).
HELD_ON: Final = "held-on"
_ANY = "*"  # the account and region of a pair's shared instances: both rules name them

# (account, region, instance id)
InstanceKey = tuple[str, str, str]
OnWindow = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class Timing:
    """What conflicts need of a rule: its name, zone, expressions and the set it acts on."""

    name: str
    timezone: str
    start: str | None
    stop: str | None
    scope: object  # equal scopes = provably the same instances (accounts, regions, filters)
    resource: str = "ec2"
    calendar: Calendar | None = None

    @property
    def timing(self) -> tuple[str, str | None, str | None, Calendar | None, str]:
        """What its firings and the union decision depend on (rules sharing it are compared
        once)."""
        return self.timezone, self.start, self.stop, self.calendar, self.resource


@dataclass(frozen=True)
class Conflict:
    rules: tuple[str, str]  # (the rule that stops, the rule whose on-window it cuts)
    id: str | None  # None: every instance both match (same filters), not read
    account: str | None
    region: str | None
    when: datetime  # the stop, in the stopping rule's zone
    window: OnWindow  # the on-window it falls in (the other's zone)
    static: bool
    soon: bool = True  # within CONFLICT_DAYS
    shared: int = 1  # instances both rules act on (at most MAX_PER_PAIR are listed)
    resolution: str | None = None  # HELD_ON: the union keeps them up, no conflict at fire time
    held_until: datetime | None = None  # with HELD_ON: the holder's next stop (None: none)

    @property
    def message(self) -> str:
        return pair_message([self])


def pair_message(found: Sequence[Conflict]) -> str:
    """One sentence for the conflicts of one pair of rules (one per shared instance)."""
    first = found[0]
    stopper, holder = first.rules
    start, end = first.window
    window = f"{start:%a %Y-%m-%d %H:%M}-{_until(start, end)} {start.tzname()}"
    if first.resolution == HELD_ON:
        return (
            f"{stopper}'s stop at {first.when:%a %Y-%m-%d %H:%M} {first.when.tzname()} falls "
            f"inside {holder}'s on-window {window} for {_what(found)}: {holder} holds "
            f"{_pronoun(first)} on until {_until(start, first.held_until)} (overlapping rules "
            "compose)"
        )
    what = _what(found)
    if len(found) == 1 and found[0].id is not None and found[0].shared > 1:
        what += ","
    return (
        f"{stopper} stops {what} at {first.when:%a %Y-%m-%d %H:%M} "
        f"{first.when.tzname()}, inside {holder}'s on-window {window}: {holder} expects "
        f"{_pronoun(first)} running then"
    )


def _until(start: datetime, end: datetime | None) -> str:
    if end is None:
        return "its next stop"
    if end.date() == start.date():
        return f"{end:%H:%M}"
    return f"{end:%a %Y-%m-%d %H:%M}"


def _pronoun(first: Conflict) -> str:
    return "it" if first.shared == 1 and first.id else "them"


def _what(found: Sequence[Conflict]) -> str:
    if found[0].id is None:
        return "the same instances (the same filters, accounts and regions)"
    total = max(found[0].shared, len(found))
    first = f"{found[0].id} ({found[0].account} {found[0].region})"
    if total == 1:
        return first
    if len(found) == 1:  # one entry of a pair's list
        return f"{first}, one of {total} instances both match"
    ids = ", ".join(str(c.id) for c in found[:3])
    more = f" and {total - 3} more" if total > 3 else ""
    return f"{total} instances both match ({ids}{more})"


# --------------------------------------------------------------------------------------------
# Timing, from reconciler.timeline


def _rule(rule: Timing) -> Rule:
    """The rule as the time engine takes it (no filters: timing only)."""
    return Rule(
        rule.name,
        (),
        (),
        (),
        start=rule.start,
        stop=rule.stop,
        timezone=rule.timezone,
        calendar_spec=rule.calendar,
        resource=rule.resource,
    )


def on_windows(rule: Timing, start: datetime, end: datetime) -> list[OnWindow]:
    """timeline's on-windows of the rule (a start that acts to the next stop that acts) that
    open by `end`, in the rule's zone, each with its stop (None: none within 31 days after
    `end`); a rule without both a start and a stop has none."""
    if rule.start is None or rule.stop is None:
        return []
    return list(_windows(rule.timing, start, end)[0])


@functools.lru_cache(maxsize=1024)
def _windows(
    timing: tuple[str, str | None, str | None, Calendar | None, str], start: datetime, end: datetime
) -> tuple[tuple[OnWindow, ...], datetime]:
    """The windows, and until when they are known (earlier than 31 days after `end` where an
    expression fires more than _MAX_FIRES times: a window open then has no known stop)."""
    tz, on, off, calendar, resource = timing
    rule = Timing("holder", tz, on, off, None, resource, calendar)
    where = zone(tz)
    hi = _horizon(rule, start, end + _LOOKBACK)
    found = timeline.on_windows(_rule(rule), start, hi, timeline.calendar_skip)
    windows = tuple(
        (w.start.astimezone(where), None if w.open_end else w.stop.astimezone(where))
        for w in found
        if w.start <= end
    )
    return windows, hi


@functools.lru_cache(maxsize=1024)
def _stops(
    timing: tuple[str, str | None, str | None, Calendar | None, str], now: datetime, end: datetime
) -> tuple[datetime, ...]:
    """The stops that act, strictly after `now` and up to `end` (a calendar's are left out)."""
    tz, _, off, calendar, resource = timing
    rule = Timing("stopper", tz, None, off, None, resource, calendar)
    hi = _horizon(rule, now, end + timedelta(microseconds=1))
    found = timeline.firings(_rule(rule), now, hi, timeline.calendar_skip, rate_from=now)
    return tuple(f.local for f in found if f.utc > now and f.action == "stop" and not f.skipped)


def _horizon(rule: Timing, start: datetime, end: datetime) -> datetime:
    """`end`, or earlier where an expression fires more than _MAX_FIRES times before it."""
    limit = end
    for expression in (rule.start, rule.stop):
        if expression is None:
            continue
        for count, fire in enumerate(iter_fires(expression, rule.timezone, start), 1):
            if fire >= limit:
                break
            if count == _MAX_FIRES:
                limit = fire
                break
    return limit


def _cuts(
    stopper: Timing, holder: Timing, now: datetime, days: int
) -> Iterator[tuple[datetime, OnWindow]]:
    """Each stop of `stopper` within `days` after `now` inside an on-window of `holder`."""
    if stopper.stop is None or holder.start is None or holder.stop is None:
        return
    end = now + timedelta(days=days)
    windows, known = _windows(holder.timing, now - _LOOKBACK, end)
    starts = [on for on, _ in windows]
    for stop in _stops(stopper.timing, now, end):
        if stop >= known:
            return
        # The window whose start is the latest at or before the stop (windows never overlap).
        latest = bisect_right(starts, stop) - 1
        if latest < 0:
            continue
        on, off = windows[latest]
        if off is None or stop < off:
            yield stop, (on, off)


def first_cut(
    stopper: Timing, holder: Timing, now: datetime, days: int = LOOKAHEAD_DAYS
) -> tuple[datetime, OnWindow] | None:
    """The first stop of `stopper` within `days` after `now` inside an on-window of `holder`."""
    return next(_cuts(stopper, holder, now, days), None)


# --------------------------------------------------------------------------------------------
# The union (DESIGN.md §12), decided by the executor's own code


def held_on(stopper: Timing, holder: Timing, at: datetime) -> decisions.Holder | None:
    """The holder, if the executor's union keeps the pair's shared instances up at the
    stopper's stop at `at`: the holder has a start and a stop (no rate()), acts on the same
    kind of resource, and its window is open then, its calendar's skips counted. The account,
    region and filters are the pair's own (both rules act on the instances), so only the
    timing and kind are asked."""
    entry = RuleEntry(
        holder.name,
        holder.resource,
        (_ANY,),
        (_ANY,),
        (),
        holder.timezone,
        holder.start,
        holder.stop,
        holder.calendar,
    )
    manifest = Manifest("plan", (entry,))
    found = decisions.holders(manifest, stopper.name, stopper.resource, _ANY, _ANY, at)
    return found.found[0] if found else None


@dataclass(frozen=True)
class Cut:
    """A pair's reported stop: the first the union does not resolve, else the first one."""

    when: datetime
    window: OnWindow
    holder: decisions.Holder | None  # set: held on (every stop checked was)


def pair_cut(stopper: Timing, holder: Timing, now: datetime, days: int) -> Cut | None:
    first: Cut | None = None
    for when, window in islice(_cuts(stopper, holder, now, days), _MAX_CUTS):
        held = held_on(stopper, holder, when)
        if held is None:
            return Cut(when, window, None)
        first = first or Cut(when, window, held)
    return first


# --------------------------------------------------------------------------------------------
# Scanning a rule set


@dataclass(frozen=True)
class Scan:
    conflicts: tuple[Conflict, ...]  # those of the first MAX_PAIRS pairs, by rule names
    pairs: int  # every conflicting pair of rules found, listed or not


def find_conflicts(
    rules: Sequence[Timing],
    matched: Mapping[str, frozenset[InstanceKey]],
    now: datetime,
    days: int = LOOKAHEAD_DAYS,
) -> list[Conflict]:
    return list(scan_conflicts(rules, matched, now, days).conflicts)


def scan_conflicts(
    rules: Sequence[Timing],
    matched: Mapping[str, frozenset[InstanceKey]],
    now: datetime,
    days: int = LOOKAHEAD_DAYS,
    max_pairs: int = MAX_PAIRS,
) -> Scan:
    """Conflicts among `rules` (the enabled ones); `matched` holds the instances the preview
    found for each rule it read (absent: not read). Timing is computed once per pair of
    distinct timings, instances only for pairs whose timing collides."""
    groups: dict[object, list[Timing]] = {}
    for rule in rules:
        groups.setdefault(rule.timing, []).append(rule)
    pairs: list[tuple[Timing, Timing, Cut]] = []
    for stoppers in groups.values():
        for holders in groups.values():
            cut = pair_cut(stoppers[0], holders[0], now, days)
            if cut is not None:
                pairs += [(a, b, cut) for a in stoppers for b in holders if _collide(a, b, matched)]
    pairs.sort(key=lambda p: (p[0].name, p[1].name))
    soon_until = now + timedelta(days=CONFLICT_DAYS)
    found: list[Conflict] = []
    for stopper, holder, cut in pairs[:max_pairs]:
        static = stopper.scope == holder.scope
        shared = _shared(stopper.name, holder.name, matched, static) or []
        found += _entries((stopper.name, holder.name), shared, cut, static, cut.when <= soon_until)
    return Scan(tuple(found), len(pairs))


def _collide(a: Timing, b: Timing, matched: Mapping[str, frozenset[InstanceKey]]) -> bool:
    """Whether two rules act on one instance: provably (the same scope and kind), or as read."""
    if a.name == b.name or a.resource != b.resource:
        return False
    if a.scope == b.scope:
        return True
    return (
        a.name in matched and b.name in matched and not matched[a.name].isdisjoint(matched[b.name])
    )


def _shared(
    a: str, b: str, matched: Mapping[str, frozenset[InstanceKey]], static: bool
) -> list[InstanceKey] | None:
    """The instances both rules act on; [] when static and not read; None when unknown."""
    if a in matched and b in matched:
        return sorted(matched[a] & matched[b])
    return [] if static else None


def _entries(
    pair: tuple[str, str], shared: list[InstanceKey], cut: Cut, static: bool, soon: bool
) -> list[Conflict]:
    held = cut.holder
    resolution = HELD_ON if held is not None else None
    until = held.until if held is not None else None
    if not shared:
        return [
            Conflict(
                pair, None, None, None, cut.when, cut.window, static, soon, 1, resolution, until
            )
        ]
    return [
        Conflict(pair, i, a, r, cut.when, cut.window, static, soon, len(shared), resolution, until)
        for a, r, i in shared[:MAX_PER_PAIR]
    ]
