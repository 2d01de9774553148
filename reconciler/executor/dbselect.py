"""Which described RDS DB instances and Aurora DB clusters to act on, and why not. Pure.

What AWS cannot stop (its user guides, 2026): a read replica, an instance with read replicas,
RDS for SQL Server (and RDS Custom for SQL Server) in a Multi-AZ configuration, any engine
but checks.RDS_ENGINES (RDS Custom for Oracle, say), an instance of a cluster (Aurora members go with their cluster; Multi-AZ DB
clusters, Neptune and DocumentDB are not ours); for clusters: a global database's members,
Aurora Serverless v1, multi-master and parallel query clusters, and cross-Region replica
clusters. Only an `available` resource can be stopped and only a `stopped` one started.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler import checks
from reconciler.executor.match import tags_of
from reconciler.executor.selection import IN_TARGET_STATE, Skip

# Machine-readable skip reasons (the log's `reason`), beside selection's.
CLUSTER_MEMBER: Final = "cluster-member"
READ_REPLICA: Final = "read-replica"
HAS_REPLICAS: Final = "has-replicas"
CANNOT_STOP: Final = "cannot-stop"
NOT_AURORA: Final = "not-aurora"
GLOBAL_DATABASE: Final = "global-database"
STATUS: Final = "status"

# What each action leaves alone because the resource is there already (or on its way), and
# the one status it acts from.
TARGET_STATUSES = {"stop": ("stopped", "stopping"), "start": ("available", "starting")}
ACTS_FROM = {"stop": "available", "start": "stopped"}
_CLUSTER_ONLY_ENGINES = ("neptune", "docdb")
# Aurora engine modes StopDBCluster refuses (serverless = Aurora Serverless v1).
_UNSTOPPABLE_MODES = {
    "serverless": "Aurora Serverless v1",
    "multimaster": "a multi-master cluster",
    "parallelquery": "a parallel query cluster",
}


@dataclass(frozen=True)
class DbInstance:
    id: str
    status: str
    engine: str
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    cluster: str | None = None
    replica_of: str | None = None
    replicas: tuple[str, ...] = ()
    multi_az: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DbInstance:
        """From one DescribeDBInstances `DBInstances` element."""
        return cls(
            id=data["DBInstanceIdentifier"],
            status=data.get("DBInstanceStatus", "unknown"),
            engine=data.get("Engine", ""),
            tags=tags_of(data.get("TagList")),
            cluster=data.get("DBClusterIdentifier") or None,
            replica_of=data.get("ReadReplicaSourceDBInstanceIdentifier")
            or data.get("ReadReplicaSourceDBClusterIdentifier")
            or None,
            replicas=(
                *data.get("ReadReplicaDBInstanceIdentifiers", []),
                *data.get("ReadReplicaDBClusterIdentifiers", []),
            ),
            multi_az=bool(data.get("MultiAZ")),
        )

    def filter_fields(self) -> dict[str, str | None]:
        return {"db-instance-id": self.id, "engine": self.engine}


@dataclass(frozen=True)
class DbCluster:
    id: str
    status: str
    engine: str
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    engine_mode: str = "provisioned"
    global_cluster: str | None = None
    replica_of: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> DbCluster:
        """From one DescribeDBClusters `DBClusters` element."""
        return cls(
            id=data["DBClusterIdentifier"],
            status=data.get("Status", "unknown"),
            engine=data.get("Engine", ""),
            tags=tags_of(data.get("TagList")),
            engine_mode=data.get("EngineMode") or "provisioned",
            global_cluster=data.get("GlobalClusterIdentifier") or None,
            replica_of=data.get("ReplicationSourceIdentifier") or None,
        )

    def filter_fields(self) -> dict[str, str | None]:
        return {"db-cluster-id": self.id, "engine": self.engine}


def rds_skip_reason(db: DbInstance, action: str) -> Skip | None:
    """Why the DB instance is left alone, or None to act on it; the first reason wins."""
    if db.cluster is not None:
        return Skip(db.id, CLUSTER_MEMBER, _member_detail(db))
    if db.status in TARGET_STATUSES[action]:
        return Skip(db.id, IN_TARGET_STATE, f"already {db.status}")
    if db.replica_of is not None:
        return Skip(
            db.id, READ_REPLICA, f"read replica of {db.replica_of}: AWS cannot stop a read replica"
        )
    if db.replicas:
        return Skip(
            db.id,
            HAS_REPLICAS,
            f"source of read replicas ({', '.join(db.replicas)}): AWS cannot stop an instance "
            "that has read replicas",
        )
    unstoppable = _unstoppable_engine(db)
    if unstoppable is not None:
        return Skip(db.id, CANNOT_STOP, unstoppable)
    return _status_skip(db.id, db.status, action, "DB instances")


def aurora_skip_reason(cluster: DbCluster, action: str) -> Skip | None:
    """Why the DB cluster is left alone, or None to act on it; the first reason wins."""
    if cluster.engine not in checks.AURORA_ENGINES:
        what = (
            f"engine {cluster.engine}: a Multi-AZ DB cluster, which StopDBCluster cannot stop"
            if cluster.engine in ("mysql", "postgres")
            else f"engine {cluster.engine}: not an Aurora cluster"
        )
        return Skip(cluster.id, NOT_AURORA, what)
    if cluster.status in TARGET_STATUSES[action]:
        return Skip(cluster.id, IN_TARGET_STATE, f"already {cluster.status}")
    if cluster.global_cluster is not None or cluster.engine_mode == "global":
        name = cluster.global_cluster or "a global database"
        return Skip(
            cluster.id,
            GLOBAL_DATABASE,
            f"member of global database {name}: AWS cannot stop a global database's clusters",
        )
    mode = _UNSTOPPABLE_MODES.get(cluster.engine_mode)
    if mode is not None:
        return Skip(cluster.id, CANNOT_STOP, f"{mode}: AWS cannot stop or start it")
    if cluster.replica_of is not None:
        return Skip(
            cluster.id,
            READ_REPLICA,
            f"replica of {cluster.replica_of}: AWS cannot stop a cluster that replicates "
            "from another",
        )
    return _status_skip(cluster.id, cluster.status, action, "DB clusters")


def _member_detail(db: DbInstance) -> str:
    if db.engine.startswith("aurora"):
        return (
            f"member of Aurora cluster {db.cluster}: schedule the cluster with `resource: aurora`"
        )
    if db.engine in _CLUSTER_ONLY_ENGINES:
        return f"member of {db.engine} cluster {db.cluster}: not a kind Ouroboros schedules"
    return (
        f"member of Multi-AZ DB cluster {db.cluster}: AWS cannot stop its DB instances one by one"
    )


def _unstoppable_engine(db: DbInstance) -> str | None:
    if db.engine.startswith(("sqlserver", "custom-sqlserver")) and db.multi_az:
        return f"{db.engine} in a Multi-AZ configuration: AWS cannot stop it"
    if db.engine not in checks.RDS_ENGINES:
        return f"engine {db.engine}: StopDBInstance cannot stop it"
    return None


def _status_skip(resource_id: str, status: str, action: str, what: str) -> Skip | None:
    wanted = ACTS_FROM[action]
    if status == wanted:
        return None
    return Skip(
        resource_id,
        STATUS,
        f"status {status}: AWS {action}s only {wanted} {what}; the next firing tries again",
    )
