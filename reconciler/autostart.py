"""AWS starts a stopped RDS DB instance (or Aurora cluster) by itself after seven days. Pure.

Which stop of a rule leaves a database longer than that without another firing: the loader
warns about it, and a timeline of the rule can note it (DESIGN.md §11).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler import timeengine

# The kinds AWS restarts, and what a message calls one of them.
RESTARTED_KINDS = {"rds": "DB instance", "aurora": "DB cluster"}
AUTO_START = timedelta(days=7)
HORIZON = timedelta(days=60)
FIRES_MAX = 5000  # per expression: a rate(1 minute) has no week-long gap to find anyway


@dataclass(frozen=True)
class LongStop:
    """A stop after which the rule fires nothing for more than AUTO_START."""

    stop: datetime  # aware, in the rule's zone
    quiet: timedelta | None  # until the rule's next firing; None: it never fires again

    @property
    def restarted(self) -> datetime:
        return self.stop + AUTO_START

    def message(self, resource: str, tz: str) -> str:
        what = RESTARTED_KINDS.get(resource, "database")
        after = f"for {self.quiet.days} days" if self.quiet is not None else "again"
        return (
            f"AWS starts a stopped {what} by itself after 7 days, and after the stop on "
            f"{self.stop:%Y-%m-%d %H:%M} ({tz}) the rule does not fire {after}: it runs again "
            f"from {self.restarted:%Y-%m-%d}; make the stop fire at least weekly"
        )


def first_long_stop(
    expressions: Mapping[str, timeengine.Expression], tz: str, now: datetime
) -> LongStop | None:
    """The first stop in the next HORIZON after which neither a start nor another stop fires
    within AUTO_START; `expressions` maps "start"/"stop" to the rule's parsed expressions."""
    if "stop" not in expressions:
        return None
    until = now + HORIZON + AUTO_START
    covered = until  # how far the fire times below are complete
    fires: dict[str, list[datetime]] = {}
    for action, expr in expressions.items():
        times = list(itertools.islice(timeengine.iter_fires(expr, tz, now), FIRES_MAX))
        if len(times) == FIRES_MAX:
            covered = min(covered, times[-1])
        fires[action] = [t for t in times if t <= until]
    events = sorted([*fires.get("start", []), *fires["stop"]])
    for stop in fires["stop"]:
        if stop > now + HORIZON or stop + AUTO_START > covered:
            break
        later = next((t for t in events if t > stop), None)
        if later is None:
            return LongStop(stop, None)
        if later - stop > AUTO_START:
            return LongStop(stop, later - stop)
    return None
