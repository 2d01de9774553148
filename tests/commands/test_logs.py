"""`reconcile logs` through the CLI, against moto's DynamoDB."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from reconciler import logview, runlog
from reconciler.cli import cli
from reconciler.commands import logs

TABLE = "ouroboros-runs"
FAR = 2**40  # expires_at far in the future
RANGE = ("--since", "2026-11-26T00:00:00Z", "--until", "2026-11-28T00:00:00Z")

SETTINGS = f"""\
version: 1
region: eu-west-1
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::111111111111:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::111111111111:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: {TABLE}
"""


# The command's clock: after every seeded entry, so tests do not depend on today's date.
CLOCK = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.fixture
def ddb(ddb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shared log table, seen from a project whose settings name it."""
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logs, "_now", lambda: CLOCK)
    return ddb


def reconcile(*args: str, color: bool = False) -> Result:
    return CliRunner().invoke(cli, ["logs", *args], catch_exceptions=False, color=color)


def put_run(client: Any, rule: str, when: str, **fields: Any) -> None:
    action = fields.get("action", "stop")
    account = fields.get("account", "111111111111")
    region = fields.get("region", "eu-west-1")
    item: dict[str, Any] = {
        **runlog.run_key(rule, when, action, account, region),
        **runlog.run_index(rule, when, action, account, region),
        "kind": "run",
        "rule": rule,
        "action": action,
        "account": account,
        "region": region,
        "scheduled_time": when,
        "schedule_arn": f"arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/{rule}-{action}",
        "execution_id": "e-" + when,
        "status": "ok",
        "matched": 0,
        "acted": [],
        "skipped": [],
        "errors": [],
        "duration_ms": 120,
        "attempts": 1,
        "started_at": when,
        "expires_at": FAR,
        **fields,
    }
    client.put_item(TableName=TABLE, Item=runlog.to_item(item))


def put_apply(client: Any, started_at: str, **fields: Any) -> None:
    record: dict[str, Any] = {
        "started_at": started_at,
        "finished_at": started_at,
        "actor": "alice",
        "commit": "0f3c2a9e5b7d1c4e8a6f",
        "outcome": "ok",
        "summary": "2 created, 1 updated, 0 deleted",
        "changes": [],
        "duration_ms": 3100,
        **fields,
    }
    runlog.put_apply_record(client, TABLE, record)


def seed(client: Any) -> None:
    put_apply(client, "2026-11-26T16:02:11Z", pr_number=42)
    put_run(
        client,
        "dev-office-hours",
        "2026-11-26T18:00:00Z",
        matched=5,
        acted=["i-0a", "i-0b", "i-0c"],
        acted_count=3,
        skipped=[
            {"id": "i-0d", "reason": "in-target-state", "detail": "already stopped"},
            {"id": "i-0e", "reason": "autoscaling", "detail": "member of Auto Scaling group web"},
        ],
        skipped_count=2,
    )
    put_run(
        client,
        "dev-office-hours",
        "2026-11-26T18:00:00Z",
        account="222222222222",
        status="partial",
        matched=2,
        acted=["i-1a"],
        acted_count=1,
        errors=[{"id": "i-1b", "code": "IncorrectInstanceState", "message": "not running"}],
        error_count=1,
        detail="1 error(s), first: IncorrectInstanceState: not running",
    )
    dup = runlog.duplicate_key(
        "dev-office-hours", "2026-11-26T18:00:00Z", "stop", "111111111111", "eu-west-1", "x"
    )
    put_run(
        client,
        "dev-office-hours",
        "2026-11-26T18:00:00Z",
        status="duplicate",
        detail="repeat delivery: execution e-2026-1 already finished this occurrence (ok)",
        attempts=0,
        **dup,
    )
    put_run(
        client,
        "batch",
        "2026-11-27T07:00:00Z",
        action="start",
        status="refused",
        matched=140,
        would_act=140,
        detail="140 instances to start, more than max_instances (100): acted on none",
    )


def test_the_table(ddb: Any) -> None:
    seed(ddb)
    result = reconcile(*RANGE)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "TIME (UTC)           RULE              ACTION  ACCOUNT/REGION          STATUS     MATCHED  ACTED  SKIPPED  ERRORS  DETAIL\n"
        "2026-11-26 16:02:11  (apply)           apply   -                       ok               -      -        -       -  2 created, 1 updated, 0 deleted; by alice at 0f3c2a9e5b7d (PR #42)\n"
        "2026-11-26 18:00:00  dev-office-hours  stop    111111111111/eu-west-1  ok               5      3        2       0  skipped: 1 Auto Scaling, 1 already stopped\n"
        "2026-11-26 18:00:00  dev-office-hours  stop    111111111111/eu-west-1  duplicate        0      0        0       0  repeat delivery: execution e-2026-1 already finished this occurrence (ok)\n"
        "2026-11-26 18:00:00  dev-office-hours  stop    222222222222/eu-west-1  partial          2      1        0       1  1 error(s), first: IncorrectInstanceState: not running\n"
        "2026-11-27 07:00:00  batch             start   111111111111/eu-west-1  refused        140      0        0       0  140 instances to start, more than max_instances (100): acted on none\n"
        "5 entries: 1 duplicate, 2 ok, 1 partial, 1 refused\n"
    )
    assert result.stderr == ""


def test_one_rule_only_and_no_apply_records(ddb: Any) -> None:
    seed(ddb)
    result = reconcile("--rule", "batch", *RANGE)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("2026-11-27 07:00:00  batch  start")


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["ok"], [("apply", "ok"), ("run", "ok")]),
        (["duplicate"], [("run", "duplicate")]),
        (["failed", "partial"], [("run", "partial")]),
    ],
)
def test_status_filter(ddb: Any, statuses: list[str], expected: list[tuple[str, str]]) -> None:
    seed(ddb)
    args = [a for s in statuses for a in ("--status", s)]
    result = reconcile(*args, *RANGE, "--format", "json")
    entries = json.loads(result.stdout)
    assert [(e["kind"], logview.status_of(e)) for e in entries] == expected


def test_json_for_scripts(ddb: Any) -> None:
    seed(ddb)
    result = reconcile(*RANGE, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    entries = json.loads(result.stdout)
    assert [e["time"] for e in entries] == [
        "2026-11-26T16:02:11Z",
        "2026-11-26T18:00:00Z",
        "2026-11-26T18:00:00Z",
        "2026-11-26T18:00:00Z",
        "2026-11-27T07:00:00Z",
    ]
    run = entries[1]
    assert run["acted"] == ["i-0a", "i-0b", "i-0c"]
    assert run["skipped"][0] == {
        "id": "i-0d",
        "reason": "in-target-state",
        "detail": "already stopped",
    }
    assert "pk" not in run
    assert "gsi1sk" not in run
    apply = entries[0]
    assert (apply["kind"], apply["outcome"], apply["pr_number"]) == ("apply", "ok", 42)


def test_nothing_found_is_a_message_on_stderr(ddb: Any) -> None:
    text = reconcile(*RANGE)
    assert text.exit_code == 0
    assert text.stdout == ""
    assert text.stderr == (
        "no runs or apply records between 2026-11-26T00:00:00Z and 2026-11-28T00:00:00Z "
        "in table ouroboros-runs (eu-west-1)\n"
    )
    as_json = reconcile(*RANGE, "--format", "json", "--rule", "dev", "--status", "failed")
    assert as_json.stdout == "[]\n"
    assert "no runs of rule dev with status failed between" in as_json.stderr


def test_durations_count_back_from_now(ddb: Any) -> None:
    now = CLOCK
    put_run(ddb, "recent", runlog.iso_z(now - timedelta(minutes=10)))
    put_run(ddb, "older", runlog.iso_z(now - timedelta(hours=2)))
    result = reconcile("--since", "30m", "--format", "json")
    assert [e["rule"] for e in json.loads(result.stdout)] == ["recent"]
    result = reconcile("--since", "3h", "--until", "1h", "--format", "json")
    assert [e["rule"] for e in json.loads(result.stdout)] == ["older"]


def test_logs_offers_no_rules_option(ddb: Any) -> None:
    # It never read the rules: --rules was accepted and ignored.
    result = CliRunner().invoke(cli, ["logs", "--rules", "schedules"])
    assert result.exit_code == 1
    assert "Error: No such option '--rules'. Did you mean '--rule'?" in result.stderr


def test_since_takes_bare_seconds_like_lock_timeout(ddb: Any) -> None:
    put_run(ddb, "recent", runlog.iso_z(CLOCK - timedelta(seconds=30)))
    result = reconcile("--since", "60", "--format", "json")
    assert [e["rule"] for e in json.loads(result.stdout)] == ["recent"]


NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", "2026-11-27T11:30:00Z"),
        ("24h", "2026-11-26T12:00:00Z"),
        ("7d", "2026-11-20T12:00:00Z"),
        ("2w", "2026-11-13T12:00:00Z"),
        ("90s", "2026-11-27T11:58:30Z"),
        (" 5 m ", "2026-11-27T11:55:00Z"),
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("2026-11-01T08:00:00+01:00", "2026-11-01T07:00:00Z"),
        ("2026-11-01T08:00:00Z", "2026-11-01T08:00:00Z"),
    ],
)
def test_parse_when(text: str, expected: str) -> None:
    assert runlog.iso_z(logs.parse_when(text, NOW, "--since")) == expected


def test_reads_are_queries_never_scans(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(ddb)
    calls: list[tuple[str, dict[str, Any]]] = []
    real = logs.client_in

    def recording(region: str, service: str) -> Any:
        client = real(region, service)
        client.meta.events.register(
            "provide-client-params.dynamodb",
            lambda params, event_name, **_: calls.append((event_name.split(".")[-1], params)),
        )
        return client

    monkeypatch.setattr(logs, "client_in", recording)
    reconcile("--rule", "dev-office-hours", *RANGE)
    assert [(op, p.get("IndexName")) for op, p in calls] == [("Query", None)]
    calls.clear()
    reconcile(*RANGE)  # three UTC days: 26th, 27th and the 28th at 00:00
    assert [(op, p.get("IndexName")) for op, p in calls] == [("Query", "by-day")] * 3
    assert [p["ExpressionAttributeValues"][":pk"]["S"] for _, p in calls] == [
        "DAY#2026-11-26",
        "DAY#2026-11-27",
        "DAY#2026-11-28",
    ]


def test_the_apply_lock_is_not_an_entry(ddb: Any) -> None:
    ddb.put_item(
        TableName=TABLE,
        Item=runlog.to_item(
            {"pk": runlog.LOCK_PK, "sk": runlog.LOCK_SK, "owner": "bob", "expires_at": FAR}
        ),
    )
    put_apply(ddb, "2026-11-26T10:00:00Z")
    entries = json.loads(reconcile(*RANGE, "--format", "json").stdout)
    assert [e["kind"] for e in entries] == ["apply"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--since", "3 fortnights"],
            "error: --since '3 fortnights': give a duration such as 30m, 24h or 7d, or an ISO 8601 time such as 2026-11-27T08:00:00Z\n",
        ),
        (
            ["--since", "1h", "--until", "2d"],
            "error: --since (",
        ),
        (
            ["--since", "10000000d"],
            "error: --since '10000000d' reaches back before the year 1: give a shorter duration\n",
        ),
        (
            ["--until", "9999999999w"],
            "error: --until '9999999999w' reaches back before the year 1: give a shorter duration\n",
        ),
        (
            ["--since", "9999-12-31T23:59:59-05:00"],
            "error: --since '9999-12-31T23:59:59-05:00': give a duration such as 30m, 24h or 7d, or an ISO 8601 time such as 2026-11-27T08:00:00Z\n",
        ),
        (
            ["--rule", "Dev_Boxes"],
            "error: --rule: 'Dev_Boxes' is not a valid rule name: use 1-40 lower-case letters, digits and hyphens, starting and ending with a letter or digit\n",
        ),
    ],
)
def test_bad_options_exit_1(ddb: Any, args: list[str], message: str) -> None:
    result = reconcile(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.output


def test_a_missing_table_exits_1_with_advice(ddb: Any) -> None:
    ddb.delete_table(TableName=TABLE)
    result = reconcile()
    assert result.exit_code == 1
    assert result.stderr == (
        "error: log table ouroboros-runs not found in eu-west-1: `reconcile apply` creates it; "
        "if it exists elsewhere, check log_table and region in ouroboros.yaml\n"
    )


def test_no_credentials_exits_1_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = reconcile()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no AWS credentials found: set AWS_PROFILE")


def test_a_missing_settings_file_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = reconcile()
    assert result.exit_code == 1
    assert result.stderr.startswith("error: settings file ouroboros.yaml not found")


def test_a_long_range_is_clamped_to_the_retention(ddb: Any) -> None:
    result = reconcile("--since", "2020-01-01", "--until", "2026-11-28T00:00:00Z")
    assert result.exit_code == 0
    assert result.stderr.startswith("note: the log keeps 90 days; reading from ")


def test_a_range_into_the_future_stops_a_day_after_now(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    days: list[str] = []
    real = runlog.query_range

    def recording(client: Any, table: str, since: datetime, until: datetime) -> Any:
        days.append(f"{since.date()}..{until.date()}")
        return real(client, table, since, until)

    monkeypatch.setattr(runlog, "query_range", recording)
    result = reconcile("--since", "2026-11-27T00:00:00Z", "--until", "9999-12-31T00:00:00Z")
    assert result.exit_code == 0
    assert days == ["2026-11-27..2026-11-29"]  # not one query per day until the year 9999


def test_colour_on_a_terminal_only(ddb: Any) -> None:
    seed(ddb)
    entries = json.loads(reconcile(*RANGE, "--format", "json").stdout)
    coloured = logview.render_text(entries, colour=True)
    assert "\x1b[32m\x1b[22mok" in coloured  # green ok
    assert "\x1b[31m" not in coloured  # nothing failed
    assert "\x1b[" not in logview.render_text(entries)


def test_a_terminal_width_cuts_the_detail_column(ddb: Any) -> None:
    seed(ddb)
    entries = json.loads(reconcile(*RANGE, "--format", "json").stdout)
    lines = logview.render_text(entries, width=120).splitlines()
    assert all(len(line) <= 120 for line in lines)
    assert lines[1].endswith("…")


def test_an_unfinished_run_reads_as_failed(ddb: Any) -> None:
    put_run(ddb, "dev", "2026-11-26T18:00:00Z", status="running", lease_until=1)
    result = reconcile(*RANGE)
    assert " failed " in result.stdout.splitlines()[1]
    assert "Unfinished: the executor stopped before recording a result" in result.stdout


def test_runs_written_by_the_executor_and_an_apply_record_together(
    ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.executor import handler
    from reconciler.executor.trust import PLACEHOLDERS

    ec2 = boto3.client("ec2", region_name="eu-west-1")
    ec2.run_instances(
        ImageId="ami-12c6146b",
        MinCount=2,
        MaxCount=2,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Team", "Value": "web"}]}],
    )
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", TABLE)
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", "ouroboros")
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ouroboros-executor")  # no context: Lambda's
    event = {
        "version": 1,
        "rule": "web-nightly",
        "action": "stop",
        "hibernate": False,
        "accounts": ["123456789012"],
        "regions": ["eu-west-1"],
        "targets": {"tag:Team": ["web"]},
        "max_instances": 10,
        "role_name": "ouroboros-target",
        "schedule_arn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/ouroboros/web-nightly-stop",
        "scheduled_time": "2026-11-27T22:00:00Z",
        "execution_id": "6f1e1f52-9b63-4f1c-9d0e-0c4f3e0d7a11",
    }
    scheduler = boto3.client("scheduler", region_name="eu-west-1")
    scheduler.create_schedule_group(Name="ouroboros")
    scheduler.create_schedule(
        Name="web-nightly-stop",
        GroupName="ouroboros",
        ScheduleExpression="cron(0 22 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:ouroboros-executor",
            "RoleArn": "arn:aws:iam::123456789012:role/ouroboros-scheduler",
            "Input": json.dumps({**event, **PLACEHOLDERS}),
        },
    )
    fired = datetime(2026, 11, 27, 22, 0, 20, tzinfo=UTC)
    tuning = dataclasses.replace(handler.TUNING, now=lambda: fired)
    handler.handle(event, None, tuning)
    handler.handle({**event, "execution_id": "9d2a2b8c-1111-4222-8333-444455556666"}, None, tuning)
    forged = {
        **event,
        "execution_id": "0badc0de-0000-4000-8000-000000000000",
        "max_instances": 1000,
    }
    handler.handle(forged, None, tuning)
    put_apply(ddb, "2026-11-27T09:15:00Z")
    result = reconcile(*RANGE)
    rows = [line.split()[:6] for line in result.stdout.splitlines()[1:-1]]
    assert rows == [
        ["2026-11-27", "09:15:00", "(apply)", "apply", "-", "ok"],
        ["2026-11-27", "22:00:00", "web-nightly", "stop", "-/-", "refused"],
        ["2026-11-27", "22:00:00", "web-nightly", "stop", "123456789012/eu-west-1", "ok"],
        ["2026-11-27", "22:00:00", "web-nightly", "stop", "123456789012/eu-west-1", "duplicate"],
    ]
    assert "event refused: the event differs from the schedule's input in: max_instances" in (
        result.stdout
    )


def test_a_retried_run_names_what_the_earlier_attempts_hit() -> None:
    entry = {
        "kind": "run",
        "rule": "dev",
        "action": "stop",
        "account": "222222222222",
        "region": "eu-west-1",
        "scheduled_time": "2026-11-27T18:00:00Z",
        "status": "ok",
        "matched": 2,
        "acted_count": 2,
        "attempts": 3,
        "history": [
            {"attempt": 1, "status": "failed", "errors": [{"id": "", "code": "AccessDenied"}]},
            {"attempt": 2, "status": "unfinished", "errors": []},
        ],
    }
    assert (
        logview.render_text([entry])
        .splitlines()[1]
        .endswith("attempt 3 (1: failed AccessDenied; 2: unfinished)")
    )


def test_the_hibernated_count_survives_a_cut_list() -> None:
    entry = {
        "kind": "run",
        "rule": "dev",
        "action": "stop",
        "account": "111111111111",
        "region": "eu-west-1",
        "scheduled_time": "2026-11-27T18:00:00Z",
        "status": "ok",
        "acted_count": 1500,
        "hibernated": ["i-0a"],  # cut to fit the item; the count is exact
        "hibernated_count": 1200,
    }
    assert logview.render_text([entry]).splitlines()[1].endswith("  1200 hibernated")
