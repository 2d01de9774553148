"""The reusable workflows (on: workflow_call) a rules repository calls, and the release workflow.

They keep every guarantee of this repository's own workflows (tests/repo/test_workflows.py):
linted, actions pinned, no permission unless a job asks, OIDC roles, concurrency, environment,
the split between the job that runs pull-request input and the job that writes comments. They
install the tool from its tag with hashes, never from the pull request. And no job that runs
pull-request input, here or in a scaffolded rules repository, holds a write token or the apply
role.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler import __version__, release
from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
OWN = ("plan.yml", "apply.yml", "drift.yml", "plan-comment.yml", "report.yml")
REUSABLE = tuple(release.REUSABLE_WORKFLOWS.values())
RELEASE = "release.yml"
# This repository's jobs that call the reusable workflows (dogfooding), and the one they call.
DOGFOOD = [
    ("plan.yml", "plan", "reusable-plan.yml"),
    ("plan-comment.yml", "comment", "reusable-plan-comment.yml"),
    ("apply.yml", "apply", "reusable-apply.yml"),
]
PIN = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})\s+#\s+(?P<version>v\d+\.\d+\.\d+)\s*$"
)
TOOL_CHECKOUT = "./.ouroboros-tool"


def load_path(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def load(name: str) -> dict[str, Any]:
    return load_path(WORKFLOWS / name)


def job_of(name: str, job: str) -> dict[str, Any]:
    found: dict[str, Any] = load(name)["jobs"][job]
    return found


def step(name: str, job: str, title: str) -> dict[str, Any]:
    (found,) = [s for s in job_of(name, job)["steps"] if s.get("name") == title]
    return found


def writes(job: dict[str, Any]) -> set[str]:
    return {scope for scope, level in job.get("permissions", {}).items() if level == "write"}


# ---------------------------------------------------------------------------------------------
# Linters and pins.


def test_the_workflows_directory_holds_these() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == sorted((*OWN, *REUSABLE, RELEASE))


def _lint(*paths: Path) -> tuple[int, str]:
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or ""
    lint = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", f"-shellcheck={shellcheck}", "-pyflakes="]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=False,
    )
    return lint.returncode + schema.returncode, lint.stdout + lint.stderr + schema.stdout


def test_actionlint_and_the_schema_accept_the_reusable_and_release_workflows() -> None:
    code, out = _lint(*(WORKFLOWS / n for n in (*REUSABLE, RELEASE)))
    assert code == 0, out


def test_every_action_is_pinned_like_the_rest_of_the_repository() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    for name in (*OWN, *REUSABLE, RELEASE):
        for line in (WORKFLOWS / name).read_text().splitlines():
            if re.match(r"^\s*(-\s+)?uses:", line) and "./.github/workflows/" not in line:
                m = PIN.match(line)
                assert m, f"{name}: not pinned to a SHA with a '# vX.Y.Z' comment: {line}"
                pins.setdefault(m["action"], set()).add((m["sha"], m["version"]))
    # One version of each action everywhere, the reusable workflows included.
    assert {a: len(v) for a, v in pins.items()} == dict.fromkeys(pins, 1)
    assert "pypa/gh-action-pypi-publish" in pins


@pytest.mark.parametrize("name", [*REUSABLE, RELEASE])
def test_no_permission_unless_a_job_asks(name: str) -> None:
    data = load(name)
    assert data["permissions"] == {}
    for job in data["jobs"].values():
        assert isinstance(job["permissions"], dict)
        assert "timeout-minutes" in job
    assert "secrets." not in (WORKFLOWS / name).read_text()  # OIDC only, no stored keys


# ---------------------------------------------------------------------------------------------
# The reusable workflows: inputs, and the same guarantees as this repository's own.


COMMON_INPUTS = {"tool-version", "tool-repository", "tool-ref"}
RUN_INPUTS = COMMON_INPUTS | {"settings", "rules-dir", "python-version"}


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("reusable-plan.yml", RUN_INPUTS),
        ("reusable-plan-comment.yml", COMMON_INPUTS),
        ("reusable-apply.yml", RUN_INPUTS | {"environment", "allow-mass-delete"}),
        ("reusable-drift.yml", RUN_INPUTS),
    ],
)
def test_the_inputs(name: str, inputs: set[str]) -> None:
    trigger = load(name)["on"]
    assert list(trigger) == ["workflow_call"]
    declared = trigger["workflow_call"]["inputs"]
    assert set(declared) == inputs
    assert declared["tool-version"]["required"] is True
    assert declared["tool-repository"]["default"] == release.REPOSITORY
    assert all(spec.get("description") for spec in declared.values())
    if "settings" in declared:
        assert declared["settings"]["default"] == "ouroboros.yaml"
        assert declared["rules-dir"]["default"] == "schedules"
    if "environment" in declared:
        assert declared["environment"]["default"] == "production"
        assert declared["allow-mass-delete"] == {
            "description": declared["allow-mass-delete"]["description"],
            "type": "boolean",
            "default": False,
        }


@pytest.mark.parametrize(("own", "job", "reusable"), DOGFOOD)
def test_this_repository_calls_the_reusable_workflows(own: str, job: str, reusable: str) -> None:
    caller = load(own)["jobs"][job]
    assert caller["uses"] == f"./.github/workflows/{reusable}"
    # The tool built from the commit under test: this repository is the tool.
    assert caller["with"]["tool-version"] == __version__
    assert caller["with"]["tool-repository"] == "${{ github.repository }}"
    assert caller["with"]["tool-ref"] == "${{ github.sha }}"
    # The caller grants exactly what the called job asks for.
    (called,) = load(reusable)["jobs"].values()
    assert caller["permissions"] == called["permissions"]
    # A caller in the called job's concurrency group would wait for itself forever.
    if "concurrency" in load(own):
        assert load(own)["concurrency"]["group"] != called["concurrency"]["group"]


def test_the_reusable_drift_job_is_this_repositorys_drift_job() -> None:
    # drift.yml keeps its own job (other work on it is under way); the reusable one has the
    # same permissions, concurrency and steps from the plan role on.
    called, mine = job_of("reusable-drift.yml", "drift"), job_of("drift.yml", "drift")
    assert called["permissions"] == mine["permissions"]
    assert called["timeout-minutes"] == mine["timeout-minutes"]
    assert called["concurrency"] == load("drift.yml")["concurrency"]

    def tail(steps: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        start = [s.get("name") for s in steps].index("Install reconcile") + 1
        return [(s.get("name"), s.get("if"), s.get("continue-on-error")) for s in steps[start:]]

    assert tail(called["steps"]) == tail(mine["steps"])


def test_the_apply_job_runs_on_the_default_branch_in_the_chosen_environment() -> None:
    apply = job_of("reusable-apply.yml", "apply")
    assert (
        apply["if"]
        == "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    )
    assert apply["environment"] == {"name": "${{ inputs.environment }}"}
    report = step("reusable-apply.yml", "apply", "Report on the pull request")
    assert report["env"]["ENVIRONMENT_NAME"] == "${{ inputs.environment }}"
    find = step("reusable-apply.yml", "apply", "Find the merged pull request")
    assert find["env"]["DISPATCH_ALLOW_MASS_DELETE"] == "${{ inputs.allow-mass-delete }}"


def _tool_checkouts(name: str) -> Iterator[dict[str, Any]]:
    for job in load(name)["jobs"].values():
        for s in job["steps"]:
            if s.get("uses", "").startswith("actions/checkout@") and "repository" in s["with"]:
                yield s


@pytest.mark.parametrize("name", REUSABLE)
def test_the_tool_comes_from_its_tag(name: str) -> None:
    (checkout,) = _tool_checkouts(name)
    assert checkout["with"]["repository"] == "${{ inputs.tool-repository }}"
    assert (
        checkout["with"]["ref"] == "${{ inputs.tool-ref || format('v{0}', inputs.tool-version) }}"
    )
    assert checkout["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", sorted(set(REUSABLE) - {"reusable-plan-comment.yml"}))
def test_the_tool_is_installed_from_the_tags_hashed_lock(name: str) -> None:
    (job,) = load(name)["jobs"].values()
    (checkout,) = _tool_checkouts(name)
    assert checkout["with"]["path"] == TOOL_CHECKOUT.removeprefix("./")
    install = step(name, next(iter(load(name)["jobs"])), "Install reconcile")
    pips = [line.strip() for line in install["run"].splitlines() if "pip " in line]
    assert pips == [
        f"python -m pip install --quiet --require-hashes -r {TOOL_CHECKOUT.removeprefix('./')}"
        "/requirements/runtime.txt",
        f"python -m pip install --quiet --no-deps --no-build-isolation {TOOL_CHECKOUT}",
    ]
    assert install["env"] == {"TOOL_VERSION": "${{ inputs.tool-version }}"}
    python = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert python[0]["with"]["cache-dependency-path"] == ".ouroboros-tool/requirements/runtime.txt"
    # Nothing else installs anything: the pull request's checkout is data.
    others = [s.get("run", "") for s in job["steps"] if s.get("name") != "Install reconcile"]
    assert not any("pip " in run for run in others)


@pytest.mark.parametrize("name", REUSABLE)
def test_the_report_script_is_the_tools(name: str) -> None:
    for job in load(name)["jobs"].values():
        for s in job["steps"]:
            if s.get("uses", "").startswith("actions/github-script@"):
                script = s["with"]["script"]
                assert "${{" not in script
                expected = (
                    "./.github/scripts/report.js"  # the poster checks out the tool alone
                    if name == "reusable-plan-comment.yml"
                    else "./.ouroboros-tool/.github/scripts/report.js"
                )
                assert f"require('{expected}')" in script


def test_the_poster_checks_out_the_tools_scripts_only() -> None:
    (checkout,) = _tool_checkouts("reusable-plan-comment.yml")
    assert checkout["with"]["sparse-checkout"] == ".github/scripts"
    assert "path" not in checkout["with"]
    job = job_of("reusable-plan-comment.yml", "comment")
    assert not any("run" in s for s in job["steps"])  # no shell meets the artifact's text
    download = step("reusable-plan-comment.yml", "comment", "Download the rendered comment")
    assert download["with"]["path"].startswith("${{ runner.temp }}/")


# ---------------------------------------------------------------------------------------------
# The scripts, run: the install's version check, and the settings and rules reaching reconcile.


def _scripts() -> Iterator[tuple[str, str]]:
    for name in REUSABLE:
        for job in load(name)["jobs"].values():
            for s in job["steps"]:
                if "run" in s:
                    yield f"{name}/{s.get('name')}", s["run"]


def test_no_expression_is_pasted_into_a_script() -> None:
    for where, script in _scripts():
        assert "${{" not in script, where


def test_every_reconcile_command_passes_the_settings_and_the_rules() -> None:
    seen = set()
    for _, script in _scripts():
        for line in script.splitlines():
            if not line.strip().startswith("reconcile ") or "--version" in line:
                continue
            words = shlex.split(line)[1:]
            cut = next((i for i, w in enumerate(words) if w in {"|", "||", ">", "2>&1"}), None)
            args = words[:cut]
            if args[0] == "verify":  # checks what is deployed: it reads no rules
                assert args[-2:] == ["--settings", "$OUROBOROS_SETTINGS"]
            else:
                assert args[-4:] == [
                    "--rules",
                    "$OUROBOROS_RULES",
                    "--settings",
                    "$OUROBOROS_SETTINGS",
                ]
            parent = cli.make_context("reconcile", [])
            command = cli.get_command(parent, args[0])
            assert command is not None
            command.make_context(args[0], args[1:], parent=parent)  # the flags exist
            seen.add(args[0])
    assert seen == {"validate", "plan", "apply", "verify"}
    for name in sorted(set(REUSABLE) - {"reusable-plan-comment.yml"}):
        (job,) = load(name)["jobs"].values()
        assert job["env"]["OUROBOROS_SETTINGS"] == "${{ inputs.settings }}"
        assert job["env"]["OUROBOROS_RULES"] == "${{ inputs.rules-dir }}"


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run(tmp_path: Path, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    fakes = tmp_path / "bin"
    fakes.mkdir(exist_ok=True)
    _tool(fakes, "python", '#!/usr/bin/env bash\necho "python $*" >> "$FAKE_CALLS"\n')
    _tool(fakes, "reconcile", f'#!/usr/bin/env bash\necho "reconcile, version {__version__}"\n')
    (tmp_path / "calls").write_text("")
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env={
            "PATH": f"{fakes}{os.pathsep}{os.environ['PATH']}",
            "FAKE_CALLS": str(tmp_path / "calls"),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_install_installs_then_checks_the_version(tmp_path: Path) -> None:
    script = step("reusable-plan.yml", "plan", "Install reconcile")["run"]
    done = _run(tmp_path, script, TOOL_VERSION=__version__)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "calls").read_text().splitlines() == [
        "python -m pip install --quiet --require-hashes -r .ouroboros-tool/requirements/runtime.txt",
        "python -m pip install --quiet --no-deps --no-build-isolation ./.ouroboros-tool",
    ]


def test_a_tag_that_is_not_the_tool_version_fails_the_install(tmp_path: Path) -> None:
    script = step("reusable-drift.yml", "drift", "Install reconcile")["run"]
    done = _run(tmp_path, script, TOOL_VERSION="9.9.9")
    assert done.returncode == 1
    assert done.stdout == (
        f"::error::tool-version is 9.9.9 but the tool built is 'reconcile, version {__version__}': "
        "make tool-version and the tag agree (reconcile init --upgrade).\n"
    )


# ---------------------------------------------------------------------------------------------
# No job that runs pull-request input holds a write token or the apply role: this repository's
# workflows, and a scaffolded rules repository's with the reusable workflows they call.


def _triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow["on"]
    return {on} if isinstance(on, str) else set(on)


def _called(uses: str) -> dict[str, Any] | None:
    """The workflow a job calls: a local one, or one of this tool's reusable workflows."""
    prefix = f"{release.REPOSITORY}/.github/workflows/"
    if uses.startswith("./.github/workflows/"):
        return load_path(ROOT / uses)
    if uses.startswith(prefix):
        return load(uses.removeprefix(prefix).split("@", 1)[0])
    return None


def _effective_jobs(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(name, job, text) of each job that runs, following calls into reusable workflows; a
    called job's permissions are capped by the calling job's."""
    for name, job in workflow["jobs"].items():
        called = _called(job["uses"]) if "uses" in job else None
        if called is None:
            yield name, job, yaml.safe_dump(job)
            continue
        for inner_name, inner in called["jobs"].items():
            caps = job.get("permissions", {})
            capped = {k: v for k, v in inner.get("permissions", {}).items() if caps.get(k) == v}
            yield f"{name}/{inner_name}", {**inner, "permissions": capped}, yaml.safe_dump(inner)


def pull_request_jobs(workflows: list[Path]) -> Iterator[tuple[str, dict[str, Any], str]]:
    for path in workflows:
        workflow = load_path(path)
        triggers = _triggers(workflow)
        assert "pull_request_target" not in triggers, path  # PR code with a write token
        if "pull_request" in triggers:
            for name, job, text in _effective_jobs(workflow):
                yield f"{path.name}:{name}", job, text


def _scaffold(tmp_path: Path) -> Path:
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    return tmp_path / ".github" / "workflows"


def _assert_no_write_and_no_apply_role(workflows: list[Path]) -> list[str]:
    checked = []
    for where, job, text in pull_request_jobs(workflows):
        assert writes(job) <= {"id-token"}, where
        assert "AWS_APPLY_ROLE_ARN" not in text, where
        assert "environment" not in job, where  # the apply role trusts its environment
        checked.append(where)
    return checked


def test_no_pull_request_job_here_holds_a_write_token_or_the_apply_role() -> None:
    checked = _assert_no_write_and_no_apply_role(sorted(WORKFLOWS.glob("*.yml")))
    assert checked == ["plan.yml:test", "plan.yml:plan/plan"]


def test_nor_in_a_scaffolded_rules_repository(tmp_path: Path) -> None:
    checked = _assert_no_write_and_no_apply_role(sorted(_scaffold(tmp_path).glob("*.yml")))
    assert checked == ["plan.yml:plan/plan"]


def test_the_check_catches_a_pull_request_job_that_can_write(tmp_path: Path) -> None:
    workflows = _scaffold(tmp_path)
    plan = workflows / "plan.yml"
    plan.write_text(plan.read_text().replace("reusable-plan.yml", "reusable-apply.yml"))
    with pytest.raises(AssertionError, match=r"plan\.yml:plan/apply"):
        _assert_no_write_and_no_apply_role([plan])
    # A capped permission is no permission: the called job gets only what the caller grants.
    capped = dict(next(j for _, j, _ in _effective_jobs(load_path(plan))))
    assert capped["permissions"] == {"contents": "read", "id-token": "write"}


def test_the_scaffolded_workflows_pass_the_linters_and_pin_this_version(tmp_path: Path) -> None:
    workflows = _scaffold(tmp_path)
    code, out = _lint(*sorted(workflows.glob("*.yml")))
    assert code == 0, out
    for path in workflows.glob("*.yml"):
        (job,) = load_path(path)["jobs"].values()
        assert job["uses"].endswith(f"@v{__version__}"), path.name
        assert _called(job["uses"]) is not None, path.name  # a reusable workflow that exists


# ---------------------------------------------------------------------------------------------
# The release workflow.


def test_release_runs_on_version_tags_and_publishes_by_oidc() -> None:
    workflow = load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*.*.*"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert list(jobs) == ["build", "publish", "github-release"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert next(s.get("run") for s in jobs["build"]["steps"] if "run" in s) == "make locked"
    assert "bash .ci/run" in [s.get("run") for s in jobs["build"]["steps"]]
    publish = jobs["publish"]
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}  # trusted publishing, no token
    assert publish["environment"]["name"] == "pypi"
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish["steps"][-1]  # no password: OIDC
    assert jobs["github-release"]["needs"] == "publish"
    assert jobs["github-release"]["permissions"] == {"contents": "write"}


def test_release_builds_with_the_locked_build_requirements() -> None:
    build = step(RELEASE, "build", "Build the sdist and the wheel")["run"]
    assert ".venv/bin/python -m build --no-isolation --outdir dist ." in build


@pytest.mark.parametrize(
    ("tag", "code"), [(f"v{__version__}", 0), ("v9.9.9", 1)], ids=["matches", "differs"]
)
def test_release_refuses_a_tag_that_is_not_the_version(tmp_path: Path, tag: str, code: int) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    _tool(
        tmp_path / ".venv" / "bin",
        "reconcile",
        f'#!/bin/sh\necho "reconcile, version {__version__}"\n',
    )
    done = _run(
        tmp_path, step(RELEASE, "build", "The tag is the version")["run"], GITHUB_REF_NAME=tag
    )
    assert done.returncode == code, done.stdout + done.stderr


def _release_notes(tmp_path: Path, tag: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "CHANGELOG.md", tmp_path / "CHANGELOG.md")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "x.whl").write_text("")
    (tmp_path / "bin").mkdir()
    _tool(tmp_path / "bin", "gh", '#!/usr/bin/env bash\necho "gh $*" >> "$FAKE_CALLS"\n')
    script = step(RELEASE, "github-release", "Create the release with the packages")["run"]
    return _run(tmp_path, script, GITHUB_REF_NAME=tag, GITHUB_REPOSITORY="acme/ouroboros")


def test_release_notes_are_the_versions_changelog_section(tmp_path: Path) -> None:
    done = _release_notes(tmp_path, f"v{__version__}")
    assert done.returncode == 0, done.stdout + done.stderr
    notes = (tmp_path / "notes.md").read_text()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    section = changelog.split(f"## [{__version__}]", 1)[1].split("\n", 1)[1].split("\n## [")[0]
    section = section.split("\n[Unreleased]:")[0]  # the links at the foot are not notes
    assert notes.strip() == section.strip()
    assert (tmp_path / "calls").read_text() == (
        f"gh release create v{__version__} dist/x.whl --repo acme/ouroboros --title "
        f"v{__version__} --notes-file notes.md --verify-tag\n"
    )


def test_a_version_without_a_changelog_section_is_not_released(tmp_path: Path) -> None:
    done = _release_notes(tmp_path, "v9.9.9")
    assert done.returncode == 1
    assert "::error::CHANGELOG.md has no section for 9.9.9." in done.stdout
    assert (tmp_path / "calls").read_text() == ""
