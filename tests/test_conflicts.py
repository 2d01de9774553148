"""Conflicts between rules (DESIGN.md §10): a stop inside another rule's on-window, 14 days."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler import timeline
from reconciler.calendars import Calendar
from reconciler.conflicts import (
    HELD_ON,
    Timing,
    find_conflicts,
    first_cut,
    on_windows,
    pair_message,
    scan_conflicts,
)
from reconciler.model import Rule

NOW = datetime(2026, 12, 14, tzinfo=UTC)
SYDNEY = "Australia/Sydney"
FLEET = ("222222222222", "ap-southeast-2", "tag:Environment=test")
WEEKDAYS = Timing(
    "integration-weekdays", SYDNEY, "cron(0 6 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)", FLEET
)
MONTH_END = Timing(
    "integration-month-end", SYDNEY, "cron(0 18 ? * 6L *)", "cron(0 23 ? * 6L *)", FLEET
)


def test_the_repository_example_weekday_stop_is_held_on_by_the_month_end_window() -> None:
    # The executor's union (DESIGN §12) keeps the fleet up until 23:00: held on, no conflict.
    found = find_conflicts([WEEKDAYS, MONTH_END], {}, NOW)
    assert [(c.rules, c.id, c.static, c.resolution) for c in found] == [
        (("integration-weekdays", "integration-month-end"), None, True, HELD_ON)
    ]
    assert found[0].held_until == datetime(2026, 12, 25, 23, 0, tzinfo=ZoneInfo(SYDNEY))
    assert found[0].message == (
        "integration-weekdays's stop at Fri 2026-12-25 20:00 AEDT falls inside "
        "integration-month-end's on-window Fri 2026-12-25 18:00-23:00 AEDT for the same "
        "instances (the same filters, accounts and regions): integration-month-end holds them "
        "on until 23:00 (overlapping rules compose)"
    )


def test_a_later_collision_is_reported_with_its_date_and_not_soon() -> None:
    # From 2026-11-30 the next last Friday (Dec 25) is 25 days away: beyond DESIGN §10's 14
    # days, still reported (a monthly rule would otherwise be silent for two weeks in four).
    later = find_conflicts([WEEKDAYS, MONTH_END], {}, datetime(2026, 11, 30, tzinfo=UTC))
    assert [(c.when.isoformat(), c.soon) for c in later] == [("2026-12-25T20:00:00+11:00", False)]
    assert [c.soon for c in find_conflicts([WEEKDAYS, MONTH_END], {}, NOW)] == [True]
    assert (
        find_conflicts([WEEKDAYS, MONTH_END], {}, datetime(2026, 11, 30, tzinfo=UTC), days=14) == []
    )


def test_a_stop_outside_every_window_is_no_conflict() -> None:
    # month-end stops at 23:00, after the weekday window closed at 20:00.
    assert first_cut(MONTH_END, WEEKDAYS, NOW) is None


def test_different_filters_conflict_only_on_instances_both_matched() -> None:
    other = Timing("late", SYDNEY, "cron(0 18 ? * 6L *)", "cron(0 23 ? * 6L *)", "other filters")
    key = ("222222222222", "ap-southeast-2", "i-0123456789abcdef0")
    assert find_conflicts([WEEKDAYS, other], {}, NOW) == []  # not read: unknown, not reported
    assert (
        find_conflicts(
            [WEEKDAYS, other], {WEEKDAYS.name: frozenset(), "late": frozenset({key})}, NOW
        )
        == []
    )
    found = find_conflicts(
        [WEEKDAYS, other], {WEEKDAYS.name: frozenset({key}), "late": frozenset({key})}, NOW
    )
    assert [(c.rules, c.id, c.account, c.region, c.static) for c in found] == [
        (
            ("integration-weekdays", "late"),
            "i-0123456789abcdef0",
            "222222222222",
            "ap-southeast-2",
            False,
        )
    ]
    assert "for i-0123456789abcdef0 (222222222222 ap-southeast-2): late holds it on" in (
        found[0].message
    )


def test_a_rule_without_both_start_and_stop_holds_nothing_on() -> None:
    stop_only = Timing("nightly", SYDNEY, None, "cron(0 22 * * ? *)", FLEET)
    assert on_windows(stop_only, NOW, NOW.replace(day=20)) == []
    assert find_conflicts([stop_only, WEEKDAYS], {}, NOW) == []  # 22:00 is outside 06:00-20:00


def test_a_window_over_midnight_runs_to_the_next_stop() -> None:
    night = Timing("night", "UTC", "cron(0 22 * * ? *)", "cron(0 6 * * ? *)", FLEET)
    early = Timing("early", "UTC", "cron(0 0 * * ? *)", "cron(0 2 * * ? *)", FLEET)
    cut = first_cut(early, night, NOW)
    assert cut is not None
    when, (on, off) = cut
    assert (when.isoformat(), on.isoformat(), off and off.isoformat()) == (
        "2026-12-14T02:00:00+00:00",
        "2026-12-13T22:00:00+00:00",
        "2026-12-14T06:00:00+00:00",
    )


def test_a_pair_lists_at_most_20_instances_and_counts_them_all() -> None:
    # A rate() start holds nothing on at fire time (its phase is unknown): a real conflict.
    other = Timing("late", SYDNEY, "rate(1 hour)", "cron(0 23 ? * 6L *)", "other filters")
    keys = frozenset(("222222222222", "ap-southeast-2", f"i-{n:017x}") for n in range(25))
    found = find_conflicts([WEEKDAYS, other], {WEEKDAYS.name: keys, "late": keys}, NOW)
    assert len(found) == 20
    assert found[1].message.startswith(
        "integration-weekdays stops i-00000000000000001 (222222222222 ap-southeast-2), one of "
        "25 instances both match, at Mon 2026-12-14 20:00 AEDT"
    )
    assert pair_message(found).startswith(
        "integration-weekdays stops 25 instances both match (i-00000000000000000, "
        "i-00000000000000001, i-00000000000000002 and 22 more) at Mon 2026-12-14 20:00 AEDT"
    )


def test_rules_with_the_same_timing_are_compared_once_per_timing() -> None:
    twins = [Timing(f"t{n}", SYDNEY, WEEKDAYS.start, WEEKDAYS.stop, FLEET) for n in range(3)]
    found = find_conflicts([*twins, MONTH_END], {}, NOW)
    assert [c.rules for c in found] == [(f"t{n}", "integration-month-end") for n in range(3)]


def test_pairs_beyond_the_cap_are_counted_not_listed() -> None:
    twins = [Timing(f"t{n}", SYDNEY, WEEKDAYS.start, WEEKDAYS.stop, FLEET) for n in range(3)]
    scan = scan_conflicts([*twins, MONTH_END], {}, NOW, max_pairs=2)
    assert scan.pairs == 3
    assert [c.rules for c in scan.conflicts] == [
        ("t0", "integration-month-end"),
        ("t1", "integration-month-end"),
    ]


# Held on or a conflict: decided by the executor's union rule (executor/decisions.py)


def test_a_holder_starting_the_very_minute_of_the_stop_is_a_conflict() -> None:
    # The executor's holder must have started before the stop; at the same minute the order
    # of the two firings is not known, so the union does not resolve it.
    same = Timing("batch", SYDNEY, "cron(0 20 ? * 6L *)", "cron(0 23 ? * 6L *)", FLEET)
    found = find_conflicts([WEEKDAYS, same], {}, NOW)
    assert [(c.rules, c.resolution) for c in found] == [(("integration-weekdays", "batch"), None)]
    assert found[0].message == (
        "integration-weekdays stops the same instances (the same filters, accounts and regions) "
        "at Fri 2026-12-25 20:00 AEDT, inside batch's on-window Fri 2026-12-25 20:00-23:00 "
        "AEDT: batch expects them running then"
    )


def test_a_rate_holder_is_a_conflict_the_union_does_not_resolve() -> None:
    hourly = Timing("hourly", SYDNEY, "rate(1 hour)", "cron(0 23 ? * 6L *)", FLEET)
    found = find_conflicts([WEEKDAYS, hourly], {}, NOW)
    assert [(c.rules, c.resolution) for c in found] == [(("integration-weekdays", "hourly"), None)]
    assert found[0].message.endswith("hourly expects them running then")


def test_rules_of_different_kinds_never_act_on_one_resource() -> None:
    databases = Timing(
        "month-end-db", SYDNEY, MONTH_END.start, MONTH_END.stop, FLEET, resource="rds"
    )
    assert find_conflicts([WEEKDAYS, databases], {}, NOW) == []


def test_a_holder_whose_start_its_calendar_skips_holds_nothing_that_day() -> None:
    # Christmas is a date of the month-end rule's calendar: its start does nothing then, so
    # the first stop inside one of its windows is the last Friday of January, held on.
    christmas = Calendar("xmas", dates=("2026-12-25",), timezone=SYDNEY)
    holder = dataclasses.replace(MONTH_END, calendar=christmas)
    found = find_conflicts([WEEKDAYS, holder], {}, NOW)
    assert [(c.when.isoformat(), c.resolution) for c in found] == [
        ("2027-01-29T20:00:00+11:00", HELD_ON)
    ]


def test_a_stop_its_own_calendar_skips_stops_nothing() -> None:
    christmas = Calendar("xmas", dates=("2026-12-25",), timezone=SYDNEY)
    stopper = dataclasses.replace(WEEKDAYS, calendar=christmas)
    cut = first_cut(stopper, MONTH_END, NOW)
    assert cut is not None
    assert cut[0].isoformat() == "2027-01-29T20:00:00+11:00"


def test_a_stop_only_or_disabled_holder_is_no_pair_at_all() -> None:
    stop_only = Timing("nightly", SYDNEY, None, "cron(0 19 * * ? *)", FLEET)
    assert find_conflicts([WEEKDAYS, stop_only], {}, NOW) == [
        c for c in find_conflicts([WEEKDAYS, stop_only], {}, NOW) if c.rules[1] != "nightly"
    ]
    # The scan is given the enabled rules only: a disabled month-end rule is not among them.
    assert find_conflicts([WEEKDAYS], {}, NOW) == []


# One time engine: the on-windows are reconciler.timeline's


def test_on_windows_are_the_timelines_in_the_rules_zone() -> None:
    end = NOW + timedelta(days=7)
    rule = Rule(
        WEEKDAYS.name,
        ("222222222222",),
        ("ap-southeast-2",),
        (("tag:Environment", ("test",)),),
        start=WEEKDAYS.start,
        stop=WEEKDAYS.stop,
        timezone=SYDNEY,
    )
    expected = [(w.start, w.stop) for w in timeline.on_windows(rule, NOW, end + timedelta(days=31))]
    ours = on_windows(WEEKDAYS, NOW, end)
    assert [(on.astimezone(UTC), off and off.astimezone(UTC)) for on, off in ours] == [
        pair for pair in expected if pair[0] <= end
    ]
    # NOW is Monday 11:00 in Sydney: the window open then is clipped to it, as timeline clips.
    assert [f"{on:%a %H:%M}-{off:%H:%M %Z}" for on, off in ours if off] == [
        "Mon 11:00-20:00 AEDT",
        "Tue 06:00-20:00 AEDT",
        "Wed 06:00-20:00 AEDT",
        "Thu 06:00-20:00 AEDT",
        "Fri 06:00-20:00 AEDT",
        "Mon 06:00-20:00 AEDT",
    ]


def test_a_window_open_since_before_the_lookback_is_still_found() -> None:
    # Started on 2026-10-01 (yearly), stops on 2027-01-01: open throughout December. The
    # conflicts' own calculation only looked 31 days back; timeline's knows the state.
    season = Timing("season", "UTC", "cron(0 0 1 10 ? *)", "cron(0 0 1 1 ? *)", FLEET)
    nightly = Timing("nightly", "UTC", "cron(0 6 * * ? *)", "cron(0 19 * * ? *)", FLEET)
    found = find_conflicts([nightly, season], {}, NOW)
    assert [(c.rules, c.when.isoformat(), c.resolution) for c in found] == [
        (("nightly", "season"), "2026-12-14T19:00:00+00:00", HELD_ON)
    ]
    assert found[0].held_until == datetime(2027, 1, 1, tzinfo=ZoneInfo("UTC"))


# Every first cut among cron rules in two zones, as conflicts computed them with their own
# on-window function before they used timeline's (benchmarks/plan.py's schedules): unchanged.
CRONS = ("cron(0 8 ? * MON-FRI *)", "cron(30 7 ? * 2-6 *)", "cron(0 18 ? * 6L *)")
STOPS = {
    "cron(0 8 ? * MON-FRI *)": "cron(0 19 ? * MON-FRI *)",
    "cron(30 7 ? * 2-6 *)": "cron(30 18 ? * 2-6 *)",
    "cron(0 18 ? * 6L *)": "cron(0 23 ? * 6L *)",
}
BEFORE_TIMELINE = [
    (
        "Europe/Berlin|cron(0 8 ? * MON-FRI *) -> Europe/Berlin|cron(0 18 ? * 6L *)",
        ["2026-12-25T19:00:00+01:00", "2026-12-25T18:00:00+01:00", "2026-12-25T23:00:00+01:00"],
    ),
    (
        "Europe/Berlin|cron(30 7 ? * 2-6 *) -> Europe/Berlin|cron(0 8 ? * MON-FRI *)",
        ["2026-12-14T18:30:00+01:00", "2026-12-14T08:00:00+01:00", "2026-12-14T19:00:00+01:00"],
    ),
    (
        "Europe/Berlin|cron(30 7 ? * 2-6 *) -> Europe/Berlin|cron(0 18 ? * 6L *)",
        ["2026-12-25T18:30:00+01:00", "2026-12-25T18:00:00+01:00", "2026-12-25T23:00:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(0 8 ? * MON-FRI *) -> Europe/Berlin|cron(0 8 ? * MON-FRI *)",
        ["2026-12-14T19:00:00+11:00", "2026-12-14T08:00:00+01:00", "2026-12-14T19:00:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(0 8 ? * MON-FRI *) -> Europe/Berlin|cron(30 7 ? * 2-6 *)",
        ["2026-12-14T19:00:00+11:00", "2026-12-14T07:30:00+01:00", "2026-12-14T18:30:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(0 8 ? * MON-FRI *) -> Australia/Sydney|cron(0 18 ? * 6L *)",
        ["2026-12-25T19:00:00+11:00", "2026-12-25T18:00:00+11:00", "2026-12-25T23:00:00+11:00"],
    ),
    (
        "Australia/Sydney|cron(30 7 ? * 2-6 *) -> Europe/Berlin|cron(0 8 ? * MON-FRI *)",
        ["2026-12-14T18:30:00+11:00", "2026-12-14T08:00:00+01:00", "2026-12-14T19:00:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(30 7 ? * 2-6 *) -> Europe/Berlin|cron(30 7 ? * 2-6 *)",
        ["2026-12-14T18:30:00+11:00", "2026-12-14T07:30:00+01:00", "2026-12-14T18:30:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(30 7 ? * 2-6 *) -> Australia/Sydney|cron(0 8 ? * MON-FRI *)",
        ["2026-12-14T18:30:00+11:00", "2026-12-14T08:00:00+11:00", "2026-12-14T19:00:00+11:00"],
    ),
    (
        "Australia/Sydney|cron(30 7 ? * 2-6 *) -> Australia/Sydney|cron(0 18 ? * 6L *)",
        ["2026-12-25T18:30:00+11:00", "2026-12-25T18:00:00+11:00", "2026-12-25T23:00:00+11:00"],
    ),
    (
        "Australia/Sydney|cron(0 18 ? * 6L *) -> Europe/Berlin|cron(0 8 ? * MON-FRI *)",
        ["2026-12-25T23:00:00+11:00", "2026-12-25T08:00:00+01:00", "2026-12-25T19:00:00+01:00"],
    ),
    (
        "Australia/Sydney|cron(0 18 ? * 6L *) -> Europe/Berlin|cron(30 7 ? * 2-6 *)",
        ["2026-12-25T23:00:00+11:00", "2026-12-25T07:30:00+01:00", "2026-12-25T18:30:00+01:00"],
    ),
]


def test_first_cuts_among_cron_rules_are_those_found_before_timeline() -> None:
    timings = [
        Timing(f"{zone}|{start}", zone, start, STOPS[start], FLEET)
        for zone in ("Europe/Berlin", SYDNEY)
        for start in CRONS
    ]
    found = []
    for stopper in timings:
        for holder in timings:
            cut = first_cut(stopper, holder, NOW)
            if cut is not None:
                when, (on, off) = cut
                found.append(
                    (
                        f"{stopper.name} -> {holder.name}",
                        [when.isoformat(), on.isoformat(), off and off.isoformat()],
                    )
                )
    assert found == BEFORE_TIMELINE
