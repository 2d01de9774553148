"""The target preview of rds, aurora and asg rules against moto: the executor's own Describe
call and skip reasons, in the home account with the caller's credentials and in another
account through the reader role, each resource shown by its identifier, Name tag and status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from recon_support import ACCOUNT, REGION

from reconciler.aws import ClientFactory
from reconciler.executor.kinds import SKIP_REASONS
from reconciler.preview import Reader, read_targets
from reconciler.review import SKIP_REASONS as REVIEW_SKIP_REASONS
from reconciler.review import ReadKey, RuleState, filter_set, rule_targets

OTHER = "222222222222"
DEV = filter_set([("tag:Environment", ["dev"])])
LOGIN = {"MasterUsername": "admin", "MasterUserPassword": "password123"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every call the preview makes: (service, operation, params)."""
    made: list[tuple[str, str, dict[str, Any]]] = []
    hooked: set[int] = set()
    real = ClientFactory.client

    def client_in(self: ClientFactory, service: str, region: str, *args: Any) -> Any:
        client = real(self, service, region, *args)
        if id(client) not in hooked:

            def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
                made.append((service, model.name, params))

            client.meta.events.register("before-parameter-build", hook)
            hooked.add(id(client))
        return client

    monkeypatch.setattr(ClientFactory, "client", client_in)
    with mock_aws():
        yield made


def client_in(service: str, account: str) -> Any:
    if account == ACCOUNT:
        return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def tags(environment: str, name: str | None = None) -> list[dict[str, str]]:
    named = [{"Key": "Name", "Value": name}] if name else []
    return [{"Key": "Environment", "Value": environment}, *named]


def make_rds(account: str, ident: str, environment: str, name: str | None = None) -> None:
    client_in("rds", account).create_db_instance(
        DBInstanceIdentifier=ident,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        Tags=tags(environment, name),
        **LOGIN,
    )


def make_aurora(account: str, ident: str, environment: str, name: str | None = None) -> None:
    client_in("rds", account).create_db_cluster(
        DBClusterIdentifier=ident, Engine="aurora-postgresql", Tags=tags(environment, name), **LOGIN
    )


def make_asg(account: str, ident: str, environment: str, name: str | None = None) -> None:
    ec2 = client_in("ec2", account)
    if not ec2.describe_launch_templates()["LaunchTemplates"]:
        ec2.create_launch_template(
            LaunchTemplateName="web",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
        )
    client_in("autoscaling", account).create_auto_scaling_group(
        AutoScalingGroupName=ident,
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=1,
        DesiredCapacity=2,
        MaxSize=4,
        AvailabilityZones=[f"{REGION}a"],
        Tags=[
            {**t, "ResourceId": ident, "ResourceType": "auto-scaling-group"}
            for t in tags(environment, name)
        ],
    )


MAKERS = {"rds": make_rds, "aurora": make_aurora, "asg": make_asg}
# What each kind's Describe call is, and the state moto gives a new resource.
DESCRIBE = {
    "rds": ("rds", "DescribeDBInstances"),
    "aurora": ("rds", "DescribeDBClusters"),
    "asg": ("autoscaling", "DescribeAutoScalingGroups"),
}
STATE = {"rds": "available", "aurora": "available", "asg": "desired 2 (min 1, max 4)"}


def test_the_review_uses_the_executors_own_skip_reasons() -> None:
    assert REVIEW_SKIP_REASONS == SKIP_REASONS
    assert all(REVIEW_SKIP_REASONS[k] is SKIP_REASONS[k] for k in SKIP_REASONS)


@pytest.mark.parametrize("kind", ["rds", "aurora", "asg"])
def test_each_kind_is_read_at_home_and_through_the_reader_role(
    kind: str, calls: list[tuple[str, str, dict[str, Any]]]
) -> None:
    make = MAKERS[kind]
    make(ACCOUNT, "dev-one", "dev", name="Dev one")
    make(ACCOUNT, "prod-one", "prod")
    make(OTHER, "dev-two", "dev")
    keys = [ReadKey(ACCOUNT, REGION, DEV, kind), ReadKey(OTHER, REGION, DEV, kind)]
    found = read_targets(keys, Reader(ACCOUNT, REGION, "ouroboros-reader"))
    assert all(answer.error is None for answer in found.values())
    # A stop-only rule: the executor would act on each (nothing is stopped yet).
    state = RuleState(
        "dev", "UTC", (ACCOUNT, OTHER), (REGION,), DEV, stop="cron(0 19 * * ? *)", resource=kind
    )
    targets, warnings = rule_targets(state, found)
    assert [(h.account, h.id, h.name, h.state, h.skip) for h in targets.instances] == [
        (ACCOUNT, "dev-one", "Dev one", STATE[kind], None),
        (OTHER, "dev-two", None, STATE[kind], None),
    ]
    assert warnings == []
    service, operation = DESCRIBE[kind]
    assert sum(1 for s, op, _ in calls if (s, op) == (service, operation)) == 2
    assert not any(op == "DescribeInstances" for _, op, _ in calls)
    assumed = [p["RoleArn"] for _, op, p in calls if op == "AssumeRole"]
    assert assumed == [f"arn:aws:iam::{OTHER}:role/ouroboros-reader"]


@pytest.mark.parametrize(
    ("kind", "skip"),
    [
        ("rds", "already available"),
        ("aurora", "already available"),
        (
            "asg",
            "no ouroboros:saved-capacity tag: not stopped by Ouroboros, so there is no capacity "
            "to restore",
        ),
    ],
)
def test_a_start_only_rule_shows_the_executors_skip_reason(
    kind: str, skip: str, calls: list[tuple[str, str, dict[str, Any]]]
) -> None:
    MAKERS[kind](ACCOUNT, "dev-one", "dev")
    key = ReadKey(ACCOUNT, REGION, DEV, kind)
    found = read_targets([key], Reader(ACCOUNT, REGION, "ouroboros-reader"))
    state = RuleState(
        "dev", "UTC", (ACCOUNT,), (REGION,), DEV, start="cron(0 8 * * ? *)", resource=kind
    )
    targets, _ = rule_targets(state, found)
    assert [h.skip for h in targets.instances] == [skip]


def test_an_unreadable_account_is_an_error_entry_for_every_kind(
    calls: list[tuple[str, str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler import preview

    def denied(self: Reader, account: str) -> dict[str, str]:
        raise preview.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no"}},  # type: ignore[typeddict-item]
            "AssumeRole",
        )

    monkeypatch.setattr(Reader, "_assumed", denied)
    key = ReadKey(OTHER, REGION, DEV, "rds")
    found = read_targets([key], Reader(ACCOUNT, REGION, "ouroboros-reader"))
    state = RuleState(
        "db", "UTC", (OTHER,), (REGION,), DEV, stop="cron(0 19 * * ? *)", resource="rds"
    )
    targets, warnings = rule_targets(state, found)
    assert [(e.account, e.region) for e in targets.errors] == [(OTHER, REGION)]
    assert warnings == [
        f"could not read {OTHER} {REGION}: cannot assume "
        f"arn:aws:iam::{OTHER}:role/ouroboros-reader (AWS AssumeRole failed with AccessDenied: "
        f"no): deploy infra/target-account.yaml in {OTHER}, or set reader_role_name in the "
        "settings"
    ]
