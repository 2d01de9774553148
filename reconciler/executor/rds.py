"""RDS calls: DescribeDBInstances / DescribeDBClusters by filters, Stop/Start one by one.

RDS filters server-side by identifier and engine (exact values only) and not at all by tag:
those go to AWS when they can, and the whole rule is applied to what comes back (tags from
each resource's TagList), so a tag-only rule reads the region's DB instances 100 per page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.executor import match
from reconciler.executor.dbselect import DbCluster, DbInstance
from reconciler.executor.ec2 import Outcome, Tuning, chunks, with_backoff
from reconciler.executor.oneby import one_by_one

PAGE_SIZE_MAX = 100  # MaxRecords' maximum for both Describe calls
IDS_PER_CALL = 100  # identifiers per db-instance-id / db-cluster-id filter on a retry


def describe_instances(
    client: Any, targets: match.Targets, only_ids: Sequence[str] | None, page_size: int
) -> tuple[list[DbInstance], int]:
    """The DB instances the rule matches (narrowed to `only_ids` on a retry), and the pages."""
    found, pages = _describe(
        client,
        "describe_db_instances",
        "DBInstances",
        "db-instance-id",
        targets,
        only_ids,
        page_size,
    )
    dbs = [DbInstance.from_api(d) for d in found]
    return [d for d in dbs if match.matches(targets, d.filter_fields(), d.tags)], pages


def describe_clusters(
    client: Any, targets: match.Targets, only_ids: Sequence[str] | None, page_size: int
) -> tuple[list[DbCluster], int]:
    """The DB clusters the rule matches (narrowed to `only_ids` on a retry), and the pages."""
    found, pages = _describe(
        client,
        "describe_db_clusters",
        "DBClusters",
        "db-cluster-id",
        targets,
        only_ids,
        page_size,
    )
    clusters = [DbCluster.from_api(c) for c in found]
    return [c for c in clusters if match.matches(targets, c.filter_fields(), c.tags)], pages


def _describe(
    client: Any,
    operation: str,
    key: str,
    id_filter: str,
    targets: match.Targets,
    only_ids: Sequence[str] | None,
    page_size: int,
) -> tuple[list[Mapping[str, Any]], int]:
    ids = match.exact_values(targets, id_filter)
    if only_ids is not None:
        ids = [i for i in only_ids if ids is None or i in ids]
        if not ids:
            return [], 0
    engines = match.exact_values(targets, "engine")
    found: list[Mapping[str, Any]] = []
    pages = 0
    for chunk in chunks(ids, IDS_PER_CALL) if ids is not None else [None]:
        filters = []
        if chunk is not None:
            filters.append({"Name": id_filter, "Values": chunk})
        if engines is not None:
            filters.append({"Name": "engine", "Values": engines})
        paginator = client.get_paginator(operation)
        config = {"PageSize": min(page_size, PAGE_SIZE_MAX)}
        for page in paginator.paginate(Filters=filters, PaginationConfig=config):
            pages += 1
            found += page.get(key, [])
    return found, pages


def change_instances(
    client: Any, action: str, dbs: Sequence[DbInstance], tuning: Tuning
) -> Outcome:
    call = client.stop_db_instance if action == "stop" else client.start_db_instance
    return one_by_one([d.id for d in dbs], _by_id(call, "DBInstanceIdentifier"), tuning)


def change_clusters(
    client: Any, action: str, clusters: Sequence[DbCluster], tuning: Tuning
) -> Outcome:
    call = client.stop_db_cluster if action == "stop" else client.start_db_cluster
    return one_by_one([c.id for c in clusters], _by_id(call, "DBClusterIdentifier"), tuning)


def _by_id(call: Callable[..., Any], param: str) -> Callable[[str, Tuning], None]:
    def act(resource_id: str, tuning: Tuning) -> None:
        with_backoff(lambda: call(**{param: resource_id}), tuning)

    return act
