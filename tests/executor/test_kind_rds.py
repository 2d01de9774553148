"""resource: rds end to end on moto: select by each filter, stop/start, every skip reason,
the cap, repeated delivery, and a retry of only what failed."""

from __future__ import annotations

from typing import Any

import pytest
from kinds_support import World, again, deployed_event, fire, world

from reconciler.executor.run import Retryable

__all__ = ["world"]


def _acted(world: World) -> list[str]:
    return sorted(world.run()["acted"])


def test_a_stop_stops_the_matching_db_instances_and_logs_them(world: World) -> None:
    world.db("dev-db-1")
    world.db("dev-db-2")
    world.db("prod-db", tags={"Environment": "prod"})

    summary = fire(deployed_event("rds"))

    assert summary["status"] == "ok"
    assert world.db_status("dev-db-1") == world.db_status("dev-db-2") == "stopped"
    assert world.db_status("prod-db") == "available"
    run = world.run()
    assert run["resource"] == "rds"
    assert sorted(run["acted"]) == ["dev-db-1", "dev-db-2"]
    assert run["matched"] == 2
    # RDS cannot filter by tag: one page of up to 100, the tags applied to what comes back.
    (describe,) = world.hooks.ops("rds.DescribeDBInstances")
    assert describe == {"Filters": [], "MaxRecords": 100}
    assert sorted(p["DBInstanceIdentifier"] for p in world.hooks.ops("rds.StopDBInstance")) == [
        "dev-db-1",
        "dev-db-2",
    ]


def test_a_start_starts_the_stopped_ones(world: World) -> None:
    world.db("dev-db-1")
    world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-1")

    summary = fire(deployed_event("rds", action="start"))

    assert summary["status"] == "ok"
    assert world.db_status("dev-db-1") == "available"
    assert _acted(world) == ["dev-db-1"]


@pytest.mark.parametrize(
    ("targets", "server_filters", "acted"),
    [
        (
            (("db-instance-id", ("dev-db-1",)),),
            [{"Name": "db-instance-id", "Values": ["dev-db-1"]}],
            ["dev-db-1"],
        ),
        ((("db-instance-id", ("dev-*",)),), [], ["dev-db-1", "dev-my"]),
        (
            (("engine", ("mysql",)),),
            [{"Name": "engine", "Values": ["mysql"]}],
            ["dev-my", "other-my"],
        ),
        ((("tag-key", ("Team",)),), [], ["other-my"]),
        (
            (("tag:Environment", ("d?v",)), ("engine", ("postgres",))),
            [{"Name": "engine", "Values": ["postgres"]}],
            ["dev-db-1"],
        ),
    ],
)
def test_each_filter_selects(
    world: World, targets: Any, server_filters: list[dict[str, Any]], acted: list[str]
) -> None:
    world.db("dev-db-1")
    world.db("dev-my", engine="mysql")
    world.db("other-my", engine="mysql", tags={"Environment": "test", "Team": "web"})

    fire(deployed_event("rds", targets=targets))

    (describe,) = world.hooks.ops("rds.DescribeDBInstances")
    assert describe["Filters"] == server_filters
    assert _acted(world) == acted


@pytest.mark.parametrize(
    ("patch", "reason", "detail"),
    [
        (
            {"DBClusterIdentifier": "dev-aurora", "Engine": "aurora-postgresql"},
            "cluster-member",
            "member of Aurora cluster dev-aurora: schedule the cluster with `resource: aurora`",
        ),
        (
            {"DBClusterIdentifier": "dev-maz", "Engine": "postgres"},
            "cluster-member",
            "member of Multi-AZ DB cluster dev-maz: AWS cannot stop its DB instances one by one",
        ),
        (
            {"ReadReplicaSourceDBInstanceIdentifier": "dev-main"},
            "read-replica",
            "read replica of dev-main: AWS cannot stop a read replica",
        ),
        (
            {"ReadReplicaDBInstanceIdentifiers": ["dev-r1", "dev-r2"]},
            "has-replicas",
            "source of read replicas (dev-r1, dev-r2): AWS cannot stop an instance that has "
            "read replicas",
        ),
        (
            {"Engine": "sqlserver-se", "MultiAZ": True},
            "cannot-stop",
            "sqlserver-se in a Multi-AZ configuration: AWS cannot stop it",
        ),
        (
            {"Engine": "custom-oracle-ee"},
            "cannot-stop",
            "engine custom-oracle-ee: StopDBInstance cannot stop it",
        ),
        (
            {"DBInstanceStatus": "backing-up"},
            "status",
            "status backing-up: AWS stops only available DB instances; the next firing tries again",
        ),
        ({"DBInstanceStatus": "stopping"}, "in-target-state", "already stopping"),
    ],
)
def test_every_skip_reason(world: World, patch: dict[str, Any], reason: str, detail: str) -> None:
    world.db("dev-db-1")
    world.db("dev-odd")
    world.hooks.patches["dev-odd"] = patch

    fire(deployed_event("rds"))

    run = world.run()
    assert run["acted"] == ["dev-db-1"]
    assert run["skipped"] == [{"id": "dev-odd", "reason": reason, "detail": detail}]
    assert [p["DBInstanceIdentifier"] for p in world.hooks.ops("rds.StopDBInstance")] == [
        "dev-db-1"
    ]


def test_an_already_stopped_instance_is_skipped(world: World) -> None:
    world.db("dev-db-1")
    world.rds.stop_db_instance(DBInstanceIdentifier="dev-db-1")

    fire(deployed_event("rds"))

    assert world.run()["skipped"] == [
        {"id": "dev-db-1", "reason": "in-target-state", "detail": "already stopped"}
    ]


def test_more_than_max_instances_acts_on_none(world: World) -> None:
    for n in range(3):
        world.db(f"dev-db-{n}")

    summary = fire(deployed_event("rds", max_instances=2))

    assert summary["status"] == "refused"
    run = world.run()
    assert run["detail"] == "3 DB instances to stop, more than max_instances (2): acted on none"
    assert world.hooks.ops("rds.StopDBInstance") == []
    assert {world.db_status(f"dev-db-{n}") for n in range(3)} == {"available"}


def test_a_repeated_delivery_acts_once(world: World) -> None:
    world.db("dev-db-1")
    event = deployed_event("rds")

    fire(event)
    second = fire(again(event))

    assert second["status"] == "duplicate"
    assert len(world.hooks.ops("rds.StopDBInstance")) == 1


def test_a_retry_stops_only_what_failed(world: World) -> None:
    world.db("dev-db-1")
    world.db("dev-db-2")
    world.hooks.fail(
        "rds.StopDBInstance",
        "InvalidDBInstanceState",
        when=lambda p: p["DBInstanceIdentifier"] == "dev-db-2",
        times=1,
    )
    event = deployed_event("rds")

    with pytest.raises(Retryable, match="InvalidDBInstanceState"):
        fire(event)  # a DB instance between states: Lambda retries
    assert world.run()["status"] == "partial"
    assert world.run()["errors"] == [
        {
            "id": "dev-db-2",
            "code": "InvalidDBInstanceState",
            "message": "injected InvalidDBInstanceState",
        }
    ]
    world.hooks.calls.clear()

    second = fire(again(event))

    assert second["status"] == "ok"
    (describe,) = world.hooks.ops("rds.DescribeDBInstances")
    assert describe["Filters"] == [{"Name": "db-instance-id", "Values": ["dev-db-2"]}]
    assert [p["DBInstanceIdentifier"] for p in world.hooks.ops("rds.StopDBInstance")] == [
        "dev-db-2"
    ]
    assert world.db_status("dev-db-2") == "stopped"
    assert sorted(world.run()["acted"]) == ["dev-db-1", "dev-db-2"]


def test_an_access_denied_describe_fails_the_pair_with_the_reason(world: World) -> None:
    world.db("dev-db-1")
    world.hooks.fail("rds.DescribeDBInstances", "AccessDenied")

    summary = fire(deployed_event("rds"))

    assert summary["status"] == "failed"
    assert world.run()["errors"] == [
        {"id": "", "code": "AccessDenied", "message": "injected AccessDenied"}
    ]
