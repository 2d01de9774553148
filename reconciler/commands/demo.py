"""`reconcile demo`: the whole loop on an embedded moto (the work is in reconciler.demo)."""

from __future__ import annotations

from reconciler import demo
from reconciler.errors import FatalError


def run(*, days: int, rules_dir: str | None = None) -> int:
    if not 1 <= days <= 31:
        raise FatalError(f"--days {days}: give a number of days from 1 to 31")
    return demo.run(days, rules_dir)
