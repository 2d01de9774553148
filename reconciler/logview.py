"""The run log as people and scripts read it: `reconcile logs`' table and JSON array.

Pure: entries in (runs and apply records, as runlog reads them), text out.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import checks, runlog
from reconciler.ansi import style
from reconciler.executor import selection

_STATUS_COLOURS = {
    "ok": "green",
    "partial": "yellow",
    "failed": "red",
    "refused": "magenta",
    "duplicate": "cyan",
    "skipped": "cyan",
    "running": "blue",
}
# The executor's skip reasons (selection), as the DETAIL column words them.
_SKIP_WORDS = {
    selection.TERMINATED: "terminated",
    selection.AUTOSCALING: "Auto Scaling",
    selection.INSTANCE_STORE: "instance-store",
    selection.SPOT_ONE_TIME: "one-time Spot",
    selection.OVERRIDE: "override",
    selection.HELD_ON: "held on by another rule",
}
_ALREADY = {"stop": "already stopped", "start": "already running"}
HEADERS = (
    "TIME (UTC)",
    "RULE",
    "ACTION",
    "ACCOUNT/REGION",
    "STATUS",
    "MATCHED",
    "ACTED",
    "SKIPPED",
    "ERRORS",
    "DETAIL",
)
_NUMERIC = frozenset({"MATCHED", "ACTED", "SKIPPED", "ERRORS"})


def status_of(entry: Mapping[str, Any]) -> str:
    """A run's status; an apply record's outcome."""
    if entry.get("kind") == runlog.KIND_APPLY:
        return str(entry.get("outcome", ""))
    return str(entry.get("status", ""))


def render_json(entries: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps([{"time": runlog.entry_time(e), **e} for e in entries], indent=2)


def render_text(
    entries: Sequence[Mapping[str, Any]], colour: bool = False, width: int | None = None
) -> str:
    """An aligned table, one line per entry, then a tally; ends with a newline.

    `width` (a terminal's) cuts the DETAIL column so lines do not wrap.
    """
    if not entries:
        return "no entries\n"
    # Entries are data anyone who may invoke the executor can shape (a refused event's ARN):
    # a terminal must not act on the control characters in them.
    rows = [tuple(checks.escape_controls(cell) for cell in _row(e)) for e in entries]
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS) - 1)]
    lines = [_line(HEADERS, widths, width, colour=False)]
    lines += [_line(r, widths, width, colour) for r in rows]
    counts = Counter(status_of(e) for e in entries)
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines.append(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}: {tally}")
    return "\n".join(lines) + "\n"


def _row(entry: Mapping[str, Any]) -> tuple[str, ...]:
    when = runlog.entry_time(entry).replace("T", " ").rstrip("Z")
    if entry.get("kind") == runlog.KIND_APPLY:
        return (
            when,
            "(apply)",
            "apply",
            "-",
            status_of(entry),
            "-",
            "-",
            "-",
            "-",
            _apply_detail(entry),
        )
    return (
        when,
        str(entry.get("rule", "")),
        str(entry.get("action", "")),
        f"{entry.get('account', '')}/{entry.get('region', '')}",
        status_of(entry),
        str(entry.get("matched", 0)),
        str(entry.get("acted_count", len(entry.get("acted", [])))),
        str(entry.get("skipped_count", len(entry.get("skipped", [])))),
        str(entry.get("error_count", len(entry.get("errors", [])))),
        _run_detail(entry),
    )


def _run_detail(entry: Mapping[str, Any]) -> str:
    parts: list[str] = []
    if entry.get("detail"):
        parts.append(str(entry["detail"]))
    elif entry.get("errors"):
        first = entry["errors"][0]
        parts.append(f"{first.get('code')}: {first.get('message')}")
    skips = Counter(s.get("reason", "") for s in entry.get("skipped", []))
    if skips and entry.get("status") != "refused":
        words = {
            **_SKIP_WORDS,
            selection.IN_TARGET_STATE: _ALREADY.get(str(entry.get("action")), ""),
        }
        parts.append(
            "skipped: " + ", ".join(f"{n} {words.get(r) or r}" for r, n in sorted(skips.items()))
        )
    hibernated = int(entry.get("hibernated_count", len(entry.get("hibernated", []))))
    if hibernated:
        parts.append(f"{hibernated} hibernated")
    if int(entry.get("attempts", 1)) > 1:
        parts.append(f"attempt {entry['attempts']}{_earlier(entry.get('history', []))}")
    return "; ".join(parts)


def _earlier(history: Sequence[Mapping[str, Any]]) -> str:
    """`(1: failed AccessDenied)`: what the attempts before this one ran into."""
    notes = []
    for h in history:
        codes = sorted({str(e.get("code")) for e in h.get("errors", [])})
        notes.append(" ".join([f"{h.get('attempt')}: {h.get('status')}", *codes]))
    return f" ({'; '.join(notes)})" if notes else ""


def _apply_detail(entry: Mapping[str, Any]) -> str:
    text = str(entry.get("summary", ""))
    text += f"; by {entry.get('actor', '?')} at {str(entry.get('commit', ''))[:12]}"
    if entry.get("pr_number") is not None:
        text += f" (PR #{entry['pr_number']})"
    if entry.get("error"):
        text += f"; error: {entry['error']}"
    return text


def _line(cells: Sequence[str], widths: Sequence[int], width: int | None, colour: bool) -> str:
    padded = []
    for i, cell in enumerate(cells[:-1]):
        text = cell.rjust(widths[i]) if HEADERS[i] in _NUMERIC else cell.ljust(widths[i])
        if colour and HEADERS[i] == "STATUS":
            text = style(text, fg=_STATUS_COLOURS.get(cell.strip()))
        padded.append(text)
    head = "  ".join(padded)
    detail = cells[-1]
    if width is not None:
        room = width - (sum(widths) + 2 * len(widths))
        if room < len(detail):
            detail = detail[: max(room - 1, 0)] + "…" if room > 1 else ""
    return f"{head}  {detail}".rstrip()
