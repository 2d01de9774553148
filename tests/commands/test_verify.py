"""`reconcile verify` through the CLI: a deployment applied on moto, a seeded run log, the
dead-letter queue peeked and left as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from recon_support import ACCOUNT, LOG_TABLE, REGION, SETTINGS_YAML, create_roles

from reconciler import runlog
from reconciler.cli import cli
from reconciler.commands import verify
from reconciler.model import Settings
from reconciler.verify import Verdict

# The command's clock, months after the schedules were made (today, on moto): every schedule
# has existed for the whole window. 2027-03-28 is the day Europe/Berlin skips 02:00-03:00.
CLOCK = datetime(2027, 3, 29, 12, 0, tzinfo=UTC)
SINCE = "2027-03-27T00:00:00Z"
QUEUE = "ouroboros-dead-letters"

RULES = f"""\
version: 1
rules:
  - name: office
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 * * ? *)
    stop: cron(0 18 * * ? *)
  - name: night
    timezone: Europe/Berlin
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    stop: cron(30 2 * * ? *)
  - name: once
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: at(2027-03-28T10:00:00)
  - name: paused
    enabled: false
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 7 * * ? *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "rules.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(verify, "_now", lambda: CLOCK)
    with mock_aws():
        create_roles()
        assert reconcile("apply", "--yes").exit_code == 0
        yield tmp_path


def reconcile(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def put_run(rule: str, action: str, when: str, status: str = "ok", **extra: Any) -> None:
    item: dict[str, Any] = {
        **runlog.run_key(rule, when, action, ACCOUNT, REGION),
        **runlog.run_index(rule, when, action, ACCOUNT, REGION),
        "kind": "run",
        "rule": rule,
        "action": action,
        "account": ACCOUNT,
        "region": REGION,
        "scheduled_time": when,
        "status": status,
        "started_at": when,
        "expires_at": 2**40,
        **extra,
    }
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=LOG_TABLE, Item=runlog.to_item(item)
    )


def queue_url() -> str:
    sqs = boto3.client("sqs", region_name=REGION)
    return str(sqs.create_queue(QueueName=QUEUE)["QueueUrl"])


def seed() -> None:
    put_run("office", "start", "2027-03-27T08:00:00Z")
    # 2027-03-28 08:00 office start: no run at all (missed)
    put_run("office", "start", "2027-03-29T08:00:00Z", started_at="2027-03-29T08:20:00Z")
    put_run(
        "office",
        "stop",
        "2027-03-27T18:00:00Z",
        "failed",
        detail="1 error(s), first: Server.InsufficientInstanceCapacity: no capacity",
    )
    put_run("office", "stop", "2027-03-28T18:00:00Z")
    put_run("night", "stop", "2027-03-27T01:30:00Z")  # 02:30 CET
    put_run("night", "stop", "2027-03-29T00:30:00Z")  # 02:30 CEST; 03-28 has no 02:30
    put_run("once", "start", "2027-03-28T10:00:00Z")
    lost = {"rule": "office", "action": "start", "scheduled_time": "2027-03-28T08:00:00Z"}
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=queue_url(),
        MessageBody=json.dumps(lost),
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "AWS.Lambda.AccessDenied"}
        },
    )


def test_verify_finds_missed_failed_and_late_and_skips_dst_gap_and_disabled(
    project: Path,
) -> None:
    seed()
    result = reconcile("verify", "--since", SINCE, "--format", "json")
    assert result.exit_code == 2, result.output
    document = json.loads(result.stdout)
    assert {k: document[k] for k in ("expected", "ok", "missed", "failed", "late")} == {
        "expected": 8,
        "ok": 5,
        "missed": [
            {
                "rule": "office",
                "action": "start",
                "scheduled_time": "2027-03-28T08:00:00Z",
                "detail": "no run in the log; in the dead-letter queue (scheduler: "
                "AWS.Lambda.AccessDenied)",
            }
        ],
        "failed": [
            {
                "rule": "office",
                "action": "stop",
                "scheduled_time": "2027-03-27T18:00:00Z",
                "detail": f"failed in {ACCOUNT}/{REGION}: 1 error(s), first: "
                "Server.InsufficientInstanceCapacity: no capacity",
            }
        ],
        "late": [
            {
                "rule": "office",
                "action": "start",
                "scheduled_time": "2027-03-29T08:00:00Z",
                "detail": "first run started 20m00s after the scheduled time "
                "(2027-03-29T08:20:00Z)",
            }
        ],
    }
    assert "rule paused start: the schedule is DISABLED: no firing expected" in document["notes"]
    assert document["dead_letters"]["depth"] == 1


def test_verify_reads_the_log_with_query_only_and_reports_its_requests(project: Path) -> None:
    seed()
    result = reconcile("verify", "--since", SINCE, "--format", "json")
    requests = json.loads(result.stdout)["requests"]
    assert requests["dynamodb.Query"] == 3  # one per rule with a deployed schedule (3 rules)
    assert not any(name.endswith(".Scan") for name in requests)
    assert requests["scheduler.GetSchedule"] == 5
    assert result.stderr.startswith("requests: dynamodb.Query 3, ")


def test_verify_leaves_the_dead_letters_in_the_queue(project: Path) -> None:
    seed()
    reconcile("verify", "--since", SINCE)
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1


def test_verify_text_output(project: Path) -> None:
    seed()
    result = reconcile("verify", "--since", SINCE, "--rule", "office")
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "Firings from 2027-03-27T00:00:00Z to 2027-03-29T12:00:00Z (schedule group ouroboros): "
        "5 expected, 2 ok, 1 missed, 1 failed, 1 late",
        "  missed  2027-03-28T08:00:00Z  office start: no run in the log; in the dead-letter "
        "queue (scheduler: AWS.Lambda.AccessDenied)",
        f"  failed  2027-03-27T18:00:00Z  office stop: failed in {ACCOUNT}/{REGION}: 1 error(s), "
        "first: Server.InsufficientInstanceCapacity: no capacity",
        "  late    2027-03-29T08:00:00Z  office start: first run started 20m00s after the "
        "scheduled time (2027-03-29T08:20:00Z)",
        f"Dead-letter queue {QUEUE}: 1 message(s), 1 peeked (not consumed)",
        "  dead    office start 2027-03-28T08:00:00Z (scheduler): AWS.Lambda.AccessDenied",
    ]


def test_verify_all_ok_exits_zero(project: Path) -> None:
    put_run("once", "start", "2027-03-28T10:00:00Z")
    queue_url()
    result = reconcile("verify", "--since", SINCE, "--rule", "once")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Firings from 2027-03-27T00:00:00Z to 2027-03-29T12:00:00Z (schedule group ouroboros): "
        "1 expected, 1 ok, 0 missed, 0 failed, 0 late",
        f"Dead-letter queue {QUEUE}: empty",
    ]


def test_verify_without_a_log_table_is_a_one_line_error(project: Path) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_table(TableName=LOG_TABLE)
    result = reconcile("verify", "--since", SINCE)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: log table {LOG_TABLE} not found in {REGION}: `reconcile apply` creates it; if "
        "it exists elsewhere, check log_table and region in ouroboros.yaml"
    )


def test_verify_with_since_after_until_is_a_usage_error(project: Path) -> None:
    result = reconcile("verify", "--since", "1h", "--until", "2h")
    assert result.exit_code == 1
    assert "is after --until" in result.stderr


def test_verify_unknown_rule_warns(project: Path) -> None:
    result = reconcile("verify", "--since", SINCE, "--rule", "nosuch")
    assert result.exit_code == 0
    assert "warning: no deployed schedule for rule nosuch: nothing to verify for it" in (
        result.stderr
    )


def test_verify_without_a_deployment_says_apply_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        result = reconcile("verify")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: schedule group ouroboros not found in {REGION}: nothing is deployed there; "
        "run `reconcile apply` first, or check region and schedule_group"
    )


def test_text_shows_the_first_ten_notes_and_counts_the_rest() -> None:
    notes = tuple(
        f"rule r{i} start: the schedule is DISABLED: no firing expected" for i in range(12)
    )
    verdict = Verdict(
        since=CLOCK, until=CLOCK, expected=0, ok=0, missed=(), failed=(), late=(), notes=notes
    )
    lines = verify.render_text(verdict, load_settings_text()).splitlines()
    assert lines[1:] == [
        *(f"note: {n}" for n in notes[:10]),
        "note: 2 more notes (--format json lists them all)",
    ]


def load_settings_text() -> Settings:
    return Settings(
        region=REGION,
        schedule_group="ouroboros",
        function_name="ouroboros-executor",
        executor_role_arn=f"arn:aws:iam::{ACCOUNT}:role/ouroboros-executor",
        scheduler_role_arn=f"arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler",
        target_role_name="ouroboros-target",
        log_table=LOG_TABLE,
    )
