"""Which described instances to act on, and a reason for every one left alone. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from reconciler.executor import decisions, filters

ASG_TAG = "aws:autoscaling:groupName"

# What each action leaves alone because the instance is there already (or on its way).
TARGET_STATES = {"stop": ("stopped", "stopping"), "start": ("running", "pending")}
GONE_STATES = ("shutting-down", "terminated")

# Machine-readable skip reasons (the log's `reason`); each skip also carries readable `detail`.
SkipReason = Literal[
    "terminated",
    "in-target-state",
    "autoscaling",
    "instance-store",
    "spot-one-time",
    "override",
    "held-on",
]
TERMINATED: Final = "terminated"
IN_TARGET_STATE: Final = "in-target-state"
AUTOSCALING: Final = "autoscaling"
INSTANCE_STORE: Final = "instance-store"
SPOT_ONE_TIME: Final = "spot-one-time"
OVERRIDE: Final = "override"
HELD_ON: Final = "held-on"


@dataclass(frozen=True)
class Instance:
    id: str
    state: str
    asg: str | None = None
    root_device_type: str = "ebs"
    spot: bool = False
    spot_request_id: str | None = None
    hibernation_configured: bool = False
    name: str | None = None  # the Name tag, for people reading a preview
    # What the fire-time decisions read: the tags, and the attributes filters name (§3)
    # (compare=False: equality and hashing stay those of the fields above).
    tags: Mapping[str, str] = field(default_factory=dict, compare=False)
    attributes: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Instance:
        """From one DescribeInstances `Instances` element."""
        tags = {str(t.get("Key")): str(t.get("Value", "")) for t in data.get("Tags", [])}
        return cls(
            id=data["InstanceId"],
            state=data.get("State", {}).get("Name", "unknown"),
            asg=tags.get(ASG_TAG),
            root_device_type=data.get("RootDeviceType", "ebs"),
            spot=data.get("InstanceLifecycle") == "spot",
            spot_request_id=data.get("SpotInstanceRequestId"),
            hibernation_configured=bool(data.get("HibernationOptions", {}).get("Configured")),
            tags=tags,
            attributes=filters.ec2_attributes(data),
            name=tags.get("Name"),
        )


@dataclass(frozen=True)
class Skip:
    id: str
    reason: str
    detail: str

    def as_log(self) -> dict[str, str]:
        return {"id": self.id, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Selection:
    act: tuple[Instance, ...]
    skipped: tuple[Skip, ...]
    notes: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class FireContext:
    """The firing's own decisions (§12): its scheduled time, and the rules holding on now."""

    at: datetime
    holders: decisions.Holders = field(default_factory=decisions.Holders)


def select(
    instances: Iterable[Instance],
    action: str,
    persistent_spot_requests: frozenset[str],
    spot_requests_unread: str | None = None,
    fire: FireContext | None = None,
) -> Selection:
    """Sort instances into act and skip; the first reason that applies wins.

    `spot_requests_unread` is why the Spot requests could not be read, if they could not.
    With `fire`, an override tag and (at a stop) another rule holding an instance on skip it.
    """
    act: list[Instance] = []
    skipped: list[Skip] = []
    notes: list[dict[str, str]] = []
    for instance in instances:
        skip = skip_reason(instance, action, persistent_spot_requests, spot_requests_unread)
        if skip is None and fire is not None:
            skip, note = fire_skip(instance, action, fire)
            if note is not None and skip is None:
                notes.append({"id": instance.id, "note": note})
        if skip is None:
            act.append(instance)
        else:
            skipped.append(skip)
    return Selection(tuple(act), tuple(skipped), tuple(notes))


def fire_skip(resource: Any, action: str, fire: FireContext) -> tuple[Skip | None, str | None]:
    """The override, then the union: a skip, and a note (an override that has expired).

    `resource` is any kind's described resource: an `id`, its `tags`, and the values its
    filters read (an EC2 instance's `attributes`, a DB's or group's `filter_fields()`).
    """
    override = decisions.override(resource.tags, fire.at)
    if override.skip is not None:
        return Skip(resource.id, OVERRIDE, override.skip), None
    if action == "stop" and fire.holders:
        holder = fire.holders.held_by(resource.tags, _attributes(resource))
        if holder is not None:
            return Skip(resource.id, HELD_ON, holder.reason()), override.note
    return None, override.note


def _attributes(resource: Any) -> Mapping[str, str]:
    if isinstance(resource, Instance):
        return resource.attributes
    return {name: value for name, value in resource.filter_fields().items() if value}


def skip_reason(
    instance: Instance,
    action: str,
    persistent_spot_requests: frozenset[str],
    spot_requests_unread: str | None = None,
) -> Skip | None:
    if instance.state in GONE_STATES:
        return Skip(instance.id, TERMINATED, f"{instance.state}: nothing to {action}")
    if instance.state in TARGET_STATES[action]:
        return Skip(instance.id, IN_TARGET_STATE, f"already {instance.state}")
    if instance.asg is not None:
        return Skip(
            instance.id,
            AUTOSCALING,
            f"member of Auto Scaling group {instance.asg}: schedule the group with `resource: asg`",
        )
    if instance.root_device_type == "instance-store":
        return Skip(
            instance.id, INSTANCE_STORE, "instance-store root device: cannot be stopped or started"
        )
    # Only a persistent Spot request lets its instance stop; a stopped Spot instance can only
    # exist under one, so starting never needs the check.
    if (
        action == "stop"
        and instance.spot
        and instance.spot_request_id not in persistent_spot_requests
    ):
        if not instance.spot_request_id:
            detail = "Spot instance without a persistent request: cannot be stopped"
        elif spot_requests_unread:
            detail = (
                f"Spot request {instance.spot_request_id} could not be read "
                f"({spot_requests_unread}): taken as one-time, not stopped"
            )
        else:
            detail = "one-time Spot instance: cannot be stopped"
        return Skip(instance.id, SPOT_ONE_TIME, detail)
    return None
