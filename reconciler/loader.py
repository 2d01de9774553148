"""Rule files -> validated rules (interface fixed; implementation in progress)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.diagnostics import Diagnostic
from reconciler.model import Rule


@dataclass(frozen=True)
class LoadResult:
    rules: tuple[Rule, ...]
    diagnostics: tuple[Diagnostic, ...]  # sorted; errors and warnings

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)


def load_rules(paths: Sequence[str]) -> LoadResult:
    """Load and check rule files. Each path is a file or a directory (searched for *.yaml/*.yml)."""
    raise NotImplementedError
