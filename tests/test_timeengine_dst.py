"""dst_gap_warning: which local times a spring-forward change skips, and on which date next.

Dates worked out by hand from the zone rules (EU: last Sunday of March at 01:00 UTC; US: second
Sunday of March at 02:00 local; Sydney/Lord Howe: first Sunday of October at 02:00 local; Chile:
first Sunday of September from the 2nd, at 24:00 local). `now` is fixed at 2026-11-27, after
every 2026 spring change in the northern hemisphere and after October's in the southern one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler.timeengine import (
    dst_gap_warning,
    first_shared_minute,
    names_wall_minute,
    offset_changes,
    parse,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NEW_YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)

WARNINGS = [
    (
        "cron(30 2 * * ? *)",
        "Europe/Berlin",
        NOW,
        # last Sunday of March 2027 is the 28th (31 March 2027 is a Wednesday)
        "02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go forward from 02:00 to "
        "03:00), so that run is skipped",
    ),
    (
        "cron(30 2 * * ? *)",
        "Europe/Berlin",
        NEW_YEAR_2026,
        "02:30 does not exist on 2026-03-29 in Europe/Berlin (clocks go forward from 02:00 to "
        "03:00), so that run is skipped",
    ),
    (
        "cron(0/15 2 * * ? *)",
        "Europe/Berlin",
        NOW,
        "02:00, 02:15, 02:30 and 02:45 do not exist on 2027-03-28 in Europe/Berlin (clocks go "
        "forward from 02:00 to 03:00), so those runs are skipped",
    ),
    (
        "cron(* 2 * * ? *)",
        "Europe/Berlin",
        NOW,
        "02:00, 02:01, 02:02 and 57 more times do not exist on 2027-03-28 in Europe/Berlin "
        "(clocks go forward from 02:00 to 03:00), so those runs are skipped",
    ),
    (
        "cron(30 2 29 3 ? *)",
        "Europe/Berlin",
        NOW,
        # 29 March is the last Sunday again only in 2037 (2027: 28th, 2028: 26th, ... 2036: 30th)
        "02:30 does not exist on 2037-03-29 in Europe/Berlin (clocks go forward from 02:00 to "
        "03:00), so that run is skipped",
    ),
    (
        "cron(30 2 * * ? *)",
        "America/New_York",
        NOW,
        # second Sunday of March 2027: 1 March is a Monday, so the 14th
        "02:30 does not exist on 2027-03-14 in America/New_York (clocks go forward from 02:00 "
        "to 03:00), so that run is skipped",
    ),
    (
        "cron(30 2 * * ? *)",
        "Australia/Sydney",
        NOW,
        # 4 October 2026 has passed; first Sunday of October 2027 is the 3rd
        "02:30 does not exist on 2027-10-03 in Australia/Sydney (clocks go forward from 02:00 "
        "to 03:00), so that run is skipped",
    ),
    (
        "cron(0/15 2 * * ? *)",
        "Australia/Lord_Howe",
        NOW,
        # a 30-minute shift: only 02:00-02:29 is missing
        "02:00 and 02:15 do not exist on 2027-10-03 in Australia/Lord_Howe (clocks go forward "
        "from 02:00 to 02:30), so those runs are skipped",
    ),
    (
        "cron(15 2 ? * SUN *)",
        "Australia/Adelaide",
        NOW,
        "02:15 does not exist on 2027-10-03 in Australia/Adelaide (clocks go forward from 02:00 "
        "to 03:00), so that run is skipped",
    ),
    (
        "cron(30 0 * * ? *)",
        "America/Santiago",
        NOW,
        # Chile jumps at midnight: 00:00-00:59 on the first Sunday of September from the 2nd
        "00:30 does not exist on 2027-09-05 in America/Santiago (clocks go forward from 00:00 "
        "to 01:00), so that run is skipped",
    ),
    (
        "cron(0 3 * * ? *)",
        "Pacific/Chatham",
        NOW,
        # +12:45 -> +13:45 on the last Sunday of September (2027: the 26th) at 02:45 local
        "03:00 does not exist on 2027-09-26 in Pacific/Chatham (clocks go forward from 02:45 "
        "to 03:45), so that run is skipped",
    ),
    (
        "cron(30 1,2 * * ? *)",
        "Antarctica/Troll",
        NOW,
        # +00 -> +02 (a two-hour jump) at 01:00 UTC on the EU date, 2027-03-28
        "01:30 and 02:30 do not exist on 2027-03-28 in Antarctica/Troll (clocks go forward from "
        "01:00 to 03:00), so those runs are skipped",
    ),
    (
        "at(2027-03-28T02:30:00)",
        "Europe/Berlin",
        NOW,
        "02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go forward from 02:00 to "
        "03:00), so at(2027-03-28T02:30:00) never fires; write a time that exists, such as "
        "03:00",
    ),
    (
        "cron(30 2 20 10 ? *)",
        "Asia/Gaza",
        NOW,
        # Forward on 2040-10-20 and back on the 26th, six days apart (DST paused for Ramadan):
        # a weekly sample saw the same offset on both sides and missed the gap.
        "02:30 does not exist on 2040-10-20 in Asia/Gaza (clocks go forward from 02:00 to "
        "03:00), so that run is skipped",
    ),
]


@pytest.mark.parametrize(("expr", "tz", "now", "message"), WARNINGS)
def test_warns_with_the_skipped_times_and_the_next_date(
    expr: str, tz: str, now: datetime, message: str
) -> None:
    assert dst_gap_warning(parse(expr, now=now), tz, now=now) == message


NO_WARNING = [
    ("cron(0 8 ? * MON-FRI *)", "Europe/Berlin", "office hours are nowhere near the gap"),
    ("cron(30 2 ? * MON-FRI *)", "Europe/Berlin", "the gap is always on a Sunday"),
    ("cron(30 2 ? * 1#1 *)", "Europe/Berlin", "the first Sunday is never the last one of March"),
    ("cron(30 2 * * ? *)", "Asia/Kolkata", "no DST"),
    ("cron(30 2 * * ? *)", "UTC", "UTC never adjusts"),
    ("cron(45 2 * * ? *)", "Australia/Lord_Howe", "02:30-02:59 exists on the change day"),
    ("cron(0 3 * * ? *)", "Europe/Berlin", "03:00 is where the clock lands: it exists"),
    ("cron(30 2 * * ? 2026)", "Europe/Berlin", "2026's change has passed and no later year"),
    ("cron(30 1 * * ? *)", "America/New_York", "a repeated time fires once: no warning"),
    ("cron(30 0 * * ? *)", "America/Sao_Paulo", "Brazil abolished DST in 2019"),
    ("cron(30 0 * * ? *)", "Asia/Tehran", "Iran abolished DST in 2022"),
    ("cron(30 2 * * ? *)", "Europe/Moscow", "Russia abolished DST in 2011"),
    ("rate(1 hour)", "Europe/Berlin", "rate() is elapsed time"),
    ("at(2027-03-28T03:30:00)", "Europe/Berlin", "exists"),
    ("at(2027-10-31T02:30:00)", "Europe/Berlin", "repeated, fires on its first pass"),
    ("cron(30 2 * * ? *)", "Europe/Berln", "a bad zone is check_timezone's to report"),
]


@pytest.mark.parametrize(("expr", "tz", "why"), NO_WARNING)
def test_no_warning(expr: str, tz: str, why: str) -> None:
    assert dst_gap_warning(parse(expr, now=NOW), tz, now=NOW) is None, why


def test_default_now_is_the_current_time() -> None:
    warning = dst_gap_warning("cron(30 2 * * ? *)", "Europe/Berlin")
    assert warning is not None
    when = warning.split(" on ")[1][:10]
    assert when >= datetime.now(UTC).strftime("%Y-%m-%d")


# start and stop of one rule must never fire in the same minute.
SHARED = [
    # Weekdays at 08:00 and the 1st at 08:00: the first weekday 1st after now.
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 1 * ? *)", "Europe/Berlin", datetime(2026, 12, 1, 8, 0)),
    # Mondays and the 15th: 2027-02-15 is the first Monday the 15th after 2026-11-27.
    ("cron(30 7 ? * MON *)", "cron(30 7 15 * ? *)", "UTC", datetime(2027, 2, 15, 7, 30)),
    ("cron(0 8 ? * MON-FRI *)", "at(2026-12-01T08:00:30)", "UTC", datetime(2026, 12, 1, 8, 0)),
    ("at(2027-01-04T09:15:00)", "at(2027-01-04T09:15:59)", "UTC", datetime(2027, 1, 4, 9, 15)),
    ("cron(0 8 ? * MON-FRI *)", "cron(0 19 1 * ? *)", "UTC", None),
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * SAT-SUN *)", "UTC", None),
    # The 29th of February falls on a weekday only in 2028 within two years.
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 29 2 ? *)", "UTC", datetime(2028, 2, 29, 8, 0)),
    # Both in the gap: neither fires, so they never fire together that day.
    ("cron(30 2 ? * SUN *)", "cron(30 2 28 3 ? 2027)", "Europe/Berlin", None),
    (
        "cron(30 3 ? * SUN *)",
        "cron(30 3 28 3 ? 2027)",
        "Europe/Berlin",
        datetime(2027, 3, 28, 3, 30),
    ),
    ("rate(1 hour)", "cron(0 8 * * ? *)", "UTC", None),
    ("cron(0 8 ? * MON-FRI *)", "at(2025-12-01T08:00:00)", "UTC", None),
]


@pytest.mark.parametrize(("start", "stop", "tz", "expected"), SHARED)
def test_first_shared_minute(start: str, stop: str, tz: str, expected: datetime | None) -> None:
    shared = first_shared_minute(parse(start, now=NOW), parse(stop, now=NOW), tz, now=NOW)
    assert shared == expected


def test_a_shared_minute_beyond_the_horizon_is_not_looked_for() -> None:
    # Weekdays and 1 March 2030 (a Friday): more than two years ahead.
    start, stop = parse("cron(0 8 ? * MON-FRI *)"), parse("cron(0 8 1 3 ? 2030)")
    assert first_shared_minute(start, stop, "UTC", now=NOW) is None
    assert first_shared_minute(start, stop, "UTC", now=NOW, days=4000) == datetime(2030, 3, 1, 8)


def test_offset_changes_lists_both_directions_within_the_window() -> None:
    changes = offset_changes("Europe/Berlin", NEW_YEAR_2026, datetime(2027, 1, 1, tzinfo=UTC))
    assert [
        (c.instant.isoformat(), c.forward, f"{c.wall_before:%H:%M}", f"{c.wall_after:%H:%M}")
        for c in changes
    ] == [
        ("2026-03-29T01:00:00+00:00", True, "02:00", "03:00"),
        ("2026-10-25T01:00:00+00:00", False, "03:00", "02:00"),
    ]
    assert changes[1].before == timedelta(hours=2)
    assert offset_changes("UTC", NEW_YEAR_2026, datetime(2030, 1, 1, tzinfo=UTC)) == []
    # [start, end): a change exactly at the end is left out
    assert offset_changes("Europe/Berlin", NEW_YEAR_2026, changes[0].instant) == []


@pytest.mark.parametrize(
    ("expr", "wall", "named"),
    [
        ("cron(30 2 ? * SUN *)", datetime(2027, 3, 28, 2, 30), True),
        ("cron(30 2 ? * SUN *)", datetime(2027, 3, 29, 2, 30), False),
        ("cron(30 2 ? * SUN *)", datetime(2027, 3, 28, 2, 31), False),
        ("at(2027-03-28T02:30:00)", datetime(2027, 3, 28, 2, 30), True),
        ("rate(1 minute)", datetime(2027, 3, 28, 2, 30), False),
    ],
)
def test_names_wall_minute(expr: str, wall: datetime, named: bool) -> None:
    assert names_wall_minute(expr, wall) is named
