"""At-least-once delivery made safe: each (occurrence, account, region) is claimed once.

The run item itself is the claim. The first delivery creates it (status "running") with a
conditional put; a later delivery finds it and either
- steps aside, when the occurrence finished (ok, refused) or another attempt still holds a live
  lease: it writes a "duplicate" row of its own and acts on nothing; or
- takes it over, when the occurrence failed or partly failed, or its holder died (lease past
  the holder's Lambda deadline, or Lambda retrying the holder's own event): it retries what
  failed. Taking over is conditional on the attempt counter, so two repeats racing for a failed
  occurrence cannot both win.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import awserror, runlog
from reconciler.executor.event import Occurrence

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient

log = logging.getLogger("ouroboros.executor")

NEW = "new"
RETRY = "retry"
DUPLICATE = "duplicate"
RETRYABLE_PREVIOUS = ("failed", "partial")
CLAIMED_ELSEWHERE = "ClaimedByAnotherSchedule"


class LogTableError(Exception):
    """The log table could not be read or written; acting without it could act twice."""


@dataclass(frozen=True)
class Claim:
    state: str  # NEW, RETRY or DUPLICATE
    attempts: int
    started_at: str
    previous: Mapping[str, Any] | None = None  # the item found, for RETRY and DUPLICATE


class Claims:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        retention_days: int,
        lease_until: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention_days = retention_days
        self._lease_until = lease_until
        self._clock = clock

    def claim(self, occ: Occurrence, account: str, region: str) -> Claim:
        now = self._clock()
        started_at = runlog.iso_z(now)
        values = {
            **self._keys(occ, account, region),
            **_identity(occ, account, region),
            "status": runlog.RUNNING,
            "attempts": 1,
            "started_at": started_at,
            "lease_until": self._lease_until,
            runlog.TTL_ATTRIBUTE: self._expires(now),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=runlog.to_item(values),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": runlog.PK},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Claim(NEW, 1, started_at)
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise LogTableError(_describe(exc)) from exc
            # The stubs' error response has no "Item" (ReturnValuesOnConditionCheckFailure).
            response: Mapping[str, Any] = exc.response
            found = response.get("Item")
        except BotoCoreError as exc:
            raise LogTableError(str(exc)) from exc
        previous = runlog.from_item(found or self._get(occ, account, region))
        return self._after_conflict(occ, account, region, previous, now)

    def finish(
        self, occ: Occurrence, account: str, region: str, claim: Claim, result: Mapping[str, Any]
    ) -> bool:
        """Write the result if this attempt still holds the claim; False if it lost it."""
        now = self._clock()
        values = {
            **self._keys(occ, account, region),
            **_identity(occ, account, region),
            **result,
            "attempts": claim.attempts,
            "started_at": claim.started_at,
            runlog.TTL_ATTRIBUTE: self._expires(now),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=runlog.to_item(values),
                ConditionExpression="#s = :running AND execution_id = :me AND attempts = :n",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=runlog.to_item(
                    {":running": runlog.RUNNING, ":me": occ.execution_id, ":n": claim.attempts}
                ),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                log.warning(
                    "%s/%s: another attempt took this occurrence over; result not recorded",
                    account,
                    region,
                )
                return False
            raise LogTableError(_describe(exc)) from exc
        except BotoCoreError as exc:
            raise LogTableError(str(exc)) from exc
        return True

    def record_duplicate(
        self, occ: Occurrence, account: str, region: str, claim: Claim, duration_ms: int
    ) -> dict[str, Any]:
        """A row for the repeat itself, so `reconcile logs` shows every delivery."""
        now = self._clock()
        previous = claim.previous or {}
        errors: list[dict[str, str]] = []
        if _claimed_by_another_schedule(occ, previous):
            # Not a repeat: nobody will act for this schedule, so it is a failure to see.
            errors = [
                {
                    "id": "",
                    "code": CLAIMED_ELSEWHERE,
                    "message": (
                        f"schedule {previous['schedule_arn']} already ran rule {occ.rule} "
                        f"({occ.action}, {occ.scheduled_time}) here: two deployments share log "
                        f"table {self._table}; give each its own log_table in ouroboros.yaml"
                    ),
                }
            ]
        delivery = f"{runlog.iso_z(now)}#{uuid.uuid4().hex[:8]}"
        values = {
            **runlog.duplicate_key(
                occ.rule, occ.scheduled_time, occ.action, account, region, delivery
            ),
            **_identity(occ, account, region),
            "status": "failed" if errors else DUPLICATE,
            "duplicate_of": str(previous.get("status", "")),
            "original_execution_id": str(previous.get("execution_id", "")),
            "detail": errors[0]["message"] if errors else _duplicate_detail(previous),
            "matched": 0,
            "acted": [],
            "skipped": [],
            "errors": errors,
            "error_count": len(errors),
            "attempts": 0,
            "duration_ms": duration_ms,
            "started_at": runlog.iso_z(now),
            runlog.TTL_ATTRIBUTE: self._expires(now),
        }
        try:
            self._client.put_item(TableName=self._table, Item=runlog.to_item(values))
        except (ClientError, BotoCoreError) as exc:
            # The repeat did nothing, so losing its row loses no record of an action.
            log.warning("%s/%s: could not record a repeated delivery: %s", account, region, exc)
        return values

    def _after_conflict(
        self,
        occ: Occurrence,
        account: str,
        region: str,
        previous: Mapping[str, Any],
        now: datetime,
    ) -> Claim:
        status = previous.get("status")
        attempts = int(previous.get("attempts", 1))
        abandoned = status == runlog.RUNNING and (
            int(previous.get("lease_until", 0)) < now.timestamp()
            # The same delivery again: Lambda retries an event only after the invocation that
            # had it ended (it raised before recording, e.g. the log table failed), so waiting
            # for its lease would turn both retries into no-ops and leave the claim "running".
            or previous.get("execution_id") == occ.execution_id
        )
        started_at = runlog.iso_z(now)
        if (status not in RETRYABLE_PREVIOUS and not abandoned) or _claimed_by_another_schedule(
            occ, previous
        ):
            return Claim(DUPLICATE, attempts, started_at, previous)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=runlog.to_item(
                    runlog.run_key(occ.rule, occ.scheduled_time, occ.action, account, region)
                ),
                UpdateExpression=(
                    "SET #s = :running, execution_id = :me, schedule_arn = :arn, "
                    "lease_until = :lease, started_at = :now, attempts = :next"
                ),
                ConditionExpression="#s = :old AND attempts = :n",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=runlog.to_item(
                    {
                        ":running": runlog.RUNNING,
                        ":me": occ.execution_id,
                        ":arn": occ.schedule_arn,
                        ":lease": self._lease_until,
                        ":now": started_at,
                        ":next": attempts + 1,
                        ":old": status,
                        ":n": attempts,
                    }
                ),
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                # Another repeat took it over first: that one retries, this one steps aside.
                return Claim(
                    DUPLICATE, attempts, started_at, {**previous, "status": runlog.RUNNING}
                )
            raise LogTableError(_describe(exc)) from exc
        except BotoCoreError as exc:
            raise LogTableError(str(exc)) from exc
        return Claim(RETRY, attempts + 1, started_at, previous)

    def _get(self, occ: Occurrence, account: str, region: str) -> dict[str, Any]:
        key = runlog.run_key(occ.rule, occ.scheduled_time, occ.action, account, region)
        try:
            response = self._client.get_item(
                TableName=self._table, Key=runlog.to_item(key), ConsistentRead=True
            )
        except ClientError as exc:
            raise LogTableError(_describe(exc)) from exc
        except BotoCoreError as exc:
            raise LogTableError(str(exc)) from exc
        return dict(response.get("Item", {}))

    def _keys(self, occ: Occurrence, account: str, region: str) -> dict[str, str]:
        args = (occ.rule, occ.scheduled_time, occ.action, account, region)
        return {**runlog.run_key(*args), **runlog.run_index(*args)}

    def _expires(self, now: datetime) -> int:
        return runlog.expires_at(now, self._retention_days)


def _identity(occ: Occurrence, account: str, region: str) -> dict[str, str]:
    return {
        "kind": runlog.KIND_RUN,
        "rule": occ.rule,
        "action": occ.action,
        "account": account,
        "region": region,
        "scheduled_time": occ.scheduled_time,
        "schedule_arn": occ.schedule_arn,
        "execution_id": occ.execution_id,
    }


def _claimed_by_another_schedule(occ: Occurrence, previous: Mapping[str, Any]) -> bool:
    """The run key names rule, time, action, account and region, not the schedule group: two
    deployments sharing a table (and a rule name) would meet here. Never take theirs over."""
    return str(previous.get("schedule_arn") or occ.schedule_arn) != occ.schedule_arn


def _duplicate_detail(previous: Mapping[str, Any]) -> str:
    status = previous.get("status", "unknown")
    holder = str(previous.get("execution_id", "?"))[:8]  # the full id is in original_execution_id
    if status == runlog.RUNNING:
        return f"repeat delivery: execution {holder} is processing this occurrence"
    return f"repeat delivery: execution {holder} already finished this occurrence ({status})"


def _code(exc: ClientError) -> str:
    return awserror.error_code(exc) or ""


def _describe(exc: ClientError) -> str:
    code, message = awserror.error_code(exc), awserror.error_message(exc)
    return f"{exc.operation_name} on the log table failed: {code}: {message}"
