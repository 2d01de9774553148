"""The kinds of resource the executor schedules (DESIGN.md §9), one driver each.

Every kind runs the same pipeline in run.py: describe what the rule's filters match (or, on a
retry, only the ids that failed) -> select, with a reason for each one left alone -> change
state. The claims, the cap, the deadline and the retry of failed ids are run.py's and the
same for every kind. Each described resource has an `id` and `tags`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from botocore.exceptions import ClientError

from reconciler.executor import asg, ec2, rds, verify_kinds, verify_start
from reconciler.executor.asgselect import asg_skip_reason
from reconciler.executor.dbselect import aurora_skip_reason, rds_skip_reason
from reconciler.executor.event import Occurrence
from reconciler.executor.match import Targets
from reconciler.executor.selection import Instance, Skip, select

log = logging.getLogger("ouroboros.executor")

ServiceName = Literal["ec2", "rds", "autoscaling"]


@dataclass(frozen=True)
class Picked:
    """The resources to act on, and the ones left alone with their reasons."""

    act: tuple[Any, ...]
    skipped: tuple[Skip, ...]


class Kind(Protocol):
    @property
    def service(self) -> ServiceName: ...  # the boto3 client's name

    def describe(
        self, client: Any, targets: Targets, only_ids: Sequence[str] | None, tuning: ec2.Tuning
    ) -> tuple[list[Any], int]: ...

    def select(self, client: Any, occ: Occurrence, resources: Sequence[Any]) -> Picked: ...

    def change_state(
        self, client: Any, occ: Occurrence, resources: Sequence[Any], tuning: ec2.Tuning
    ) -> ec2.Outcome: ...


class Ec2:
    service: Final = "ec2"

    def describe(
        self, client: Any, targets: Targets, only_ids: Sequence[str] | None, tuning: ec2.Tuning
    ) -> tuple[list[Any], int]:
        if only_ids is None:
            return ec2.describe(client, ec2.build_filters(targets), tuning.page_size)
        return ec2.describe_ids(client, targets, only_ids, tuning.page_size)

    def select(self, client: Any, occ: Occurrence, resources: Sequence[Any]) -> Picked:
        persistent, unread = _persistent_spot(client, occ, resources)
        selection = select(resources, occ.action, persistent, unread)
        return Picked(selection.act, selection.skipped)

    def change_state(
        self, client: Any, occ: Occurrence, resources: Sequence[Any], tuning: ec2.Tuning
    ) -> ec2.Outcome:
        outcome = ec2.change_state(client, occ.action, resources, occ.hibernate, tuning)
        if occ.action == "start":  # a start AWS accepted can still fall back to stopped
            outcome = verify_start.confirm_started(client, outcome, tuning)
        return outcome


def _persistent_spot(
    client: Any, occ: Occurrence, instances: Sequence[Instance]
) -> tuple[frozenset[str], str | None]:
    """The persistent Spot requests among the instances', and why they could not be read."""
    request_ids = [i.spot_request_id for i in instances if i.spot and i.spot_request_id]
    if occ.action != "stop" or not request_ids:
        return frozenset(), None
    try:
        return ec2.persistent_spot_requests(client, request_ids), None
    except ClientError as exc:
        # Unknown request type: treat as one-time, the safe reading (skipped, not stopped).
        log.warning("cannot read Spot requests: %s", ec2.error_message(exc))
        return frozenset(), ec2.error_code(exc)


@dataclass(frozen=True)
class _Simple:
    """A kind whose selection is a pure skip-reason function of each resource."""

    service: ServiceName
    describer: Callable[[Any, Targets, Sequence[str] | None, int], tuple[list[Any], int]]
    skip_reason: Callable[[Any, str], Skip | None]
    changer: Callable[[Any, str, Sequence[Any], ec2.Tuning], ec2.Outcome]
    # After a start: did it stick? (the outcome with the starts that did not moved to errors)
    confirm: Callable[[Any, Occurrence, Sequence[Any], ec2.Outcome, ec2.Tuning], ec2.Outcome]

    def describe(
        self, client: Any, targets: Targets, only_ids: Sequence[str] | None, tuning: ec2.Tuning
    ) -> tuple[list[Any], int]:
        return self.describer(client, targets, only_ids, tuning.page_size)

    def select(self, client: Any, occ: Occurrence, resources: Sequence[Any]) -> Picked:
        return pick(resources, occ.action, self.skip_reason)

    def change_state(
        self, client: Any, occ: Occurrence, resources: Sequence[Any], tuning: ec2.Tuning
    ) -> ec2.Outcome:
        outcome = self.changer(client, occ.action, resources, tuning)
        if occ.action == "start":  # a start AWS accepted can still not stick
            outcome = self.confirm(client, occ, resources, outcome, tuning)
        return outcome


def pick(
    resources: Sequence[Any], action: str, skip_reason: Callable[[Any, str], Skip | None]
) -> Picked:
    act: list[Any] = []
    skipped: list[Skip] = []
    for resource in resources:
        skip = skip_reason(resource, action)
        if skip is None:
            act.append(resource)
        else:
            skipped.append(skip)
    return Picked(tuple(act), tuple(skipped))


KINDS: dict[str, Kind] = {
    "ec2": Ec2(),
    "rds": _Simple(
        "rds",
        rds.describe_instances,
        rds_skip_reason,
        rds.change_instances,
        verify_kinds.confirm_db_instances,
    ),
    "aurora": _Simple(
        "rds",
        rds.describe_clusters,
        aurora_skip_reason,
        rds.change_clusters,
        verify_kinds.confirm_db_clusters,
    ),
    "asg": _Simple(
        "autoscaling", asg.describe, asg_skip_reason, asg.change_state, verify_kinds.confirm_groups
    ),
}
# The pure "described resource -> skip reason" of each kind but ec2 (whose skips also need the
# Spot requests: selection.skip_reason), for a preview that shows what a firing would skip.
SKIP_REASONS: dict[str, Callable[[Any, str], Skip | None]] = {
    "rds": rds_skip_reason,
    "aurora": aurora_skip_reason,
    "asg": asg_skip_reason,
}
