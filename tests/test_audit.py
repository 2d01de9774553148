"""The apply record: who, which commit, which pull request, what was done and how it went."""

from __future__ import annotations

import getpass
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from recon_support import REGION

from reconciler import audit, runlog
from reconciler.apply import DONE, FAILED, NOT_ATTEMPTED, ApplyResult, ChangeResult
from reconciler.plan import Change, FieldChange
from reconciler.resources import ScheduleSpec

STARTED = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)


def test_the_actor_is_github_actor_or_the_local_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert audit.actor() == "octocat"
    monkeypatch.delenv("GITHUB_ACTOR")
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert audit.actor() == "alice"

    def no_user() -> str:
        raise OSError("no user name for uid 1234")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert audit.actor() == "unknown"


def test_the_commit_is_github_sha_or_git_head(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "f" * 40)
    assert audit.commit() == "f" * 40
    monkeypatch.delenv("GITHUB_SHA")
    monkeypatch.chdir(tmp_path)
    assert audit.commit() == "unknown"  # not a repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert audit.commit() == head


@pytest.mark.parametrize(
    ("value", "expected"), [("42", 42), ("#7", 7), ("", None), ("abc", None), (" 9 ", 9)]
)
def test_the_pr_number(monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None) -> None:
    monkeypatch.setenv("OUROBOROS_PR_NUMBER", value)
    assert audit.pr_number() == expected


def _result() -> ApplyResult:
    return ApplyResult(
        (
            ChangeResult(Change("create", "schedule", "a-start"), DONE),
            ChangeResult(
                Change("update", "schedule", "b-stop"), FAILED, "AWS UpdateSchedule failed"
            ),
            ChangeResult(Change("delete", "schedule", "c-stop"), NOT_ATTEMPTED),
        )
    )


def test_the_record_says_what_was_done_and_how_it_went() -> None:
    record = audit.apply_record(
        _result(),
        started=STARTED,
        finished=STARTED + timedelta(seconds=2, milliseconds=345),
        who="octocat",
        sha="abc",
        pr=12,
    )
    assert record == {
        "started_at": "2026-11-27T09:00:00Z",
        "finished_at": "2026-11-27T09:00:02Z",
        "actor": "octocat",
        "commit": "abc",
        "outcome": "partial",
        "summary": "1 created, 0 updated, 0 deleted; 1 failed, 1 not attempted",
        "changes": [
            {"action": "create", "kind": "schedule", "name": "a-start", "result": "done"},
            {
                "action": "update",
                "kind": "schedule",
                "name": "b-stop",
                "result": "failed: AWS UpdateSchedule failed",
            },
            {"action": "delete", "kind": "schedule", "name": "c-stop", "result": "not attempted"},
        ],
        "duration_ms": 2345,
        "pr_number": 12,
        "error": "AWS UpdateSchedule failed",
    }


def test_the_record_lands_in_the_log_table() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="runs", **runlog.TABLE_DEFINITION)
        record = audit.apply_record(
            ApplyResult(()), started=STARTED, finished=STARTED, who="me", sha="abc", pr=None
        )
        apply_id = audit.write_apply_record(dynamodb, "runs", record, retention_days=7)
        item = dynamodb.get_item(
            TableName="runs", Key=runlog.to_item(runlog.apply_key("2026-11-27T09:00:00Z", apply_id))
        )["Item"]
        stored = runlog.from_item(item)
        assert stored["kind"] == "apply"
        assert stored["summary"] == "no changes"
        assert stored["outcome"] == "ok"
        assert "pr_number" not in stored
        assert stored["gsi1pk"] == "DAY#2026-11-27"


def test_a_lost_lock_is_the_reason_given_when_the_apply_stopped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconciler.commands.apply import report

    class LostLock:
        lost = True

    change = Change("create", "schedule", "a-start")
    stopped = ApplyResult((ChangeResult(change, NOT_ATTEMPTED),))
    assert report(stopped, LostLock()) == 1  # type: ignore[arg-type]
    assert capsys.readouterr().err == (
        "error: the apply lock was lost: its lease ran out (renewing it failed, or another "
        "apply took it over), so no further change was started\n"
        "What was done above is live; run `reconcile apply` again to converge once the cause "
        "is fixed.\n"
    )


def test_a_huge_apply_keeps_its_record_under_dynamodbs_item_limit() -> None:
    """5,000 failed changes with long errors: the first 500 are kept, with the total."""
    error = "AWS CreateSchedule failed with ValidationException: " + "x" * 2000
    result = ApplyResult(
        tuple(
            ChangeResult(Change("create", "schedule", f"rule-{n:04d}-start"), FAILED, error)
            for n in range(5000)
        )
    )
    record = audit.apply_record(
        result, started=STARTED, finished=STARTED, who="me", sha="abc", pr=None
    )
    assert len(record["changes"]) == audit.CHANGES_KEPT
    assert record["changes_total"] == 5000
    assert all(len(c["result"]) <= audit.RESULT_TEXT_MAX for c in record["changes"])
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="runs", **runlog.TABLE_DEFINITION)
        audit.write_apply_record(dynamodb, "runs", record, retention_days=7)
        item_bytes = len(str(runlog.to_item(record)).encode())
        assert item_bytes < 400_000


def _spec(name: str, **overrides: object) -> ScheduleSpec:
    values: dict[str, object] = {
        "name": name,
        "group": "ouroboros",
        "expression": "cron(0 8 ? * MON-FRI *)",
        "target_arn": "arn:aws:lambda:eu-west-1:123456789012:function:ouroboros-executor",
        "role_arn": "arn:aws:iam::123456789012:role/ouroboros-scheduler",
        "input": '{"rule": "a", "action": "start", "accounts": ["123456789012"]}',
    }
    values.update(overrides)
    return ScheduleSpec(**values)  # type: ignore[arg-type]


def test_the_record_stores_the_field_level_diff_of_each_change() -> None:
    changes = (
        Change("create", "schedule", "a-start", desired=_spec("a-start")),
        Change(
            "update",
            "schedule",
            "b-stop",
            desired=_spec("b-stop", state="ENABLED"),
            diff=(
                FieldChange("State", "DISABLED", "ENABLED"),
                FieldChange("Target.RetryPolicy.MaximumEventAgeInSeconds", 86400, 3600),
            ),
        ),
        Change("delete", "schedule", "c-stop", before=_spec("c-stop", expression="rate(1 day)")),
    )
    result = ApplyResult(tuple(ChangeResult(c, DONE) for c in changes))
    record = audit.apply_record(
        result, started=STARTED, finished=STARTED, who="me", sha="abc", pr=None
    )
    created, updated, deleted = record["changes"]
    assert created["diff"][:3] == [
        {"field": "ScheduleExpression", "after": '"cron(0 8 ? * MON-FRI *)"'},
        {"field": "ScheduleExpressionTimezone", "after": '"UTC"'},
        {"field": "State", "after": '"ENABLED"'},
    ]
    assert {"field": "Target.Input.accounts", "after": '["123456789012"]'} in created["diff"]
    assert updated["diff"] == [
        {"field": "State", "before": '"DISABLED"', "after": '"ENABLED"'},
        {
            "field": "Target.RetryPolicy.MaximumEventAgeInSeconds",
            "before": "86400",
            "after": "3600",
        },
    ]
    assert deleted["diff"][0] == {"field": "ScheduleExpression", "before": '"rate(1 day)"'}
    assert "diffs_omitted" not in record


def test_diffs_are_cut_to_keep_the_record_under_dynamodbs_item_limit() -> None:
    """500 kept changes, each with long errors and huge diffs: values are shortened, and the
    diffs that no longer fit are left out (and counted), never the record itself."""
    error = "AWS UpdateSchedule failed with ValidationException: " + "x" * 2000
    huge = "y" * 50_000
    changes = [
        Change(
            "update",
            "schedule",
            f"rule-{n:04d}-start",
            diff=tuple(FieldChange(f"Target.Input.f{i}", huge, huge + "z") for i in range(5)),
        )
        for n in range(5000)
    ]
    result = ApplyResult(tuple(ChangeResult(c, FAILED, error) for c in changes))
    record = audit.apply_record(
        result, started=STARTED, finished=STARTED, who="me", sha="abc", pr=None
    )
    with_diff = [c for c in record["changes"] if "diff" in c]
    assert with_diff, "the first changes keep their diff"
    assert record["diffs_omitted"] == audit.CHANGES_KEPT - len(with_diff)
    assert all(len(d["before"]) <= audit.VALUE_TEXT_MAX for c in with_diff for d in c["diff"])
    assert len(str(runlog.to_item(record)).encode()) < 400_000
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="runs", **runlog.TABLE_DEFINITION)
        audit.write_apply_record(dynamodb, "runs", record, retention_days=7)


def test_the_record_says_when_the_working_tree_was_dirty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert audit.worktree() is None  # not a repository
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "web.yaml").write_text("version: 1\n")
    subprocess.run([*git, "add", "web.yaml"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    assert audit.worktree() == "clean"
    (tmp_path / "web.yaml").write_text("version: 2\n")
    (tmp_path / "new.yaml").write_text("version: 1\n")
    assert audit.worktree() == "dirty: M web.yaml, ?? new.yaml"
    record = audit.apply_record(
        ApplyResult(()),
        started=STARTED,
        finished=STARTED,
        who="me",
        sha="abc",
        pr=None,
        worktree=audit.worktree(),
    )
    assert record["worktree"] == "dirty: M web.yaml, ?? new.yaml"
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="runs", **runlog.TABLE_DEFINITION)
        audit.write_apply_record(dynamodb, "runs", record, retention_days=7)
