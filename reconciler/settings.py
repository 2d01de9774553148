"""ouroboros.yaml -> Settings (interface fixed; implementation in progress)."""

from __future__ import annotations

from reconciler.model import Settings


def load_settings(path: str) -> Settings:
    """Load and check the settings file; raises SettingsError (a FatalError) listing problems."""
    raise NotImplementedError
