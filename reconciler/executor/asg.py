"""Auto Scaling calls: DescribeAutoScalingGroups by filters, and the two-step stop and start.

Auto Scaling filters server-side by group name and by tag (exact values only); wildcard
values are applied to what comes back. See asgselect for why the steps come in this order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.executor import match
from reconciler.executor.asgselect import SAVED_CAPACITY_TAG, Capacity, Group
from reconciler.executor.ec2 import Outcome, Tuning, chunks, with_backoff
from reconciler.executor.oneby import one_by_one

PAGE_SIZE_MAX = 100  # MaxRecords' maximum
NAMES_PER_CALL = 50  # AutoScalingGroupNames' default limit


def describe(
    client: Any, targets: match.Targets, only_ids: Sequence[str] | None, page_size: int
) -> tuple[list[Group], int]:
    """The groups the rule matches (narrowed to `only_ids` on a retry), and the pages."""
    names = match.exact_values(targets, "asg-name")
    if only_ids is not None:
        names = [n for n in only_ids if names is None or n in names]
        if not names:
            return [], 0
    filters = _tag_filters(targets)
    found: list[Mapping[str, Any]] = []
    pages = 0
    for chunk in chunks(names, NAMES_PER_CALL) if names is not None else [None]:
        request: dict[str, Any] = {"Filters": filters} if filters else {}
        if chunk is not None:
            request["AutoScalingGroupNames"] = chunk
        paginator = client.get_paginator("describe_auto_scaling_groups")
        config = {"PageSize": min(page_size, PAGE_SIZE_MAX)}
        for page in paginator.paginate(**request, PaginationConfig=config):
            pages += 1
            found += page.get("AutoScalingGroups", [])
    groups = [Group.from_api(g) for g in found]
    return [g for g in groups if match.matches(targets, g.filter_fields(), g.tags)], pages


def _tag_filters(targets: match.Targets) -> list[dict[str, Any]]:
    """The tag filters Auto Scaling can apply itself: those without wildcard values."""
    filters = []
    for name, values in targets:
        if (name.startswith("tag:") or name == "tag-key") and not any(
            match.is_pattern(v) for v in values
        ):
            filters.append({"Name": name, "Values": list(values)})
    return filters


def change_state(client: Any, action: str, groups: Sequence[Group], tuning: Tuning) -> Outcome:
    by_name = {g.id: g for g in groups}

    def act(name: str, tuning: Tuning) -> None:
        if action == "stop":
            stop_group(client, by_name[name], tuning)
        else:
            start_group(client, by_name[name], tuning)

    return one_by_one(list(by_name), act, tuning)


def stop_group(client: Any, group: Group, tuning: Tuning) -> None:
    """Save the capacity in the tag (unless a previous attempt did), then scale to zero."""
    if group.saved is None:
        tag = {
            **_tag_ref(group.id),
            "Value": group.capacity.tag_value(),
            "PropagateAtLaunch": False,
        }
        with_backoff(lambda: client.create_or_update_tags(Tags=[tag]), tuning)
    if not group.at_zero:
        with_backoff(
            lambda: client.update_auto_scaling_group(
                AutoScalingGroupName=group.id, MinSize=0, DesiredCapacity=0
            ),
            tuning,
        )


def start_group(client: Any, group: Group, tuning: Tuning) -> None:
    """Restore the saved capacity (unless a previous attempt did), then remove the tag."""
    saved = group.saved
    assert saved is not None  # asg_skip_reason skips a group without a readable tag
    if group.capacity != saved:
        with_backoff(lambda: client.update_auto_scaling_group(**_restore(group.id, saved)), tuning)
    with_backoff(lambda: client.delete_tags(Tags=[_tag_ref(group.id)]), tuning)


def _restore(name: str, saved: Capacity) -> dict[str, Any]:
    return {
        "AutoScalingGroupName": name,
        "MinSize": saved.min,
        "DesiredCapacity": saved.desired,
        "MaxSize": saved.max,
    }


def _tag_ref(name: str) -> dict[str, Any]:
    return {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": SAVED_CAPACITY_TAG}
