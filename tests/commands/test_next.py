"""`reconcile next` through click's CliRunner: output, notes, exit codes, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli


def _next(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["next", *args])
    assert "Traceback" not in result.output
    return result


def test_pinned_example() -> None:
    result = _next(
        "cron(0 8 ? * MON-FRI *)",
        "--timezone",
        "Europe/Berlin",
        "--after",
        "2026-03-27T09:00:00+01:00",
        "--count",
        "3",
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2026-03-30T08:00:00+02:00",
        "2026-03-31T08:00:00+02:00",
        "2026-04-01T08:00:00+02:00",
    ]
    assert result.stderr == ""


def test_defaults_are_utc_and_five_fire_times_from_now() -> None:
    result = _next("cron(0 12 * * ? *)")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert all(line.endswith("T12:00:00+00:00") for line in lines)
    first = datetime.fromisoformat(lines[0])
    assert 0 < (first - datetime.now(UTC)).total_seconds() <= 86_400


def test_short_count_option() -> None:
    result = _next("rate(5 minutes)", "--after", "2026-01-01T00:00:00Z", "-n", "2")
    assert result.stdout.splitlines() == ["2026-01-01T00:05:00+00:00", "2026-01-01T00:10:00+00:00"]


def test_dst_gap_is_skipped_and_the_repeat_fires_once() -> None:
    spring = _next(
        "cron(30 2 * * ? *)",
        "--timezone",
        "Europe/Berlin",
        "--after",
        "2026-03-28T12:00",
        "-n",
        "2",
    )
    assert spring.stdout.splitlines() == ["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"]
    autumn = _next(
        "cron(30 1 * * ? *)",
        "--timezone",
        "America/New_York",
        "--after",
        "2026-10-31T12:00",
        "-n",
        "2",
    )
    assert autumn.stdout.splitlines() == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


@pytest.mark.parametrize(
    ("after", "first"),
    [
        ("2026-03-29T01:59", "2026-03-29T03:00:00+02:00"),  # no offset: Berlin wall time
        ("2026-03-29", "2026-03-29T03:00:00+02:00"),  # a date: midnight in the zone
        ("2026-03-29T01:00:00Z", "2026-03-30T03:00:00+02:00"),  # 01:00Z is 03:00 CEST itself
        ("2026-03-29T00:59:00+00:00", "2026-03-29T03:00:00+02:00"),
    ],
)
def test_after_without_an_offset_is_read_in_the_zone(after: str, first: str) -> None:
    result = _next("cron(0 3 * * ? *)", "--timezone", "Europe/Berlin", "--after", after, "-n", "1")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [first]


def test_rate_counts_from_after_and_says_so() -> None:
    result = _next(
        "rate(1 hours)", "--timezone", "Asia/Kolkata", "--after", "2026-01-01T09:00", "-n", "2"
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["2026-01-01T10:00:00+05:30", "2026-01-01T11:00:00+05:30"]
    assert result.stderr == (
        "note: rate(1 hour) counts from --after (2026-01-01T09:00:00+05:30) here; on AWS it "
        "counts from when the schedule is created, or from its StartDate\n"
    )


def test_at_in_the_future_fires_once() -> None:
    result = _next(
        "at(2026-03-30T08:00:00)", "--timezone", "Europe/Berlin", "--after", "2026-03-01"
    )
    assert result.exit_code == 0
    assert result.stdout == "2026-03-30T08:00:00+02:00\n"
    assert result.stderr == ""


def test_at_in_the_past_prints_nothing_and_exits_0() -> None:
    result = _next("at(2020-01-01T00:00:00)", "--after", "2026-01-01T00:00:00Z")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "note: at(2020-01-01T00:00:00) fires once, at 2020-01-01T00:00:00+00:00, which is not "
        "after 2026-01-01T00:00:00+00:00: nothing to show\n"
    )


def test_at_in_a_dst_gap_never_fires_and_says_why() -> None:
    result = _next(
        "at(2026-03-29T02:30:00)", "--timezone", "Europe/Berlin", "--after", "2026-03-01"
    )
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "note: 02:30 does not exist on 2026-03-29 in Europe/Berlin (clocks go forward from 02:00 "
        "to 03:00), so at(2026-03-29T02:30:00) never fires; write a time that exists, such as 03:00\n"
    )


def test_a_cron_that_runs_out_prints_what_is_left() -> None:
    result = _next("cron(0 0 1 1 ? 2198-2199)", "--after", "2026-01-01T00:00:00Z")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["2198-01-01T00:00:00+00:00", "2199-01-01T00:00:00+00:00"]
    assert (
        result.stderr == "note: only 2 fire times left: the year field '2198-2199' ends in 2199\n"
    )


def test_after_in_the_past_shows_a_cron_whose_years_are_over_by_now() -> None:
    # 2026-02 is before the clock's present, but --after asks about it: no "in the past" error.
    result = _next("cron(0 0 15W 2 ? 2026)", "--after", "2026-01-01T00:00:00Z")
    assert result.exit_code == 0
    assert result.stdout == "2026-02-16T00:00:00+00:00\n"  # the 15th is a Sunday
    assert result.stderr == "note: only 1 fire time left: the year field '2026' ends in 2026\n"


def test_after_beyond_the_last_year_prints_nothing_and_says_why() -> None:
    result = _next("cron(0 0 1 1 ? 2190)", "--after", "2195-01-01T00:00:00Z")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        "note: no fire times after 2195-01-01T00:00:00+00:00: the year field '2190' ends in 2190\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["cron(0 8 * * *)"],
            "error: cron(0 8 * * *): cron has 5 fields, but EventBridge needs 6 (minutes hours "
            "day-of-month month day-of-week year): add the year, e.g. cron(0 8 ? * MON-FRI *)",
        ),
        (
            ["cron(0 8 ? * 2-6/2 *)"],
            "error: cron(0 8 ? * 2-6/2 *): day-of-week field '2-6/2': '/' is not allowed in "
            "day-of-week",
        ),
        (
            ["cron(0 8 * * ? 2020)"],
            "error: cron(0 8 * * ? 2020): year field '2020': every date it allows is in the past, "
            "so the schedule would never fire",
        ),
        (
            ["rate(5 minutes)", "--timezone", "Europe/Berln"],
            "error: --timezone: 'Europe/Berln' is not an IANA time zone name; did you mean "
            "'Europe/Berlin'?",
        ),
        (
            ["rate(5 minutes)", "--after", "yesterday"],
            "error: --after 'yesterday' is not an ISO 8601 date or time, e.g. 2026-03-30, "
            "2026-03-30T08:00 or 2026-03-30T08:00:00+02:00",
        ),
        (
            ["rate(5 minutes)", "--after", "2026-02-30T08:00"],
            "error: --after '2026-02-30T08:00' is not an ISO 8601 date or time, e.g. 2026-03-30, "
            "2026-03-30T08:00 or 2026-03-30T08:00:00+02:00",
        ),
        (
            ["rate(5 minutes)", "--after", "1969-12-31T23:00:00Z"],
            "error: --after '1969-12-31T23:00:00Z' must be in the years EventBridge schedules, "
            "1970-2199",
        ),
        (
            ["rate(5 minutes)", "--after", "9999-12-31"],
            "error: --after '9999-12-31' must be in the years EventBridge schedules, 1970-2199",
        ),
        (["rate(5 minutes)", "--count", "0"], "error: --count must be between 1 and 10000, not 0"),
        (
            ["rate(5 minutes)", "--count", "10001"],
            "error: --count must be between 1 and 10000, not 10001",
        ),
    ],
)
def test_bad_input_exits_1_with_one_error_line(args: list[str], message: str) -> None:
    result = _next(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == message + "\n"


def test_a_count_that_is_not_a_number_is_a_usage_error() -> None:
    result = _next("rate(5 minutes)", "--count", "many")
    assert result.exit_code == 1
    assert "'many' is not a valid integer" in result.stderr


def test_a_missing_expression_is_a_usage_error() -> None:
    result = _next()
    assert result.exit_code == 1
    assert "Missing argument 'EXPRESSION'" in result.stderr


def test_a_calendar_marks_the_dates_it_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    calendars = tmp_path / "calendars"
    calendars.mkdir()
    (calendars / "de-by.yaml").write_text(
        "version: 1\ncountry: DE\nsubdivision: BY\ndates: [2026-12-24]\n", encoding="utf-8"
    )
    args = ["cron(30 23 ? * MON-FRI *)", "--timezone", "Europe/Berlin", "--after", "2026-12-23"]
    result = _next(*args, "--count", "3", "--calendar", "de-by")
    assert result.exit_code == 0, result.output
    # 23:30 in Berlin is 22:30 UTC: the local date is the one that counts.
    assert result.stdout.splitlines() == [
        "2026-12-23T23:30:00+01:00",
        "2026-12-24T23:30:00+01:00  skipped: calendar de-by: 2026-12-24 is one of its dates",
        "2026-12-25T23:30:00+01:00  skipped: calendar de-by: 2026-12-25 is a public holiday in "
        "DE-BY (Erster Weihnachtstag)",
    ]


def test_an_unknown_calendar_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _next("cron(0 8 * * ? *)", "--calendar", "nope")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --calendar: no calendar file calendars/nope.yaml (give a name in calendars/ "
        "or a file)\n"
    )
