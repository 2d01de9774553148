"""resource: asg end to end on moto: the saved-capacity tag round trip, its two steps under
repeated delivery and partial failure, every skip reason, filters and the cap."""

from __future__ import annotations

from typing import Any

import pytest
from kinds_support import World, again, deployed_event, fire, world

from reconciler.executor.asgselect import SAVED_CAPACITY_TAG, Capacity
from reconciler.executor.run import Retryable

__all__ = ["world"]


def test_stop_saves_the_capacity_then_scales_to_zero_and_start_restores_it(world: World) -> None:
    world.group("dev-web", min_size=1, desired=2, max_size=4)
    world.group("prod-web", tags={"Environment": "prod"})

    assert fire(deployed_event("asg"))["status"] == "ok"

    assert world.capacity("dev-web") == (0, 0, 4)
    assert world.group_tags("dev-web")[SAVED_CAPACITY_TAG] == "min=1,desired=2,max=4"
    assert world.capacity("prod-web") == (1, 2, 4)
    assert world.hooks.operations() == [
        "autoscaling.DescribeAutoScalingGroups",
        "autoscaling.CreateOrUpdateTags",
        "autoscaling.UpdateAutoScalingGroup",
    ]
    (describe,) = world.hooks.ops("autoscaling.DescribeAutoScalingGroups")
    assert describe == {
        "Filters": [{"Name": "tag:Environment", "Values": ["dev"]}],
        "MaxRecords": 100,
    }
    assert world.run()["resource"] == "asg"
    assert world.run()["acted"] == ["dev-web"]

    world.hooks.calls.clear()
    assert fire(deployed_event("asg", action="start"))["status"] == "ok"

    assert world.capacity("dev-web") == (1, 2, 4)
    assert SAVED_CAPACITY_TAG not in world.group_tags("dev-web")
    # The last look checks that the restored capacity took (verify_kinds), by the group's name.
    assert world.hooks.operations() == [
        "autoscaling.DescribeAutoScalingGroups",
        "autoscaling.UpdateAutoScalingGroup",
        "autoscaling.DeleteTags",
        "autoscaling.DescribeAutoScalingGroups",
    ]
    assert world.hooks.ops("autoscaling.DescribeAutoScalingGroups")[-1] == {
        "AutoScalingGroupNames": ["dev-web"],
        "Filters": [{"Name": "tag:Environment", "Values": ["dev"]}],
        "MaxRecords": 100,
    }


def test_a_failed_restore_keeps_the_tag_and_the_retry_finishes(world: World) -> None:
    world.group("dev-web", min_size=1, desired=2, max_size=4)
    fire(deployed_event("asg"))
    world.hooks.fail("autoscaling.UpdateAutoScalingGroup", "ScalingActivityInProgress", times=1)
    start = deployed_event("asg", action="start")

    with pytest.raises(Retryable, match="ScalingActivityInProgress"):
        fire(start)

    assert world.run("start")["status"] == "failed"
    assert world.capacity("dev-web") == (0, 0, 4)
    assert world.group_tags("dev-web")[SAVED_CAPACITY_TAG] == "min=1,desired=2,max=4"
    assert world.hooks.ops("autoscaling.DeleteTags") == []

    second = fire(again(start))  # Lambda's retry of the retryable failure

    assert second["status"] == "ok"
    assert world.capacity("dev-web") == (1, 2, 4)
    assert SAVED_CAPACITY_TAG not in world.group_tags("dev-web")


def test_a_start_repeated_after_the_restore_but_before_the_untag_only_untags(world: World) -> None:
    world.group("dev-web", min_size=1, desired=2, max_size=4)
    fire(deployed_event("asg"))
    world.hooks.fail("autoscaling.DeleteTags", "InternalFailure", times=1)
    start = deployed_event("asg", action="start")
    with pytest.raises(Retryable, match="InternalFailure"):
        fire(start)
    assert world.capacity("dev-web") == (1, 2, 4)
    world.hooks.calls.clear()

    assert fire(again(start))["status"] == "ok"

    assert world.hooks.ops("autoscaling.UpdateAutoScalingGroup") == []
    assert len(world.hooks.ops("autoscaling.DeleteTags")) == 1
    assert SAVED_CAPACITY_TAG not in world.group_tags("dev-web")


def test_a_stop_repeated_after_the_tag_keeps_the_saved_capacity(world: World) -> None:
    world.group("dev-web", min_size=1, desired=2, max_size=4)
    world.hooks.fail("autoscaling.UpdateAutoScalingGroup", "InternalFailure", times=1)
    stop = deployed_event("asg")
    with pytest.raises(Retryable, match="InternalFailure"):
        fire(stop)
    assert world.group_tags("dev-web")[SAVED_CAPACITY_TAG] == "min=1,desired=2,max=4"
    world.hooks.calls.clear()

    assert fire(again(stop))["status"] == "ok"

    assert world.hooks.ops("autoscaling.CreateOrUpdateTags") == []  # the first save stands
    assert world.capacity("dev-web") == (0, 0, 4)
    assert world.group_tags("dev-web")[SAVED_CAPACITY_TAG] == "min=1,desired=2,max=4"


def test_a_repeated_delivery_acts_once(world: World) -> None:
    world.group("dev-web")
    stop = deployed_event("asg")
    fire(stop)
    assert fire(again(stop))["status"] == "duplicate"
    assert len(world.hooks.ops("autoscaling.UpdateAutoScalingGroup")) == 1


@pytest.mark.parametrize(
    ("action", "setup", "reason", "detail"),
    [
        (
            "stop",
            {"min_size": 0, "desired": 0},
            "in-target-state",
            "already at min 0, desired 0: nothing to save",
        ),
        (
            "stop",
            {"min_size": 0, "desired": 0, "tag": "min=1,desired=2,max=4"},
            "in-target-state",
            "already stopped (saved min=1,desired=2,max=4)",
        ),
        (
            "start",
            {},
            "not-stopped-by-ouroboros",
            f"no {SAVED_CAPACITY_TAG} tag: not stopped by Ouroboros, so there is no capacity "
            "to restore",
        ),
        (
            "start",
            {"tag": "min=3,desired=2,max=4"},
            "saved-capacity-unreadable",
            f"tag {SAVED_CAPACITY_TAG} is 'min=3,desired=2,max=4', not min=N,desired=N,max=N "
            "with min <= desired <= max: set it right (or remove it) by hand",
        ),
    ],
)
def test_every_skip_reason(
    world: World, action: str, setup: dict[str, Any], reason: str, detail: str
) -> None:
    tags = {"Environment": "dev"}
    if "tag" in setup:
        tags[SAVED_CAPACITY_TAG] = setup.pop("tag")
    world.group("dev-odd", tags=tags, **setup)

    fire(deployed_event("asg", action=action))

    run = world.run()
    assert run["acted"] == []
    assert run["skipped"] == [{"id": "dev-odd", "reason": reason, "detail": detail}]
    assert world.hooks.ops("autoscaling.UpdateAutoScalingGroup") == []


@pytest.mark.parametrize(
    ("targets", "request_", "acted"),
    [
        ((("asg-name", ("dev-web",)),), {"AutoScalingGroupNames": ["dev-web"]}, ["dev-web"]),
        ((("asg-name", ("dev-*",)),), {}, ["dev-api", "dev-web"]),
        (
            (("tag-key", ("Team",)),),
            {"Filters": [{"Name": "tag-key", "Values": ["Team"]}]},
            ["dev-api"],
        ),
        ((("tag:Team", ("a*",)),), {}, ["dev-api"]),
    ],
)
def test_each_filter_selects(
    world: World, targets: Any, request_: dict[str, Any], acted: list[str]
) -> None:
    world.group("dev-web")
    world.group("dev-api", tags={"Environment": "test", "Team": "api"})
    world.group("prod-web", tags={"Environment": "prod"})

    fire(deployed_event("asg", targets=targets))

    (describe,) = world.hooks.ops("autoscaling.DescribeAutoScalingGroups")
    assert describe == {**request_, "MaxRecords": 100}
    assert sorted(world.run()["acted"]) == acted


def test_the_cap_counts_groups(world: World) -> None:
    world.group("dev-a")
    world.group("dev-b")

    assert fire(deployed_event("asg", max_instances=1))["status"] == "refused"
    assert world.run()["detail"] == (
        "2 Auto Scaling groups to stop, more than max_instances (1): acted on none"
    )
    assert world.hooks.ops("autoscaling.CreateOrUpdateTags") == []


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("min=1,desired=2,max=4", Capacity(1, 2, 4)),
        ("min=0,desired=0,max=0", Capacity(0, 0, 0)),
        (" min=1,desired=2,max=4 ", Capacity(1, 2, 4)),
        ("min=1,desired=2", None),
        ("min=3,desired=2,max=4", None),
        ("min=1,desired=5,max=4", None),
        ("desired=2,min=1,max=4", None),
        ("", None),
    ],
)
def test_the_saved_capacity_round_trip(text: str, parsed: Capacity | None) -> None:
    assert Capacity.parse(text) == parsed
    if parsed is not None:
        assert Capacity.parse(parsed.tag_value()) == parsed
