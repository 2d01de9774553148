"""The client-side filter matcher agrees with EC2's own filtering (moto's, server-side)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reconciler.executor import ec2 as executor_ec2
from reconciler.executor.filters import ec2_attributes, matches
from reconciler.executor.selection import Instance

REGION = "eu-west-1"
TAGS = [
    {"Environment": "dev", "Team": "payments"},
    {"Environment": "dev-2", "Team": "checkout"},
    {"Environment": "Dev", "Name": "web*1"},
    {"Environment": "test", "patch-group": "a"},
    {"Role": "build-agent"},
]


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        vpc = client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            client.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{n}.0/24", AvailabilityZone=zone)[
                "Subnet"
            ]["SubnetId"]
            for n, zone in ((1, "eu-west-1a"), (2, "eu-west-1b"))
        ]
        for n, tags in enumerate(TAGS):
            client.run_instances(
                ImageId="ami-12c6146b",
                MinCount=1,
                MaxCount=1,
                InstanceType=("t3.micro", "m6i.large")[n % 2],
                SubnetId=subnets[n % 2],
                TagSpecifications=[
                    {
                        "ResourceType": "instance",
                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
                    }
                ],
            )
        described = [i for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
        yield client, described


def _filter_sets(described: list[dict[str, Any]]) -> list[dict[str, list[str]]]:
    first = described[0]
    return [
        {"tag:Environment": ["dev"]},
        {"tag:Environment": ["dev*"]},
        {"tag:Environment": ["d?v"]},
        {"tag:Environment": ["dev", "test"]},
        {"tag:Environment": ["dev"], "tag:Team": ["pay*"]},
        # moto matches instance-type exactly (AWS takes wildcards there: test_wildcards).
        {"tag:Environment": ["d*"], "instance-type": ["t3.micro"]},
        {"tag-key": ["patch-*"]},
        {"tag-key": ["Role"]},
        {"tag:Name": ["web\\*1"]},
        {"instance-id": [first["InstanceId"]]},
        {"private-ip-address": [first["PrivateIpAddress"]]},
        {"vpc-id": [first["VpcId"]], "tag:Environment": ["dev*"]},
        {"subnet-id": [first["SubnetId"]]},
        {"availability-zone": ["eu-west-1b"]},
        {"instance-type": ["m6i.large"], "tag:Team": ["checkout"]},
        {"tag:Missing": ["x"]},
    ]


def test_client_side_matching_agrees_with_ec2_filters(fleet: tuple[Any, list[Any]]) -> None:
    client, described = fleet
    for targets in _filter_sets(described):
        filters = executor_ec2.build_filters(tuple((k, tuple(v)) for k, v in targets.items()))
        server = {
            i["InstanceId"]
            for r in client.describe_instances(Filters=filters)["Reservations"]
            for i in r["Instances"]
        }
        local = {
            i["InstanceId"]
            for i in described
            if matches(
                tuple((k, tuple(v)) for k, v in targets.items()),
                Instance.from_api(i).tags,
                ec2_attributes(i),
            )
        }
        assert local == server, targets


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("dev*", "dev", True),
        ("dev*", "Dev", False),  # case-sensitive, as EC2
        ("d?v", "dev", True),
        ("d?v", "deev", False),
        ("web\\*1", "web*1", True),
        ("web\\*1", "webx1", False),
        ("a.b", "axb", False),  # only * and ? are special
    ],
)
def test_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert matches((("tag:K", (pattern,)),), {"K": value}, {}) is expected


def test_attribute_filters_take_wildcards_too() -> None:
    assert matches((("instance-type", ("t3.*",)),), {}, {"instance-type": "t3.micro"})
    assert not matches((("instance-type", ("t3.*",)),), {}, {"instance-type": "m6i.large"})


def test_a_filter_the_resource_has_no_value_for_does_not_match() -> None:
    assert not matches((("vpc-id", ("vpc-1*",)),), {}, {"instance-id": "i-1"})
    assert matches((), {}, {})
