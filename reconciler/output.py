"""All terminal output goes through here, so tests capture it without patching print."""

from __future__ import annotations

import os
import sys
from typing import IO

import click


def out(text: str = "", nl: bool = True) -> None:
    click.echo(text, nl=nl)


def err(text: str = "", nl: bool = True) -> None:
    click.echo(text, err=True, nl=nl)


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


def style(text: str, fg: str | None = None, bold: bool = False, enabled: bool = True) -> str:
    if not enabled:
        return text
    return click.style(text, fg=fg, bold=bold)
