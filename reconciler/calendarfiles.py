"""calendars/<name>.yaml -> Calendar definitions, and every problem found on the way.

The same layers as rule files (loader.py): YAML, structure, the JSON Schema
(schemas/calendar.schema.json), then semantics: the country and subdivision must be ones the
`holidays` package knows (the nearest valid codes are suggested), dates must be real dates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from reconciler.calendars import NAME_RE, Calendar, check_date, check_place
from reconciler.diagnostics import Diagnostic
from reconciler.schema import compiled, unknown_key_message
from reconciler.yamlload import Document, Path, load_file

CALENDAR_SCHEMA = "calendar.schema.json"
CALENDAR_KEYS = ("version", "description", "country", "subdivision", "dates")
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Calendars:
    """Every calendar file in a directory: name -> Calendar, or None where the file has errors."""

    directory: str
    by_name: Mapping[str, Calendar | None] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()

    def problem(self, name: str) -> str | None:
        """Why a rule cannot use the calendar `name`, or None if it can."""
        if name not in self.by_name:
            known = ", ".join(sorted(self.by_name)) or "none"
            return (
                f"unknown calendar {name!r}: there is no {self.directory}/{name}.yaml "
                f"(calendars there: {known})"
            )
        if self.by_name[name] is None:
            return f"calendar {name!r} has errors (listed at {self.directory}/{name}.yaml)"
        return None


def load_calendars(directory: str) -> Calendars:
    """The calendar files in `directory` (not searched recursively); none if it is missing."""
    display = _display(directory)
    if not os.path.isdir(directory):
        return Calendars(display)
    by_name: dict[str, Calendar | None] = {}
    diagnostics: list[Diagnostic] = []
    for entry in sorted(os.listdir(directory)):
        stem, suffix = os.path.splitext(entry)
        if suffix not in SUFFIXES:
            continue
        shown = f"{display}/{entry}"
        if not NAME_RE.fullmatch(stem):
            diagnostics.append(
                Diagnostic(
                    shown,
                    1,
                    1,
                    "error",
                    f"{entry}: a calendar's file name is its name: 1-40 lower-case letters, "
                    "digits and hyphens (rename it)",
                )
            )
            continue
        calendar, found = load_calendar(stem, os.path.join(directory, entry), shown)
        by_name[stem] = calendar
        diagnostics += found
    return Calendars(display, by_name, tuple(diagnostics))


def load_calendar(name: str, path: str, shown: str) -> tuple[Calendar | None, list[Diagnostic]]:
    doc, issues = load_file(path)
    found = [Diagnostic(shown, i.pos.line, i.pos.col, "error", i.message) for i in issues]
    if doc is None or found:
        return None, found
    value = doc.value
    if not isinstance(value, dict):
        found.append(
            Diagnostic(
                shown,
                1,
                1,
                "error",
                "a calendar file must be a mapping with 'version: 1' and country and/or dates",
            )
        )
        return None, found
    found += _problems(doc, shown, _with_date_strings(value))
    if found:
        return None, found
    location = doc.pos(())
    return _build(name, value, f"{shown}:{location.line}:{location.col}"), found


def _problems(doc: Document, shown: str, value: Mapping[str, object]) -> list[Diagnostic]:
    found: list[Diagnostic] = []

    def at(path: Path, message: str, *, key: bool = False) -> None:
        pos = doc.key_pos(path) if key else doc.pos(path)
        found.append(Diagnostic(shown, pos.line, pos.col, "error", message))

    for key in value:
        if key not in CALENDAR_KEYS:
            at((key,), unknown_key_message(key, "the calendar", CALENDAR_KEYS), key=True)
    if found:
        return found
    for problem in compiled(CALENDAR_SCHEMA).problems(value, label=_label, sources=doc.sources):
        at(problem.path, problem.message, key=problem.at_key)
    if found:
        return found
    for key, message in check_place(value.get("country"), value.get("subdivision")):
        at((key,), message)
    dates = value.get("dates", [])
    assert isinstance(dates, list)
    for index, day in enumerate(dates):
        wrong = check_date(day)
        if wrong is not None:
            at(("dates", index), f"dates[{index}]: {wrong}")
    return found


def _label(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the calendar"


def _with_date_strings(value: Mapping[str, object]) -> dict[str, object]:
    """YAML reads 2026-12-24 as a date; the schema (and the event) want the text."""
    dates = value.get("dates")
    if not isinstance(dates, list):
        return dict(value)
    return {**value, "dates": [d.isoformat() if isinstance(d, date) else d for d in dates]}


def _build(name: str, value: Mapping[str, object], location: str) -> Calendar:
    plain = _with_date_strings(value)
    dates = plain.get("dates", [])
    assert isinstance(dates, list)
    country, subdivision = plain.get("country"), plain.get("subdivision")
    return Calendar(
        name=name,
        country=country if isinstance(country, str) else None,
        subdivision=subdivision if isinstance(subdivision, str) else None,
        dates=tuple(sorted(str(d) for d in dates)),
        location=location,
    )


def _display(directory: str) -> str:
    norm = os.path.normpath(directory)
    if os.path.isabs(norm):
        relative = os.path.relpath(norm)
        if not relative.startswith(".."):
            return relative
    return norm
