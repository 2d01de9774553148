"""Region names against botocore's list of EC2 regions, per partition (aws, aws-cn, aws-us-gov...).

Offline: the list is botocore's own endpoints data (what
`botocore.session.Session().get_available_regions('ec2', partition_name=...)` reads), read as
a JSON file so that `reconcile validate` never imports botocore (slower to import than
validation takes to run). Not part of the executor: it needs no botocore data.

A name botocore does not know is only a warning (new regions appear before botocore knows
them); a region of another partition than the settings' role ARNs is an error (one deployment
and its credentials act in one partition).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import os
import re
from dataclasses import dataclass

from reconciler.diagnostics import Severity

_ARN_PARTITION = re.compile(r"^arn:(aws[a-z-]*):")


@dataclass(frozen=True)
class _Partition:
    name: str
    pattern: re.Pattern[str]
    regions: frozenset[str]  # EC2's regions in this partition, FIPS endpoints left out


@functools.cache
def _partitions() -> tuple[_Partition, ...]:
    """botocore's partitions, or none when its data cannot be found (then nothing is checked)."""
    spec = importlib.util.find_spec("botocore")  # finds the package without importing it
    if spec is None or spec.origin is None:
        return ()
    path = os.path.join(os.path.dirname(spec.origin), "data", "endpoints.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return ()
    return tuple(_partition(p) for p in data.get("partitions", []))


def _partition(data: dict[str, object]) -> _Partition:
    pattern = re.compile(str(data.get("regionRegex", "^$")))
    services = data.get("services")
    ec2 = services.get("ec2", {}) if isinstance(services, dict) else {}
    endpoints = ec2.get("endpoints", {}) if isinstance(ec2, dict) else {}
    names = [name for name in endpoints if "fips" not in name and pattern.fullmatch(name)]
    return _Partition(str(data.get("partition")), pattern, frozenset(names))


def botocore_version() -> str:
    try:
        return importlib.metadata.version("botocore")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - boto3 depends on it
        return "?"


def partition_of_arn(arn: str) -> str | None:
    """'aws-cn' for arn:aws-cn:iam::...; None for anything that is not an ARN."""
    match = _ARN_PARTITION.match(arn)
    return match.group(1) if match else None


def partition_of_region(region: str) -> str | None:
    """The partition that lists the region, else the one whose name pattern it fits, else None."""
    for partition in _partitions():
        if region in partition.regions:
            return partition.name
    for partition in _partitions():
        if partition.pattern.fullmatch(region):
            return partition.name
    return None


def is_known(region: str) -> bool:
    return any(region in p.regions for p in _partitions()) or not _partitions()


def region_problem(region: str, partition: str | None) -> tuple[Severity, str] | None:
    """(severity, message) for a region name that may be wrong, or None.

    `partition` is the settings' (from their role ARNs), or None when there are no settings.
    """
    found = partition_of_region(region)
    if partition is not None and found is not None and found != partition:
        return (
            "error",
            f"region '{region}' is in the {found} partition, but the settings' role ARNs are in "
            f"{partition} (arn:{partition}:...): a deployment acts in one partition; use a "
            f"region of {partition}, or a separate settings file for {found}",
        )
    if not is_known(region):
        return (
            "warning",
            f"region '{region}' is not in botocore {botocore_version()}'s list of EC2 regions: "
            "check the spelling (a region newer than botocore is fine; upgrading botocore "
            "silences this)",
        )
    return None
