"""The apply lock: a conditional write in the log table, with owner, lease and expiry."""

from __future__ import annotations

import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from recon_support import LOG_TABLE, Fault, inject, lose_a_reply

from reconciler import runlog
from reconciler.errors import FatalError
from reconciler.lock import ApplyLock, Holder, LockTimeout, parse_duration, unfinished_apply

TABLE = LOG_TABLE
T0 = 1_795_000_000  # 2026-11-18T11:06:40Z


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lock(ddb: Any, owner: str, time_: Clock, **kw: Any) -> ApplyLock:
    """A lock whose sleeps move `time_` on; `time_` is its wall and monotonic clock unless a
    test gives another wall clock."""
    kw.setdefault("timeout_s", 0)
    kw.setdefault("sleep", lambda s: setattr(time_, "now", time_.now + s))
    kw.setdefault("monotonic", time_)
    kw.setdefault("clock", time_)
    return ApplyLock(ddb, TABLE, owner, **kw)


def stored(ddb: Any) -> dict[str, Any] | None:
    key = {"pk": {"S": runlog.LOCK_PK}, "sk": {"S": runlog.LOCK_SK}}
    item = ddb.get_item(TableName=TABLE, Key=key).get("Item")
    return runlog.from_item(item) if item else None


def test_acquire_writes_the_owner_and_lease_and_release_removes_it(ddb: Any) -> None:
    clock = Clock()
    first = lock(ddb, "alice@laptop:1/aa", clock)
    assert first.try_acquire() is None
    assert stored(ddb) == {
        "pk": "LOCK#apply",
        "sk": "LOCK",
        "owner": "alice@laptop:1/aa",
        "acquired_at": "2026-11-18T11:06:40Z",
        "lease_expires_at": T0 + 60,
        "lease_s": 60,
        "version": first.version,
    }
    assert len(first.version) == 32
    first.release()
    assert stored(ddb) is None


def test_a_second_apply_fails_at_once_with_timeout_zero_naming_the_holder(ddb: Any) -> None:
    clock = Clock()
    lock(ddb, "alice@laptop:1/aa", clock).acquire()
    with pytest.raises(LockTimeout) as caught:
        lock(ddb, "bob@ci:2/bb", clock).acquire()
    assert str(caught.value) == (
        "another apply holds the lock: alice@laptop:1/aa, since 2026-11-18T11:06:40Z; its lease "
        "runs until 2026-11-18T11:07:40Z. Wait for it to finish and run again, or give a longer "
        "--lock-timeout. If that apply was killed, an apply that waits longer than its lease "
        "(60s) without seeing it renewed takes the lock over."
    )


def test_a_second_apply_waits_until_the_first_releases(ddb: Any) -> None:
    clock = Clock()
    first = lock(ddb, "alice", clock, lease_s=600)
    first.acquire()
    waits: list[Holder] = []
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds
        if len(sleeps) == 3:
            first.release()

    second = lock(ddb, "bob", clock, timeout_s=300, sleep=sleep, on_wait=waits.append)
    second.acquire()
    assert [h.owner for h in waits] == ["alice"]  # told once, not on every poll
    assert sleeps == [0.5, 1.0, 2.0]  # backoff
    assert stored(ddb)["owner"] == "bob"  # type: ignore[index]


def test_waiting_gives_up_at_the_timeout(ddb: Any) -> None:
    clock = Clock()
    lock(ddb, "alice", clock, lease_s=3600).acquire()
    second = lock(ddb, "bob", clock, timeout_s=30)
    with pytest.raises(LockTimeout, match="another apply holds the lock: alice"):
        second.acquire()
    assert clock.now == T0 + 30


def test_a_crashed_holders_lock_is_taken_over_after_a_lease_unrenewed(ddb: Any) -> None:
    """Changed on purpose (item 13): an expiry written by another machine's clock is never
    trusted; the lock passes to a waiter that has watched it go unrenewed for a lease."""
    clock = Clock()
    crashed = lock(ddb, "crashed", clock)
    crashed.acquire()  # and never renews nor releases
    clock.now += 3600  # long past the lease it wrote, yet not watched by anyone
    with pytest.raises(LockTimeout):
        lock(ddb, "impatient", clock, timeout_s=59).acquire()
    taken: list[Holder] = []
    watching_from = clock.now
    lock(ddb, "next", clock, timeout_s=300, on_takeover=taken.append).acquire()
    assert 60 <= clock.now - watching_from <= 65  # one lease, plus at most one poll
    assert [h.owner for h in taken] == ["crashed"]
    assert stored(ddb)["owner"] == "next"  # type: ignore[index]
    assert crashed.renew() is False  # the old holder learns it lost the lock
    assert crashed.lost
    crashed.release()  # must not remove the new holder's lock
    assert stored(ddb)["owner"] == "next"  # type: ignore[index]


def test_a_lease_that_runs_out_unrenewed_counts_as_lost(ddb: Any) -> None:
    """Renewals failing (say, the network) for a whole lease: another apply may take over."""
    clock = Clock()
    holder = lock(ddb, "alice", clock)
    holder.acquire()

    def lost_at(now: float) -> bool:
        clock.now = now
        return holder.lost

    assert not lost_at(T0 + 59)
    assert lost_at(T0 + 60)  # from now on another apply may take it: stop starting changes
    assert holder.renew() is True  # nobody did, and a renewal wins it back
    assert not lost_at(T0 + 60)


def test_renew_extends_the_lease(ddb: Any) -> None:
    clock = Clock()
    holder = lock(ddb, "alice", clock)
    holder.acquire()
    clock.now += 50
    assert holder.renew() is True
    assert stored(ddb)["lease_expires_at"] == T0 + 50 + 60  # type: ignore[index]
    clock.now += 40  # past the first lease, within the renewed one
    with pytest.raises(LockTimeout):
        lock(ddb, "bob", clock).acquire()


def test_the_context_manager_renews_in_the_background_and_releases(ddb: Any) -> None:
    with ApplyLock(ddb, TABLE, "alice", timeout_s=0, lease_s=1) as held:
        first = stored(ddb)["lease_expires_at"]  # type: ignore[index]
        deadline = time.time() + 5
        while stored(ddb)["lease_expires_at"] == first and time.time() < deadline:  # type: ignore[index]
            time.sleep(0.05)
        assert stored(ddb)["lease_expires_at"] > first  # type: ignore[index]
        assert not held.lost
    assert stored(ddb) is None


def test_the_lock_is_released_when_the_apply_fails(ddb: Any) -> None:
    with pytest.raises(RuntimeError), ApplyLock(ddb, TABLE, "alice", timeout_s=0):
        raise RuntimeError("apply failed")
    assert stored(ddb) is None


def test_a_failed_release_after_a_good_apply_goes_to_on_release_error(ddb: Any) -> None:
    fault = Fault("AccessDeniedException", "no DeleteItem for you", status=400, times=2)
    inject(ddb, "DeleteItem", fault)
    seen: list[Exception] = []
    with ApplyLock(ddb, TABLE, "alice", timeout_s=0, on_release_error=seen.append):
        pass
    assert [type(e).__name__ for e in seen] == ["ClientError"]
    # Without a handler it is raised, as before (bob takes over once alice's lock has gone
    # unrenewed for a lease, on bob's clock).
    later = Clock(time.time())
    with (
        pytest.raises(ClientError, match="AccessDeniedException"),
        lock(ddb, "bob", later, timeout_s=120),
    ):
        pass


def test_other_errors_are_not_mistaken_for_contention(ddb: Any) -> None:
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        ApplyLock(ddb, "no-such-table", "alice", timeout_s=0).acquire()


def test_renewals_change_the_version_and_keep_the_owner(ddb: Any) -> None:
    clock = Clock()
    holder = lock(ddb, "alice", clock)
    holder.acquire()
    versions = [stored(ddb)["version"]]  # type: ignore[index]
    for _ in range(2):
        clock.now += 20
        assert holder.renew() is True
        versions.append(stored(ddb)["version"])  # type: ignore[index]
    assert len(set(versions)) == 3
    assert versions[-1] == holder.version
    assert stored(ddb)["owner"] == "alice"  # type: ignore[index]


def test_a_waiter_whose_clock_is_an_hour_ahead_never_takes_a_live_lock(ddb: Any) -> None:
    """Item 13: only a lock seen unchanged for a lease, on the waiter's own clock, passes on."""
    elapsed = Clock(0)  # one monotonic time for everybody; wall clocks differ
    holder = lock(ddb, "alice", elapsed, clock=lambda: T0 + elapsed.now)
    holder.acquire()
    renewals: list[float] = []

    def time_passes_and_alice_renews(seconds: float) -> None:
        before = elapsed.now
        elapsed.now += seconds
        if elapsed.now // 20 > before // 20:  # alice's renewal thread, every lease/3
            assert holder.renew() is True
            renewals.append(elapsed.now)

    ahead = lambda: T0 + 3600 + elapsed.now  # noqa: E731
    waiter = lock(
        ddb, "bob", elapsed, clock=ahead, timeout_s=600, sleep=time_passes_and_alice_renews
    )
    with pytest.raises(LockTimeout, match="another apply holds the lock: alice"):
        waiter.acquire()
    assert len(renewals) >= 29
    assert stored(ddb)["owner"] == "alice"  # type: ignore[index]
    assert not holder.lost

    # alice dies (no more renewals): bob's clock being ahead changes nothing either way
    died = elapsed.now
    taken: list[tuple[str, bool]] = []
    heir = lock(
        ddb,
        "bob",
        elapsed,
        clock=ahead,
        timeout_s=600,
        on_takeover=lambda h: taken.append((h.owner, holder.lost)),
    )
    heir.acquire()
    assert 60 <= elapsed.now - died <= 65
    # when bob took over, alice (were she only slow) had already counted her lock as lost
    assert taken == [("alice", True)]
    assert stored(ddb)["owner"] == "bob"  # type: ignore[index]
    assert holder.renew() is False


def test_a_lock_write_retried_after_its_reply_was_lost_is_ours(ddb: Any) -> None:
    lost = lose_a_reply(ddb, "PutItem")
    clock = Clock()
    alice = lock(ddb, "alice", clock)
    alice.acquire()  # the retry fails its condition on alice's own item: that is no rival
    assert lost == [1]
    assert stored(ddb)["version"] == alice.version  # type: ignore[index]
    assert not alice.lost
    assert alice.renew() is True
    lose_a_reply(ddb, "DeleteItem")
    alice.release()  # the retried delete finds nothing: released, not taken over
    assert stored(ddb) is None
    assert not alice.lost


def test_a_takeover_retried_after_its_reply_was_lost_is_ours(ddb: Any) -> None:
    clock = Clock()
    lock(ddb, "crashed", clock).acquire()
    lost = lose_a_reply(
        ddb, "PutItem", nth=2
    )  # bob's first put fails; his takeover's reply is lost
    taken: list[Holder] = []
    bob = lock(ddb, "bob", clock, timeout_s=300, on_takeover=taken.append)
    bob.acquire()
    assert lost == [2]
    assert [h.owner for h in taken] == ["crashed"]
    assert stored(ddb)["version"] == bob.version  # type: ignore[index]


def test_a_lock_released_just_before_the_takeover_is_simply_taken(ddb: Any) -> None:
    clock = Clock()
    crashed = lock(ddb, "crashed", clock)
    crashed.acquire()

    def released_first(params: dict[str, Any], **_: Any) -> None:
        if "#version" in params.get("ConditionExpression", ""):  # the takeover's write
            crashed.release()

    ddb.meta.events.register("provide-client-params.dynamodb.PutItem", released_first)
    taken: list[Holder] = []
    bob = lock(ddb, "bob", clock, timeout_s=300, on_takeover=taken.append)
    bob.acquire()
    assert clock.now == T0 + 62.5  # at the poll that would have taken over: no extra wait
    assert stored(ddb)["owner"] == "bob"  # type: ignore[index]
    assert taken == []  # released, not abandoned: nothing to warn about


def test_a_lock_written_before_versions_is_taken_over_the_same_way(ddb: Any) -> None:
    ddb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": runlog.LOCK_PK},
            "sk": {"S": runlog.LOCK_SK},
            "owner": {"S": "old@host:1/aa"},
            "acquired_at": {"S": "2026-11-18T11:06:40Z"},
            "lease_expires_at": {"N": str(T0 + 60)},
        },
    )
    clock = Clock()
    with pytest.raises(LockTimeout):
        lock(ddb, "bob", clock, timeout_s=59).acquire()
    lock(ddb, "bob", clock, timeout_s=300).acquire()
    assert stored(ddb)["owner"] == "bob"  # type: ignore[index]


def test_plan_is_told_of_a_lock_left_long_past_its_lease(ddb: Any) -> None:
    clock = Clock()
    assert unfinished_apply(ddb, TABLE, now=T0) is None  # no lock
    lock(ddb, "alice@ci:7/ab", clock).acquire()  # and then killed
    assert unfinished_apply(ddb, TABLE, now=T0 + 119) is None  # perhaps only slow
    assert unfinished_apply(ddb, TABLE, now=T0 + 121) == (
        "the previous apply (by alice@ci:7/ab, started 2026-11-18T11:06:40Z) did not finish: "
        "its lock was never released and its lease ran out at 2026-11-18T11:07:40Z; the next "
        "apply takes the lock over after watching it for 60s, and converges"
    )
    assert unfinished_apply(ddb, "no-such-table", now=T0 + 121) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("45", 45), ("30s", 30), ("5m", 300), ("1h", 3600), (" 2m ", 120), ("1d", 86400)],
)
def test_lock_timeouts(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1", "1.5m", "5 minutes", "m"])
def test_bad_lock_timeouts(text: str) -> None:
    with pytest.raises(FatalError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"--lock-timeout {text!r} is not a duration: use e.g. 0, 30s, 5m or 1h"
    )
