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
from reconciler.executor import asgselect, dbselect, selection

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
    asgselect.NOT_STOPPED_BY_US: "not stopped by Ouroboros",
    dbselect.CLUSTER_MEMBER: "cluster member",
    dbselect.READ_REPLICA: "read replica",
    dbselect.HAS_REPLICAS: "with read replicas",
    dbselect.CANNOT_STOP: "cannot be stopped",
    dbselect.GLOBAL_DATABASE: "global database",
    dbselect.STATUS: "busy",
    selection.TERMINATED: "terminated",
    selection.AUTOSCALING: "Auto Scaling",
    selection.INSTANCE_STORE: "instance-store",
    selection.SPOT_ONE_TIME: "one-time Spot",
    selection.OVERRIDE: "override",
    selection.HELD_ON: "held on by another rule",
}
_ALREADY = {"stop": "already stopped", "start": "already running"}
# A started DB instance or cluster is "available"; a stopped group is at zero capacity.
_ALREADY_BY_RESOURCE = {
    ("rds", "start"): "already available",
    ("aurora", "start"): "already available",
    ("asg", "stop"): "already at zero",
}
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
        run_detail(entry),
    )


_IDS_SHOWN = 3  # identifiers of a non-EC2 run named in DETAIL; the JSON has them all


def run_detail(entry: Mapping[str, Any]) -> str:
    """What a run did beyond its counts: its error or detail, skip reasons, hibernations, retries."""
    parts: list[str] = []
    resource = entry.get("resource")
    if resource and entry.get("acted"):
        parts.append(_acted_ids(str(resource), entry))
    if entry.get("detail"):
        parts.append(str(entry["detail"]))
    elif entry.get("errors"):
        first = entry["errors"][0]
        parts.append(f"{first.get('code')}: {first.get('message')}")
    skips = Counter(s.get("reason", "") for s in entry.get("skipped", []))
    if skips and entry.get("status") != "refused":
        words = {
            **_SKIP_WORDS,
            selection.IN_TARGET_STATE: _already(entry),
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


def _already(entry: Mapping[str, Any]) -> str:
    action = str(entry.get("action"))
    key = (str(entry.get("resource", "ec2")), action)
    return _ALREADY_BY_RESOURCE.get(key) or _ALREADY.get(action, "")


def _acted_ids(resource: str, entry: Mapping[str, Any]) -> str:
    """`rds dev-db-1, dev-db-2 (+3 more)`: which DB instances, clusters or groups it acted on
    (an EC2 run's instance ids are in the JSON; a database's name is what people look for)."""
    acted = [str(i) for i in entry.get("acted", [])]
    count = int(entry.get("acted_count", len(acted)))
    shown = ", ".join(acted[:_IDS_SHOWN])
    more = count - min(len(acted), _IDS_SHOWN)
    return f"{resource} {shown}" + (f" (+{more} more)" if more > 0 else "")


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
