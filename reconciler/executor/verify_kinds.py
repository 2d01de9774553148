"""After a start of DB instances, Aurora clusters or Auto Scaling groups: did it stick? (issue 12)

RDS accepts StartDBInstance and answers `starting`; the instance can still end up `stopped`
again, or in a status it cannot leave by itself: its KMS key disabled
(inaccessible-encryption-credentials), a parameter group it cannot start with
(incompatible-parameters), its storage full. An Auto Scaling group's restored capacity can
be set back to 0 at once by a scheduled action or another scheduler. The looks are
verify_start's (no busy loop, never into the reserve, one Describe per look by the started
ids): what is still or again `stopped`, or in a failed status, is a failed start with its
status and what to check. A start AWS rejected outright gets what to check appended to
AWS's message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reconciler.executor import asg, ec2, rds
from reconciler.executor.asgselect import Capacity, Group
from reconciler.executor.dbselect import DbCluster, DbInstance
from reconciler.executor.event import Occurrence
from reconciler.executor.verify_start import FELL_BACK_CODE, Verdict, looks, moved_to_errors

# Statuses a DB instance or cluster does not leave by itself, and what to check for each.
_FAILED_STATUSES = {
    "inaccessible-encryption-credentials": (
        "the KMS key that encrypts it is disabled, deleted or not usable by RDS: enable the "
        "key and check its policy and grants (a key that cannot be recovered means restoring "
        "from a backup)"
    ),
    "inaccessible-encryption-credentials-recoverable": (
        "the KMS key that encrypts it cannot be used now: enable the key and check its policy "
        "and grants, then start it again"
    ),
    "incompatible-parameters": (
        "its DB parameter group has values it cannot start with (memory settings, say): "
        "revert or fix the parameter group, then start it again"
    ),
    "incompatible-network": (
        "its VPC or subnets cannot take it (no free IP addresses, a subnet deleted): check its "
        "DB subnet group"
    ),
    "incompatible-option-group": "its option group has a change it cannot apply: check it",
    "insufficient-capacity": (
        "AWS has no capacity for its instance class in its Availability Zone now: try later, "
        "or change the instance class"
    ),
    "storage-full": (
        "it has used all its allocated storage: increase the allocated storage (or turn on "
        "storage autoscaling)"
    ),
    "failed": "RDS could not recover it: restore it from a backup (point-in-time restore)",
    "cloning-failed": "the cluster's clone failed: check the cluster's events",
    "migration-failed": "the cluster's migration failed: check the cluster's events",
}
_FELL_BACK_STATUSES = frozenset({"stopped", "stopping"})
_FELL_BACK_HINT = (
    "AWS accepted the start but did not keep it: check the {what}'s recent events in the RDS "
    "console for why"
)

# What to check when AWS rejects a start outright, by error code.
_REJECTED_HINTS = {
    "InvalidDBInstanceState": (
        "it was not `stopped` when the start arrived (started or changed by someone else, or "
        "a change under way): check its status and recent events; a retry looks again"
    ),
    "InvalidDBClusterStateFault": (
        "the cluster was not `stopped` when the start arrived (started or changed by someone "
        "else, or a change under way): check its status and events; a retry looks again"
    ),
    "InsufficientDBInstanceCapacity": _FAILED_STATUSES["insufficient-capacity"],
    "KMSKeyNotAccessibleFault": (
        "the KMS key that encrypts it is disabled, deleted or not usable by RDS: enable the "
        "key and check its policy and grants"
    ),
    "InvalidSubnet": _FAILED_STATUSES["incompatible-network"],
    "InvalidVPCNetworkStateFault": _FAILED_STATUSES["incompatible-network"],
    "DBSubnetGroupNotFoundFault": "its DB subnet group was deleted: check its network settings",
    "DBSubnetGroupDoesNotCoverEnoughAZs": _FAILED_STATUSES["incompatible-network"],
    "DBInstanceNotFound": "deleted since it was described: nothing to start",
    "DBClusterNotFoundFault": "deleted since it was described: nothing to start",
    "ScalingActivityInProgress": (
        "a scaling activity of the group was under way: a retry restores the saved capacity "
        "once it ends"
    ),
    "ResourceContention": "another update of the group was under way: a retry restores it",
    "ServiceLinkedRoleFailure": (
        "the Auto Scaling service-linked role (AWSServiceRoleForAutoScaling) is missing or "
        "broken: check it in IAM"
    ),
    "ValidationError": (
        "AWS refused the saved capacity for the group as it is now (changed by hand since the "
        "stop?): check the group's settings and its ouroboros:saved-capacity tag"
    ),
}

Describer = Callable[[Any, Any, Sequence[str] | None, int], tuple[list[Any], int]]


def confirm_db_instances(
    client: Any,
    occ: Occurrence,
    dbs: Sequence[DbInstance],
    outcome: ec2.Outcome,
    tuning: ec2.Tuning,
) -> ec2.Outcome:
    """The outcome with every DB instance whose start did not stick moved to errors."""
    outcome = explain_rejected(outcome)
    describe = functools.partial(_by_id, rds.describe_instances, client, occ)
    failed = looks(outcome.acted, describe, _db_verdict, tuning)
    errors = {i: failed_db_start(i, d.status, "DB instance") for i, d in failed.items()}
    return moved_to_errors(outcome, errors)


def confirm_db_clusters(
    client: Any,
    occ: Occurrence,
    clusters: Sequence[DbCluster],
    outcome: ec2.Outcome,
    tuning: ec2.Tuning,
) -> ec2.Outcome:
    """The outcome with every DB cluster whose start did not stick moved to errors."""
    outcome = explain_rejected(outcome)
    describe = functools.partial(_by_id, rds.describe_clusters, client, occ)
    failed = looks(outcome.acted, describe, _db_verdict, tuning)
    errors = {i: failed_db_start(i, c.status, "DB cluster") for i, c in failed.items()}
    return moved_to_errors(outcome, errors)


def confirm_groups(
    client: Any, occ: Occurrence, groups: Sequence[Group], outcome: ec2.Outcome, tuning: ec2.Tuning
) -> ec2.Outcome:
    """The outcome with every group whose restored capacity shows 0 again moved to errors."""
    outcome = explain_rejected(outcome)
    saved = {g.id: g.saved for g in groups if g.saved is not None}
    describe = functools.partial(_by_id, asg.describe, client, occ)

    def verdict(group: Group) -> Verdict:
        wanted = saved.get(group.id)
        if wanted is None:
            return Verdict(failed=False, again=False)
        lost = (wanted.min > 0 and group.capacity.min == 0) or (
            wanted.desired > 0 and group.capacity.desired == 0
        )
        return Verdict(failed=lost, again=False)  # the restore is synchronous: one look

    failed = looks(outcome.acted, describe, verdict, tuning)
    errors = {name: failed_group_start(g, saved[name]) for name, g in failed.items()}
    return moved_to_errors(outcome, errors)


def _by_id(
    describer: Describer, client: Any, occ: Occurrence, ids: list[str], tuning: ec2.Tuning
) -> dict[str, Any]:
    """id -> the resource as the driver's describe reads it, narrowed to these ids."""
    found, _pages = ec2.with_backoff(
        lambda: describer(client, occ.targets, ids, tuning.page_size), tuning
    )
    return {r.id: r for r in found}


def _db_verdict(resource: DbInstance | DbCluster) -> Verdict:
    status = resource.status
    if status in _FAILED_STATUSES:
        return Verdict(failed=True, again=False)
    if status in _FELL_BACK_STATUSES:
        return Verdict(failed=True, again=True)  # failed unless a later look sees it start
    return Verdict(failed=False, again=status == "starting")


def failed_db_start(resource_id: str, status: str, what: str) -> dict[str, str]:
    """The log's error for a DB instance or cluster whose start did not stick."""
    hint = _FAILED_STATUSES.get(status) or _FELL_BACK_HINT.format(what=what)
    message = f"started, but its status is {status}: {hint}"
    return {"id": resource_id, "code": FELL_BACK_CODE, "message": message[: ec2.MESSAGE_MAX]}


def failed_group_start(group: Group, saved: Capacity) -> dict[str, str]:
    """The log's error for a group whose restored capacity did not take."""
    now = group.capacity.tag_value()
    message = (
        f"restored to {saved.tag_value()}, but the group shows {now} right after: something set "
        "it back (a scheduled action, another scheduler, a person): check the group's activity "
        "history and scheduled actions"
    )
    return {"id": group.id, "code": FELL_BACK_CODE, "message": message[: ec2.MESSAGE_MAX]}


def explain_rejected(outcome: ec2.Outcome) -> ec2.Outcome:
    """Each start AWS rejected with a known code gets what to check after AWS's message."""
    outcome.errors = [_with_hint(e) for e in outcome.errors]
    return outcome


def _with_hint(error: Mapping[str, str]) -> dict[str, str]:
    hint = _REJECTED_HINTS.get(error.get("code", ""))
    if hint is None:
        return dict(error)
    room = ec2.MESSAGE_MAX - len(hint) - 2
    said = error.get("message", "").rstrip(". ")
    said = said if len(said) <= room else said[: room - 1] + "…"
    return {**error, "message": f"{said}: {hint}"}
