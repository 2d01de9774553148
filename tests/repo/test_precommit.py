"""The pre-commit hook (.pre-commit-hooks.yaml) and the schema modelines of the examples.

The manifest is checked by pre-commit itself; its entry is run through the installed console
script on good and bad files; and pre-commit really runs the hook (its file filter, filename
passing and serial run) in a scratch git repository, with the hook's language switched to
`system` so that no environment has to be downloaded.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent
RULES_MODELINE = "# yaml-language-server: $schema=../schemas/rules.schema.json"
SETTINGS_MODELINE = "# yaml-language-server: $schema=schemas/settings.schema.json"

GOOD = """\
version: 1
rules:
  - name: {name}
    accounts: ["111111111111"]
    regions: [eu-west-1]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
"""
BAD = GOOD.replace("cron(0 8 ? * MON-FRI *)", "cron(0 8 * * MON-FRI *)")


def hook() -> dict[str, Any]:
    (only,) = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(only, dict)
    return only


def test_manifest_declares_the_validate_hook() -> None:
    assert hook() == {
        "id": "ouroboros-validate",
        "name": "ouroboros validate",
        "description": (
            "Check Ouroboros schedule rules (schema, EventBridge expressions, time zones, "
            "filters, names)."
        ),
        "entry": "reconcile validate",
        "language": "python",
        "files": r"^schedules/.*\.ya?ml$",
        "pass_filenames": True,
        # One process for all staged files, so duplicate names among them are caught.
        "require_serial": True,
        "minimum_pre_commit_version": "3.0.0",
    }


def test_pre_commit_accepts_the_manifest() -> None:
    result = subprocess.run(
        [str(BIN / "pre-commit"), "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("path", "selected"),
    [
        ("schedules/dev.yaml", True),
        ("schedules/team/payments.yml", True),
        ("ouroboros.yaml", False),
        ("schemas/rules.schema.json", False),
        ("schedules/README.md", False),
        ("other/schedules/dev.yaml", False),
    ],
)
def test_the_hook_selects_rule_files_only(path: str, selected: bool) -> None:
    assert bool(re.search(hook()["files"], path)) is selected


def _entry(cwd: Path, *files: str) -> subprocess.CompletedProcess[str]:
    program, *args = shlex.split(hook()["entry"])
    return subprocess.run(
        [str(BIN / program), *args, *files],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "good.yaml").write_text(GOOD.format(name="dev-office-hours"))
    (tmp_path / "schedules" / "bad.yaml").write_text(BAD.format(name="dev-nights"))
    (tmp_path / "schedules" / "twin.yaml").write_text(GOOD.format(name="dev-office-hours"))
    return tmp_path


def test_entry_passes_a_good_file(repo: Path) -> None:
    result = _entry(repo, "schedules/good.yaml")
    assert (result.returncode, result.stdout) == (0, "")
    assert "1 rule in 1 file: valid" in result.stderr


def test_entry_fails_a_bad_file_with_its_location(repo: Path) -> None:
    result = _entry(repo, "schedules/good.yaml", "schedules/bad.yaml")
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("schedules/bad.yaml:8:")
    assert ": error: " in line
    assert "day-of-month" in line or "day-of-week" in line


def test_entry_catches_a_name_used_twice_among_the_files(repo: Path) -> None:
    result = _entry(repo, "schedules/good.yaml", "schedules/twin.yaml")
    assert result.returncode == 1
    assert "dev-office-hours" in result.stdout


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _pre_commit_run(repo: Path) -> subprocess.CompletedProcess[str]:
    # The published hook with language `system`: the same entry, filter and passing of names,
    # run by pre-commit itself against the `reconcile` already installed in this venv.
    local = {**hook(), "language": "system"}
    local.pop("minimum_pre_commit_version")
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(config))
    _git(repo, "add", "-A")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
        "NO_COLOR": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    return subprocess.run(
        [str(BIN / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    assert shutil.which("git")
    repo = tmp_path / "fleet"
    (repo / "schedules").mkdir(parents=True)
    (repo / "schedules" / "good.yaml").write_text(GOOD.format(name="dev-office-hours"))
    # Not a rule file: the hook must not look at it.
    (repo / "notes.yaml").write_text("version: [not, a, rule, file\n")
    _git(repo, "init", "-q", "-b", "main")
    return repo


def test_pre_commit_runs_the_hook_on_rule_files(git_repo: Path) -> None:
    result = _pre_commit_run(git_repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"ouroboros validate\.+Passed", result.stdout)


def test_pre_commit_blocks_a_bad_rule_file(git_repo: Path) -> None:
    (git_repo / "schedules" / "bad.yaml").write_text(BAD.format(name="dev-nights"))
    result = _pre_commit_run(git_repo)
    assert result.returncode == 1
    assert re.search(r"ouroboros validate\.+Failed", result.stdout)
    assert "schedules/bad.yaml:8:" in result.stdout


# ---------------------------------------------------------------------------------------------
# Modelines: editors complete and check the files against the schemas.


# The rule files this repository ships. A team's copy may delete or replace them, and its own
# files need no modeline (a missing comment must not fail its CI), but a modeline that is there
# must lead to the schema from the file's own folder.
SHIPPED_RULE_FILES = ("development.yaml", "test-environments.yaml")
MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=(?P<target>\S+)\s*$")


def wrong_modelines(root: Path) -> list[str]:
    """Rule files under root/schedules whose modeline does not lead to the rules schema."""
    schema = (root / "schemas" / "rules.schema.json").resolve()
    wrong = []
    for path in sorted((root / "schedules").rglob("*.y*ml")):
        first = (path.read_text(encoding="utf-8").splitlines() or [""])[0]
        m = MODELINE.match(first)
        if m and (path.parent / m["target"]).resolve() != schema:
            wrong.append(str(path.relative_to(root)))
    return wrong


def test_the_shipped_examples_name_the_rules_schema() -> None:
    for name in SHIPPED_RULE_FILES:
        path = ROOT / "schedules" / name
        if path.exists():
            assert path.read_text().splitlines()[0] == RULES_MODELINE, name


def test_every_modeline_in_the_rules_leads_to_the_rules_schema() -> None:
    assert wrong_modelines(ROOT) == []


def test_a_modeline_that_misses_the_schema_is_found(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "rules.schema.json").write_text("{}")
    team = tmp_path / "schedules" / "team"
    team.mkdir(parents=True)
    body = GOOD.format(name="dev-office-hours")
    (tmp_path / "schedules" / "top.yaml").write_text(f"{RULES_MODELINE}\n{body}")
    (tmp_path / "schedules" / "plain.yaml").write_text(body)  # none: fine
    (team / "right.yaml").write_text(RULES_MODELINE.replace("../", "../../") + "\n" + body)
    (team / "copied.yaml").write_text(f"{RULES_MODELINE}\n{body}")  # one folder too shallow
    assert wrong_modelines(tmp_path) == ["schedules/team/copied.yaml"]


def test_the_settings_example_names_the_settings_schema() -> None:
    assert (ROOT / "ouroboros.yaml").read_text().splitlines()[0] == SETTINGS_MODELINE


@pytest.mark.parametrize(
    ("modeline", "base"),
    [(RULES_MODELINE, ROOT / "schedules"), (SETTINGS_MODELINE, ROOT)],
    ids=["rules", "settings"],
)
def test_modelines_point_at_real_schemas(modeline: str, base: Path) -> None:
    target = (base / modeline.split("$schema=", 1)[1]).resolve()
    schema = json.loads(target.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
