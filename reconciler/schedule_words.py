"""EventBridge expressions in a reviewer's words: "08:00, Mon-Fri", "the last Friday".

Pure, on the time engine's parse. Anything these words cannot say exactly (several hours,
year limits) is shown as the expression itself, never approximated.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.timeengine import CronSpec, DaySpec, ExpressionError, parse

_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # AWS 1-7 = SUN-SAT
_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ORDINALS = ("first", "second", "third", "fourth", "fifth")


@dataclass(frozen=True)
class When:
    """A schedule as words: the time of day and the days ("08:00", "Mon-Fri")."""

    time: str
    days: str

    def __str__(self) -> str:
        return f"{self.time}, {self.days}" if self.days else self.time


def when(expression: str) -> When:
    """The words for an expression; the expression itself when no words say it exactly."""
    try:
        parsed = parse(expression)
    except ExpressionError:
        return When(expression, "")
    if parsed.at is not None:
        return When(f"{parsed.at:%H:%M}", f"once, on {parsed.at:%Y-%m-%d}")
    if parsed.cron is None:
        return When(parsed.canonical, "")
    words = _cron_words(parsed.cron)
    return words if words is not None else When(parsed.canonical, "")


def _cron_words(spec: CronSpec) -> When | None:
    full_years = spec.years[0] <= 1970 and spec.years[-1] >= 2199
    if len(spec.hours) != 1 or len(spec.minutes) != 1 or not full_years:
        return None
    days = _day_words(spec.days)
    if len(spec.months) != 12:
        days += " in " + ", ".join(_MONTHS[m - 1] for m in spec.months)
    return When(f"{spec.hours[0]:02d}:{spec.minutes[0]:02d}", days)


def _day_words(days: DaySpec) -> str:
    if days.kind == "dow":
        return _weekdays(sorted(days.values))
    if days.kind == "dow_last":
        return f"the last {_DAY_NAMES[days.n - 1]} of the month"
    if days.kind == "dow_nth":
        return f"the {_ORDINALS[days.k - 1]} {_DAY_NAMES[days.n - 1]} of the month"
    if days.kind == "dom_last":
        return "the last day of the month"
    if days.kind == "dom_weekday":
        return f"the weekday nearest day {days.n} of the month"
    if len(days.values) == 31:
        return "every day"
    listed = ", ".join(str(d) for d in sorted(days.values))
    return f"day {listed} of the month" if len(days.values) == 1 else f"days {listed} of the month"


def _weekdays(values: list[int]) -> str:
    if len(values) == 7:
        return "every day"
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    parts = [
        f"{_DAYS[r[0] - 1]}-{_DAYS[r[-1] - 1]}"
        if len(r) > 2
        else ", ".join(_DAYS[d - 1] for d in r)
        for r in runs
    ]
    return ", ".join(parts)


def change_words(verb: str, before: str | None, after: str | None, tz: str) -> str | None:
    """ "starts 07:30 instead of 08:00, Mon-Fri, Europe/Berlin"; None when nothing changed."""
    if before == after:
        return None
    if after is None:
        return f"no longer {verb} (was {when(before or '')}, {tz})"
    new = when(after)
    if before is None:
        return f"now also {verb} {new}, {tz}"
    old = when(before)
    if old.days == new.days and new.days:
        return f"{verb} {new.time} instead of {old.time}, {new.days}, {tz}"
    if old.time == new.time and new.days:
        return f"{verb} {new.time} on {new.days} instead of {old.days}, {tz}"
    return f"{verb} {new} instead of {old}, {tz}"
