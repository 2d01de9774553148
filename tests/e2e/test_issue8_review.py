"""Issue 8 as merged, tried end to end through the CLI: the gaps a review found.

Each test failed on main after the merge of issue 8 (9ef2215) and passes with its fix.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from recon_support import ACCOUNT, GROUP, REGION, SETTINGS_YAML

from reconciler.cli import cli

RULES = f"""\
version: 1
rules:
  - name: dev
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    stop: cron(0 22 * * ? *)
"""

# What a terminal acts on: ESC (an OSC title sequence ended by BEL), the C1 CSI, and a
# right-to-left override. click strips only complete ANSI colour codes off a terminal.
HOSTILE = "dev\x1b]0;pwned\x07\x9b31m\u202e"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
REGIONS_11 = (
    [f"eu-west-{n}" for n in range(1, 4)]
    + [f"us-east-{n}" for n in range(1, 3)]
    + [
        "us-west-1",
        "us-west-2",
        "eu-central-1",
        "eu-north-1",
        "ap-south-1",
        "sa-east-1",
    ]
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reconcile(*args: str, stdin: str | None = None) -> Result:
    # color=True: click must not strip anything, the test sees what a terminal would get.
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False, color=True)


def scheduler(endpoint: str) -> Any:
    return boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)


def edit_live_input(endpoint: str, name: str, **changes: Any) -> None:
    """Someone edits a deployed schedule's Input in the console."""
    live = scheduler(endpoint).get_schedule(Name=name, GroupName=GROUP)
    event = json.loads(live["Target"]["Input"])
    event.update(changes)
    target = {**live["Target"], "Input": json.dumps(event, ensure_ascii=False)}
    scheduler(endpoint).update_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=live["ScheduleExpression"],
        ScheduleExpressionTimezone=live["ScheduleExpressionTimezone"],
        FlexibleTimeWindow=live["FlexibleTimeWindow"],
        Target=target,
        Description=live["Description"],
    )


# Item 18: control characters are escaped in every message, not only in the loader's.


def test_an_error_quoting_a_settings_path_escapes_its_control_characters(project: Path) -> None:
    result = reconcile("validate", "--settings", f"{HOSTILE}.yaml")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: settings file dev\\x1b]0;pwned\\x07\\x9b31m\\u202e.yaml not found: fix the "
        "--settings path, or leave --settings out to check the rules alone\n"
    )


def test_a_multi_line_error_keeps_its_line_breaks(project: Path) -> None:
    (project / "ouroboros.yaml").write_text(SETTINGS_YAML.replace("version: 1", "version: 7"))
    result = reconcile("plan", "--settings", "ouroboros.yaml")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ouroboros.yaml has 1 problem:\nouroboros.yaml:1:")


def test_a_usage_error_quoting_an_option_escapes_its_control_characters(project: Path) -> None:
    result = reconcile("plan", f"--{HOSTILE}")
    assert result.exit_code == 1
    assert not any(c in result.output for c in RAW), repr(result.output)
    assert "Error: No such option '--dev\\x1b]0;pwned\\x07\\x9b31m\\u202e'.\n" in result.stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_a_live_input_with_control_characters_is_shown_escaped(
    project: Path, endpoint: str, fmt: str
) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    edit_live_input(endpoint, "dev-stop", targets={"tag:Environment": [HOSTILE]}, **{HOSTILE: 1})
    result = reconcile("plan", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert not any(c in result.stdout for c in RAW), repr(result.stdout)
    if fmt == "json":  # still the same document once parsed
        diff = json.loads(result.stdout)["changes"][0]["diff"]
        assert diff[0]["before"] == {"tag:Environment": [HOSTILE]}
        assert diff[1]["field"] == f"Target.Input.{HOSTILE}"
    else:
        assert '["dev\\u001b]0;pwned\\u0007\\x9b31m\\u202e"]' in result.stdout
        assert "Target.Input.dev\\x1b]0;pwned\\x07\\x9b31m\\u202e" in result.stdout


# Item 8 (and 18): a forged event is refused and logged; what it carried must not reach a
# terminal raw through `reconcile logs`, and a schedule ARN AWS could never issue is refused
# from the event alone.

FORGED_EVENT = {
    "version": 1,
    "rule": "web",
    "action": "stop",
    "hibernate": False,
    "accounts": [ACCOUNT],
    "regions": [REGION],
    "targets": {"tag:Team": ["web"]},
    "max_instances": 10,
    "role_name": "ouroboros-target",
    "schedule_arn": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/web-stop",
    "scheduled_time": "2026-11-27T22:00:00Z",
    "execution_id": f"id-{HOSTILE}",
}


@pytest.fixture
def executor_env(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto import mock_aws

    from reconciler import runlog
    from reconciler.commands import logs

    monkeypatch.setattr(logs, "_now", lambda: datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", "ouroboros-runs")
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ouroboros-executor")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName="ouroboros-runs", **runlog.TABLE_DEFINITION)
        yield client


def handle_at(event: dict[str, Any], when: datetime) -> dict[str, Any]:
    from reconciler.executor import handler

    tuning = dataclasses.replace(handler.TUNING, now=lambda: when)
    return handler.handle(event, None, tuning)


def test_reconcile_logs_escapes_what_a_forged_event_carried(executor_env: Any) -> None:
    when = datetime(2026, 11, 27, 22, 0, 20, tzinfo=UTC)
    arn = f"{FORGED_EVENT['schedule_arn']}{HOSTILE}"
    assert handle_at({**FORGED_EVENT, "schedule_arn": arn}, when)["status"] == "refused"
    assert handle_at({**FORGED_EVENT, "role_name": "admin"}, when)["status"] == "refused"
    shown = reconcile("logs", "--since", "2026-11-27T00:00:00Z")
    assert shown.exit_code == 0, shown.output
    assert "event refused: role_name: 'admin' is not this executor's target role" in shown.stdout
    assert not any(c in shown.stdout for c in RAW), repr(shown.stdout)


def test_reconcile_logs_escapes_control_characters_in_any_entry(executor_env: Any) -> None:
    from reconciler import runlog

    runlog.put_apply_record(
        executor_env,
        "ouroboros-runs",
        {
            "started_at": "2026-11-27T09:15:00Z",
            "finished_at": "2026-11-27T09:15:03Z",
            "actor": f"mallory{HOSTILE}",
            "commit": "0f3c2a9e5b7d",
            "outcome": "failed",
            "summary": "0 created, 0 updated, 0 deleted",
            "error": f"boom{HOSTILE}",
            "changes": [],
            "duration_ms": 3100,
        },
    )
    shown = reconcile("logs", "--since", "2026-11-27T00:00:00Z")
    assert shown.exit_code == 0, shown.output
    assert "by mallorydev\\x1b]0;pwned\\x07\\x9b31m\\u202e at 0f3c2a9e5b7d" in shown.stdout
    assert not any(c in shown.stdout for c in RAW), repr(shown.stdout)


def test_a_schedule_arn_aws_could_not_issue_is_refused_before_any_aws_call(
    executor_env: Any,
) -> None:
    from reconciler.executor.event import EventRefused, parse_event

    arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{GROUP}/web-stop{HOSTILE}"
    with pytest.raises(EventRefused) as caught:
        parse_event({**FORGED_EVENT, "schedule_arn": arn})
    assert caught.value.problems == [
        f"schedule_arn: {arn!r} is not a schedule ARN such as "
        "arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop"
    ]


# Item 2 (and 3): the mass-delete rail judges a saved plan by its managed_schedules, which no
# fingerprint covered: raised by hand, a mass delete applied without --allow-mass-delete.

THREE_RULES = RULES + "".join(
    f"""\
  - name: {name}
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    stop: cron(0 22 * * ? *)
"""
    for name in ("web", "db")
)


def test_a_saved_plan_cannot_slip_a_mass_delete_past_the_rail(project: Path, endpoint: str) -> None:
    (project / "ouroboros.yaml").write_text(SETTINGS_YAML + "max_delete_count: 1\n")
    (project / "schedules" / "dev.yaml").write_text(THREE_RULES)
    assert reconcile("apply", "--yes").exit_code == 0
    (project / "schedules" / "dev.yaml").write_text(RULES)  # 2 of 3 schedules go
    assert reconcile("plan", "--out", "plan.json").exit_code == 0
    plan = project / "plan.json"
    refused = reconcile("apply", "plan.json", "--yes")
    assert refused.exit_code == 1
    assert "refusing to apply: the plan deletes 2 of the 3 managed schedules" in refused.stderr
    doc = json.loads(plan.read_text())
    doc["managed_schedules"] = 100
    plan.write_text(json.dumps(doc))
    edited = reconcile("apply", "plan.json", "--yes")
    assert edited.exit_code == 1
    assert edited.stderr == (
        "error: plan.json: its managed_schedules is 100, but its live resources hold 3 "
        "schedules; refusing to apply it: make a new plan with `reconcile plan --out FILE`\n"
    )
    assert len(scheduler(endpoint).list_schedules(GroupName=GROUP)["Schedules"]) == 3


# Item 14: every AWS_ENDPOINT_URL botocore cannot use is exit 1 with one line, not a crash.


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://localhost:abc", "Port could not be cast to integer value as 'abc'"),
        ("http://localhost:99999", "Port out of range 0-65535"),
    ],
)
def test_an_endpoint_url_python_cannot_parse_is_exit_1_with_one_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", value)
    result = reconcile("plan")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: AWS_ENDPOINT_URL={value} is not a URL ({why}): give one such as "
        "http://localhost:4566, or unset it to use AWS's own endpoints\n"
    )


# Item 2: a saved plan's settings pass the settings file's own checks, not only its types.


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_delete_fraction", 7, "max_delete_fraction is 7.0; it must be from 0 to 1"),
        ("max_delete_count", -5, "max_delete_count is -5; it must be at least 0"),
        ("log_retention_days", 0, "log_retention_days is 0; it must be from 1 to 3650"),
        (
            "organization_id",
            "anything",
            "organization_id: 'anything' is not an AWS Organizations id: o- and 10-32 lower-case "
            "letters and digits (`aws organizations describe-organization` shows it)",
        ),
        ("region", "mars-1", "region: 'mars-1' is not an AWS region name such as eu-west-1"),
    ],
)
def test_a_saved_plans_settings_pass_the_settings_checks(
    key: str, value: object, message: str
) -> None:
    from test_planfile import edited, refusal

    doc = edited(lambda d: d["settings"].update({key: value}))
    assert refusal(doc) == f"its settings are invalid: {message}"


def _allow_only_own_account(doc: dict[str, Any]) -> None:
    doc["settings"]["allowed_accounts"] = ["123456789012"]
    variables = doc["changes"][0]["desired"]["Environment"]["Variables"]
    variables["OUROBOROS_ALLOWED_ACCOUNTS"] = "123456789012"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"accounts": ["123456789012", "999999999999"]},
            "its Input names account 999999999999, which is not in its settings' "
            "allowed_accounts (123456789012)",
        ),
        (
            {"accounts": [f"{n:012d}" for n in range(1, 101)], "regions": REGIONS_11},
            "its Input is not a valid executor event: accounts: 100 accounts x 11 regions is "
            "1100 (account, region) pairs, more than 1000 in one rule",
        ),
        (
            {"regions": ["cn-north-1"]},
            "its Input is not a valid executor event: regions.0: region 'cn-north-1' is in the "
            "aws-cn partition, but the settings' role ARNs are in aws",
        ),
    ],
)
def test_a_saved_plans_schedules_pass_the_checks_a_rule_file_gets(
    change: dict[str, Any], message: str
) -> None:
    from test_planfile import _set_input, edited, refusal

    def mutate(doc: dict[str, Any]) -> None:
        if "999999999999" in change.get("accounts", []):
            _allow_only_own_account(doc)
        _set_input(doc, 2, **change)

    assert refusal(edited(mutate)).startswith(f"change 3 (create schedule dev-stop): {message}")


# Item 18: what apply and plan say about others (the lock's holder, a path) is escaped too.


def test_the_lock_holder_and_a_saved_plans_path_are_shown_escaped(
    project: Path, endpoint: str
) -> None:
    from reconciler import runlog

    assert reconcile("apply", "--yes").exit_code == 0
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    dynamodb.put_item(
        TableName="ouroboros-runs",
        Item={
            "pk": {"S": runlog.LOCK_PK},
            "sk": {"S": runlog.LOCK_SK},
            "owner": {"S": f"mallory{HOSTILE}"},
            "acquired_at": {"S": "2026-11-27T10:00:00Z"},
            "lease_expires_at": {"N": "1"},  # long past: plan warns of it
            "lease_s": {"N": "1"},
        },
    )
    planned = reconcile("plan", "--out", f"plan{HOSTILE}.json")
    assert planned.exit_code == 0, planned.output
    assert "Saved the plan to plandev\\x1b]0;pwned\\x07\\x9b31m\\u202e.json" in planned.stderr
    assert "(by mallorydev\\x1b]0;pwned\\x07\\x9b31m\\u202e, started" in planned.stderr
    assert not any(c in planned.output for c in RAW), repr(planned.output)
    (project / "schedules" / "dev.yaml").write_text(RULES.replace("cron(0 22", "cron(0 21"))
    taken = reconcile("apply", "--yes", "--lock-timeout", "30s")
    assert taken.exit_code == 0, taken.output
    assert "(by mallorydev\\x1b]0;pwned\\x07\\x9b31m\\u202e, started" in taken.stderr
    assert not any(c in taken.output for c in RAW), repr(taken.output)


def test_an_aws_error_quoting_a_value_is_shown_escaped(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recon_support import Fault, inject

    from reconciler import aws

    real = aws.make_clients

    def faulty(region: str) -> aws.Clients:
        made = real(region)
        inject(made.scheduler, "CreateSchedule", Fault("ValidationException", f"bad {HOSTILE}"))
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", faulty)
    failed = reconcile("apply", "--yes")
    assert failed.exit_code == 1
    escaped = "ValidationException: bad dev\\x1b]0;pwned\\x07\\x9b31m\\u202e"
    assert f"! failed to create schedule dev-stop: AWS CreateSchedule failed with {escaped}" in (
        failed.stdout
    )
    assert f"error: AWS CreateSchedule failed with {escaped}\n" in failed.stderr
    assert not any(c in failed.output for c in RAW), repr(failed.output)


def test_destroy_shows_its_settings_path_escaped(project: Path, endpoint: str) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    settings = project / f"old{HOSTILE}.yaml"
    settings.write_text(SETTINGS_YAML)
    result = reconcile("destroy", "--settings", str(settings.name), "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Ouroboros will delete everything olddev\\x1b]0;pwned\\x07\\x9b31m\\u202e.yaml deployed "
        "in eu-west-1 (schedule group ouroboros):\n"
    )
    assert not any(c in result.output for c in RAW), repr(result.output)
