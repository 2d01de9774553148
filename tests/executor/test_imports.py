"""The executor ships alone: its zip holds reconciler/__init__.py, awserror.py, calendars.py,
checks.py, runlog.py, timeengine.py and reconciler/executor/*.py, and the vendored holidays and
tzdata, beside the Lambda runtime's standard library and boto3. Prove that
nothing else is needed, statically (every import statement) and by importing and running it
with the CLI's dependencies blocked."""

from __future__ import annotations

import ast
import io
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import reconciler
from reconciler.package import build_executor_zip, vendored_sources

PACKAGE = Path(reconciler.__file__).parent
SHIPPED = [
    PACKAGE / "__init__.py",
    PACKAGE / "awserror.py",
    PACKAGE / "calendars.py",
    PACKAGE / "checks.py",
    PACKAGE / "runlog.py",
    PACKAGE / "timeengine.py",
    *sorted((PACKAGE / "executor").glob("*.py")),
]
ALLOWED_OWN = {
    "reconciler",
    "reconciler.awserror",
    "reconciler.calendars",
    "reconciler.checks",
    "reconciler.runlog",
    "reconciler.timeengine",
    "reconciler.executor",
}
# holidays is vendored into the zip (package.vendored_sources); the runtime has the rest.
ALLOWED_THIRD_PARTY = {"boto3", "botocore", "holidays"}


def _type_only(tree: ast.AST) -> set[ast.AST]:
    """The nodes under `if TYPE_CHECKING:` (the boto3 stubs): never run, so never shipped."""
    return {
        inner
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = _type_only(tree)
    for node in ast.walk(tree):
        if node in type_only:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return names


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    if top == "reconciler":
        inside = (
            "reconciler.executor.",
            "reconciler.calendars.",
            "reconciler.checks.",
            "reconciler.runlog.",
            "reconciler.timeengine.",
        )
        return name in ALLOWED_OWN or name.startswith(inside)
    return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_import_statement_is_shippable(path: Path) -> None:
    bad = [name for name in _imports(path) if not _allowed(name)]
    assert bad == []


def test_the_import_check_refuses_what_the_zip_does_not_hold() -> None:
    # The test above passes on a file it cannot judge; this one shows that it judges.
    refused = ["click", "yaml", "jsonschema", "reconciler.loader", "reconciler.aws"]
    assert [name for name in refused if _allowed(name)] == []
    assert all(_allowed(name) for name in ("json", "boto3", "reconciler.executor.run"))


BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    ALLOWED = {"reconciler", "reconciler.awserror", "reconciler.calendars", "reconciler.checks",
               "reconciler.runlog", "reconciler.timeengine", "reconciler.executor"}
    BLOCKED = ("click", "yaml", "jsonschema", "croniter", "moto")

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.split(".")[0]
            if top in BLOCKED:
                raise ImportError(f"the executor zip has no {name}")
            if top == "reconciler" and name not in ALLOWED and not name.startswith("reconciler.executor."):
                raise ImportError(f"the executor zip has no {name}")
            return None

    sys.meta_path.insert(0, Blocker())
    """
)

PROGRAM = textwrap.dedent(
    """
    import importlib, os, pathlib, sys
    import reconciler
    assert pathlib.Path(reconciler.__file__).parent.parent == pathlib.Path(sys.argv[1]), reconciler.__file__
    for path in sorted(pathlib.Path(sys.argv[1], "reconciler", "executor").glob("*.py")):
        importlib.import_module("reconciler.executor." + path.stem if path.stem != "__init__" else "reconciler.executor")
    from reconciler.executor.handler import handler

    class Context:
        invoked_function_arn = "arn:aws:lambda:eu-west-1:111111111111:function:ouroboros-executor"
        aws_request_id = "r-1"
        def get_remaining_time_in_millis(self):
            return 300000

    print(handler({"version": 1, "targets": {}}, Context())["status"])
    os.environ.pop("OUROBOROS_LOG_TABLE", None)
    event = {
        "version": 1, "rule": "r", "action": "stop", "hibernate": False,
        "accounts": ["111111111111"], "regions": ["eu-west-1"], "targets": {"tag:A": ["b"]},
        "max_instances": 10, "role_name": "t",
        "schedule_arn": "arn:aws:scheduler:eu-west-1:111111111111:schedule/g/r-stop",
        "scheduled_time": "2026-11-27T19:00:00Z", "execution_id": "e",
    }
    print(handler(event, Context())["problems"][0])
    print(sorted(m for m in ("click", "yaml", "jsonschema", "croniter") if m in sys.modules))
    """
)


def test_the_zip_ships_exactly_these_files() -> None:
    names = zipfile.ZipFile(io.BytesIO(build_executor_zip().zip_bytes)).namelist()
    own = [n for n in names if n.startswith("reconciler/")]
    assert own == sorted(path.relative_to(PACKAGE.parent).as_posix() for path in SHIPPED)
    assert [n for n in names if n not in own] == [name for name, _ in vendored_sources()]


def test_the_shipped_files_import_and_run_with_everything_else_blocked(tmp_path: Path) -> None:
    # The very zip `reconcile apply` deploys, unpacked as Lambda unpacks it into /var/task.
    zipfile.ZipFile(io.BytesIO(build_executor_zip().zip_bytes)).extractall(tmp_path)
    script = tmp_path / "run.py"
    script.write_text(BLOCKER + PROGRAM, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "refused",
        "OUROBOROS_LOG_TABLE is not set: the function needs its log table name",
        "[]",
    ]


ZONES_AND_HOLIDAYS = textwrap.dedent(
    """
    import pathlib, sys, zoneinfo
    from datetime import UTC, datetime
    root = pathlib.Path(sys.argv[1])
    import holidays, tzdata
    from reconciler.calendars import Calendar, skip_reason_at
    for module in (holidays, tzdata):
        assert pathlib.Path(module.__file__).is_relative_to(root), module.__file__
    print(zoneinfo.ZoneInfo("Australia/Sydney").utcoffset(datetime(2026, 11, 27)))
    christmas_eve_late = datetime(2026, 12, 24, 23, 30, tzinfo=UTC)
    print(skip_reason_at(Calendar("de-by", "DE", "BY", timezone="Europe/Berlin"), christmas_eve_late))
    """
)


def test_the_zip_resolves_zones_and_holidays_without_system_zone_data(tmp_path: Path) -> None:
    # The python3.12 runtime may have no /usr/share/zoneinfo: the zip's tzdata must serve,
    # and its holidays (with each country's own-language names) must be the ones imported.
    task = tmp_path / "task"
    zipfile.ZipFile(io.BytesIO(build_executor_zip().zip_bytes)).extractall(task)
    script = task / "zones.py"
    script.write_text(ZONES_AND_HOLIDAYS, encoding="utf-8")
    no_zones = tmp_path / "no-zoneinfo"
    no_zones.mkdir()
    proc = subprocess.run(
        [sys.executable, str(script), str(task)],
        capture_output=True,
        text=True,
        check=False,
        cwd=task,
        env={"PYTHONTZPATH": str(no_zones), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "11:00:00",
        "calendar de-by: 2026-12-25 is a public holiday in DE-BY (Erster Weihnachtstag)",
    ]
