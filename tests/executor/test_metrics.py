"""executor/metrics.py: the Embedded Metric Format line, shape pinned."""

from __future__ import annotations

import json

from reconciler.executor import metrics

ARN = "arn:aws:scheduler:eu-west-1:123456789012:schedule/ouroboros/dev-stop"
SUMMARY = {
    "rule": "dev",
    "action": "stop",
    "scheduled_time": "2026-11-27T19:00:00Z",
    "execution_id": "e-1",
    "status": "partial",
    "duration_ms": 1234,
    "pairs": [
        {
            "account": "1",
            "region": "eu-west-1",
            "status": "partial",
            "acted": 3,
            "skipped": 1,
            "errors": 2,
        },
        {
            "account": "1",
            "region": "us-east-1",
            "status": "refused",
            "acted": 0,
            "skipped": 0,
            "errors": 0,
        },
    ],
}


def test_one_emf_document_per_firing() -> None:
    line = metrics.emf_line(SUMMARY, ARN, 1795000000000)
    assert "\n" not in line
    assert json.loads(line) == {
        "_aws": {
            "Timestamp": 1795000000000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Ouroboros",
                    "Dimensions": [["ScheduleGroup"], ["ScheduleGroup", "Rule", "Action"]],
                    "Metrics": [
                        {"Name": "Acted", "Unit": "Count"},
                        {"Name": "Skipped", "Unit": "Count"},
                        {"Name": "Failed", "Unit": "Count"},
                        {"Name": "Refused", "Unit": "Count"},
                        {"Name": "Duration", "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "ScheduleGroup": "ouroboros",
        "Rule": "dev",
        "Action": "stop",
        "Acted": 3,
        "Skipped": 1,
        "Failed": 2,
        "Refused": 1,
        "Duration": 1234,
        "Status": "partial",
        "ScheduledTime": "2026-11-27T19:00:00Z",
        "ExecutionId": "e-1",
    }


def test_schedule_group_from_the_arn() -> None:
    assert metrics.schedule_group(ARN) == "ouroboros"
    assert metrics.schedule_group("not an arn") == "-"
    assert metrics.schedule_group("arn:aws:scheduler:r:1:schedule//x") == "-"
