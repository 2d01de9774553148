"""executor/verify_kinds.py: a DB instance, Aurora cluster or Auto Scaling group whose start
did not stick is a failed start, with its status and what to check; a start AWS rejected says
what to check; no busy loop, no look past the deadline, one Describe per look by the ids."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler.executor import ec2, verify_kinds
from reconciler.executor.asgselect import SAVED_CAPACITY_TAG, Capacity, Group
from reconciler.executor.dbselect import DbCluster, DbInstance
from reconciler.executor.event import Occurrence

TARGETS: Any = (("tag:Environment", ("dev",)),)


def occurrence(targets: Any = TARGETS) -> Occurrence:
    return Occurrence(
        rule="dev",
        action="start",
        hibernate=False,
        accounts=("123456789012",),
        regions=("eu-west-1",),
        targets=targets,
        max_instances=10,
        role_name="ouroboros-target",
        schedule_arn="arn:aws:scheduler:eu-west-1:123456789012:schedule/ouroboros/dev-start",
        scheduled_time="2026-11-27T07:00:00Z",
        execution_id="e-1",
    )


class FakeClient:
    """Answers one Describe (RDS instances or clusters, or Auto Scaling groups) from a script:
    one dict id -> fields per call; records each request."""

    def __init__(
        self, operation: str, *answers: dict[str, dict[str, Any]], error: str = ""
    ) -> None:
        self.operation = operation
        self.answers: Iterator[dict[str, dict[str, Any]]] = iter(answers)
        self.requests: list[dict[str, Any]] = []
        self.error = error

    def get_paginator(self, name: str) -> FakeClient:
        assert name == self.operation
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        self.requests.append(request)
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "Describe")
        answer = next(self.answers)
        if self.operation == "describe_auto_scaling_groups":
            wanted = request["AutoScalingGroupNames"]
            groups = [{"AutoScalingGroupName": n, **answer[n]} for n in wanted if n in answer]
            return [{"AutoScalingGroups": groups}]
        key, id_key = (
            ("DBInstances", "DBInstanceIdentifier")
            if self.operation == "describe_db_instances"
            else ("DBClusters", "DBClusterIdentifier")
        )
        (wanted,) = [f["Values"] for f in request["Filters"] if f["Name"].endswith("-id")]
        return [{key: [{id_key: i, **answer[i]} for i in wanted if i in answer]}]


def db(status: str) -> dict[str, Any]:
    return {
        "DBInstanceStatus": status,
        "Engine": "postgres",
        "TagList": [{"Key": "Environment", "Value": "dev"}],
    }


def cluster(status: str) -> dict[str, Any]:
    return {
        "Status": status,
        "Engine": "aurora-postgresql",
        "TagList": [{"Key": "Environment", "Value": "dev"}],
    }


def tuning(sleeps: list[float], deadline: float = math.inf) -> ec2.Tuning:
    return ec2.Tuning(sleep=sleeps.append, deadline=deadline, reserve_s=0, clock=lambda: 0.0)


def confirm_dbs(client: FakeClient, acted: list[str], sleeps: list[float]) -> ec2.Outcome:
    dbs = [DbInstance(i, "stopped", "postgres") for i in acted]
    return verify_kinds.confirm_db_instances(
        client, occurrence(), dbs, ec2.Outcome(acted=list(acted)), tuning(sleeps)
    )


# --- DB instances ---------------------------------------------------------------------------


def test_a_db_instance_in_a_failed_status_is_a_failed_start_with_what_to_check() -> None:
    client = FakeClient(
        "describe_db_instances", {"dev-1": db("available"), "dev-2": db("incompatible-parameters")}
    )
    sleeps: list[float] = []
    outcome = confirm_dbs(client, ["dev-1", "dev-2"], sleeps)
    assert outcome.acted == ["dev-1"]
    assert outcome.errors == [
        {
            "id": "dev-2",
            "code": "StartDidNotStick",
            "message": "started, but its status is incompatible-parameters: its DB parameter "
            "group has values it cannot start with (memory settings, say): revert or fix the "
            "parameter group, then start it again",
        }
    ]
    assert sleeps == [5.0]  # both settled at the first look: no second one
    assert client.requests == [
        {
            "Filters": [{"Name": "db-instance-id", "Values": ["dev-1", "dev-2"]}],
            "PaginationConfig": {"PageSize": 100},
        }
    ]


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (
            "inaccessible-encryption-credentials",
            "the KMS key that encrypts it is disabled, deleted or not usable by RDS",
        ),
        ("storage-full", "it has used all its allocated storage: increase the allocated storage"),
        ("insufficient-capacity", "AWS has no capacity for its instance class"),
        ("incompatible-network", "its VPC or subnets cannot take it"),
    ],
)
def test_each_failed_status_says_what_to_check(status: str, hint: str) -> None:
    client = FakeClient("describe_db_instances", {"dev-1": db(status)})
    outcome = confirm_dbs(client, ["dev-1"], [])
    (error,) = outcome.errors
    assert error["message"].startswith(f"started, but its status is {status}: {hint}")
    assert outcome.acted == []


def test_still_stopped_after_both_looks_is_a_failed_start() -> None:
    client = FakeClient(
        "describe_db_instances",
        {"dev-1": db("stopped"), "dev-2": db("starting")},
        {"dev-1": db("stopped"), "dev-2": db("starting")},
    )
    sleeps: list[float] = []
    outcome = confirm_dbs(client, ["dev-1", "dev-2"], sleeps)
    assert sleeps == [5.0, 10.0]
    assert outcome.acted == ["dev-2"]  # `starting` counts as started
    assert outcome.errors == [
        {
            "id": "dev-1",
            "code": "StartDidNotStick",
            "message": "started, but its status is stopped: AWS accepted the start but did not "
            "keep it: check the DB instance's recent events in the RDS console for why",
        }
    ]


def test_stopped_at_the_first_look_but_starting_at_the_second_is_started() -> None:
    client = FakeClient(
        "describe_db_instances", {"dev-1": db("stopped")}, {"dev-1": db("starting")}
    )
    outcome = confirm_dbs(client, ["dev-1"], [])
    assert (outcome.acted, outcome.errors) == (["dev-1"], [])
    assert client.requests[1]["Filters"] == [{"Name": "db-instance-id", "Values": ["dev-1"]}]


def test_starting_then_back_to_stopped_is_a_failed_start() -> None:
    client = FakeClient(
        "describe_db_instances",
        {"dev-1": db("starting"), "dev-2": db("available")},
        {"dev-1": db("stopping")},
    )
    outcome = confirm_dbs(client, ["dev-1", "dev-2"], [])
    assert outcome.acted == ["dev-2"]
    assert outcome.errors[0]["id"] == "dev-1"
    assert outcome.errors[0]["message"].startswith("started, but its status is stopping: ")
    assert client.requests[1]["Filters"] == [{"Name": "db-instance-id", "Values": ["dev-1"]}]


def test_the_rules_server_side_filters_narrow_the_look_too() -> None:
    client = FakeClient("describe_db_instances", {"dev-1": db("available")})
    dbs = [DbInstance("dev-1", "stopped", "postgres")]
    occ = occurrence(targets=(("engine", ("postgres",)),))
    verify_kinds.confirm_db_instances(client, occ, dbs, ec2.Outcome(acted=["dev-1"]), tuning([]))
    assert client.requests[0]["Filters"] == [
        {"Name": "db-instance-id", "Values": ["dev-1"]},
        {"Name": "engine", "Values": ["postgres"]},
    ]


def test_no_look_when_the_deadline_is_near() -> None:
    client = FakeClient("describe_db_instances")
    sleeps: list[float] = []
    dbs = [DbInstance("dev-1", "stopped", "postgres")]
    outcome = verify_kinds.confirm_db_instances(
        client, occurrence(), dbs, ec2.Outcome(acted=["dev-1"]), tuning(sleeps, deadline=4.0)
    )
    assert (outcome.acted, sleeps, client.requests) == (["dev-1"], [], [])


def test_a_describe_error_fails_no_start_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient("describe_db_instances", error="AccessDenied")
    with caplog.at_level(logging.WARNING, logger="ouroboros.executor"):
        outcome = confirm_dbs(client, ["dev-1"], [])
    assert (outcome.acted, outcome.errors) == (["dev-1"], [])
    assert caplog.messages == ["could not check that the starts stuck: no"]


def test_nothing_started_means_no_call() -> None:
    client = FakeClient("describe_db_instances")
    confirm_dbs(client, [], [])
    assert client.requests == []


# --- Aurora clusters ------------------------------------------------------------------------


def test_an_aurora_cluster_whose_key_is_gone_is_a_failed_start() -> None:
    client = FakeClient(
        "describe_db_clusters",
        {"dev-a": cluster("inaccessible-encryption-credentials"), "dev-b": cluster("starting")},
        {"dev-b": cluster("stopped")},
    )
    clusters = [DbCluster(i, "stopped", "aurora-postgresql") for i in ("dev-a", "dev-b")]
    outcome = verify_kinds.confirm_db_clusters(
        client, occurrence(), clusters, ec2.Outcome(acted=["dev-a", "dev-b"]), tuning([])
    )
    assert outcome.acted == []
    assert [e["message"] for e in outcome.errors] == [
        "started, but its status is inaccessible-encryption-credentials: the KMS key that "
        "encrypts it is disabled, deleted or not usable by RDS: enable the key and check its "
        "policy and grants (a key that cannot be recovered means restoring from a backup)",
        "started, but its status is stopped: AWS accepted the start but did not keep it: "
        "check the DB cluster's recent events in the RDS console for why",
    ]
    assert client.requests[0]["Filters"] == [
        {"Name": "db-cluster-id", "Values": ["dev-a", "dev-b"]}
    ]


# --- Auto Scaling groups --------------------------------------------------------------------


def group(min_size: int, desired: int, max_size: int) -> dict[str, Any]:
    return {
        "MinSize": min_size,
        "DesiredCapacity": desired,
        "MaxSize": max_size,
        "Tags": [{"Key": "Environment", "Value": "dev"}],
    }


def stopped_group(name: str) -> Group:
    """A group as the start found it: at zero, its capacity saved in the tag."""
    tags = {"Environment": "dev", SAVED_CAPACITY_TAG: "min=1,desired=2,max=4"}
    return Group(name, Capacity(0, 0, 4), tags)


def test_a_group_set_back_to_zero_is_a_failed_start_after_one_look() -> None:
    client = FakeClient(
        "describe_auto_scaling_groups", {"web": group(1, 2, 4), "api": group(0, 0, 4)}
    )
    sleeps: list[float] = []
    groups = [stopped_group("web"), stopped_group("api")]
    outcome = verify_kinds.confirm_groups(
        client, occurrence(), groups, ec2.Outcome(acted=["web", "api"]), tuning(sleeps)
    )
    assert sleeps == [5.0]  # the restore is synchronous: one look
    assert outcome.acted == ["web"]
    assert outcome.errors == [
        {
            "id": "api",
            "code": "StartDidNotStick",
            "message": "restored to min=1,desired=2,max=4, but the group shows "
            "min=0,desired=0,max=4 right after: something set it back (a scheduled action, "
            "another scheduler, a person): check the group's activity history and scheduled "
            "actions",
        }
    ]
    assert client.requests == [
        {
            "Filters": [{"Name": "tag:Environment", "Values": ["dev"]}],
            "AutoScalingGroupNames": ["web", "api"],
            "PaginationConfig": {"PageSize": 100},
        }
    ]


def test_a_group_scaled_in_but_not_to_zero_is_started() -> None:
    client = FakeClient("describe_auto_scaling_groups", {"web": group(1, 1, 4)})
    outcome = verify_kinds.confirm_groups(
        client, occurrence(), [stopped_group("web")], ec2.Outcome(acted=["web"]), tuning([])
    )
    assert (outcome.acted, outcome.errors) == (["web"], [])


# --- starts AWS rejected --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "said", "hint"),
    [
        (
            "InvalidDBInstanceState",
            "Instance dev-1 is not stopped.",
            "it was not `stopped` when the start arrived",
        ),
        ("KMSKeyNotAccessibleFault", "The key is disabled.", "the KMS key that encrypts it"),
        ("InsufficientDBInstanceCapacity", "No capacity.", "AWS has no capacity"),
        ("ScalingActivityInProgress", "Activity under way.", "a scaling activity of the group"),
    ],
)
def test_a_rejected_start_says_what_to_check(code: str, said: str, hint: str) -> None:
    outcome = ec2.Outcome(errors=[{"id": "x", "code": code, "message": said}])
    (error,) = verify_kinds.explain_rejected(outcome).errors
    assert error["code"] == code
    assert error["message"].startswith(f"{said.rstrip('.')}: {hint}")
    assert len(error["message"]) <= ec2.MESSAGE_MAX


def test_a_long_aws_message_is_cut_so_the_hint_fits() -> None:
    outcome = ec2.Outcome(
        errors=[{"id": "x", "code": "InvalidDBInstanceState", "message": "x" * 300}]
    )
    (error,) = verify_kinds.explain_rejected(outcome).errors
    assert len(error["message"]) == ec2.MESSAGE_MAX
    assert error["message"].endswith("check its status and recent events; a retry looks again")


def test_an_unknown_rejection_keeps_awss_message() -> None:
    errors = [{"id": "x", "code": "AccessDenied", "message": "not allowed"}]
    assert verify_kinds.explain_rejected(ec2.Outcome(errors=list(errors))).errors == errors
