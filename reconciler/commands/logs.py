"""`reconcile logs`: the executor's run log and the apply records, from DynamoDB.

Query only, never Scan: `--rule` reads one partition (RULE#<rule>, sort key BETWEEN the two
times); without it, one index query per UTC day covers runs and apply records together.
Text is an aligned table for people; `--format json` prints a JSON array on stdout for scripts.
Messages (nothing found, a clamped range) go to stderr.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from reconciler import checks, output, runlog
from reconciler.aws import client_in
from reconciler.awserror import error_code
from reconciler.errors import FatalError
from reconciler.executor import selection
from reconciler.settings import load_settings

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_STATUS_COLOURS = {
    "ok": "green",
    "partial": "yellow",
    "failed": "red",
    "refused": "magenta",
    "duplicate": "cyan",
    "running": "blue",
}
# The executor's skip reasons (selection), as the DETAIL column words them.
_SKIP_WORDS = {
    selection.TERMINATED: "terminated",
    selection.AUTOSCALING: "Auto Scaling",
    selection.INSTANCE_STORE: "instance-store",
    selection.SPOT_ONE_TIME: "one-time Spot",
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


def run(
    *,
    settings_path: str,
    rule: str | None = None,
    since: str = "24h",
    until: str | None = None,
    statuses: Sequence[str] = (),
    fmt: str = "text",
    now: datetime | None = None,
) -> int:
    settings = load_settings(settings_path)
    now = now or _now()
    start = parse_when(since, now, "--since")
    end = parse_when(until, now, "--until") if until else now
    if start > end:
        raise FatalError(
            f"--since ({runlog.iso_z(start)}) is after --until ({runlog.iso_z(end)}): "
            "give the earlier time to --since"
        )
    if rule is not None:
        problems = checks.check_rule_name(rule, ("--rule",))
        if problems:
            raise FatalError(str(problems[0]))
    oldest = now - timedelta(days=settings.log_retention_days + 1)
    if rule is None and start < oldest:
        # Older items have expired: no need for one index query per day back to `since`.
        output.err(
            f"note: the log keeps {settings.log_retention_days} days; reading from {runlog.iso_z(oldest)}"
        )
        start = oldest
    horizon = now + timedelta(days=1)  # a day's slack for a clock behind AWS's
    if rule is None and end > horizon:
        # Nothing is logged ahead of now: `--until 2099-01-01` needs no query per future day.
        end = horizon
    client = client_in(settings.region, "dynamodb")
    entries = _read(client, settings.log_table, settings.region, settings_path, rule, start, end)
    entries = [e for e in entries if not statuses or status_of(e) in statuses]
    entries.sort(key=_order)
    if fmt == "json":
        output.out(render_json(entries))
    elif entries:
        output.out(render_text(entries, colour=output.use_color(), width=_width()), nl=False)
    if not entries:
        what = f"runs of rule {rule}" if rule else "runs or apply records"
        filtered = f" with status {', '.join(statuses)}" if statuses else ""
        output.err(
            f"no {what}{filtered} between {runlog.iso_z(start)} and {runlog.iso_z(end)} "
            f"in table {settings.log_table} ({settings.region})"
        )
    return 0


def _now() -> datetime:
    """The clock `--since 24h` counts back from (tests pin it)."""
    return datetime.now(UTC)


def parse_when(text: str, now: datetime, option: str) -> datetime:
    """A duration ago (30m, 24h, 7d, 2w) or an ISO 8601 instant (UTC unless it has an offset)."""
    match = _DURATION_RE.match(text)
    if match:
        try:
            return now - timedelta(**{_UNITS[match[2]]: int(match[1])})
        except OverflowError:
            raise FatalError(
                f"{option} {text!r} reaches back before the year 1: give a shorter duration"
            ) from None
    try:
        return runlog.parse_instant(text)
    except ValueError:
        raise FatalError(
            f"{option} {text!r}: give a duration such as 30m, 24h or 7d, or an ISO 8601 time "
            "such as 2026-11-27T08:00:00Z"
        ) from None


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
    rows = [_row(e) for e in entries]
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS) - 1)]
    lines = [_line(HEADERS, widths, width, colour=False)]
    lines += [_line(r, widths, width, colour) for r in rows]
    counts = Counter(status_of(e) for e in entries)
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines.append(f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}: {tally}")
    return "\n".join(lines) + "\n"


def _read(
    client: Any,
    table: str,
    region: str,
    settings_path: str,
    rule: str | None,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    try:
        if rule is not None:
            return runlog.query_rule(client, table, rule, start, end)
        return runlog.query_range(client, table, start, end)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise FatalError(
                f"log table {table} not found in {region}: `reconcile apply` creates it; "
                f"if it exists elsewhere, check log_table and region in {settings_path}"
            ) from None
        raise


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
            text = output.style(text, fg=_STATUS_COLOURS.get(cell.strip()))
        padded.append(text)
    head = "  ".join(padded)
    detail = cells[-1]
    if width is not None:
        room = width - (sum(widths) + 2 * len(widths))
        if room < len(detail):
            detail = detail[: max(room - 1, 0)] + "…" if room > 1 else ""
    return f"{head}  {detail}".rstrip()


def _width() -> int | None:
    """On a terminal, cut the detail column at its width; piped output stays whole."""
    return shutil.get_terminal_size().columns if output.is_tty() else None


def _order(entry: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        runlog.entry_time(entry),
        str(entry.get("kind", "")),
        str(entry.get("rule", "")),
        str(entry.get("action", "")),
        str(entry.get("account", "")),
        str(entry.get("region", "")),
        str(entry.get("started_at", "")),
    )
