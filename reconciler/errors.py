"""The errors every layer raises (after pre-commit's errors module): no click, no botocore.

Expected failures raise `FatalError` (or a subclass): one message, exit 1. Bugs the code
detects itself raise `InternalError`: exit 3. The CLI handler (reconciler.cli_errors) turns
them, and everything else, into exit codes.
"""

from __future__ import annotations


class FatalError(Exception):
    """An expected failure the user can act on. The message says what and what to do."""

    exit_code = 1


class InternalError(Exception):
    """A state the code itself rules out: a bug in ouroboros, never the user's input.

    Not a FatalError, so nothing catches it as one: the CLI handler reports it as a bug (exit 3,
    the traceback in a crash log).
    """

    exit_code = 3


def at(location: object | None) -> str:
    """The `file:line:col: ` prefix of a message about something loaded from a file, or ""."""
    return f"{location}: " if location is not None else ""
