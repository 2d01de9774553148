"""All terminal output goes through here, so tests capture it without patching print."""

from __future__ import annotations

import os
import sys
from typing import IO

import click

from reconciler import ansi


class _Streams:
    """What became of stdout and stderr: a reader that went away (`| head -1`) must not change
    what a command does, only where the rest of its output goes."""

    stdout_closed = False
    stderr_closed = False
    report_on_stderr = False


def out(text: str = "", nl: bool = True) -> None:
    if not _Streams.stdout_closed:
        try:
            click.echo(text, nl=nl)
            return
        except BrokenPipeError:
            _Streams.stdout_closed = True
            _to_devnull(sys.stdout)
            if _Streams.report_on_stderr:
                err("note: stdout was closed; the rest of the output goes to stderr")
    if _Streams.report_on_stderr:
        err(text, nl=nl)


def err(text: str = "", nl: bool = True) -> None:
    if _Streams.stderr_closed:
        return  # nowhere left to say anything; the work goes on
    try:
        click.echo(text, err=True, nl=nl)
    except BrokenPipeError:
        _Streams.stderr_closed = True
        _to_devnull(sys.stderr)


def report_on_stderr_if_stdout_closes() -> None:
    """For apply: what it did must be told somewhere, even after its reader went away."""
    _Streams.report_on_stderr = True


def reset() -> None:
    """Forget closed streams (tests run many commands in one process)."""
    _Streams.stdout_closed = False
    _Streams.stderr_closed = False
    _Streams.report_on_stderr = False


def _to_devnull(stream: IO[str]) -> None:
    """Point the stream's descriptor at /dev/null, so the interpreter's last flush of what is
    still buffered cannot fail too (Python would print "Exception ignored" and exit 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real descriptor (a test's stream)
        pass


def is_tty(stream: IO[str] | None = None) -> bool:
    stream = stream if stream is not None else sys.stdout
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def stdin_is_tty() -> bool:
    return is_tty(sys.stdin)


def use_color(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, never with NO_COLOR (https://no-color.org) or TERM=dumb."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("TERM") == "dumb":
        return False
    return is_tty(stream)


style = ansi.style  # the pure renderers import it from reconciler.ansi
