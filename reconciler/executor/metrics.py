"""One CloudWatch Embedded Metric Format line per firing (issue 12).

Printed to stdout as a single JSON object, which CloudWatch Logs turns into metrics in the
namespace "Ouroboros" with no PutMetricData call (and no permission for one): a team alarms on
`Failed > 0` for its schedule group without parsing logs. Two dimension sets: the schedule
group alone (what an alarm watches) and group, rule and action (what a dashboard splits by).
Skipped counts instances left alone on purpose; Failed, instances (or whole account/region
pairs) an error stopped; Refused, pairs over max_instances that acted on none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

NAMESPACE = "Ouroboros"
METRICS = (
    ("Acted", "Count"),
    ("Skipped", "Count"),
    ("Failed", "Count"),
    ("Refused", "Count"),
    ("Duration", "Milliseconds"),
)


def schedule_group(schedule_arn: str) -> str:
    """The group in arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>, or "-"."""
    parts = schedule_arn.split(":")[-1].split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "schedule" and parts[1] else "-"


def emf_line(summary: Mapping[str, Any], schedule_arn: str, timestamp_ms: int) -> str:
    """The EMF document for one firing's summary (handler.execute's)."""
    pairs: Sequence[Mapping[str, Any]] = summary.get("pairs", [])
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["ScheduleGroup"], ["ScheduleGroup", "Rule", "Action"]],
                    "Metrics": [{"Name": name, "Unit": unit} for name, unit in METRICS],
                }
            ],
        },
        "ScheduleGroup": schedule_group(schedule_arn),
        "Rule": summary["rule"],
        "Action": summary["action"],
        "Acted": sum(int(p.get("acted", 0)) for p in pairs),
        "Skipped": sum(int(p.get("skipped", 0)) for p in pairs),
        "Failed": sum(int(p.get("errors", 0)) for p in pairs),
        "Refused": sum(1 for p in pairs if p.get("status") == "refused"),
        "Duration": int(summary.get("duration_ms", 0)),
        "Status": summary["status"],
        "ScheduledTime": summary["scheduled_time"],
        "ExecutionId": summary["execution_id"],
    }
    return json.dumps(document, separators=(",", ":"))
