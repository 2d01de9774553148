"""`reconcile report` through the CLI: the rules, the log table on moto, the files written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import html5lib
import pytest
from click.testing import CliRunner, Result
from recon_support import LOG_TABLE

from reconciler import runlog
from reconciler.cli import cli
from reconciler.commands import report

CLOCK = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
FAR = 2**40
SETTINGS = f"""\
version: 1
region: eu-west-1
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::123456789012:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::123456789012:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: {LOG_TABLE}
"""
RULES = """\
version: 1
rules:
  - name: dev-office-hours
    description: Dev boxes <script>alert(1)</script>
    timezone: Europe/Berlin
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
  - name: build-agents
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      tag:Role: build-agent
    stop: cron(0 22 * * ? *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "rules.yaml").write_text(RULES)
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(report, "_now", lambda: CLOCK)
    monkeypatch.delenv("GITHUB_SERVER_URL", raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    return tmp_path


def reconcile(*args: str) -> Result:
    return CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)


def put_run(client: Any, rule: str, when: str, **fields: Any) -> None:
    key = (rule, when, "stop", "123456789012", "eu-west-1")
    item = {
        **runlog.run_key(*key),
        **runlog.run_index(*key),
        "kind": "run",
        "rule": rule,
        "action": "stop",
        "account": "123456789012",
        "region": "eu-west-1",
        "scheduled_time": when,
        "status": "ok",
        "matched": 2,
        "acted": ["i-0a", "i-0b"],
        "skipped": [],
        "errors": [],
        "expires_at": FAR,
        **fields,
    }
    client.put_item(TableName=LOG_TABLE, Item=runlog.to_item(item))


def words(path: Path) -> str:
    tree = html5lib.HTMLParser(strict=True).parse(path.read_text(encoding="utf-8"))
    return " ".join(" ".join(tree.itertext()).split())


def test_online_report_reads_runs_and_applies(project: Path, ddb: Any) -> None:
    put_run(ddb, "dev-office-hours", "2026-11-27T18:00:00Z")
    put_run(ddb, "dev-office-hours", "2026-11-26T18:00:00Z", status="failed", detail="AccessDenied")
    put_run(ddb, "dev-office-hours", "2026-11-10T18:00:00Z")  # before the 7 days
    runlog.put_apply_record(
        ddb,
        LOG_TABLE,
        {
            "started_at": "2026-11-27T09:00:00Z",
            "finished_at": "2026-11-27T09:00:05Z",
            "actor": "alice",
            "commit": "0f3c2a9e5b7d1c4e",
            "outcome": "ok",
            "summary": "2 created, 0 updated, 0 deleted",
            "changes": [],
            "duration_ms": 5000,
            "pr_number": 42,
        },
    )
    result = reconcile("--out", "site")
    assert result.exit_code == 0, result.output
    assert result.stdout == "site/index.html\n"
    assert result.stderr == (
        "report: 2 rules, 2 runs and 1 apply in the last 7 days; 5 files, "
        f"{sum(p.stat().st_size for p in (project / 'site').rglob('*') if p.is_file()) / 1024:.0f} KiB\n"
    )
    index = words(project / "site" / "index.html")
    assert "2 runs in the last 7 days: 1 failed, 1 ok." in index
    assert "By alice at commit 0f3c2a9e5b7d (pull request #42)." in index
    assert "Dev boxes <script>alert(1)</script>" in index
    assert "run log (table ouroboros-runs in eu-west-1)" in index
    failed = index.split("Failed or missed firings", 1)[1].split("Rules", 1)[0]
    assert (
        "2026-11-26 18:00 UTC dev-office-hours stop failed 123456789012/eu-west-1: AccessDenied"
        in failed
    )
    page = words(project / "site" / "rules" / "dev-office-hours.html")
    assert "Runs of dev-office-hours in the last 7 days, newest first" in page
    assert "2026-11-27 18:00 UTC stop 123456789012/eu-west-1 ok 2 2 0 0" in page


def test_offline_needs_neither_credentials_nor_settings(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "ouroboros.yaml").unlink()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    result = reconcile("--out", "site", "--offline")
    assert result.exit_code == 0, result.output
    assert "report: 2 rules, offline: no run log read; 5 files" in result.stderr
    assert "Offline report: rules and their times only." in words(project / "site" / "index.html")


def test_online_without_credentials_points_at_offline(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(project / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(project / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = reconcile("--out", "site")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: no AWS credentials to read the run log: set AWS_PROFILE or AWS_ACCESS_KEY_ID "
        "and AWS_SECRET_ACCESS_KEY, or run `reconcile report --offline` for the rules and their "
        "times alone\n",
    )
    assert not (project / "site").exists()


def test_a_missing_log_table_says_what_to_do(project: Path, ddb: Any) -> None:
    ddb.delete_table(TableName=LOG_TABLE)
    result = reconcile("--out", "site")
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: log table {LOG_TABLE} not found in eu-west-1: `reconcile apply` creates it; "
        "check log_table and region in ouroboros.yaml, or run `reconcile report --offline`\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "error: --days must be between 1 and 90, not 0\n"),
        (["--days", "91"], "error: --days must be between 1 and 90, not 91\n"),
        (["--plan", "missing.json"], "error: --plan missing.json: No such file or directory\n"),
    ],
)
def test_bad_options(project: Path, args: list[str], message: str) -> None:
    result = reconcile("--out", "site", "--offline", *args)
    assert (result.exit_code, result.stderr) == (1, message)


def test_out_must_be_new_empty_or_an_earlier_report(project: Path) -> None:
    (project / "file").write_text("x")
    result = reconcile("--out", "file", "--offline")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --out file is a file: give a directory for the report's pages\n",
    )
    (project / "docs").mkdir()
    (project / "docs" / "keep.md").write_text("mine")
    result = reconcile("--out", "docs", "--offline")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --out docs is not empty and holds no earlier report: give a new or empty "
        "directory (the report replaces what it wrote before, and nothing else)\n",
    )
    assert (project / "docs" / "keep.md").read_text() == "mine"


def test_a_new_report_replaces_the_earlier_one(project: Path) -> None:
    assert reconcile("--out", "site", "--offline").exit_code == 0
    assert (project / "site" / "rules" / "build-agents.html").exists()
    (project / "schedules" / "rules.yaml").write_text(RULES.split("  - name: build-agents")[0])
    (project / "site" / "CNAME").write_text("report.example.com")  # someone else's file stays
    assert reconcile("--out", "site", "--offline").exit_code == 0
    assert sorted(p.name for p in (project / "site" / "rules").iterdir()) == [
        "dev-office-hours.html"
    ]
    assert (project / "site" / "CNAME").read_text() == "report.example.com"


def test_invalid_rules_write_no_report(project: Path) -> None:
    (project / "schedules" / "rules.yaml").write_text(RULES.replace("MON-FRI", "MON-XYZ", 1))
    result = reconcile("--out", "site", "--offline")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "error: the rules have 1 error (listed above): fix them and run again; no report was "
        "written\n"
    )
    assert not (project / "site").exists()


def test_target_counts_from_a_saved_plan(project: Path) -> None:
    plan = {
        "format_version": 1,
        "summary": {"create": 0, "update": 0, "delete": 0, "unchanged": 4},
        "changes": [],
        "rules": [
            {"name": "dev-office-hours", "targets": {"count": 12}},
            {"name": "build-agents", "targets": {"count": "many"}},
        ],
    }
    (project / "plan.json").write_text(json.dumps(plan))
    result = reconcile("--out", "site", "--offline", "--plan", "plan.json")
    assert result.exit_code == 0, result.output
    page = words(project / "site" / "rules" / "dev-office-hours.html")
    assert "Targets 12 (from plan.json)" in page
    assert "2 rules; targets from plan.json" in words(project / "site" / "index.html")


def test_a_plan_without_a_preview_is_noted(project: Path) -> None:
    (project / "plan.json").write_text(json.dumps({"format_version": 1, "changes": []}))
    result = reconcile("--out", "site", "--offline", "--plan", "plan.json")
    assert result.exit_code == 0
    assert "note: --plan plan.json holds no target counts; the report shows none\n" in result.stderr
    (project / "plan.json").write_text("{not json")
    result = reconcile("--out", "site", "--offline", "--plan", "plan.json")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --plan plan.json is not JSON: save it with "
        "`reconcile plan --format json --out FILE`\n",
    )


def test_apply_records_link_to_the_repository_in_github_actions(
    project: Path, ddb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/schedules")
    runlog.put_apply_record(
        ddb,
        LOG_TABLE,
        {
            "started_at": "2026-11-27T09:00:00Z",
            "finished_at": "2026-11-27T09:00:05Z",
            "actor": "alice",
            "commit": "0f3c2a9e5b7d1c4e",
            "outcome": "ok",
            "summary": "no changes",
            "changes": [],
            "duration_ms": 5000,
        },
    )
    assert reconcile("--out", "site").exit_code == 0
    html = (project / "site" / "index.html").read_text()
    assert '<a href="https://github.com/acme/schedules/commit/0f3c2a9e5b7d1c4e">' in html


VERIFY = {
    "expected": 10,
    "ok": 7,
    "missed": [
        {
            "rule": "dev-office-hours",
            "action": "start",
            "scheduled_time": "2026-11-27T07:00:00Z",
            "detail": "no run in the log",
        }
    ],
    "failed": [],
    "late": [
        {
            "rule": "build-agents",
            "action": "stop",
            "scheduled_time": "2026-11-26T22:00:00Z",
            "detail": "first run started 4m after the scheduled time",
        }
    ],
}


def test_verify_findings_head_the_page(project: Path, ddb: Any) -> None:
    put_run(ddb, "dev-office-hours", "2026-11-26T18:00:00Z", status="failed", detail="AccessDenied")
    (project / "verify.json").write_text(json.dumps(VERIFY))
    result = reconcile("--out", "site", "--verify", "verify.json")
    assert result.exit_code == 0, result.output
    index = words(project / "site" / "index.html")
    found = index.split("Failed or missed firings", 1)[1].split("Rules", 1)[0]
    assert found.startswith(" 3 firings that did not go as planned in the last 7 days ")
    assert "2026-11-27 07:00 UTC dev-office-hours start missed no run in the log" in found
    assert "2026-11-26 22:00 UTC build-agents stop late first run started 4m after" in found
    assert "2026-11-26 18:00 UTC dev-office-hours stop failed" in found
    assert "include those reconcile verify found" in found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "it needs the lists missed, failed, late"),
        ('{"missed": []}', "it needs the lists missed, failed, late"),
        ("nope", "is not JSON: save it with `reconcile verify --format json > FILE`"),
    ],
)
def test_a_bad_verify_file_is_refused(project: Path, text: str, message: str) -> None:
    (project / "verify.json").write_text(text)
    result = reconcile("--out", "site", "--offline", "--verify", "verify.json")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --verify verify.json ")
    assert message in result.stderr
