"""The one error path: every outcome of a command becomes an exit code and at most a message."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from botocore import exceptions as bexc

from reconciler.aws import describe_aws_exception
from reconciler.cli_errors import run_guarded
from reconciler.errors import FatalError, InternalError


def _raise(exc: BaseException) -> Callable[[], object]:
    def body() -> object:
        raise exc

    return body


def _client_error(code: str, message: str, status: int = 400) -> bexc.ClientError:
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return bexc.ClientError(response, "GetSchedule")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        (FatalError("settings file x.yaml not found"), 1, "error: settings file x.yaml not found"),
        (click.UsageError("No such option: --bogus"), 1, "Error: No such option: --bogus"),
        (click.exceptions.Abort(), 130, "Aborted."),
        (KeyboardInterrupt(), 130, "Interrupted."),
        (
            bexc.NoCredentialsError(),
            1,
            "error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login` (in GitHub Actions, use "
            "aws-actions/configure-aws-credentials)",
        ),
        (
            bexc.ProfileNotFound(profile="nope"),
            1,
            "error: The config profile (nope) could not be found: check AWS_PROFILE and "
            "~/.aws/config",
        ),
        (
            bexc.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
            1,
            "error: cannot reach the AWS endpoint (Could not connect to the endpoint URL: "
            '"http://127.0.0.1:9"): check the network, AWS_ENDPOINT_URL and the region',
        ),
        (
            bexc.ProxyConnectionError(proxy_url="http://proxy:3128", error="refused"),
            1,
            "error: cannot reach the AWS endpoint (Failed to connect to proxy URL: "
            '"http://proxy:3128"): check the network, AWS_ENDPOINT_URL and the region',
        ),
        (
            bexc.ReadTimeoutError(endpoint_url="https://scheduler.eu-west-1.amazonaws.com/"),
            1,
            "error: the connection to AWS broke off (Read timeout on endpoint URL: "
            '"https://scheduler.eu-west-1.amazonaws.com/"): check the network and any proxy '
            "settings, then run again",
        ),
        (
            _client_error("AccessDeniedException", "not authorized to perform GetSchedule"),
            1,
            "error: AWS GetSchedule failed with AccessDeniedException: not authorized to perform "
            "GetSchedule: the role in use lacks a permission; see docs/how-to/iam.md",
        ),
        (
            _client_error("ExpiredToken", "The security token included in the request is expired"),
            1,
            "error: AWS GetSchedule failed with ExpiredToken: The security token included in the "
            "request is expired: the credentials have expired or are invalid; refresh them",
        ),
        (
            _client_error("404", "", status=404),
            1,
            "error: AWS GetSchedule failed with HTTP 404 and no AWS error message: check "
            "AWS_ENDPOINT_URL, any proxy settings and the region",
        ),
    ],
)
def test_expected_failures_become_a_message_and_an_exit_code(
    exc: BaseException, code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_guarded(_raise(exc)) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == message
    assert "Traceback" not in captured.err


def test_a_bug_exits_3_and_writes_the_traceback_to_a_log_not_the_terminal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Changed on purpose: one new file per crash (mkstemp), never a shared fixed name that
    # another crash, or another user, could overwrite or plant as a symlink.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    assert run_guarded(_raise(ZeroDivisionError("division by zero"))) == 3
    assert run_guarded(_raise(ZeroDivisionError("again"))) == 3
    err = capsys.readouterr().err
    logs = list(tmp_path.glob("ouroboros-crash-*.log"))
    assert len(logs) == 2
    assert not (tmp_path / "ouroboros-crash.log").exists()
    assert err.startswith("internal error: ZeroDivisionError: division by zero\n")
    for log in logs:
        assert f"The traceback is in {log}; please report it." in err
    assert "Traceback" not in err
    last_lines = sorted(log.read_text().splitlines()[-1] for log in logs)
    assert last_lines == ["ZeroDivisionError: again", "ZeroDivisionError: division by zero"]


def test_a_crash_log_that_cannot_be_written_goes_to_stderr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def refuse(**_: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert run_guarded(_raise(ZeroDivisionError("division by zero"))) == 3
    err = capsys.readouterr().err
    assert err.startswith(
        "internal error: ZeroDivisionError: division by zero\n"
        "This is a bug in ouroboros. The traceback could not be written to a log file "
        "(Permission denied), so here it is; please report it.\n"
        "Traceback (most recent call last):\n"
    )
    assert err.endswith("ZeroDivisionError: division by zero\n")


@pytest.mark.parametrize(("value", "code"), [(0, 0), (2, 2), (None, 0)])
def test_a_body_returns_its_exit_code(value: int | None, code: int) -> None:
    assert run_guarded(lambda: value) == code


def test_other_exceptions_are_not_described_as_aws_errors() -> None:
    assert describe_aws_exception(ValueError("x")) is None


def test_the_core_error_module_loads_neither_click_nor_botocore() -> None:
    # The core imports reconciler.errors: it must stay bare, as pre-commit's errors module is.
    script = (
        "import sys\n"
        "import reconciler.errors, reconciler.plan\n"
        "print(sorted(m for m in ('click', 'botocore', 'boto3') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_an_internal_error_is_a_bug_exit_3_with_the_crash_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    assert run_guarded(_raise(InternalError("cannot create table x: not supported"))) == 3
    err = capsys.readouterr().err
    assert err.startswith(
        "internal error: InternalError: cannot create table x: not supported\n"
        "This is a bug in ouroboros. The traceback is in "
    )
    assert len(list(tmp_path.glob("ouroboros-crash-*.log"))) == 1
