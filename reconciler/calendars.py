"""Calendars (DESIGN.md §12): the dates a rule does not act on, decided at fire time. Pure.

A calendar is public holidays of a country (and subdivision), from the `holidays` package,
and/or explicit dates. The executor ships this module and the `holidays` package in its zip
(reconciler/package.py), so a calendar keeps working year after year without a re-apply; the
event carries the definition (executor_event), so the trust check covers it like the rest.

Dates are the rule's own local dates: a firing at 23:30 UTC on 24 December is a Berlin firing
on the 25th. `holidays` is imported on first use only: an event without a calendar never pays
for it.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EVENT_KEYS = ("name", "timezone", "country", "subdivision", "dates")
MAX_DATES = 366


@dataclass(frozen=True)
class Calendar:
    """One calendars/<name>.yaml, as the rule that names it applies it (in `timezone`)."""

    name: str
    country: str | None = None
    subdivision: str | None = None
    dates: tuple[str, ...] = ()  # ISO dates, sorted
    timezone: str = "UTC"
    location: str | None = field(default=None, compare=False)  # FILE:LINE:COL

    def in_zone(self, timezone: str) -> Calendar:
        return Calendar(self.name, self.country, self.subdivision, self.dates, timezone)

    def as_event(self) -> dict[str, Any]:
        """The event's `calendar` value: compact, with only the keys that are set."""
        value: dict[str, Any] = {"name": self.name, "timezone": self.timezone}
        if self.country:
            value["country"] = self.country
        if self.subdivision:
            value["subdivision"] = self.subdivision
        if self.dates:
            value["dates"] = list(self.dates)
        return value

    @classmethod
    def from_event(cls, value: Mapping[str, Any]) -> Calendar:
        """From a value check_event_calendar accepted."""
        return cls(
            name=str(value["name"]),
            country=value.get("country"),
            subdivision=value.get("subdivision"),
            dates=tuple(value.get("dates", ())),
            timezone=str(value["timezone"]),
        )


def skip_reason(calendar: Calendar, local_date: date) -> str | None:
    """Why `calendar` keeps a rule from acting on `local_date`, or None if it does not."""
    day = local_date.isoformat()
    if day in calendar.dates:
        return f"calendar {calendar.name}: {day} is one of its dates"
    if calendar.country:
        holiday = holiday_name(calendar.country, calendar.subdivision, local_date)
        if holiday is not None:
            where = "-".join(p for p in (calendar.country, calendar.subdivision) if p)
            return f"calendar {calendar.name}: {day} is a public holiday in {where} ({holiday})"
    return None


def skip_reason_at(calendar: Calendar, moment: datetime) -> str | None:
    """skip_reason for an instant: its date in the calendar's (the rule's) time zone."""
    return skip_reason(calendar, moment.astimezone(ZoneInfo(calendar.timezone)).date())


def holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    name = _year(country, subdivision, day.year).get(day)
    return str(name) if name else None


@functools.lru_cache(maxsize=64)
def _year(country: str, subdivision: str | None, year: int) -> Any:
    """One year of one place's holidays, named in the country's own language (the names
    `holidays` ships in its source, the same with or without its translations installed)."""
    import holidays  # first use only: see the module's docstring
    from holidays.version import __version__

    entity = getattr(holidays, country, None) if country.isalpha() else None
    if entity is None:
        raise LookupError(f"holidays {__version__} knows no country {country!r}")
    return holidays.country_holidays(
        country, subdiv=subdivision, years=year, language=entity.default_language
    )


# --------------------------------------------------------------------------------------------
# Checks (the loader's, and the executor's on the event)


def supported() -> dict[str, list[str]]:
    """Country code -> its subdivision codes, as the installed `holidays` knows them."""
    import holidays

    return {code: list(subs) for code, subs in holidays.list_supported_countries().items()}


def check_place(country: object, subdivision: object) -> list[tuple[str, str]]:
    """(key, message) for an unknown country or subdivision, naming the nearest valid ones."""
    if not isinstance(country, str):
        if subdivision is not None:
            return [("subdivision", "subdivision needs a country (e.g. country: DE)")]
        return []
    known = supported()
    if country not in known:
        return [("country", f"unknown country {country!r}{_nearest(country, known)}")]
    if subdivision is None:
        return []
    subdivisions = known[country]
    if not isinstance(subdivision, str) or subdivision not in subdivisions:
        hint = _nearest(str(subdivision), subdivisions) or (
            f" ({country} has none)"
            if not subdivisions
            else f" ({country} has {', '.join(subdivisions[:12])}"
            + (", ..." if len(subdivisions) > 12 else "")
            + ")"
        )
        return [("subdivision", f"unknown subdivision {subdivision!r} of {country}{hint}")]
    return []


def _nearest(value: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    """The code that differs only in case; else up to three: one letter off (a typo in a
    code), then what difflib finds alike."""
    names = list(known)
    wanted = value.upper()
    same = [n for n in names if n.upper() == wanted]
    if same:  # only the case is wrong
        return f": did you mean {same[0]}?"
    one_off = sorted(
        (n for n in names if len(n) == len(wanted) and _differing(n.upper(), wanted) == 1),
        key=lambda n: (n[0] != wanted[:1], n),
    )
    alike = difflib.get_close_matches(wanted, names, n=3, cutoff=0.4)
    close = list(dict.fromkeys([*one_off, *alike]))[:3]
    return f": did you mean {' or '.join(close)}?" if close else ""


def _differing(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def check_date(value: object) -> str | None:
    """Why a calendar date is not one, or None."""
    text = value.isoformat() if isinstance(value, date) else value
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        return f"{value!r} is not a date such as 2026-12-24"
    try:
        date.fromisoformat(text)
    except ValueError:
        return f"{text} is not a real date"
    return None


def check_event_calendar(value: object) -> list[str]:
    """The event's `calendar`: what the loader writes, and nothing else."""
    if not isinstance(value, Mapping):
        return ["calendar must be an object with name and timezone"]
    problems: list[str] = []
    unknown = sorted(str(k) for k in value if k not in EVENT_KEYS)
    if unknown:
        problems.append(f"calendar: unknown keys {', '.join(unknown)}")
    name = value.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        problems.append(f"calendar.name: {name!r} is not a calendar name")
    problems += _check_zone(value.get("timezone"))
    for key in ("country", "subdivision"):
        if key in value and not (isinstance(value[key], str) and value[key]):
            problems.append(f"calendar.{key} must be a non-empty string")
    dates = value.get("dates", [])
    if not isinstance(dates, list) or len(dates) > MAX_DATES:
        problems.append(f"calendar.dates must be a list of at most {MAX_DATES} dates")
    else:
        problems += [f"calendar.dates: {p}" for d in dates if (p := check_date(d)) is not None]
    if "country" not in value and not dates:
        problems.append("calendar: needs a country or dates")
    return problems


def _check_zone(zone: object) -> list[str]:
    if not isinstance(zone, str) or not zone:
        return ["calendar.timezone must be an IANA time zone name"]
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return [f"calendar.timezone: unknown time zone {zone!r}"]
    return []
