"""`reconcile apply` (not built yet)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import FatalError


def run(*args: Any, **kwargs: Any) -> int:
    raise FatalError("`reconcile apply` is not available yet")
