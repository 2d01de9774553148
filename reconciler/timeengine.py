"""EventBridge Scheduler expressions: parse, validate, normalise, and compute fire times.

No AWS in here. The grammar is EventBridge Scheduler's (DESIGN.md §3):

- ``cron(min hour day-of-month month day-of-week year)``: exactly six fields; exactly one of
  day-of-month / day-of-week is ``?``; day-of-week 1-7 = SUN-SAT; ``L`` and ``nW`` in
  day-of-month; ``L``, ``nL`` and one ``n#k`` in day-of-week; no ``/`` in day-of-week; ranges may
  wrap (``20-2``, ``FRI-MON``); years 1970-2199.
- ``rate(N minute|minutes|hour|hours|day|days)``, N >= 1.
- ``at(yyyy-mm-ddThh:mm:ss)``, a local time in the schedule's zone.

Fire times follow EventBridge's DST rule: a local time that does not exist (clocks go forward) is
skipped, a repeated local time (clocks go back) fires once, on its first pass; ``rate()`` is
elapsed time. The evaluator is our own rather than croniter, which reads a sixth field as seconds,
numbers weekdays 0-6, shifts gap times, fires twice in the repeated hour and stops at 2099.

Where AWS documents nothing we accept the liberal spelling and emit the documented one
(`normalise`): ``*/5`` becomes ``0/5``, ``rate(1 hours)`` becomes ``rate(1 hour)``, names are
upper-cased. ``LW`` and ``L-n`` cannot be rewritten into documented syntax, so they are errors.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from itertools import islice
from zoneinfo import ZoneInfo, available_timezones

MIN_YEAR = 1970
MAX_YEAR = 2199
MAX_LENGTH = 256  # ScheduleExpression's length limit in the Scheduler API

# Zone names tzdata ships that are not real places and that no scheduler should accept.
_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


class ExpressionError(ValueError):
    """A bad expression. str(exc) is a full sentence naming the bad field and why."""


class TimezoneError(ValueError):
    """A name that is not an IANA time zone. str(exc) is the `check_timezone` message."""


@dataclass(frozen=True)
class DaySpec:
    """Which days of a month fire; exactly one of day-of-month / day-of-week is in force.

    kind: "dom" (values = days 1-31), "dom_last" (L), "dom_weekday" (nW, n = the day),
    "dow" (values = weekdays 1-7, 1 = SUN), "dow_last" (nL, n = the weekday),
    "dow_nth" (n#k: weekday n, k-th occurrence).
    """

    kind: str
    values: frozenset[int] = frozenset()
    n: int = 0
    k: int = 0


@dataclass(frozen=True)
class CronSpec:
    minutes: tuple[int, ...]  # sorted
    hours: tuple[int, ...]  # sorted
    days: DaySpec
    months: tuple[int, ...]  # sorted
    years: tuple[int, ...]  # sorted
    fields: tuple[str, ...]  # the six fields as written, for messages


@dataclass(frozen=True)
class Expression:
    kind: str  # "cron" | "rate" | "at"
    text: str  # as written, stripped
    cron: CronSpec | None = None
    rate: timedelta | None = None
    at: datetime | None = None  # naive: a wall-clock time in the schedule's zone
    canonical: str = ""  # what `normalise` returns


# --------------------------------------------------------------------------------------------
# Parsing


# Spelled out: calendar.month_abbr follows the locale, and AWS's names are English.
_MONTH_NAMES = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_ALL_YEARS = tuple(range(MIN_YEAR, MAX_YEAR + 1))
_DIGITS = re.compile(r"[0-9]+")
_OUTER = re.compile(r"([A-Za-z]+)\s*\((.*)\)", re.DOTALL)
_AT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})")
_RATE_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_MAX_RATE = timedelta(days=36_500)


@dataclass(frozen=True)
class _Field:
    name: str  # as messages say it: "minutes field '61': ..."
    lo: int
    hi: int
    what: str  # "a minute (0-59)"
    names: Mapping[str, int]
    wraps: bool = True  # whether `20-2` means 20..hi then lo..2


_MINUTES = _Field("minutes", 0, 59, "a minute (0-59)", {})
_HOURS = _Field("hours", 0, 23, "an hour (0-23)", {})
_DOM = _Field("day-of-month", 1, 31, "a day of the month (1-31)", {})
_MONTH = _Field("month", 1, 12, "a month (1-12 or JAN-DEC)", _MONTH_NAMES)
_DOW = _Field("day-of-week", 1, 7, "a day of the week (1-7 or SUN-SAT)", _DAY_NAMES)
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, "a year (1970-2199)", {}, wraps=False)
_FIELDS = (_MINUTES, _HOURS, _DOM, _MONTH, _DOW, _YEAR)


def _field_error(field: _Field, raw: str, reason: str) -> ExpressionError:
    return ExpressionError(f"{field.name} field '{raw}': {reason}")


def parse(text: str, *, now: datetime | None = None) -> Expression:
    """Parse and validate `cron(...)`, `rate(...)` or `at(...)` exactly as EventBridge does.

    A cron that can never fire (30 February; every year in the past, as of `now`, default the
    current time) is an error too. A past `at()` is not: it is a real time that has gone by.
    """
    expr = _parse_syntax(text)
    if expr.cron is not None:
        _check_can_fire(expr.cron, now or datetime.now(UTC))
    return expr


def equivalent(a: Expression, b: Expression) -> bool:
    """Whether two parsed expressions fire at exactly the same times in the same zone, however
    they are spelled (`MON-FRI` = `2-6`, `rate(60 minutes)` = `rate(1 hour)`)."""
    if a.cron is not None and b.cron is not None:
        return _cron_key(a.cron) == _cron_key(b.cron)
    return (a.kind, a.rate, a.at) == (b.kind, b.rate, b.at)


def _cron_key(spec: CronSpec) -> tuple[object, ...]:
    days: object = spec.days
    # Every day of the month and every day of the week are the same days.
    if spec.days in (
        DaySpec("dom", frozenset(range(1, 32))),
        DaySpec("dow", frozenset(range(1, 8))),
    ):
        days = "every day"
    return (spec.minutes, spec.hours, days, spec.months, spec.years)


def normalise(text: str) -> str:
    """The canonical spelling used when diffing desired against live, and sent to AWS.

    Whitespace collapsed, keywords lower-case, names upper-case, `*/n` as `lo/n`, rate units
    singular for 1 and plural otherwise. Text that does not parse only has its whitespace
    collapsed, so live values AWS holds can always be compared.
    """
    try:
        return _parse_syntax(text).canonical
    except ExpressionError:
        return " ".join(text.split())


@functools.lru_cache(maxsize=4096)
def _parse_syntax(text: str) -> Expression:
    """Everything `parse` checks that does not depend on the clock (cached: rules repeat)."""
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("the expression is empty: write cron(...), rate(...) or at(...)")
    if len(stripped) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is {len(stripped)} characters long; EventBridge allows at most "
            f"{MAX_LENGTH}"
        )
    match = _OUTER.fullmatch(stripped)
    if match is None:
        raise ExpressionError(_not_an_expression(stripped))
    keyword, body = match.group(1).lower(), match.group(2)
    if keyword == "cron":
        return _parse_cron(stripped, body)
    if keyword == "rate":
        return _parse_rate(stripped, body)
    if keyword == "at":
        return _parse_at(stripped, body)
    raise ExpressionError(
        f"'{match.group(1)}(...)' is not an EventBridge Scheduler expression: write cron(...), "
        "rate(...) or at(...)"
    )


def _not_an_expression(text: str) -> str:
    lowered = text.lower()
    for keyword in ("cron", "rate", "at"):
        if lowered.startswith(keyword + "("):
            if ")" in text:
                return f"'{text}' has text after its closing parenthesis"
            return f"'{text}' is missing its closing parenthesis"
    if len(text.split()) in (5, 6) and "(" not in text:
        return (
            f"'{text}' is a bare cron line: EventBridge needs it wrapped and with six fields, "
            "e.g. cron(0 8 ? * MON-FRI *)"
        )
    return (
        f"'{text}' is not an EventBridge Scheduler expression: write cron(...), rate(...) "
        "or at(...)"
    )


def _parse_rate(text: str, body: str) -> Expression:
    parts = body.split()
    if len(parts) != 2:
        raise ExpressionError(
            f"rate expression '{text}' must be rate(value unit), e.g. rate(5 minutes)"
        )
    value_s, unit_s = parts
    if not _DIGITS.fullmatch(value_s) or int(value_s) < 1:
        raise ExpressionError(
            f"rate value '{value_s}' must be a whole number of at least 1, e.g. rate(5 minutes)"
        )
    unit = unit_s.lower()
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        raise ExpressionError(
            f"rate unit '{unit_s}' must be minute(s), hour(s) or day(s); EventBridge has no "
            "seconds, weeks or months"
        )
    value = int(value_s)
    if value > _MAX_RATE // _RATE_UNITS[singular]:
        raise ExpressionError(f"rate value '{value_s}' is too large: at most 100 years")
    canonical = f"rate({value} {singular}{'' if value == 1 else 's'})"
    return Expression("rate", text, rate=value * _RATE_UNITS[singular], canonical=canonical)


def _parse_at(text: str, body: str) -> Expression:
    inner = body.strip()
    match = _AT.fullmatch(inner)
    if match is None:
        hint = ""
        if inner.endswith(("Z", "z")) or re.search(r"[+-]\d{2}:?\d{2}$", inner):
            hint = " without an offset (the rule's time zone says where it is)"
        raise ExpressionError(
            f"at() time '{inner}' must be written yyyy-mm-ddThh:mm:ss{hint}, "
            "e.g. at(2026-03-30T08:00:00)"
        )
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        when = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ExpressionError(f"at() time '{inner}' is not a real date and time: {exc}") from None
    return Expression("at", text, at=when, canonical=f"at({when:%Y-%m-%dT%H:%M:%S})")


def _parse_cron(text: str, body: str) -> Expression:
    fields = body.split()
    if len(fields) != 6:
        raise ExpressionError(_field_count_message(len(fields)))
    minutes = _parse_list(fields[0], _MINUTES)
    hours = _parse_list(fields[1], _HOURS)
    dom_raw, dow_raw = fields[2], fields[4]
    _check_question_marks(dom_raw, dow_raw)
    days = _parse_dom(dom_raw) if dow_raw == "?" else _parse_dow(dow_raw)
    months = _parse_list(fields[3], _MONTH)
    years = _ALL_YEARS if fields[5] == "*" else _parse_list(fields[5], _YEAR)
    spec = CronSpec(minutes, hours, days, months, years, tuple(fields))
    canonical = (
        "cron("
        + " ".join(_canonical_field(f, d) for f, d in zip(fields, _FIELDS, strict=True))
        + ")"
    )
    return Expression("cron", text, cron=spec, canonical=canonical)


def _field_count_message(count: int) -> str:
    names = "minutes hours day-of-month month day-of-week year"
    message = (
        f"cron has {count} field{'' if count == 1 else 's'}, but EventBridge needs 6 ({names})"
    )
    if count == 5:
        return message + ": add the year, e.g. cron(0 8 ? * MON-FRI *)"
    if count == 7:
        return message + ": there is no seconds field"
    return message


def _check_question_marks(dom: str, dow: str) -> None:
    if dom == "?" and dow == "?":
        raise ExpressionError(
            "day-of-month and day-of-week are both '?': exactly one of them must be '?'; "
            "put '*' or days in the other"
        )
    if dom != "?" and dow != "?":
        if dom == "*":
            fix = "write '?' in day-of-month"
        elif dow == "*":
            fix = "write '?' in day-of-week"
        else:
            fix = "write '?' in one of them"
        raise ExpressionError(
            f"day-of-month '{dom}' and day-of-week '{dow}': exactly one of them must be '?' "
            f"(EventBridge cannot combine both); {fix}"
        )


def _parse_dom(raw: str) -> DaySpec:
    upper = raw.upper()
    if upper == "L":
        return DaySpec("dom_last")
    if upper == "LW":
        raise _field_error(
            _DOM,
            raw,
            "'LW' (last weekday of the month) is not documented for EventBridge Scheduler; "
            "use 'L' (last day) or a nearest-weekday day such as '28W'",
        )
    if re.fullmatch(r"L-\d+", upper):
        raise _field_error(
            _DOM,
            raw,
            "offsets from the last day ('L-n') are not documented for EventBridge Scheduler; "
            "use 'L' or day numbers",
        )
    if "W" in upper:
        match = re.fullmatch(r"([0-9]+)W", upper)
        if match is None:
            raise _field_error(
                _DOM, raw, "'W' must follow a single day and stand alone, e.g. '15W'"
            )
        return DaySpec("dom_weekday", n=_parse_value(match.group(1), _DOM, raw))
    if "L" in upper:
        raise _field_error(
            _DOM, raw, "'L' (the last day of the month) must stand alone in day-of-month"
        )
    return DaySpec("dom", values=frozenset(_parse_list(raw, _DOM)))


def _parse_dow(raw: str) -> DaySpec:
    if "/" in raw:
        raise _field_error(_DOW, raw, "'/' is not allowed in day-of-week")
    if "#" in raw:
        if "," in raw:
            raise _field_error(
                _DOW,
                raw,
                "only one '#' term is allowed in day-of-week (EventBridge reads a list with "
                "'#' as several expressions)",
            )
        weekday_s, _, nth_s = raw.partition("#")
        weekday = _parse_value(weekday_s, _DOW, raw)
        if not _DIGITS.fullmatch(nth_s) or not 1 <= int(nth_s) <= 5:
            raise _field_error(
                _DOW,
                raw,
                f"the occurrence after '#' must be 1-5, not '{nth_s}' (e.g. '2#1' is the "
                "first Monday of the month)",
            )
        return DaySpec("dow_nth", n=weekday, k=int(nth_s))
    upper = raw.upper()
    if upper == "L":
        return DaySpec("dow", values=frozenset({7}))  # "the last day of the week" = SAT
    if upper.endswith("L"):  # no weekday name ends in L
        if "," in raw or "-" in raw:
            raise _field_error(
                _DOW,
                raw,
                "'L' must stand alone in day-of-week: 'L' (Saturday) or 'nL' (e.g. '6L' is "
                "the last Friday of the month)",
            )
        return DaySpec("dow_last", n=_parse_value(raw[:-1], _DOW, raw))
    return DaySpec("dow", values=frozenset(_parse_list(raw, _DOW)))


def _parse_list(raw: str, field: _Field) -> tuple[int, ...]:
    values: set[int] = set()
    for term in raw.split(","):
        if not term:
            raise _field_error(field, raw, "a value is missing in the list (an extra ',')")
        values.update(_parse_term(term, field, raw))
    return tuple(sorted(values))


def _parse_term(term: str, field: _Field, raw: str) -> list[int]:
    base, slash, step_s = term.partition("/")
    step = 1
    if slash:
        step = _parse_step(step_s, field, raw)
    if base == "*":
        seq = list(range(field.lo, field.hi + 1))
    elif "-" in base:
        seq = _parse_range(base, field, raw)
    elif not base:
        raise _field_error(field, raw, "a start value is missing before '/', e.g. '0/15'")
    else:
        start = _parse_value(base, field, raw)
        seq = list(range(start, field.hi + 1)) if slash else [start]
    return seq[::step]


def _parse_step(step_s: str, field: _Field, raw: str) -> int:
    span = field.hi - field.lo + 1
    if not _DIGITS.fullmatch(step_s):
        raise _field_error(field, raw, f"the step '{step_s}' after '/' is not a whole number")
    step = int(step_s)
    if not 1 <= step < span:
        raise _field_error(field, raw, f"the step {step} must be between 1 and {span - 1}")
    return step


def _parse_range(base: str, field: _Field, raw: str) -> list[int]:
    first_s, _, last_s = base.partition("-")
    if not first_s or not last_s:
        raise _field_error(field, raw, f"the range '{base}' needs a start and an end, e.g. '8-17'")
    first = _parse_value(first_s, field, raw)
    last = _parse_value(last_s, field, raw)
    if first <= last:
        return list(range(first, last + 1))
    if not field.wraps:
        raise _field_error(field, raw, f"the range {first}-{last} runs backwards")
    return [*range(first, field.hi + 1), *range(field.lo, last + 1)]


def _parse_value(token: str, field: _Field, raw: str) -> int:
    if _DIGITS.fullmatch(token):
        value = int(token)
        if field.lo <= value <= field.hi:
            return value
        hint = ""
        if field is _DOW:
            hint = " (1 = SUN, 2 = MON, ... 7 = SAT)"
        raise _field_error(field, raw, f"{value} is out of range {field.lo}-{field.hi}{hint}")
    named = field.names.get(token.upper())
    if named is not None:
        return named
    if token == "?":
        where = (
            "must stand alone"
            if field in (_DOM, _DOW)
            else "is only allowed in day-of-month or day-of-week"
        )
        raise _field_error(field, raw, f"'?' {where}")
    raise _field_error(field, raw, f"'{token}' is not {field.what}")


def _canonical_field(raw: str, field: _Field) -> str:
    """Upper-case names, plain numbers, and the documented spelling of undocumented forms.

    `*/n` becomes `lo/n`; a weekday name before `#` or `L` (`FRI#3`, `FRIL`) becomes its
    number (`6#3`, `6L`): AWS documents those two only with numbers.
    """
    terms = []
    for term in raw.upper().split(","):
        if term.startswith("*/"):
            term = f"{field.lo}{term[1:]}"
        if field is _DOW and term[:3] in _DAY_NAMES and term[3:4] in ("#", "L"):
            term = f"{_DAY_NAMES[term[:3]]}{term[3:]}"
        terms.append(_DIGITS.sub(lambda m: str(int(m.group())), term))
    return ",".join(terms)


def _check_can_fire(spec: CronSpec, now: datetime) -> None:
    """A cron no date satisfies, or whose dates are all past, is an error, not a quiet no-op."""
    if not any(_month_days(spec.days, y, m) for y in spec.years for m in spec.months):
        dom, month, dow, year = spec.fields[2:]
        if spec.days.kind.startswith("dom"):
            what = f"day-of-month field '{dom}' names no day that exists"
        else:
            what = f"day-of-week field '{dow}' never occurs"
        in_years = "" if year == "*" else f" in year field '{year}'"
        raise ExpressionError(
            f"{what} in month field '{month}'{in_years}, so the schedule would never fire"
        )
    # The latest clock on Earth (UTC-12) may still be in an earlier month than UTC.
    earliest = (now.astimezone(UTC) - timedelta(hours=12)).replace(tzinfo=None)
    this_month = (earliest.year, earliest.month)
    for y in spec.years:
        if y < earliest.year:
            continue
        for m in spec.months:
            if (y, m) < this_month:
                continue
            days = _month_days(spec.days, y, m)
            # This month counts only if one of its days is still to come somewhere.
            if days and ((y, m) > this_month or days[-1] >= earliest.day):
                return
    raise ExpressionError(
        f"year field '{spec.fields[5]}': every date it allows is in the past, so the schedule "
        "would never fire"
    )


# --------------------------------------------------------------------------------------------
# Calendar


def _aws_weekday(d: date) -> int:
    """1 = SUN ... 7 = SAT (Python's weekday() is 0 = MON)."""
    return (d.weekday() + 1) % 7 + 1


@functools.lru_cache(maxsize=8192)
def _month_days(days: DaySpec, year: int, month: int) -> tuple[int, ...]:
    """The days of this month the day spec selects, ascending."""
    length = calendar.monthrange(year, month)[1]
    kind = days.kind
    if kind == "dom":
        return tuple(d for d in sorted(days.values) if d <= length)
    if kind == "dom_last":
        return (length,)
    if kind == "dom_weekday":
        return _nearest_weekday(year, month, days.n, length)
    first = _aws_weekday(date(year, month, 1))
    # day d has AWS weekday ((first - 1 + d - 1) % 7) + 1
    if kind == "dow":
        return tuple(d for d in range(1, length + 1) if (first + d - 2) % 7 + 1 in days.values)
    first_match = (days.n - first) % 7 + 1
    if kind == "dow_nth":
        day = first_match + 7 * (days.k - 1)
        return (day,) if day <= length else ()
    if kind == "dow_last":
        return (first_match + 7 * ((length - first_match) // 7),)
    raise AssertionError(kind)


def _nearest_weekday(year: int, month: int, n: int, length: int) -> tuple[int, ...]:
    """`nW`: the weekday nearest day n, never leaving the month (a month without day n: none)."""
    if n > length:
        return ()
    weekday = date(year, month, n).weekday()  # 5 = Saturday, 6 = Sunday
    if weekday == 5:
        return (n - 1,) if n > 1 else (n + 2,)  # Saturday the 1st -> Monday the 3rd
    if weekday == 6:
        return (n + 1,) if n < length else (n - 2,)  # Sunday the last -> Friday before
    return (n,)


# --------------------------------------------------------------------------------------------
# Time zones


@functools.lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    """The IANA names: tzdata's list (fast, OS-independent), else the system's zone files."""
    try:
        names = resources.files("tzdata").joinpath("zones").read_text("utf-8").split()
    except (ModuleNotFoundError, FileNotFoundError):
        names = list(available_timezones())
    return frozenset(names) - _NOT_ZONES


def check_timezone(name: str) -> str | None:
    """None when `name` is an IANA zone EventBridge accepts, else a message (with a suggestion)."""
    zones = _known_zones()
    if name in zones:
        return None
    if not name.strip():
        return "the time zone is empty: use an IANA name such as Europe/Berlin, or UTC"
    region = _ABBREVIATIONS.get(name.strip().upper())
    if region is not None:
        return (
            f"'{name}' is an abbreviation, not an IANA time zone: abbreviations do not say when "
            f"daylight saving time applies; use a place name such as '{region}'"
        )
    if re.fullmatch(r"(?i)(utc|gmt)\s*[+-]\s*\d{1,2}(:?\d\d)?", name.strip()):
        return (
            f"'{name}' is a fixed offset, not an IANA time zone: use the place's name (e.g. "
            "Europe/Berlin) so daylight saving time is followed, or UTC"
        )
    suggestion = _suggest_zone(name, zones)
    if suggestion is not None:
        return f"'{name}' is not an IANA time zone name; did you mean '{suggestion}'?"
    return (
        f"'{name}' is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC); "
        "see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones"
    )


# Abbreviations people write for a zone (not in tzdata, or in it as a fixed offset with no
# daylight saving time): the place name they most likely mean.
_ABBREVIATIONS = {
    "CEST": "Europe/Berlin",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "CST": "America/Chicago",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "ACST": "Australia/Adelaide",
    "AWST": "Australia/Perth",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "SGT": "Asia/Singapore",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
# tzdata names that are valid but rarely what a schedule author means.
_LEGACY_ZONES = {
    "EST": "a fixed UTC-05:00 with no daylight saving time; for New York use America/New_York",
    "MST": "a fixed UTC-07:00 with no daylight saving time; for Denver use America/Denver "
    "(Phoenix: America/Phoenix)",
    "HST": "a fixed UTC-10:00; use Pacific/Honolulu",
    "EST5EDT": "a legacy POSIX rule; use America/New_York",
    "CST6CDT": "a legacy POSIX rule; use America/Chicago",
    "MST7MDT": "a legacy POSIX rule; use America/Denver",
    "PST8PDT": "a legacy POSIX rule; use America/Los_Angeles",
    "CET": "a legacy rule; use the place's name, e.g. Europe/Berlin or Europe/Paris",
    "MET": "a legacy rule; use the place's name, e.g. Europe/Berlin",
    "EET": "a legacy rule; use the place's name, e.g. Europe/Athens",
    "WET": "a legacy rule; use the place's name, e.g. Europe/Lisbon",
}


def timezone_warning(name: str) -> str | None:
    """A warning for valid names that are probably not what was meant, else None."""
    legacy = _LEGACY_ZONES.get(name)
    if legacy is not None:
        return f"time zone '{name}' is {legacy}"
    offset = name[len("Etc/GMT") :] if name.startswith("Etc/GMT") else ""
    if offset[:1] in ("+", "-") and offset[1:] != "0":  # Etc/GMT+0 is just UTC
        flipped = ("-" if offset[0] == "+" else "+") + offset[1:]
        return (
            f"time zone '{name}' is UTC{flipped} (POSIX inverts the sign) with no daylight "
            "saving time; prefer the place's name, e.g. Europe/Berlin"
        )
    return None


@functools.lru_cache(maxsize=256)
def _suggest_zone(name: str, zones: frozenset[str]) -> str | None:
    key = name.strip().replace(" ", "_").casefold()
    folded = {zone.casefold(): zone for zone in zones}
    if key in folded:
        return folded[key]
    cities = {zone.rsplit("/", 1)[-1].casefold(): zone for zone in sorted(zones) if "/" in zone}
    if key in cities:
        return cities[key]
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
    # "Europe/Munich" is close to "Europe/Zurich" only through the shared region: the
    # place must be close too, or the suggestion misleads.
    if close and _similar(key.rsplit("/", 1)[-1], close[0].rsplit("/", 1)[-1]):
        return folded[close[0]]
    close = difflib.get_close_matches(key, list(cities), n=1, cutoff=0.8)
    return cities[close[0]] if close else None


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.75


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name `check_timezone` accepts; raises TimezoneError otherwise."""
    problem = check_timezone(tz)
    if problem is not None:
        raise TimezoneError(problem)
    return ZoneInfo(tz)


# --------------------------------------------------------------------------------------------
# Fire times


def iter_fires(expr: Expression | str, tz: str, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, as aware datetimes in `tz`, with the DST rule applied.

    A naive `after` is a wall-clock time in `tz`. `rate()` counts from `after` (on AWS it counts
    from the schedule's creation or StartDate). Raises ExpressionError / TimezoneError.
    """
    expression = _resolve(expr)
    where = zone(tz)
    if after.tzinfo is None:
        after = after.replace(tzinfo=where)
    after_utc = after.astimezone(UTC)
    if expression.cron is not None:
        return _cron_fires(expression.cron, where, after_utc)
    if expression.rate is not None:
        return _rate_fires(expression.rate, where, after_utc)
    assert expression.at is not None
    return _at_fires(expression.at, where, after_utc)


def next_fires(expr: Expression | str, tz: str, after: datetime, count: int) -> list[datetime]:
    """The first `count` fire times strictly after `after` (fewer if the expression runs out)."""
    return list(islice(iter_fires(expr, tz, after), count))


def _resolve(expr: Expression | str) -> Expression:
    if isinstance(expr, str):
        return _parse_syntax(expr)
    if expr.cron is None and expr.rate is None and expr.at is None:
        return _parse_syntax(expr.text)  # built by hand from kind and text
    return expr


# A zone's wall clock can jump back by more than a day only in 19th-century history; starting
# the search this far before `after`'s wall time never misses a fire.
_SEARCH_MARGIN = timedelta(hours=26)


def _cron_fires(spec: CronSpec, zone: ZoneInfo, after_utc: datetime) -> Iterator[datetime]:
    wall_after = after_utc.astimezone(zone).replace(tzinfo=None)
    lower = max(wall_after, datetime(MIN_YEAR - 1, 1, 2)) - _SEARCH_MARGIN
    lower_month = (lower.year, lower.month)
    for year in spec.years:
        if year < lower.year:
            continue
        for month in spec.months:
            if (year, month) < lower_month:
                continue
            for day in _month_days(spec.days, year, month):
                if datetime(year, month, day) + timedelta(days=1) <= lower:
                    continue
                for hour in spec.hours:
                    for minute in spec.minutes:
                        fire = _local_fire(datetime(year, month, day, hour, minute), zone)
                        if fire is not None and fire > after_utc:
                            yield fire


def _local_fire(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The instant a wall-clock time fires in `zone`: None in a gap, the first pass in a repeat."""
    local = wall.replace(tzinfo=zone)  # fold=0: the first of two repeated times
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return None  # the clock jumped over it: EventBridge skips the run
    return local


def _rate_fires(step: timedelta, zone: ZoneInfo, after_utc: datetime) -> Iterator[datetime]:
    # Elapsed time, not wall clock: rate(1 day) drifts by an hour against 08:00 across DST.
    anchor = after_utc.replace(microsecond=0)
    k = 1
    while True:
        try:
            fire = (anchor + k * step).astimezone(zone)
        except OverflowError:  # past year 9999: the end of time as Python knows it
            return
        yield fire
        k += 1


def _at_fires(when: datetime, zone: ZoneInfo, after_utc: datetime) -> Iterator[datetime]:
    fire = _local_fire(when, zone)
    if fire is not None and fire > after_utc:
        yield fire


# --------------------------------------------------------------------------------------------
# DST gaps


@dataclass(frozen=True)
class _Gap:
    instant: datetime  # UTC, when the clocks go forward
    start: datetime  # naive wall time: the first local time that does not exist
    end: datetime  # naive wall time the clock jumps to


# Sampled daily: a forward and a back change can be days apart (Asia/Gaza, 2040-10-20 and
# -26, around Ramadan), and a weekly sample sees the same offset on both sides of the pair.
_SAMPLE_SECONDS = 86_400
_GAP_YEARS = 28  # the Gregorian weekday pattern of a yearly DST rule repeats within 28 years


def _offset(zone: ZoneInfo, ts: int) -> timedelta:
    offset = datetime.fromtimestamp(ts, zone).utcoffset()
    assert offset is not None
    return offset


@dataclass(frozen=True)
class OffsetChange:
    """A change of a zone's UTC offset: clocks go forward (a gap) or back (a repeated hour)."""

    instant: datetime  # UTC, when the change happens
    before: timedelta  # the offset until then
    after: timedelta  # the offset from then on

    @property
    def wall_before(self) -> datetime:
        """The naive wall time the clock leaves (02:00 when Berlin springs forward)."""
        return self.instant.replace(tzinfo=None) + self.before

    @property
    def wall_after(self) -> datetime:
        """The naive wall time the clock jumps to (03:00 when Berlin springs forward)."""
        return self.instant.replace(tzinfo=None) + self.after

    @property
    def forward(self) -> bool:
        return self.after > self.before


@functools.lru_cache(maxsize=2048)
def _changes(tz: str, year: int) -> tuple[OffsetChange, ...]:
    """The offset changes of `tz` in `year` (UTC), by sampling daily and bisecting."""
    zone = ZoneInfo(tz)
    t = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    offset = _offset(zone, t)
    changes = []
    while t < end:
        probe = min(t + _SAMPLE_SECONDS, end)
        if _offset(zone, probe) == offset:
            t = probe
            continue
        lo, hi = t, probe  # offset(lo) == offset != offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid) == offset:
                lo = mid
            else:
                hi = mid
        new_offset = _offset(zone, hi)
        changes.append(OffsetChange(datetime.fromtimestamp(hi, UTC), offset, new_offset))
        t, offset = hi, new_offset
    return tuple(changes)


@functools.lru_cache(maxsize=2048)
def _gaps(tz: str, year: int) -> tuple[_Gap, ...]:
    """The spring-forward jumps of `tz` in `year` (UTC)."""
    return tuple(
        _Gap(change.instant, change.wall_before, change.wall_after)
        for change in _changes(tz, year)
        if change.forward
    )


def offset_changes(tz: str, start: datetime, end: datetime) -> list[OffsetChange]:
    """The offset changes of `tz` (a valid zone) at or after `start` and before `end` (aware)."""
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    return [
        change
        for year in range(start_utc.year, end_utc.year + 1)
        for change in _changes(tz, year)
        if start_utc <= change.instant < end_utc
    ]


def names_wall_minute(expr: Expression | str, wall: datetime) -> bool:
    """Whether a cron or at() expression names the naive wall-clock minute `wall` (whether or
    not that minute exists in a zone). rate() names no wall time: always False."""
    expression = _resolve(expr)
    if expression.at is not None:
        return expression.at.replace(second=0) == wall.replace(second=0, microsecond=0)
    spec = expression.cron
    return (
        spec is not None
        and _fires_on(spec, wall.date())
        and wall.hour in spec.hours
        and wall.minute in spec.minutes
    )


def dst_gap_warning(expr: Expression | str, tz: str, *, now: datetime | None = None) -> str | None:
    """A warning sentence when a cron (or at) time can fall into a DST gap of `tz`, else None.

    Names the skipped local times and the next date it happens (from `now`, default the current
    time, looking ahead 28 years). None for rate(), zones without DST and invalid zones (the
    zone check reports those).
    """
    expression = _resolve(expr)
    if check_timezone(tz) is not None:
        return None
    now_utc = (now or datetime.now(UTC)).astimezone(UTC)
    if expression.at is not None:
        return _at_gap_warning(expression, tz)
    if expression.cron is None:
        return None
    years = [y for y in expression.cron.years if y >= now_utc.year][:_GAP_YEARS]
    for year in years:
        for gap in _gaps(tz, year):
            if gap.instant < now_utc:
                continue
            skipped = _cron_times_in_gap(expression.cron, gap)
            if skipped:
                return _gap_message(skipped, gap, tz)
    return None


def _at_gap_warning(expression: Expression, tz: str) -> str | None:
    assert expression.at is not None
    when = expression.at
    for gap in _gaps(tz, when.year):
        if gap.start <= when < gap.end:
            return (
                f"{when:%H:%M} does not exist on {when:%Y-%m-%d} in {tz} (clocks go forward "
                f"from {gap.start:%H:%M} to {gap.end:%H:%M}), so {expression.canonical} "
                f"never fires; write a time that exists, such as {gap.end:%H:%M}"
            )
    return None


def at_has_passed(expr: Expression, tz: str, now: datetime) -> bool:
    """Whether an at() time is at or before `now` (one in a DST gap has passed or not, too)."""
    assert expr.at is not None
    return expr.at.replace(tzinfo=zone(tz)) <= now


# How far ahead start and stop are compared for a shared minute.
SHARED_MINUTE_DAYS = 731


def first_shared_minute(
    a: Expression, b: Expression, tz: str, *, now: datetime, days: int = SHARED_MINUTE_DAYS
) -> datetime | None:
    """The first wall-clock minute in `tz` within `days` after `now` at which both fire, else
    None. rate() has no fixed phase (it counts from the schedule's creation): never shared."""
    if a.rate is not None or b.rate is not None or check_timezone(tz) is not None:
        return None
    where = zone(tz)
    start = now.astimezone(where).replace(tzinfo=None)
    if a.at is not None or b.at is not None:
        return _shared_with_at(a, b, where, start)
    assert a.cron is not None
    assert b.cron is not None
    return _shared_cron_minute(a.cron, b.cron, where, start, days)


def _shared_cron_minute(
    a: CronSpec, b: CronSpec, where: ZoneInfo, start: datetime, days: int
) -> datetime | None:
    # Day by day, not fire by fire: a cron firing every minute has a million fires in 2 years.
    times = sorted(
        (hour, minute)
        for hour in set(a.hours) & set(b.hours)
        for minute in set(a.minutes) & set(b.minutes)
    )
    if not times:
        return None
    for offset in range(days + 1):
        day = start.date() + timedelta(days=offset)
        if _fires_on(a, day) and _fires_on(b, day):
            for hour, minute in times:
                wall = datetime(day.year, day.month, day.day, hour, minute)
                if wall > start and _local_fire(wall, where) is not None:
                    return wall
    return None


def _shared_with_at(
    a: Expression, b: Expression, where: ZoneInfo, start: datetime
) -> datetime | None:
    """An at() fires once: shared when the other fires in the same minute (and it exists)."""
    one, other = (a, b) if a.at is not None else (b, a)
    assert one.at is not None
    minute = one.at.replace(second=0)
    if minute <= start or _local_fire(one.at, where) is None:
        return None
    if other.at is not None:
        return minute if other.at.replace(second=0) == minute else None
    assert other.cron is not None
    spec = other.cron
    if _fires_on(spec, minute.date()) and minute.hour in spec.hours:
        return minute if minute.minute in spec.minutes else None
    return None


def _fires_on(spec: CronSpec, day: date) -> bool:
    return (
        day.year in spec.years
        and day.month in spec.months
        and day.day in _month_days(spec.days, day.year, day.month)
    )


def _cron_times_in_gap(spec: CronSpec, gap: _Gap) -> list[datetime]:
    skipped = []
    day = gap.start.date()
    while datetime.combine(day, datetime.min.time()) < gap.end:
        if (
            day.year in spec.years
            and day.month in spec.months
            and day.day in _month_days(spec.days, day.year, day.month)
        ):
            for hour in spec.hours:
                for minute in spec.minutes:
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    if gap.start <= wall < gap.end:
                        skipped.append(wall)
        day += timedelta(days=1)
    return skipped


def _gap_message(skipped: list[datetime], gap: _Gap, tz: str) -> str:
    times = [f"{wall:%H:%M}" for wall in skipped]
    if len(times) == 1:
        listed, verb, runs = times[0], "does", "that run is"
    elif len(times) <= 4:
        listed, verb, runs = ", ".join(times[:-1]) + " and " + times[-1], "do", "those runs are"
    else:
        listed = ", ".join(times[:3]) + f" and {len(times) - 3} more times"
        verb, runs = "do", "those runs are"
    return (
        f"{listed} {verb} not exist on {skipped[0]:%Y-%m-%d} in {tz} (clocks go forward from "
        f"{gap.start:%H:%M} to {gap.end:%H:%M}), so {runs} skipped"
    )


def gap_skips(expr: Expression | str, tz: str, after: datetime, days: int) -> list[datetime]:
    """The wall-clock times (naive, in `tz`) at which `expr` would fire but does not, because
    a DST gap of `tz` within `days` after `after` skips them; empty for rate() and bad zones."""
    expression = _resolve(expr)
    if check_timezone(tz) is not None or expression.rate is not None:
        return []
    after_utc = after.astimezone(UTC)
    end = after_utc + timedelta(days=days)
    skipped: list[datetime] = []
    for year in range(after_utc.year, end.year + 1):
        for gap in _gaps(tz, year):
            if not after_utc <= gap.instant <= end:
                continue
            if expression.cron is not None:
                skipped += _cron_times_in_gap(expression.cron, gap)
            elif expression.at is not None and gap.start <= expression.at < gap.end:
                skipped.append(expression.at)
    return skipped
