"""The real command in a subprocess, against moto's server: what a pipe or a CI runner sees."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from recon_support import ACCOUNT, GROUP, REGION, create_roles

REPO = Path(__file__).resolve().parents[2]

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
  - name: web
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
"""


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto's state is per process, shared with any other server or mock this worker ran.
    requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    create_roles(url)
    yield url
    server.stop()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
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
    assert first == "Ouroboros will make these changes in eu-west-1 (schedule group ouroboros):\n"
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "note: stdout was closed; the rest of the output goes to stderr\n" in err
    assert err.endswith("\nApply complete: 5 created, 0 updated, 0 deleted.\n")
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
