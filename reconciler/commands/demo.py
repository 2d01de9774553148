"""`reconcile demo`: the whole loop on an embedded moto (the work is in reconciler.demo)."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler import demo
from reconciler.errors import FatalError


def run(*, days: int, rules_dir: str | None = None, start: str | None = None) -> int:
    if not 1 <= days <= 31:
        raise FatalError(f"--days {days}: give a number of days from 1 to 31")
    _require_moto()
    return demo.run(days, rules_dir, _instant(start) if start else None)


def _require_moto() -> None:
    """moto is the [demo] extra, not a dependency: say how to get it, before anything runs."""
    try:
        import moto  # noqa: F401
    except ImportError as exc:
        raise FatalError(
            "reconcile demo needs moto, which a plain `pip install .` leaves out: "
            'pip install "ouroboros-reconciler[demo]" (or, in a checkout, pip install ".[demo]")'
        ) from exc


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FatalError(
            f"--start {text!r} is not an ISO 8601 instant, e.g. 2026-12-04T00:00:00Z"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
