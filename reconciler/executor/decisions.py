"""Fire-time decisions (DESIGN.md §12): calendars, expiring overrides, the union of rules. Pure.

Each works on plain data (a resource's id, its tags and filterable attributes), so it applies
to any kind of resource the executor describes:

- calendar_skip: the whole firing does nothing on a date of the rule's calendar;
- override: a resource tagged ouroboros:skip-until=<instant> is left alone until then;
- Holders / held_by: at a stop firing, a resource another enabled rule holds on (its latest
  start before the scheduled time is later than its latest stop) stays up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler import calendars, runlog, timeengine
from reconciler.calendars import Calendar
from reconciler.executor import filters
from reconciler.executor.manifest import Manifest, RuleEntry

SKIP_UNTIL_TAG = "ouroboros:skip-until"
# How far back the latest start and stop are looked for: a day, a week, a month, a year.
_LOOKBACKS = (timedelta(days=1), timedelta(days=8), timedelta(days=32), timedelta(days=367))


def calendar_skip(calendar: Calendar | None, scheduled_time: str) -> str | None:
    """Why the firing at `scheduled_time` does nothing (a calendar date), or None."""
    if calendar is None:
        return None
    return calendars.skip_reason_at(calendar, runlog.parse_instant(scheduled_time))


@dataclass(frozen=True)
class Override:
    skip: str | None = None  # the skip's detail
    note: str | None = None  # an expired override, for the log


def override(tags: Mapping[str, str], at: datetime) -> Override:
    """The resource's ouroboros:skip-until tag, read at `at` (the scheduled time)."""
    value = tags.get(SKIP_UNTIL_TAG)
    if value is None:
        return Override()
    until = parse_until(value)
    if until is None:
        return Override(
            skip=(
                f"override tag {SKIP_UNTIL_TAG}={value!r} is not an ISO 8601 instant with Z or "
                "an offset (e.g. 2026-12-01T08:00:00Z): skipped until it is fixed or removed"
            )
        )
    if at < until:
        return Override(skip=f"override until {value.strip()}")
    return Override(note=f"override until {value.strip()} expired: acted on as usual")


def parse_until(value: str) -> datetime | None:
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and "T" in text else None


# --------------------------------------------------------------------------------------------
# The union of on-windows


@dataclass(frozen=True)
class Holder:
    """Another rule that holds its resources on at the firing's time, until `until`."""

    rule: RuleEntry
    until: datetime | None

    def reason(self) -> str:
        when = f" until {self.until.isoformat()}" if self.until else ""
        return f"held on by rule {self.rule.name}{when}"


class Holders:
    """The rules holding on, indexed for matching: a rule with a `tag:K` filter can only match
    a resource tagged K, so each resource is only matched against the holders keyed on one of
    its tag keys (and those without a tag filter) instead of all of them."""

    def __init__(self, found: Sequence[Holder] = ()) -> None:
        self.found = tuple(found)
        self._unkeyed: list[tuple[int, Holder]] = []
        self._by_tag: dict[str, list[tuple[int, Holder]]] = {}
        for order, holder in enumerate(self.found):
            key = next((n[4:] for n, _ in holder.rule.targets if n.startswith("tag:")), None)
            if key is None:
                self._unkeyed.append((order, holder))
            else:
                self._by_tag.setdefault(key, []).append((order, holder))

    def __bool__(self) -> bool:
        return bool(self.found)

    def held_by(self, tags: Mapping[str, str], attributes: Mapping[str, str]) -> Holder | None:
        """The first holder (in manifest order) whose filters match the resource."""
        candidates = list(self._unkeyed)
        for key in tags:
            candidates += self._by_tag.get(key, ())
        for _, holder in sorted(candidates, key=lambda c: c[0]):
            if filters.matches(holder.rule.targets, tags, attributes):
                return holder
        return None


def holders(
    manifest: Manifest, firing_rule: str, resource: str, account: str, region: str, at: datetime
) -> Holders:
    """The enabled rules (both start and stop, same kind, this account and region) holding on
    at `at`. Computed once per (account, region); each resource is then only matched."""
    found: list[Holder] = []
    for rule in manifest.rules:
        if (
            rule.name == firing_rule
            or rule.resource != resource
            or rule.start is None
            or rule.stop is None
            or "rate(" in rule.start + rule.stop  # a rate's phase is unknown here
            or account not in rule.accounts
            or region not in rule.regions
        ):
            continue
        held, until = holds_until(rule.start, rule.stop, rule.timezone, rule.calendar, at)
        if held:
            found.append(Holder(rule, until))
    return Holders(found)


@functools.lru_cache(maxsize=4096)
def holds_until(
    start: str, stop: str, tz: str, calendar: Calendar | None, at: datetime
) -> tuple[bool, datetime | None]:
    """Whether the rule holds on at `at`, and until when (its next stop; None: it has none).

    A firing its calendar skipped did nothing, so it counts as no firing. A rule that stops
    at the very same time does not hold (else two rules stopping together would each keep
    the other's resources up).
    """
    last_start = latest_fire(start, tz, calendar, at)
    if last_start is None:
        return False, None
    last_stop = latest_fire(stop, tz, calendar, at)
    if last_stop is not None and last_stop >= last_start:
        return False, None
    next_stop = next(_fires(stop, tz, calendar, at - timedelta(seconds=1)), None)
    if next_stop == at:
        return False, None
    return True, next_stop


def latest_fire(expr: str, tz: str, calendar: Calendar | None, at: datetime) -> datetime | None:
    """The last firing strictly before `at`, looking back up to a year."""
    for lookback in _LOOKBACKS:
        last = None
        for fire in _fires(expr, tz, calendar, at - lookback):
            if fire >= at:
                break
            last = fire
        if last is not None:
            return last
    return None


def _fires(expr: str, tz: str, calendar: Calendar | None, after: datetime) -> Iterator[datetime]:
    for fire in timeengine.iter_fires(expr, tz, after):
        if calendar is None or calendars.skip_reason_at(calendar, fire) is None:
            yield fire
