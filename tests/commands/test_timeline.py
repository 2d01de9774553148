"""`reconcile timeline` through click's CliRunner: exact text and JSON, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[2]
NIGHTLY = """\
version: 1
rules:
  - name: nightly-batch
    timezone: Europe/Berlin
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      tag:Role: batch
    start: cron(30 1 * * ? *)
    stop: cron(0 4 * * ? *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "batch.yaml").write_text(NIGHTLY, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _timeline(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["timeline", *args])
    assert "Traceback" not in result.output
    return result


@pytest.mark.usefixtures("project")
def test_text_across_the_spring_change() -> None:
    result = _timeline("--start", "2027-03-27", "--days", "2")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert result.stdout == (
        "Timeline from 2027-03-27 00:00 UTC to 2027-03-29 00:00 UTC (2 days), 1 rule\n"
        "\n"
        "nightly-batch (Europe/Berlin): on 4.5 of 48 hours\n"
        "                  00  02  04  06  08  10  12  14  16  18  20  22\n"
        "  Sat 2027-03-27    .#####........................................\n"
        "  Sun 2027-03-28  ...#  ##........................................  DST: 02:00 jumps to 03:00\n"
        "  Mon 2027-03-29  ...#\n"
        "                  # on  . off  blank: outside the window, or a time that does not exist\n"
        "  firings (local time, then UTC):\n"
        "    start  Sat 2027-03-27 01:30+01:00  2027-03-27 00:30Z\n"
        "    stop   Sat 2027-03-27 04:00+01:00  2027-03-27 03:00Z\n"
        "    start  Sun 2027-03-28 01:30+01:00  2027-03-28 00:30Z\n"
        "    stop   Sun 2027-03-28 04:00+02:00  2027-03-28 02:00Z\n"
        "    start  Mon 2027-03-29 01:30+02:00  2027-03-28 23:30Z\n"
        "  note: 2027-03-28: clocks go forward in Europe/Berlin (02:00 to 03:00, UTC+01:00 to "
        "UTC+02:00), a\n"
        "        23-hour day; fire times keep their local time\n"
    )


@pytest.mark.usefixtures("project")
def test_json_is_the_pinned_document_alone_on_stdout() -> None:
    result = _timeline("--start", "2027-03-28T00:00:00+01:00", "--days", "1", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == [
        {
            "rule": "nightly-batch",
            "timezone": "Europe/Berlin",
            "firings": [
                {
                    "action": "start",
                    "local": "2027-03-28T01:30:00+01:00",
                    "utc": "2027-03-28T00:30:00Z",
                    "skipped": None,
                },
                {
                    "action": "stop",
                    "local": "2027-03-28T04:00:00+02:00",
                    "utc": "2027-03-28T02:00:00Z",
                    "skipped": None,
                },
            ],
            "on_hours": 1.5,
            "notes": [
                "2027-03-28: clocks go forward in Europe/Berlin (02:00 to 03:00, UTC+01:00 to "
                "UTC+02:00), a 23-hour day; fire times keep their local time"
            ],
        }
    ]


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.mark.usefixtures("examples")
def test_rules_are_shown_in_the_order_asked_once_each() -> None:
    result = _timeline(
        "--start",
        "2026-11-30",
        "--format",
        "json",
        "--rule",
        "integration-weekdays",
        "--rule",
        "dev-office-hours",
        "--rule",
        "integration-weekdays",
    )
    document = json.loads(result.stdout)
    assert [(r["rule"], r["on_hours"]) for r in document] == [
        ("integration-weekdays", 70.0),
        ("dev-office-hours", 55.0),
    ]


@pytest.mark.usefixtures("examples")
def test_every_example_over_a_fortnight_with_dst_fits_in_100_columns() -> None:
    result = _timeline("--start", "2027-03-22", "--days", "14")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "  Sun 2027-03-28  " in result.stdout
    berlin_dst = [line for line in lines if line.startswith("  Sun 2027-03-28")]
    # Five enabled rules show the day; only the two in Berlin change clocks on it (New York
    # changed on the 14th, Sydney changes on 4 April, London's rule is disabled).
    assert len(berlin_dst) == 5
    assert sum(line.endswith("DST: 02:00 jumps to 03:00") for line in berlin_dst) == 2
    assert "staging-patch-window (Europe/London): disabled\n" in result.stdout


@pytest.mark.usefixtures("examples")
def test_the_default_window_starts_now_and_lasts_a_week() -> None:
    result = _timeline("--format", "json", "--rule", "dev-office-hours")
    assert result.exit_code == 0
    [entry] = json.loads(result.stdout)
    assert 44.0 <= entry["on_hours"] <= 55.0  # five or six office days of 11 hours, clipped
    assert 8 <= len(entry["firings"]) <= 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rule", "nightly-bach"],
            "error: --rule nightly-bach: no rule of that name in schedules; did you mean "
            "'nightly-batch'?\n",
        ),
        (
            ["--rule", "zzz"],
            "error: --rule zzz: no rule of that name in schedules; its rules are nightly-batch\n",
        ),
        (["--days", "0"], "error: --days must be between 1 and 366, not 0\n"),
        (["--days", "367"], "error: --days must be between 1 and 366, not 367\n"),
        (
            ["--start", "next monday"],
            "error: --start 'next monday' is not an ISO 8601 date or time, e.g. 2026-12-07, "
            "2026-12-07T08:00 or 2026-12-07T08:00:00+01:00\n",
        ),
        (
            ["--start", "2199-06-01"],
            "error: --start '2199-06-01' must be in the years EventBridge schedules, 1970-2198\n",
        ),
        (
            ["--rules", "nowhere"],
            "error: rules directory nowhere not found: run reconcile from the repository root "
            "or point --rules at the directory of rule files\n",
        ),
    ],
)
@pytest.mark.usefixtures("project")
def test_bad_input_is_one_line_and_exit_1(args: list[str], message: str) -> None:
    result = _timeline(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.endswith(message)


def test_rules_with_errors_are_listed_and_nothing_is_shown(
    project: Path,
) -> None:
    (project / "schedules" / "bad.yaml").write_text(
        NIGHTLY.replace("nightly-batch", "broken").replace("cron(0 4", "cron(0 25"),
        encoding="utf-8",
    )
    result = _timeline("--start", "2027-03-27")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.endswith(
        "error: the rules have 1 error (listed above): fix them and run again "
        "(`reconcile validate` checks them)\n"
    )
    assert "schedules/bad.yaml:10:11: error: " in result.stderr


def test_a_calendar_day_is_a_skipped_firing_with_the_holiday(project: Path) -> None:
    # 2026-12-25 is Christmas in Germany; 2026-12-28 is one of the calendar's own dates.
    (project / "calendars").mkdir()
    (project / "calendars" / "office.yaml").write_text(
        "version: 1\ncountry: DE\ndates: [2026-12-28]\n", encoding="utf-8"
    )
    (project / "schedules" / "batch.yaml").write_text(
        NIGHTLY + "    calendar: office\n", encoding="utf-8"
    )
    result = _timeline("--start", "2026-12-24T12:00:00Z", "--days", "5", "--format", "json")
    assert result.exit_code == 0, result.output
    (rule,) = json.loads(result.output)
    skipped = {f["local"]: f["skipped"] for f in rule["firings"] if f["skipped"]}
    assert skipped == {
        "2026-12-25T01:30:00+01:00": "calendar office: 2026-12-25 is a public holiday in DE "
        "(Erster Weihnachtstag)",
        "2026-12-25T04:00:00+01:00": "calendar office: 2026-12-25 is a public holiday in DE "
        "(Erster Weihnachtstag)",
        "2026-12-26T01:30:00+01:00": "calendar office: 2026-12-26 is a public holiday in DE "
        "(Zweiter Weihnachtstag)",
        "2026-12-26T04:00:00+01:00": "calendar office: 2026-12-26 is a public holiday in DE "
        "(Zweiter Weihnachtstag)",
        "2026-12-28T01:30:00+01:00": "calendar office: 2026-12-28 is one of its dates",
        "2026-12-28T04:00:00+01:00": "calendar office: 2026-12-28 is one of its dates",
    }
    # Only the nights of the 27th and the 29th act (the 24th's is before the window): 2.5 h each.
    assert rule["on_hours"] == 5.0
