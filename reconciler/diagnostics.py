"""Problems found in input files, and the two ways to print them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from reconciler.checks import escape_controls

Severity = Literal["error", "warning", "notice"]  # notice: workflow annotations only


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at a place in a file. Lines and columns are 1-based, as editors show them."""

    file: str
    line: int
    col: int
    severity: Severity
    message: str

    def text(self) -> str:
        where = f"{one_line(self.file)}:{self.line}:{self.col}"
        return f"{where}: {self.severity}: {one_line(self.message)}"

    def github(self) -> str:
        """A GitHub Actions workflow command, shown as an annotation on the PR's file."""
        props = ",".join(
            [
                f"file={_escape_property(self.file)}",
                f"line={self.line}",
                f"col={self.col}",
            ]
        )
        return f"::{self.severity} {props}::{_escape_data(self.message)}"


def one_line(message: str) -> str:
    """The message with line breaks from quoted values written as \\n, so each diagnostic
    stays one line for grep, editors' problem matchers and the summary that follows, and every
    other control character escaped too (ESC as \\x1b): rule files and their names are
    untrusted text, and a raw ESC or BEL would drive the reader's terminal."""
    return escape_controls(message)


def sort_diagnostics(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """By file, then line and column; errors before warnings at the same place; no repeats."""
    return sorted(
        set(diags), key=lambda d: (d.file, d.line, d.col, d.severity != "error", d.message)
    )


def has_errors(diags: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diags)


def _escape_data(value: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts (escapeData);
    # other control characters are escaped as in text, the log is shown in a terminal too.
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escape_controls(value)


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
