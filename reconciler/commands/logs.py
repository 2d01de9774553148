"""`reconcile logs` (not built yet)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import FatalError


def run(*args: Any, **kwargs: Any) -> int:
    raise FatalError("`reconcile logs` is not available yet")
