"""`reconcile destroy --settings FILE`: removes what a settings file deployed, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from recon_support import ACCOUNT, GROUP, REGION, SETTINGS_YAML, create_roles

from reconciler import output, runlog
from reconciler.cli import cli
from reconciler.lock import ApplyLock

RULES = f"""\
version: 1
rules:
  - name: dev
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        create_roles()
        assert reconcile("apply", "--yes").exit_code == 0
        yield tmp_path


def reconcile(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def groups() -> set[str]:
    return {g["Name"] for g in client("scheduler").list_schedule_groups()["ScheduleGroups"]}


def schedules(group: str = GROUP) -> set[str]:
    found = client("scheduler").list_schedules(GroupName=group)["Schedules"]
    return {s["Name"] for s in found}


def functions() -> set[str]:
    return {f["FunctionName"] for f in client("lambda").list_functions()["Functions"]}


def tables() -> set[str]:
    return set(client("dynamodb").list_tables()["TableNames"])


LISTING = (
    "Ouroboros will delete everything ouroboros.yaml deployed in eu-west-1 (schedule group "
    "ouroboros):\n\n"
    "  - delete schedule dev-start\n"
    "  - delete schedule dev-stop\n"
    "  - delete schedule_group ouroboros\n"
    "  - delete executor ouroboros-executor\n"
    "  - delete dead_letter_queue ouroboros-dead-letters\n"
)


def test_destroy_asks_like_apply_and_keeps_the_log_table_by_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = reconcile("destroy", "--settings", "ouroboros.yaml")
    assert refused.exit_code == 1
    assert refused.stdout == (
        f"{LISTING}\n"
        "Note: log table ouroboros-runs is kept, with its run log: add --include-logs to delete "
        "it too\n"
        "Destroy: 5 to delete.\n"
    )
    assert refused.stderr == (
        "error: refusing to destroy without confirmation: stdin is not a terminal; review the "
        "plan above, then run again with --yes\n"
    )
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    declined = reconcile("destroy", stdin="no\n")
    assert declined.exit_code == 1
    assert "Delete all of these? Only 'yes' will be accepted:" in declined.stderr
    assert declined.stderr.endswith("error: destroy cancelled; nothing was changed\n")
    assert schedules() == {"dev-start", "dev-stop"}

    done = reconcile("destroy", stdin="yes\n")
    assert done.exit_code == 0, done.output
    assert done.stdout.endswith(
        "\n"
        "  - deleted schedule dev-start\n"
        "  - deleted schedule dev-stop\n"
        "  - deleted schedule_group ouroboros\n"
        "  - deleted executor ouroboros-executor\n"
        "  - deleted dead_letter_queue ouroboros-dead-letters\n"
        "\nDestroy complete: 5 deleted.\n"
    )
    assert GROUP not in groups()
    assert functions() == set()
    assert client("sqs").list_queues().get("QueueUrls", []) == []
    assert tables() == {"ouroboros-runs"}
    # The lock was taken in the kept table and released.
    assert "Item" not in client("dynamodb").get_item(
        TableName="ouroboros-runs",
        Key={runlog.PK: {"S": runlog.LOCK_PK}, runlog.SK: {"S": runlog.LOCK_SK}},
    )

    logs = reconcile("destroy", "--yes", "--include-logs")
    assert logs.exit_code == 0, logs.output
    assert logs.stdout == (
        "Ouroboros will delete everything ouroboros.yaml deployed in eu-west-1 (schedule group "
        "ouroboros):\n\n"
        "  - delete log_table ouroboros-runs\n\n"
        "Destroy: 1 to delete.\n\n"
        "  - deleted log_table ouroboros-runs\n"
        "\nDestroy complete: 1 deleted.\n"
    )
    assert tables() == set()
    again = reconcile("destroy", "--yes", "--include-logs")
    assert (again.exit_code, again.stdout) == (
        0,
        "Nothing to destroy: nothing ouroboros.yaml deploys exists in eu-west-1 (schedule group "
        "ouroboros).\n",
    )


def test_destroy_with_the_old_settings_spares_the_new_deployment(project: Path) -> None:
    # The group was renamed: the executor and the table now serve the new group.
    (project / "old.yaml").write_text(SETTINGS_YAML)
    (project / "ouroboros.yaml").write_text(
        SETTINGS_YAML.replace(f"group: {GROUP}", "group: fleet")
    )
    assert reconcile("apply", "--yes").exit_code == 0
    assert schedules("fleet") == {"dev-start", "dev-stop"}
    client("scheduler").create_schedule(
        Name="billing-report",
        GroupName=GROUP,
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:reports",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler",
        },
    )
    done = reconcile("destroy", "--settings", "old.yaml", "--yes", "--include-logs")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith(
        "Ouroboros will delete everything old.yaml deployed in eu-west-1 (schedule group "
        "ouroboros):\n\n"
        f"  - delete schedule billing-report (not created by Ouroboros: targets "
        f"arn:aws:sns:{REGION}:{ACCOUNT}:reports)\n"
        "  - delete schedule dev-start\n"
        "  - delete schedule dev-stop\n"
        "  - delete schedule_group ouroboros\n"
        "  - delete dead_letter_queue ouroboros-dead-letters\n\n"
        "Note: executor ouroboros-executor is kept: it serves schedule group fleet (its "
        "description says so)\n"
        "Note: log table ouroboros-runs is kept: the kept executor still logs to it\n"
        "Destroy: 5 to delete.\n"
    )
    assert GROUP not in groups()
    assert schedules("fleet") == {"dev-start", "dev-stop"}
    assert functions() == {"ouroboros-executor"}
    assert tables() == {"ouroboros-runs"}
    assert reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_destroy_keeps_a_queue_the_new_deployment_sends_its_failures_to(project: Path) -> None:
    shared = "dead_letter_queue: ouroboros-dead-letters\n"
    (project / "old.yaml").write_text(SETTINGS_YAML + shared)
    (project / "ouroboros.yaml").write_text(
        SETTINGS_YAML.replace(f"group: {GROUP}", "group: fleet") + shared
    )
    assert reconcile("apply", "--yes").exit_code == 0
    done = reconcile("destroy", "--settings", "old.yaml", "--yes")
    assert done.exit_code == 0, done.output
    assert (
        "Note: dead-letter queue ouroboros-dead-letters is kept: the kept executor sends its "
        "failures there\n"
    ) in done.stdout
    assert len(client("sqs").list_queues()["QueueUrls"]) == 1
    assert reconcile("plan", "--detailed-exitcode").exit_code == 0


def test_destroy_waits_for_the_apply_lock(project: Path) -> None:
    with ApplyLock(client("dynamodb"), "ouroboros-runs", "alice@ci:1/x", timeout_s=0):
        blocked = reconcile("destroy", "--yes", "--lock-timeout", "0")
    assert blocked.exit_code == 1
    assert "error: another apply holds the lock: alice@ci:1/x" in blocked.stderr
    assert schedules() == {"dev-start", "dev-stop"}


def test_destroy_of_a_missing_settings_file_is_an_error(project: Path) -> None:
    missing = reconcile("destroy", "--settings", "gone.yaml", "--yes")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("error: settings file gone.yaml not found")
