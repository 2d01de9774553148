"""After StartInstances: did the start stick? (issue 12)

EC2 accepts a start and answers `pending`; the instance can still fall back to `stopped` a few
seconds later: an EBS volume encrypted with a KMS key the account may not use
(Client.InternalError), no capacity left in the zone (Server.InsufficientInstanceCapacity), a
volume limit. Nobody would know until someone finds the box down. So the executor looks: one
DescribeInstances after a short wait, and once more for those still `pending`, never a busy
loop and never past the time kept for recording results. An instance back in `stopped` (or
on its way there) is a failed start, logged with AWS's state reason and what to check.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import checks
from reconciler.executor import ec2

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef

log = logging.getLogger("ouroboros.executor")
T = TypeVar("T")

# Seconds before the first look and between the first and the second.
WAITS_S = (5.0, 10.0)
STARTED = frozenset({"pending", "running"})
FELL_BACK = frozenset({"stopping", "stopped", "shutting-down", "terminated"})
FELL_BACK_CODE = "StartDidNotStick"
_HINTS = {
    "Client.InternalError": (
        "often an EBS volume encrypted with a KMS key the account or the instance cannot "
        "use: check the key's policy and grants, and that the key is enabled"
    ),
    "Server.InsufficientInstanceCapacity": (
        "AWS has no capacity for this instance type in its Availability Zone now: try later, "
        "or change the instance type or zone"
    ),
    "Client.VolumeLimitExceeded": "the account's EBS volume limit is reached: raise the quota",
    "Server.InternalError": "an AWS-side error: start it again, and contact AWS if it repeats",
    "Client.InstanceInitiatedShutdown": "the instance shut itself down: check its system log",
}
_DEFAULT_HINT = "check the instance's state transition reason in the EC2 console"


def confirm_started(client: EC2Client, outcome: ec2.Outcome, tuning: ec2.Tuning) -> ec2.Outcome:
    """The outcome with every started instance that fell back to stopped moved to errors."""
    failed = looks(outcome.acted, functools.partial(_states, client), _ec2_verdict, tuning)
    return moved_to_errors(outcome, {i: failed_start(i, s) for i, s in failed.items()})


def _ec2_verdict(instance: Mapping[str, Any]) -> Verdict:
    name = instance["State"]["Name"]
    return Verdict(failed=name in FELL_BACK, again=name == "pending")


@dataclass(frozen=True)
class Verdict:
    """What one look says of one resource: failed if this is the last look; look again?"""

    failed: bool
    again: bool


def looks(
    ids: Sequence[str],
    describe: Callable[[list[str], ec2.Tuning], Mapping[str, T]],
    verdict: Callable[[T], Verdict],
    tuning: ec2.Tuning,
) -> dict[str, T]:
    """id -> what the last look saw, for each started resource that failed to start.

    At most len(WAITS_S) looks, each one Describe (a page per chunk of ids) after a wait,
    the later ones only at what asked to be looked at again; no look whose wait would reach
    the time kept for recording results. A resource the Describe does not return is left as
    started (deleted since, or no longer matched: not ours to judge).
    """
    waiting = list(ids)
    last: dict[str, tuple[T, Verdict]] = {}
    for wait in WAITS_S:
        if not waiting or tuning.time_left() <= wait:
            break  # out of time: the start was accepted, and that is all we can say
        tuning.sleep(wait)
        try:
            seen = describe(waiting, tuning)
        except (ClientError, BotoCoreError) as exc:
            # The starts were accepted; not being able to look again fails none of them.
            log.warning("could not check that the starts stuck: %s", ec2.error_message(exc))
            break
        last |= {i: (seen[i], verdict(seen[i])) for i in waiting if i in seen}
        waiting = [i for i in waiting if i in seen and last[i][1].again]
    return {i: state for i, (state, said) in last.items() if said.failed}


def moved_to_errors(outcome: ec2.Outcome, errors: Mapping[str, dict[str, str]]) -> ec2.Outcome:
    """The outcome with these ids taken out of `acted` and their errors added, by id."""
    if errors:
        outcome.acted = [i for i in outcome.acted if i not in errors]
        outcome.errors += [errors[i] for i in sorted(errors)]
    return outcome


def _states(client: EC2Client, ids: Sequence[str], tuning: ec2.Tuning) -> dict[str, Any]:
    """id -> the instance as DescribeInstances answers, by an instance-id filter (never bare)."""
    found: dict[str, Any] = {}
    for chunk in ec2.chunks(list(ids), checks.FILTER_VALUES_MAX):
        for page in ec2.with_backoff(functools.partial(_describe, client, chunk), tuning):
            for reservation in page.get("Reservations", []):
                found |= {i["InstanceId"]: i for i in reservation.get("Instances", [])}
    return found


def _describe(client: EC2Client, ids: list[str]) -> list[Any]:
    filters: list[FilterTypeDef] = [{"Name": "instance-id", "Values": ids}]
    return list(client.get_paginator("describe_instances").paginate(Filters=filters))


def failed_start(instance_id: str, instance: Mapping[str, Any]) -> dict[str, str]:
    """The log's error for a start that did not stick: AWS's reason and what to check."""
    reason = instance.get("StateReason") or {}
    code = str(reason.get("Code") or FELL_BACK_CODE)
    state = instance["State"]["Name"]
    said = str(reason.get("Message") or instance.get("StateTransitionReason") or "no reason given")
    message = f"started, then fell back to {state} ({said}): {_HINTS.get(code, _DEFAULT_HINT)}"
    return {"id": instance_id, "code": code, "message": message[: ec2.MESSAGE_MAX]}
