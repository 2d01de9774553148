from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconciler.cli import cli


def test_help_lists_every_pinned_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("validate", "plan", "apply", "next", "logs", "demo"):
        assert command in result.output


def test_usage_error_exits_1_not_2() -> None:
    # With --detailed-exitcode, 2 means "changes": a typo must never look like that.
    result = CliRunner().invoke(cli, ["plan", "--no-such-option"])
    assert result.exit_code == 1
    assert "No such option" in result.output


def test_python_dash_m_is_the_same_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("reconcile, version ")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--dry-run", "apply", "--yes"], "--dry-run"),
        (["--dry-run", "apply"], "--dry-run"),
        (["--yes", "plan"], "--yes"),
        (["-y", "apply"], "--yes"),
        (["--allow-delete-all", "apply", "--yes"], "--allow-delete-all"),
        (["--dry-run", "validate"], "--dry-run"),
        (["--rules", "schedules", "--dry-run", "logs"], "--dry-run"),
    ],
)
def test_group_options_before_a_subcommand_are_a_usage_error(
    args: list[str], option: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    called: list[str] = []
    for name in ("apply", "plan", "validate", "logs"):
        module = importlib.import_module(f"reconciler.commands.{name}")
        monkeypatch.setattr(module, "run", lambda *_a, _n=name, **_k: called.append(_n) or 0)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    subcommand = next(a for a in args if not a.startswith("-") and a != "schedules")
    assert result.stderr == (
        f"error: {option} before `{subcommand}` is not allowed: put options after the "
        f"subcommand (`reconcile {subcommand} --help` lists them), or use `reconcile plan` "
        "for a dry run; nothing was done\n"
    )
    assert called == []  # refused before the subcommand ran: nothing read, nothing written


def test_group_path_options_still_reach_the_subcommand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(
        importlib.import_module("reconciler.commands.plan"),
        "run",
        lambda **kw: seen.update(kw) or 0,
    )
    result = CliRunner().invoke(cli, ["--rules", "r", "--settings", "s.yaml", "plan"])
    assert result.exit_code == 0, result.output
    assert (seen["rules_dir"], seen["settings_path"]) == ("r", "s.yaml")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], {"apply": {"yes": False, "allow_mass_delete": False}}),
        (["--yes"], {"apply": {"yes": True, "allow_mass_delete": False}}),
        (["--yes", "--allow-mass-delete"], {"apply": {"yes": True, "allow_mass_delete": True}}),
        # The deprecated name still works, as the new one.
        (["--yes", "--allow-delete-all"], {"apply": {"yes": True, "allow_mass_delete": True}}),
        (["--dry-run"], {"plan": {"detailed_exitcode": False}}),
    ],
)
def test_group_options_without_a_subcommand_work_as_before(
    args: list[str], expected: dict[str, dict[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, dict[str, object]] = {}
    for name in ("apply", "plan"):
        module = importlib.import_module(f"reconciler.commands.{name}")
        monkeypatch.setattr(module, "run", lambda _n=name, **kw: seen.update({_n: kw}) or 0)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    [(command, kwargs)] = seen.items()
    assert command in expected
    for key, value in expected[command].items():
        assert kwargs[key] == value
