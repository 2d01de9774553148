"""The real command in a subprocess, against moto's server: what a pipe or a CI runner sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from recon_support import ACCOUNT, GROUP, REGION, SETTINGS_YAML

REPO = Path(__file__).resolve().parents[2]

RULES = f"""\
version: 1
rules:
  - name: web
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "web.yaml").write_text(RULES)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return tmp_path


def test_apply_piped_into_head_finishes_and_reports_on_stderr(project: Path, endpoint: str) -> None:
    # `reconcile apply --yes | head -1`: the reader goes away after the first line.
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--yes"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    _out, err = proc.communicate(timeout=120)
    assert first == "Rules this plan changes:\n"  # the reviewer's blocks lead the plan
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "note: stdout was closed; the rest of the output goes to stderr\n" in err
    assert err.endswith("\nApply complete: 6 created, 0 updated, 0 deleted.\n")
    scheduler = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
    names = {s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]}
    assert names == {"web-start", "web-stop"}


def test_apply_with_both_streams_into_head_still_finishes(project: Path, endpoint: str) -> None:
    # `reconcile apply --yes 2>&1 | head -1`: nowhere left to report, and still no change lost.
    proc = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--yes"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    scheduler = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
    names = {s["Name"] for s in scheduler.list_schedules(GroupName=GROUP)["Schedules"]}
    assert names == {"web-start", "web-stop"}
