"""`reconcile logs`: the executor's run log and the apply records, from DynamoDB.

Query only, never Scan: `--rule` reads one partition (RULE#<rule>, sort key BETWEEN the two
times); without it, one index query per UTC day covers runs and apply records together.
Text is an aligned table for people; `--format json` prints a JSON array on stdout for scripts.
Messages (nothing found, a clamped range) go to stderr.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler import checks, output, runlog
from reconciler.aws import client_in
from reconciler.awserror import error_code
from reconciler.durations import duration_seconds
from reconciler.errors import FatalError
from reconciler.logview import render_json, render_text, status_of
from reconciler.settings import load_settings

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient


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
    start, end = parse_window(since, until, now)
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


def parse_window(
    since: str, until: str | None, now: datetime, *, not_after_now: bool = False
) -> tuple[datetime, datetime]:
    """--since and --until as (start, end); `not_after_now` ends the window at now at latest."""
    start = parse_when(since, now, "--since")
    end = parse_when(until, now, "--until") if until else now
    if not_after_now:
        end = min(end, now)
    if start > end:
        raise FatalError(
            f"--since ({runlog.iso_z(start)}) is after --until ({runlog.iso_z(end)}): "
            "give the earlier time to --since"
        )
    return start, end


def parse_when(text: str, now: datetime, option: str) -> datetime:
    """A duration ago (30m, 24h, 7d, 2w) or an ISO 8601 instant (UTC unless it has an offset)."""
    seconds = duration_seconds(text)
    if seconds is not None:
        try:
            return now - timedelta(seconds=seconds)
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


def _read(
    client: DynamoDBClient,
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
        # Apply records carry whole seconds: two in one second are told apart by their end.
        str(entry.get("finished_at", "")),
    )
