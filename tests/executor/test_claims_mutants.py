"""Claims: the repeat's own row and the read after a conflict, with a fake log table (issue 16).

A fake DynamoDB client (it records each call and answers as told) keeps these fast enough for
`make mutation`, which runs them once per mutant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from reconciler import runlog
from reconciler.executor.claims import CLAIMED_ELSEWHERE, DUPLICATE, Claims, LogTableError
from reconciler.executor.event import Occurrence

TABLE = "runs"
NOW = datetime(2026, 11, 27, 19, 0, 5, tzinfo=UTC)
ACCOUNT, REGION = "111111111111", "eu-west-1"
ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/ouroboros/dev-stop"
OTHER_ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/other/dev-stop"
KEY = runlog.run_key("dev", "2026-11-27T19:00:00Z", "stop", ACCOUNT, REGION)


def _occ(execution_id: str = "e2", schedule_arn: str = ARN) -> Occurrence:
    return Occurrence(
        rule="dev",
        action="stop",
        hibernate=False,
        accounts=(ACCOUNT,),
        regions=(REGION,),
        targets=(("tag:Environment", ("dev",)),),
        max_instances=10,
        role_name="ouroboros-target",
        schedule_arn=schedule_arn,
        scheduled_time="2026-11-27T19:00:00Z",
        execution_id=execution_id,
    )


def _conflict(item: dict[str, Any] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": "ConditionalCheckFailedException"}}
    if item is not None:
        response["Item"] = item
    return ClientError(response, "PutItem")


class FakeTable:
    """put_item raises `put_error` once (then succeeds); get_item answers `get`."""

    def __init__(
        self, put_error: Exception | None = None, get: Any = None, update: Any = None
    ) -> None:
        self.put_error = put_error
        self.get = get
        self.update = update
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("put_item", kwargs))
        error, self.put_error = self.put_error, None
        if error is not None:
            raise error
        return {}

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("get_item", kwargs))
        if isinstance(self.get, Exception):
            raise self.get
        return dict(self.get)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("update_item", kwargs))
        if isinstance(self.update, Exception):
            raise self.update
        return {}


def _claims(client: Any) -> Claims:
    return Claims(client, TABLE, 90, int(NOW.timestamp()) + 300, clock=lambda: NOW)


def _previous(**over: Any) -> dict[str, Any]:
    values = {"status": "ok", "execution_id": "e1-0123456789", "attempts": 1, "schedule_arn": ARN}
    return runlog.to_item(values | over)


def test_the_claim_reads_the_run_consistently_when_the_conflict_did_not_return_it() -> None:
    table = FakeTable(_conflict(), get={"Item": _previous()})
    claim = _claims(table).claim(_occ(), ACCOUNT, REGION)
    assert (claim.state, claim.attempts) == (DUPLICATE, 1)
    assert claim.previous is not None
    assert claim.previous["execution_id"] == "e1-0123456789"
    assert table.calls[1] == (
        "get_item",
        {"TableName": TABLE, "Key": runlog.to_item(KEY), "ConsistentRead": True},
    )


def test_the_item_the_conflict_returned_is_used_without_a_read() -> None:
    table = FakeTable(_conflict(_previous(status="running", lease_until=2**40)))
    claim = _claims(table).claim(_occ(), ACCOUNT, REGION)
    assert claim.state == DUPLICATE
    assert [name for name, _ in table.calls] == ["put_item"]


def test_a_run_that_vanished_before_the_read_is_a_duplicate_of_nothing() -> None:
    claim = _claims(FakeTable(_conflict(), get={})).claim(_occ(), ACCOUNT, REGION)
    assert (claim.state, claim.previous) == (DUPLICATE, {})


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetItem"),
            "GetItem on the log table failed: AccessDenied: no",
        ),
        (ClientError({}, "GetItem"), "GetItem on the log table failed: None: "),
        (
            EndpointConnectionError(endpoint_url="https://dynamodb"),
            'Could not connect to the endpoint URL: "https://dynamodb"',
        ),
    ],
)
def test_a_failed_read_after_a_conflict_says_why(error: Exception, message: str) -> None:
    with pytest.raises(LogTableError) as caught:
        _claims(FakeTable(_conflict(), get=error)).claim(_occ(), ACCOUNT, REGION)
    assert str(caught.value) == message


def _duplicate(previous: dict[str, Any], occ: Occurrence) -> tuple[dict[str, Any], FakeTable]:
    table = FakeTable(_conflict(previous))
    claims = _claims(table)
    claim = claims.claim(occ, ACCOUNT, REGION)
    assert claim.state == DUPLICATE
    values = claims.record_duplicate(occ, ACCOUNT, REGION, claim, 7)
    return values, table


def test_a_repeat_writes_its_own_row_naming_the_run_it_repeats() -> None:
    values, table = _duplicate(_previous(), _occ())
    name, written = table.calls[-1]
    assert name == "put_item"
    assert runlog.from_item(written["Item"]) == values
    delivery = values[runlog.SK].split("#DUP#", 1)[1]
    when, _, nonce = delivery.partition("#")
    assert (when, len(nonce)) == ("2026-11-27T19:00:05Z", 8)
    key = runlog.duplicate_key("dev", "2026-11-27T19:00:00Z", "stop", ACCOUNT, REGION, delivery)
    assert {k: values[k] for k in key} == key
    assert {k: v for k, v in values.items() if k not in key} == {
        "kind": runlog.KIND_RUN,
        "rule": "dev",
        "action": "stop",
        "account": ACCOUNT,
        "region": REGION,
        "scheduled_time": "2026-11-27T19:00:00Z",
        "schedule_arn": ARN,
        "execution_id": "e2",
        "status": "duplicate",
        "duplicate_of": "ok",
        "original_execution_id": "e1-0123456789",
        "detail": "repeat delivery: execution e1-01234 already finished this occurrence (ok)",
        "matched": 0,
        "acted": [],
        "skipped": [],
        "errors": [],
        "error_count": 0,
        "attempts": 0,
        "duration_ms": 7,
        "started_at": "2026-11-27T19:00:05Z",
        runlog.TTL_ATTRIBUTE: runlog.expires_at(NOW, 90),
    }


def test_a_run_of_another_schedule_is_a_failure_naming_the_shared_table() -> None:
    values, _ = _duplicate(_previous(schedule_arn=OTHER_ARN), _occ())
    message = (
        f"schedule {OTHER_ARN} already ran rule dev (stop, 2026-11-27T19:00:00Z) here: two "
        f"deployments share log table {TABLE}; give each its own log_table in ouroboros.yaml"
    )
    assert values["status"] == "failed"
    assert values["errors"] == [{"id": "", "code": CLAIMED_ELSEWHERE, "message": message}]
    assert values["error_count"] == 1
    assert values["detail"] == message


def test_a_repeat_without_a_previous_item_still_gets_a_row() -> None:
    table = FakeTable(_conflict(), get={"Item": {}})
    claims = _claims(table)
    claim = claims.claim(_occ(), ACCOUNT, REGION)
    values = claims.record_duplicate(_occ(), ACCOUNT, REGION, claim, 1)
    assert (values["duplicate_of"], values["original_execution_id"]) == ("", "")
    assert values["detail"] == (
        "repeat delivery: execution ? already finished this occurrence (unknown)"
    )


# --- taking a claim over -------------------------------------------------------------------------

STARTED = "2026-11-27T19:00:05Z"


def _after(previous: dict[str, Any], occ: Occurrence | None = None, **table: Any) -> Any:
    fake = FakeTable(_conflict(previous), **table)
    return _claims(fake).claim(occ or _occ(), ACCOUNT, REGION), fake


def test_a_failed_run_is_taken_over_with_the_next_attempt_number() -> None:
    claim, fake = _after(_previous(status="failed", attempts=2))
    assert (claim.state, claim.attempts, claim.started_at) == ("retry", 3, STARTED)
    name, update = fake.calls[-1]
    assert name == "update_item"
    assert update["Key"] == runlog.to_item(KEY)
    assert runlog.from_item(update["ExpressionAttributeValues"]) == {
        ":running": "running",
        ":me": "e2",
        ":arn": ARN,
        ":lease": int(NOW.timestamp()) + 300,
        ":now": STARTED,
        ":next": 3,
        ":old": "failed",
        ":n": 2,
    }


def test_a_run_without_an_attempt_count_counts_as_one() -> None:
    retry = _previous(status="partial")
    del retry["attempts"]
    claim, fake = _after(retry)
    assert claim.attempts == 2
    assert runlog.from_item(fake.calls[-1][1]["ExpressionAttributeValues"])[":n"] == 1
    done = _previous()
    del done["attempts"]
    assert _after(done)[0].attempts == 1


def test_a_running_claim_is_taken_over_only_once_its_lease_has_passed() -> None:
    now = int(NOW.timestamp())
    live, _ = _after(_previous(status="running", lease_until=now))
    assert (live.state, live.attempts, live.started_at) == (DUPLICATE, 1, STARTED)
    dead, _ = _after(_previous(status="running", lease_until=now - 1))
    assert (dead.state, dead.attempts) == ("retry", 2)
    no_lease = _previous(status="running")
    assert _after(no_lease)[0].state == "retry"


def test_the_same_delivery_again_takes_its_own_running_claim_over() -> None:
    claim, _ = _after(_previous(status="running", lease_until=2**40, execution_id="e2"))
    assert claim.state == "retry"


def test_a_failed_run_without_a_schedule_arn_is_taken_over() -> None:
    previous = _previous(status="failed")
    del previous["schedule_arn"]
    assert _after(previous)[0].state == "retry"


def test_a_failed_run_of_another_schedule_is_not_taken_over() -> None:
    claim, _ = _after(_previous(status="failed", schedule_arn=OTHER_ARN))
    assert claim.state == DUPLICATE


def test_losing_the_race_to_take_over_steps_aside_as_a_duplicate_of_a_running_claim() -> None:
    lost = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "UpdateItem")
    claim, _ = _after(_previous(status="failed", attempts=2), update=lost)
    assert (claim.state, claim.attempts, claim.started_at) == (DUPLICATE, 2, STARTED)
    assert claim.previous["status"] == "running"
    assert claim.previous["execution_id"] == "e1-0123456789"


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UpdateItem"),
            "UpdateItem on the log table failed: AccessDenied: no",
        ),
        (
            EndpointConnectionError(endpoint_url="https://dynamodb"),
            'Could not connect to the endpoint URL: "https://dynamodb"',
        ),
    ],
)
def test_a_failed_take_over_is_a_log_table_error(error: Exception, message: str) -> None:
    with pytest.raises(LogTableError) as caught:
        _after(_previous(status="failed"), update=error)
    assert str(caught.value) == message


def test_a_put_that_fails_without_a_code_is_a_log_table_error() -> None:
    with pytest.raises(LogTableError) as caught:
        _claims(FakeTable(ClientError({}, "PutItem"))).claim(_occ(), ACCOUNT, REGION)
    assert str(caught.value) == "PutItem on the log table failed: None: "


def test_a_repeat_of_a_running_claim_says_who_is_processing_it() -> None:
    values, _ = _duplicate(_previous(status="running", lease_until=2**40), _occ())
    assert values["detail"] == ("repeat delivery: execution e1-01234 is processing this occurrence")


def test_a_repeat_whose_row_cannot_be_written_is_logged_and_returned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTable(_conflict(_previous()))
    claims = _claims(fake)
    claim = claims.claim(_occ(), ACCOUNT, REGION)
    fake.put_error = EndpointConnectionError(endpoint_url="https://dynamodb")
    with caplog.at_level("WARNING", logger="ouroboros.executor"):
        values = claims.record_duplicate(_occ(), ACCOUNT, REGION, claim, 1)
    assert values["status"] == "duplicate"
    assert caplog.messages == [
        f"{ACCOUNT}/{REGION}: could not record a repeated delivery: Could not connect to the "
        'endpoint URL: "https://dynamodb"'
    ]


# --- a first claim, and its result ---------------------------------------------------------------


def test_a_first_claim_writes_a_running_item_and_asks_for_the_old_one_on_conflict() -> None:
    fake = FakeTable()
    claims = Claims(fake, TABLE, 30, 12345, clock=lambda: NOW)
    claim = claims.claim(_occ(), ACCOUNT, "us-east-1")
    assert (claim.state, claim.attempts, claim.started_at) == ("new", 1, STARTED)
    [(name, put)] = fake.calls
    assert name == "put_item"
    assert put["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    item = runlog.from_item(put["Item"])
    assert (item["account"], item["region"], item["status"], item["attempts"]) == (
        ACCOUNT,
        "us-east-1",
        "running",
        1,
    )
    assert (item["started_at"], item["lease_until"]) == (STARTED, 12345)
    assert item[runlog.TTL_ATTRIBUTE] == runlog.expires_at(NOW, 30)


def test_a_first_claim_that_cannot_be_written_is_a_log_table_error() -> None:
    fake = FakeTable(EndpointConnectionError(endpoint_url="https://dynamodb"))
    with pytest.raises(LogTableError) as caught:
        _claims(fake).claim(_occ(), ACCOUNT, REGION)
    assert str(caught.value) == 'Could not connect to the endpoint URL: "https://dynamodb"'


def _finish(fake: FakeTable) -> bool:
    claims = Claims(fake, TABLE, 30, 12345, clock=lambda: NOW)
    claim = claims.claim(_occ(), ACCOUNT, "us-east-1")
    return claims.finish(_occ(), ACCOUNT, "us-east-1", claim, {"status": "ok", "matched": 0})


def test_the_result_is_written_over_the_claim_with_its_identity() -> None:
    fake = FakeTable()
    assert _finish(fake)
    name, put = fake.calls[-1]
    assert name == "put_item"
    item = runlog.from_item(put["Item"])
    assert (item["account"], item["region"], item["started_at"], item["status"]) == (
        ACCOUNT,
        "us-east-1",
        STARTED,
        "ok",
    )
    assert item[runlog.TTL_ATTRIBUTE] == runlog.expires_at(NOW, 30)


def test_a_result_lost_to_another_attempt_is_logged_and_not_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTable()
    lost = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
    real_put = fake.put_item

    def put_then_lose(**kwargs: Any) -> dict[str, Any]:
        fake.put_error = lost if len(fake.calls) == 1 else None
        return real_put(**kwargs)

    fake.put_item = put_then_lose  # type: ignore[method-assign]
    with caplog.at_level("WARNING", logger="ouroboros.executor"):
        assert not _finish(fake)
    assert caplog.messages == [
        f"{ACCOUNT}/us-east-1: another attempt took this occurrence over; result not recorded"
    ]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutItem"),
            "PutItem on the log table failed: AccessDenied: no",
        ),
        (
            EndpointConnectionError(endpoint_url="https://dynamodb"),
            'Could not connect to the endpoint URL: "https://dynamodb"',
        ),
    ],
)
def test_a_result_that_cannot_be_written_is_a_log_table_error(
    error: Exception, message: str
) -> None:
    fake = FakeTable()
    real_put = fake.put_item

    def put_then_fail(**kwargs: Any) -> dict[str, Any]:
        fake.put_error = error if len(fake.calls) == 1 else None
        return real_put(**kwargs)

    fake.put_item = put_then_fail  # type: ignore[method-assign]
    with pytest.raises(LogTableError) as caught:
        _finish(fake)
    assert str(caught.value) == message
