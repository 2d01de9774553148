"""EC2 calls: filters, pagination, batches, error isolation (Stubber), throttling backoff."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from moto import mock_aws

from reconciler.executor import ec2
from reconciler.executor.selection import Instance

STATES = {"Name": "instance-state-name", "Values": list(ec2.INSTANCE_STATES)}


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ec2", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _tuning(**over: Any) -> ec2.Tuning:
    return ec2.Tuning(**{"sleep": Sleeps(), **over})


def _ids(n: int) -> list[str]:
    return [f"i-{k:08x}" for k in range(n)]


def _changes(ids: list[str], key: str = "StoppingInstances") -> dict[str, Any]:
    return {
        key: [
            {
                "InstanceId": i,
                "CurrentState": {"Code": 64, "Name": "stopping"},
                "PreviousState": {"Code": 16, "Name": "running"},
            }
            for i in ids
        ]
    }


def _fail(
    stubber: Stubber, ids: list[str], code: str, op: str = "stop_instances", **extra: Any
) -> None:
    stubber.add_client_error(
        op,
        service_error_code=code,
        service_message=f"{code} for {','.join(ids)}",
        http_status_code=400,
        expected_params={"InstanceIds": ids, **extra},
    )


def _ok(stubber: Stubber, ids: list[str], op: str = "stop_instances", **extra: Any) -> None:
    key = "StartingInstances" if op == "start_instances" else "StoppingInstances"
    stubber.add_response(op, _changes(ids, key), {"InstanceIds": ids, **extra})


@pytest.mark.parametrize(
    ("targets", "only_ids", "expected"),
    [
        (
            [("tag:Environment", ["dev", "test"])],
            None,
            [{"Name": "tag:Environment", "Values": ["dev", "test"]}, STATES],
        ),
        (
            [("vpc-id", ["vpc-4085e027"]), ("instance-type", ["t3.micro"])],
            None,
            [
                {"Name": "vpc-id", "Values": ["vpc-4085e027"]},
                {"Name": "instance-type", "Values": ["t3.micro"]},
                STATES,
            ],
        ),
        (
            [("tag:Team", ["web"])],
            ["i-0000000a"],
            [
                {"Name": "tag:Team", "Values": ["web"]},
                {"Name": "instance-id", "Values": ["i-0000000a"]},
                STATES,
            ],
        ),
        (
            [("instance-id", ["i-0000000a", "i-0000000b"])],
            ["i-0000000b", "i-0000000c"],
            [{"Name": "instance-id", "Values": ["i-0000000b"]}, STATES],
        ),
    ],
)
def test_build_filters(
    targets: list[tuple[str, list[str]]], only_ids: list[str] | None, expected: list[Any]
) -> None:
    assert ec2.build_filters(targets, only_ids) == expected


def test_describe_never_calls_with_an_empty_value_list(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed  # no stubbed response: any call would fail the test
    filters = ec2.build_filters([("instance-id", ["i-0000000a"])], only_ids=["i-0000000b"])
    assert ec2.describe(client, filters, 1000) == ([], 0)
    assert ec2.describe_ids(client, [("tag:Team", ["web"])], [], 1000) == ([], 0)


def test_describe_pages_by_filters_and_never_by_ids() -> None:
    with mock_aws():
        client = boto3.client("ec2", region_name="eu-west-1")
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Team", "Value": "web"}]}]
        for _ in range(5):
            client.run_instances(
                ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=tags
            )
        client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.ec2.DescribeInstances", lambda params, **_: sent.append(params)
        )
        instances, pages = ec2.describe(client, ec2.build_filters([("tag:Team", ["web"])]), 2)
    assert len(instances) == 5
    assert pages == 3
    assert all("InstanceIds" not in p and p["MaxResults"] == 2 for p in sent)


def test_describe_ids_uses_at_most_200_ids_per_filter() -> None:
    with mock_aws():
        client = boto3.client("ec2", region_name="eu-west-1")
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.ec2.DescribeInstances", lambda params, **_: sent.append(params)
        )
        ec2.describe_ids(client, [("tag:Team", ["web"])], _ids(450), 1000)
    sizes = [
        len(next(f for f in p["Filters"] if f["Name"] == "instance-id")["Values"]) for p in sent
    ]
    assert sizes == [200, 200, 50]


def test_a_failed_batch_is_split_until_the_bad_instance_stands_alone(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    a, b, c, d = _ids(4)
    _fail(stubber, [a, b, c, d], "IncorrectInstanceState")
    _ok(stubber, [a, b])
    _fail(stubber, [c, d], "IncorrectInstanceState")
    _fail(stubber, [c], "IncorrectInstanceState")
    _ok(stubber, [d])
    instances = [Instance(i, "running") for i in (a, b, c, d)]
    outcome = ec2.change_state(client, "stop", instances, False, _tuning())
    assert outcome.acted == [a, b, d]
    assert outcome.errors == [
        {"id": c, "code": "IncorrectInstanceState", "message": f"IncorrectInstanceState for {c}"}
    ]


def test_one_bad_instance_in_1000_costs_about_20_calls(stubbed: tuple[Any, Stubber]) -> None:
    client, _ = stubbed
    stubbed[1].deactivate()
    ids = _ids(1000)
    bad = ids[617]
    calls: list[list[str]] = []

    def call(InstanceIds: list[str], **_: Any) -> dict[str, Any]:
        calls.append(InstanceIds)
        if bad in InstanceIds:
            raise client.exceptions.ClientError(
                {"Error": {"Code": "InvalidInstanceID.NotFound", "Message": bad}}, "StopInstances"
            )
        return _changes(InstanceIds)

    client.stop_instances = call
    outcome = ec2.change_state(
        client, "stop", [Instance(i, "running") for i in ids], False, _tuning()
    )
    assert len(outcome.acted) == 999
    assert [e["id"] for e in outcome.errors] == [bad]
    assert len(calls) <= 2 * 10 + 1


def test_an_error_about_the_caller_fails_the_batch_without_splitting(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    ids = _ids(3)
    _fail(stubber, ids, "AuthFailure", op="start_instances")
    outcome = ec2.change_state(
        client, "start", [Instance(i, "stopped") for i in ids], False, _tuning()
    )
    assert outcome.acted == []
    assert [(e["id"], e["code"]) for e in outcome.errors] == [(i, "AuthFailure") for i in ids]


def test_throttling_is_retried_with_growing_backoff(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    ids = _ids(2)
    _fail(stubber, ids, "RequestLimitExceeded", op="start_instances")
    _fail(stubber, ids, "RequestLimitExceeded", op="start_instances")
    _ok(stubber, ids, op="start_instances")
    sleeps = Sleeps()
    outcome = ec2.change_state(
        client, "start", [Instance(i, "stopped") for i in ids], False, _tuning(sleep=sleeps)
    )
    assert outcome.acted == ids
    assert outcome.errors == []
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 2.0


def test_throttling_that_does_not_end_fails_the_batch_unsplit(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    ids = _ids(2)
    for _ in range(3):
        _fail(stubber, ids, "RequestLimitExceeded")
    sleeps = Sleeps()
    outcome = ec2.change_state(
        client,
        "stop",
        [Instance(i, "running") for i in ids],
        False,
        _tuning(sleep=sleeps, throttle_retries=2),
    )
    assert [e["code"] for e in outcome.errors] == ["RequestLimitExceeded"] * 2
    assert len(sleeps) == 2


def test_hibernate_only_where_configured(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    a, b, c = _ids(3)
    _ok(stubber, [a, c], Hibernate=True)
    _ok(stubber, [b])
    instances = [
        Instance(a, "running", hibernation_configured=True),
        Instance(b, "running"),
        Instance(c, "running", hibernation_configured=True),
    ]
    outcome = ec2.change_state(client, "stop", instances, True, _tuning())
    assert outcome.acted == [a, c, b]
    assert outcome.hibernated == [a, c]
    assert outcome.plain_stops == [b]


def test_unsupported_hibernation_is_an_error_for_that_instance_only(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    a, b = _ids(2)
    _fail(stubber, [a, b], "UnsupportedHibernationConfiguration", Hibernate=True)
    _fail(stubber, [a], "UnsupportedHibernationConfiguration", Hibernate=True)
    _ok(stubber, [b], Hibernate=True)
    instances = [Instance(i, "running", hibernation_configured=True) for i in (a, b)]
    outcome = ec2.change_state(client, "stop", instances, True, _tuning())
    assert outcome.acted == [b]
    assert outcome.hibernated == [b]
    assert [(e["id"], e["code"]) for e in outcome.errors] == [
        (a, "UnsupportedHibernationConfiguration")
    ]


def test_batches_are_as_large_as_allowed(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    ids = _ids(2500)
    for start in (0, 1000, 2000):
        _ok(stubber, ids[start : start + 1000])
    outcome = ec2.change_state(
        client, "stop", [Instance(i, "running") for i in ids], False, _tuning()
    )
    assert len(outcome.acted) == 2500


def test_a_network_failure_is_recorded_for_the_batch() -> None:
    client = boto3.client("ec2", region_name="eu-west-1")

    def call(**_: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://ec2.eu-west-1.amazonaws.com")

    client.stop_instances = call
    outcome = ec2.change_state(
        client, "stop", [Instance("i-0000000a", "running")], False, _tuning()
    )
    assert outcome.errors == [
        {
            "id": "i-0000000a",
            "code": "EndpointConnectionError",
            "message": 'Could not connect to the endpoint URL: "https://ec2.eu-west-1.amazonaws.com"',
        }
    ]


def test_long_messages_are_cut() -> None:
    exc = boto3.client("ec2", region_name="eu-west-1").exceptions.ClientError(
        {"Error": {"Code": "X", "Message": "m" * 1000}}, "StopInstances"
    )
    assert len(ec2.error_message(exc)) == ec2.MESSAGE_MAX


def test_persistent_spot_requests() -> None:
    with mock_aws():
        client = boto3.client("ec2", region_name="eu-west-1")
        spec = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
        persistent = client.request_spot_instances(Type="persistent", LaunchSpecification=spec)
        one_time = client.request_spot_instances(Type="one-time", LaunchSpecification=spec)
        p_id = persistent["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
        o_id = one_time["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
        assert ec2.persistent_spot_requests(client, [p_id, o_id, p_id]) == frozenset({p_id})


class Clock:
    """A monotonic clock that only moves when the code under test sleeps or a call takes time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_backoff_never_sleeps_into_the_time_kept_for_recording(
    stubbed: tuple[Any, Stubber],
) -> None:
    """26 s before the reserve: sleeps of 4-8 s and 8-16 s fit, the third (16-32 s) does not."""
    client, stubber = stubbed
    ids = _ids(2)
    for _ in range(3):
        _fail(stubber, ids, "RequestLimitExceeded")
    clock = Clock()
    # The cap must not cut the third delay below 16 s: capped at 20 s (the default) it can be
    # 10-20 s, which fits the 2-14 s left about one run in thirty.
    tuning = _tuning(
        sleep=clock.sleep,
        clock=clock,
        deadline=36.0,
        reserve_s=10.0,
        backoff_base_s=8.0,
        backoff_cap_s=32.0,
    )
    outcome = ec2.change_state(client, "stop", [Instance(i, "running") for i in ids], False, tuning)
    assert [e["code"] for e in outcome.errors] == ["RequestLimitExceeded"] * 2
    assert len(clock.sleeps) == 2  # then the batch fails rather than sleep into the reserve
    assert clock.now <= 26.0


def test_no_batch_starts_once_the_reserve_is_reached(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    ids = _ids(3)
    _ok(stubber, ids[:2])
    clock = Clock()
    tuning = _tuning(batch_size=2, clock=clock, deadline=15.0, reserve_s=10.0)

    def slow_first_batch(**_: Any) -> None:
        clock.now = 6.0  # the first call took 6 s: the second batch would start in the reserve

    client.meta.events.register("after-call.ec2.StopInstances", slow_first_batch)
    outcome = ec2.change_state(client, "stop", [Instance(i, "running") for i in ids], False, tuning)
    assert outcome.acted == ids[:2]
    assert outcome.errors == [
        {
            "id": ids[2],
            "code": "NotAttempted",
            "message": "not sent: the function was close to its timeout; a retry sends it",
        }
    ]
