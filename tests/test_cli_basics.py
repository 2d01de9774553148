from __future__ import annotations

import subprocess
import sys

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
