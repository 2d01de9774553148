"""The apply lock: one apply at a time, serialised through the log table.

A conditional PutItem on the reserved key (runlog.LOCK_PK / LOCK_SK) takes the lock when no
one holds it or the holder's lease has run out, so a crashed apply blocks the next one only
until its lease expires. The holder renews its lease from a background thread while it works,
and deletes the item on release, on the condition that it still owns it. A second apply waits,
with backoff, up to --lock-timeout, then fails naming the holder and when its lease ends.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from botocore.exceptions import ClientError

from reconciler import runlog
from reconciler.aws import error_code
from reconciler.errors import FatalError

DEFAULT_LEASE_S = 60
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smh]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600}
_CONDITION_FAILED = "ConditionalCheckFailedException"
_KEY = {runlog.PK: {"S": runlog.LOCK_PK}, runlog.SK: {"S": runlog.LOCK_SK}}


class LockTimeout(FatalError):
    """Another apply held the lock for longer than --lock-timeout."""


def parse_duration(text: str) -> float:
    """`0`, `45` (seconds), `30s`, `5m`, `1h` -> seconds."""
    match = _DURATION_RE.match(text)
    if match is None:
        raise FatalError(f"--lock-timeout {text!r} is not a duration: use e.g. 0, 30s, 5m or 1h")
    return float(int(match[1]) * _UNIT_S[match[2]])


def make_owner(actor: str) -> str:
    """Who holds the lock, readable by the one waiting for it, and unique per process."""
    return f"{actor}@{socket.gethostname()}:{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _iso(epoch: float) -> str:
    return runlog.iso_z(datetime.fromtimestamp(epoch, UTC))


@dataclass(frozen=True)
class Holder:
    owner: str
    acquired_at: str
    lease_expires_at: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Holder:
        values = runlog.from_item(item)
        return cls(
            owner=str(values.get("owner", "unknown")),
            acquired_at=str(values.get("acquired_at", "unknown")),
            lease_expires_at=int(values.get("lease_expires_at", 0)),
        )

    def describe(self) -> str:
        return (
            f"{self.owner}, since {self.acquired_at}; its lease runs until "
            f"{_iso(self.lease_expires_at)}"
        )


class ApplyLock:
    """Use as a context manager: acquires (waiting up to the timeout), renews, releases."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        owner: str,
        *,
        timeout_s: float,
        lease_s: int = DEFAULT_LEASE_S,
        on_wait: Callable[[Holder], None] | None = None,
        on_release_error: Callable[[Exception], None] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.owner = owner
        self.timeout_s = timeout_s
        self.lease_s = lease_s
        self.on_wait = on_wait
        self.on_release_error = on_release_error
        self.clock = clock
        self.sleep = sleep
        self._taken_over = False
        self._lease_until = 0  # epoch seconds, as stored: when others may take the lock
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """Another apply took the lock over, or could have: our lease ran out unrenewed."""
        return self._taken_over or (self._lease_until > 0 and self.clock() >= self._lease_until)

    def try_acquire(self) -> Holder | None:
        """Take the lock if it is free or its lease ran out; else return who holds it."""
        now = self.clock()
        until = int(now + self.lease_s)
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    **_KEY,
                    "owner": {"S": self.owner},
                    "acquired_at": {"S": _iso(now)},
                    "lease_expires_at": {"N": str(until)},
                },
                ConditionExpression="attribute_not_exists(pk) OR lease_expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            return Holder.from_item(exc.response.get("Item") or {})
        self._lease_until = until
        return None

    def acquire(self) -> None:
        deadline = self.clock() + self.timeout_s
        delay = 0.5
        waited = False
        while True:
            holder = self.try_acquire()
            if holder is None:
                return
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise LockTimeout(
                    f"another apply holds the lock: {holder.describe()}. Wait for it to finish "
                    f"and run again, or give a longer --lock-timeout. If that apply crashed, its "
                    f"lease expires by itself at {_iso(holder.lease_expires_at)}."
                )
            if not waited and self.on_wait is not None:
                self.on_wait(holder)
            waited = True
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)

    def renew(self) -> bool:
        """Extend the lease; False (and `lost`) when someone else owns the lock now."""
        until = int(self.clock() + self.lease_s)
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=_KEY,
                UpdateExpression="SET lease_expires_at = :until",
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":until": {"N": str(until)},
                    ":me": {"S": self.owner},
                },
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            self._taken_over = True
            return False
        self._lease_until = until
        return True

    def release(self) -> None:
        try:
            self.dynamodb.delete_item(
                TableName=self.table,
                Key=_KEY,
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except ClientError as exc:
            if error_code(exc) != _CONDITION_FAILED:
                raise
            self._taken_over = True  # our lease ran out and another apply took over

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
