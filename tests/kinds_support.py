"""A moto world for the executor's non-EC2 kinds: RDS DB instances, Aurora clusters, ASGs.

The handler is called the way Lambda calls it, with an event built by the reconciler's own
desired-state code from a Rule (so the schedule it names is deployed in moto too). Every call
the executor makes is recorded; a test can fail chosen calls, or patch Describe responses
with fields moto does not produce (statuses such as backing-up, global database members).
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

from reconciler import desired, runlog
from reconciler.executor import credentials, ec2
from reconciler.executor import handler as handler_module
from reconciler.model import Rule, Settings

OWN = "123456789012"
REGION = "eu-west-1"
TABLE = "ouroboros-runs"
GROUP = "ouroboros"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{OWN}:function:ouroboros-executor"
WHEN = "2026-11-27T19:00:00Z"
FIRED_AT = datetime(2026, 11, 27, 19, 0, 30, tzinfo=UTC)
SETTINGS = Settings(
    region=REGION,
    schedule_group=GROUP,
    function_name="ouroboros-executor",
    executor_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-executor",
    scheduler_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-scheduler",
    target_role_name="ouroboros-target",
    log_table=TABLE,
)


@dataclass
class LambdaContext:
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
    operation: str  # e.g. "autoscaling.UpdateAutoScalingGroup"
    code: str
    when: Callable[[dict[str, Any]], bool]
    times: int = 1_000_000


class Hooks:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: list[Failure] = []
        # Describe response patches: identifier -> fields to set on it.
        self.patches: dict[str, dict[str, Any]] = {}

    def session(self) -> boto3.session.Session:
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        session = boto3.session.Session(botocore_session=core)
        session.events.register("provide-client-params", self._record)
        session.events.register("before-call", self._inject)
        session.events.register("after-call.rds.DescribeDBInstances", self._patch)
        session.events.register("after-call.rds.DescribeDBClusters", self._patch)
        return session

    def fail(
        self,
        operation: str,
        code: str,
        when: Callable[[dict[str, Any]], bool] = lambda _: True,
        times: int = 1_000_000,
    ) -> None:
        self.failures.append(Failure(operation, code, when, times))

    def ops(self, operation: str) -> list[dict[str, Any]]:
        return [params for op, params in self.calls if op == operation]

    def operations(self) -> list[str]:
        return [
            op for op, _ in self.calls if not op.startswith(("dynamodb.", "scheduler.", "sts."))
        ]

    def _record(
        self, params: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any
    ) -> None:
        # botocore's event names call Auto Scaling "auto-scaling"; IAM and boto3 "autoscaling".
        operation = ".".join(event_name.split(".")[1:]).replace("auto-scaling.", "autoscaling.")
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
                error = {"Code": failure.code, "Message": f"injected {failure.code}"}
                return AWSResponse("https://injected", 400, {}, None), {
                    "Error": error,
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                }
        return None

    def _patch(self, parsed: dict[str, Any], **_: Any) -> None:
        for key, id_key in (
            ("DBInstances", "DBInstanceIdentifier"),
            ("DBClusters", "DBClusterIdentifier"),
        ):
            for item in parsed.get(key, []):
                item.update(self.patches.get(item[id_key], {}))


class World:
    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.ddb = boto3.client("dynamodb", region_name=REGION)
        self.ddb.create_table(TableName=TABLE, **runlog.TABLE_DEFINITION)
        self.rds = boto3.client("rds", region_name=REGION)
        self.autoscaling = boto3.client("autoscaling", region_name=REGION)
        self.ec2 = boto3.client("ec2", region_name=REGION)
        self._template: str | None = None

    # --- RDS ---------------------------------------------------------------------------------

    def db(
        self, name: str, tags: dict[str, str] | None = None, engine: str = "postgres", **kw: Any
    ) -> str:
        tags = {"Environment": "dev"} if tags is None else tags
        self.rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password123",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **kw,
        )
        return name

    def db_status(self, name: str) -> str:
        return str(
            self.rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
                "DBInstanceStatus"
            ]
        )

    def cluster(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        engine: str = "aurora-postgresql",
        **kw: Any,
    ) -> str:
        tags = {"Environment": "dev"} if tags is None else tags
        self.rds.create_db_cluster(
            DBClusterIdentifier=name,
            Engine=engine,
            MasterUsername="admin",
            MasterUserPassword="password123",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
            **kw,
        )
        return name

    def cluster_status(self, name: str) -> str:
        return str(
            self.rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Status"]
        )

    # --- Auto Scaling ------------------------------------------------------------------------

    def group(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        min_size: int = 1,
        desired: int = 2,
        max_size: int = 4,
    ) -> str:
        tags = {"Environment": "dev"} if tags is None else tags
        if self._template is None:
            self._template = "web"
            self.ec2.create_launch_template(
                LaunchTemplateName="web",
                LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
            )
        self.autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": "web"},
            MinSize=min_size,
            DesiredCapacity=desired,
            MaxSize=max_size,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[
                {
                    "Key": k,
                    "Value": v,
                    "ResourceId": name,
                    "ResourceType": "auto-scaling-group",
                    "PropagateAtLaunch": False,
                }
                for k, v in tags.items()
            ],
        )
        return name

    def capacity(self, name: str) -> tuple[int, int, int]:
        g = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]
        return int(g["MinSize"]), int(g["DesiredCapacity"]), int(g["MaxSize"])

    def group_tags(self, name: str) -> dict[str, str]:
        g = self.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])[
            "AutoScalingGroups"
        ][0]
        return {t["Key"]: t["Value"] for t in g.get("Tags", [])}

    # --- the run log ---------------------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        day = runlog.parse_instant(WHEN)
        entries = runlog.query_range(self.ddb, TABLE, day.replace(hour=0), day.replace(hour=23))
        return [e for e in entries if e["status"] != "duplicate"]

    def run(self, action: str | None = None) -> dict[str, Any]:
        (entry,) = [e for e in self.runs() if action in (None, e["action"])]
        return entry


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", TABLE)
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", GROUP)
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    monkeypatch.delenv("OUROBOROS_LOG_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("OUROBOROS_ALLOWED_ACCOUNTS", raising=False)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    hooks = Hooks()
    monkeypatch.setattr(credentials, "new_session", hooks.session)
    monkeypatch.setattr(
        handler_module, "TUNING", ec2.Tuning(sleep=lambda _: None, now=lambda: FIRED_AT)
    )
    with mock_aws():
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=GROUP)
        yield World(hooks)


def deployed_event(resource: str, action: str = "stop", **rule_fields: Any) -> dict[str, Any]:
    """The event a deployed schedule of such a rule delivers (the schedule put in moto)."""
    fields: dict[str, Any] = {
        "name": f"dev-{resource}",
        "accounts": (OWN,),
        "regions": (REGION,),
        "targets": (("tag:Environment", ("dev",)),),
        "start": "cron(0 19 ? * FRI *)",
        "stop": "cron(0 19 ? * MON-FRI *)",
        "resource": resource,
    }
    fields.update(rule_fields)
    rule = Rule(**fields)
    schedule = desired.desired_schedule(
        rule, action, str(rule.expression(action)), SETTINGS, FUNCTION_ARN
    )
    scheduler = boto3.client("scheduler", region_name=REGION)
    try:
        scheduler.create_schedule(**schedule.to_api())
    except scheduler.exceptions.ConflictException:
        scheduler.update_schedule(**schedule.to_api())
    text = str(schedule.input)
    for placeholder, value in (
        (
            "<aws.scheduler.schedule-arn>",
            f"arn:aws:scheduler:{REGION}:{OWN}:schedule/{GROUP}/{schedule.name}",
        ),
        ("<aws.scheduler.scheduled-time>", WHEN),
        ("<aws.scheduler.execution-id>", str(uuid.uuid4())),
    ):
        text = text.replace(placeholder, value)
    return dict(json.loads(text))


def again(event: dict[str, Any]) -> dict[str, Any]:
    """The same occurrence delivered again (a new execution id)."""
    return {**event, "execution_id": str(uuid.uuid4())}


def fire(event: dict[str, Any]) -> dict[str, Any]:
    return handler_module.handler(event, LambdaContext())
