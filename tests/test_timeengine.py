"""Parsing, normalising and zone checks of EventBridge Scheduler expressions.

Fire times are in test_timeengine_fires.py, DST-gap warnings in test_timeengine_dst.py, a
cross-check against croniter in test_timeengine_oracle.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reconciler import timeengine
from reconciler.timeengine import DaySpec, ExpressionError, check_timezone, normalise, parse

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

# One row per error class: (expression, the exact message a user reads).
ERRORS = [
    # the expression as a whole
    ("", "the expression is empty: write cron(...), rate(...) or at(...)"),
    (
        "cron(" + "1," * 130 + "1 * * * ? *)",
        "the expression is 277 characters long; EventBridge allows at most 256",
    ),
    (
        "every day",
        "'every day' is not an EventBridge Scheduler expression: write cron(...), rate(...) "
        "or at(...)",
    ),
    (
        "0 8 * * ? *",
        "'0 8 * * ? *' is a bare cron line: EventBridge needs it wrapped and with six fields, "
        "e.g. cron(0 8 ? * MON-FRI *)",
    ),
    (
        "cronjob(0 8 * * ? *)",
        "'cronjob(...)' is not an EventBridge Scheduler expression: write cron(...), rate(...) "
        "or at(...)",
    ),
    ("cron(0 8 * * ? *", "'cron(0 8 * * ? *' is missing its closing parenthesis"),
    ("cron(0 8 * * ? *) UTC", "'cron(0 8 * * ? *) UTC' has text after its closing parenthesis"),
    # cron: field count
    (
        "cron(0 8 * * ?)",
        "cron has 5 fields, but EventBridge needs 6 (minutes hours day-of-month month "
        "day-of-week year): add the year, e.g. cron(0 8 ? * MON-FRI *)",
    ),
    (
        "cron(0 0 8 * * ? *)",
        "cron has 7 fields, but EventBridge needs 6 (minutes hours day-of-month month "
        "day-of-week year): there is no seconds field",
    ),
    (
        "cron(0 8)",
        "cron has 2 fields, but EventBridge needs 6 (minutes hours day-of-month month "
        "day-of-week year)",
    ),
    # cron: a value out of range, in every field
    ("cron(60 8 * * ? *)", "minutes field '60': 60 is out of range 0-59"),
    ("cron(0 8-24 * * ? *)", "hours field '8-24': 24 is out of range 0-23"),
    ("cron(0 8 32 * ? *)", "day-of-month field '32': 32 is out of range 1-31"),
    ("cron(0 8 0 * ? *)", "day-of-month field '0': 0 is out of range 1-31"),
    ("cron(0 8 * 13 ? *)", "month field '13': 13 is out of range 1-12"),
    (
        "cron(0 8 ? * 0 *)",
        "day-of-week field '0': 0 is out of range 1-7 (1 = SUN, 2 = MON, ... 7 = SAT)",
    ),
    (
        "cron(0 8 ? * 1-8 *)",
        "day-of-week field '1-8': 8 is out of range 1-7 (1 = SUN, 2 = MON, ... 7 = SAT)",
    ),
    ("cron(0 8 * * ? 1969)", "year field '1969': 1969 is out of range 1970-2199"),
    ("cron(0 8 * * ? 2026-2200)", "year field '2026-2200': 2200 is out of range 1970-2199"),
    # cron: a value that is not a value
    ("cron(x 8 * * ? *)", "minutes field 'x': 'x' is not a minute (0-59)"),
    ("cron(0 8h * * ? *)", "hours field '8h': '8h' is not an hour (0-23)"),
    (
        "cron(0 8 * JANUARY ? *)",
        "month field 'JANUARY': 'JANUARY' is not a month (1-12 or JAN-DEC)",
    ),
    (
        "cron(0 8 ? * MONDAY *)",
        "day-of-week field 'MONDAY': 'MONDAY' is not a day of the week (1-7 or SUN-SAT)",
    ),
    ("cron(0 8 * * ? MMXXVI)", "year field 'MMXXVI': 'MMXXVI' is not a year (1970-2199)"),
    # cron: the '?' rule
    ("cron(? 8 * * ? *)", "minutes field '?': '?' is only allowed in day-of-month or day-of-week"),
    ("cron(0 8 1,? * ? *)", "day-of-month field '1,?': '?' must stand alone"),
    (
        "cron(0 8 ? * ? *)",
        "day-of-month and day-of-week are both '?': exactly one of them must be '?'; put '*' "
        "or days in the other",
    ),
    (
        "cron(0 8 * * MON-FRI *)",
        "day-of-month '*' and day-of-week 'MON-FRI': exactly one of them must be '?' "
        "(EventBridge cannot combine both); write '?' in day-of-month",
    ),
    (
        "cron(0 8 1 * * *)",
        "day-of-month '1' and day-of-week '*': exactly one of them must be '?' (EventBridge "
        "cannot combine both); write '?' in day-of-week",
    ),
    (
        "cron(0 8 1 * MON *)",
        "day-of-month '1' and day-of-week 'MON': exactly one of them must be '?' (EventBridge "
        "cannot combine both); write '?' in one of them",
    ),
    # cron: day-of-week specials
    ("cron(0 8 ? * 2-6/2 *)", "day-of-week field '2-6/2': '/' is not allowed in day-of-week"),
    (
        "cron(0 9 ? * 2#1,6#3 *)",
        "day-of-week field '2#1,6#3': only one '#' term is allowed in day-of-week (EventBridge "
        "reads a list with '#' as several expressions)",
    ),
    (
        "cron(0 9 ? * 2#6 *)",
        "day-of-week field '2#6': the occurrence after '#' must be 1-5, not '6' (e.g. '2#1' is "
        "the first Monday of the month)",
    ),
    (
        "cron(0 9 ? * 8#1 *)",
        "day-of-week field '8#1': 8 is out of range 1-7 (1 = SUN, 2 = MON, ... 7 = SAT)",
    ),
    (
        "cron(0 8 ? * 2,6L *)",
        "day-of-week field '2,6L': 'L' must stand alone in day-of-week: 'L' (Saturday) or 'nL' "
        "(e.g. '6L' is the last Friday of the month)",
    ),
    # cron: day-of-month specials
    (
        "cron(0 8 1,L * ? *)",
        "day-of-month field '1,L': 'L' (the last day of the month) must stand alone in "
        "day-of-month",
    ),
    (
        "cron(0 8 LW * ? *)",
        "day-of-month field 'LW': 'LW' (last weekday of the month) is not documented for "
        "EventBridge Scheduler; use 'L' (last day) or a nearest-weekday day such as '28W'",
    ),
    (
        "cron(0 8 L-3 * ? *)",
        "day-of-month field 'L-3': offsets from the last day ('L-n') are not documented for "
        "EventBridge Scheduler; use 'L' or day numbers",
    ),
    (
        "cron(0 8 1-5W * ? *)",
        "day-of-month field '1-5W': 'W' must follow a single day and stand alone, e.g. '15W'",
    ),
    ("cron(0 8 32W * ? *)", "day-of-month field '32W': 32 is out of range 1-31"),
    # cron: lists, ranges, steps
    ("cron(0/0 8 * * ? *)", "minutes field '0/0': the step 0 must be between 1 and 59"),
    ("cron(0 */24 * * ? *)", "hours field '*/24': the step 24 must be between 1 and 23"),
    ("cron(*/x 8 * * ? *)", "minutes field '*/x': the step 'x' after '/' is not a whole number"),
    ("cron(/5 8 * * ? *)", "minutes field '/5': a start value is missing before '/', e.g. '0/15'"),
    (
        "cron(5- 8 * * ? *)",
        "minutes field '5-': the range '5-' needs a start and an end, e.g. '8-17'",
    ),
    ("cron(0 8 * * ? 2030-2026)", "year field '2030-2026': the range 2030-2026 runs backwards"),
    ("cron(1,,2 8 * * ? *)", "minutes field '1,,2': a value is missing in the list (an extra ',')"),
    # cron: never fires
    (
        "cron(30 2 30 2 ? *)",
        "day-of-month field '30' names no day that exists in month field '2', so the schedule "
        "would never fire",
    ),
    (
        "cron(0 8 31 APR,JUN ? *)",
        "day-of-month field '31' names no day that exists in month field 'APR,JUN', so the "
        "schedule would never fire",
    ),
    (
        "cron(0 0 29 2 ? 2026-2027)",
        "day-of-month field '29' names no day that exists in month field '2' in year field "
        "'2026-2027', so the schedule would never fire",
    ),
    (
        "cron(0 9 ? FEB 2#5 2026)",
        "day-of-week field '2#5' never occurs in month field 'FEB' in year field '2026', so the "
        "schedule would never fire",
    ),
    (
        "cron(0 8 * * ? 2020-2022)",
        "year field '2020-2022': every date it allows is in the past, so the schedule would "
        "never fire",
    ),
    (
        "cron(0 8 1 JAN-OCT ? 2026)",
        "year field '2026': every date it allows is in the past, so the schedule would never fire",
    ),
    # rate
    (
        "rate(0 minutes)",
        "rate value '0' must be a whole number of at least 1, e.g. rate(5 minutes)",
    ),
    (
        "rate(1.5 hours)",
        "rate value '1.5' must be a whole number of at least 1, e.g. rate(5 minutes)",
    ),
    (
        "rate(5 seconds)",
        "rate unit 'seconds' must be minute(s), hour(s) or day(s); EventBridge has no seconds, "
        "weeks or months",
    ),
    ("rate(5)", "rate expression 'rate(5)' must be rate(value unit), e.g. rate(5 minutes)"),
    ("rate(99999999 days)", "rate value '99999999' is too large: at most 100 years"),
    # at
    (
        "at(2026-03-30 08:00:00)",
        "at() time '2026-03-30 08:00:00' must be written yyyy-mm-ddThh:mm:ss, e.g. "
        "at(2026-03-30T08:00:00)",
    ),
    (
        "at(2026-03-30T08:00:00Z)",
        "at() time '2026-03-30T08:00:00Z' must be written yyyy-mm-ddThh:mm:ss without an offset "
        "(the rule's time zone says where it is), e.g. at(2026-03-30T08:00:00)",
    ),
    (
        "at(2026-02-30T08:00:00)",
        "at() time '2026-02-30T08:00:00' is not a real date and time: day is out of range for "
        "month",
    ),
    (
        "at(2026-03-30T24:00:00)",
        "at() time '2026-03-30T24:00:00' is not a real date and time: hour must be in 0..23",
    ),
    (  # Arabic-Indic digits: Python's \d takes them, AWS's ASCII grammar does not
        "at(\u0662\u0660\u0662\u0667-01-01T08:00:00)",
        "at() time '\u0662\u0660\u0662\u0667-01-01T08:00:00' must be written "
        "yyyy-mm-ddThh:mm:ss, e.g. at(2026-03-30T08:00:00)",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[t[:40] for t, _ in ERRORS])
def test_each_error_class_has_a_plain_message(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text, now=NOW)
    assert str(info.value) == message


# (as written, canonical form sent to AWS and compared when diffing)
VALID = [
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)"),
    ("  cron( 0  8 ?  * mon-fri * )  ", "cron(0 8 ? * MON-FRI *)"),
    ("CRON(*/5 * * * ? *)", "cron(0/5 * * * ? *)"),  # */n is legacy; 0/n is documented
    ("cron(*/2 */3 */7 */2 ? */10)", "cron(0/2 0/3 1/7 1/2 ? 1970/10)"),
    ("cron(00 08 01 * ? *)", "cron(0 8 1 * ? *)"),
    ("cron(0/30 20-2 ? * MON-FRI *)", "cron(0/30 20-2 ? * MON-FRI *)"),
    ("cron(0 9 ? * fri#3 *)", "cron(0 9 ? * 6#3 *)"),  # AWS documents '#' with numbers only
    ("cron(0 9 ? * FRIL *)", "cron(0 9 ? * 6L *)"),
    ("cron(15 10 ? * 6l 2026-2027)", "cron(15 10 ? * 6L 2026-2027)"),
    ("cron(0 9 15w * ? *)", "cron(0 9 15W * ? *)"),
    ("cron(0 9 L * ? *)", "cron(0 9 L * ? *)"),
    ("cron(0 9 ? nov-feb L *)", "cron(0 9 ? NOV-FEB L *)"),
    ("cron(5,35 14 * * ? *)", "cron(5,35 14 * * ? *)"),
    ("cron(0 6 ? * 1,7 2026-2199)", "cron(0 6 ? * 1,7 2026-2199)"),
    ("rate(1 hours)", "rate(1 hour)"),  # accepted and normalised (legacy rules reject it)
    ("rate(5 hour)", "rate(5 hours)"),
    ("rate(1 MINUTES)", "rate(1 minute)"),
    ("rate( 2   days )", "rate(2 days)"),
    ("Rate(10 minutes)", "rate(10 minutes)"),
    ("at(2026-03-30t08:00:00)", "at(2026-03-30T08:00:00)"),
    ("at( 2020-01-01T00:00:00 )", "at(2020-01-01T00:00:00)"),  # past at() is valid
]


@pytest.mark.parametrize(("text", "canonical"), VALID)
def test_valid_expressions_parse_and_normalise(text: str, canonical: str) -> None:
    expr = parse(text, now=NOW)
    assert expr.text == text.strip()
    assert expr.kind == canonical.split("(")[0]
    assert expr.canonical == canonical
    assert normalise(text) == canonical
    assert normalise(canonical) == canonical  # idempotent
    assert parse(canonical, now=NOW).canonical == canonical


def test_normalise_never_raises() -> None:
    # Live values from AWS may be anything; compare them with whitespace collapsed.
    assert normalise("  every   day ") == "every day"
    # A cron whose dates have passed still has a canonical spelling.
    assert normalise("cron(0 8 * * ? 2020)") == "cron(0 8 * * ? 2020)"


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("cron(0 20-2 ? * * *)", "hours", (0, 1, 2, 20, 21, 22, 23)),
        ("cron(0 20-2/2 ? * * *)", "hours", (0, 2, 20, 22)),  # 20, 22, 0, 2
        ("cron(1/10 8 ? * * *)", "minutes", (1, 11, 21, 31, 41, 51)),
        ("cron(55-5 8 ? * * *)", "minutes", (0, 1, 2, 3, 4, 5, 55, 56, 57, 58, 59)),
        ("cron(0 8 ? NOV-FEB * *)", "months", (1, 2, 11, 12)),
        ("cron(0 8 ? 1,JUL,aug * *)", "months", (1, 7, 8)),
        ("cron(0 8 ? * * 2026/50)", "years", (2026, 2076, 2126, 2176)),
        ("cron(0 8 ? * * *)", "years", tuple(range(1970, 2200))),
    ],
)
def test_field_values(text: str, field: str, expected: tuple[int, ...]) -> None:
    spec = parse(text, now=NOW).cron
    assert spec is not None
    assert getattr(spec, field) == expected


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("cron(0 8 ? * FRI-MON *)", DaySpec("dow", frozenset({6, 7, 1, 2}))),
        ("cron(0 8 ? * 1,7 *)", DaySpec("dow", frozenset({1, 7}))),
        ("cron(0 8 ? * L *)", DaySpec("dow", frozenset({7}))),  # last day of the week: SAT
        ("cron(0 8 ? * 6L *)", DaySpec("dow_last", n=6)),
        ("cron(0 8 ? * FRIL *)", DaySpec("dow_last", n=6)),
        ("cron(0 8 ? * 2#1 *)", DaySpec("dow_nth", n=2, k=1)),
        ("cron(0 8 ? * mon#5 *)", DaySpec("dow_nth", n=2, k=5)),
        ("cron(0 8 L * ? *)", DaySpec("dom_last")),
        ("cron(0 8 15W * ? *)", DaySpec("dom_weekday", n=15)),
        ("cron(0 8 28-3 * ? *)", DaySpec("dom", frozenset({28, 29, 30, 31, 1, 2, 3}))),
        ("cron(0 8 1/10 * ? *)", DaySpec("dom", frozenset({1, 11, 21, 31}))),
    ],
)
def test_day_specs(text: str, days: DaySpec) -> None:
    spec = parse(text, now=NOW).cron
    assert spec is not None
    assert spec.days == days


def test_rate_and_at_values() -> None:
    assert parse("rate(90 minutes)").rate == timedelta(minutes=90)
    assert parse("rate(2 days)").rate == timedelta(days=2)
    assert parse("at(2026-03-30T08:00:00)").at == datetime(2026, 3, 30, 8, 0)


# Pairs that fire at the same instants however they are written, and pairs that do not.
EQUIVALENT = [
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * 2-6 *)", True),
    ("cron(0 8 ? * MON-FRI *)", "cron(00 08 ? * mon,tue,wed,thu,fri *)", True),
    ("cron(0 8 * * ? *)", "cron(0 8 ? * * *)", True),  # every day, either way round
    ("cron(0 8 1-31 * ? *)", "cron(0 8 ? * SUN-SAT *)", True),
    ("cron(*/15 * * * ? *)", "cron(0,15,30,45 * * * ? *)", True),
    ("cron(0 8 ? * L *)", "cron(0 8 ? * SAT *)", True),  # L alone in day-of-week is Saturday
    ("cron(0 20-2 * * ? *)", "cron(0 0-2,20-23 * * ? *)", True),
    ("rate(60 minutes)", "rate(1 hour)", True),
    ("rate(24 hours)", "rate(1 day)", True),
    ("at(2027-01-04T07:00:00)", "at(2027-01-04t07:00:00)", True),
    ("cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * MON-SAT *)", False),
    ("cron(0 8 L * ? *)", "cron(0 8 ? * 7L *)", False),
    ("cron(0 8 1 * ? *)", "cron(0 8 1W * ? *)", False),
    ("cron(0 8 ? * 2#1 *)", "cron(0 8 ? * 2L *)", False),
    ("cron(0 8 * * ? *)", "cron(0 8 * * ? 2027)", False),
    ("rate(1 hour)", "rate(61 minutes)", False),
    ("rate(1 day)", "cron(0 0 * * ? *)", False),
]


@pytest.mark.parametrize(("a", "b", "same"), EQUIVALENT)
def test_equivalent_compares_fire_times_not_spelling(a: str, b: str, same: bool) -> None:
    first, second = parse(a, now=NOW), parse(b, now=NOW)
    assert timeengine.equivalent(first, second) is same
    assert timeengine.equivalent(second, first) is same


def test_the_past_is_judged_from_the_latest_clock_on_earth() -> None:
    # 2027-01-01 05:00 UTC is still 2026 in UTC-12: a 2026-only cron can still fire there.
    parse("cron(0 8 * * ? 2026)", now=datetime(2027, 1, 1, 5, 0, tzinfo=UTC))
    with pytest.raises(ExpressionError, match="in the past"):
        parse("cron(0 8 * * ? 2026)", now=datetime(2027, 1, 1, 13, 0, tzinfo=UTC))


def test_dates_earlier_in_the_current_month_are_past_too() -> None:
    # NOW is 2026-11-27 12:00 UTC: the 1st of November 2026 has gone everywhere on Earth.
    with pytest.raises(ExpressionError, match="year field '2026': every date it allows is in"):
        parse("cron(0 8 1 11 ? 2026)", now=NOW)
    parse("cron(0 8 27 11 ? 2026)", now=NOW)  # still 27 November in UTC-12 until 12:00 UTC
    parse("cron(0 8 26 11 ? 2026)", now=datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    parse("cron(0 8 1 11,12 ? 2026)", now=NOW)  # 1 December is to come


def test_parse_is_cached_but_each_call_checks_the_clock() -> None:
    first = parse("cron(0 8 * * ? 2027)", now=NOW)
    assert parse("cron(0 8 * * ? 2027)", now=NOW) is first
    with pytest.raises(ExpressionError):
        parse("cron(0 8 * * ? 2027)", now=datetime(2028, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    "name",
    [
        "UTC",
        "Etc/UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Argentina/Buenos_Aires",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Etc/GMT+5",
        "US/Eastern",
    ],
)
def test_iana_zones_are_accepted(name: str) -> None:
    assert check_timezone(name) is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "Europe/Berln",
            "'Europe/Berln' is not an IANA time zone name; did you mean 'Europe/Berlin'?",
        ),
        (
            "europe/berlin",
            "'europe/berlin' is not an IANA time zone name; did you mean 'Europe/Berlin'?",
        ),
        ("New York", "'New York' is not an IANA time zone name; did you mean 'America/New_York'?"),
        ("Kolkata", "'Kolkata' is not an IANA time zone name; did you mean 'Asia/Kolkata'?"),
        (
            "America/Sao_Paolo",
            "'America/Sao_Paolo' is not an IANA time zone name; did you mean 'America/Sao_Paulo'?",
        ),
        (
            "Mars/Base",
            "'Mars/Base' is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, "
            "UTC); see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones",
        ),
        ("", "the time zone is empty: use an IANA name such as Europe/Berlin, or UTC"),
    ],
)
def test_bad_zones_get_a_suggestion_when_one_is_close(name: str, message: str) -> None:
    assert check_timezone(name) == message


@pytest.mark.parametrize(
    "name", ["Factory", "localtime", "posixrules", "../../etc/passwd", "+02:00"]
)
def test_names_that_are_files_but_not_zones_are_refused(name: str) -> None:
    problem = check_timezone(name)
    assert problem is not None
    assert problem.startswith(f"'{name}' is not an IANA time zone name")


def test_zone_raises_with_the_same_message() -> None:
    with pytest.raises(timeengine.TimezoneError) as info:
        timeengine.zone("Europe/Berln")
    assert str(info.value) == check_timezone("Europe/Berln")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "CEST",
            "'CEST' is an abbreviation, not an IANA time zone: abbreviations do not say when "
            "daylight saving time applies; use a place name such as 'Europe/Berlin'",
        ),
        (
            "pst",
            "'pst' is an abbreviation, not an IANA time zone: abbreviations do not say when "
            "daylight saving time applies; use a place name such as 'America/Los_Angeles'",
        ),
        (
            "GMT+1",
            "'GMT+1' is a fixed offset, not an IANA time zone: use the place's name (e.g. "
            "Europe/Berlin) so daylight saving time is followed, or UTC",
        ),
        (
            # Close to Europe/Zurich only through "Europe/": no suggestion beats a wrong one.
            "Europe/Munich",
            "'Europe/Munich' is not an IANA time zone name (e.g. Europe/Berlin, "
            "America/New_York, UTC); see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones",
        ),
    ],
)
def test_abbreviations_and_offsets_get_a_place_name_not_a_lookalike(
    name: str, message: str
) -> None:
    assert check_timezone(name) == message


@pytest.mark.parametrize(
    ("name", "warning"),
    [
        (
            "EST",
            "time zone 'EST' is a fixed UTC-05:00 with no daylight saving time; for New York "
            "use America/New_York",
        ),
        (
            "Etc/GMT+1",
            "time zone 'Etc/GMT+1' is UTC-1 (POSIX inverts the sign) with no daylight saving "
            "time; prefer the place's name, e.g. Europe/Berlin",
        ),
        (
            "Etc/GMT-14",
            "time zone 'Etc/GMT-14' is UTC+14 (POSIX inverts the sign) with no daylight saving "
            "time; prefer the place's name, e.g. Europe/Berlin",
        ),
        ("Etc/GMT+0", None),  # UTC by another name
        ("Etc/GMT-0", None),
        ("Etc/GMT", None),
        ("Europe/Berlin", None),
        ("UTC", None),
    ],
)
def test_valid_but_misleading_zones_get_a_warning(name: str, warning: str | None) -> None:
    assert check_timezone(name) is None
    assert timeengine.timezone_warning(name) == warning
