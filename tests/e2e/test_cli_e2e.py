"""End to end through the real CLI against moto's server on 127.0.0.1 (AWS_ENDPOINT_URL).

One server per test module (reset between tests), the CLI run in-process with click's
CliRunner, a project directory (ouroboros.yaml + schedules/) per test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from recon_support import (
    ACCOUNT,
    GROUP,
    REGION,
    SETTINGS_YAML,
    Fault,
    ctrl_c_raises,
    inject,
    press_ctrl_c,
)

from reconciler import aws, output, runlog
from reconciler.cli import cli

RULES = f"""\
version: 1
rules:
  - name: dev-office-hours
    description: Dev boxes, office hours
    timezone: Europe/Berlin
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
  - name: nightly-stop
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      instance-id: [i-0123456789abcdef0]
    stop: cron(0 22 * * ? *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reconcile(*args: str, stdin: str | None = None, color: bool = False) -> Result:
    # color=True stops click stripping ANSI codes, so the test sees our own decision.
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False, color=color)


def without_trace(stderr: str) -> str:
    """stderr without apply's per-change trace lines ("[3/6] + created ..."), whose order
    depends on how the concurrent writes finish."""
    return "".join(line for line in stderr.splitlines(keepends=True) if not TRACE.match(line))


TRACE = re.compile(r"\[\d+/\d+\] ")


def scheduler(endpoint: str) -> Any:
    return boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)


def live_names(endpoint: str) -> set[str]:
    pages = scheduler(endpoint).list_schedules(GroupName=GROUP, MaxResults=100)
    return {s["Name"] for s in pages["Schedules"]}


def apply_records(endpoint: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    items = dynamodb.query(
        TableName="ouroboros-runs",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "APPLY"}},
    )["Items"]
    return [runlog.from_item(item) for item in items]


def test_plan_apply_and_plan_again(project: Path, endpoint: str) -> None:
    first = reconcile("plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    # The reviewer's blocks lead (DESIGN.md §10), then the field diff.
    assert first.stdout.startswith(
        "Rules this plan changes:\n\n  + create rule dev-office-hours\n"
        "      starts 08:00, Mon-Fri, Europe/Berlin\n"
    )
    assert (
        "\nOuroboros will make these changes in eu-west-1 (schedule group ouroboros):\n"
        in first.stdout
    )
    assert "  + create schedule dev-office-hours-start\n" in first.stdout
    assert first.stdout.endswith("Plan: 7 to create, 0 to update, 0 to delete.\n")
    assert live_names(endpoint) == set()  # plan writes nothing

    applied = reconcile("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.endswith(
        "  + created log_table ouroboros-runs\n"
        "  + created dead_letter_queue ouroboros-dead-letters\n"
        "  + created executor ouroboros-executor\n"
        "  + created schedule_group ouroboros\n"
        "  + created schedule dev-office-hours-start\n"
        "  + created schedule dev-office-hours-stop\n"
        "  + created schedule nightly-stop-stop\n"
        "\nApply complete: 7 created, 0 updated, 0 deleted.\n"
    )
    assert live_names(endpoint) == {
        "dev-office-hours-start",
        "dev-office-hours-stop",
        "nightly-stop-stop",
    }
    again = reconcile("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert again.stdout == "No changes. The live state matches the rules (7 resources unchanged).\n"
    dry = reconcile("--dry-run")
    assert (dry.exit_code, dry.stdout) == (0, again.stdout)
    noop = reconcile("apply")  # nothing to confirm when nothing changes
    assert noop.exit_code == 0, noop.output
    assert noop.stdout == again.stdout


def test_json_and_markdown_go_alone_to_stdout(project: Path) -> None:
    as_json = reconcile("plan", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    doc = json.loads(as_json.stdout)
    assert doc["summary"] == {"create": 7, "update": 0, "delete": 0, "unchanged": 0}
    assert [c["kind"] for c in doc["changes"][:4]] == [
        "log_table",
        "dead_letter_queue",
        "executor",
        "schedule_group",
    ]
    markdown = reconcile("plan", "--format", "markdown", "--detailed-exitcode")
    assert markdown.exit_code == 2
    assert markdown.stdout.startswith(
        "## Ouroboros plan\n\n**7 to create, 0 to update, 0 to delete**"
    )
    # one per change (the queue's too), then the week grid of each of the two rules whose schedules it creates
    assert markdown.stdout.count("<details>") == 9
    assert "\n### The week ahead of each changed rule\n" in markdown.stdout


def test_drift_is_planned_as_an_update_and_apply_puts_it_back(project: Path, endpoint: str) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    edited = scheduler(endpoint).get_schedule(Name="nightly-stop-stop", GroupName=GROUP)
    scheduler(endpoint).update_schedule(
        Name="nightly-stop-stop",
        GroupName=GROUP,
        ScheduleExpression="cron(0 23 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            **edited["Target"],
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
        },
        State="DISABLED",
        Description=edited["Description"],
    )
    lambda_ = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint)
    lambda_.update_function_configuration(FunctionName="ouroboros-executor", Timeout=5)
    drift = reconcile("plan", "--detailed-exitcode")
    assert drift.exit_code == 2
    # The reviewer's block says it in words (its next firings depend on the day the test runs).
    assert drift.stdout.startswith(
        "Rules this plan changes:\n\n"
        "  ~ update rule nightly-stop\n"
        "      stops 22:00 instead of 23:00, every day, UTC\n"
        "      enabled again: its schedules fire\n"
        "      next stops: "
    )
    assert drift.stdout.endswith(
        "\nOuroboros will make these changes in eu-west-1 (schedule group ouroboros):\n\n"
        "  ~ update executor ouroboros-executor\n"
        "      ~ Timeout: 5 -> 300\n"
        "  ~ update schedule nightly-stop-stop\n"
        '      ~ ScheduleExpression: "cron(0 23 * * ? *)" -> "cron(0 22 * * ? *)"\n'
        '      ~ State: "DISABLED" -> "ENABLED"\n\n'
        "Plan: 0 to create, 2 to update, 0 to delete.\n"
    )
    assert reconcile("apply", "--yes").exit_code == 0
    assert reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_a_saved_plan_is_applied_exactly_and_a_stale_one_refused(
    project: Path, endpoint: str
) -> None:
    saved = reconcile("plan", "--out", "plan.json")
    assert saved.exit_code == 0
    assert "Saved the plan to plan.json; apply it with `reconcile apply plan.json`." in saved.stderr
    # The saved plan needs no rules: change them, the plan still applies what it saw.
    (project / "schedules" / "dev.yaml").write_text(RULES.replace("cron(0 22", "cron(0 21"))
    applied = reconcile("apply", "plan.json", "--yes")
    assert applied.exit_code == 0, applied.output
    stored = scheduler(endpoint).get_schedule(Name="nightly-stop-stop", GroupName=GROUP)
    assert stored["ScheduleExpression"] == "cron(0 22 * * ? *)"

    assert reconcile("plan", "--out", "next.json").exit_code == 0  # 22:00 -> 21:00
    scheduler(endpoint).delete_schedule(Name="dev-office-hours-start", GroupName=GROUP)
    stale = reconcile("apply", "next.json", "--yes")
    assert stale.exit_code == 1
    # The stale plan names what changed (it used to say only "the plan is stale").
    assert stale.stderr == (
        "error: live state changed since the plan was made: schedule dev-office-hours-start "
        "(deleted); run reconcile plan again\n"
    )
    assert (
        scheduler(endpoint).get_schedule(Name="nightly-stop-stop", GroupName=GROUP)[
            "ScheduleExpression"
        ]
        == "cron(0 22 * * ? *)"
    )


def test_a_bad_plan_file_is_a_clear_error(project: Path) -> None:
    (project / "plan.json").write_text('{"format_version": 7}')
    result = reconcile("apply", "plan.json", "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: plan.json: not a saved plan (format_version is 7; this reconcile reads "
        "version 1); make one with `reconcile plan --out FILE`\n"
    )
    missing = reconcile("apply", "nope.json", "--yes")
    assert missing.stderr == (
        "error: nope.json: no such plan file; make one with `reconcile plan --out nope.json`\n"
    )


def test_an_edited_saved_plan_is_refused_and_nothing_is_applied(
    project: Path, endpoint: str
) -> None:
    assert reconcile("plan", "--out", "plan.json").exit_code == 0
    doc = json.loads((project / "plan.json").read_text())
    change = next(c for c in doc["changes"] if c["name"] == "nightly-stop-stop")
    event = json.loads(change["desired"]["Target"]["Input"])
    event["targets"] = {"tag:Name": [""]}
    change["desired"]["Target"]["Input"] = json.dumps(event)
    (project / "plan.json").write_text(json.dumps(doc))
    refused = reconcile("apply", "plan.json", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: plan.json: change 7 (create schedule nightly-stop-stop): its Input is not a valid "
        "executor event: targets.tag:Name.0: filter value for 'tag:Name' is empty; refusing to "
        "apply it: make a new plan with `reconcile plan --out FILE`\n"
    )
    assert refused.stdout == ""
    assert live_names(endpoint) == set()


def test_a_refactor_applies_but_deleting_everything_needs_allow_mass_delete(
    project: Path, endpoint: str
) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    # Renaming every rule deletes every schedule but creates their replacements: a refactor,
    # judged by the thresholds (3 deletes is not more than 10), so no flag is needed.
    (project / "schedules" / "dev.yaml").write_text(
        RULES.replace("dev-office-hours", "renamed").replace("nightly-stop", "renamed-too")
    )
    renamed = reconcile("apply", "--yes")
    assert renamed.exit_code == 0, renamed.output
    assert live_names(endpoint) == {"renamed-start", "renamed-stop", "renamed-too-stop"}
    # A rules directory with no rule files is always an error, whatever the flags.
    (project / "schedules" / "dev.yaml").unlink()
    for args in (("plan",), ("apply", "--yes", "--allow-mass-delete"), ("--allow-delete-all",)):
        empty = reconcile(*args)
        assert empty.exit_code == 1
        assert empty.stderr.endswith(
            "error: no rule files found in schedules (expected *.yaml or *.yml): plan and apply "
            "never treat an empty rules directory as 'delete everything'; to remove everything "
            "a settings file deployed, run `reconcile destroy --settings ouroboros.yaml`\n"
        )
    old_flag = reconcile("plan", "--allow-delete-all")
    assert old_flag.exit_code == 1
    assert old_flag.stderr.startswith(
        "warning: --allow-delete-all is deprecated and does nothing for plan: an empty rules "
        "directory is always an error, and a plan shows a mass delete whatever the flags\n"
        "error: no rule files found in schedules"
    )
    assert len(live_names(endpoint)) == 3


def test_a_mass_delete_needs_allow_mass_delete_and_the_plan_says_so(
    project: Path, endpoint: str
) -> None:
    (project / "ouroboros.yaml").write_text(SETTINGS_YAML + "max_delete_count: 1\n")
    assert reconcile("apply", "--yes").exit_code == 0
    (project / "schedules" / "dev.yaml").write_text(
        RULES.replace("dev-office-hours", "renamed")
    )  # deletes 2 of 3 (more than 1 and more than 25%), creates 2
    what = (
        "deletes 2 of the 3 managed schedules in group ouroboros, more than 1 and more than 25% "
        "of them (max_delete_count, max_delete_fraction in the settings)"
    )
    refused = reconcile("apply", "--yes")
    assert refused.exit_code == 1
    assert refused.stderr.endswith(
        f"error: refusing to apply: the plan {what} (a wrong rules directory or a bad merge "
        "looks like this); if that is what you want, run again with --allow-mass-delete\n"
    )
    assert len(live_names(endpoint)) == 3
    # The plan itself says so (a pull-request comment carries no stderr); JSON on stderr.
    warning = f"this plan {what}; `reconcile apply` refuses it unless given --allow-mass-delete"
    warned = reconcile("plan")
    assert warned.stdout.startswith(f"Warning: {warning}.\n")
    assert f"\nWarning: {warning}.\nPlan: 2 to create, " in warned.stdout
    assert warned.stderr == ""
    markdown = reconcile("plan", "--format", "markdown").stdout
    assert (
        f"> [!WARNING]\n> **Mass delete:** {warning.replace('--allow', '`--allow')}`.\n" in markdown
    )
    as_json = reconcile("plan", "--format", "json", "--targets", "none")  # no preview warnings
    assert as_json.stderr == f"warning: {warning}\n"
    renamed = {r["name"]: r["rename"] for r in json.loads(as_json.stdout)["rules"]}
    assert renamed["renamed"] == {"from": "dev-office-hours", "to": "renamed"}
    assert json.loads(as_json.stdout)["mass_delete"] == {
        "deletes": 2,
        "managed": 3,
        "threshold": {"max_delete_count": 1, "max_delete_fraction": 0.25},
    }
    # The old flag still works, with a deprecation warning.
    old = reconcile("apply", "--yes", "--allow-delete-all")
    assert old.exit_code == 0, old.output
    assert old.stderr.startswith(
        "warning: --allow-delete-all is deprecated: use --allow-mass-delete (same effect)\n"
    )
    (project / "schedules" / "dev.yaml").write_text(RULES)
    assert reconcile("--yes", "--allow-mass-delete").exit_code == 0  # the bare group too
    assert "dev-office-hours-start" in live_names(endpoint)


def test_confirmation_on_a_terminal_and_refusal_without_one(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = reconcile("apply")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: refusing to apply without confirmation: stdin is not a terminal; review the "
        "plan above, then run again with --yes\n"
    )
    assert "Plan: 7 to create" in refused.stdout
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    declined = reconcile("apply", stdin="no\n")
    assert declined.exit_code == 1
    assert "Apply these changes? Only 'yes' will be accepted:" in declined.stderr
    assert declined.stderr.endswith("error: apply cancelled; nothing was changed\n")
    assert live_names(endpoint) == set()
    accepted = reconcile("apply", stdin="yes\n")
    assert accepted.exit_code == 0, accepted.output
    assert len(live_names(endpoint)) == 3


def test_a_second_apply_waits_for_the_lock_then_fails_clearly(project: Path, endpoint: str) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    dynamodb.put_item(
        TableName="ouroboros-runs",
        Item={
            "pk": {"S": runlog.LOCK_PK},
            "sk": {"S": runlog.LOCK_SK},
            "owner": {"S": "alice@laptop:42/abcd"},
            "acquired_at": {"S": "2026-11-27T10:00:00Z"},
            "lease_expires_at": {"N": "4102444800"},  # 2100-01-01
        },
    )
    (project / "schedules" / "dev.yaml").write_text(RULES.replace("cron(0 22", "cron(0 21"))
    blocked = reconcile("apply", "--yes", "--lock-timeout", "1s")
    assert blocked.exit_code == 1
    assert blocked.stderr == (
        "Waiting for the apply lock, held by alice@laptop:42/abcd, since 2026-11-27T10:00:00Z; "
        "its lease runs until 2100-01-01T00:00:00Z (up to 1s)...\n"
        "error: another apply holds the lock: alice@laptop:42/abcd, since "
        "2026-11-27T10:00:00Z; its lease runs until 2100-01-01T00:00:00Z. Wait for it to "
        "finish and run again, or give a longer --lock-timeout. If that apply was killed, an "
        "apply that waits longer than its lease (60s) without seeing it renewed takes the lock "
        "over.\n"
    )
    assert reconcile("plan", "--detailed-exitcode").exit_code == 2  # nothing was applied
    # The holder was killed and its lease is short: an apply that watches it go unrenewed
    # for that long takes it over (changed on purpose: the lease's written expiry, by another
    # machine's clock, is no longer trusted, so --lock-timeout 0 cannot take it over).
    dynamodb.update_item(
        TableName="ouroboros-runs",
        Key={"pk": {"S": runlog.LOCK_PK}, "sk": {"S": runlog.LOCK_SK}},
        UpdateExpression="SET lease_s = :short",
        ExpressionAttributeValues={":short": {"N": "1"}},
    )
    taken = reconcile("apply", "--yes", "--lock-timeout", "30s")
    assert taken.exit_code == 0, taken.output
    assert (
        "warning: the previous apply (by alice@laptop:42/abcd, started 2026-11-27T10:00:00Z) "
        "did not finish: it stopped without releasing the apply lock (killed, or its release "
        "failed), so its apply record may be missing; this apply converges from what is live\n"
    ) in taken.stderr


def test_every_apply_leaves_an_audit_record(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
    monkeypatch.setenv("OUROBOROS_PR_NUMBER", "42")
    assert reconcile("apply", "--yes").exit_code == 0
    assert reconcile("apply", "--yes").exit_code == 0  # no changes: recorded too
    records = apply_records(endpoint)
    assert len(records) == 2
    first = next(r for r in records if r["changes"])
    second = next(r for r in records if not r["changes"])
    assert first["kind"] == "apply"
    assert first["actor"] == "octocat"
    assert first["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert first["pr_number"] == 42
    assert first["outcome"] == "ok"
    assert first["summary"] == "7 created, 0 updated, 0 deleted"
    table = dict(first["changes"][0])
    # Each change also carries its field-level diff (here: what the table was created with).
    assert {"field": "BillingMode", "after": '"PAY_PER_REQUEST"'} in table.pop("diff")
    assert table == {
        "action": "create",
        "kind": "log_table",
        "name": "ouroboros-runs",
        "result": "done",
    }
    assert "worktree" not in first  # not run in a git repository
    assert len(first["changes"]) == 7
    assert isinstance(first["duration_ms"], int)
    assert first["expires_at"] > 0
    assert (second["summary"], second["changes"], second["outcome"]) == ("no changes", [], "ok")


def test_a_failure_part_way_reports_and_exits_1_and_a_rerun_converges(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    creates = {"n": 0}

    def second_create(_request: Any) -> bool:
        creates["n"] += 1
        return creates["n"] == 2

    real = aws.make_clients

    def faulty(region: str) -> aws.Clients:
        made = real(region)
        inject(
            made.scheduler,
            "CreateSchedule",
            Fault("ValidationException", "Invalid target", when=second_create),
        )
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", faulty)
    monkeypatch.setattr("reconciler.apply.WRITE_WORKERS", 1)
    failed = reconcile("apply", "--yes")
    assert failed.exit_code == 1
    assert (
        "\n  ! failed to create schedule dev-office-hours-stop: AWS CreateSchedule failed with ValidationException: Invalid target\n"
        in failed.stdout
    )
    assert "\n    not attempted: create schedule nightly-stop-stop\n" in failed.stdout
    assert (
        "\nApply partial: 5 created, 0 updated, 0 deleted; 1 failed, 1 not attempted.\n"
        in failed.stdout
    )
    assert failed.stderr == (
        # Off a terminal, each change is traced as it is made (a killed CI job keeps them).
        "[1/7] + created log_table ouroboros-runs\n"
        "[2/7] + created dead_letter_queue ouroboros-dead-letters\n"
        "[3/7] + created executor ouroboros-executor\n"
        "[4/7] + created schedule_group ouroboros\n"
        "[5/7] + created schedule dev-office-hours-start\n"
        "[6/7] ! failed to create schedule dev-office-hours-stop: AWS CreateSchedule failed "
        "with ValidationException: Invalid target\n"
        "error: AWS CreateSchedule failed with ValidationException: Invalid target\n"
        "What was done above is live; run `reconcile apply` again to converge once the cause "
        "is fixed.\n"
    )
    (record,) = apply_records(endpoint)
    assert record["outcome"] == "partial"
    assert record["error"] == "AWS CreateSchedule failed with ValidationException: Invalid target"
    rerun = reconcile("apply", "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert "Apply complete: 2 created, 0 updated, 0 deleted." in rerun.stdout
    assert reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_ctrl_c_part_way_reports_records_releases_the_lock_and_exits_130(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    creates = {"n": 0}

    def second_create(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 2:
            press_ctrl_c()

    real = aws.make_clients

    def interrupted(region: str) -> aws.Clients:
        made = real(region)
        made.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", second_create)
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", interrupted)
    monkeypatch.setattr("reconciler.apply.WRITE_WORKERS", 1)
    with ctrl_c_raises():
        stopped = reconcile("apply", "--yes")
    assert stopped.exit_code == 130
    assert "\n  + created schedule dev-office-hours-stop\n" in stopped.stdout
    assert "\n    not attempted: create schedule nightly-stop-stop\n" in stopped.stdout
    assert stopped.stdout.endswith(
        "\nApply interrupted: 6 created, 0 updated, 0 deleted; 0 failed, 1 not attempted.\n"
    )
    assert without_trace(stopped.stderr) == (
        "error: interrupted (Ctrl-C): no change was started after it\n"
        "What was done above is live; run `reconcile apply` again to finish.\n"
    )
    (record,) = apply_records(endpoint)
    assert record["outcome"] == "partial"
    assert record["error"] == "interrupted (Ctrl-C): no change was started after it"
    rerun = reconcile("apply", "--yes", "--lock-timeout", "0")  # the lock was released
    assert rerun.exit_code == 0, rerun.output
    assert "Apply complete: 1 created, 0 updated, 0 deleted." in rerun.stdout


def test_a_lock_that_cannot_be_released_after_a_good_apply_is_a_warning(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = aws.make_clients

    def no_delete_item(region: str) -> aws.Clients:
        made = real(region)
        fault = Fault("AccessDeniedException", "not authorized to DeleteItem", times=99)
        inject(made.dynamodb, "DeleteItem", fault)
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", no_delete_item)
    applied = reconcile("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.endswith("\nApply complete: 7 created, 0 updated, 0 deleted.\n")
    assert without_trace(applied.stderr) == (
        "warning: the apply lock was not released (AWS DeleteItem failed with "
        "AccessDeniedException: not authorized to DeleteItem: the role in use lacks a "
        "permission; see docs/how-to/iam.md); the next apply takes it over once it "
        "has seen it unrenewed for 60 seconds\n"
    )


def test_bad_rules_are_refused_before_any_aws_call(project: Path) -> None:
    (project / "schedules" / "dev.yaml").write_text(
        RULES.replace("cron(0 22 * * ? *)", "cron(0 25 * * ? *)")
    )
    result = reconcile("plan")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("schedules/dev.yaml:17:11: error: ")
    assert lines[-1] == (
        "error: the rules have 1 error (listed above): fix them and run again; nothing was "
        "read from or changed in AWS"
    )
    assert result.stdout == ""


def test_no_credentials_is_exit_1_with_advice(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = reconcile("plan")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or run `aws sso login` (in GitHub Actions, use "
        "aws-actions/configure-aws-credentials)\n"
    )


def test_an_unreachable_endpoint_is_exit_1_with_advice(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = reconcile("apply", "--yes")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: cannot reach the AWS endpoint (Could not connect to the endpoint URL: "
    )
    assert result.stderr.endswith("check the network, AWS_ENDPOINT_URL and the region\n")
    assert "Traceback" not in result.output


def test_colour_only_on_a_terminal_and_never_with_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        "\x1b[" not in reconcile("plan", color=True).stdout
    )  # CliRunner's stdout is not a terminal
    monkeypatch.setattr(output, "is_tty", lambda stream=None: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    coloured = reconcile("plan", color=True).stdout.replace("\x1b[22m", "")
    assert "\x1b[32m+ create schedule dev-office-hours-start\x1b[0m" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in reconcile("plan", color=True).stdout


def test_a_long_apply_shows_progress_on_a_terminal(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = "".join(
        f'  - name: team-{i}\n    accounts: ["{ACCOUNT}"]\n    regions: [{REGION}]\n'
        f"    targets:\n      tag:Team: t{i}\n    stop: cron(0 {10 + i} * * ? *)\n"
        for i in range(10)
    )
    (project / "schedules" / "teams.yaml").write_text(f"version: 1\nrules:\n{extra}")
    quiet = reconcile("apply", "--yes")  # not a terminal: no progress line
    assert "Applying:" not in quiet.stderr
    (project / "schedules" / "teams.yaml").write_text(
        f"version: 1\nrules:\n{extra.replace('tag:Team', 'tag:Squad')}"
    )
    (project / "schedules" / "dev.yaml").write_text(RULES.replace("cron(0 22", "cron(0 21"))
    monkeypatch.setattr(output, "is_tty", lambda stream=None: True)
    shown = reconcile("apply", "--yes")
    assert shown.exit_code == 0, shown.output
    assert shown.stderr == "".join(f"\rApplying: {i}/11 changes" for i in range(1, 12)) + "\n"


def test_an_unknown_profile_is_exit_1_with_advice(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    result = reconcile("plan")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: The config profile (no-such-profile) could not be found: check AWS_PROFILE "
        "and ~/.aws/config\n"
    )


def test_reconcile_with_no_command_applies(project: Path, endpoint: str) -> None:
    refused = reconcile()
    assert refused.exit_code == 1
    assert "refusing to apply without confirmation" in refused.stderr
    applied = reconcile("--yes")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.endswith("Apply complete: 7 created, 0 updated, 0 deleted.\n")
    assert len(live_names(endpoint)) == 3


def test_off_a_terminal_apply_traces_each_change_as_it_is_made(project: Path) -> None:
    applied = reconcile("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    trace = applied.stderr.splitlines()
    assert trace[:4] == [
        "[1/7] + created log_table ouroboros-runs",
        "[2/7] + created dead_letter_queue ouroboros-dead-letters",
        "[3/7] + created executor ouroboros-executor",
        "[4/7] + created schedule_group ouroboros",
    ]
    # The schedules are written concurrently: numbered in the order they finish.
    assert [line.split("] ")[0] for line in trace[4:]] == ["[5/7", "[6/7", "[7/7"]
    assert sorted(line.split("] ")[1] for line in trace[4:]) == [
        "+ created schedule dev-office-hours-start",
        "+ created schedule dev-office-hours-stop",
        "+ created schedule nightly-stop-stop",
    ]
    assert len(trace) == 7
