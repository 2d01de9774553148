"""The executor end to end on moto: the handler called the way Lambda calls it.

Two accounts (the executor's own, 123456789012, and 222222222222 reached by AssumeRole: moto
gives assumed credentials their own EC2 world) and two regions. Errors moto cannot produce are
injected with botocore event hooks on the executor's own session.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from reconciler import runlog
from reconciler.executor import credentials, ec2, run
from reconciler.executor import handler as handler_module
from reconciler.executor.claims import LogTableError
from reconciler.executor.handler import handler
from reconciler.resources import ScheduleSpec

OWN = "123456789012"
OTHER = "222222222222"
REGIONS = ("eu-west-1", "us-east-1")
TABLE = "ouroboros-runs"
AMI = "ami-12c6146b"
FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:{OWN}:function:ouroboros-executor"
WHEN = "2026-11-27T19:00:00Z"
FIRED_AT = datetime(2026, 11, 27, 19, 0, 30, tzinfo=UTC)
GROUP = "ouroboros"


@dataclass
class LambdaContext:
    """What the python3.12 runtime passes as `context` (the attributes the executor reads)."""

    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "ouroboros-executor"
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@dataclass
class Failure:
    operation: str  # e.g. "ec2.StopInstances"
    code: str
    when: Callable[[dict[str, Any]], bool]
    message: str = "injected"
    times: int = 1_000_000


class Hooks:
    """Records every call the executor makes and fails the ones a test asks for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[Failure] = []
        self.describe_patches: dict[str, dict[str, Any]] = {}

    def session(self) -> boto3.session.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())  # parse service models once
        session = boto3.session.Session(botocore_session=core)
        session.events.register("provide-client-params", self._record)
        session.events.register("before-call", self._inject)
        session.events.register("after-call.ec2.DescribeInstances", self._patch)
        return session

    def fail(
        self, operation: str, code: str, when: Callable[[dict[str, Any]], bool], **kw: Any
    ) -> None:
        self.failures.append(Failure(operation, code, when, **kw))

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.calls if op == operation]

    def _record(
        self, params: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any
    ) -> None:
        operation = ".".join(event_name.split(".")[1:])
        context["test_operation"] = operation
        context["test_params"] = params
        self.calls.append((operation, dict(params)))

    def _inject(
        self, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict[str, Any]] | None:
        for failure in self.failures:
            if (
                failure.operation == context.get("test_operation")
                and failure.times > 0
                and failure.when(context.get("test_params", {}))
            ):
                failure.times -= 1
                error = {"Code": failure.code, "Message": failure.message}
                return AWSResponse("https://injected", 400, {}, None), {
                    "Error": error,
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
        return None

    def _patch(self, parsed: dict[str, Any], **_: Any) -> None:
        # Fields AWS returns and moto does not (instance-store roots, Spot request ids).
        for reservation in parsed.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                instance.update(self.describe_patches.get(instance["InstanceId"], {}))


class World:
    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.ddb = boto3.client("dynamodb", region_name="eu-west-1")
        self.ddb.create_table(TableName=TABLE, **runlog.TABLE_DEFINITION)
        self._ec2: dict[tuple[str, str], Any] = {}

    def ec2(self, account: str = OWN, region: str = "eu-west-1") -> Any:
        if (account, region) not in self._ec2:
            creds: dict[str, str] = {}
            if account != OWN:
                sts = boto3.client("sts", region_name="eu-west-1")
                c = sts.assume_role(
                    RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="setup"
                )["Credentials"]
                creds = {
                    "aws_access_key_id": c["AccessKeyId"],
                    "aws_secret_access_key": c["SecretAccessKey"],
                    "aws_session_token": c["SessionToken"],
                }
            self._ec2[account, region] = boto3.client("ec2", region_name=region, **creds)
        return self._ec2[account, region]

    def launch(
        self,
        account: str = OWN,
        region: str = "eu-west-1",
        tags: dict[str, str] | None = None,
        count: int = 1,
        **kwargs: Any,
    ) -> list[str]:
        tags = {"Environment": "dev"} if tags is None else tags
        spec = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
        response = self.ec2(account, region).run_instances(
            ImageId=AMI,
            MinCount=count,
            MaxCount=count,
            **({"TagSpecifications": spec} if tags else {}),
            **kwargs,
        )
        return [i["InstanceId"] for i in response["Instances"]]

    def state(self, instance_id: str, account: str = OWN, region: str = "eu-west-1") -> str:
        response = self.ec2(account, region).describe_instances(InstanceIds=[instance_id])
        return str(response["Reservations"][0]["Instances"][0]["State"]["Name"])

    def runs(self, include_duplicates: bool = True) -> list[dict[str, Any]]:
        day = runlog.parse_instant(WHEN)
        entries = runlog.query_range(self.ddb, TABLE, day.replace(hour=0), day.replace(hour=23))
        return [e for e in entries if include_duplicates or e["status"] != "duplicate"]

    def run_for(self, account: str = OWN, region: str = "eu-west-1") -> dict[str, Any]:
        (entry,) = [
            e
            for e in self.runs(include_duplicates=False)
            if e["account"] == account and e["region"] == region
        ]
        return entry


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", TABLE)
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    monkeypatch.delenv("OUROBOROS_LOG_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("OUROBOROS_ALLOWED_ACCOUNTS", raising=False)
    # Each account and region would load moto's AMI catalogue (~0.2 s each); none is needed.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    hooks = Hooks()
    monkeypatch.setattr(credentials, "new_session", hooks.session)
    # The executor's wall clock: the occurrence fired half a minute ago.
    monkeypatch.setattr(
        handler_module, "TUNING", ec2.Tuning(sleep=lambda _: None, now=lambda: FIRED_AT)
    )
    with mock_aws():
        boto3.client("scheduler", region_name="eu-west-1").create_schedule_group(Name=GROUP)
        yield World(hooks)


def deploy(schedule: ScheduleSpec) -> None:
    """Put the schedule in moto, as `reconcile apply` does: the executor reads it."""
    scheduler = boto3.client("scheduler", region_name="eu-west-1")
    groups = [g["Name"] for g in scheduler.list_schedule_groups()["ScheduleGroups"]]
    if schedule.group not in groups:
        scheduler.create_schedule_group(Name=schedule.group)
    try:
        scheduler.create_schedule(**schedule.to_api())
    except scheduler.exceptions.ConflictException:
        scheduler.update_schedule(**schedule.to_api())


def deployed_event(
    *, group: str = "ouroboros", function_arn: str = "", **rule_fields: Any
) -> dict[str, Any]:
    """The event exactly as a deployed schedule delivers it, the schedule deployed in moto.

    Built by the reconciler's own desired-state code from a Rule and Settings, then the three
    placeholders substituted in the Input text as Scheduler does, then parsed as Lambda does.
    """
    from reconciler import desired
    from reconciler.model import Rule, Settings

    fields: dict[str, Any] = {
        "name": "dev-office-hours",
        "accounts": (OWN,),
        "regions": ("eu-west-1",),
        "targets": (("tag:Environment", ("dev",)),),
        # Both fire at WHEN (a Friday, 19:00 UTC), so either action can be delivered then.
        "start": "cron(0 19 ? * FRI *)",
        "stop": "cron(0 19 ? * MON-FRI *)",
    }
    action = rule_fields.pop("action", "stop")
    fields.update(rule_fields)
    settings = Settings(
        region="eu-west-1",
        schedule_group=group,
        function_name="ouroboros-executor",
        executor_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-executor",
        scheduler_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-scheduler",
        target_role_name="ouroboros-target",
        log_table=TABLE,
    )
    rule = Rule(**fields)
    schedule = desired.desired_schedule(
        rule, action, str(rule.expression(action)), settings, function_arn or FUNCTION_ARN
    )
    deploy(schedule)
    text = str(schedule.input)
    for placeholder, value in (
        (
            "<aws.scheduler.schedule-arn>",
            f"arn:aws:scheduler:eu-west-1:{OWN}:schedule/{group}/{schedule.name}",
        ),
        ("<aws.scheduler.scheduled-time>", WHEN),
        ("<aws.scheduler.execution-id>", str(uuid.uuid4())),
    ):
        assert placeholder in text
        text = text.replace(placeholder, value)
    return dict(json.loads(text))


def _again(event: dict[str, Any]) -> dict[str, Any]:
    """The same occurrence delivered again (Scheduler gives every attempt a new execution id)."""
    return {**event, "execution_id": str(uuid.uuid4())}


def _ids_in(params: dict[str, Any]) -> list[str]:
    return list(params.get("InstanceIds", []))


# --- accounts and regions ------------------------------------------------------------------------


def test_two_accounts_two_regions(world: World) -> None:
    mine = {r: world.launch(OWN, r, count=2) for r in REGIONS}
    theirs = {r: world.launch(OTHER, r) for r in REGIONS}
    bystander = world.launch(OWN, "eu-west-1", tags={"Environment": "prod"})
    event = deployed_event(accounts=(OWN, OTHER), regions=REGIONS)

    summary = handler(event, LambdaContext())

    assert summary["status"] == "ok"
    assert {(p["account"], p["region"], p["status"], p["acted"]) for p in summary["pairs"]} == {
        (OWN, "eu-west-1", "ok", 2),
        (OWN, "us-east-1", "ok", 2),
        (OTHER, "eu-west-1", "ok", 1),
        (OTHER, "us-east-1", "ok", 1),
    }
    for region in REGIONS:
        assert {world.state(i, OWN, region) for i in mine[region]} == {"stopped"}
        assert world.state(theirs[region][0], OTHER, region) == "stopped"
        assert sorted(world.run_for(OTHER, region)["acted"]) == theirs[region]
    assert world.state(bystander[0]) == "running"
    # One AssumeRole for the other account, whatever its number of regions; none for our own.
    assume = world.hooks.ops("sts.AssumeRole")
    assert assume == [
        {
            "RoleArn": f"arn:aws:iam::{OTHER}:role/ouroboros-target",
            "RoleSessionName": "ouroboros-dev-office-hours-stop",
            "DurationSeconds": 900,
        }
    ]


def test_the_run_item_has_every_field(world: World) -> None:
    ids = world.launch(count=2)
    event = deployed_event()
    handler(event, LambdaContext())
    item = world.run_for()
    assert item == {
        "kind": "run",
        "rule": "dev-office-hours",
        "action": "stop",
        "account": OWN,
        "region": "eu-west-1",
        "scheduled_time": WHEN,
        "schedule_arn": f"arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/dev-office-hours-stop",
        "execution_id": event["execution_id"],
        "status": "ok",
        "matched": 2,
        "acted": item["acted"],
        "acted_count": 2,
        "skipped": [],
        "skipped_count": 0,
        "errors": [],
        "error_count": 0,
        "duration_ms": item["duration_ms"],
        "describe_pages": 1,
        "attempts": 1,
        "started_at": item["started_at"],
        "expires_at": item["expires_at"],
        # No apply wrote a manifest here: stopped as before, and the log says so (§12).
        "warning": "there is no manifest (apply writes it); stopped without the union check "
        "(other rules' on-windows not honoured): run reconcile apply",
    }
    assert sorted(item["acted"]) == sorted(ids)
    now = datetime.now(UTC).timestamp()
    assert now + 89.9 * 86400 < item["expires_at"] < now + 90.1 * 86400
    assert isinstance(item["duration_ms"], int)


def test_retention_comes_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUROBOROS_LOG_RETENTION_DAYS", "7")
    world.launch()
    handler(deployed_event(), LambdaContext())
    assert world.run_for()["expires_at"] < datetime.now(UTC).timestamp() + 7.1 * 86400


def test_start_acts_on_stopped_instances(world: World) -> None:
    stopped = world.launch(count=2)
    world.ec2().stop_instances(InstanceIds=stopped)
    running = world.launch()
    summary = handler(deployed_event(action="start"), LambdaContext())
    assert summary["pairs"][0]["acted"] == 2
    assert {world.state(i) for i in stopped} == {"running"}
    item = world.run_for()
    assert item["skipped"] == [
        {"id": running[0], "reason": "in-target-state", "detail": "already running"}
    ]
    assert world.hooks.ops("sts.AssumeRole") == []


def test_a_start_that_falls_back_to_stopped_is_a_failed_start_with_its_reason(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = world.launch(count=2)
    world.ec2().stop_instances(InstanceIds=[good, bad])
    event = deployed_event(action="start")
    # moto starts at once; AWS can start, then stop the instance again (KMS, capacity).
    describes = world.hooks.ops
    original = world.hooks._patch

    def fall_back(parsed: dict[str, Any], **kw: Any) -> None:
        original(parsed, **kw)
        if len(describes("ec2.DescribeInstances")) > 1:  # the looks after StartInstances
            for reservation in parsed.get("Reservations", []):
                for instance in reservation["Instances"]:
                    if instance["InstanceId"] == bad:
                        instance["State"] = {"Code": 80, "Name": "stopped"}
                        instance["StateReason"] = {
                            "Code": "Client.InternalError",
                            "Message": "Client.InternalError: Client error on launch",
                        }

    world.hooks._patch = fall_back  # type: ignore[method-assign]
    summary = handler(event, LambdaContext())
    assert summary["status"] == "partial"
    item = world.run_for()
    assert (item["acted"], item["status"]) == ([good], "partial")
    assert item["errors"] == [
        {
            "id": bad,
            "code": "Client.InternalError",
            "message": "started, then fell back to stopped (Client.InternalError: Client error "
            "on launch): often an EBS volume encrypted with a KMS key the account or the "
            "instance cannot use: check the key's policy and grants, and that the key is enabled",
        }
    ]
    looks = describes("ec2.DescribeInstances")[1:]  # one look: nothing stayed pending
    assert [(f["Name"], sorted(f["Values"])) for p in looks for f in p["Filters"]] == [
        ("instance-id", sorted([good, bad]))
    ]
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(m["Rule"], m["Action"], m["Acted"], m["Failed"], m["Status"]) for m in emf] == [
        ("dev-office-hours", "start", 1, 1, "partial")
    ]


def test_own_account_falls_back_to_get_caller_identity(world: World) -> None:
    world.launch()
    context = LambdaContext(invoked_function_arn="")
    summary = handler(deployed_event(), context)
    assert summary["status"] == "ok"
    assert len(world.hooks.ops("sts.GetCallerIdentity")) == 1
    assert world.hooks.ops("sts.AssumeRole") == []


# --- filters -------------------------------------------------------------------------------------


@pytest.fixture
def two_networks(world: World) -> dict[str, dict[str, str]]:
    """Two instances that differ in every attribute a filter can name."""
    ec2 = world.ec2()
    found: dict[str, dict[str, str]] = {}
    for key, cidr, az, itype in (
        ("a", "10.1.0.0/16", "eu-west-1a", "t3.micro"),
        ("b", "10.2.0.0/16", "eu-west-1b", "m5.large"),
    ):
        vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"), AvailabilityZone=az
        )
        subnet_id = subnet["Subnet"]["SubnetId"]
        (instance_id,) = world.launch(
            tags={"Environment": "dev", f"Only-{key}": "yes", "Team": key},
            SubnetId=subnet_id,
            InstanceType=itype,
        )
        described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
            "Instances"
        ][0]
        found[key] = {
            "instance-id": instance_id,
            "vpc-id": vpc,
            "subnet-id": subnet_id,
            "availability-zone": az,
            "instance-type": itype,
            "private-ip-address": described["PrivateIpAddress"],
            "tag-key": f"Only-{key}",
            "tag:Team": key,
        }
    return found


@pytest.mark.parametrize(
    "name",
    [
        "instance-id",
        "tag:Team",
        "tag-key",
        "private-ip-address",
        "vpc-id",
        "subnet-id",
        "instance-type",
        "availability-zone",
    ],
)
def test_every_filter_kind(
    world: World, two_networks: dict[str, dict[str, str]], name: str
) -> None:
    a = two_networks["a"]
    handler(deployed_event(targets=((name, (a[name],)),)), LambdaContext())
    assert world.run_for()["acted"] == [a["instance-id"]]
    assert world.state(two_networks["b"]["instance-id"]) == "running"
    (describe,) = world.hooks.ops("ec2.DescribeInstances")
    assert describe["Filters"][0] == {"Name": name, "Values": [a[name]]}
    assert "InstanceIds" not in describe


def test_values_are_ored_and_filters_anded(
    world: World, two_networks: dict[str, dict[str, str]]
) -> None:
    a, b = two_networks["a"], two_networks["b"]
    handler(deployed_event(targets=(("tag:Team", ("a", "b")),)), LambdaContext())
    assert sorted(world.run_for()["acted"]) == sorted([a["instance-id"], b["instance-id"]])

    targets = (("tag:Team", ("a", "b")), ("instance-type", ("m5.large",)))
    world.ec2().start_instances(InstanceIds=[a["instance-id"], b["instance-id"]])
    handler(deployed_event(name="anded", targets=targets), LambdaContext())
    assert [e["acted"] for e in world.runs() if e["rule"] == "anded"] == [[b["instance-id"]]]


# --- skip reasons --------------------------------------------------------------------------------


def test_every_skip_reason(world: World) -> None:
    (act,) = world.launch()
    (stopped,) = world.launch()
    world.ec2().stop_instances(InstanceIds=[stopped])
    (terminated,) = world.launch()
    world.ec2().terminate_instances(InstanceIds=[terminated])
    (asg,) = world.launch(tags={"Environment": "dev", "aws:autoscaling:groupName": "web-asg"})
    (store,) = world.launch()
    world.hooks.describe_patches[store] = {"RootDeviceType": "instance-store"}
    (spot_once,) = world.launch(
        InstanceMarketOptions={
            "MarketType": "spot",
            "SpotOptions": {"SpotInstanceType": "one-time"},
        }
    )
    spec = {"ImageId": AMI, "InstanceType": "t3.micro"}
    request = world.ec2().request_spot_instances(Type="persistent", LaunchSpecification=spec)
    request_id = request["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    spot_persistent = world.ec2().describe_spot_instance_requests(
        SpotInstanceRequestIds=[request_id]
    )["SpotInstanceRequests"][0]["InstanceId"]
    world.ec2().create_tags(
        Resources=[spot_persistent], Tags=[{"Key": "Environment", "Value": "dev"}]
    )
    world.hooks.describe_patches[spot_persistent] = {"SpotInstanceRequestId": request_id}

    summary = handler(deployed_event(), LambdaContext())

    item = world.run_for()
    assert sorted(item["acted"]) == sorted([act, spot_persistent])
    assert {s["id"]: (s["reason"], s["detail"]) for s in item["skipped"]} == {
        stopped: ("in-target-state", "already stopped"),
        terminated: ("terminated", "terminated: nothing to stop"),
        asg: (
            "autoscaling",
            "member of Auto Scaling group web-asg: schedule the group with `resource: asg`",
        ),
        store: ("instance-store", "instance-store root device: cannot be stopped or started"),
        spot_once: (
            "spot-one-time",
            "Spot instance without a persistent request: cannot be stopped",
        ),
    }
    assert summary["pairs"][0] | {"duration_ms": 0} == {
        "account": OWN,
        "region": "eu-west-1",
        "status": "ok",
        "matched": 7,
        "acted": 2,
        "skipped": 5,
        "errors": 0,
        "duration_ms": 0,
    }
    (stop,) = world.hooks.ops("ec2.StopInstances")
    assert sorted(stop["InstanceIds"]) == sorted([act, spot_persistent])
    assert world.state(terminated) == "terminated"  # moto would have "stopped" it


def test_spot_requests_that_cannot_be_read_leave_spot_instances_running_and_say_why(
    world: World,
) -> None:
    spec = {"ImageId": AMI, "InstanceType": "t3.micro"}
    request = world.ec2().request_spot_instances(Type="persistent", LaunchSpecification=spec)
    request_id = request["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    spot = world.ec2().describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])[
        "SpotInstanceRequests"
    ][0]["InstanceId"]
    world.ec2().create_tags(Resources=[spot], Tags=[{"Key": "Environment", "Value": "dev"}])
    world.hooks.describe_patches[spot] = {"SpotInstanceRequestId": request_id}
    world.hooks.fail("ec2.DescribeSpotInstanceRequests", "UnauthorizedOperation", lambda p: True)

    assert handler(deployed_event(), LambdaContext())["status"] == "ok"

    assert world.run_for()["skipped"] == [
        {
            "id": spot,
            "reason": "spot-one-time",
            "detail": f"Spot request {request_id} could not be read (UnauthorizedOperation): "
            "taken as one-time, not stopped",
        }
    ]
    assert world.state(spot) == "running"


# --- the cap -------------------------------------------------------------------------------------


def test_more_than_max_instances_acts_on_none(world: World) -> None:
    ids = world.launch(count=3)
    (already,) = world.launch()
    world.ec2().stop_instances(InstanceIds=[already])
    summary = handler(deployed_event(max_instances=2), LambdaContext())
    assert summary["status"] == "refused"
    assert (
        summary["pairs"][0]["detail"]
        == "3 instances to stop, more than max_instances (2): acted on none"
    )
    assert {world.state(i) for i in ids} == {"running"}
    assert world.hooks.ops("ec2.StopInstances") == []
    item = world.run_for()
    assert (item["status"], item["would_act"], item["acted"], item["matched"]) == (
        "refused",
        3,
        [],
        4,
    )


def test_exactly_max_instances_is_fine(world: World) -> None:
    world.launch(count=2)
    assert handler(deployed_event(max_instances=2), LambdaContext())["status"] == "ok"


def test_a_refused_occurrence_is_not_retried_by_a_repeat(world: World) -> None:
    world.launch(count=3)
    event = deployed_event(max_instances=2)
    assert handler(event, LambdaContext())["status"] == "refused"
    assert handler(_again(event), LambdaContext())["status"] == "duplicate"
    assert world.hooks.ops("ec2.StopInstances") == []


# --- hibernate -----------------------------------------------------------------------------------


def test_hibernate_where_configured_and_a_noted_plain_stop_elsewhere(world: World) -> None:
    (ready,) = world.launch(HibernationOptions={"Configured": True})
    (plain,) = world.launch()
    summary = handler(deployed_event(hibernate=True), LambdaContext())
    assert summary["status"] == "ok"
    stops = world.hooks.ops("ec2.StopInstances")
    assert stops == [{"InstanceIds": [ready], "Hibernate": True}, {"InstanceIds": [plain]}]
    item = world.run_for()
    assert item["hibernated"] == [ready]
    assert item["notes"] == [
        {"id": plain, "note": "hibernation not configured: stopped without hibernation"}
    ]


def test_a_retried_hibernate_stop_keeps_the_first_attempts_hibernations_notes_and_skips(
    world: World,
) -> None:
    ready = world.launch(count=2, HibernationOptions={"Configured": True})
    (plain,) = world.launch()
    (already,) = world.launch()
    world.ec2().stop_instances(InstanceIds=[already])
    world.hooks.fail(
        "ec2.StopInstances", "IncorrectInstanceState", lambda p: ready[1] in _ids_in(p)
    )
    event = deployed_event(hibernate=True)
    with pytest.raises(run.Retryable):
        handler(event, LambdaContext())
    world.hooks.failures.clear()

    handler(_again(event), LambdaContext())

    item = world.run_for()
    assert (item["status"], item["attempts"]) == ("ok", 2)
    assert sorted(item["hibernated"]) == sorted(ready)
    assert item["hibernated_count"] == 2
    assert [n["id"] for n in item["notes"]] == [plain]
    assert (item["skipped_count"], [s["id"] for s in item["skipped"]]) == (1, [already])


def test_hibernate_false_never_sends_hibernate(world: World) -> None:
    (ready,) = world.launch(HibernationOptions={"Configured": True})
    handler(deployed_event(hibernate=False), LambdaContext())
    # Stopped, and plainly: without the first half, a handler that stops nothing would pass.
    assert world.hooks.ops("ec2.StopInstances") == [{"InstanceIds": [ready]}]
    assert world.state(ready) == "stopped"
    assert "hibernated" not in world.run_for()


# --- at-least-once delivery ----------------------------------------------------------------------


def test_a_repeat_of_a_finished_occurrence_is_a_logged_no_op(world: World) -> None:
    world.launch(count=2)
    event = deployed_event(accounts=(OWN, OTHER))
    first = handler(event, LambdaContext())
    world.hooks.calls.clear()
    repeat = _again(event)

    second = handler(repeat, LambdaContext())

    assert first["status"] == "ok"
    assert second["status"] == "duplicate"
    # The repeat reads its schedule (the trust check) and writes its rows; no EC2 call.
    assert {op for op, _ in world.hooks.calls} == {"scheduler.GetSchedule", "dynamodb.PutItem"}
    rows = [e for e in world.runs() if e["status"] == "duplicate"]
    assert {
        (r["account"], r["execution_id"], r["duplicate_of"], r["original_execution_id"])
        for r in rows
    } == {
        (OWN, repeat["execution_id"], "ok", event["execution_id"]),
        (OTHER, repeat["execution_id"], "ok", event["execution_id"]),
    }
    assert rows[0]["detail"] == (
        f"repeat delivery: execution {event['execution_id'][:8]} already finished this occurrence (ok)"
    )
    # The run item itself is untouched.
    assert world.run_for()["execution_id"] == event["execution_id"]


def test_a_repeat_of_a_partly_failed_occurrence_retries_only_what_failed(world: World) -> None:
    a, b, c = world.launch(count=3)
    world.hooks.fail("ec2.StopInstances", "IncorrectInstanceState", lambda p: b in _ids_in(p))
    event = deployed_event()

    with pytest.raises(run.Retryable, match="transient failures, Lambda may retry"):
        handler(event, LambdaContext())

    item = world.run_for()
    assert item["status"] == "partial"
    assert sorted(item["acted"]) == sorted([a, c])
    assert item["errors"] == [{"id": b, "code": "IncorrectInstanceState", "message": "injected"}]
    world.hooks.failures.clear()
    world.hooks.calls.clear()
    (d,) = world.launch()  # matches now, but was not part of what failed

    summary = handler(_again(event), LambdaContext())

    assert summary["status"] == "ok"
    assert [s["InstanceIds"] for s in world.hooks.ops("ec2.StopInstances")] == [[b]]
    item = world.run_for()
    assert (item["status"], item["attempts"], item["errors"]) == ("ok", 2, [])
    assert sorted(item["acted"]) == sorted([a, b, c])
    assert item["retry_of"] == event["execution_id"]
    assert world.state(d) == "running"


def test_lambda_retrying_the_same_event_after_a_raise(world: World) -> None:
    """Lambda's own retry resends the same event: same execution id, same occurrence."""
    (a,) = world.launch()
    world.hooks.fail("ec2.StopInstances", "RequestLimitExceeded", lambda p: True)
    event = deployed_event(accounts=(OWN, OTHER))
    (other,) = world.launch(OTHER)
    with pytest.raises(run.Retryable):
        handler(event, LambdaContext())
    world.hooks.failures.clear()
    summary = handler(event, LambdaContext())
    assert {p["account"]: p["status"] for p in summary["pairs"]} == {OWN: "ok", OTHER: "ok"}
    assert world.state(a) == "stopped"
    assert world.state(other, OTHER) == "stopped"


@pytest.mark.parametrize("first_outcome", ["ok", "failed"])
def test_another_deployments_schedule_with_the_same_rule_is_never_taken_for_a_repeat(
    world: World, first_outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deployments (schedule groups, each with its executor) sharing one log table and a
    rule name: the second is no repeat of the first. It must neither pass as a quiet duplicate
    nor take the first over."""
    world.launch()
    ours = deployed_event()
    if first_outcome == "failed":
        world.hooks.fail("ec2.StopInstances", "UnauthorizedOperation", lambda p: True)
    handler(ours, LambdaContext())
    world.hooks.failures.clear()
    world.hooks.calls.clear()
    their_function = f"{FUNCTION_ARN}-b"
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", "team-b")
    theirs = deployed_event(group="team-b", function_arn=their_function)

    summary = handler(theirs, LambdaContext(invoked_function_arn=their_function))

    message = (
        f"schedule {ours['schedule_arn']} already ran rule dev-office-hours (stop, {WHEN}) "
        f"here: two deployments share log table {TABLE}; give each its own log_table in "
        "ouroboros.yaml"
    )
    assert summary["status"] == "failed"
    assert summary["pairs"][0]["detail"] == message
    assert [op for op, _ in world.hooks.calls if op.startswith("ec2.")] == []
    first, row = world.runs()
    assert (first["execution_id"], first["status"]) == (ours["execution_id"], first_outcome)
    assert (row["execution_id"], row["status"]) == (theirs["execution_id"], "failed")
    assert row["errors"][0]["code"] == "ClaimedByAnotherSchedule"


def test_an_abandoned_claim_is_taken_over(world: World) -> None:
    (a,) = world.launch()
    event = deployed_event()
    # A first attempt that claimed the occurrence and died (its lease is in the past).
    key = {
        **runlog.run_key("dev-office-hours", WHEN, "stop", OWN, "eu-west-1"),
        **runlog.run_index("dev-office-hours", WHEN, "stop", OWN, "eu-west-1"),
    }
    world.ddb.put_item(
        TableName=TABLE,
        Item=runlog.to_item(
            {
                **key,
                "kind": "run",
                "status": "running",
                "attempts": 1,
                "execution_id": "dead",
                "lease_until": 1,
            }
        ),
    )
    summary = handler(_again(event), LambdaContext())
    assert summary["status"] == "ok"
    assert world.state(a) == "stopped"
    item = world.run_for()
    assert item["attempts"] == 2
    assert [(h["execution_id"], h["status"]) for h in item["history"]] == [("dead", "unfinished")]


def test_lambda_retrying_an_event_whose_result_could_not_be_written(world: World) -> None:
    """The log table fails on the result: the handler raises and Lambda resends the same event
    within its lease. The claim is that event's own, so the retry takes it over and records."""
    (a,) = world.launch()
    event = deployed_event()
    world.hooks.fail(
        "dynamodb.PutItem",
        "ProvisionedThroughputExceededException",
        lambda p: "ConditionExpression" in p and ":running" in p["ConditionExpression"],
    )
    with pytest.raises(LogTableError):
        handler(event, LambdaContext())
    assert world.state(a) == "stopped"
    assert world.runs()[0]["status"] == "running"
    world.hooks.failures.clear()

    summary = handler(event, LambdaContext())

    assert summary["status"] == "ok"
    item = world.run_for()
    assert (item["status"], item["attempts"]) == ("ok", 2)
    assert item["skipped"] == [{"id": a, "reason": "in-target-state", "detail": "already stopped"}]
    assert [h["status"] for h in item["history"]] == ["unfinished"]


def test_an_occurrence_in_progress_elsewhere_is_left_alone(world: World) -> None:
    world.launch()
    key = {
        **runlog.run_key("dev-office-hours", WHEN, "stop", OWN, "eu-west-1"),
        **runlog.run_index("dev-office-hours", WHEN, "stop", OWN, "eu-west-1"),
    }
    live = int(datetime.now(UTC).timestamp()) + 300
    world.ddb.put_item(
        TableName=TABLE,
        Item=runlog.to_item(
            {
                **key,
                "kind": "run",
                "status": "running",
                "attempts": 1,
                "execution_id": "busy",
                "lease_until": live,
            }
        ),
    )
    summary = handler(deployed_event(), LambdaContext())
    assert (
        summary["pairs"][0]["detail"]
        == "repeat delivery: execution busy is processing this occurrence"
    )
    assert world.hooks.ops("ec2.DescribeInstances") == []


def test_an_invocation_out_of_time_records_what_it_did_not_do_and_a_retry_does_it(
    world: World,
) -> None:
    """Never killed mid-work with claims left "running": a pair started inside the time kept
    for recording results does nothing, says so, and asks Lambda for a retry."""
    (a,) = world.launch()
    event = deployed_event()
    with pytest.raises(run.Retryable, match="NotAttempted"):
        handler(event, LambdaContext(remaining_ms=0))
    assert world.hooks.ops("ec2.DescribeInstances") == []
    item = world.run_for()
    assert (item["status"], item["errors"]) == (
        "failed",
        [
            {
                "id": "",
                "code": "NotAttempted",
                "message": "not sent: the function was close to its timeout; a retry sends it",
            }
        ],
    )

    summary = handler(event, LambdaContext())  # Lambda's retry: the same event

    assert summary["status"] == "ok"
    assert world.state(a) == "stopped"
    assert world.run_for()["attempts"] == 2


# --- failure isolation ---------------------------------------------------------------------------


def test_access_denied_on_assume_role_fails_that_account_only(world: World) -> None:
    mine = {r: world.launch(OWN, r) for r in REGIONS}
    world.launch(OTHER, "eu-west-1")
    world.hooks.fail(
        "sts.AssumeRole",
        "AccessDenied",
        lambda p: OTHER in p["RoleArn"],
        message=f"User: arn:aws:sts::{OWN}:assumed-role/ouroboros-executor/x is not authorized to perform: sts:AssumeRole",
    )
    event = deployed_event(accounts=(OWN, OTHER), regions=REGIONS)

    summary = handler(event, LambdaContext())  # AccessDenied: a Lambda retry would not help

    assert summary["status"] == "partial"
    assert {(p["account"], p["region"]): p["status"] for p in summary["pairs"]} == {
        (OWN, "eu-west-1"): "ok",
        (OWN, "us-east-1"): "ok",
        (OTHER, "eu-west-1"): "failed",
        (OTHER, "us-east-1"): "failed",
    }
    assert {world.state(i[0], OWN, r) for r, i in mine.items()} == {"stopped"}
    failed = world.run_for(OTHER, "us-east-1")
    assert failed["errors"] == [
        {
            "id": "",
            "code": "AccessDenied",
            "message": f"User: arn:aws:sts::{OWN}:assumed-role/ouroboros-executor/x is not authorized to perform: sts:AssumeRole",
        }
    ]
    assert failed["detail"].startswith("1 error(s), first: AccessDenied: User:")
    assert len(world.hooks.ops("sts.AssumeRole")) == 1  # tried once for both regions

    # Once the role is fixed, a repeat retries the failed account and only that.
    world.hooks.failures.clear()
    again = handler(_again(event), LambdaContext())
    assert {(p["account"], p["region"]): p["status"] for p in again["pairs"]} == {
        (OWN, "eu-west-1"): "duplicate",
        (OWN, "us-east-1"): "duplicate",
        (OTHER, "eu-west-1"): "ok",
        (OTHER, "us-east-1"): "ok",
    }
    retried = world.run_for(OTHER, "eu-west-1")
    assert (retried["acted_count"], retried["attempts"]) == (1, 2)
    assert retried["history"] == [
        {
            "attempt": 1,
            "execution_id": event["execution_id"],
            "started_at": retried["history"][0]["started_at"],
            "status": "failed",
            "error_count": 1,
            "errors": failed["errors"],
        }
    ]


def test_a_per_instance_error_does_not_block_the_others(world: World) -> None:
    ids = world.launch(count=5)
    bad = ids[3]
    world.hooks.fail(
        "ec2.StopInstances",
        "OperationNotPermitted",
        lambda p: bad in _ids_in(p),
        message=f"The instance '{bad}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.",
    )
    summary = handler(deployed_event(), LambdaContext())  # not retryable: returns
    assert summary["status"] == "partial"
    assert {i: world.state(i) for i in ids} == {
        i: ("running" if i == bad else "stopped") for i in ids
    }
    item = world.run_for()
    assert [(e["id"], e["code"]) for e in item["errors"]] == [(bad, "OperationNotPermitted")]
    assert item["acted_count"] == 4


def test_a_describe_failure_fails_the_pair_and_raises_when_transient(world: World) -> None:
    world.launch()
    world.launch(OWN, "us-east-1")
    world.hooks.fail("ec2.DescribeInstances", "ServiceUnavailable", lambda p: True, times=1)
    with pytest.raises(run.Retryable) as info:
        handler(deployed_event(regions=REGIONS), LambdaContext())
    statuses = sorted(e["status"] for e in world.runs())
    assert statuses == ["failed", "ok"]
    assert "ServiceUnavailable" in str(info.value)


def test_all_instances_failing_is_failed(world: World) -> None:
    world.launch(count=2)
    world.hooks.fail("ec2.StopInstances", "UnauthorizedOperation", lambda p: True)
    summary = handler(deployed_event(), LambdaContext())
    assert summary["status"] == "failed"
    assert world.run_for()["error_count"] == 2


# --- refusals and configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"targets": {}},
        {"targets": {"tag:Environment": []}},
        {"targets": {"instance-id": ["*"]}},
        {"targets": {"tag:Name": ["*"]}},
        {"targets": {"tag:Environment": ["dev"], "instance-type": ["*.*"]}},
        {"targets": {"tag:Environment": ["dev"], "availability-zone": ["eu-**"]}},
        {"targets": {"tag:Environment": ["dev"], "availability-zone": ["eu-west-1*"]}},
        {"targets": {"platform": ["windows"]}},
        {"max_instances": 0},
        {"extra": True},
        {"scheduled_time": "<aws.scheduler.scheduled-time>"},
    ],
)
def test_a_bad_event_is_refused_without_any_aws_call(world: World, change: dict[str, Any]) -> None:
    world.launch()
    world.hooks.calls.clear()
    summary = handler({**deployed_event(), **change}, LambdaContext())
    assert summary["status"] == "refused"
    assert summary["rule"] == "dev-office-hours"
    assert summary["problems"]
    assert world.hooks.calls == []
    assert world.runs() == []


def test_a_non_object_event_is_refused() -> None:
    summary = handler("stop everything", LambdaContext())
    assert summary == {
        "status": "refused",
        "rule": None,
        "problems": ["the event must be a JSON object, not a string"],
    }


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        (
            {"OUROBOROS_LOG_TABLE": ""},
            "OUROBOROS_LOG_TABLE is not set: the function needs its log table name",
        ),
        (
            {"OUROBOROS_LOG_RETENTION_DAYS": "ninety"},
            "OUROBOROS_LOG_RETENTION_DAYS='ninety': give a whole number of days >= 1",
        ),
    ],
)
def test_bad_configuration_is_reported_without_acting(
    world: World, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], problem: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    world.launch()
    world.hooks.calls.clear()
    summary = handler(deployed_event(), LambdaContext())
    assert summary == {"status": "failed", "rule": "dev-office-hours", "problems": [problem]}
    assert world.hooks.calls == []


def test_a_missing_log_table_raises_before_touching_ec2(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", "no-such-table")
    world.launch()
    with pytest.raises(
        LogTableError, match="PutItem on the log table failed: ResourceNotFoundException"
    ):
        handler(deployed_event(), LambdaContext())
    assert world.hooks.ops("ec2.DescribeInstances") == []


def test_dynamodb_throttling_raises_so_lambda_retries(world: World) -> None:
    world.launch()
    world.hooks.fail("dynamodb.PutItem", "ProvisionedThroughputExceededException", lambda p: True)
    with pytest.raises(LogTableError, match="ProvisionedThroughputExceededException"):
        handler(deployed_event(), LambdaContext())
    assert world.hooks.ops("ec2.StopInstances") == []


# --- the trust boundary: only events a deployed schedule of ours sent ----------------------------

THEIR_ACCOUNT = "333333333333"


def _refused_row(world: World) -> dict[str, Any]:
    (row,) = [e for e in world.runs() if e["status"] == "refused"]
    return row


def _ec2_calls(world: World) -> list[str]:
    return [op for op, _ in world.hooks.calls if op.startswith(("ec2.", "sts.AssumeRole"))]


def _retarget(name: str, **changes: Any) -> None:
    """Change the deployed schedule `name` the way someone editing it by hand would."""
    scheduler = boto3.client("scheduler", region_name="eu-west-1")
    got = scheduler.get_schedule(Name=name, GroupName=GROUP)
    params = {
        k: got[k]
        for k in (
            "Name",
            "GroupName",
            "ScheduleExpression",
            "ScheduleExpressionTimezone",
            "FlexibleTimeWindow",
            "Target",
            "State",
        )
        if k in got
    }
    params.update(changes)
    scheduler.update_schedule(**params)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"role_name": "admin"},
            "role_name: 'admin' is not this executor's target role ('ouroboros-target', from "
            "OUROBOROS_TARGET_ROLE)",
        ),
        (
            {"scheduled_time": "2026-11-27T19:10:00Z"},
            "scheduled_time: 2026-11-27T19:10:00Z is in the future (now 2026-11-27T19:00:30Z): "
            "an occurrence is acted on when it fires, never before",
        ),
        (
            {"scheduled_time": "2026-11-27T17:00:00Z"},
            "scheduled_time: 2026-11-27T17:00:00Z is older than the schedules' retry window "
            "(now 2026-11-27T19:00:30Z): too late to act on",
        ),
        (
            {"schedule_arn": f"arn:aws:scheduler:eu-west-1:{OWN}:schedule/default/x"},
            f"schedule_arn: arn:aws:scheduler:eu-west-1:{OWN}:schedule/default/x is not a "
            f"schedule of group ouroboros in this function's account and region "
            f"(arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/...)",
        ),
        (
            {"schedule_arn": f"arn:aws:scheduler:eu-west-1:{OTHER}:schedule/ouroboros/x"},
            f"schedule_arn: arn:aws:scheduler:eu-west-1:{OTHER}:schedule/ouroboros/x is not a "
            f"schedule of group ouroboros in this function's account and region "
            f"(arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/...)",
        ),
        (
            {"schedule_arn": f"arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/nope-stop"},
            f"schedule_arn: no schedule arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/"
            "nope-stop exists: no deployed schedule sent it",
        ),
        (
            {"accounts": [OWN, THEIR_ACCOUNT]},
            "the event differs from the schedule's input in: accounts",
        ),
        (
            {"targets": {"tag:Environment": ["prod"]}, "max_instances": 1000},
            "the event differs from the schedule's input in: max_instances, targets",
        ),
        (
            {"scheduled_time": "2026-11-27T18:59:00Z"},
            "scheduled_time: cron(0 19 ? * MON-FRI *) (UTC) does not fire at 2026-11-27T18:59:00Z",
        ),
    ],
)
def test_an_event_no_deployed_schedule_sent_is_refused_and_logged_without_ec2(
    world: World, change: dict[str, Any], problem: str
) -> None:
    instance = world.launch()
    world.hooks.calls.clear()
    event = {**deployed_event(), **change}

    summary = handler(event, LambdaContext())

    assert summary == {"status": "refused", "rule": "dev-office-hours", "problems": [problem]}
    assert _ec2_calls(world) == []
    assert world.state(instance[0]) == "running"
    row = _refused_row(world)
    assert (row["account"], row["region"], row["detail"]) == ("-", "-", f"event refused: {problem}")
    assert row["execution_id"] == event["execution_id"]


def test_a_refusal_never_claims_the_occurrence(world: World) -> None:
    """A forged event (another account added) for the real occurrence is refused; the real
    delivery that follows still acts."""
    instance = world.launch()
    real = deployed_event()
    forged = {**_again(real), "accounts": [OWN, THEIR_ACCOUNT]}
    assert handler(forged, LambdaContext())["status"] == "refused"

    summary = handler(real, LambdaContext())

    assert summary["status"] == "ok"
    assert world.state(instance[0]) == "stopped"
    assert world.run_for()["execution_id"] == real["execution_id"]


def test_a_future_occurrence_cannot_be_pre_claimed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = world.launch()
    monday = "2026-11-30T19:00:00Z"  # the stop schedule's next occurrence
    early = {**deployed_event(), "scheduled_time": monday}
    assert handler(early, LambdaContext())["status"] == "refused"

    monkeypatch.setattr(
        handler_module,
        "TUNING",
        ec2.Tuning(sleep=lambda _: None, now=lambda: runlog.parse_instant(monday)),
    )
    summary = handler({**_again(early), "scheduled_time": monday}, LambdaContext())

    assert summary["status"] == "ok"
    assert world.state(instance[0]) == "stopped"


def test_a_delivery_retried_within_the_hour_is_accepted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.launch()
    late = datetime(2026, 11, 27, 20, 10, tzinfo=UTC)  # Scheduler retries for up to an hour
    monkeypatch.setattr(
        handler_module, "TUNING", ec2.Tuning(sleep=lambda _: None, now=lambda: late)
    )
    assert handler(deployed_event(), LambdaContext())["status"] == "ok"


def test_an_event_for_an_account_not_allowed_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUROBOROS_ALLOWED_ACCOUNTS", f"{OTHER},{OWN}")
    world.launch()
    world.hooks.calls.clear()
    event = deployed_event(accounts=(OWN, THEIR_ACCOUNT))

    summary = handler(event, LambdaContext())

    assert summary["problems"] == [
        f"accounts: {THEIR_ACCOUNT} not in allowed_accounts (OUROBOROS_ALLOWED_ACCOUNTS)"
    ]
    assert _ec2_calls(world) == []
    monkeypatch.setenv("OUROBOROS_ALLOWED_ACCOUNTS", f"{OTHER},{OWN}")
    assert handler(deployed_event(accounts=(OWN, OTHER)), LambdaContext())["status"] == "ok"


def test_a_schedule_changed_by_hand_is_not_trusted(world: World) -> None:
    world.launch()
    event = deployed_event()
    _retarget("dev-office-hours-stop", State="DISABLED")
    assert handler(event, LambdaContext())["problems"] == [
        "the schedule is DISABLED: it sends no events"
    ]
    other_function = f"arn:aws:lambda:eu-west-1:{OWN}:function:something-else"
    scheduler = boto3.client("scheduler", region_name="eu-west-1")
    target = scheduler.get_schedule(Name="dev-office-hours-stop", GroupName=GROUP)["Target"]
    _retarget("dev-office-hours-stop", State="ENABLED", Target={**target, "Arn": other_function})
    assert handler(_again(event), LambdaContext())["problems"] == [
        f"the schedule targets {other_function}, not this function ({FUNCTION_ARN})"
    ]


def test_a_qualified_function_arn_is_the_same_function(world: World) -> None:
    world.launch()
    context = LambdaContext(invoked_function_arn=f"{FUNCTION_ARN}:live")
    assert handler(deployed_event(), context)["status"] == "ok"


@pytest.mark.parametrize(
    ("expression", "timezone", "scheduled", "ok"),
    [
        ("at(2026-11-27T20:00:00)", "Europe/Berlin", WHEN, True),
        ("at(2026-11-27T19:00:00)", "Europe/Berlin", WHEN, False),
        ("cron(0 20 ? * FRI *)", "Europe/Berlin", WHEN, True),
        ("cron(0 20 ? * FRI *)", "UTC", WHEN, False),
    ],
)
def test_the_expression_must_fire_at_the_scheduled_time(
    world: World, expression: str, timezone: str, scheduled: str, ok: bool
) -> None:
    world.launch()
    event = deployed_event(stop=expression, timezone=timezone)
    summary = handler(event, LambdaContext())
    assert summary["status"] == ("ok" if ok else "refused"), summary


def test_a_rate_schedule_vouches_for_any_time_since_it_began(world: World) -> None:
    # rate() has no phase the executor can know: any time since the schedule began counts.
    world.launch()
    event = deployed_event(stop="rate(7 minutes)")
    began = datetime(2026, 11, 27, 18, 59, 30, tzinfo=UTC)
    _retarget("dev-office-hours-stop", StartDate=began)
    early = {**_again(event), "scheduled_time": "2026-11-27T18:50:00Z"}
    assert handler(early, LambdaContext())["problems"] == [
        "scheduled_time: 2026-11-27T18:50:00Z is before the schedule began (2026-11-27T18:59:30Z)"
    ]
    assert handler(event, LambdaContext())["status"] == "ok"


def test_an_unreadable_schedule_raises_so_lambda_retries(world: World) -> None:
    world.launch()
    world.hooks.fail("scheduler.GetSchedule", "ThrottlingException", lambda p: True)
    with pytest.raises(run.Retryable, match="GetSchedule ouroboros/dev-office-hours-stop failed"):
        handler(deployed_event(), LambdaContext())
    assert _ec2_calls(world) == []


@pytest.mark.parametrize("name", ["OUROBOROS_SCHEDULE_GROUP", "OUROBOROS_TARGET_ROLE"])
def test_the_trust_settings_are_required(
    world: World, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv(name)
    summary = handler(deployed_event(), LambdaContext())
    assert summary["problems"] == [
        f"{name} is not set: `reconcile apply` sets it from the settings; apply again"
    ]
