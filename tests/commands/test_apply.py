"""The confirmation prompt: Ctrl-D (end of input) is a no, never an abort with exit 130."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws
from recon_support import ACCOUNT, REGION, SETTINGS_YAML

from reconciler import output
from reconciler.cli import cli

RULES = f"""\
version: 1
rules:
  - name: web
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "web.yaml").write_text(RULES)
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    with mock_aws():
        yield tmp_path


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("args", [["apply"], []])
def test_ctrl_d_at_the_prompt_cancels(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args, input="")  # end of input at once: Ctrl-D
    assert result.exit_code == 1
    assert "Apply these changes? Only 'yes' will be accepted:" in result.stderr
    assert result.stderr.endswith("error: apply cancelled; nothing was changed\n")
    assert "Aborted" not in result.stderr
    groups = boto3.client("scheduler", region_name=REGION).list_schedule_groups()
    assert [g["Name"] for g in groups["ScheduleGroups"]] == ["default"]


TWO_RULES = (
    RULES
    + f"""\
    stop: cron(0 19 ? * MON-FRI *)
    timezone: Europe/Berlin
    calendar: de
  - name: qa-off
    enabled: false
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: qa}}
    start: cron(0 9 ? * MON-FRI *)
"""
)


def test_apply_writes_the_manifest_of_enabled_rules_and_rewrites_it(project: Path) -> None:
    from recon_support import create_roles

    from reconciler.calendars import Calendar
    from reconciler.executor import manifest
    from reconciler.executor.handler import read_manifest

    create_roles()
    (project / "calendars").mkdir()
    (project / "calendars" / "de.yaml").write_text("version: 1\ncountry: DE\n")
    (project / "schedules" / "web.yaml").write_text(TWO_RULES)
    first = CliRunner().invoke(cli, ["apply", "--yes"])
    assert first.exit_code == 0, first.output
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    found = read_manifest(dynamodb, "ouroboros-runs")
    assert found is not None
    assert found.rules == (
        manifest.RuleEntry(
            "web",
            "ec2",
            (ACCOUNT,),
            (REGION,),
            (("tag:Env", ("dev",)),),
            "Europe/Berlin",
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 19 ? * MON-FRI *)",
            Calendar("de", country="DE", timezone="Europe/Berlin"),
        ),
    )
    # An apply with nothing to change still writes it (a lost or older manifest is repaired).
    dynamodb.delete_item(TableName="ouroboros-runs", Key=manifest.KEY)
    again = CliRunner().invoke(cli, ["apply", "--yes"])
    assert again.exit_code == 0, again.output
    assert read_manifest(dynamodb, "ouroboros-runs") is not None
