"""Audit: every apply leaves a record in the log table (who, which commit, what, how it went).

The record's shape is the log table's (reconciler.runlog.put_apply_record), so `reconcile
logs` shows applies beside the executor's runs.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from datetime import datetime
from typing import Any

from reconciler import runlog
from reconciler.apply import ApplyResult


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


# A DynamoDB item holds at most 400 KB: a huge apply keeps its first changes and the total.
CHANGES_KEPT = 500
RESULT_TEXT_MAX = 300


def apply_record(
    result: ApplyResult,
    *,
    started: datetime,
    finished: datetime,
    who: str,
    sha: str,
    pr: int | None,
    error: str | None = None,
) -> dict[str, Any]:
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
                "result": (r.status if r.error is None else f"{r.status}: {r.error}")[
                    :RESULT_TEXT_MAX
                ],
            }
            for r in result.results[:CHANGES_KEPT]
        ],
        "duration_ms": int((finished - started).total_seconds() * 1000),
    }
    if len(result.results) > CHANGES_KEPT:
        record["changes_total"] = len(result.results)
    if pr is not None:
        record["pr_number"] = pr
    if error or result.first_error:
        record["error"] = error or result.first_error
    return record


def write_apply_record(
    dynamodb: Any, table: str, record: dict[str, Any], *, retention_days: int
) -> str:
    return runlog.put_apply_record(dynamodb, table, record, retention_days=retention_days)
