"""Which instances the executor acts on, and the reason it gives for every other one."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.executor.selection import Instance, Skip, select, skip_reason

PERSISTENT = frozenset({"sir-persist1"})


def _i(state: str = "running", **over: Any) -> Instance:
    return Instance(id="i-0123456789abcdef0", state=state, **over)


@pytest.mark.parametrize(
    ("instance", "action", "reason", "detail"),
    [
        (_i("running"), "stop", None, None),
        (_i("pending"), "stop", None, None),
        (_i("stopped"), "start", None, None),
        (_i("stopping"), "start", None, None),
        (_i("stopped"), "stop", "in-target-state", "already stopped"),
        (_i("stopping"), "stop", "in-target-state", "already stopping"),
        (_i("running"), "start", "in-target-state", "already running"),
        (_i("pending"), "start", "in-target-state", "already pending"),
        (_i("terminated"), "stop", "terminated", "terminated: nothing to stop"),
        (_i("shutting-down"), "start", "terminated", "shutting-down: nothing to start"),
        (
            _i(asg="web-asg"),
            "stop",
            "autoscaling",
            "member of Auto Scaling group web-asg: schedule the group with `resource: asg`",
        ),
        (
            _i("stopped", asg="web-asg"),
            "start",
            "autoscaling",
            "member of Auto Scaling group web-asg: schedule the group with `resource: asg`",
        ),
        (
            _i(root_device_type="instance-store"),
            "stop",
            "instance-store",
            "instance-store root device: cannot be stopped or started",
        ),
        (
            _i(spot=True, spot_request_id="sir-once1"),
            "stop",
            "spot-one-time",
            "one-time Spot instance: cannot be stopped",
        ),
        (
            _i(spot=True),
            "stop",
            "spot-one-time",
            "Spot instance without a persistent request: cannot be stopped",
        ),
        (_i(spot=True, spot_request_id="sir-persist1"), "stop", None, None),
        (_i("stopped", spot=True, spot_request_id="sir-persist1"), "start", None, None),
        # The first reason that applies wins: state before structure.
        (_i("stopped", asg="web-asg"), "stop", "in-target-state", "already stopped"),
        (_i("terminated", spot=True), "stop", "terminated", "terminated: nothing to stop"),
    ],
)
def test_skip_reason(
    instance: Instance, action: str, reason: str | None, detail: str | None
) -> None:
    skip = skip_reason(instance, action, PERSISTENT)
    if reason is None:
        assert skip is None
    else:
        assert skip == Skip(instance.id, reason, str(detail))


def test_a_spot_request_that_could_not_be_read_is_not_called_one_time() -> None:
    instance = _i(spot=True, spot_request_id="sir-persist1")
    assert skip_reason(instance, "stop", frozenset(), "UnauthorizedOperation") == Skip(
        instance.id,
        "spot-one-time",
        "Spot request sir-persist1 could not be read (UnauthorizedOperation): taken as "
        "one-time, not stopped",
    )


def test_select_keeps_the_order_and_splits() -> None:
    a = Instance("i-0000000a", "running")
    b = Instance("i-0000000b", "stopped")
    c = Instance("i-0000000c", "running", hibernation_configured=True)
    selection = select([a, b, c], "stop", frozenset())
    assert selection.act == (a, c)
    assert [s.as_log() for s in selection.skipped] == [
        {"id": "i-0000000b", "reason": "in-target-state", "detail": "already stopped"}
    ]


def test_from_api_reads_the_fields_that_matter() -> None:
    instance = Instance.from_api(
        {
            "InstanceId": "i-0123456789abcdef0",
            "State": {"Code": 16, "Name": "running"},
            "Tags": [
                {"Key": "aws:autoscaling:groupName", "Value": "web-asg"},
                {"Key": "Name", "Value": "web-1"},
            ],
            "RootDeviceType": "instance-store",
            "InstanceLifecycle": "spot",
            "SpotInstanceRequestId": "sir-1",
            "HibernationOptions": {"Configured": True},
            "VpcId": "vpc-0a1b2c3d",
            "Placement": {"AvailabilityZone": "eu-west-1a"},
        }
    )
    assert instance == Instance(
        id="i-0123456789abcdef0",
        state="running",
        asg="web-asg",
        root_device_type="instance-store",
        spot=True,
        spot_request_id="sir-1",
        hibernation_configured=True,
        name="web-1",  # the Name tag, which the plan's target preview shows
        tags={"aws:autoscaling:groupName": "web-asg", "Name": "web-1"},
        attributes={
            "instance-id": "i-0123456789abcdef0",
            "vpc-id": "vpc-0a1b2c3d",
            "availability-zone": "eu-west-1a",
        },
    )
    assert Instance.from_api({"InstanceId": "i-1", "State": {"Name": "stopped"}}) == Instance(
        "i-1", "stopped", attributes={"instance-id": "i-1"}
    )
