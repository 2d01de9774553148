"""reconciler.verify: expected firings (time engine) matched with run-log entries. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler.resources import ScheduleSpec, canonical_json
from reconciler.verify import (
    DeadLetter,
    Deployed,
    QueueReport,
    expected_occurrences,
    read_dead_letter,
    verify,
)

SINCE = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
NOW = UNTIL
LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:ouroboros-executor"


def schedule(
    rule: str = "dev",
    action: str = "start",
    expression: str = "cron(0 8 ? * MON-FRI *)",
    *,
    timezone: str = "UTC",
    state: str = "ENABLED",
    accounts: tuple[str, ...] = ("123456789012",),
    regions: tuple[str, ...] = ("eu-west-1",),
    created: datetime | None = None,
    modified: datetime | None = None,
) -> Deployed:
    event = {"version": 1, "rule": rule, "action": action, "accounts": list(accounts)}
    event["regions"] = list(regions)
    spec = ScheduleSpec(
        name=f"{rule}-{action}",
        group="ouroboros",
        expression=expression,
        target_arn=LAMBDA,
        role_arn="arn:aws:iam::123456789012:role/ouroboros-scheduler",
        timezone=timezone,
        state=state,
        input=canonical_json(event),
    )
    return Deployed(spec, created=created, modified=modified)


def run(
    when: str,
    status: str = "ok",
    *,
    rule: str = "dev",
    action: str = "start",
    started: str | None = None,
    account: str = "123456789012",
    region: str = "eu-west-1",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": "run",
        "rule": rule,
        "action": action,
        "scheduled_time": when,
        "account": account,
        "region": region,
        "status": status,
        "started_at": started or when,
        **extra,
    }


WEEK = [f"2026-11-{d}T08:00:00Z" for d in (23, 24, 25, 26, 27)]


def test_every_weekday_ran_on_time_is_all_ok() -> None:
    verdict = verify([schedule()], [run(t) for t in WEEK], since=SINCE, until=UNTIL, now=NOW)
    assert (verdict.expected, verdict.ok, verdict.all_ok) == (5, 5, True)
    assert verdict.document() == {
        "expected": 5,
        "ok": 5,
        "missed": [],
        "failed": [],
        "late": [],
        "since": "2026-11-23T00:00:00Z",
        "until": "2026-11-28T00:00:00Z",
        "notes": [],
        "requests": {},
    }


def test_a_firing_with_no_run_is_missed() -> None:
    verdict = verify([schedule()], [run(t) for t in WEEK[1:]], since=SINCE, until=UNTIL, now=NOW)
    assert [f.document() for f in verdict.missed] == [
        {
            "rule": "dev",
            "action": "start",
            "scheduled_time": "2026-11-23T08:00:00Z",
            "detail": "no run in the log",
        }
    ]
    assert (verdict.expected, verdict.ok, verdict.all_ok) == (5, 4, False)


def test_a_failed_run_is_failed_with_its_detail() -> None:
    entries = [run(t) for t in WEEK[:4]]
    entries.append(
        run(
            WEEK[4],
            "failed",
            detail="1 error(s), first: Server.InsufficientInstanceCapacity: no capacity",
        )
    )
    verdict = verify([schedule()], entries, since=SINCE, until=UNTIL, now=NOW)
    assert [f.detail for f in verdict.failed] == [
        "failed in 123456789012/eu-west-1: 1 error(s), first: "
        "Server.InsufficientInstanceCapacity: no capacity"
    ]
    assert verdict.ok == 4


@pytest.mark.parametrize("status", ["partial", "refused"])
def test_a_run_that_did_not_succeed_is_failed(status: str) -> None:
    entries = [run(WEEK[0], status, errors=[{"id": "i-1", "code": "X", "message": "why"}])]
    verdict = verify([schedule()], entries, since=SINCE, until=WEEK_END_1, now=NOW)
    assert [f.detail for f in verdict.failed] == [f"{status} in 123456789012/eu-west-1: X: why"]


WEEK_END_1 = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def test_a_calendar_day_logged_skipped_is_ok_not_failed() -> None:
    # The executor logs status `skipped` on a calendar date (§12): the firing ran as meant.
    entries = [run(WEEK[0], "skipped")]
    verdict = verify([schedule()], entries, since=SINCE, until=WEEK_END_1, now=NOW)
    assert (verdict.expected, verdict.ok, verdict.failed) == (1, 1, ())


def test_a_pair_with_no_run_fails_the_firing() -> None:
    deployed = schedule(regions=("eu-west-1", "us-east-1"))
    verdict = verify([deployed], [run(WEEK[0])], since=SINCE, until=WEEK_END_1, now=NOW)
    assert [f.detail for f in verdict.failed] == ["no run logged in 123456789012/us-east-1"]


def test_a_run_starting_more_than_five_minutes_late_is_late() -> None:
    entries = [run(WEEK[0], started="2026-11-23T08:12:30Z")]
    verdict = verify([schedule()], entries, since=SINCE, until=WEEK_END_1, now=NOW)
    assert [f.detail for f in verdict.late] == [
        "first run started 12m30s after the scheduled time (2026-11-23T08:12:30Z)"
    ]
    assert (verdict.ok, verdict.all_ok) == (0, False)


def test_five_minutes_exactly_is_not_late() -> None:
    entries = [run(WEEK[0], started="2026-11-23T08:05:00Z")]
    verdict = verify([schedule()], entries, since=SINCE, until=WEEK_END_1, now=NOW)
    assert (verdict.ok, verdict.late) == (1, ())


def test_lateness_counts_from_the_first_attempt_not_a_retry() -> None:
    retried = run(
        WEEK[0],
        started="2026-11-23T08:30:00Z",
        history=[{"attempt": 1, "started_at": "2026-11-23T08:00:20Z", "status": "failed"}],
    )
    verdict = verify([schedule()], [retried], since=SINCE, until=WEEK_END_1, now=NOW)
    assert (verdict.ok, verdict.late) == (1, ())


def test_duplicate_rows_are_not_runs() -> None:
    verdict = verify(
        [schedule()], [run(WEEK[0], "duplicate")], since=SINCE, until=WEEK_END_1, now=NOW
    )
    assert [f.detail for f in verdict.missed] == ["no run in the log"]


def test_a_disabled_schedule_expects_nothing_and_says_so() -> None:
    verdict = verify([schedule(state="DISABLED")], [], since=SINCE, until=UNTIL, now=NOW)
    assert (verdict.expected, verdict.all_ok) == (0, True)
    assert verdict.notes == ("rule dev start: the schedule is DISABLED: no firing expected",)


def test_an_at_one_shot_is_expected_once() -> None:
    one_shot = schedule(expression="at(2026-11-25T09:30:00)", timezone="Europe/Berlin")
    verdict = verify([one_shot], [], since=SINCE, until=UNTIL, now=NOW)
    assert [(f.scheduled_time, f.detail) for f in verdict.missed] == [
        ("2026-11-25T08:30:00Z", "no run in the log")
    ]
    ran = verify([one_shot], [run("2026-11-25T08:30:00Z")], since=SINCE, until=UNTIL, now=NOW)
    assert (ran.expected, ran.ok) == (1, 1)


def test_an_at_outside_the_window_is_not_expected() -> None:
    one_shot = schedule(expression="at(2026-12-25T09:30:00)")
    assert verify([one_shot], [], since=SINCE, until=UNTIL, now=NOW).expected == 0


def test_a_time_in_a_dst_gap_is_not_expected() -> None:
    # Europe/Berlin skips 02:00-03:00 on 2026-03-29: EventBridge does not fire 02:30 that day.
    nightly = schedule(action="stop", expression="cron(30 2 * * ? *)", timezone="Europe/Berlin")
    since = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    until = datetime(2026, 3, 31, 0, 0, tzinfo=UTC)
    found, _ = expected_occurrences(nightly, since, until)
    assert [o.scheduled_time for o in found] == ["2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z"]
    entries = [run(o.scheduled_time, action="stop") for o in found]
    verdict = verify([nightly], entries, since=since, until=until, now=until)
    assert (verdict.expected, verdict.ok, verdict.all_ok) == (2, 2, True)


def test_a_repeated_local_time_is_expected_once() -> None:
    nightly = schedule(expression="cron(30 2 * * ? *)", timezone="Europe/Berlin")
    since = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    until = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    found, _ = expected_occurrences(nightly, since, until)
    assert [o.scheduled_time for o in found] == ["2026-10-25T00:30:00Z"]


def test_a_schedule_changed_in_the_window_is_checked_from_the_change() -> None:
    changed = schedule(modified=datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    verdict = verify([changed], [], since=SINCE, until=UNTIL, now=NOW)
    assert [f.scheduled_time for f in verdict.missed] == WEEK[3:]
    assert verdict.notes == (
        "rule dev start: the schedule changed at 2026-11-25T12:00:00Z; firings before that "
        "are not checked",
    )


def test_rate_counts_from_the_schedule_creation() -> None:
    hourly = schedule(
        expression="rate(6 hours)", created=datetime(2026, 11, 20, 1, 0, 40, tzinfo=UTC)
    )
    found, _ = expected_occurrences(hourly, SINCE, SINCE + timedelta(hours=12))
    assert [o.scheduled_time for o in found] == [
        "2026-11-23T01:00:00Z",
        "2026-11-23T07:00:00Z",
    ]


def test_a_firing_in_the_last_minutes_without_a_run_is_not_missed_yet() -> None:
    now = datetime(2026, 11, 23, 8, 3, tzinfo=UTC)
    verdict = verify([schedule()], [], since=SINCE, until=now, now=now)
    assert (verdict.expected, verdict.missed, verdict.all_ok) == (0, (), True)
    assert verdict.notes[-1] == (
        "1 firing(s) in the last 5 minutes or still running are not judged yet"
    )


def test_rule_filter_keeps_only_those_rules() -> None:
    both = [schedule("dev"), schedule("qa")]
    verdict = verify(both, [], since=SINCE, until=WEEK_END_1, now=NOW, rules=["qa"])
    assert [(f.rule, f.scheduled_time) for f in verdict.missed] == [("qa", WEEK[0])]


def test_a_schedule_that_is_not_ours_is_noted_not_expected() -> None:
    foreign = ScheduleSpec("x", "ouroboros", "rate(1 hour)", LAMBDA, "r", input="not json")
    verdict = verify([Deployed(foreign)], [], since=SINCE, until=UNTIL, now=NOW)
    assert verdict.expected == 0
    assert verdict.notes == ("schedule x: its Input is not an Ouroboros event; not checked",)


EVENT = {"rule": "dev", "action": "start", "scheduled_time": "2026-11-23T08:00:00Z"}


def test_a_scheduler_dead_letter_names_its_occurrence_and_error() -> None:
    letter = read_dead_letter(
        json.dumps(EVENT),
        {"ERROR_CODE": "AWS.Lambda.TooManyRequestsException", "ERROR_MESSAGE": "Rate exceeded"},
    )
    assert letter == DeadLetter(
        "dev",
        "start",
        "2026-11-23T08:00:00Z",
        "scheduler",
        "AWS.Lambda.TooManyRequestsException: Rate exceeded",
    )


def test_a_lambda_on_failure_record_names_its_occurrence_and_error() -> None:
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": EVENT,
        "responsePayload": {"errorMessage": "transient failures, Lambda may retry: ..."},
    }
    letter = read_dead_letter(json.dumps(record), {})
    assert letter.document() == {
        "rule": "dev",
        "action": "start",
        "scheduled_time": "2026-11-23T08:00:00Z",
        "source": "lambda",
        "error": "transient failures, Lambda may retry: ...",
    }


def test_a_message_that_is_not_an_event_is_reported_as_such() -> None:
    letter = read_dead_letter("hello", {})
    assert letter == DeadLetter(
        None, None, None, "unknown", "the message is not an Ouroboros event"
    )


def test_a_missed_firing_found_in_the_dead_letter_queue_says_so() -> None:
    letter = read_dead_letter(json.dumps(EVENT), {"ERROR_CODE": "AccessDenied"})
    queue = QueueReport("ouroboros-dead-letters", 1, (letter,))
    verdict = verify([schedule()], [], since=SINCE, until=WEEK_END_1, now=NOW, queue=queue)
    assert [f.detail for f in verdict.missed] == [
        "no run in the log; in the dead-letter queue (scheduler: AccessDenied)"
    ]
    assert verdict.document()["dead_letters"] == {
        "queue": "ouroboros-dead-letters",
        "depth": 1,
        "peeked": [letter.document()],
    }
