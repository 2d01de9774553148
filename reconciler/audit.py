"""Audit: every apply leaves a record in the log table (who, which commit, what, how it went).

The record's shape is the log table's (reconciler.runlog.put_apply_record), so `reconcile
logs` shows applies beside the executor's runs.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reconciler import runlog
from reconciler.apply import ApplyResult
from reconciler.plan import CREATE, DELETE, UPDATE, Change
from reconciler.render import brief_fields

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient


def actor() -> str:
    """GITHUB_ACTOR in a workflow, else the local user."""
    from_ci = os.environ.get("GITHUB_ACTOR", "").strip()
    if from_ci:
        return from_ci
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (e.g. a bare container)
        return "unknown"


def commit() -> str:
    """GITHUB_SHA in a workflow, else the HEAD of the git repository we run in, else unknown."""
    from_ci = os.environ.get("GITHUB_SHA", "").strip()
    if from_ci:
        return from_ci
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = head.stdout.strip()
    return sha if head.returncode == 0 and sha else "unknown"


def pr_number() -> int | None:
    """OUROBOROS_PR_NUMBER, which the apply workflow sets to the merged pull request."""
    text = os.environ.get("OUROBOROS_PR_NUMBER", "").strip().lstrip("#")
    return int(text) if text.isdigit() else None


def worktree() -> str | None:
    """'clean', or 'dirty: M a.yaml, ?? b.yaml' when uncommitted files went into the apply;
    None outside a git repository."""
    try:
        status = subprocess.run(
            ["git", "status", "--porcelain"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if status.returncode != 0:
        return None
    files = [line.strip() for line in status.stdout.splitlines() if line.strip()]
    return _cut("dirty: " + ", ".join(files), RESULT_TEXT_MAX) if files else "clean"


# A DynamoDB item holds at most 400 KB: a huge apply keeps its first changes and the total,
# shortens long values, and leaves out (and counts) the diffs that no longer fit.
CHANGES_KEPT = 500
RESULT_TEXT_MAX = 300
VALUE_TEXT_MAX = 1_000
RECORD_BYTES_MAX = 300_000  # as JSON; the item's own encoding is smaller


def apply_record(
    result: ApplyResult,
    *,
    started: datetime,
    finished: datetime,
    who: str,
    sha: str,
    pr: int | None,
    error: str | None = None,
    worktree: str | None = None,
) -> dict[str, Any]:
    kept = result.results[:CHANGES_KEPT]
    record: dict[str, Any] = {
        "started_at": runlog.iso_z(started),
        "finished_at": runlog.iso_z(finished),
        "actor": who,
        "commit": sha,
        "outcome": result.outcome,
        "summary": result.summary() if result.results else "no changes",
        "changes": [
            {
                "action": r.change.action,
                "kind": r.change.kind,
                "name": r.change.name,
                "result": _cut(
                    r.status if r.error is None else f"{r.status}: {r.error}", RESULT_TEXT_MAX
                ),
            }
            for r in kept
        ],
        "duration_ms": int((finished - started).total_seconds() * 1000),
    }
    if len(result.results) > CHANGES_KEPT:
        record["changes_total"] = len(result.results)
    if pr is not None:
        record["pr_number"] = pr
    if error or result.first_error:
        record["error"] = error or result.first_error
    if worktree is not None:
        record["worktree"] = worktree
    _add_diffs(record, [r.change for r in kept])
    return record


def field_diff(change: Change) -> list[dict[str, str]]:
    """Each field the change sets or removes, values as JSON text: what the plan showed."""
    if change.action == UPDATE:
        return [
            {"field": f.field, "before": _value(f.before), "after": _value(f.after)}
            for f in change.diff
        ]
    if change.action == CREATE and change.desired is not None:
        return [{"field": k, "after": _value(v)} for k, v in brief_fields(change.desired)]
    if change.action == DELETE and change.before is not None:
        return [{"field": k, "before": _value(v)} for k, v in brief_fields(change.before)]
    return []


def _add_diffs(record: dict[str, Any], changes: list[Change]) -> None:
    """Diffs in plan order, while the record stays under RECORD_BYTES_MAX."""
    room = RECORD_BYTES_MAX - _size(record)
    omitted = 0
    for entry, change in zip(record["changes"], changes, strict=True):
        diff = field_diff(change)
        if not diff:
            continue
        cost = _size({"diff": diff})
        if cost > room:
            omitted += 1
            continue
        entry["diff"] = diff
        room -= cost
    if omitted:
        record["diffs_omitted"] = omitted


def _value(value: Any) -> str:
    return _cut(json.dumps(value, ensure_ascii=False, sort_keys=True), VALUE_TEXT_MAX)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def write_apply_record(
    dynamodb: DynamoDBClient, table: str, record: dict[str, Any], *, retention_days: int
) -> str:
    return runlog.put_apply_record(dynamodb, table, record, retention_days=retention_days)
