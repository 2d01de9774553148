"""One error path for the CLI (after pre-commit's error_handler).

Expected failures raise `FatalError` (or a subclass): one message, exit 1. AWS client errors,
missing credentials and unreachable endpoints become a message with advice, exit 1. Anything
else is a bug: exit 3, with the traceback written to a log file rather than the terminal.
Ctrl-C is exit 130. No other module calls sys.exit.
"""

from __future__ import annotations

import io
import os
import tempfile
import traceback
from collections.abc import Callable

import click

from reconciler import output
from reconciler.checks import escape_controls


class FatalError(Exception):
    """An expected failure the user can act on. The message says what and what to do."""

    exit_code = 1


def describe_aws_exception(exc: BaseException) -> str | None:
    """A one-line explanation, with advice, for botocore's exceptions; None for anything else."""
    try:
        from botocore import exceptions as bexc
    except ImportError:  # pragma: no cover - botocore is a dependency
        return None
    if isinstance(exc, bexc.NoCredentialsError | bexc.PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login` (in GitHub Actions, use "
            "aws-actions/configure-aws-credentials)"
        )
    if isinstance(exc, bexc.ProfileNotFound):
        return f"{exc}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, bexc.NoRegionError):
        return "no AWS region: set `region` in ouroboros.yaml or AWS_REGION"
    if isinstance(exc, bexc.ConnectionError):  # no endpoint, connect timeout, proxy, TLS
        return (
            f"cannot reach the AWS endpoint ({exc}): check the network, AWS_ENDPOINT_URL "
            "and the region"
        )
    if isinstance(exc, bexc.HTTPClientError):  # connected, then no whole answer came back
        return (
            f"the connection to AWS broke off ({exc}): check the network and any proxy "
            "settings, then run again"
        )
    if isinstance(exc, bexc.ClientError):
        err = exc.response.get("Error", {})
        code = err.get("Code", "Unknown")
        message = err.get("Message", "")
        op = getattr(exc, "operation_name", "the call")
        hint = ""
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = ": the role in use lacks a permission; see docs/how-to/iam.md"
        elif code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"}:
            hint = ": the credentials have expired or are invalid; refresh them"
        elif not message:
            # A bare HTTP status (404, 502...) with no AWS error body: not an AWS service
            # answering, most often a wrong AWS_ENDPOINT_URL or a proxy in the way.
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
            return (
                f"AWS {op} failed with HTTP {status} and no AWS error message: check "
                "AWS_ENDPOINT_URL, any proxy settings and the region"
            )
        return f"AWS {op} failed with {code}: {message}{hint}"
    if isinstance(exc, bexc.BotoCoreError):
        return f"AWS client error: {exc}"
    return None


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
        described = describe_aws_exception(exc)
        if described is not None:
            output.err(f"error: {_printable(described)}")
            return 1
        _report_bug(exc)
        return 3
    return rv if isinstance(rv, int) else 0
