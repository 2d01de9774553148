"""Which files under the rules directory are read, which are named as not read, and `--rules`
given a file where plan and apply need a directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from recon_support import ACCOUNT, REGION, SETTINGS_YAML

from reconciler.cli import cli
from reconciler.loader import load_rules

RULE = f"""\
version: 1
rules:
  - name: web
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
"""

NOT_READ = (
    "not read: rule files end in .yaml or .yml (lower case); rename it if it holds rules, "
    "or move it out of schedules"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "schedules"
    (rules / "team").mkdir(parents=True)
    (rules / ".git").mkdir()
    (rules / "web.yaml").write_text(RULE)
    for name in ("old.YAML", "web.yml.bak", "rules.json", "notes.txt", "team/todo.txt"):
        (rules / name).write_text("version: 1\nrules: []\n")
    # Silently left alone: hidden files and folders, and a README.
    for name in (".editorconfig", ".git/config", "README.md", "team/readme.txt"):
        (rules / name).write_text("x\n")
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    return tmp_path


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


UNREAD = (
    "schedules/notes.txt",
    "schedules/old.YAML",
    "schedules/rules.json",
    "schedules/team/todo.txt",
    "schedules/web.yml.bak",
)


@pytest.mark.usefixtures("project")
def test_files_not_read_are_each_a_warning() -> None:
    result = load_rules(["schedules"])
    assert result.ok
    assert [r.name for r in result.rules] == ["web"]
    assert result.files == ("schedules/web.yaml",)
    assert [d.text() for d in result.diagnostics] == [
        f"{path}:1:1: warning: {NOT_READ}" for path in UNREAD
    ]


@pytest.mark.usefixtures("project")
def test_validate_names_each_file_not_read() -> None:
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout == "".join(f"{path}:1:1: warning: {NOT_READ}\n" for path in UNREAD)
    assert result.stderr == "1 rule in 1 file and ouroboros.yaml: valid (5 warnings)\n"


@pytest.mark.usefixtures("project")
def test_validate_github_format_makes_them_warning_annotations() -> None:
    result = invoke("validate", "--format", "github")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        f"::warning file=schedules/notes.txt,line=1,col=1::{NOT_READ}"
    )


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("project", "aws")
def test_plan_warns_on_stderr_about_files_not_read() -> None:
    result = invoke("plan")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(
        "".join(f"{path}:1:1: warning: {NOT_READ}\n" for path in UNREAD)
    )
    assert "schedules/notes.txt" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--rules", "schedules/web.yaml"],
        ["apply", "--yes", "--rules", "schedules/web.yaml"],
        ["--rules", "schedules/web.yaml", "plan"],
        ["--rules", "schedules/web.yaml", "--dry-run"],
        ["--rules", "schedules/web.yaml", "--yes"],
    ],
)
@pytest.mark.usefixtures("project", "aws")
def test_rules_option_naming_a_file_is_a_usage_error_for_plan_and_apply(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: --rules schedules/web.yaml is a file, not a directory: point --rules at the "
        "directory of rule files (`reconcile validate FILE` checks a single file)\n"
    )
