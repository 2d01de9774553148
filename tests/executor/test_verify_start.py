"""executor/verify_start.py: a start that falls back to stopped is a failed start, with AWS's
reason and what to check; no busy loop, no look past the deadline."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from reconciler.executor import ec2, verify_start


class FakeEC2:
    """Answers DescribeInstances from a script of states, one dict per call."""

    def __init__(self, *answers: dict[str, dict[str, Any]], error: str | None = None) -> None:
        self.answers: Iterator[dict[str, dict[str, Any]]] = iter(answers)
        self.requests: list[dict[str, Any]] = []
        self.error = error

    def get_paginator(self, name: str) -> FakeEC2:
        assert name == "describe_instances"
        return self

    def paginate(self, **request: Any) -> list[dict[str, Any]]:
        return [self.describe_instances(**request)]

    def describe_instances(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "DescribeInstances")
        states = next(self.answers)
        wanted = request["Filters"][0]["Values"]
        return {
            "Reservations": [
                {"Instances": [{"InstanceId": i, **states[i]} for i in wanted if i in states]}
            ]
        }


def state(name: str, code: str | None = None, message: str | None = None) -> dict[str, Any]:
    instance: dict[str, Any] = {"State": {"Name": name}}
    if code:
        instance["StateReason"] = {"Code": code, "Message": message or code}
    return instance


def tuning(sleeps: list[float], deadline: float = math.inf) -> ec2.Tuning:
    return ec2.Tuning(sleep=sleeps.append, deadline=deadline, reserve_s=0, clock=lambda: 0.0)


KMS = state("stopped", "Client.InternalError", "Client.InternalError: Client error on launch")


def test_a_start_that_fell_back_to_stopped_is_failed_with_its_reason() -> None:
    client = FakeEC2({"i-1": state("running"), "i-2": KMS})
    sleeps: list[float] = []
    outcome = verify_start.confirm_started(
        client, ec2.Outcome(acted=["i-1", "i-2"]), tuning(sleeps)
    )
    assert outcome.acted == ["i-1"]
    assert outcome.errors == [
        {
            "id": "i-2",
            "code": "Client.InternalError",
            "message": "started, then fell back to stopped (Client.InternalError: Client error "
            "on launch): often an EBS volume encrypted with a KMS key the account or the "
            "instance cannot use: check the key's policy and grants, and that the key is enabled",
        }
    ]
    assert sleeps == [5.0]  # everything settled at the first look: no second one
    assert client.requests == [{"Filters": [{"Name": "instance-id", "Values": ["i-1", "i-2"]}]}]


def test_pending_instances_are_looked_at_once_more() -> None:
    capacity = state("stopped", "Server.InsufficientInstanceCapacity", "Insufficient capacity.")
    client = FakeEC2(
        {"i-1": state("pending"), "i-2": state("running")},
        {"i-1": capacity},
    )
    sleeps: list[float] = []
    outcome = verify_start.confirm_started(
        client, ec2.Outcome(acted=["i-1", "i-2"]), tuning(sleeps)
    )
    assert sleeps == [5.0, 10.0]
    assert client.requests[1] == {"Filters": [{"Name": "instance-id", "Values": ["i-1"]}]}
    assert outcome.acted == ["i-2"]
    assert outcome.errors[0]["code"] == "Server.InsufficientInstanceCapacity"
    assert outcome.errors[0]["message"].startswith(
        "started, then fell back to stopped (Insufficient capacity.): AWS has no capacity"
    )


def test_still_pending_after_the_second_look_counts_as_started() -> None:
    client = FakeEC2({"i-1": state("pending")}, {"i-1": state("pending")})
    outcome = verify_start.confirm_started(client, ec2.Outcome(acted=["i-1"]), tuning([]))
    assert (outcome.acted, outcome.errors, len(client.requests)) == (["i-1"], [], 2)


def test_no_look_when_the_deadline_is_near() -> None:
    client = FakeEC2()
    sleeps: list[float] = []
    outcome = verify_start.confirm_started(
        client, ec2.Outcome(acted=["i-1"]), tuning(sleeps, deadline=4.0)
    )
    assert (outcome.acted, sleeps, client.requests) == (["i-1"], [], [])


def test_nothing_started_means_no_call() -> None:
    client = FakeEC2()
    verify_start.confirm_started(client, ec2.Outcome(), tuning([]))
    assert client.requests == []


def test_a_describe_error_fails_no_start() -> None:
    client = FakeEC2(error="UnauthorizedOperation")
    outcome = verify_start.confirm_started(client, ec2.Outcome(acted=["i-1"]), tuning([]))
    assert (outcome.acted, outcome.errors) == (["i-1"], [])


def test_an_unknown_reason_still_says_what_to_check() -> None:
    error = verify_start.failed_start("i-9", {"State": {"Name": "stopping"}})
    assert error == {
        "id": "i-9",
        "code": "StartDidNotStick",
        "message": "started, then fell back to stopping (no reason given): check the "
        "instance's state transition reason in the EC2 console",
    }
