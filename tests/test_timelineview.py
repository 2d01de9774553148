"""timelineview: the week grid's cells (DST days, half hours, the window's edges) and the JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from recon_support import rule

from reconciler.timeline import Firing
from reconciler.timelineview import build, to_json, week_grid

HEADER = "                00  02  04  06  08  10  12  14  16  18  20  22"
LEGEND = "                # on  . off  blank: outside the window, or a time that does not exist"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_half_hours_and_the_edges_of_the_window() -> None:
    office = rule(
        "office",
        timezone="America/New_York",
        start="cron(30 7 ? * MON-FRI *)",
        stop="cron(30 18 ? * MON-FRI *)",
    )
    # 2026-12-01 is a Tuesday; 10:00Z is 05:00 in New York, and the window ends at 21:00 there.
    assert week_grid(office, utc(2026, 12, 1, 10), utc(2026, 12, 2, 2)) == [
        HEADER,
        "Tue 2026-12-01            ....." + "#" * 22 + ".....",
        LEGEND,
    ]


def test_the_repeated_hour_is_on_if_either_pass_is() -> None:
    late = rule("late", timezone="Europe/Berlin", start="at(2026-10-25T02:20:00)")
    lines = week_grid(late, utc(2026, 10, 24, 22), utc(2026, 10, 25, 22))
    # at() fires on the first pass (00:20 UTC): a third of the 02:00 cell's first pass is on,
    # its second pass all of it; the window ends at 23:00 CET.
    assert lines[1] == "Sun 2026-10-25  ...." + "#" * 42 + "    DST: 03:00 goes back to 02:00"


def test_a_spring_gap_is_blank() -> None:
    always = rule("always", timezone="Europe/Berlin", start="cron(0 0 1 1 ? *)", stop=None)
    lines = week_grid(always, utc(2027, 3, 27, 23), utc(2027, 3, 28, 22))
    assert lines[1] == "Sun 2027-03-28  ####  " + "#" * 42 + "  DST: 02:00 jumps to 03:00"


def test_json_of_a_skipped_firing() -> None:
    def christmas(_rule: object, firing: Firing) -> str | None:
        return "holiday: Christmas Day" if firing.local.day == 25 else None

    timeline = build(
        rule("office", timezone="Europe/Berlin"),
        utc(2026, 12, 25),
        utc(2026, 12, 25, 12),
        skip=christmas,
    )
    assert to_json(timeline) == {
        "rule": "office",
        "timezone": "Europe/Berlin",
        "firings": [
            {
                "action": "start",
                "local": "2026-12-25T08:00:00+01:00",
                "utc": "2026-12-25T07:00:00Z",
                "skipped": "holiday: Christmas Day",
            }
        ],
        "on_hours": 0.0,
        "notes": [],
    }
