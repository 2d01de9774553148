"""Claims: one attempt per (occurrence, account, region) acts; races resolve to one winner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from recon_support import LOG_TABLE

from reconciler import runlog
from reconciler.executor.claims import DUPLICATE, NEW, RETRY, Claims
from reconciler.executor.event import Occurrence

TABLE = LOG_TABLE
NOW = datetime(2026, 11, 27, 19, 0, 5, tzinfo=UTC)


def _occ(execution_id: str) -> Occurrence:
    return Occurrence(
        rule="dev",
        action="stop",
        hibernate=False,
        accounts=("111111111111",),
        regions=("eu-west-1",),
        targets=(("tag:Environment", ("dev",)),),
        max_instances=10,
        role_name="ouroboros-target",
        schedule_arn="arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop",
        scheduled_time="2026-11-27T19:00:00Z",
        execution_id=execution_id,
    )


def _claims(client: Any, lease_s: int = 300, now: datetime = NOW) -> Claims:
    return Claims(client, TABLE, 90, int(now.timestamp()) + lease_s, clock=lambda: now)


def _item(client: Any) -> dict[str, Any]:
    key = runlog.run_key("dev", "2026-11-27T19:00:00Z", "stop", "111111111111", "eu-west-1")
    return runlog.from_item(client.get_item(TableName=TABLE, Key=runlog.to_item(key))["Item"])


def _finish(claims: Claims, occ: Occurrence, claim: Any, status: str, **extra: Any) -> bool:
    record = {"status": status, "matched": 1, "acted": [], "skipped": [], "errors": [], **extra}
    return claims.finish(occ, "111111111111", "eu-west-1", claim, record)


def test_first_delivery_claims_and_finishes(ddb: Any) -> None:
    claims = _claims(ddb)
    claim = claims.claim(_occ("e1"), "111111111111", "eu-west-1")
    assert (claim.state, claim.attempts) == (NEW, 1)
    item = _item(ddb)
    assert (item["status"], item["lease_until"], item["execution_id"]) == (
        "running",
        int(NOW.timestamp()) + 300,
        "e1",
    )
    assert _finish(claims, _occ("e1"), claim, "ok")
    assert _item(ddb)["status"] == "ok"


@pytest.mark.parametrize(
    ("previous", "expected"),
    [("ok", DUPLICATE), ("refused", DUPLICATE), ("failed", RETRY), ("partial", RETRY)],
)
def test_a_repeat_after_a_finished_attempt(ddb: Any, previous: str, expected: str) -> None:
    claims = _claims(ddb)
    first = claims.claim(_occ("e1"), "111111111111", "eu-west-1")
    _finish(claims, _occ("e1"), first, previous)
    second = claims.claim(_occ("e2"), "111111111111", "eu-west-1")
    assert second.state == expected
    assert second.previous is not None
    assert second.previous["status"] == previous
    if expected == RETRY:
        assert second.attempts == 2
        assert (_item(ddb)["status"], _item(ddb)["execution_id"]) == ("running", "e2")


def test_two_repeats_racing_for_a_failed_occurrence_have_one_winner(ddb: Any) -> None:
    claims = _claims(ddb)
    first = claims.claim(_occ("e1"), "111111111111", "eu-west-1")
    _finish(claims, _occ("e1"), first, "failed")
    loser_client = boto3.client("dynamodb", region_name="eu-west-1")
    winner: list[Any] = []

    def winner_goes_first(**_: Any) -> None:
        # The loser has read "failed" and is about to take over: the winner gets there first.
        if not winner:
            winner.append(_claims(ddb).claim(_occ("e-winner"), "111111111111", "eu-west-1"))

    loser_client.meta.events.register("before-call.dynamodb.UpdateItem", winner_goes_first)
    lost = _claims(loser_client).claim(_occ("e-loser"), "111111111111", "eu-west-1")
    assert winner[0].state == RETRY
    assert lost.state == DUPLICATE
    assert _item(ddb)["execution_id"] == "e-winner"


def test_a_live_claim_is_left_alone_and_a_dead_one_taken_over(ddb: Any) -> None:
    first_claims = _claims(ddb, lease_s=60)
    first = first_claims.claim(_occ("e1"), "111111111111", "eu-west-1")

    during = _claims(ddb, now=NOW + timedelta(seconds=30)).claim(
        _occ("e2"), "111111111111", "eu-west-1"
    )
    assert during.state == DUPLICATE

    after = _claims(ddb, now=NOW + timedelta(seconds=61)).claim(
        _occ("e3"), "111111111111", "eu-west-1"
    )
    assert (after.state, after.attempts) == (RETRY, 2)
    # The first attempt, back from the dead, cannot overwrite the new holder's result.
    assert not _finish(first_claims, _occ("e1"), first, "ok")
    assert _item(ddb)["execution_id"] == "e3"


def test_duplicate_rows_are_separate_and_keep_the_run_untouched(ddb: Any) -> None:
    claims = _claims(ddb)
    first = claims.claim(_occ("e1"), "111111111111", "eu-west-1")
    _finish(claims, _occ("e1"), first, "ok")
    for execution_id in ("e2", "e3"):
        claim = claims.claim(_occ(execution_id), "111111111111", "eu-west-1")
        claims.record_duplicate(_occ(execution_id), "111111111111", "eu-west-1", claim, 3)
    since, until = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    entries = runlog.query_rule(ddb, TABLE, "dev", since, until)
    assert (entries[0]["status"], entries[0]["execution_id"]) == ("ok", "e1")
    assert sorted((e["status"], e["execution_id"]) for e in entries[1:]) == [
        ("duplicate", "e2"),
        ("duplicate", "e3"),
    ]
    assert len(runlog.query_range(ddb, TABLE, since, until)) == 3


def test_a_result_too_large_for_one_item_is_cut_to_fit(ddb: Any) -> None:
    """1,000 errors with long messages beside 1,000 skips: ~470 KB, over DynamoDB's 400 KB."""
    from reconciler.executor import run

    occ = _occ("e1")
    claims = _claims(ddb)
    claim = claims.claim(occ, "111111111111", "eu-west-1")
    work = run._Work(matched=2000)
    work.skipped = [
        {"id": f"i-{k:017x}", "reason": "in-target-state", "detail": "already stopped"}
        for k in range(1000)
    ]
    work.errors = [
        {"id": f"i-{k + 5000:017x}", "code": "UnauthorizedOperation", "message": "m" * 300}
        for k in range(1000)
    ]
    record = run._finalise(occ, work, claim, 5)

    assert claims.finish(occ, "111111111111", "eu-west-1", claim, record)

    item = _item(ddb)
    assert (item["status"], item["error_count"], item["skipped_count"]) == ("failed", 1000, 1000)
    assert 0 < len(item["errors"]) < 1000
    assert item["errors"][0] == work.errors[0]  # the first entries are the ones kept


def test_a_failed_read_after_a_conflict_is_a_log_table_error(ddb: Any) -> None:
    """Without the old item in the conflict (older APIs), the claim reads it; that read failing
    is a log-table failure like any other (Lambda retries), not a stray ClientError."""
    from botocore.stub import Stubber

    from reconciler.executor.claims import LogTableError

    claims = _claims(ddb)
    with Stubber(ddb) as stubber:
        stubber.add_client_error("put_item", "ConditionalCheckFailedException")
        stubber.add_client_error("get_item", "ProvisionedThroughputExceededException", "slow down")
        with pytest.raises(
            LogTableError,
            match="GetItem on the log table failed: ProvisionedThroughputExceededException",
        ):
            claims.claim(_occ("e2"), "111111111111", "eu-west-1")
