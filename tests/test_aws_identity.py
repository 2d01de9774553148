"""Plan and apply refuse credentials for another account than the settings deploy to, before
reading or writing anything (sts:GetCallerIdentity first)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from recon_support import ACCOUNT, REGION, create_roles

from reconciler.cli import cli

OTHER = "111111111111"

RULES = f"""\
version: 1
rules:
  - name: dev
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    stop: cron(0 19 ? * MON-FRI *)
"""


def _settings(account: str) -> str:
    return f"""\
version: 1
region: {REGION}
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{account}:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::{account}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(RULES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reconcile(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


WRONG = (
    f"error: you are authenticated to {ACCOUNT}, ouroboros.yaml deploys to {OTHER} (its "
    f"executor.role_arn): use credentials for {OTHER}; nothing was read or changed"
)


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"]])
@mock_aws
def test_credentials_for_another_account_are_refused_before_any_write(
    project: Path, command: list[str]
) -> None:
    (project / "ouroboros.yaml").write_text(_settings(OTHER))
    create_roles()
    result = reconcile(*command)
    assert result.exit_code == 1
    assert WRONG in result.output.splitlines()
    scheduler = boto3.client("scheduler", region_name=REGION)
    groups = scheduler.list_schedule_groups()["ScheduleGroups"]
    assert "ouroboros" not in [g["Name"] for g in groups]
    assert boto3.client("lambda", region_name=REGION).list_functions()["Functions"] == []
    assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == []


@mock_aws
def test_credentials_for_the_settings_account_go_ahead(project: Path) -> None:
    (project / "ouroboros.yaml").write_text(_settings(ACCOUNT))
    create_roles()
    result = reconcile("apply", "--yes")
    assert result.exit_code == 0, result.output
    functions = boto3.client("lambda", region_name=REGION).list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["ouroboros-executor"]


def test_a_saved_plans_settings_are_named_as_such() -> None:
    from recon_support import settings

    from reconciler.aws_identity import check_account
    from reconciler.errors import FatalError

    check_account(settings(), ACCOUNT)
    with pytest.raises(FatalError) as caught:
        check_account(settings(), OTHER)
    assert str(caught.value) == (
        f"you are authenticated to {OTHER}, the saved plan deploys to {ACCOUNT} (its "
        f"executor.role_arn): use credentials for {ACCOUNT}; nothing was read or changed"
    )
