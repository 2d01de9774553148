"""AWS_* environment variables botocore cannot use are the user's to fix: exit 1, one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from recon_support import REGION

from reconciler.aws import make_clients
from reconciler.cli import cli
from reconciler.errors import FatalError

SETTINGS = """\
version: 1
region: eu-west-1
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::123456789012:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::123456789012:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""

BAD_ENVIRONMENT = [
    (
        "AWS_ENDPOINT_URL",
        "localhost:4566",
        "AWS_ENDPOINT_URL=localhost:4566 has no scheme: write it as http://localhost:4566 "
        "(or https://localhost:4566)",
    ),
    (
        "AWS_ENDPOINT_URL",
        "not-a-url",
        "AWS_ENDPOINT_URL=not-a-url is not a URL: give one such as http://localhost:4566, or "
        "unset it to use AWS's own endpoints",
    ),
    (
        "AWS_ENDPOINT_URL",
        "ftp://example.com",
        "AWS_ENDPOINT_URL=ftp://example.com is not a URL: give one such as "
        "http://localhost:4566, or unset it to use AWS's own endpoints",
    ),
    (
        "AWS_ENDPOINT_URL_DYNAMODB",
        "127.0.0.1:8000",
        "AWS_ENDPOINT_URL_DYNAMODB=127.0.0.1:8000 has no scheme: write it as "
        "http://127.0.0.1:8000 (or https://127.0.0.1:8000)",
    ),
    (
        "AWS_MAX_ATTEMPTS",
        "abc",
        "AWS_MAX_ATTEMPTS=abc is not a whole number of attempts: give one such as 3 (1 means "
        "no retries), or unset it",
    ),
    (
        "AWS_MAX_ATTEMPTS",
        "0",
        "AWS_MAX_ATTEMPTS=0 is not a whole number of attempts: give one such as 3 (1 means "
        "no retries), or unset it",
    ),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_ENVIRONMENT)
def test_unusable_aws_environment_is_a_fatal_error(
    name: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(FatalError) as caught:
        make_clients(REGION)
    assert str(caught.value) == message


@pytest.mark.parametrize(("name", "value", "message"), BAD_ENVIRONMENT[:1] + BAD_ENVIRONMENT[4:5])
@pytest.mark.parametrize("command", [["plan"], ["logs"]])
def test_the_cli_exits_1_with_one_line(
    name: str,
    value: str,
    message: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "web.yaml").write_text(
        "version: 1\nrules:\n  - name: web\n    accounts: ['123456789012']\n"
        "    regions: [eu-west-1]\n    targets: {tag:Env: dev}\n    start: rate(1 day)\n"
    )
    monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1, result.output
    assert result.stderr == f"error: {message}\n"


def test_a_bad_value_in_the_aws_config_file_is_a_fatal_error_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nmax_attempts = many\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(FatalError) as caught:
        make_clients(REGION)
    assert str(caught.value) == (
        "the AWS client configuration is not usable (invalid literal for int() with base 10: "
        "'many'): check the AWS_* environment variables and ~/.aws/config"
    )


def test_good_values_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.local:8000/")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    clients = make_clients(REGION)
    assert clients.scheduler.meta.endpoint_url == "http://localhost:4566"
