"""The executor's clients: one GetCallerIdentity, one AssumeRole per account (issue 16).

A fake boto3 session records what each client was made with, so no AWS (and no moto) is needed.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.executor import credentials
from reconciler.executor.credentials import Clients

OWN, OTHER, THIRD = "111111111111", "222222222222", "333333333333"
KEYS = {"AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "ST"}


class FakeClient:
    def __init__(self, session: FakeSession, service: str, kwargs: dict[str, Any]) -> None:
        self.session, self.service, self.kwargs = session, service, kwargs

    def get_caller_identity(self) -> dict[str, str]:
        self.session.calls.append(("get_caller_identity", {}))
        return {"Account": OWN}

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.session.calls.append(("assume_role", kwargs))
        if self.session.assume_error is not None:
            raise self.session.assume_error
        return {"Credentials": KEYS}


class FakeSession:
    def __init__(self, assume_error: Exception | None = None) -> None:
        self.assume_error = assume_error
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.made: list[FakeClient] = []

    def get_partition_for_region(self, region: str) -> str:
        return "aws-cn" if region.startswith("cn-") else "aws"

    def client(self, service: str, **kwargs: Any) -> FakeClient:
        made = FakeClient(self, service, kwargs)
        self.made.append(made)
        return made


def _clients(session: FakeSession, own: str | None = OWN, home: str = "eu-west-1") -> Clients:
    return Clients(session, home, "ouroboros-target", "ouroboros-dev-stop", own_account=own)  # type: ignore[arg-type]


def test_a_client_of_the_own_account_uses_the_functions_own_credentials() -> None:
    session = FakeSession()
    client = _clients(session).client("ec2", "us-east-1", OWN)
    assert (client.service, client.kwargs) == (
        "ec2",
        {"region_name": "us-east-1", "config": credentials.CLIENT_CONFIG},
    )
    assert session.calls == []


def test_the_own_account_is_asked_once_when_the_context_did_not_give_it() -> None:
    session = FakeSession()
    clients = _clients(session, own=None, home="eu-central-1")
    assert clients.own_account() == OWN
    assert clients.own_account() == OWN
    assert session.calls == [("get_caller_identity", {})]
    sts = session.made[0]
    assert (sts.service, sts.kwargs["region_name"]) == ("sts", "eu-central-1")


def test_another_account_is_assumed_once_for_every_region() -> None:
    session = FakeSession()
    clients = _clients(session, home="cn-north-1")
    first = clients.client("ec2", "cn-north-1", OTHER)
    second = clients.client("ec2", "cn-northwest-1", OTHER)
    assert session.calls == [
        (
            "assume_role",
            {
                "RoleArn": f"arn:aws-cn:iam::{OTHER}:role/ouroboros-target",
                "RoleSessionName": "ouroboros-dev-stop",
                "DurationSeconds": 900,
            },
        )
    ]
    sts = session.made[0]
    assert (sts.service, sts.kwargs["region_name"]) == ("sts", "cn-north-1")
    keys = {"aws_access_key_id": "AK", "aws_secret_access_key": "SK", "aws_session_token": "ST"}
    assert first.kwargs == {
        "region_name": "cn-north-1",
        "config": credentials.CLIENT_CONFIG,
        **keys,
    }
    assert second.kwargs["region_name"] == "cn-northwest-1"
    clients.client("ec2", "cn-north-1", THIRD)
    assert [c[1]["RoleArn"] for c in session.calls] == [
        f"arn:aws-cn:iam::{OTHER}:role/ouroboros-target",
        f"arn:aws-cn:iam::{THIRD}:role/ouroboros-target",
    ]


def test_a_failed_assume_role_is_raised_for_every_region_without_a_retry() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
    session = FakeSession(assume_error=denied)
    clients = _clients(session)
    for region in ("eu-west-1", "us-east-1"):
        with pytest.raises(ClientError) as caught:
            clients.client("ec2", region, OTHER)
        assert caught.value is denied
    assert len(session.calls) == 1


def test_an_arn_of_five_parts_names_its_account() -> None:
    assert credentials.account_from_arn(f"arn:aws:lambda:eu-west-1:{OWN}") == OWN
    assert credentials.account_from_arn(f"arn:aws:lambda:{OWN}") is None
