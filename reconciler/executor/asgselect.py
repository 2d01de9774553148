"""Auto Scaling groups: the saved-capacity tag, and which groups to act on and why not. Pure.

Stop saves the group's capacity in the tag SAVED_CAPACITY_TAG (`min=1,desired=2,max=4`) and
then sets MinSize and DesiredCapacity to 0; start restores the saved capacity and then
removes the tag. The tag is written before capacity changes and removed only after it is
restored, so a delivery repeated after a partial failure finds what to finish:
- stop, tag present, capacity not yet 0: set it to 0, keeping the saved (original) values;
- start, tag present, capacity already restored: only remove the tag.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.executor.match import tags_of
from reconciler.executor.selection import IN_TARGET_STATE, Skip

SAVED_CAPACITY_TAG = "ouroboros:saved-capacity"
_SAVED_RE = re.compile(r"^min=(\d+),desired=(\d+),max=(\d+)$")

# Machine-readable skip reasons (the log's `reason`), beside selection's.
NOT_STOPPED_BY_US: Final = "not-stopped-by-ouroboros"
SAVED_UNREADABLE: Final = "saved-capacity-unreadable"
DELETING: Final = "deleting"


@dataclass(frozen=True)
class Capacity:
    min: int
    desired: int
    max: int

    def tag_value(self) -> str:
        return f"min={self.min},desired={self.desired},max={self.max}"

    @classmethod
    def parse(cls, text: str) -> Capacity | None:
        match = _SAVED_RE.fullmatch(text.strip())
        if match is None:
            return None
        low, desired, high = (int(g) for g in match.groups())
        if not low <= desired <= high:
            return None
        return cls(low, desired, high)


@dataclass(frozen=True)
class Group:
    id: str  # the group's name
    capacity: Capacity
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    status: str | None = None  # AWS sets it only while the group is being deleted

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Group:
        """From one DescribeAutoScalingGroups `AutoScalingGroups` element."""
        return cls(
            id=data["AutoScalingGroupName"],
            capacity=Capacity(
                int(data.get("MinSize", 0)),
                int(data.get("DesiredCapacity", 0)),
                int(data.get("MaxSize", 0)),
            ),
            tags=tags_of(data.get("Tags")),
            status=data.get("Status") or None,
        )

    @property
    def saved_text(self) -> str | None:
        return self.tags.get(SAVED_CAPACITY_TAG)

    @property
    def saved(self) -> Capacity | None:
        text = self.saved_text
        return Capacity.parse(text) if text is not None else None

    @property
    def at_zero(self) -> bool:
        return self.capacity.min == 0 and self.capacity.desired == 0

    def filter_fields(self) -> dict[str, str | None]:
        return {"asg-name": self.id}


def asg_skip_reason(group: Group, action: str) -> Skip | None:
    """Why the group is left alone, or None to act on it; the first reason wins."""
    if group.status is not None:
        return Skip(group.id, DELETING, f"status {group.status}: nothing to {action}")
    text = group.saved_text
    if text is not None and group.saved is None:
        return Skip(
            group.id,
            SAVED_UNREADABLE,
            f"tag {SAVED_CAPACITY_TAG} is {text!r}, not min=N,desired=N,max=N with "
            "min <= desired <= max: set it right (or remove it) by hand",
        )
    if action == "stop":
        return _stop_skip(group)
    return _start_skip(group)


def _stop_skip(group: Group) -> Skip | None:
    if not group.at_zero:
        return None
    if group.saved is not None:
        return Skip(group.id, IN_TARGET_STATE, f"already stopped (saved {group.saved.tag_value()})")
    return Skip(group.id, IN_TARGET_STATE, "already at min 0, desired 0: nothing to save")


def _start_skip(group: Group) -> Skip | None:
    if group.saved is None:
        return Skip(
            group.id,
            NOT_STOPPED_BY_US,
            f"no {SAVED_CAPACITY_TAG} tag: not stopped by Ouroboros, so there is no "
            "capacity to restore",
        )
    return None
