"""Which described instances to act on, and a reason for every one left alone. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

ASG_TAG = "aws:autoscaling:groupName"

# What each action leaves alone because the instance is there already (or on its way).
TARGET_STATES = {"stop": ("stopped", "stopping"), "start": ("running", "pending")}
GONE_STATES = ("shutting-down", "terminated")

# Machine-readable skip reasons (the log's `reason`); each skip also carries readable `detail`.
SkipReason = Literal[
    "terminated", "in-target-state", "autoscaling", "instance-store", "spot-one-time"
]
TERMINATED: Final = "terminated"
IN_TARGET_STATE: Final = "in-target-state"
AUTOSCALING: Final = "autoscaling"
INSTANCE_STORE: Final = "instance-store"
SPOT_ONE_TIME: Final = "spot-one-time"


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

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Instance:
        """From one DescribeInstances `Instances` element."""
        tags = {t.get("Key"): t.get("Value") for t in data.get("Tags", [])}
        return cls(
            id=data["InstanceId"],
            state=data.get("State", {}).get("Name", "unknown"),
            asg=tags.get(ASG_TAG),
            root_device_type=data.get("RootDeviceType", "ebs"),
            spot=data.get("InstanceLifecycle") == "spot",
            spot_request_id=data.get("SpotInstanceRequestId"),
            hibernation_configured=bool(data.get("HibernationOptions", {}).get("Configured")),
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


def select(
    instances: Iterable[Instance],
    action: str,
    persistent_spot_requests: frozenset[str],
    spot_requests_unread: str | None = None,
) -> Selection:
    """Sort instances into act and skip; the first reason that applies wins.

    `spot_requests_unread` is why the Spot requests could not be read, if they could not.
    """
    act: list[Instance] = []
    skipped: list[Skip] = []
    for instance in instances:
        skip = skip_reason(instance, action, persistent_spot_requests, spot_requests_unread)
        if skip is None:
            act.append(instance)
        else:
            skipped.append(skip)
    return Selection(tuple(act), tuple(skipped))


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
            f"member of Auto Scaling group {instance.asg}: scale the group instead",
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
