"""The target preview's reads against moto: the home account with the caller's credentials,
other accounts through the reader role, one DescribeInstances per (account, region, filter
set), and an account that cannot be read as an answer, never an exception."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from recon_support import ACCOUNT, REGION

from reconciler import preview
from reconciler.aws import ClientFactory
from reconciler.preview import Reader, read_targets
from reconciler.review import ReadKey, filter_set

OTHER = "222222222222"
DEV = filter_set([("tag:Environment", ["dev"])])
TEAM = filter_set([("tag:Team", ["web"])])


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every call the preview makes: (service, operation, params)."""
    made: list[tuple[str, str, dict[str, Any]]] = []
    hooked: set[int] = set()
    real = ClientFactory.client

    def client_in(self: ClientFactory, service: str, region: str, *args: Any) -> Any:
        client = real(self, service, region, *args)
        if id(client) not in hooked:  # clients are kept: one hook each

            def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
                made.append((service, model.name, params))

            client.meta.events.register("before-parameter-build", hook)
            hooked.add(id(client))
        return client

    monkeypatch.setattr(ClientFactory, "client", client_in)
    with mock_aws():
        yield made


def launch(ec2: Any, name: str, **tags: str) -> str:
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    all_tags = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]
    reservation = ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": all_tags}],
    )
    return str(reservation["Instances"][0]["InstanceId"])


def ec2_in(account: str) -> Any:
    if account == ACCOUNT:
        return boto3.client("ec2", region_name=REGION)
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        "ec2",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def reader() -> Reader:
    return Reader(ACCOUNT, REGION, "ouroboros-reader")


def test_home_account_with_own_credentials_and_others_through_the_reader_role(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    home = launch(ec2_in(ACCOUNT), "web-1", Environment="dev")
    launch(ec2_in(ACCOUNT), "db-1", Environment="prod")
    there = launch(ec2_in(OTHER), "web-2", Environment="dev")
    found = read_targets([ReadKey(ACCOUNT, REGION, DEV), ReadKey(OTHER, REGION, DEV)], reader())
    assert [(i.id, i.name, i.state) for i in found[ReadKey(ACCOUNT, REGION, DEV)].resources] == [
        (home, "web-1", "running")
    ]
    assert [i.id for i in found[ReadKey(OTHER, REGION, DEV)].resources] == [there]
    assumed = [p["RoleArn"] for s, op, p in calls if op == "AssumeRole"]
    assert assumed == [f"arn:aws:iam::{OTHER}:role/ouroboros-reader"]


def test_one_describe_per_account_region_and_filter_set(
    calls: list[tuple[str, str, dict[str, Any]]],
) -> None:
    keys = [
        ReadKey(ACCOUNT, REGION, DEV),
        ReadKey(ACCOUNT, REGION, DEV),
        ReadKey(ACCOUNT, REGION, TEAM),
    ]
    keys += [ReadKey(OTHER, REGION, DEV), ReadKey(OTHER, "us-east-1", DEV)]
    found = read_targets(keys, reader())
    assert len(found) == 4
    describes = sorted(
        (p["Filters"][0]["Values"][0], len(p["Filters"]))
        for s, op, p in calls
        if op == "DescribeInstances"
    )
    assert describes == [("dev", 2), ("dev", 2), ("dev", 2), ("web", 2)]
    # The other account's role is assumed once for both of its regions.
    assert sum(1 for _, op, _ in calls if op == "AssumeRole") == 1


def test_an_account_that_cannot_be_read_is_an_answer_not_a_failure(
    calls: list[tuple[str, str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    launch(ec2_in(ACCOUNT), "web-1", Environment="dev")
    real = ClientFactory.client

    def denied(self: ClientFactory, service: str, region: str, *args: Any) -> Any:
        client = real(self, service, region, *args)
        if service == "sts":
            stub = Stubber(client)
            stub.add_client_error("assume_role", "AccessDenied", "not authorized to assume", 403)
            stub.activate()
        return client

    monkeypatch.setattr(ClientFactory, "client", denied)
    found = read_targets([ReadKey(ACCOUNT, REGION, DEV), ReadKey(OTHER, REGION, DEV)], reader())
    assert len(found[ReadKey(ACCOUNT, REGION, DEV)].resources) == 1
    assert found[ReadKey(OTHER, REGION, DEV)].error == (
        f"cannot assume arn:aws:iam::{OTHER}:role/ouroboros-reader (AWS AssumeRole failed with "
        f"AccessDenied: not authorized to assume): deploy infra/target-account.yaml in {OTHER}, "
        "or set reader_role_name in the settings"
    )


def test_a_describe_that_fails_is_that_pair_s_error(
    calls: list[tuple[str, str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = preview.KINDS["ec2"]

    class Denied:
        service = "ec2"

        def describe(self, ec2: Any, targets: Any, only_ids: Any, tuning: Any) -> Any:
            if ec2.meta.region_name == "us-east-1":
                error = {"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}
                raise ClientError(error, "DescribeInstances")  # type: ignore[arg-type]
            return real.describe(ec2, targets, only_ids, tuning)

    monkeypatch.setitem(preview.KINDS, "ec2", Denied())
    found = read_targets(
        [ReadKey(ACCOUNT, REGION, DEV), ReadKey(ACCOUNT, "us-east-1", DEV)], reader()
    )
    assert found[ReadKey(ACCOUNT, REGION, DEV)].error is None
    assert found[ReadKey(ACCOUNT, "us-east-1", DEV)].error == (
        "AWS DescribeInstances failed with UnauthorizedOperation: no"
    )
