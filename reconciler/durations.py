"""The one duration syntax of the CLI: --lock-timeout, and --since/--until of `reconcile logs`.

A whole number with an optional unit: s (the default), m, h, d or w.
"""

from __future__ import annotations

import re

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> int | None:
    """`0`, `45` (seconds), `30s`, `5m`, `1h`, `7d`, `2w` -> seconds; None if not a duration."""
    match = _DURATION_RE.match(text)
    if match is None:
        return None
    return int(match[1]) * _UNIT_S[match[2]]
