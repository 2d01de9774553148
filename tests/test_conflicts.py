"""Conflicts between rules (DESIGN.md §10): a stop inside another rule's on-window, 14 days."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.conflicts import (
    Timing,
    find_conflicts,
    first_cut,
    on_windows,
    pair_message,
    scan_conflicts,
)

NOW = datetime(2026, 12, 14, tzinfo=UTC)
SYDNEY = "Australia/Sydney"
FLEET = ("222222222222", "ap-southeast-2", "tag:Environment=test")
WEEKDAYS = Timing(
    "integration-weekdays", SYDNEY, "cron(0 6 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)", FLEET
)
MONTH_END = Timing(
    "integration-month-end", SYDNEY, "cron(0 18 ? * 6L *)", "cron(0 23 ? * 6L *)", FLEET
)


def test_the_repository_example_weekday_stop_cuts_the_month_end_window() -> None:
    found = find_conflicts([WEEKDAYS, MONTH_END], {}, NOW)
    assert [(c.rules, c.id, c.static) for c in found] == [
        (("integration-weekdays", "integration-month-end"), None, True)
    ]
    assert found[0].message == (
        "integration-weekdays stops the same instances (the same filters, accounts and regions) "
        "at Fri 2026-12-25 20:00 AEDT, inside integration-month-end's on-window "
        "Fri 2026-12-25 18:00-23:00 AEDT: integration-month-end expects them running then"
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
    assert "stops i-0123456789abcdef0 (222222222222 ap-southeast-2) at" in found[0].message


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
    other = Timing("late", SYDNEY, "cron(0 18 ? * 6L *)", "cron(0 23 ? * 6L *)", "other filters")
    keys = frozenset(("222222222222", "ap-southeast-2", f"i-{n:017x}") for n in range(25))
    found = find_conflicts([WEEKDAYS, other], {WEEKDAYS.name: keys, "late": keys}, NOW)
    assert len(found) == 20
    assert found[1].message.startswith(
        "integration-weekdays stops i-00000000000000001 (222222222222 ap-southeast-2), one of "
        "25 instances both match, at Fri 2026-12-25 20:00 AEDT"
    )
    assert pair_message(found).startswith(
        "integration-weekdays stops 25 instances both match (i-00000000000000000, "
        "i-00000000000000001, i-00000000000000002 and 22 more) at Fri 2026-12-25 20:00 AEDT"
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
