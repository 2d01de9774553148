"""timeline: firings, state, on-windows, on_hours and notes, with exact values worked out by hand.

Zone facts used: Europe/Berlin springs forward on 2027-03-28 at 01:00 UTC (02:00 -> 03:00) and
falls back on 2026-10-25 at 01:00 UTC (03:00 -> 02:00); America/New_York springs forward on
2027-03-14 at 07:00 UTC (02:00 -> 03:00) and falls back on 2026-11-01 at 06:00 UTC (02:00 ->
01:00); Australia/Sydney is on UTC+11 from October to April. 2026-11-30 is a Monday; the last
Fridays of November and December 2026 are the 27th and the 25th.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from recon_support import rule

from reconciler import timeline
from reconciler.loader import load_rules
from reconciler.model import Rule
from reconciler.timeline import (
    Firing,
    Window,
    firings,
    notes,
    on_hours,
    on_windows,
    state_at,
)

REPO = Path(__file__).resolve().parents[1]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def compact(found: list[Firing]) -> list[tuple[str, str, str, str | None]]:
    return [(f.action, f.local.isoformat(), f.utc.isoformat(), f.skipped) for f in found]


BERLIN = rule("berlin", timezone="Europe/Berlin")
NEW_YORK = rule(
    "new-york",
    timezone="America/New_York",
    start="cron(30 7 ? * MON-FRI *)",
    stop="cron(30 18 ? * MON-FRI *)",
)
NIGHTLY_0230 = rule("nightly", timezone="Europe/Berlin", start="cron(30 2 * * ? *)", stop=None)


@pytest.fixture(scope="module")
def examples() -> dict[str, Rule]:
    loaded = load_rules([str(REPO / "schedules")])
    assert loaded.ok
    return {r.name: r for r in loaded.rules}


# --------------------------------------------------------------------------------------------
# firings


def test_office_hours_across_the_spring_change_keep_local_time() -> None:
    found = firings(BERLIN, utc(2027, 3, 26), utc(2027, 3, 30))
    assert compact(found) == [
        ("start", "2027-03-26T08:00:00+01:00", "2027-03-26T07:00:00+00:00", None),
        ("stop", "2027-03-26T19:00:00+01:00", "2027-03-26T18:00:00+00:00", None),
        ("start", "2027-03-29T08:00:00+02:00", "2027-03-29T06:00:00+00:00", None),
        ("stop", "2027-03-29T19:00:00+02:00", "2027-03-29T17:00:00+00:00", None),
    ]
    assert {f.rule for f in found} == {"berlin"}
    assert on_hours(BERLIN, utc(2027, 3, 26), utc(2027, 3, 30)) == 22.0


def test_a_time_in_the_spring_gap_is_no_firing_and_a_note_says_so() -> None:
    found = firings(NIGHTLY_0230, utc(2027, 3, 27), utc(2027, 3, 30))
    assert compact(found) == [
        ("start", "2027-03-27T02:30:00+01:00", "2027-03-27T01:30:00+00:00", None),
        ("start", "2027-03-29T02:30:00+02:00", "2027-03-29T00:30:00+00:00", None),
    ]
    assert notes(NIGHTLY_0230, utc(2027, 3, 27), utc(2027, 3, 30))[1:] == [
        "2027-03-28: clocks go forward in Europe/Berlin (02:00 to 03:00, UTC+01:00 to UTC+02:00), "
        "a 23-hour day; fire times keep their local time",
        "2027-03-28: start 02:30 does not exist in Europe/Berlin: skipped",
    ]


def test_a_repeated_time_in_the_autumn_fires_once_on_its_first_pass() -> None:
    found = firings(NIGHTLY_0230, utc(2026, 10, 24), utc(2026, 10, 27))
    assert compact(found) == [
        ("start", "2026-10-24T02:30:00+02:00", "2026-10-24T00:30:00+00:00", None),
        ("start", "2026-10-25T02:30:00+02:00", "2026-10-25T00:30:00+00:00", None),
        ("start", "2026-10-26T02:30:00+01:00", "2026-10-26T01:30:00+00:00", None),
    ]
    assert notes(NIGHTLY_0230, utc(2026, 10, 24), utc(2026, 10, 27))[1:] == [
        "2026-10-25: clocks go back in Europe/Berlin (03:00 to 02:00, UTC+02:00 to UTC+01:00), "
        "a 25-hour day; fire times keep their local time",
        "2026-10-25: start 02:30 happens twice in Europe/Berlin: fires once, on the first pass "
        "(02:30+02:00 = 00:30 UTC)",
    ]


def test_new_york_across_its_spring_change() -> None:
    found = firings(NEW_YORK, utc(2027, 3, 12), utc(2027, 3, 16))
    assert compact(found) == [
        ("start", "2027-03-12T07:30:00-05:00", "2027-03-12T12:30:00+00:00", None),
        ("stop", "2027-03-12T18:30:00-05:00", "2027-03-12T23:30:00+00:00", None),
        ("start", "2027-03-15T07:30:00-04:00", "2027-03-15T11:30:00+00:00", None),
        ("stop", "2027-03-15T18:30:00-04:00", "2027-03-15T22:30:00+00:00", None),
    ]
    assert notes(NEW_YORK, utc(2027, 3, 12), utc(2027, 3, 16)) == [
        "2027-03-14: clocks go forward in America/New_York (02:00 to 03:00, UTC-05:00 to "
        "UTC-04:00), a 23-hour day; fire times keep their local time"
    ]


def test_new_york_autumn_repeated_times_in_the_one_am_hour() -> None:
    every_quarter = rule(
        "quarters",
        timezone="America/New_York",
        start="cron(0/15 1 * * ? *)",
        stop="cron(0 5 * * ? *)",
    )
    window = (utc(2026, 11, 1, 4), utc(2026, 11, 1, 8))
    found = firings(every_quarter, *window)
    # 01:00-01:45 EDT (05:00-05:45 UTC) only; the second pass (EST, 06:00-06:45 UTC) is silent.
    assert [f.utc.strftime("%H:%M") for f in found if f.action == "start"] == [
        "05:00",
        "05:15",
        "05:30",
        "05:45",
    ]
    assert notes(every_quarter, *window) == [
        "2026-11-01: clocks go back in America/New_York (02:00 to 01:00, UTC-04:00 to "
        "UTC-05:00), a 25-hour day; fire times keep their local time",
        "2026-11-01: start 01:00, 01:15, 01:30 and 01:45 happen twice in America/New_York: "
        "fires once, on the first pass (01:00-04:00 = 05:00 UTC)",
    ]


def test_the_last_friday_of_the_month(examples: dict[str, Rule]) -> None:
    month_end = examples["integration-month-end"]
    found = firings(month_end, utc(2026, 11, 1), utc(2027, 1, 1))
    assert compact(found) == [
        ("start", "2026-11-27T18:00:00+11:00", "2026-11-27T07:00:00+00:00", None),
        ("stop", "2026-11-27T23:00:00+11:00", "2026-11-27T12:00:00+00:00", None),
        ("start", "2026-12-25T18:00:00+11:00", "2026-12-25T07:00:00+00:00", None),
        ("stop", "2026-12-25T23:00:00+11:00", "2026-12-25T12:00:00+00:00", None),
    ]
    assert on_hours(month_end, utc(2026, 11, 1), utc(2027, 1, 1)) == 10.0
    assert state_at(month_end, utc(2026, 12, 24)) == "off"
    assert state_at(month_end, utc(2026, 12, 25, 7)) == "on"
    assert state_at(month_end, utc(2026, 12, 25, 12)) == "off"


def test_the_window_is_start_inclusive_and_end_exclusive() -> None:
    found = firings(BERLIN, utc(2026, 12, 1, 7), utc(2026, 12, 1, 18))
    assert [(f.action, f.utc) for f in found] == [("start", utc(2026, 12, 1, 7))]
    assert firings(BERLIN, utc(2026, 12, 1, 7), utc(2026, 12, 1, 7)) == []


def test_rate_counts_from_the_window_start_or_rate_from() -> None:
    every_8h = rule("every-8h", start="rate(8 hours)", stop="cron(0 22 * * ? *)")
    found = firings(every_8h, utc(2026, 12, 1), utc(2026, 12, 2))
    assert [(f.action, f"{f.utc:%H:%M}") for f in found] == [
        ("start", "08:00"),
        ("start", "16:00"),
        ("stop", "22:00"),
    ]
    shifted = firings(
        every_8h, utc(2026, 12, 1), utc(2026, 12, 2), rate_from=utc(2026, 11, 1, 3, 30)
    )
    assert [f"{f.utc:%H:%M}" for f in shifted if f.action == "start"] == [
        "03:30",
        "11:30",
        "19:30",
    ]
    assert notes(every_8h, utc(2026, 12, 1), utc(2026, 12, 2)) == [
        "start rate(8 hours) counts from when the schedule is created (or its StartDate), "
        "which the rules do not say: shown counting from 2026-12-01T00:00Z"
    ]


def test_a_rate_of_one_minute_a_year_back_is_found_by_arithmetic() -> None:
    minutely = rule("minutely", start="rate(1 minute)", stop=None)
    started = time.perf_counter()
    found = firings(minutely, utc(2026, 12, 1), utc(2026, 12, 1, 0, 3), rate_from=utc(2025, 12, 1))
    assert time.perf_counter() - started < 0.5
    assert [f.utc for f in found] == [utc(2026, 12, 1, 0, m) for m in range(3)]


def test_at_expressions_fire_once_in_the_rules_zone() -> None:
    once = rule(
        "once",
        timezone="Europe/Berlin",
        start="at(2026-12-24T08:00:00)",
        stop="at(2026-12-24T12:30:00)",
    )
    assert compact(firings(once, utc(2026, 12, 1), utc(2027, 1, 1))) == [
        ("start", "2026-12-24T08:00:00+01:00", "2026-12-24T07:00:00+00:00", None),
        ("stop", "2026-12-24T12:30:00+01:00", "2026-12-24T11:30:00+00:00", None),
    ]
    assert on_hours(once, utc(2026, 12, 1), utc(2027, 1, 1)) == 4.5
    assert notes(once, utc(2027, 1, 1), utc(2027, 1, 8)) == [
        "start at(2026-12-24T08:00:00) fires once, before this window",
        "stop at(2026-12-24T12:30:00) fires once, before this window",
    ]
    assert notes(once, utc(2026, 11, 1), utc(2026, 11, 8)) == [
        "start at(2026-12-24T08:00:00) fires once, after this window",
        "stop at(2026-12-24T12:30:00) fires once, after this window",
    ]
    assert state_at(once, utc(2027, 6, 1)) == "off"


def test_a_disabled_rule_has_no_firings_and_says_so(examples: dict[str, Rule]) -> None:
    paused = examples["staging-patch-window"]
    week = (utc(2026, 12, 1), utc(2026, 12, 15))  # holds the first Monday, 2026-12-07
    assert firings(paused, *week) == []
    assert on_windows(paused, *week) == []
    assert on_hours(paused, *week) == 0.0
    assert state_at(paused, utc(2026, 12, 7, 6)) is None
    assert notes(paused, *week) == [
        "disabled (enabled: false): its schedules exist but are DISABLED, so nothing fires"
    ]
    enabled = dataclasses.replace(paused, enabled=True)
    assert [f"{f.local:%Y-%m-%d %H:%M}" for f in firings(enabled, *week)] == [
        "2026-12-07 05:00",
        "2026-12-07 09:00",
    ]


# --------------------------------------------------------------------------------------------
# skip hook


def _christmas(_rule: Rule, firing: Firing) -> str | None:
    return "holiday: Christmas Day" if firing.local.date().isoformat() == "2026-12-25" else None


def test_a_skip_hook_marks_firings_and_they_do_not_act() -> None:
    week = (utc(2026, 12, 24), utc(2026, 12, 26))
    found = firings(BERLIN, *week, skip=_christmas)
    assert [(f.local.day, f.action, f.skipped) for f in found] == [
        (24, "start", None),
        (24, "stop", None),
        (25, "start", "holiday: Christmas Day"),
        (25, "stop", "holiday: Christmas Day"),
    ]
    assert on_hours(BERLIN, *week, skip=_christmas) == 11.0
    assert on_hours(BERLIN, *week) == 22.0
    assert state_at(BERLIN, utc(2026, 12, 25, 12), skip=_christmas) == "off"
    assert state_at(BERLIN, utc(2026, 12, 25, 12)) == "on"


def test_a_skipped_stop_leaves_the_rule_on_until_the_next_stop() -> None:
    def no_christmas_stop(_rule: Rule, firing: Firing) -> str | None:
        return _christmas(_rule, firing) if firing.action == "stop" else None

    windows = on_windows(BERLIN, utc(2026, 12, 25), utc(2026, 12, 29), skip=no_christmas_stop)
    # Fri 25 08:00 CET on, the stop that evening skipped, off at Mon 28 19:00 CET.
    assert windows == [Window(utc(2026, 12, 25, 7), utc(2026, 12, 28, 18), False, False)]


# --------------------------------------------------------------------------------------------
# state and on-windows


def test_state_at_looks_back_a_year_for_a_yearly_cron() -> None:
    half_year = rule("half-year", start="cron(0 8 1 1 ? *)", stop="cron(0 8 1 7 ? *)")
    assert state_at(half_year, utc(2026, 6, 30)) == "on"
    assert state_at(half_year, utc(2026, 12, 31)) == "off"
    assert state_at(half_year, utc(2026, 7, 1, 8)) == "off"  # at the instant: it has fired
    assert state_at(half_year, utc(2026, 7, 1, 7, 59)) == "on"


def test_state_at_finds_a_firing_years_back_at_a_bounded_cost() -> None:
    long_ago = rule("long-ago", start="cron(0 8 1 1 ? 1999)", stop=None)
    started = time.perf_counter()
    assert state_at(long_ago, utc(2026, 12, 1)) == "on"
    assert state_at(long_ago, utc(1998, 12, 1)) is None
    assert time.perf_counter() - started < 2


def test_state_at_bisects_instead_of_listing_a_dense_year_long_ago() -> None:
    # Every minute of 2027 is half a million fire times: the last one is found by probing.
    dense = rule("dense", start="cron(* * * * ? 2027)", stop="cron(0 0 1 1 ? 2030)")
    started = time.perf_counter()
    assert state_at(dense, utc(2029, 12, 31)) == "on"
    assert state_at(dense, utc(2199, 1, 1)) == "off"
    assert state_at(dense, utc(2026, 12, 31)) is None
    assert time.perf_counter() - started < 5


def test_state_at_steps_back_past_skipped_firings() -> None:
    def december_stops(_rule: Rule, firing: Firing) -> str | None:
        skipped = firing.action == "stop" and firing.local.month == 12
        return "frozen in December" if skipped else None

    # Stops every December day are vetoed: on since the start on Tuesday 1 December.
    assert state_at(BERLIN, utc(2026, 12, 31, 22), skip=december_stops) == "on"
    assert on_windows(BERLIN, utc(2026, 12, 31), utc(2027, 1, 2), skip=december_stops) == [
        Window(utc(2026, 12, 31), utc(2027, 1, 1, 18), open_start=True, open_end=False)
    ]


def test_a_skip_hook_vetoing_everything_leaves_the_state_unknown() -> None:
    assert state_at(BERLIN, utc(2026, 12, 1), skip=lambda _r, _f: "never") is None


def test_state_at_before_any_firing_is_none() -> None:
    later = rule("later", start="at(2030-01-01T08:00:00)", stop="at(2030-01-01T18:00:00)")
    assert state_at(later, utc(2026, 12, 1)) is None
    assert on_windows(later, utc(2026, 12, 1), utc(2026, 12, 8)) == []


def test_on_windows_are_clipped_and_say_when_they_are_open(examples: dict[str, Rule]) -> None:
    fleet = examples["integration-weekdays"]  # Sydney, UTC+11: 06:00-20:00 = 19:00Z-09:00Z
    windows = on_windows(fleet, utc(2026, 11, 30), utc(2026, 12, 2))
    assert windows == [
        Window(utc(2026, 11, 30), utc(2026, 11, 30, 9), open_start=True, open_end=False),
        Window(utc(2026, 11, 30, 19), utc(2026, 12, 1, 9), open_start=False, open_end=False),
        Window(utc(2026, 12, 1, 19), utc(2026, 12, 2), open_start=False, open_end=True),
    ]
    assert [w.hours for w in windows] == [9.0, 14.0, 5.0]
    assert on_hours(fleet, utc(2026, 11, 30), utc(2026, 12, 2)) == 28.0


def test_a_start_at_the_window_start_is_not_an_open_start() -> None:
    windows = on_windows(BERLIN, utc(2026, 12, 1, 7), utc(2026, 12, 1, 8))
    assert windows == [Window(utc(2026, 12, 1, 7), utc(2026, 12, 1, 8), False, True)]


def test_a_start_and_stop_in_the_same_minute_make_no_window() -> None:
    clash = rule("clash", start="cron(0 8 ? * MON *)", stop="cron(0 8 * * ? *)")
    monday = (utc(2026, 11, 30), utc(2026, 12, 1))
    assert [f.action for f in firings(clash, *monday)] == ["start", "stop"]
    assert on_windows(clash, *monday) == []
    assert state_at(clash, utc(2026, 11, 30, 9)) == "off"


def test_only_a_start_or_only_a_stop() -> None:
    start_only = rule("start-only", stop=None)
    stop_only = rule("stop-only", start=None)
    week = (utc(2026, 11, 30), utc(2026, 12, 7))
    # On since the previous Friday's start at 08:00 UTC, and never stopped.
    assert on_windows(start_only, *week) == [
        Window(utc(2026, 11, 30), utc(2026, 12, 7), open_start=True, open_end=True)
    ]
    assert on_hours(start_only, *week) == 168.0
    assert state_at(start_only, utc(2026, 11, 30)) == "on"
    assert on_hours(stop_only, *week) == 0.0
    assert state_at(stop_only, utc(2026, 12, 1)) == "off"
    assert notes(start_only, *week) == [
        "no stop: this rule only starts; the instances stay on until something else stops "
        "them, and on_hours counts them on"
    ]
    assert notes(stop_only, *week) == ["no start: this rule only stops, so on_hours is 0"]


def test_on_hours_of_the_repository_examples(examples: dict[str, Rule]) -> None:
    week = (utc(2026, 11, 30), utc(2026, 12, 7))
    assert {name: on_hours(r, *week) for name, r in examples.items()} == {
        "dev-office-hours": 55.0,
        "dev-us-office-hours": 55.0,
        "build-agents-nightly": 0.0,
        # on at the start (Mon 11:00 Sydney) till 20:00, Tue-Fri 14h, Mon 7 06:00-11:00
        "integration-weekdays": 70.0,
        "integration-month-end": 0.0,
        "staging-patch-window": 0.0,
    }


def test_on_hours_across_dst_days_count_real_hours() -> None:
    # 00:00-04:00 local every day; the fall-back night is an hour longer in real time.
    night = rule(
        "night", timezone="Europe/Berlin", start="cron(0 0 * * ? *)", stop="cron(0 4 * * ? *)"
    )
    assert on_hours(night, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)) == 5.0
    assert on_hours(night, utc(2027, 3, 27, 12), utc(2027, 3, 28, 12)) == 3.0


def test_windows_are_empty_for_a_window_that_ends_before_it_starts() -> None:
    assert firings(BERLIN, utc(2026, 12, 2), utc(2026, 12, 1)) == []
    assert on_windows(BERLIN, utc(2026, 12, 2), utc(2026, 12, 1)) == []
    assert on_hours(BERLIN, utc(2026, 12, 2), utc(2026, 12, 1)) == 0.0


def test_notes_in_a_zone_without_dst_are_empty() -> None:
    in_utc = dataclasses.replace(BERLIN, timezone="UTC")
    assert notes(in_utc, utc(2027, 3, 1), utc(2027, 4, 1)) == []


def test_an_at_in_the_spring_gap_never_fires_and_says_so() -> None:
    lost = rule("lost", timezone="Europe/Berlin", start="at(2027-03-28T02:30:00)", stop=None)
    for window in [(utc(2027, 3, 27), utc(2027, 3, 29)), (utc(2027, 4, 1), utc(2027, 4, 2))]:
        assert firings(lost, *window) == []
        assert notes(lost, *window)[1] == (
            "start: 02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go forward from "
            "02:00 to 03:00), so at(2027-03-28T02:30:00) never fires; write a time that exists, "
            "such as 03:00"
        )
    assert len(notes(lost, utc(2027, 3, 27), utc(2027, 3, 29))) == 3  # + the clock change


def test_an_rds_rule_says_aws_restarts_a_stopped_database_after_seven_days() -> None:
    # A weekday stop fires at least weekly: a restarted database is stopped again.
    weekly = Rule(
        name="dev-db",
        accounts=("111111111111",),
        regions=("eu-west-1",),
        targets=(("tag:env", ("dev",)),),
        start="cron(0 8 ? * MON-FRI *)",
        stop="cron(0 18 ? * MON-FRI *)",
        timezone="Europe/Berlin",
        resource="rds",
    )
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert timeline.notes(weekly, start, start + timedelta(days=7))[-1] == (
        "AWS starts a stopped DB instance by itself after 7 days; this rule fires at least "
        "weekly, so its next stop stops it again"
    )
    # A monthly stop leaves the cluster to AWS for weeks.
    monthly = dataclasses.replace(weekly, resource="aurora", start=None, stop="cron(0 18 1 * ? *)")
    assert timeline.notes(monthly, start, start + timedelta(days=7))[-1] == (
        "AWS starts a stopped DB cluster by itself after 7 days, and after the stop on "
        "2026-12-01 18:00 (Europe/Berlin) the rule does not fire for 31 days: it runs again "
        "from 2026-12-08; make the stop fire at least weekly"
    )
    assert not any(
        "7 days" in n
        for n in timeline.notes(
            dataclasses.replace(weekly, resource="ec2"), start, start + timedelta(days=7)
        )
    )
