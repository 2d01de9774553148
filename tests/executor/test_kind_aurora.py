"""resource: aurora end to end on moto: clusters stopped and started, every skip reason."""

from __future__ import annotations

from typing import Any

import pytest
from kinds_support import World, again, deployed_event, fire, world

__all__ = ["world"]


def test_a_stop_stops_the_matching_clusters_and_a_start_starts_them(world: World) -> None:
    world.cluster("dev-aurora")
    world.cluster("prod-aurora", tags={"Environment": "prod"})

    assert fire(deployed_event("aurora"))["status"] == "ok"
    assert world.cluster_status("dev-aurora") == "stopped"
    assert world.cluster_status("prod-aurora") == "available"
    assert world.run()["acted"] == ["dev-aurora"]
    assert world.run()["resource"] == "aurora"
    (describe,) = world.hooks.ops("rds.DescribeDBClusters")
    assert describe == {"Filters": [], "MaxRecords": 100}

    world.hooks.calls.clear()
    start = deployed_event("aurora", action="start")
    assert fire(start)["status"] == "ok"
    assert world.cluster_status("dev-aurora") == "available"
    assert [p["DBClusterIdentifier"] for p in world.hooks.ops("rds.StartDBCluster")] == [
        "dev-aurora"
    ]


@pytest.mark.parametrize(
    ("targets", "server_filters"),
    [
        (
            (("db-cluster-id", ("dev-aurora",)),),
            [{"Name": "db-cluster-id", "Values": ["dev-aurora"]}],
        ),
        ((("db-cluster-id", ("dev-a*",)),), []),
        (
            (("engine", ("aurora-postgresql",)), ("tag:Environment", ("dev",))),
            [{"Name": "engine", "Values": ["aurora-postgresql"]}],
        ),
    ],
)
def test_each_filter_selects(world: World, targets: Any, server_filters: list[Any]) -> None:
    world.cluster("dev-aurora")
    world.cluster("dev-mysql", engine="aurora-mysql", tags={"Environment": "test"})

    fire(deployed_event("aurora", targets=targets))

    assert world.hooks.ops("rds.DescribeDBClusters")[0]["Filters"] == server_filters
    assert world.run()["acted"] == ["dev-aurora"]


@pytest.mark.parametrize(
    ("patch", "reason", "detail"),
    [
        (
            {"GlobalClusterIdentifier": "world-db"},
            "global-database",
            "member of global database world-db: AWS cannot stop a global database's clusters",
        ),
        (
            {"EngineMode": "serverless"},
            "cannot-stop",
            "Aurora Serverless v1: AWS cannot stop or start it",
        ),
        (
            {"Engine": "neptune"},
            "not-aurora",
            "engine neptune: not an Aurora cluster",
        ),
        (
            {"Engine": "mysql"},
            "not-aurora",
            "engine mysql: a Multi-AZ DB cluster, which StopDBCluster cannot stop",
        ),
        (
            {"ReplicationSourceIdentifier": "arn:aws:rds:us-east-1:123456789012:cluster:main"},
            "read-replica",
            "replica of arn:aws:rds:us-east-1:123456789012:cluster:main: AWS cannot stop a "
            "cluster that replicates from another",
        ),
        (
            {"Status": "backing-up"},
            "status",
            "status backing-up: AWS stops only available DB clusters; the next firing tries again",
        ),
        ({"Status": "stopped"}, "in-target-state", "already stopped"),
    ],
)
def test_every_skip_reason(world: World, patch: dict[str, Any], reason: str, detail: str) -> None:
    world.cluster("dev-aurora")
    world.cluster("dev-odd")
    world.hooks.patches["dev-odd"] = patch

    fire(deployed_event("aurora"))

    run = world.run()
    assert run["acted"] == ["dev-aurora"]
    assert run["skipped"] == [{"id": "dev-odd", "reason": reason, "detail": detail}]
    assert [p["DBClusterIdentifier"] for p in world.hooks.ops("rds.StopDBCluster")] == [
        "dev-aurora"
    ]


def test_the_cap_counts_clusters(world: World) -> None:
    world.cluster("dev-a")
    world.cluster("dev-b")

    assert fire(deployed_event("aurora", max_instances=1))["status"] == "refused"
    assert world.run()["detail"] == (
        "2 DB clusters to stop, more than max_instances (1): acted on none"
    )
    assert world.hooks.ops("rds.StopDBCluster") == []


def test_a_repeated_delivery_acts_once(world: World) -> None:
    world.cluster("dev-aurora")
    event = deployed_event("aurora")
    fire(event)
    assert fire(again(event))["status"] == "duplicate"
    assert len(world.hooks.ops("rds.StopDBCluster")) == 1
