"""EventBridge Scheduler expressions: parse, validate, normalise, and compute fire times.

No AWS in here. (Interface fixed; implementation in progress.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime


class ExpressionError(ValueError):
    """A bad expression. str(exc) is a full sentence naming the bad field and why."""


@dataclass(frozen=True)
class Expression:
    kind: str  # "cron" | "rate" | "at"
    text: str  # as written, stripped


def parse(text: str) -> Expression:
    """Parse and validate `cron(...)`, `rate(...)` or `at(...)` exactly as EventBridge does."""
    raise NotImplementedError


def normalise(text: str) -> str:
    """The canonical spelling used when diffing desired against live (e.g. rate units)."""
    raise NotImplementedError


def iter_fires(expr: Expression, tz: str, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, as aware datetimes in `tz`, with the DST rule applied."""
    raise NotImplementedError


def dst_gap_warning(expr: Expression, tz: str) -> str | None:
    """A warning sentence when a cron time can fall into a DST gap of `tz`, else None."""
    raise NotImplementedError
