"""`reconcile logs` names the DB instances, clusters and groups a non-EC2 run acted on."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import logview


def _entry(**over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "run",
        "rule": "dev-databases",
        "action": "stop",
        "account": "123456789012",
        "region": "eu-west-1",
        "status": "ok",
        "scheduled_time": "2026-11-27T19:00:00Z",
        "matched": 2,
        "acted": ["dev-db-1", "dev-db-2"],
        "acted_count": 2,
        "skipped": [],
        "errors": [],
    }
    entry.update(over)
    return entry


@pytest.mark.parametrize(
    ("over", "detail"),
    [
        ({"resource": "rds"}, "rds dev-db-1, dev-db-2"),
        (
            {"resource": "asg", "acted": ["a", "b", "c", "d"], "acted_count": 6},
            "asg a, b, c (+3 more)",
        ),
        (
            {
                "resource": "aurora",
                "acted": ["dev-aurora"],
                "acted_count": 1,
                "skipped": [
                    {"id": "x", "reason": "global-database", "detail": "..."},
                    {"id": "y", "reason": "status", "detail": "..."},
                ],
            },
            "aurora dev-aurora; skipped: 1 global database, 1 busy",
        ),
        ({"acted": ["i-0abc"], "acted_count": 1}, ""),  # EC2 rows are as they were
    ],
)
def test_the_detail_names_what_a_non_ec2_run_acted_on(over: dict[str, Any], detail: str) -> None:
    text = logview.render_text([_entry(**over)])
    row = text.splitlines()[1]
    assert row.rstrip().endswith(detail) if detail else row.rstrip().endswith("0")


@pytest.mark.parametrize(
    ("resource", "action", "words"),
    [
        ("rds", "start", "already available"),
        ("aurora", "start", "already available"),
        ("asg", "stop", "already at zero"),
        ("rds", "stop", "already stopped"),
        (None, "start", "already running"),
    ],
)
def test_already_in_state_is_said_in_each_kinds_words(
    resource: str | None, action: str, words: str
) -> None:
    skip = {"id": "x", "reason": "in-target-state", "detail": "..."}
    entry = _entry(action=action, acted=[], acted_count=0, skipped=[skip])
    if resource:
        entry["resource"] = resource
    assert logview.render_text([entry]).splitlines()[1].rstrip().endswith(f"1 {words}")
