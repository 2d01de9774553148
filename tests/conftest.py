"""Test-wide safety: no test may reach real AWS.

moto is imported before anything creates a boto3 client (clients made earlier are not
mocked). The autouse fixture gives every test fake credentials, a fixed region, no profile
or config files, and a proxy that black-holes any real endpoint, so a call that escaped
moto fails fast instead of reaching an account.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto  # noqa: F401  (must come before any boto3 client exists)
import pytest
from moto import mock_aws
from recon_support import LOG_TABLE, REGION

from reconciler import runlog

_AWS_ENV_TO_CLEAR = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "MOTO_ACCOUNT_ID",
    "GITHUB_ACTOR",
    "GITHUB_SHA",
    "GITHUB_ACTIONS",
)


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for name in _AWS_ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    empty = tmp_path_factory.mktemp("awsconfig") / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # Anything that escapes moto goes to a closed local port; moto's own server on
    # 127.0.0.1 stays reachable.
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def ddb() -> Iterator[Any]:
    """A DynamoDB client on moto with the log table (LOG_TABLE) created as apply creates it."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=LOG_TABLE, **runlog.TABLE_DEFINITION)
        yield client


# What makes a test an `aws` test: a fixture that starts moto, or a module that uses moto, boto3
# or botocore's Stubber itself (whole module: the names are imported at its top).
_AWS_FIXTURES = frozenset({"server", "endpoint", "ddb"})
_AWS_NAMES = (
    "mock_aws",
    "boto3",
    "Stubber",
    "ThreadedMotoServer",
    "botocore",
    "make_clients",
    "clients",
)


def _uses_aws(item: pytest.Item) -> bool:
    if _AWS_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    return any(hasattr(module, name) for name in _AWS_NAMES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_aws(item) and item.get_closest_marker("aws") is None:
            item.add_marker(pytest.mark.aws)
