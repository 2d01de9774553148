"""Fire times, hand-checked: every expected instant below was worked out by hand from the
calendar and the zone's rules (not produced by the code under test), with the reason beside it.

Zone facts used (tzdata 2026; the engine's own DST detection is not trusted for these):
- Europe/Berlin: CET +01:00 / CEST +02:00. 2026-03-29 01:00Z: 02:00 -> 03:00 (02:xx missing).
  2026-10-25 01:00Z: 03:00 -> 02:00 (02:xx repeated).
- America/New_York: EST -05:00 / EDT -04:00. 2026-03-08 07:00Z: 02:00 -> 03:00.
  2026-11-01 06:00Z: 02:00 -> 01:00 (01:xx repeated).
- Australia/Sydney: AEST +10:00 / AEDT +11:00. 2026-04-04 16:00Z (Sun 5 Apr 03:00 local) -> 02:00
  (02:xx repeated). 2026-10-03 16:00Z (Sun 4 Oct 02:00 local) -> 03:00 (02:xx missing).
- Australia/Adelaide: ACST +09:30 / ACDT +10:30, same dates, 30 minutes later in UTC.
- Australia/Lord_Howe: +10:30 / +11:00 (a 30-minute shift). 2026-04-04 15:00Z: 02:00 -> 01:30
  (01:30-01:59 repeated). 2026-10-03 15:30Z: 02:00 -> 02:30 (02:00-02:29 missing).
- Asia/Kolkata: +05:30 all year.
- America/Santiago and Pacific/Chatham: the facts are beside their cases.
- Weekdays: 2026-01-01 is a Thursday; Sundays 2026-03-08, 03-29, 04-05, 10-04, 10-25, 11-01.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from reconciler import timeengine
from reconciler.timeengine import Expression, iter_fires, next_fires


@dataclass(frozen=True)
class Case:
    expr: str
    tz: str
    after: str  # ISO 8601; the first fire must be strictly after it
    fires: tuple[tuple[str, str], ...]  # (local ISO with offset, the same instant in UTC)
    why: str
    complete: bool = False  # True: these are ALL the fires after `after` (the cron runs out)


def _case_id(case: Case) -> str:
    return f"{case.tz}:{case.expr}:{case.after}"


DST_CASES = [
    # --- Europe/Berlin, spring forward 2026-03-29 ---
    Case(
        "cron(30 2 * * ? *)",
        "Europe/Berlin",
        "2026-03-27T12:00:00+01:00",
        (
            ("2026-03-28T02:30:00+01:00", "2026-03-28T01:30Z"),
            # 2026-03-29 02:30 does not exist: skipped, NOT moved to 03:00/03:30 (croniter
            # would fire at 03:00+02:00).
            ("2026-03-30T02:30:00+02:00", "2026-03-30T00:30Z"),
        ),
        "a time in the spring gap is skipped",
    ),
    Case(
        "cron(0 2 * * ? *)",
        "Europe/Berlin",
        "2026-03-28T00:00:00+01:00",
        (
            ("2026-03-28T02:00:00+01:00", "2026-03-28T01:00Z"),
            ("2026-03-30T02:00:00+02:00", "2026-03-30T00:00Z"),
        ),
        "02:00 itself is the first missing minute",
    ),
    Case(
        "cron(0 3 * * ? *)",
        "Europe/Berlin",
        "2026-03-28T00:00:00+01:00",
        (
            ("2026-03-28T03:00:00+01:00", "2026-03-28T02:00Z"),
            (
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T01:00Z",
            ),  # 03:00 exists: the jump lands on it
            ("2026-03-30T03:00:00+02:00", "2026-03-30T01:00Z"),
        ),
        "the first minute after the gap fires normally",
    ),
    Case(
        "cron(0/30 1-3 ? * SUN 2026)",
        "Europe/Berlin",
        "2026-03-29T00:00:00+01:00",
        (
            ("2026-03-29T01:00:00+01:00", "2026-03-29T00:00Z"),
            ("2026-03-29T01:30:00+01:00", "2026-03-29T00:30Z"),
            # 02:00 and 02:30 skipped
            ("2026-03-29T03:00:00+02:00", "2026-03-29T01:00Z"),
            ("2026-03-29T03:30:00+02:00", "2026-03-29T01:30Z"),
            ("2026-04-05T01:00:00+02:00", "2026-04-04T23:00Z"),  # next Sunday
        ),
        "only the gap's slots disappear, no duplicates",
    ),
    Case(
        "cron(0 8 ? * MON-FRI *)",
        "Europe/Berlin",
        "2026-03-27T09:00:00+01:00",
        (
            ("2026-03-30T08:00:00+02:00", "2026-03-30T06:00Z"),  # DESIGN.md's own example
            ("2026-03-31T08:00:00+02:00", "2026-03-31T06:00Z"),
        ),
        "office hours keep their wall time; UTC moves an hour earlier",
    ),
    # --- Europe/Berlin, fall back 2026-10-25 ---
    Case(
        "cron(30 2 * * ? *)",
        "Europe/Berlin",
        "2026-10-24T12:00:00+02:00",
        (
            ("2026-10-25T02:30:00+02:00", "2026-10-25T00:30Z"),  # first pass only
            # (02:30+01:00 = 01:30Z would be the repeat: not fired; croniter fires it too)
            ("2026-10-26T02:30:00+01:00", "2026-10-26T01:30Z"),
        ),
        "a repeated time fires once, on its first pass",
    ),
    Case(
        "cron(0 * * * ? *)",
        "Europe/Berlin",
        "2026-10-25T00:30:00+02:00",
        (
            ("2026-10-25T01:00:00+02:00", "2026-10-24T23:00Z"),
            ("2026-10-25T02:00:00+02:00", "2026-10-25T00:00Z"),
            # 02:00+01:00 (01:00Z) is the repeat of 02:00: not fired
            ("2026-10-25T03:00:00+01:00", "2026-10-25T02:00Z"),
            ("2026-10-25T04:00:00+01:00", "2026-10-25T03:00Z"),
        ),
        "hourly over the repeated hour: 02:00 once",
    ),
    Case(
        "cron(45 2 * * ? *)",
        "Europe/Berlin",
        "2026-10-25T02:10:00+01:00",  # 01:10Z: already in the second pass of 02:xx
        (("2026-10-26T02:45:00+01:00", "2026-10-26T01:45Z"),),
        "02:45 fired on the first pass (00:45Z), before `after`; it does not fire again",
    ),
    # --- America/New_York ---
    Case(
        "cron(30 2 * * ? *)",
        "America/New_York",
        "2026-03-07T00:00:00-05:00",
        (
            ("2026-03-07T02:30:00-05:00", "2026-03-07T07:30Z"),
            # 2026-03-08 02:30 does not exist
            ("2026-03-09T02:30:00-04:00", "2026-03-09T06:30Z"),
        ),
        "US spring gap skipped",
    ),
    Case(
        "cron(0 9 ? * MON-FRI *)",
        "America/New_York",
        "2026-03-06T00:00:00-05:00",
        (
            ("2026-03-06T09:00:00-05:00", "2026-03-06T14:00Z"),  # Friday, EST
            ("2026-03-09T09:00:00-04:00", "2026-03-09T13:00Z"),  # Monday, EDT
        ),
        "the weekend crossing DST moves UTC by an hour",
    ),
    Case(
        "cron(30 1 * * ? *)",
        "America/New_York",
        "2026-10-31T12:00:00-04:00",
        (
            ("2026-11-01T01:30:00-04:00", "2026-11-01T05:30Z"),  # first pass (EDT)
            ("2026-11-02T01:30:00-05:00", "2026-11-02T06:30Z"),
        ),
        "US repeated hour: once",
    ),
    Case(
        "cron(0/20 1 1 11 ? 2026)",
        "America/New_York",
        "2026-11-01T00:00:00-04:00",
        (
            ("2026-11-01T01:00:00-04:00", "2026-11-01T05:00Z"),
            ("2026-11-01T01:20:00-04:00", "2026-11-01T05:20Z"),
            ("2026-11-01T01:40:00-04:00", "2026-11-01T05:40Z"),
            # the EST pass (06:00Z-06:40Z) repeats these wall times: none fire
        ),
        "each wall time in the repeated hour fires once: three runs, not six",
        complete=True,
    ),
    # --- Southern hemisphere: Australia/Sydney ---
    Case(
        "cron(30 2 * * ? *)",
        "Australia/Sydney",
        "2026-04-04T00:00:00+11:00",
        (
            ("2026-04-04T02:30:00+11:00", "2026-04-03T15:30Z"),
            ("2026-04-05T02:30:00+11:00", "2026-04-04T15:30Z"),  # first pass (AEDT)
            ("2026-04-06T02:30:00+10:00", "2026-04-05T16:30Z"),
        ),
        "April is autumn: the repeated hour fires once",
    ),
    Case(
        "cron(30 2 * * ? *)",
        "Australia/Sydney",
        "2026-10-03T00:00:00+10:00",
        (
            ("2026-10-03T02:30:00+10:00", "2026-10-02T16:30Z"),
            # 2026-10-04 02:30 does not exist
            ("2026-10-05T02:30:00+11:00", "2026-10-04T15:30Z"),
        ),
        "October is spring: gap skipped",
    ),
    Case(
        "cron(0 18 ? * FRI *)",
        "Australia/Sydney",
        "2026-04-01T00:00:00+11:00",
        (
            ("2026-04-03T18:00:00+11:00", "2026-04-03T07:00Z"),
            ("2026-04-10T18:00:00+10:00", "2026-04-10T08:00Z"),
        ),
        "a Friday stop keeps 18:00 local across the change",
    ),
    # --- Australia/Adelaide (half-hour offsets) ---
    Case(
        "cron(15 2 ? * SUN *)",
        "Australia/Adelaide",
        "2026-09-26T00:00:00+09:30",
        (
            ("2026-09-27T02:15:00+09:30", "2026-09-26T16:45Z"),
            # 2026-10-04 02:15 does not exist
            ("2026-10-11T02:15:00+10:30", "2026-10-10T15:45Z"),
        ),
        "half-hour zone, spring gap",
    ),
    Case(
        "cron(30 2 5 4 ? 2026)",
        "Australia/Adelaide",
        "2026-04-01T00:00:00+10:30",
        (("2026-04-05T02:30:00+10:30", "2026-04-04T16:00Z"),),
        "half-hour zone, repeated hour: the ACDT pass only",
        complete=True,
    ),
    # --- Australia/Lord_Howe (a 30-minute DST shift) ---
    Case(
        "cron(0/15 2 4 10 ? 2026)",
        "Australia/Lord_Howe",
        "2026-10-01T00:00:00+10:30",
        (
            # 02:00 and 02:15 do not exist (the clock jumps 02:00 -> 02:30)
            ("2026-10-04T02:30:00+11:00", "2026-10-03T15:30Z"),
            ("2026-10-04T02:45:00+11:00", "2026-10-03T15:45Z"),
        ),
        "a 30-minute gap skips only half the hour",
        complete=True,
    ),
    Case(
        "cron(0/20 1 5 4 ? 2026)",
        "Australia/Lord_Howe",
        "2026-04-01T00:00:00+11:00",
        (
            ("2026-04-05T01:00:00+11:00", "2026-04-04T14:00Z"),
            ("2026-04-05T01:20:00+11:00", "2026-04-04T14:20Z"),
            ("2026-04-05T01:40:00+11:00", "2026-04-04T14:40Z"),
            # 01:40+10:30 (15:10Z) is the repeat: not fired
        ),
        "a 30-minute overlap: 01:40 once",
        complete=True,
    ),
    # --- Asia/Kolkata (+05:30, no DST) and UTC ---
    Case(
        "cron(0 9 ? * MON-FRI *)",
        "Asia/Kolkata",
        "2026-03-27T00:00:00+05:30",
        (
            ("2026-03-27T09:00:00+05:30", "2026-03-27T03:30Z"),
            ("2026-03-30T09:00:00+05:30", "2026-03-30T03:30Z"),
        ),
        "half-hour zone without DST",
    ),
    Case(
        "cron(30 2 29 3 ? 2026)",
        "Asia/Kolkata",
        "2026-01-01T00:00:00+05:30",
        (("2026-03-29T02:30:00+05:30", "2026-03-28T21:00Z"),),
        "Europe's gap day is an ordinary day in Kolkata",
        complete=True,
    ),
    # --- America/Santiago: the change happens at midnight (Chile: -04:00 / -03:00) ---
    # 2026-04-05 03:00Z (Sun 00:00 -03) -> Sat 4 Apr 23:00 -04: 23:xx on Saturday repeats.
    # 2026-09-06 04:00Z (Sun 00:00 -04) -> 01:00 -03: 00:xx on Sunday 6 September is missing.
    Case(
        "cron(30 23 * * ? *)",
        "America/Santiago",
        "2026-04-03T12:00:00-03:00",
        (
            ("2026-04-03T23:30:00-03:00", "2026-04-04T02:30Z"),
            ("2026-04-04T23:30:00-03:00", "2026-04-05T02:30Z"),  # first pass; not 03:30Z
            ("2026-04-05T23:30:00-04:00", "2026-04-06T03:30Z"),
        ),
        "a repeated hour just before midnight fires once",
    ),
    Case(
        "cron(30 0 * * ? *)",
        "America/Santiago",
        "2026-09-04T12:00:00-04:00",
        (
            ("2026-09-05T00:30:00-04:00", "2026-09-05T04:30Z"),
            # Sunday 6 September 00:30 does not exist: the day has no run.
            ("2026-09-07T00:30:00-03:00", "2026-09-07T03:30Z"),
        ),
        "a gap at midnight skips that day's run",
    ),
    # --- Pacific/Chatham: +12:45 / +13:45. 2026-09-26 14:00Z (Sun 27 Sep 02:45) -> 03:45 ---
    Case(
        "cron(0/30 3 ? * SUN *)",
        "Pacific/Chatham",
        "2026-09-20T00:00:00+12:45",
        (
            ("2026-09-20T03:00:00+12:45", "2026-09-19T14:15Z"),
            ("2026-09-20T03:30:00+12:45", "2026-09-19T14:45Z"),
            # 27 September: 03:00 and 03:30 fall in 02:45-03:44, which does not exist.
            ("2026-10-04T03:00:00+13:45", "2026-10-03T13:15Z"),
            ("2026-10-04T03:30:00+13:45", "2026-10-03T13:45Z"),
        ),
        "a 45-minute zone: the gap runs from 02:45, not from a whole hour",
    ),
    Case(
        "cron(30 2 29 3 ? 2026)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (("2026-03-29T02:30:00+00:00", "2026-03-29T02:30Z"),),
        "UTC never adjusts",
        complete=True,
    ),
]

SPECIAL_FIELD_CASES = [
    Case(
        "cron(0 12 L * ? *)",
        "UTC",
        "2026-01-15T00:00:00+00:00",
        (
            ("2026-01-31T12:00:00+00:00", "2026-01-31T12:00Z"),
            ("2026-02-28T12:00:00+00:00", "2026-02-28T12:00Z"),
            ("2026-03-31T12:00:00+00:00", "2026-03-31T12:00Z"),
            ("2026-04-30T12:00:00+00:00", "2026-04-30T12:00Z"),
        ),
        "L = the last day of each month",
    ),
    Case(
        "cron(0 12 L 2 ? 2028)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (("2028-02-29T12:00:00+00:00", "2028-02-29T12:00Z"),),
        "L in a leap February is the 29th",
        complete=True,
    ),
    Case(
        "cron(0 9 1W * ? 2026)",
        "UTC",
        "2026-07-15T00:00:00+00:00",
        (
            ("2026-08-03T09:00:00+00:00", "2026-08-03T09:00Z"),  # 1 Aug is a Saturday: Mon 3rd
            ("2026-09-01T09:00:00+00:00", "2026-09-01T09:00Z"),  # Tuesday
            ("2026-10-01T09:00:00+00:00", "2026-10-01T09:00Z"),  # Thursday
            ("2026-11-02T09:00:00+00:00", "2026-11-02T09:00Z"),  # 1 Nov is a Sunday: Mon 2nd
            ("2026-12-01T09:00:00+00:00", "2026-12-01T09:00Z"),  # Tuesday
        ),
        "1W never leaves the month: Saturday the 1st goes forward to Monday the 3rd",
        complete=True,
    ),
    Case(
        "cron(0 9 31W * ? 2026)",
        "UTC",
        "2026-04-01T00:00:00+00:00",
        (
            # April (30 days) has no 31st: no run
            ("2026-05-29T09:00:00+00:00", "2026-05-29T09:00Z"),  # 31 May is a Sunday: Fri 29th
            # June: no 31st
            ("2026-07-31T09:00:00+00:00", "2026-07-31T09:00Z"),  # Friday
            ("2026-08-31T09:00:00+00:00", "2026-08-31T09:00Z"),  # Monday
            ("2026-10-30T09:00:00+00:00", "2026-10-30T09:00Z"),  # 31 Oct is a Saturday: Fri 30th
            ("2026-12-31T09:00:00+00:00", "2026-12-31T09:00Z"),  # Thursday
        ),
        "31W at the month's end goes back to Friday; months without a 31st do not run",
        complete=True,
    ),
    Case(
        "cron(0 9 15W * ? 2026)",
        "UTC",
        "2026-02-01T00:00:00+00:00",
        (
            ("2026-02-16T09:00:00+00:00", "2026-02-16T09:00Z"),  # 15 Feb is a Sunday: Monday
            ("2026-03-16T09:00:00+00:00", "2026-03-16T09:00Z"),  # 15 Mar is a Sunday: Monday
            ("2026-04-15T09:00:00+00:00", "2026-04-15T09:00Z"),  # Wednesday
        ),
        "15W on a Sunday is the Monday after",
    ),
    Case(
        "cron(0 9 15W 8 ? 2026)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (("2026-08-14T09:00:00+00:00", "2026-08-14T09:00Z"),),  # 15 Aug is a Saturday: Friday
        "15W on a Saturday is the Friday before",
        complete=True,
    ),
    Case(
        "cron(0 10 ? * L *)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-03T10:00:00+00:00", "2026-01-03T10:00Z"),
            ("2026-01-10T10:00:00+00:00", "2026-01-10T10:00Z"),
        ),
        "L alone in day-of-week is the last day of the week, Saturday",
    ),
    Case(
        "cron(15 10 ? * 6L 2026)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-30T10:15:00+00:00", "2026-01-30T10:15Z"),  # 31 Jan is a Saturday
            ("2026-02-27T10:15:00+00:00", "2026-02-27T10:15Z"),
            ("2026-03-27T10:15:00+00:00", "2026-03-27T10:15Z"),
        ),
        "6L = the last Friday (AWS's own example, 6 = FRI)",
    ),
    Case(
        "cron(0 9 ? * 2#1 *)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-05T09:00:00+00:00", "2026-01-05T09:00Z"),
            ("2026-02-02T09:00:00+00:00", "2026-02-02T09:00Z"),
            ("2026-03-02T09:00:00+00:00", "2026-03-02T09:00Z"),
        ),
        "2#1 = the first Monday (2 = MON)",
    ),
    Case(
        "cron(0 9 ? * 6#3 *)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-16T09:00:00+00:00", "2026-01-16T09:00Z"),
            ("2026-02-20T09:00:00+00:00", "2026-02-20T09:00Z"),
            ("2026-03-20T09:00:00+00:00", "2026-03-20T09:00Z"),
        ),
        "6#3 = the third Friday (croniter would read 6 as Saturday)",
    ),
    Case(
        "cron(0 9 ? * MON#5 2026)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-03-30T09:00:00+00:00", "2026-03-30T09:00Z"),
            ("2026-06-29T09:00:00+00:00", "2026-06-29T09:00Z"),
            ("2026-08-31T09:00:00+00:00", "2026-08-31T09:00Z"),
            ("2026-11-30T09:00:00+00:00", "2026-11-30T09:00Z"),
        ),
        "months without a fifth Monday are skipped",
        complete=True,
    ),
    Case(
        "cron(0/30 20-2 ? * MON-FRI *)",
        "UTC",
        "2026-01-02T22:45:00+00:00",  # a Friday
        (
            ("2026-01-02T23:00:00+00:00", "2026-01-02T23:00Z"),
            ("2026-01-02T23:30:00+00:00", "2026-01-02T23:30Z"),
            # Saturday and Sunday are not MON-FRI, so 00:00-02:30 on them do not run
            ("2026-01-05T00:00:00+00:00", "2026-01-05T00:00Z"),
            ("2026-01-05T00:30:00+00:00", "2026-01-05T00:30Z"),
            ("2026-01-05T01:00:00+00:00", "2026-01-05T01:00Z"),
            ("2026-01-05T01:30:00+00:00", "2026-01-05T01:30Z"),
            ("2026-01-05T02:00:00+00:00", "2026-01-05T02:00Z"),
            ("2026-01-05T02:30:00+00:00", "2026-01-05T02:30Z"),
            ("2026-01-05T20:00:00+00:00", "2026-01-05T20:00Z"),
        ),
        "AWS's wrapping-hours example: hours {20-23, 0-2} on each weekday",
    ),
    Case(
        "cron(0 12 ? * FRI-MON *)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-02T12:00:00+00:00", "2026-01-02T12:00Z"),
            ("2026-01-03T12:00:00+00:00", "2026-01-03T12:00Z"),
            ("2026-01-04T12:00:00+00:00", "2026-01-04T12:00Z"),
            ("2026-01-05T12:00:00+00:00", "2026-01-05T12:00Z"),
            ("2026-01-09T12:00:00+00:00", "2026-01-09T12:00Z"),
        ),
        "a wrapping weekday range FRI-MON = Fri, Sat, Sun, Mon",
    ),
    Case(
        "cron(0 0 1 NOV-FEB ? *)",
        "UTC",
        "2026-03-01T00:00:00+00:00",
        (
            ("2026-11-01T00:00:00+00:00", "2026-11-01T00:00Z"),
            ("2026-12-01T00:00:00+00:00", "2026-12-01T00:00Z"),
            ("2027-01-01T00:00:00+00:00", "2027-01-01T00:00Z"),
            ("2027-02-01T00:00:00+00:00", "2027-02-01T00:00Z"),
            ("2027-11-01T00:00:00+00:00", "2027-11-01T00:00Z"),
        ),
        "a wrapping month range",
    ),
    Case(
        "cron(1/10 * * * ? *)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2026-01-01T00:01:00+00:00", "2026-01-01T00:01Z"),
            ("2026-01-01T00:11:00+00:00", "2026-01-01T00:11Z"),
            ("2026-01-01T00:21:00+00:00", "2026-01-01T00:21Z"),
            ("2026-01-01T00:31:00+00:00", "2026-01-01T00:31Z"),
            ("2026-01-01T00:41:00+00:00", "2026-01-01T00:41Z"),
            ("2026-01-01T00:51:00+00:00", "2026-01-01T00:51Z"),
            ("2026-01-01T01:01:00+00:00", "2026-01-01T01:01Z"),
        ),
        "AWS's step example: 1/10 = the 1st, 11th, 21st ... minute",
    ),
    Case(
        "cron(*/20 9 * * ? *)",
        "UTC",
        "2026-01-01T09:00:00+00:00",
        (
            ("2026-01-01T09:20:00+00:00", "2026-01-01T09:20Z"),  # 09:00 is not after 09:00
            ("2026-01-01T09:40:00+00:00", "2026-01-01T09:40Z"),
            ("2026-01-02T09:00:00+00:00", "2026-01-02T09:00Z"),
        ),
        "*/20 = 0/20; fires are strictly after `after`",
    ),
    Case(
        "cron(0 0 1 1 ? 2026/3)",
        "UTC",
        "2026-06-01T00:00:00+00:00",
        (
            ("2029-01-01T00:00:00+00:00", "2029-01-01T00:00Z"),
            ("2032-01-01T00:00:00+00:00", "2032-01-01T00:00Z"),
        ),
        "a year step",
    ),
    Case(
        "cron(0 0 1 1 ? 2198-2199)",
        "UTC",
        "2026-01-01T00:00:00+00:00",
        (
            ("2198-01-01T00:00:00+00:00", "2198-01-01T00:00Z"),
            ("2199-01-01T00:00:00+00:00", "2199-01-01T00:00Z"),
        ),
        "years up to 2199, 170 years ahead (croniter stops at 2099 and searches 50 years)",
        complete=True,
    ),
    Case(
        "cron(59 23 31 12 ? 2199)",
        "Pacific/Kiritimati",
        "2026-01-01T00:00:00+00:00",
        (("2199-12-31T23:59:00+14:00", "2199-12-31T09:59Z"),),
        "the very last minute EventBridge can schedule",
        complete=True,
    ),
    Case(
        "cron(0 0 29 2 ? *)",
        "UTC",
        "2097-03-01T00:00:00+00:00",
        (
            ("2104-02-29T00:00:00+00:00", "2104-02-29T00:00Z"),  # 2100 is not a leap year
            ("2108-02-29T00:00:00+00:00", "2108-02-29T00:00Z"),
        ),
        "29 February across the 2100 non-leap year",
    ),
]

AT_AND_RATE_CASES = [
    Case(
        "at(2026-03-30T08:00:00)",
        "Europe/Berlin",
        "2026-03-01T00:00:00+01:00",
        (("2026-03-30T08:00:00+02:00", "2026-03-30T06:00Z"),),
        "at() is a wall time in the zone",
        complete=True,
    ),
    Case(
        "at(2026-03-30T08:00:00)",
        "Europe/Berlin",
        "2026-03-30T08:00:00+02:00",
        (),
        "strictly after: at its own instant it has already fired",
        complete=True,
    ),
    Case(
        "at(2026-03-29T02:30:00)",
        "Europe/Berlin",
        "2026-03-01T00:00:00+01:00",
        (),
        "an at() inside the spring gap never fires",
        complete=True,
    ),
    Case(
        "at(2026-10-25T02:30:00)",
        "Europe/Berlin",
        "2026-10-01T00:00:00+02:00",
        (("2026-10-25T02:30:00+02:00", "2026-10-25T00:30Z"),),
        "an at() in the repeated hour fires on the first pass",
        complete=True,
    ),
    Case(
        "at(2022-11-20T13:00:00)",
        "America/Los_Angeles",
        "2022-11-01T00:00:00-07:00",
        (("2022-11-20T13:00:00-08:00", "2022-11-20T21:00Z"),),
        "AWS's example: 1pm UTC-8 on November 20, 2022",
        complete=True,
    ),
    Case(
        "rate(1 day)",
        "Europe/Berlin",
        "2026-03-28T08:00:00+01:00",
        (
            ("2026-03-29T09:00:00+02:00", "2026-03-29T07:00Z"),  # 24 h later, not 08:00 local
            ("2026-03-30T09:00:00+02:00", "2026-03-30T07:00Z"),
        ),
        "rate(N days) is N x 24 h of elapsed time: the wall time drifts across DST",
    ),
    Case(
        "rate(1 hour)",
        "America/New_York",
        "2026-11-01T00:30:00-04:00",
        (
            ("2026-11-01T01:30:00-04:00", "2026-11-01T05:30Z"),
            ("2026-11-01T01:30:00-05:00", "2026-11-01T06:30Z"),  # elapsed time: 01:30 twice
            ("2026-11-01T02:30:00-05:00", "2026-11-01T07:30Z"),
        ),
        "a rate is not a wall-clock rule, so the repeated hour runs twice",
    ),
    Case(
        "rate(90 minutes)",
        "UTC",
        "2026-01-01T00:00:30+00:00",
        (
            ("2026-01-01T01:30:30+00:00", "2026-01-01T01:30Z"),
            ("2026-01-01T03:00:30+00:00", "2026-01-01T03:00Z"),
        ),
        "rate counts from `after` to the second",
    ),
]


def _check(case: Case) -> None:
    after = datetime.fromisoformat(case.after)
    wanted = len(case.fires) + (5 if case.complete else 0)
    fires = next_fires(case.expr, case.tz, after, wanted)
    assert [f.isoformat() for f in fires] == [local for local, _ in case.fires]
    assert [f.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") for f in fires] == [
        utc for _, utc in case.fires
    ]


@pytest.mark.parametrize("case", DST_CASES, ids=_case_id)
def test_dst_transitions(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("case", SPECIAL_FIELD_CASES, ids=_case_id)
def test_special_fields(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("case", AT_AND_RATE_CASES, ids=_case_id)
def test_at_and_rate(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize(
    ("tz", "expr", "count", "why"),
    [
        ("Europe/Berlin", "cron(0 * * * ? 2026)", 8760 - 1, "02:00 on 29 March is missing"),
        ("America/New_York", "cron(0 * * * ? 2026)", 8760 - 1, "02:00 on 8 March is missing"),
        ("Australia/Sydney", "cron(0 * * * ? 2026)", 8760 - 1, "02:00 on 4 October"),
        ("Australia/Lord_Howe", "cron(0/30 * * * ? 2026)", 17520 - 1, "02:00 on 4 Oct only"),
        ("Asia/Kolkata", "cron(0/30 * * * ? 2026)", 17520, "no DST"),
        ("Europe/Berlin", "rate(1 hour)", 8760, "Berlin's 2026 lasts 8760 elapsed hours"),
    ],
)
def test_a_whole_year_counts_each_wall_time_once(tz: str, expr: str, count: int, why: str) -> None:
    """Every local time of 2026 fires exactly once, except the ones clocks skip."""
    start = datetime(2026, 1, 1, tzinfo=timeengine.zone(tz))
    end = datetime(2027, 1, 1, tzinfo=timeengine.zone(tz))
    fires = []
    for fire in iter_fires(expr, tz, start - timedelta(seconds=1)):
        if fire >= end:
            break
        fires.append(fire)
    assert len(fires) == count, why
    utc = [f.astimezone(UTC) for f in fires]
    assert utc == sorted(set(utc))  # strictly increasing instants
    if expr.startswith("cron"):
        walls = [f.replace(tzinfo=None) for f in fires]
        assert len(set(walls)) == len(walls)  # no wall time twice


def test_a_naive_after_is_a_wall_time_in_the_zone() -> None:
    fires = next_fires("cron(0 3 * * ? *)", "Europe/Berlin", datetime(2026, 3, 29, 1, 59), 1)
    assert [f.isoformat() for f in fires] == ["2026-03-29T03:00:00+02:00"]


def test_an_expression_built_by_hand_is_parsed_on_use() -> None:
    expr = Expression("cron", "cron(0 8 ? * MON-FRI *)")
    fires = next_fires(expr, "UTC", datetime(2026, 1, 1, tzinfo=UTC), 2)
    assert [f.isoformat() for f in fires] == [
        "2026-01-01T08:00:00+00:00",
        "2026-01-02T08:00:00+00:00",
    ]


def test_iter_fires_is_lazy_and_rate_never_runs_out() -> None:
    fires = iter_fires("rate(1 minute)", "UTC", datetime(2026, 1, 1, tzinfo=UTC))
    assert next(fires).isoformat() == "2026-01-01T00:01:00+00:00"
    assert len(next_fires("rate(1 minute)", "UTC", datetime(2026, 1, 1, tzinfo=UTC), 5000)) == 5000


def test_the_engine_survives_the_ends_of_the_calendar() -> None:
    # rate() stops where Python's datetime does instead of overflowing
    late = next_fires("rate(1000 days)", "UTC", datetime(9990, 1, 1, tzinfo=UTC), 10)
    assert late[-1].isoformat() == "9998-03-20T00:00:00+00:00"
    assert len(late) == 3
    early = next_fires("cron(0 0 1 1 ? *)", "UTC", datetime(1, 1, 1, tzinfo=UTC), 1)
    assert [f.isoformat() for f in early] == ["1970-01-01T00:00:00+00:00"]


def test_a_bad_zone_is_refused() -> None:
    with pytest.raises(timeengine.TimezoneError, match="did you mean 'Europe/Berlin'"):
        next_fires("rate(1 hour)", "Europe/Berln", datetime(2026, 1, 1, tzinfo=UTC), 1)
