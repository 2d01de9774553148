"""Calendars (§12): holiday and date skips in the rule's own zone, and the checks' wording."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reconciler.calendarfiles import load_calendars
from reconciler.calendars import (
    Calendar,
    check_event_calendar,
    check_place,
    skip_reason,
    skip_reason_at,
)
from reconciler.loader import load_rules

DE_BY = Calendar("de-by", country="DE", subdivision="BY", dates=("2026-12-24",))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 24), "calendar de-by: 2026-12-24 is one of its dates"),
        (
            date(2026, 12, 25),
            "calendar de-by: 2026-12-25 is a public holiday in DE-BY (Erster Weihnachtstag)",
        ),
        # Epiphany is a holiday in Bavaria, not in Berlin.
        (
            date(2026, 1, 6),
            "calendar de-by: 2026-01-06 is a public holiday in DE-BY (Heilige Drei Könige)",
        ),
        (date(2026, 12, 23), None),
    ],
)
def test_skip_reason_names_the_holiday_or_the_date(day: date, expected: str | None) -> None:
    assert skip_reason(DE_BY, day) == expected


def test_the_date_is_the_rules_local_date_not_the_utc_one() -> None:
    # 23:30 UTC on 24 Dec is 10:30 on the 25th in Sydney: Christmas there, not in UTC.
    late = datetime(2026, 12, 24, 23, 30, tzinfo=UTC)
    au = Calendar("au", country="AU", timezone="Australia/Sydney")
    assert skip_reason_at(au, late) == (
        "calendar au: 2026-12-25 is a public holiday in AU (Christmas Day)"
    )
    assert skip_reason_at(au.in_zone("UTC"), late) is None


def test_unknown_country_and_subdivision_name_the_nearest() -> None:
    assert check_place("DX", None) == [
        ("country", "unknown country 'DX': did you mean DE or DJ or DK?")
    ]
    assert check_place("DE", "BYY") == [
        ("subdivision", "unknown subdivision 'BYY' of DE: did you mean BY or HB or BW?")
    ]
    assert check_place(None, "BY") == [
        ("subdivision", "subdivision needs a country (e.g. country: DE)")
    ]
    assert check_place("DE", "BY") == []


def test_the_event_calendar_is_checked() -> None:
    assert check_event_calendar(DE_BY.in_zone("Europe/Berlin").as_event()) == []
    assert check_event_calendar(
        {"name": "x", "timezone": "Mars/Base", "dates": ["2026-13-01"]}
    ) == [
        "calendar.timezone: unknown time zone 'Mars/Base'",
        "calendar.dates: 2026-13-01 is not a real date",
    ]
    assert check_event_calendar({"name": "x", "timezone": "UTC"}) == [
        "calendar: needs a country or dates"
    ]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


RULE = """version: 1
rules:
  - name: dev
    timezone: Europe/Berlin
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {tag:Environment: dev}
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
    calendar: CAL
"""


def test_a_rule_carries_its_calendar_in_its_own_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(
        tmp_path / "calendars/de-by.yaml",
        "version: 1\ncountry: DE\nsubdivision: BY\ndates: [2026-12-24]\n",
    )
    _write(tmp_path / "schedules/dev.yaml", RULE.replace("CAL", "de-by"))
    result = load_rules(["schedules"])
    assert result.ok, result.diagnostics
    (rule,) = result.rules
    assert rule.calendar == "de-by"
    assert rule.calendar_spec == Calendar(
        "de-by", "DE", "BY", ("2026-12-24",), timezone="Europe/Berlin"
    )


def test_calendar_errors_are_file_line_col(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "calendars/de.yaml", "version: 1\ncountry: DX\n")
    _write(tmp_path / "calendars/x.yaml", "version: 1\ndates: [2026-02-30]\ncolour: red\n")
    _write(tmp_path / "schedules/dev.yaml", RULE.replace("CAL", "nope"))
    texts = [d.text() for d in load_rules(["schedules"]).diagnostics]
    assert texts == [
        "calendars/de.yaml:2:10: error: unknown country 'DX': did you mean DE or DJ or DK?",
        "calendars/x.yaml:3:1: error: unknown key 'colour' in the calendar; allowed: version, "
        "description, country, subdivision, dates",
        "schedules/dev.yaml:10:15: error: unknown calendar 'nope': there is no "
        "calendars/nope.yaml (calendars there: de, x)",
    ]


def test_a_calendar_needs_a_country_or_dates(tmp_path: Path) -> None:
    _write(tmp_path / "cal/empty.yaml", "version: 1\n")
    loaded = load_calendars(str(tmp_path / "cal"))
    assert loaded.by_name == {"empty": None}
    assert len(loaded.diagnostics) == 1
    assert "country" in loaded.diagnostics[0].message


def test_a_code_in_the_wrong_case_names_only_the_right_one() -> None:
    assert check_place("us", None) == [("country", "unknown country 'us': did you mean US?")]
