"""The apply lock: one apply at a time, serialised through the log table.

The lock is an item on the reserved key (runlog.LOCK_PK / LOCK_SK): its owner (unique per
process), when it was taken, its lease (a duration) and a version that every write of the
holder changes. A conditional PutItem takes it when no one holds it. The holder renews the
lease from a background thread while it works (a new version each time), and deletes the
item on release, on the condition that it still owns it.

Takeover never trusts a clock another machine wrote: a waiter takes the lock over only after
it has seen the SAME version for a whole lease, measured on its own monotonic clock, and only
on the condition that the version is still that one. The holder counts its lock as lost a
lease after the start of its last successful renewal (its own monotonic clock too), so by the
time a waiter may take over, the holder has stopped starting changes, however far apart the
machines' wall clocks are. A crashed (killed) apply therefore blocks the next one for one
lease, and the one that takes over is told (on_takeover): that apply did not finish.

A write whose reply was lost is retried by botocore and then fails its own condition: the
item read back (ALL_OLD) names us as the owner, so the lease is ours, not someone else's.
A second apply waits, with backoff, up to --lock-timeout, then fails naming the holder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from reconciler import runlog
from reconciler.awserror import error_code
from reconciler.checks import escape_controls
from reconciler.durations import duration_seconds
from reconciler.errors import FatalError

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_LEASE_S = 60
_CONDITION_FAILED = "ConditionalCheckFailedException"
_KEY = {runlog.PK: {"S": runlog.LOCK_PK}, runlog.SK: {"S": runlog.LOCK_SK}}
_NAMES = {"#owner": "owner", "#version": "version"}
_FREE = "attribute_not_exists(pk)"


class LockTimeout(FatalError):
    """Another apply held the lock for longer than --lock-timeout."""


def parse_duration(text: str) -> float:
    """`0`, `45` (seconds), `30s`, `5m`, `1h`, `1d` -> seconds."""
    seconds = duration_seconds(text)
    if seconds is None:
        raise FatalError(f"--lock-timeout {text!r} is not a duration: use e.g. 0, 30s, 5m or 1h")
    return float(seconds)


def make_owner(actor: str) -> str:
    """Who holds the lock, readable by the one waiting for it, and unique per process."""
    return f"{actor}@{socket.gethostname()}:{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _iso(epoch: float) -> str:
    return runlog.iso_z(datetime.fromtimestamp(epoch, UTC))


@dataclass(frozen=True)
class Holder:
    owner: str
    acquired_at: str
    lease_expires_at: int  # by the holder's wall clock: for people to read, never compared
    version: str = ""  # "" for a lock written before versions existed
    lease_s: int = DEFAULT_LEASE_S

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Holder:
        values = runlog.from_item(item)
        return cls(
            owner=str(values.get("owner", "")),
            acquired_at=str(values.get("acquired_at", "unknown")),
            lease_expires_at=int(values.get("lease_expires_at", 0)),
            version=str(values.get("version", "")),
            lease_s=max(1, int(values.get("lease_s", DEFAULT_LEASE_S))),
        )

    def describe(self) -> str:
        """For messages: the item is anyone's data who may write the table (escaped)."""
        return escape_controls(
            f"{self.owner}, since {self.acquired_at}; its lease runs until "
            f"{_iso(self.lease_expires_at)}"
        )

    def unchanged(self) -> tuple[str, str, int]:
        """What a renewal changes (the lease's end, for a lock without a version)."""
        return (self.owner, self.version, self.lease_expires_at)

    def takeover_condition(self) -> tuple[str, dict[str, Any]]:
        """Write only if the lock is still exactly what was seen unrenewed for a lease."""
        version = "#version = :seen" if self.version else "attribute_not_exists(#version)"
        values = {
            ":owner": {"S": self.owner},
            ":until": {"N": str(self.lease_expires_at)},
        }
        if self.version:
            values[":seen"] = {"S": self.version}
        condition = f"#owner = :owner AND lease_expires_at = :until AND {version}"
        return condition, values


def unfinished_apply(
    dynamodb: DynamoDBClient, table: str, *, now: float | None = None
) -> str | None:
    """For plan, which only reads: a lock left long past its lease means an apply died.

    Judged by this machine's clock, with a whole lease of margin: a warning, never a decision
    (apply decides by watching the lock, see ApplyLock). None when there is no such lock, or
    no table, or the lock cannot be read.
    """
    try:
        items = dynamodb.query(
            TableName=table,
            KeyConditionExpression=f"{runlog.PK} = :pk",
            ExpressionAttributeValues={":pk": {"S": runlog.LOCK_PK}},
        )["Items"]
    except ClientError:
        return None
    if not items:
        return None
    holder = Holder.from_item(items[0])
    if holder.lease_expires_at + holder.lease_s >= (time.time() if now is None else now):
        return None
    return escape_controls(
        f"the previous apply (by {holder.owner}, started {holder.acquired_at}) did not finish: "
        f"its lock was never released and its lease ran out at "
        f"{_iso(holder.lease_expires_at)}; the next apply takes the lock over after watching it "
        f"for {holder.lease_s}s, and converges"
    )


class ApplyLock:
    """Use as a context manager: acquires (waiting up to the timeout), renews, releases."""

    def __init__(
        self,
        dynamodb: DynamoDBClient,
        table: str,
        owner: str,
        *,
        timeout_s: float,
        lease_s: int = DEFAULT_LEASE_S,
        on_wait: Callable[[Holder], None] | None = None,
        on_takeover: Callable[[Holder], None] | None = None,
        on_release_error: Callable[[Exception], None] | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.owner = owner
        self.timeout_s = timeout_s
        self.lease_s = lease_s
        self.on_wait = on_wait
        self.on_takeover = on_takeover
        self.on_release_error = on_release_error
        self.clock = clock  # wall clock: only for what people read
        self.monotonic = monotonic  # every duration this process measures
        self.sleep = sleep
        self.version = ""
        self._taken_over = False
        self._lease_deadline = 0.0  # monotonic: from then on others may take the lock
        self._seen: tuple[tuple[str, str, int], float] | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """Another apply took the lock over, or could have: our lease ran out unrenewed."""
        return self._taken_over or (
            self._lease_deadline > 0 and self.monotonic() >= self._lease_deadline
        )

    def _held(self, version: str, since: float) -> None:
        self.version = version
        self._lease_deadline = since + self.lease_s

    def _lease_values(self, version: str) -> dict[str, Any]:
        until = int(self.clock() + self.lease_s)
        return {
            "lease_expires_at": {"N": str(until)},
            "lease_s": {"N": str(self.lease_s)},
            "version": {"S": version},
        }

    def _put(self, condition: str, values: dict[str, Any]) -> Holder | None:
        """Write our lock on `condition`: None when the lock is ours, else what is there.

        The lease is counted from before the request: AWS may apply it any time after.
        """
        since = self.monotonic()
        version = uuid.uuid4().hex
        request: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                **_KEY,
                "owner": {"S": self.owner},
                "acquired_at": {"S": _iso(self.clock())},
                **self._lease_values(version),
            },
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if condition != _FREE:
            request["ExpressionAttributeNames"] = _NAMES
            request["ExpressionAttributeValues"] = values
        try:
            self.dynamodb.put_item(**request)
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            # The stubs' error response has no "Item" (ReturnValuesOnConditionCheckFailure).
            response: Mapping[str, Any] = exc.response
            there = Holder.from_item(response.get("Item") or {})
            if there.owner != self.owner:
                return there
            version = there.version  # our own write, retried after its reply was lost
        self._held(version, since)
        return None

    def _unrenewed_for_a_lease(self, holder: Holder) -> bool:
        """True once this process has seen the same version of the lock for a whole lease."""
        now = self.monotonic()
        if self._seen is None or self._seen[0] != holder.unchanged():
            self._seen = (holder.unchanged(), now)
            return False
        return now - self._seen[1] >= holder.lease_s

    def try_acquire(self) -> Holder | None:
        """Take the lock if it is free or its holder stopped renewing it; else who holds it."""
        holder = self._put(_FREE, {})
        if holder is None or not self._unrenewed_for_a_lease(holder):
            return holder
        taken = self._put(*holder.takeover_condition())
        if taken is None:
            if self.on_takeover is not None:
                self.on_takeover(holder)
            return None
        # Renewed at the last moment (someone holds it), or released meanwhile (try again).
        return taken if taken.owner else self._put(_FREE, {})

    def acquire(self) -> None:
        deadline = self.monotonic() + self.timeout_s
        delay = 0.5
        waited = False
        while True:
            holder = self.try_acquire()
            if holder is None:
                return
            remaining = deadline - self.monotonic()
            if remaining <= 0:
                raise LockTimeout(
                    f"another apply holds the lock: {holder.describe()}. Wait for it to finish "
                    f"and run again, or give a longer --lock-timeout. If that apply was killed, "
                    f"an apply that waits longer than its lease ({holder.lease_s}s) without "
                    "seeing it renewed takes the lock over."
                )
            if not waited and self.on_wait is not None:
                self.on_wait(holder)
            waited = True
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)

    def renew(self) -> bool:
        """Extend the lease under a new version; False (and `lost`) when someone else owns it.

        Conditional on the owner, not the version: a renewal retried after a lost reply
        still succeeds.
        """
        since = self.monotonic()
        version = uuid.uuid4().hex
        lease = self._lease_values(version)
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_KEY,
                UpdateExpression=(
                    "SET lease_expires_at = :until, lease_s = :lease, #version = :version"
                ),
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":until": lease["lease_expires_at"],
                    ":lease": lease["lease_s"],
                    ":version": lease["version"],
                    ":me": {"S": self.owner},
                },
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            self._taken_over = True
            return False
        self._held(version, since)
        return True

    def release(self) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=_KEY,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            # Gone already: our own delete, retried after its reply was lost. Anyone else's:
            # our lease ran out and another apply took over.
            self._taken_over = "Item" in exc.response

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            try:
                if not self.renew():
                    return
            except Exception:
                # A failed renewal is retried at the next tick; the lease outlives two misses.
                continue

    def __enter__(self) -> ApplyLock:
        self.acquire()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="ouroboros-lock-renewal", daemon=True
        )
        self._renewer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            self.release()
        except Exception as error:
            # The lease frees the lock anyway. An apply's own error is the one to report, and
            # an apply that went well should not fail here: tell on_release_error, if given.
            if exc is not None:
                return
            if self.on_release_error is None:
                raise
            self.on_release_error(error)
