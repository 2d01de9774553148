"""Client-side filter matching for the kinds whose Describe call cannot filter by everything.

Pure. RDS filters neither by tag nor by wildcard, Auto Scaling by no wildcard: the executor
asks AWS for what it can filter server-side and applies the whole rule here, with the same
meaning as EC2's filters (executor/filters.py: AND across filters, OR within a list, `*` any
run of characters, `?` one character, `\\` escapes, case-sensitive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.executor import filters

Targets = Sequence[tuple[str, Sequence[str]]]


def is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


def matches(targets: Targets, fields: Mapping[str, str | None], tags: Mapping[str, str]) -> bool:
    """Whether a resource with these filter fields (db-instance-id, engine, ...) and tags
    matches every filter of the rule: the one client-side matcher, filters.matches."""
    present = {name: value for name, value in fields.items() if value is not None}
    return filters.matches(targets, tags, present)


def exact_values(targets: Targets, name: str) -> list[str] | None:
    """The values of filter `name` when none is a pattern (server-side filterable), else None."""
    for filter_name, values in targets:
        if filter_name == name and not any(is_pattern(v) for v in values):
            return list(values)
    return None


def tags_of(tag_list: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    """A TagList ([{"Key": k, "Value": v}]) as a mapping."""
    return {t["Key"]: t.get("Value", "") for t in tag_list or () if "Key" in t}
