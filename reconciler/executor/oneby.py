"""Acting on resources one call (or two) each: RDS and Auto Scaling have no batch Start/Stop."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from reconciler.executor.ec2 import (
    NOT_PER_INSTANCE_CODES,
    Outcome,
    Tuning,
    error_code,
    error_entry,
    not_attempted,
)


def one_by_one(ids: Sequence[str], act: Callable[[str, Tuning], None], tuning: Tuning) -> Outcome:
    """`act` on each id in turn; one failing never stops the others.

    An error about the caller or the service (access, throttling beyond the backoff) would
    hit every later call alike: the rest are recorded with it instead of being sent. No call
    starts inside the time kept for recording results (a retry sends what was left).
    """
    outcome = Outcome()
    for index, resource_id in enumerate(ids):
        if tuning.time_left() <= 0:
            outcome.errors += [not_attempted(i) for i in ids[index:]]
            break
        try:
            act(resource_id, tuning)
        except (ClientError, BotoCoreError) as exc:
            outcome.errors.append(error_entry(resource_id, exc))
            if isinstance(exc, ClientError) and error_code(exc) in NOT_PER_INSTANCE_CODES:
                outcome.errors += [error_entry(i, exc) for i in ids[index + 1 :]]
                break
        else:
            outcome.acted.append(resource_id)
    return outcome
