"""Apply under faults, through the real CLI against moto's server: SIGTERM and kill -9.

The CLI runs in-process with click's CliRunner (as in test_e2e), or as a real subprocess
where the process itself has to die.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
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
    wait_for_apply_to_settle,
)

from reconciler import aws, output, runlog
from reconciler.cli import cli


def rules(*names: str) -> str:
    body = "".join(
        f"""\
  - name: {name}
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
"""
        for name in names
    )
    return f"version: 1\nrules:\n{body}"


LOCK_KEY = {"pk": {"S": runlog.LOCK_PK}, "sk": {"S": runlog.LOCK_SK}}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Path:
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "dev.yaml").write_text(rules("dev"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reconcile(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def dynamodb(endpoint: str) -> Any:
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)


def live_names(endpoint: str) -> set[str]:
    client = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
    return {s["Name"] for s in client.list_schedules(GroupName=GROUP)["Schedules"]}


def apply_records(endpoint: str) -> list[dict[str, Any]]:
    items = dynamodb(endpoint).query(
        TableName="ouroboros-runs",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "APPLY"}},
    )["Items"]
    return [runlog.from_item(item) for item in items]


def lock_item(endpoint: str) -> dict[str, Any] | None:
    item = dynamodb(endpoint).get_item(TableName="ouroboros-runs", Key=LOCK_KEY).get("Item")
    return runlog.from_item(item) if item else None


def send_sigterm() -> None:
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)


def test_sigterm_part_way_reports_records_releases_the_lock_and_exits_143(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "schedules" / "dev.yaml").write_text(rules("a", "b", "c"))
    creates = {"n": 0}

    def second_create(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 2:
            send_sigterm()
            wait_for_apply_to_settle()

    real = aws.make_clients

    def cancelled(region: str) -> aws.Clients:
        made = real(region)
        made.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", second_create)
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", cancelled)
    monkeypatch.setattr("reconciler.apply.WRITE_WORKERS", 1)
    stopped = reconcile("apply", "--yes")
    assert stopped.exit_code == 143
    assert "\n  + created schedule a-stop\n" in stopped.stdout
    assert "\n    not attempted: create schedule b-start\n" in stopped.stdout
    assert stopped.stdout.endswith(
        "\nApply interrupted: 6 created, 0 updated, 0 deleted; 0 failed, 4 not attempted.\n"
    )
    assert stopped.stderr == (
        # The trace of each change made (stdout is not a terminal), then the error.
        "[1/10] + created log_table ouroboros-runs\n"
        "[2/10] + created dead_letter_queue ouroboros-dead-letters\n"
        "[3/10] + created executor ouroboros-executor\n"
        "[4/10] + created schedule_group ouroboros\n"
        "[5/10] + created schedule a-start\n"
        "[6/10] + created schedule a-stop\n"
        "error: interrupted (SIGTERM): no change was started after it\n"
        "What was done above is live; run `reconcile apply` again to finish.\n"
    )
    assert live_names(endpoint) == {"a-start", "a-stop"}
    (record,) = apply_records(endpoint)
    assert record["outcome"] == "partial"
    assert record["error"] == "interrupted (SIGTERM): no change was started after it"
    assert lock_item(endpoint) is None  # released
    monkeypatch.setattr("reconciler.commands.plan.make_clients", real)
    rerun = reconcile("apply", "--yes", "--lock-timeout", "0")
    assert rerun.exit_code == 0, rerun.output
    assert "Apply complete: 4 created, 0 updated, 0 deleted." in rerun.stdout


def test_sigterm_while_the_apply_record_is_written_does_not_lose_it(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = aws.make_clients

    def cancel_at_the_record(params: dict[str, Any], **_: Any) -> None:
        if params["Item"]["pk"] == {"S": "APPLY"}:
            send_sigterm()  # this is the main thread: the handler runs right here

    def cancelled(region: str) -> aws.Clients:
        made = real(region)
        made.dynamodb.meta.events.register(
            "provide-client-params.dynamodb.PutItem", cancel_at_the_record
        )
        return made

    monkeypatch.setattr("reconciler.commands.plan.make_clients", cancelled)
    assert reconcile("apply", "--yes").exit_code == 0  # the first apply: the table exists
    (project / "schedules" / "dev.yaml").write_text(rules("dev", "more"))
    applied = reconcile("apply", "--yes")
    assert applied.exit_code == 0, applied.output  # it had finished: exit by what happened
    assert applied.stdout.endswith("\nApply complete: 2 created, 0 updated, 0 deleted.\n")
    assert sorted(r["summary"] for r in apply_records(endpoint)) == [
        "2 created, 0 updated, 0 deleted",
        "6 created, 0 updated, 0 deleted",
    ]
    assert lock_item(endpoint) is None


def test_plan_says_when_the_last_apply_died_holding_the_lock(project: Path, endpoint: str) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    dynamodb(endpoint).put_item(
        TableName="ouroboros-runs",
        Item={
            **LOCK_KEY,
            "owner": {"S": "alice@laptop:42/abcd"},
            "acquired_at": {"S": "2026-11-27T10:00:00Z"},
            "lease_expires_at": {"N": "1795773660"},  # 2026-11-27T10:01:00Z
            "lease_s": {"N": "60"},
            "version": {"S": "0123456789abcdef0123456789abcdef"},
        },
    )
    planned = reconcile("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert planned.stderr == (
        "warning: the previous apply (by alice@laptop:42/abcd, started 2026-11-27T10:00:00Z) "
        "did not finish: its lock was never released and its lease ran out at "
        "2026-11-27T10:01:00Z; the next apply takes the lock over after watching it for 60s, "
        "and converges\n"
    )


class CancelledWhileTyping(io.BytesIO):
    """Standard input on which SIGTERM arrives while the user is still deciding."""

    def read1(self, size: int | None = -1) -> bytes:
        send_sigterm()  # the main thread reads: its handler runs before this returns
        return super().read1(size)


def test_sigterm_at_the_confirmation_prompt_exits_143_having_changed_nothing(
    project: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    (project / "schedules" / "dev.yaml").write_text(rules("dev", "other"))
    monkeypatch.setattr(output, "stdin_is_tty", lambda: True)
    result = CliRunner().invoke(
        cli, ["apply"], input=CancelledWhileTyping(b"yes\n"), catch_exceptions=False
    )
    assert result.exit_code == 143, result.output
    assert result.stderr.endswith("error: interrupted (SIGTERM): no change was started after it\n")
    assert live_names(endpoint) == {"dev-start", "dev-stop"}
    assert lock_item(endpoint) is None


def _main_thread_in(function: str) -> bool:
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def test_sigterm_while_waiting_for_the_lock_exits_143_having_changed_nothing(
    project: Path, endpoint: str
) -> None:
    assert reconcile("apply", "--yes").exit_code == 0
    dynamodb(endpoint).put_item(
        TableName="ouroboros-runs",
        Item={
            **LOCK_KEY,
            "owner": {"S": "alice@laptop:42/abcd"},
            "acquired_at": {"S": "2026-11-27T10:00:00Z"},
            "lease_expires_at": {"N": "4102444800"},
        },
    )
    (project / "schedules" / "dev.yaml").write_text(rules("other"))

    def cancel_while_waiting() -> None:
        deadline = time.monotonic() + 30
        while not _main_thread_in("acquire") and time.monotonic() < deadline:
            time.sleep(0.01)
        send_sigterm()

    threading.Thread(target=cancel_while_waiting, daemon=True).start()
    stopped = reconcile("apply", "--yes", "--lock-timeout", "5m")
    assert stopped.exit_code == 143
    assert stopped.stderr.endswith("error: interrupted (SIGTERM): no change was started after it\n")
    assert live_names(endpoint) == {"dev-start", "dev-stop"}
    assert lock_item(endpoint)["owner"] == "alice@laptop:42/abcd"  # type: ignore[index]


# An apply in its own process, with a 2-second lease, that stops for good in its second
# CreateSchedule (before sending it) and says so on stdout: the moment to kill it.
HANGING_APPLY = """
import time

import reconciler.apply
import reconciler.commands.apply
import reconciler.commands.plan
from reconciler import aws
from reconciler.cli import cli

reconciler.commands.apply.DEFAULT_LEASE_S = 2
reconciler.apply.WRITE_WORKERS = 1
real = aws.make_clients
creates = []


def hang_in_the_second_create(request, **_):
    creates.append(request)
    if len(creates) == 2:
        print("HANGING", flush=True)
        time.sleep(600)


def make_clients(region):
    made = real(region)
    made.scheduler.meta.events.register(
        "before-send.scheduler.CreateSchedule", hang_in_the_second_create
    )
    return made


reconciler.commands.plan.make_clients = make_clients
cli.main(["apply", "--yes"], prog_name="reconcile")
"""


def _run_until_hanging(project: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_APPLY],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, proc.kill)  # never let a stuck child outlive the test
    watchdog.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line == "HANGING\n":
                return proc
    finally:
        watchdog.cancel()
    proc.wait(10)
    stderr = proc.stderr.read() if proc.stderr else ""
    raise AssertionError(f"the apply never reached its second create: {stderr}")


def test_after_kill_9_the_next_apply_says_the_last_one_did_not_finish_and_converges(
    project: Path, endpoint: str
) -> None:
    assert reconcile("apply", "--yes").exit_code == 0  # the table exists: applies lock
    (project / "schedules" / "dev.yaml").write_text(rules("dev", "a", "b"))
    with _run_until_hanging(project) as proc:
        proc.send_signal(signal.SIGKILL)  # no handler runs, nothing is cleaned up
        assert proc.wait(10) == -signal.SIGKILL
    assert live_names(endpoint) == {"dev-start", "dev-stop", "a-start"}
    holder = lock_item(endpoint)
    assert holder is not None  # left behind
    assert holder["lease_s"] == 2
    assert len(apply_records(endpoint)) == 1  # only the first apply's record

    rerun = reconcile("apply", "--yes", "--lock-timeout", "30s")
    assert rerun.exit_code == 0, rerun.output
    assert rerun.stderr.startswith("Waiting for the apply lock, held by ")
    warning, *trace = rerun.stderr.splitlines()[1:]
    assert warning == (
        f"warning: the previous apply (by {holder['owner']}, started {holder['acquired_at']}) "
        "did not finish: it stopped without releasing the apply lock (killed, or its release "
        "failed), so its apply record may be missing; this apply converges from what is live"
    )
    # Then the trace of each change (made concurrently: in any order).
    assert sorted(line.split("] ", 1)[1] for line in trace) == [
        "+ created schedule a-stop",
        "+ created schedule b-start",
        "+ created schedule b-stop",
    ]
    assert rerun.stdout.endswith("\nApply complete: 3 created, 0 updated, 0 deleted.\n")
    assert reconcile("plan", "--detailed-exitcode").exit_code == 0
    assert lock_item(endpoint) is None
