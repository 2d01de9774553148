"""One error path for the CLI (after pre-commit's error_handler).

Expected failures raise `FatalError` (or a subclass): one message, exit 1. AWS client errors,
missing credentials and unreachable endpoints become a message with advice, exit 1. Anything
else is a bug: exit 3, with the traceback written to a log file rather than the terminal.
Ctrl-C is exit 130. No other module calls sys.exit.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import traceback
from collections.abc import Callable

import click

from reconciler import output
from reconciler.checks import escape_controls
from reconciler.errors import FatalError


def _describe_aws(exc: Exception) -> str | None:
    """The AWS wording, loading the AWS layer only when botocore was loaded to raise `exc`."""
    if "botocore" not in sys.modules:
        return None
    from reconciler.aws import describe_aws_exception

    return describe_aws_exception(exc)


def _write_crash_log(text: str) -> str:
    """A new file per crash (mkstemp: unique name, created 0600, never follows a planted link)."""
    fd, path = tempfile.mkstemp(prefix="ouroboros-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _report_bug(exc: Exception) -> None:
    headline = (
        f"internal error: {type(exc).__name__}: {_printable(str(exc))}\nThis is a bug in ouroboros."
    )
    text = "".join(traceback.format_exception(exc))
    try:
        path = _write_crash_log(text)
    except OSError as write_error:
        why = write_error.strerror or str(write_error)
        output.err(
            f"{headline} The traceback could not be written to a log file ({why}), so here "
            f"it is; please report it.\n{text}",
            nl=False,
        )
        return
    output.err(f"{headline} The traceback is in {path}; please report it.")


def _printable(message: str) -> str:
    """The message with every control character escaped but its line breaks: a message may
    quote a path, an option value or a reply from AWS, and a terminal must not act on it."""
    return "\n".join(escape_controls(line) for line in message.split("\n"))


def run_guarded(fn: Callable[[], object]) -> int:
    """Run the CLI body and turn every outcome into an exit code."""
    try:
        rv = fn()
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        output.err("Aborted.")
        return 130
    except click.ClickException as exc:
        # Usage errors exit 1, never 2: with --detailed-exitcode, 2 means "changes".
        shown = io.StringIO()
        exc.show(shown)
        output.err(_printable(shown.getvalue()), nl=False)
        return 1
    except FatalError as exc:
        output.err(f"error: {_printable(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        output.err("Interrupted.")
        return 130
    except Exception as exc:
        described = _describe_aws(exc)
        if described is not None:
            output.err(f"error: {_printable(described)}")
            return 1
        _report_bug(exc)
        return 3
    return rv if isinstance(rv, int) else 0
