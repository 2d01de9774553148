"""output: a stdout closed under us (`| head -1`) never turns into a traceback or an exit code."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import click
import pytest

from reconciler import output
from reconciler.ansi import style


class _ClosedPipe(io.TextIOBase):
    """What `| head -1` leaves once head has exited: every write fails with EPIPE."""

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    output.reset()
    yield
    output.reset()


def test_a_closed_stdout_drops_the_rest_quietly_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    output.out("first")
    output.out("second")
    output.err("on stderr")
    assert capsys.readouterr().err == "on stderr\n"


def test_apply_keeps_reporting_on_stderr_once_stdout_is_closed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    output.report_on_stderr_if_stdout_closes()
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    output.out("  + created schedule web-start")
    output.out("Apply complete: 1 created, 0 updated, 0 deleted.")
    assert capsys.readouterr().err == (
        "note: stdout was closed; the rest of the output goes to stderr\n"
        "  + created schedule web-start\n"
        "Apply complete: 1 created, 0 updated, 0 deleted.\n"
    )


def test_with_both_streams_closed_nothing_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `reconcile apply --yes 2>&1 | head -1`: stderr is the same closed pipe.
    output.report_on_stderr_if_stdout_closes()
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    monkeypatch.setattr(sys, "stderr", _ClosedPipe())
    output.out("  + created schedule web-start")
    output.err("[1/1] + created schedule web-start")
    output.out("Apply complete: 1 created, 0 updated, 0 deleted.")


@pytest.mark.parametrize("fg", [None, "red", "green", "yellow"])
@pytest.mark.parametrize("bold", [False, True])
def test_the_pure_styler_writes_what_click_writes(fg: str | None, bold: bool) -> None:
    # reconciler.ansi lets the pure renderers colour without importing click.
    assert style("x", fg=fg, bold=bold) == click.style("x", fg=fg, bold=bold)
