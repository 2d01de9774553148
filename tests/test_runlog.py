from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from recon_support import LOG_TABLE

from reconciler import runlog

TABLE = LOG_TABLE


def _apply(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "started_at": "2026-11-27T10:00:00Z",
        "finished_at": "2026-11-27T10:00:04Z",
        "actor": "alice",
        "commit": "abc1234",
        "outcome": "ok",
        "summary": "2 created, 1 updated, 0 deleted",
        "changes": [{"action": "create", "kind": "schedule", "name": "dev-stop", "result": "ok"}],
        "duration_ms": 4012,
    }
    record.update(over)
    return record


def _run(rule: str, when: str, **over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        **runlog.run_key(rule, when, "stop", "111111111111", "eu-west-1"),
        **runlog.run_index(rule, when, "stop", "111111111111", "eu-west-1"),
        "kind": "run",
        "rule": rule,
        "action": "stop",
        "scheduled_time": when,
        "status": "ok",
        runlog.TTL_ATTRIBUTE: runlog.expires_at(datetime.now(UTC)),
    }
    item.update(over)
    return item


def _put(client: Any, item: dict[str, Any]) -> None:
    client.put_item(TableName=TABLE, Item=runlog.to_item(item))


def _t(text: str) -> datetime:
    return runlog.parse_instant(text)


@pytest.mark.parametrize(
    "value",
    [
        "text",
        "",
        0,
        -12,
        10**20,
        True,
        False,
        None,
        [1, "a", [None]],
        {"id": "i-0123abcd", "nested": {"k": [True]}},
        [],
        {},
    ],
)
def test_attribute_round_trip(value: object) -> None:
    assert runlog.from_attribute(runlog.to_attribute(value)) == value


def test_tuple_stored_as_list_and_float_refused() -> None:
    assert runlog.from_attribute(runlog.to_attribute(("a", 1))) == ["a", 1]
    with pytest.raises(TypeError, match="cannot store float"):
        runlog.to_attribute(1.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T19:00:00Z", "2026-11-27T19:00:00Z"),
        ("2026-11-27T19:00:00.123Z", "2026-11-27T19:00:00Z"),
        ("2026-11-27T20:00:00+01:00", "2026-11-27T19:00:00Z"),
        ("2026-11-27T19:00:00", "2026-11-27T19:00:00Z"),
        ("2026-11-27", "2026-11-27T00:00:00Z"),
    ],
)
def test_parse_instant(text: str, expected: str) -> None:
    assert runlog.iso_z(runlog.parse_instant(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<aws.scheduler.scheduled-time>",
        # Valid ISO 8601, but outside what a UTC datetime can hold (an OverflowError inside).
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
    ],
)
def test_parse_instant_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        runlog.parse_instant(text)


def test_put_apply_record_round_trips_through_the_day_query(ddb: Any) -> None:
    apply_id = runlog.put_apply_record(ddb, TABLE, _apply(pr_number=12, apply_id="a1"))
    assert apply_id == "a1"
    entries = runlog.query_range(ddb, TABLE, _t("2026-11-27T00:00:00Z"), _t("2026-11-27T23:59:59Z"))
    assert len(entries) == 1
    entry = entries[0]
    assert entry["kind"] == "apply"
    assert entry["pr_number"] == 12
    assert entry["changes"][0]["name"] == "dev-stop"
    assert entry["started_at"] == "2026-11-27T10:00:00Z"
    assert "pk" not in entry
    assert entry[runlog.TTL_ATTRIBUTE] > datetime.now(UTC).timestamp() + 89 * 86400


def test_put_apply_record_normalises_times_and_makes_an_id(ddb: Any) -> None:
    apply_id = runlog.put_apply_record(
        ddb, TABLE, _apply(started_at="2026-11-27T11:00:00+01:00", error=None), retention_days=7
    )
    assert len(apply_id) == 12
    raw = ddb.get_item(
        TableName=TABLE, Key=runlog.to_item(runlog.apply_key("2026-11-27T10:00:00Z", apply_id))
    )
    item = runlog.from_item(raw["Item"])
    assert "error" not in item
    assert item[runlog.TTL_ATTRIBUTE] < datetime.now(UTC).timestamp() + 8 * 86400


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": "great"}, "outcome must be one of ok, partial, failed"),
        ({"colour": "red"}, "unknown ['colour']"),
        ({"started_at": "yesterday"}, "Invalid isoformat"),
    ],
)
def test_put_apply_record_refuses_a_bad_record(
    ddb: Any, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        runlog.put_apply_record(ddb, TABLE, _apply(**change))


def test_put_apply_record_names_missing_fields(ddb: Any) -> None:
    record = _apply()
    del record["actor"]
    with pytest.raises(ValueError, match=r"missing \['actor'\]"):
        runlog.put_apply_record(ddb, TABLE, record)


def test_query_rule_uses_the_time_range_and_includes_repeats(ddb: Any) -> None:
    for when in ("2026-11-26T19:00:00Z", "2026-11-27T19:00:00Z", "2026-11-28T19:00:00Z"):
        _put(ddb, _run("dev", when))
    _put(ddb, _run("other", "2026-11-27T19:00:00Z"))
    dup = runlog.duplicate_key(
        "dev", "2026-11-27T19:00:00Z", "stop", "111111111111", "eu-west-1", "x"
    )
    _put(ddb, {**_run("dev", "2026-11-27T19:00:00Z", status="duplicate"), **dup})
    entries = runlog.query_rule(
        ddb, TABLE, "dev", _t("2026-11-27T00:00:00Z"), _t("2026-11-27T19:00:00Z")
    )
    assert [(e["rule"], e["scheduled_time"], e["status"]) for e in entries] == [
        ("dev", "2026-11-27T19:00:00Z", "ok"),
        ("dev", "2026-11-27T19:00:00Z", "duplicate"),
    ]


def test_query_range_spans_days_skips_the_lock_and_expired_items(ddb: Any) -> None:
    _put(ddb, _run("dev", "2026-11-25T19:00:00Z"))
    _put(ddb, _run("dev", "2026-11-26T19:00:00Z"))
    _put(ddb, _run("web", "2026-11-27T08:00:00Z"))
    _put(ddb, _run("old", "2026-11-27T09:00:00Z", expires_at=1))
    _put(ddb, {"pk": runlog.LOCK_PK, "sk": runlog.LOCK_SK, "owner": "bob", "expires_at": 2**40})
    runlog.put_apply_record(ddb, TABLE, _apply())
    entries = runlog.query_range(ddb, TABLE, _t("2026-11-26T00:00:00Z"), _t("2026-11-27T23:00:00Z"))
    assert sorted((runlog.entry_time(e), e["kind"]) for e in entries) == [
        ("2026-11-26T19:00:00Z", "run"),
        ("2026-11-27T08:00:00Z", "run"),
        ("2026-11-27T10:00:00Z", "apply"),
    ]


def test_query_follows_pages(ddb: Any) -> None:
    start = _t("2026-11-27T00:00:00Z")
    padding = "x" * 20000  # ~50 items per 1 MB page
    for minute in range(120):
        when = runlog.iso_z(start + timedelta(minutes=minute))
        _put(ddb, _run("dev", when, padding=padding))
    calls: list[str] = []
    ddb.meta.events.register("before-call.dynamodb.Query", lambda **kw: calls.append("q"))
    assert len(runlog.query_rule(ddb, TABLE, "dev", start, start + timedelta(hours=3))) == 120
    assert len(calls) > 1
    calls.clear()
    assert len(runlog.query_range(ddb, TABLE, start, start + timedelta(hours=3))) == 120
    assert len(calls) > 1


def test_an_abandoned_claim_reads_as_failed(ddb: Any) -> None:
    now = int(datetime.now(UTC).timestamp())
    _put(ddb, _run("dev", "2026-11-27T19:00:00Z", status="running", lease_until=now - 10))
    _put(ddb, _run("web", "2026-11-27T19:00:00Z", status="running", lease_until=now + 600))
    entries = runlog.query_range(ddb, TABLE, _t("2026-11-27T00:00:00Z"), _t("2026-11-27T23:00:00Z"))
    by_rule = {e["rule"]: e for e in entries}
    assert by_rule["dev"]["status"] == "failed"
    assert by_rule["dev"]["errors"] == [
        {"id": "", "code": "Unfinished", "message": runlog.UNFINISHED_MESSAGE}
    ]
    assert by_rule["web"]["status"] == "running"
