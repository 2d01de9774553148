"""Start verification for resource: rds, aurora and asg end to end on moto (issue 12): after the
start the executor looks again by the started ids; what does not stick is a failed start with
what to check, and a start AWS rejects says what to check too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kinds_support import FIRED_AT, World, deployed_event, fire, world

from reconciler.executor import ec2
from reconciler.executor import handler as handler_module
from reconciler.executor.run import Retryable

__all__ = ["world"]


def meanwhile(monkeypatch: pytest.MonkeyPatch, happens: Callable[[], None]) -> list[float]:
    """While the executor waits before its look, `happens` (once); the waits it asked for."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        if not waits:
            happens()
        waits.append(seconds)

    monkeypatch.setattr(handler_module, "TUNING", ec2.Tuning(sleep=sleep, now=lambda: FIRED_AT))
    return waits


def test_a_db_instance_start_that_sticks_is_looked_at_once_by_its_id(world: World) -> None:
    world.db("dev-db-1")
    world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-1")

    assert fire(deployed_event("rds", action="start"))["status"] == "ok"

    assert world.run()["acted"] == ["dev-db-1"]
    _first, look = world.hooks.ops("rds.DescribeDBInstances")
    assert look == {
        "Filters": [{"Name": "db-instance-id", "Values": ["dev-db-1"]}],
        "MaxRecords": 100,
    }


def test_a_db_instance_back_in_stopped_is_a_failed_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.db("dev-db-1")
    world.db("dev-db-2")
    for name in ("dev-db-1", "dev-db-2"):
        world.rds.stop_db_instance(DBInstanceIdentifier=name)
    waits = meanwhile(
        monkeypatch, lambda: world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-2")
    )

    summary = fire(deployed_event("rds", action="start"))

    assert summary["status"] == "partial"
    assert waits == [5.0, 10.0]  # stopped at the first look: looked at once more
    run = world.run()
    assert run["acted"] == ["dev-db-1"]
    assert run["errors"] == [
        {
            "id": "dev-db-2",
            "code": "StartDidNotStick",
            "message": "started, but its status is stopped: AWS accepted the start but did not "
            "keep it: check the DB instance's recent events in the RDS console for why",
        }
    ]
    assert [p["Filters"] for p in world.hooks.ops("rds.DescribeDBInstances")[1:]] == [
        [{"Name": "db-instance-id", "Values": ["dev-db-1", "dev-db-2"]}],
        [{"Name": "db-instance-id", "Values": ["dev-db-2"]}],
    ]


def test_a_db_instance_in_a_failed_status_after_the_start_is_a_failed_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.db("dev-db-1")
    world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-1")
    patch = {"DBInstanceStatus": "inaccessible-encryption-credentials"}
    meanwhile(monkeypatch, lambda: world.hooks.patches.update({"dev-db-1": patch}))

    assert fire(deployed_event("rds", action="start"))["status"] == "failed"

    (error,) = world.run()["errors"]
    assert error["message"].startswith(
        "started, but its status is inaccessible-encryption-credentials: the KMS key that "
        "encrypts it is disabled"
    )


def test_a_rejected_db_instance_start_says_what_to_check(world: World) -> None:
    world.db("dev-db-1")
    world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-1")
    world.hooks.fail("rds.StartDBInstance", "InvalidDBInstanceState", times=1)

    with pytest.raises(Retryable, match="InvalidDBInstanceState"):
        fire(deployed_event("rds", action="start"))

    assert world.run()["errors"] == [
        {
            "id": "dev-db-1",
            "code": "InvalidDBInstanceState",
            "message": "injected InvalidDBInstanceState: it was not `stopped` when the start "
            "arrived (started or changed by someone else, or a change under way): check its "
            "status and recent events; a retry looks again",
        }
    ]
    # Nothing was started, so there is nothing to look at again.
    assert len(world.hooks.ops("rds.DescribeDBInstances")) == 1


def test_an_aurora_cluster_start_is_looked_at_and_a_fallback_fails_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("dev-a", "dev-b"):
        world.cluster(name)
        world.rds.stop_db_cluster(DBClusterIdentifier=name)
    meanwhile(monkeypatch, lambda: world.rds.stop_db_cluster(DBClusterIdentifier="dev-b"))

    assert fire(deployed_event("aurora", action="start"))["status"] == "partial"

    run = world.run()
    assert run["acted"] == ["dev-a"]
    assert [(e["id"], e["code"]) for e in run["errors"]] == [("dev-b", "StartDidNotStick")]
    assert "check the DB cluster's recent events" in run["errors"][0]["message"]
    assert world.hooks.ops("rds.DescribeDBClusters")[1]["Filters"] == [
        {"Name": "db-cluster-id", "Values": ["dev-a", "dev-b"]}
    ]


def test_a_group_set_back_to_zero_after_the_restore_is_a_failed_start(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.group("dev-web", min_size=1, desired=2, max_size=4)
    world.group("dev-api", min_size=1, desired=1, max_size=2)
    fire(deployed_event("asg"))

    def scheduled_action() -> None:  # someone else's schedule scales dev-api in again
        world.autoscaling.update_auto_scaling_group(
            AutoScalingGroupName="dev-api", MinSize=0, DesiredCapacity=0
        )

    waits = meanwhile(monkeypatch, scheduled_action)

    assert fire(deployed_event("asg", action="start"))["status"] == "partial"

    assert waits == [5.0]
    run = world.run("start")
    assert run["acted"] == ["dev-web"]
    assert run["errors"] == [
        {
            "id": "dev-api",
            "code": "StartDidNotStick",
            "message": "restored to min=1,desired=1,max=2, but the group shows "
            "min=0,desired=0,max=2 right after: something set it back (a scheduled action, "
            "another scheduler, a person): check the group's activity history and scheduled "
            "actions",
        }
    ]
    assert world.capacity("dev-web") == (1, 2, 4)
