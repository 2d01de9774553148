"""Rules the executor would refuse fail validation first: accounts outside the settings'
allowed_accounts, more than 1,000 (account, region) pairs, an event over 64 KiB."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.loader import load_rules

SETTINGS = """\
version: 1
region: eu-west-1
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::111111111111:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::111111111111:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
allowed_accounts: ["111111111111", "222222222222"]
organization_id: o-a1b2c3d4e5
"""

RULES = """\
version: 1
rules:
  - name: dev
    accounts:
      - "111111111111"
      - "333333333333"
    regions: [eu-west-1]
    targets: {tag:Env: dev}
    stop: cron(0 19 ? * MON-FRI *)
"""

NOT_ALLOWED = (
    "schedules/dev.yaml:6:9: error: account 333333333333 is not in allowed_accounts of the "
    "settings: add it there, or name only allowed accounts (the executor refuses any other)"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(RULES)
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_names_the_account_outside_allowed_accounts(project: Path) -> None:
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [NOT_ALLOWED]


def test_plan_refuses_it_before_reading_aws(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == 1
    assert NOT_ALLOWED in result.output.splitlines()
    assert "nothing was read from or changed in AWS" in result.output


def test_without_allowed_accounts_any_account_is_fine(project: Path) -> None:
    settings = SETTINGS.replace('allowed_accounts: ["111111111111", "222222222222"]\n', "")
    (project / "ouroboros.yaml").write_text(settings)
    assert CliRunner().invoke(cli, ["validate"]).exit_code == 0


def test_the_settings_keys_are_read_and_checked(project: Path) -> None:
    from reconciler.settings import load_settings

    settings = load_settings("ouroboros.yaml")
    assert settings.allowed_accounts == ("111111111111", "222222222222")
    assert settings.organization_id == "o-a1b2c3d4e5"
    bad = SETTINGS.replace('"222222222222"]', '"2222"]').replace("o-a1b2c3d4e5", "o-ABC")
    (project / "ouroboros.yaml").write_text(bad)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ouroboros.yaml:10:36: error: '2222' is not a 12-digit AWS account id",
        "ouroboros.yaml:11:18: error: 'o-ABC' is not an AWS Organizations id: o- and 10-32 "
        "lower-case letters and digits (`aws organizations describe-organization` shows it)",
    ]


def test_more_than_a_thousand_pairs_is_an_error_at_the_accounts(tmp_path: Path) -> None:
    accounts = ", ".join(f'"{n:012d}"' for n in range(100000000000, 100000000101))
    regions = ", ".join(f"eu-west-{n}" for n in range(1, 11))
    path = tmp_path / "big.yaml"
    path.write_text(
        RULES.replace('\n      - "111111111111"\n      - "333333333333"', f" [{accounts}]").replace(
            "[eu-west-1]", f"[{regions}]"
        )
    )
    result = load_rules([str(path)])
    # (eu-west-4 and above are unknown regions: warnings, not the point here)
    assert [d.text() for d in result.diagnostics if d.severity == "error"] == [
        f"{path}:4:15: error: 101 accounts x 10 regions is 1010 (account, region) pairs, more "
        "than 1000 in one rule: split it into rules with fewer accounts or regions"
    ]


def test_an_event_over_64_kib_is_an_error_at_the_rule(tmp_path: Path) -> None:
    values = ", ".join(f"v{n:03d}" + "x" * 250 for n in range(200))
    path = tmp_path / "big.yaml"
    path.write_text(RULES.replace("{tag:Env: dev}", f"{{tag:A: [{values}], tag:B: [{values}]}}"))
    (diagnostic,) = load_rules([str(path)]).diagnostics
    assert (diagnostic.line, diagnostic.col, diagnostic.severity) == (3, 5, "error")
    assert diagnostic.message.startswith("the executor event is ")
    assert diagnostic.message.endswith(
        " bytes of JSON, more than 65536 (64 KiB): split the rule, or shorten its lists of accounts, regions and values"
    )
