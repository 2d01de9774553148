"""A rule's filters (DESIGN.md §3) matched client-side, the way EC2 matches them. Pure.

The union check (decisions.py) asks whether another rule's filters match a resource the
firing already described, without describing again. EC2's semantics: AND across filters, OR
within a filter's values; values are case-sensitive, `*` matches any run of characters
(including none), `?` exactly one, and a backslash escapes either. `tag:<key>` matches the tag
`<key>` (its name exact) whose value matches; `tag-key` matches any tag key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Filter name -> the described attribute it reads, for EC2 instances.
EC2_ATTRIBUTES = (
    "instance-id",
    "private-ip-address",
    "vpc-id",
    "subnet-id",
    "instance-type",
    "availability-zone",
)
Targets = Sequence[tuple[str, Sequence[str]]]


def ec2_attributes(data: Mapping[str, Any]) -> dict[str, str]:
    """The filterable attributes of one DescribeInstances `Instances` element."""
    found = {
        "instance-id": data.get("InstanceId"),
        "private-ip-address": data.get("PrivateIpAddress"),
        "vpc-id": data.get("VpcId"),
        "subnet-id": data.get("SubnetId"),
        "instance-type": data.get("InstanceType"),
        "availability-zone": (data.get("Placement") or {}).get("AvailabilityZone"),
    }
    return {name: value for name, value in found.items() if isinstance(value, str) and value}


def matches(targets: Targets, tags: Mapping[str, str], attributes: Mapping[str, str]) -> bool:
    """Whether every filter matches (a filter this resource has no value for does not)."""
    return all(_filter_matches(name, values, tags, attributes) for name, values in targets)


def _filter_matches(
    name: str, values: Sequence[str], tags: Mapping[str, str], attributes: Mapping[str, str]
) -> bool:
    if name.startswith("tag:"):
        value = tags.get(name[4:])
        return value is not None and any_match(values, value)
    if name == "tag-key":
        return any(any_match(values, key) for key in tags)
    value = attributes.get(name)
    return value is not None and any_match(values, value)


def any_match(patterns: Sequence[str], value: str) -> bool:
    return any(_pattern(p).fullmatch(value) is not None for p in patterns)


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern[str]:
    """EC2's wildcards as a regular expression: * any run, ? one character, \\ escapes."""
    out: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            out.append(re.escape(next(chars, "\\")))
        elif char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)
