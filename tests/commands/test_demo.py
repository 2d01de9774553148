"""`reconcile demo`: the whole loop on embedded moto, with no AWS account or credentials."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import reconciler
from reconciler.cli import cli

# The demo runs moto in process (the CLI starts it, so conftest cannot see it).
pytestmark = pytest.mark.aws

REPO = Path(__file__).resolve().parents[2]
# A Friday: the window holds a weekday start and stop, the nightly stop, and the Friday batch stop;
# four days reach Monday, the office calendar's closure day.
FRIDAY = "2026-12-04T00:00:00Z"


def _demo(*args: str) -> Result:
    return CliRunner().invoke(cli, ["demo", "--start", FRIDAY, *args])


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A newcomer's machine: no keys at all, and a profile that does not exist."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_PROFILE", "nobody-has-this-profile")


@pytest.mark.usefixtures("no_credentials")
def test_demo_runs_the_whole_loop_without_an_account() -> None:
    result = _demo("--days", "4")
    out = result.output
    assert result.exit_code == 0, out
    # validate, plan, apply, and a second plan that finds nothing to do
    assert "7 rules in 3 files and ouroboros.yaml: valid" in out
    assert "Plan: 17 to create, 0 to update, 0 to delete." in out
    assert "Apply complete: 17 created, 0 updated, 0 deleted." in out
    assert "No changes." in out
    assert "exit code 0" in out
    # firings through the real executor: across accounts and regions, with every outcome shown
    assert "Fri 04 Dec 03:00 UTC (22:00 America/New_York)  test-nightly-stop  ok" in out
    assert "123456789012/eu-west-1  ok: stopped test-app (hibernated), test-worker" in out
    assert "123456789012/us-east-1  ok: stopped test-etl" in out
    assert "(the same occurrence delivered again)" in out
    assert "duplicate: nothing done again (the first delivery did it)" in out
    assert "222222222222/eu-west-1  ok: stopped dev-api-1, dev-api-2" in out
    assert "skipped dev-asg-a (member of Auto Scaling group web" in out
    assert "refused: 6 instances to stop, more than max_instances (5): acted on none" in out
    # A dev database, an Aurora cluster and Auto Scaling groups started and stopped (§9)
    assert "dev-databases-start  ok\n    123456789012/eu-west-1  ok: started dev-mysql" in out
    assert (
        "ok: stopped dev-postgres, dev-mysql; skipped dev-reporting-replica (read replica of "
        "reporting: AWS cannot stop a read replica)"
    ) in out
    assert "dev-aurora-start  ok\n    123456789012/eu-west-1  ok: started dev-aurora" in out
    assert "dev-aurora-stop  ok\n    123456789012/eu-west-1  ok: stopped dev-aurora" in out
    assert "dev-web-groups-start  ok\n    123456789012/eu-west-1  ok: started dev-batch" in out
    assert "dev-web-groups-stop  ok\n    123456789012/eu-west-1  ok: stopped web, dev-batch" in out
    assert "rds dev-postgres, dev-mysql; skipped: 1 read replica" in out
    # fire-time decisions (§12): an override, a window held on by another rule, a calendar day
    assert "dev-web-2 is also tagged ouroboros:skip-until=2026-12-05T00:00:00Z" in out
    assert (
        "123456789012/eu-west-1  ok: stopped dev-web-1, dev-db; skipped dev-asg-a (member of Auto "
        "Scaling group web: schedule the group with `resource: asg`); skipped dev-release (held on by "
        "rule release-evenings until 2026-12-04T22:00:00+01:00); skipped dev-web-2 (override "
        "until 2026-12-05T00:00:00Z)"
    ) in out
    assert "Fri 04 Dec 21:00 UTC (22:00 Europe/Berlin)  release-evenings-stop  ok" in out
    assert "123456789012/eu-west-1  ok: stopped dev-release" in out
    assert "Mon 07 Dec 07:00 UTC (08:00 Europe/Berlin)  dev-office-hours-start  skipped" in out
    assert "222222222222/eu-west-1  skipped: calendar office: 2026-12-07 is one of its dates" in out
    # the run log, read back from DynamoDB: the apply record and every run
    assert "(apply)" in out
    assert "17 created, 0 updated, 0 deleted" in out
    assert "37 entries: 2 duplicate, 30 ok, 1 refused, 4 skipped" in out


@pytest.mark.usefixtures("no_credentials")
def test_demo_leaves_the_environment_as_it_found_it() -> None:
    before = dict(os.environ)
    cwd = os.getcwd()
    assert _demo("--days", "1").exit_code == 0
    assert dict(os.environ) == before
    assert os.getcwd() == cwd


def test_demo_plays_your_own_rules_against_the_sample_fleet() -> None:
    result = _demo("--days", "2", "--rules", str(REPO / "schedules"))
    assert result.exit_code == 0, result.output
    assert ": valid" in result.output
    assert "No changes." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "error: --days 0: give a number of days from 1 to 31"),
        (["--start", "next friday"], "error: --start 'next friday' is not an ISO 8601 instant"),
    ],
)
def test_demo_bad_options_exit_1_with_a_message(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["demo", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_demo_without_moto_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # What `pip install .` (no extra) leaves: importing moto fails.
    monkeypatch.setitem(sys.modules, "moto", None)
    result = _demo("--days", "1")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: reconcile demo needs moto, which a plain `pip install .` leaves out: "
        'pip install "ouroboros-reconciler[demo]" (or, in a checkout, pip install ".[demo]")\n'
    )


def test_the_demo_lives_with_the_commands_it_drives() -> None:
    # It runs validate, plan and apply: a module below the commands could not (import-linter).
    package = Path(reconciler.__file__).parent
    assert not (package / "demo.py").exists()
    assert (package / "commands" / "demo.py").is_file()
