"""Conflicts between rules (DESIGN.md §10): two enabled rules acting on one instance, one's
stop falling inside the other's on-window (a start and the stop after it) in the next 14 days.

Pure. Found statically when two rules' filters are provably the same set (the same filters,
accounts and regions, however written: a YAML alias included), and from the target preview
otherwise (an instance both rules matched when the plan read them).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from reconciler.timeengine import iter_fires

# DESIGN.md §10 defines a conflict within the next 14 days; a monthly rule collides once a
# month, so later collisions (within a year) are reported too, each with its date and `soon`
# telling the 14-day ones apart: the repository's own month-end example would otherwise be
# silent for two weeks out of four.
CONFLICT_DAYS = 14
LOOKAHEAD_DAYS = 366
# A window open at `now` began at most this long before it (a longer one is not looked for).
_LOOKBACK = timedelta(days=31)
# Pairs of rules listed (a pathological rule set can have a million); the rest are counted.
MAX_PAIRS = 500
# Entries per pair of rules: one per shared instance, up to this many (the message counts all).
MAX_PER_PAIR = 20
# Fires looked at per expression: a rate(1 minute) has 20,160 in 14 days.
_MAX_FIRES = 50_000

# (account, region, instance id)
InstanceKey = tuple[str, str, str]


@dataclass(frozen=True)
class Timing:
    """What conflicts need of a rule: its name, zone, expressions and the set it acts on."""

    name: str
    timezone: str
    start: str | None
    stop: str | None
    scope: object  # equal scopes = provably the same instances (accounts, regions, filters)


@dataclass(frozen=True)
class Conflict:
    rules: tuple[str, str]  # (the rule that stops, the rule whose on-window it cuts)
    id: str | None  # None: every instance both match (same filters), not read
    account: str | None
    region: str | None
    when: datetime  # the stop, in the stopping rule's zone
    window: tuple[datetime, datetime | None]  # the on-window it falls in (the other's zone)
    static: bool
    soon: bool = True  # within CONFLICT_DAYS
    shared: int = 1  # instances both rules act on (at most MAX_PER_PAIR are listed)

    @property
    def message(self) -> str:
        return pair_message([self])


def pair_message(found: Sequence[Conflict]) -> str:
    """One sentence for the conflicts of one pair of rules (one per shared instance)."""
    first = found[0]
    stopper, holder = first.rules
    start, end = first.window
    if end is None:
        until = "its next stop"
    elif end.date() == start.date():
        until = f"{end:%H:%M}"
    else:
        until = f"{end:%a %Y-%m-%d %H:%M}"
    return (
        f"{stopper} stops {_what(found)} at {first.when:%a %Y-%m-%d %H:%M} "
        f"{first.when.tzname()}, inside {holder}'s on-window {start:%a %Y-%m-%d %H:%M}-{until} "
        f"{start.tzname()}: {holder} expects {'it' if first.shared == 1 and first.id else 'them'} "
        "running then"
    )


def _what(found: Sequence[Conflict]) -> str:
    if found[0].id is None:
        return "the same instances (the same filters, accounts and regions)"
    total = max(found[0].shared, len(found))
    first = f"{found[0].id} ({found[0].account} {found[0].region})"
    if total == 1:
        return first
    if len(found) == 1:  # one entry of a pair's list
        return f"{first}, one of {total} instances both match,"
    ids = ", ".join(str(c.id) for c in found[:3])
    more = f" and {total - 3} more" if total > 3 else ""
    return f"{total} instances both match ({ids}{more})"


def _fires(expression: str, tz: str, start: datetime, end: datetime) -> Iterator[datetime]:
    for fire in islice(iter_fires(expression, tz, start), _MAX_FIRES):
        if fire > end:
            return
        yield fire


def on_windows(
    rule: Timing, start: datetime, end: datetime
) -> list[tuple[datetime, datetime | None]]:
    """[a start, the rule's next stop after it) for each start within start..end; a rule
    without both a start and a stop has none."""
    if rule.start is None or rule.stop is None:
        return []
    stops = list(_fires(rule.stop, rule.timezone, start, end + _LOOKBACK))
    windows: list[tuple[datetime, datetime | None]] = []
    for on in _fires(rule.start, rule.timezone, start, end):
        after = bisect_right(stops, on)
        windows.append((on, stops[after] if after < len(stops) else None))
    return windows


def first_cut(
    stopper: Timing, holder: Timing, now: datetime, days: int = LOOKAHEAD_DAYS
) -> tuple[datetime, tuple[datetime, datetime | None]] | None:
    """The first stop of `stopper` within `days` after `now` inside an on-window of `holder`."""
    if stopper.stop is None:
        return None
    end = now + timedelta(days=days)
    windows = on_windows(holder, now - _LOOKBACK, end)
    starts = [on for on, _ in windows]
    for stop in _fires(stopper.stop, stopper.timezone, now, end):
        # The latest start at or before the stop: an earlier window that holds the stop
        # would hold it too (its end is the first stop after both starts).
        latest = bisect_right(starts, stop) - 1
        if latest < 0:
            continue
        on, off = windows[latest]
        if off is None or stop < off:
            return stop, (on, off)
    return None


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
    distinct (zone, start, stop), instances only for pairs whose timing collides."""
    groups: dict[tuple[str, str | None, str | None], list[Timing]] = {}
    for rule in rules:
        groups.setdefault((rule.timezone, rule.start, rule.stop), []).append(rule)
    pairs: list[tuple[Timing, Timing, tuple[datetime, tuple[datetime, datetime | None]]]] = []
    for stoppers in groups.values():
        for holders in groups.values():
            cut = first_cut(stoppers[0], holders[0], now, days)
            if cut is not None:
                pairs += [(a, b, cut) for a in stoppers for b in holders if _collide(a, b, matched)]
    pairs.sort(key=lambda p: (p[0].name, p[1].name))
    soon_until = now + timedelta(days=CONFLICT_DAYS)
    found: list[Conflict] = []
    for stopper, holder, (when, window) in pairs[:max_pairs]:
        static = stopper.scope == holder.scope
        shared = _shared(stopper.name, holder.name, matched, static) or []
        found += _entries(
            stopper.name, holder.name, shared, when, window, static, when <= soon_until
        )
    return Scan(tuple(found), len(pairs))


def _collide(a: Timing, b: Timing, matched: Mapping[str, frozenset[InstanceKey]]) -> bool:
    """Whether two rules act on one instance: provably (the same scope), or as read."""
    if a.name == b.name:
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
    stopper: str,
    holder: str,
    shared: list[InstanceKey],
    when: datetime,
    window: tuple[datetime, datetime | None],
    static: bool,
    soon: bool,
) -> list[Conflict]:
    pair = (stopper, holder)
    if not shared:
        return [Conflict(pair, None, None, None, when, window, static, soon)]
    listed = shared[:MAX_PER_PAIR]
    return [Conflict(pair, i, a, r, when, window, static, soon, len(shared)) for a, r, i in listed]
