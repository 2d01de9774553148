"""How does `reconcile verify` read a week of 1,000 schedules? (issue 12)

On moto in process: 500 rules (1,000 schedules: a daily start and stop, in five time zones),
the run log filled with one item per firing for 7 days (~7,000 items), where a few firings are
left out (missed), recorded failed, or started 12 minutes late. Then `reconcile verify --since
7d` runs, with its real reading code, and the benchmark checks:

- the log is read with Query only (no Scan), and how many requests of each kind it took;
- every injected problem is found, and nothing else;
- the time it takes (on moto, so mostly moto's; against AWS the GetSchedule calls, 16 at a
  time, dominate).

Run: `python benchmarks/verify.py` (`--rules N` for another size); exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from reconciler import runlog
from reconciler.commands import verify as command
from reconciler.desired import build_desired
from reconciler.model import Rule
from reconciler.settings import load_settings
from reconciler.verify import expected_occurrences

ACCOUNT = "123456789012"
REGION = "eu-west-1"
GROUP = "ouroboros"
TABLE = "ouroboros-runs"
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
DAYS = 7
SETTINGS = f"""\
version: 1
region: {REGION}
schedule_group: {GROUP}
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: {TABLE}
"""


def rules(count: int) -> list[Rule]:
    return [
        Rule(
            name=f"team-{i:04d}",
            accounts=(ACCOUNT,),
            regions=(REGION,),
            targets=(("tag:Team", (f"team-{i:04d}",)),),
            start=f"cron({i % 60} {6 + i % 4} * * ? *)",
            stop=f"cron({i % 60} {18 + i % 4} * * ? *)",
            timezone=ZONES[i % len(ZONES)],
        )
        for i in range(count)
    ]


def deploy(count: int, settings_path: str) -> None:
    settings = load_settings(settings_path)
    state = build_desired(rules(count), settings, code_sha256="x", now=datetime.now(UTC))
    scheduler = boto3.client("scheduler", region_name=REGION)
    scheduler.create_schedule_group(Name=GROUP)
    for spec in state.schedules:
        scheduler.create_schedule(**spec.to_api())
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=TABLE, **runlog.TABLE_DEFINITION
    )
    boto3.client("sqs", region_name=REGION).create_queue(QueueName=settings.dead_letter_queue)


def fill_log(
    settings_path: str, since: datetime, until: datetime
) -> tuple[int, dict[str, set[tuple[str, str, str]]]]:
    """One run item per expected firing, less the injected problems (returned by bucket)."""
    counter = command.RequestCounter()
    deployed = command.read_deployed(load_settings(settings_path), counter)
    occurrences = [o for d in deployed for o in expected_occurrences(d, since, until)[0]]
    injected: dict[str, set[tuple[str, str, str]]] = {
        "missed": set(),
        "failed": set(),
        "late": set(),
    }
    items: list[dict[str, Any]] = []
    for n, occ in enumerate(sorted(occurrences, key=lambda o: (o.scheduled_time, o.rule))):
        key = (occ.rule, occ.action, occ.scheduled_time)
        if n % 97 == 0:
            injected["missed"].add(key)
            continue
        status, started = "ok", occ.scheduled_time
        if n % 89 == 0:
            injected["failed"].add(key)
            status = "failed"
        elif n % 83 == 0:
            injected["late"].add(key)
            started = runlog.iso_z(runlog.parse_instant(started) + timedelta(minutes=12))
        items.append(run_item(occ.rule, occ.action, occ.scheduled_time, status, started))
    write(items)
    return len(occurrences), injected


def run_item(rule: str, action: str, when: str, status: str, started: str) -> dict[str, Any]:
    return {
        **runlog.run_key(rule, when, action, ACCOUNT, REGION),
        **runlog.run_index(rule, when, action, ACCOUNT, REGION),
        "kind": "run",
        "rule": rule,
        "action": action,
        "account": ACCOUNT,
        "region": REGION,
        "scheduled_time": when,
        "status": status,
        "started_at": started,
        "matched": 3,
        "acted": ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"],
        "errors": [{"id": "", "code": "InternalError", "message": "x"}] if status != "ok" else [],
        "expires_at": 2**40,
    }


def write(items: list[dict[str, Any]]) -> None:
    client: Any = boto3.client("dynamodb", region_name=REGION)
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": runlog.to_item(i)}} for i in items[start : start + 25]]
        client.batch_write_item(RequestItems={TABLE: batch})


def found(document: dict[str, Any], bucket: str) -> set[tuple[str, str, str]]:
    return {(f["rule"], f["action"], f["scheduled_time"]) for f in document[bucket]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=500, help="rules (2 schedules each)")
    count = parser.parse_args().rules
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "testing")
    with tempfile.TemporaryDirectory() as tmp, mock_aws():
        settings_path = str(Path(tmp) / "ouroboros.yaml")
        Path(settings_path).write_text(SETTINGS)
        deploy(count, settings_path)
        # The clock a week and a day after the schedules were made, so all 7 days count.
        clock = datetime.now(UTC).replace(microsecond=0) + timedelta(days=DAYS + 1)
        since = clock - timedelta(days=DAYS)
        expected, injected = fill_log(settings_path, since, clock)
        stdout, stderr = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = command.run(settings_path=settings_path, since="7d", fmt="json", now=clock)
        elapsed = time.perf_counter() - started
    document = json.loads(stdout.getvalue())
    requests: dict[str, int] = document["requests"]
    schedules = 2 * count
    checks = {
        "exit code 2 (problems found)": code == 2,
        "no Scan": not any(name.endswith(".Scan") for name in requests),
        "every firing expected": document["expected"] == expected,
        "missed found exactly": found(document, "missed") == injected["missed"],
        "failed found exactly": found(document, "failed") == injected["failed"],
        "late found exactly": found(document, "late") == injected["late"],
        "one GetSchedule per schedule": requests.get("scheduler.GetSchedule") == schedules,
        "ListSchedules pages": requests.get("scheduler.ListSchedules")
        == math.ceil(schedules / 100),
    }
    print(
        f"{schedules} schedules, {DAYS} days: {expected} firings expected, "
        f"{document['ok']} ok, {len(document['missed'])} missed, "
        f"{len(document['failed'])} failed, {len(document['late'])} late"
    )
    print(
        f"verify took {elapsed:.2f} s on moto in process; requests: "
        + ", ".join(f"{k} {v}" for k, v in requests.items())
    )
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
