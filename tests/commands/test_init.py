"""`reconcile init [DIR]` and `reconcile init --upgrade`, through click's CliRunner."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from reconciler import __version__, release
from reconciler.cli import cli

BIN = Path(sys.executable).parent
FILES = [
    ".github/workflows/apply.yml",
    ".github/workflows/drift.yml",
    ".github/workflows/plan-comment.yml",
    ".github/workflows/plan.yml",
    ".pre-commit-config.yaml",
    "README.md",
    "calendars/holidays.yaml",
    "ouroboros.yaml",
    "schedules/example.yaml",
]
TAG = f"v{__version__}"


def _reconcile(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def inside(tmp_path: Path) -> Iterator[Path]:
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(cwd)


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_init_scaffolds_a_rules_repository(tmp_path: Path) -> None:
    result = _reconcile("init", str(tmp_path / "fleet"))
    assert result.exit_code == 0, result.output
    assert files(tmp_path / "fleet") == FILES
    assert result.stdout.splitlines() == [f"created {tmp_path}/fleet/{f}" for f in FILES]
    assert f"A rules repository for Ouroboros {__version__}. Next:" in result.stderr
    assert f"cd {tmp_path}/fleet && reconcile validate" in result.stderr


def test_the_scaffold_validates_and_says_what_to_fill_in(inside: Path) -> None:
    assert _reconcile("init").exit_code == 0
    result = _reconcile("validate")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ouroboros.yaml:11:13: warning: executor.role_arn still holds the placeholder account "
        "000000000000 that `reconcile init` wrote: put the bootstrap stack's output "
        "ExecutorRoleArn here before `reconcile plan`",
        "ouroboros.yaml:12:21: warning: scheduler_role_arn still holds the placeholder account "
        "000000000000 that `reconcile init` wrote: put the bootstrap stack's output "
        "SchedulerRoleArn here before `reconcile plan`",
    ]
    assert "1 rule in 1 file and ouroboros.yaml: valid (2 warnings)" in result.stderr


def test_filled_in_settings_validate_without_a_warning(inside: Path) -> None:
    _reconcile("init")
    settings = inside / "ouroboros.yaml"
    settings.write_text(settings.read_text().replace("000000000000", "123456789012"))
    result = _reconcile("validate")
    assert (result.exit_code, result.stdout) == (0, "")


def test_half_filled_settings_name_the_placeholder_not_two_accounts(inside: Path) -> None:
    # The roles "in different accounts" warning would only repeat the placeholder's.
    _reconcile("init")
    settings = inside / "ouroboros.yaml"
    text = settings.read_text()
    settings.write_text(
        text.replace("000000000000:role/ouroboros-executor", "123456789012:role/ouroboros-executor")
    )
    result = _reconcile("validate")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "ouroboros.yaml:12:21: warning: scheduler_role_arn still holds the placeholder account "
        "000000000000 that `reconcile init` wrote: put the bootstrap stack's output "
        "SchedulerRoleArn here before `reconcile plan`",
    ]


def test_init_in_the_current_directory_says_no_cd(inside: Path) -> None:
    result = _reconcile("init")
    assert result.stdout.splitlines()[0] == "created .github/workflows/apply.yml"
    assert "  3. reconcile validate, then git init" in result.stderr


def test_init_writes_nothing_over_existing_files(inside: Path) -> None:
    (inside / "README.md").write_text("ours\n")
    (inside / "schedules").mkdir()
    (inside / "schedules" / "example.yaml").write_text("version: 1\nrules: []\n")
    result = _reconcile("init")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: 2 files already there in .: README.md, schedules/example.yaml; nothing was "
        "written. Use --force to overwrite them, or --upgrade to move an existing rules "
        "repository to this version\n"
    )
    assert files(inside) == ["README.md", "schedules/example.yaml"]
    assert (inside / "README.md").read_text() == "ours\n"


def test_force_overwrites_and_says_so(inside: Path) -> None:
    (inside / "README.md").write_text("ours\n")
    result = _reconcile("init", "--force")
    assert result.exit_code == 0
    assert "overwrote README.md" in result.stdout.splitlines()
    assert "created ouroboros.yaml" in result.stdout.splitlines()
    assert (inside / "README.md").read_text().startswith("# EC2 schedules\n")


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    result = _reconcile("init", str(tmp_path / "f"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path}/f is a file: name a directory for the new rules repository\n"
    )


def test_a_file_where_a_folder_belongs_is_a_clear_error(inside: Path) -> None:
    (inside / "schedules").write_text("not a folder\n")
    result = _reconcile("init")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot write schedules/example.yaml: ")
    assert result.stderr.endswith(
        "fix that path and run reconcile init again (with --force for the files it already wrote)\n"
    )


def test_the_readme_is_ten_lines_at_most(tmp_path: Path) -> None:
    _reconcile("init", str(tmp_path))
    assert len((tmp_path / "README.md").read_text().splitlines()) <= 10


# ---------------------------------------------------------------------------------------------
# What the scaffold pins: this version, everywhere.


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scaffold")
    assert _reconcile("init", str(root)).exit_code == 0
    return root


def _load(path: Path) -> dict[object, object]:
    data: dict[object, object] = yaml.safe_load(path.read_text())
    return data


@pytest.mark.parametrize("role", ["plan", "plan-comment", "apply", "drift"])
def test_each_workflow_calls_the_reusable_one_at_this_version(scaffold: Path, role: str) -> None:
    workflow = _load(scaffold / ".github" / "workflows" / f"{role}.yml")
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()  # type: ignore[attr-defined]
    assert job["uses"] == release.workflow_ref(role)
    assert job["uses"].endswith(f"@{TAG}")
    assert job["with"]["tool-version"] == __version__
    # Only the reusable workflow's own concurrency: a caller in the same group would deadlock.
    assert "concurrency" not in workflow
    assert "concurrency" not in job


def test_the_plan_comment_poster_runs_after_the_plan_workflow(scaffold: Path) -> None:
    workflows = scaffold / ".github" / "workflows"
    poster = _load(workflows / "plan-comment.yml")
    assert poster[True] == {  # YAML 1.1 reads the key `on` as True
        "workflow_run": {
            "workflows": [_load(workflows / "plan.yml")["name"]],
            "types": ["completed"],
        }
    }


def test_the_pre_commit_config_uses_this_repositorys_hook_at_this_version(scaffold: Path) -> None:
    config = _load(scaffold / ".pre-commit-config.yaml")
    assert config == {
        "repos": [{"repo": release.REPOSITORY_URL, "rev": TAG, "hooks": [{"id": release.HOOK_ID}]}]
    }
    manifest = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in manifest] == [release.HOOK_ID]
    result = subprocess.run(
        [str(BIN / "pre-commit"), "validate-config", str(scaffold / ".pre-commit-config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_modelines_name_the_released_schemas(scaffold: Path) -> None:
    rules = (scaffold / "schedules" / "example.yaml").read_text().splitlines()[0]
    settings = (scaffold / "ouroboros.yaml").read_text().splitlines()[0]
    assert rules == f"# yaml-language-server: $schema={release.schema_url('rules.schema.json')}"
    assert settings == (
        f"# yaml-language-server: $schema={release.schema_url('settings.schema.json')}"
    )


def test_no_template_field_is_left(scaffold: Path) -> None:
    for name in FILES:
        assert not re.search(r"@[A-Z_]+@", (scaffold / name).read_text()), name


# ---------------------------------------------------------------------------------------------
# --upgrade


OLD = "0.0.9"


def _old_repository(root: Path) -> None:
    """A rules repository scaffolded by an older version, with a line of its own in each file."""
    assert _reconcile("init", str(root)).exit_code == 0
    for name in FILES:
        path = root / name
        path.write_text(path.read_text().replace(__version__, OLD) + "# ours\n")


def test_upgrade_moves_every_pin_and_nothing_else(tmp_path: Path) -> None:
    _old_repository(tmp_path)
    before = {name: (tmp_path / name).read_text() for name in FILES}
    result = _reconcile("init", "--upgrade", str(tmp_path))
    assert result.exit_code == 0, result.output
    pinned = [n for n in FILES if n != "README.md"]
    assert result.stdout.splitlines() == sorted(
        f"upgraded {tmp_path}/{name} ({OLD} -> {__version__})" for name in pinned
    )
    for name in pinned:
        after = (tmp_path / name).read_text()
        assert after == before[name].replace(OLD, __version__), name
        assert after.endswith("# ours\n")
    # The README names the version in prose: left as the team wrote it.
    assert (tmp_path / "README.md").read_text() == before["README.md"]


def test_upgrade_of_a_current_repository_changes_nothing(tmp_path: Path) -> None:
    _reconcile("init", str(tmp_path))
    before = {name: (tmp_path / name).read_text() for name in FILES}
    result = _reconcile("init", "--upgrade", str(tmp_path))
    assert result.exit_code == 0
    assert all(line.startswith("up to date ") for line in result.stdout.splitlines())
    assert {name: (tmp_path / name).read_text() for name in FILES} == before


def test_upgrade_leaves_other_repositories_pins_alone(tmp_path: Path) -> None:
    _old_repository(tmp_path)
    config = tmp_path / ".pre-commit-config.yaml"
    other = (
        "  - repo: https://github.com/pre-commit/pre-commit-hooks\n    rev: v0.0.9\n"
        "    hooks:\n      - id: check-yaml\n"
    )
    config.write_text(config.read_text() + other)
    workflow = tmp_path / ".github" / "workflows" / "lint.yml"
    workflow.write_text("jobs:\n  x:\n    uses: acme/ci/.github/workflows/x.yml@v0.0.9\n")
    assert _reconcile("init", "--upgrade", str(tmp_path)).exit_code == 0
    assert other in config.read_text()
    assert f"rev: v{__version__}\n" in config.read_text()
    assert workflow.read_text() == "jobs:\n  x:\n    uses: acme/ci/.github/workflows/x.yml@v0.0.9\n"


def test_upgrade_refuses_to_go_back_without_force(tmp_path: Path) -> None:
    _old_repository(tmp_path)
    plan = tmp_path / ".github" / "workflows" / "plan.yml"
    plan.write_text(plan.read_text().replace(OLD, "99.0.0"))
    before = plan.read_text()
    result = _reconcile("init", "--upgrade", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path} pins Ouroboros 99.0.0, newer than this reconcile ({__version__}); "
        "nothing was changed. Install that version (pip install -U ouroboros-reconciler), or "
        f"use --force to go back to {__version__}\n"
    )
    assert plan.read_text() == before
    assert _reconcile("init", "--upgrade", "--force", str(tmp_path)).exit_code == 0
    assert "99.0.0" not in plan.read_text()


def test_upgrade_where_nothing_is_pinned_says_to_init(tmp_path: Path) -> None:
    (tmp_path / "schedules").mkdir()
    result = _reconcile("init", "--upgrade", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: no pinned Ouroboros version found in {tmp_path}: --upgrade moves the pins "
        "that `reconcile init` wrote; run `reconcile init` to scaffold a rules repository\n"
    )


def test_upgrade_of_a_missing_directory_is_refused(tmp_path: Path) -> None:
    result = _reconcile("init", "--upgrade", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {tmp_path}/nope is not a directory: run --upgrade in an existing rules "
        "repository\n"
    )
