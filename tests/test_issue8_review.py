"""Issue 8 as merged, tried end to end through the CLI: the gaps a review found.

Each test failed on main after the merge of issue 8 (9ef2215) and passes with its fix.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from click.testing import CliRunner, Result
from moto.server import ThreadedMotoServer
from recon_support import ACCOUNT, GROUP, REGION, create_roles

from reconciler.cli import cli

SETTINGS = f"""\
version: 1
region: {REGION}
schedule_group: {GROUP}
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""

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


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture
def endpoint(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    requests.post(f"{server}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    create_roles(server)
    return server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
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
    (project / "ouroboros.yaml").write_text(SETTINGS.replace("version: 1", "version: 7"))
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
