"""EC2 calls: DescribeInstances by filters, and Start/StopInstances in isolated batches."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import awserror, checks
from reconciler.executor.selection import Instance

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef

# Every state DescribeInstances knows. Listing them, rather than omitting the filter, keeps a
# state AWS may add later out of the executor's hands until the code knows what it means.
INSTANCE_STATES = ("pending", "running", "shutting-down", "stopping", "stopped", "terminated")

THROTTLE_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
# Errors about the caller or the service, never about one instance: splitting the batch to find
# "the bad instance" would only multiply the calls.
NOT_PER_INSTANCE_CODES = THROTTLE_CODES | {
    "AuthFailure",
    "Blocked",
    "ExpiredToken",
    "InternalError",
    "InvalidClientTokenId",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "SignatureDoesNotMatch",
    "Unavailable",
}
MESSAGE_MAX = 300
# A batch left unsent because the invocation was about to time out (a retry sends it).
NOT_ATTEMPTED_CODE = "NotAttempted"
NOT_ATTEMPTED_MESSAGE = "not sent: the function was close to its timeout; a retry sends it"


@dataclass(frozen=True)
class Tuning:
    """Sizes and retry pacing; tests shrink the sleeps, the benchmark counts the calls.

    batch_size: EC2 documents no maximum number of ids for Start/StopInstances; its guide says
    to send at most 1,000 ids per call, which is also max_instances' ceiling (so a rule's pair
    is one call) and the size of the per-instance request-token bucket for both actions.

    deadline (on `clock`) is when the Lambda times out; `reserve_s` before it is kept for
    writing the results. No backoff sleeps into the reserve and no batch starts in it: a
    function killed mid-backoff would leave its claims "running" and record nothing, while
    stopping short records what was not sent (NOT_ATTEMPTED_CODE) for a retry to finish.

    `now` is the wall clock the trust check compares `scheduled_time` with (the demo plays
    future days on it). `emit` prints the metric line (the demo, which plays on moto, keeps
    its output for people).
    """

    batch_size: int = 1000
    page_size: int = 1000
    throttle_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    deadline: float = math.inf
    reserve_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Where the per-firing metric line goes (executor/metrics.py): stdout, as EMF wants.
    emit: Callable[[str], None] = lambda line: print(line, flush=True)

    def time_left(self) -> float:
        """Seconds until the reserve begins (negative once inside it)."""
        return self.deadline - self.reserve_s - self.clock()


@dataclass
class Outcome:
    acted: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    hibernated: list[str] = field(default_factory=list)
    plain_stops: list[str] = field(default_factory=list)


def build_filters(
    targets: Sequence[tuple[str, Sequence[str]]], only_ids: Sequence[str] | None = None
) -> list[FilterTypeDef]:
    """The rule's filters plus the state allow-list; `only_ids` narrows to those instances."""
    filters: list[FilterTypeDef] = []
    wanted = set(only_ids or ())
    for name, values in targets:
        if name == "instance-id" and only_ids is not None:
            values = [v for v in values if v in wanted]
        filters.append({"Name": name, "Values": list(values)})
    if only_ids is not None and "instance-id" not in dict(targets):
        filters.append({"Name": "instance-id", "Values": list(only_ids)})
    filters.append({"Name": "instance-state-name", "Values": list(INSTANCE_STATES)})
    return filters


def describe(
    ec2: EC2Client, filters: list[FilterTypeDef], page_size: int
) -> tuple[list[Instance], int]:
    """Every instance the filters match, and the number of pages it took.

    Always by Filters, never by InstanceIds: an empty id list would describe the whole region.
    """
    if not filters or any(not f["Values"] for f in filters):
        return [], 0
    instances: list[Instance] = []
    pages = 0
    paginator = ec2.get_paginator("describe_instances")
    for page in paginator.paginate(Filters=filters, PaginationConfig={"PageSize": page_size}):
        pages += 1
        for reservation in page.get("Reservations", []):
            instances += [Instance.from_api(i) for i in reservation.get("Instances", [])]
    return instances, pages


def describe_ids(
    ec2: EC2Client, targets: Sequence[tuple[str, Sequence[str]]], ids: Sequence[str], page_size: int
) -> tuple[list[Instance], int]:
    """The given instances, if the rule's filters still match them (200 ids per filter)."""
    instances: list[Instance] = []
    pages = 0
    for chunk in chunks(list(ids), checks.FILTER_VALUES_MAX):
        found, n = describe(ec2, build_filters(targets, only_ids=chunk), page_size)
        instances += found
        pages += n
    return instances, pages


def persistent_spot_requests(ec2: EC2Client, request_ids: Sequence[str]) -> frozenset[str]:
    """Which of these Spot requests are persistent (their instances can stop)."""
    persistent: set[str] = set()
    for chunk in chunks(sorted(set(request_ids)), checks.FILTER_VALUES_MAX):
        paginator = ec2.get_paginator("describe_spot_instance_requests")
        filters: list[FilterTypeDef] = [{"Name": "spot-instance-request-id", "Values": chunk}]
        for page in paginator.paginate(Filters=filters):
            for request in page.get("SpotInstanceRequests", []):
                if request.get("Type") == "persistent":
                    persistent.add(request["SpotInstanceRequestId"])
    return frozenset(persistent)


def change_state(
    ec2: EC2Client, action: str, instances: Sequence[Instance], hibernate: bool, tuning: Tuning
) -> Outcome:
    """Start or stop the instances in batches; one bad instance never blocks the rest."""
    outcome = Outcome()
    groups: list[tuple[list[str], dict[str, Any]]]
    call: Callable[..., Any]  # StartInstances or StopInstances, the same shape
    if action == "start":
        groups = [([i.id for i in instances], {})]
        call = ec2.start_instances
    else:
        call = ec2.stop_instances
        if hibernate:
            outcome.hibernated = [i.id for i in instances if i.hibernation_configured]
            outcome.plain_stops = [i.id for i in instances if not i.hibernation_configured]
            groups = [(outcome.hibernated, {"Hibernate": True}), (outcome.plain_stops, {})]
        else:
            groups = [([i.id for i in instances], {})]
    for ids, extra in groups:
        for batch in chunks(ids, tuning.batch_size):
            _isolate(call, batch, extra, outcome, tuning)
    failed = {e["id"] for e in outcome.errors}
    outcome.hibernated = [i for i in outcome.hibernated if i not in failed]
    outcome.plain_stops = [i for i in outcome.plain_stops if i not in failed]
    return outcome


def _isolate(
    call: Callable[..., Any],
    batch: list[str],
    extra: Mapping[str, Any],
    outcome: Outcome,
    tuning: Tuning,
) -> None:
    """Send a batch; on failure split it in halves until each failing instance stands alone.

    Halving rather than one call per instance: with one bad instance in 1,000 it takes ~20
    calls instead of 1,000, and StartInstances' request bucket refills at 2 calls a second.
    """
    if tuning.time_left() <= 0:
        outcome.errors += [not_attempted(i) for i in batch]
        return
    try:
        response = with_backoff(lambda: call(InstanceIds=batch, **extra), tuning)
    except ClientError as exc:
        code = error_code(exc)
        if len(batch) == 1 or code in NOT_PER_INSTANCE_CODES:
            outcome.errors += [error_entry(i, exc) for i in batch]
            return
        middle = len(batch) // 2
        _isolate(call, batch[:middle], extra, outcome, tuning)
        _isolate(call, batch[middle:], extra, outcome, tuning)
        return
    except BotoCoreError as exc:
        outcome.errors += [error_entry(i, exc) for i in batch]
        return
    changes = response.get("StartingInstances") or response.get("StoppingInstances") or []
    outcome.acted += [c["InstanceId"] for c in changes] or batch


def with_backoff(fn: Callable[[], Any], tuning: Tuning) -> Any:
    """Retry throttling beyond botocore's own retries, with capped exponential backoff."""
    attempt = 0
    while True:
        try:
            return fn()
        except ClientError as exc:
            if error_code(exc) not in THROTTLE_CODES or attempt >= tuning.throttle_retries:
                raise
            delay = min(tuning.backoff_cap_s, tuning.backoff_base_s * 2**attempt)
            delay *= random.uniform(0.5, 1.0)
            if delay >= tuning.time_left():
                raise  # sleeping would run into the time kept for recording results
            tuning.sleep(delay)
            attempt += 1


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return awserror.error_code(exc) or "Unknown"
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    text = awserror.error_message(exc) or str(exc)
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def error_entry(instance_id: str, exc: BaseException) -> dict[str, str]:
    """One log `errors` element; instance_id is "" for an error that hit the whole pair."""
    return {"id": instance_id, "code": error_code(exc), "message": error_message(exc)}


def not_attempted(instance_id: str) -> dict[str, str]:
    return {"id": instance_id, "code": NOT_ATTEMPTED_CODE, "message": NOT_ATTEMPTED_MESSAGE}


def chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
