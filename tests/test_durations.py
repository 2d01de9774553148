"""The one duration parser, for --lock-timeout and --since/--until."""

from __future__ import annotations

import pytest

from reconciler.durations import duration_seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("45", 45),
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("7d", 604800),
        ("2w", 1209600),
        (" 5 m ", 300),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1", "1.5m", "5 minutes", "m", "2026-11-01"])
def test_not_durations(text: str) -> None:
    assert duration_seconds(text) is None
