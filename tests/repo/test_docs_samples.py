"""The command output the docs show is real: every marked sample is run and compared.

A marker is an HTML comment on the line before a fenced block or a blockquote:

- `<!-- check: reconcile ARGS -->`: runs `reconcile ARGS`; the block is its output, stdout and
  stderr as a terminal shows them.
- `<!-- check -->` before a console block: runs each `$ reconcile ...` line in turn (a
  `< /dev/null` is an empty stdin); the lines up to the next `$` are that command's output, and
  `$ echo $?` prints the exit code of the last one.
- `<!-- check-file: PATH -->`: the block is not run but is the file PATH, which a later check on
  the same page writes into its project first when it says `check with PATH`.
- `check after drift`: first apply the example rules, then change AWS by hand the way the drift
  sample says (the executor's memory, one schedule's time, state and retry policy).

Each sample runs in a fresh project holding copies of the repository's `schedules/` and
`ouroboros.yaml`, as its working directory, on an in-process moto whose account is the
settings' (111111111111) and which holds the roles the bootstrap stack creates (the demo starts
its own moto instead).

A line `...`, or one like `(... 9 more, cut here ...)`, stands for any number of lines of real
output: a sample may be an excerpt. Only what must vary from run to run is normalised, in the
sample and in the output alike: the time the demo takes; the time, user and commit of an apply
record (now, the local user, the working tree's commit); the demo's execution ids (random, as
Scheduler's are); the executor's CodeSha256 (it changes with every edit of the executor's
code); the temporary project's path; and the per-change trace (`[4/6] + created ...`) apply
writes to stderr off a terminal, where a terminal shows a counter instead.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md"))
ACCOUNT = "111111111111"  # the account of the example ouroboros.yaml
_MARKER = re.compile(
    r"^<!-- check(?P<file>-file: (?P<path>\S+))?"
    r"(?: with (?P<with>[^:]+?))?(?: after (?P<after>\w+))?(?:: (?P<command>.+?))? -->$"
)
_ELISION = re.compile(r"^\s*(\.\.\.|\(\.\.\. .*\))\s*$")


@dataclass(frozen=True)
class Sample:
    page: Path
    line: int
    command: str | None  # None: a console block of `$` lines
    files: tuple[str, ...]
    after: str | None
    text: str

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _block(lines: list[str], start: int) -> str:
    """The fenced block or blockquote that starts at lines[start]."""
    first = lines[start]
    if first.startswith(">"):
        quoted = []
        for line in lines[start:]:
            if not line.startswith(">"):
                break
            quoted.append(line[2:] if line.startswith("> ") else line[1:])
        return "\n".join(quoted)
    fence = first[: len(first) - len(first.lstrip("`"))]
    assert len(fence) >= 3, f"a check marker must precede a code block, not {first!r}"
    end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == fence)
    return "\n".join(lines[start + 1 : end])


def _collect() -> tuple[list[Sample], dict[tuple[Path, str], str]]:
    samples: list[Sample] = []
    files: dict[tuple[Path, str], str] = {}
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            marker = _MARKER.match(line.strip())
            if not marker:
                continue
            text = _block(lines, number + 1)
            if marker["file"]:
                files[(page, marker["path"])] = text + "\n"
                continue
            samples.append(
                Sample(
                    page=page,
                    line=number + 1,
                    command=marker["command"],
                    files=tuple((marker["with"] or "").split()),
                    after=marker["after"],
                    text=text,
                )
            )
    return samples, files


SAMPLES, FILES = _collect()


def test_the_docs_mark_the_samples_they_promise() -> None:
    marked = {s.page.relative_to(ROOT).as_posix() for s in SAMPLES}
    commands = " ".join(s.command or s.text for s in SAMPLES)
    for page in (
        "docs/tutorial/demo.md",
        "docs/tutorial/gitops.md",
        "docs/reference/commands.md",
        "docs/reference/expressions.md",
        "docs/reference/json-plan.md",
        "docs/explanation/plan-apply.md",
    ):
        assert page in marked
    for command in ("validate", "next", "plan", "apply", "demo", "logs"):
        assert f"reconcile {command}" in commands


# --- running -----------------------------------------------------------------------------------


def _invoke(command: str) -> tuple[str, int]:
    stdin = ""
    command = command.replace("< /dev/null", "").strip()
    words = shlex.split(command)
    assert words[0] == "reconcile", f"only reconcile commands can be checked: {command}"
    result = CliRunner().invoke(cli, words[1:], input=stdin)
    return result.output, result.exit_code


def _run_console(text: str) -> str:
    """Runs each `$` line of a console block and returns the transcript it would show."""
    transcript: list[str] = []
    exit_code = 0
    for line in text.splitlines():
        if not line.startswith("$ "):
            continue
        command = line[2:]
        transcript.append(line)
        if command == "echo $?":
            transcript.append(str(exit_code))
            continue
        output, exit_code = _invoke(command)
        transcript.extend(output.splitlines())
    return "\n".join(transcript)


def _drift() -> None:
    """By hand, in the console: the executor's memory shrunk, one schedule paused and moved
    (the console leaves the retry policy at AWS's defaults)."""
    output, code = _invoke("reconcile apply --yes")
    assert code == 0, output
    boto3.client("lambda").update_function_configuration(
        FunctionName="ouroboros-executor", MemorySize=128
    )
    scheduler = boto3.client("scheduler")
    live = scheduler.get_schedule(GroupName="ouroboros", Name="dev-office-hours-stop")
    target = live["Target"]
    target["RetryPolicy"] = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    scheduler.update_schedule(
        Name=live["Name"],
        GroupName=live["GroupName"],
        ScheduleExpression="cron(0 21 ? * MON-FRI *)",
        ScheduleExpressionTimezone=live["ScheduleExpressionTimezone"],
        FlexibleTimeWindow=live["FlexibleTimeWindow"],
        State="DISABLED",
        Target=target,
        Description=live.get("Description", ""),
    )


_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "schedules", tmp_path / "schedules")
    shutil.copy(ROOT / "ouroboros.yaml", tmp_path / "ouroboros.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(sample: Sample, project: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for path in sample.files:
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(FILES[(sample.page, path)], encoding="utf-8")
    if sample.command and sample.command.startswith("reconcile demo"):
        return _invoke(sample.command)[0]  # the demo brings its own moto
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    with mock_aws():
        iam = boto3.client("iam")
        for role in ("ouroboros-executor", "ouroboros-scheduler"):
            iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_TRUST))
        if sample.after == "drift":
            _drift()
        if sample.command:
            return _invoke(sample.command)[0]
        return _run_console(sample.text)


# --- comparing ---------------------------------------------------------------------------------

_VARYING = [
    (re.compile(r"finished in \d+\.\d s"), "finished in <seconds> s"),
    (re.compile(r'CodeSha256: "[A-Za-z0-9+/=]{44}"'), 'CodeSha256: "<sha256>"'),
    (re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(  \(apply\) )"), r"<now>\1"),
    (re.compile(r"; by \S+ at \S+$"), "; by <user> at <commit>"),
    (re.compile(r"execution [0-9a-f]{8} already"), "execution <id> already"),
]


def _normalise(text: str, project: Path) -> list[str]:
    lines = []
    for line in text.replace(str(project), "<project>").splitlines():
        if re.match(r"^\[\d+/\d+\] ", line):
            continue
        for pattern, replacement in _VARYING:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    return lines


def _matched_prefix(expected: list[str], actual: list[str]) -> tuple[int, bool]:
    """How many expected lines match the start of the real output, an elision line matching
    any run of lines (a glob over lines); and whether all of it matches, to its end."""
    reachable = {0}  # how many actual lines the expected lines so far can account for
    for count, line in enumerate(expected):
        if _ELISION.match(line):
            step = set(range(min(reachable), len(actual) + 1))
        else:
            step = {i + 1 for i in reachable if i < len(actual) and actual[i] == line}
        if not step:
            return count, False
        reachable = step
    return len(expected), len(actual) in reachable


def _matches(expected: list[str], actual: list[str]) -> bool:
    return _matched_prefix(expected, actual)[1]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_a_docs_sample_matches_a_real_run(
    sample: Sample, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = _normalise(_run(sample, project, monkeypatch), project)
    expected = _normalise(sample.text, project)
    if sample.command is None:  # a blank line between two commands only separates them
        expected = [
            line
            for i, line in enumerate(expected)
            if line or not expected[i + 1 :] or not expected[i + 1].startswith("$ ")
        ]
    matched, whole = _matched_prefix(expected, actual)
    if not whole:
        where = expected[matched] if matched < len(expected) else "(the end of the sample)"
        real = "\n".join(actual)
        pytest.fail(
            f"{sample.name}: the sample differs from a real run from its line {matched + 1}: "
            f"{where!r}\nThe real run (normalised):\n{real}"
        )


def test_an_excerpt_matches_only_in_order() -> None:
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert _matches(["...", "c"], ["a", "b", "c"])
    assert _matches(["a", "(... 2 more, cut here ...)", "d"], ["a", "d"])
    assert not _matches(["a", "...", "d"], ["a", "b", "c"])
    assert not _matches(["b", "..."], ["a", "b"])
    assert not _matches(["a"], ["a", "b"])
