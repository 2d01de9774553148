"""`reconcile timeline`: every firing of the rules over the next days, offline.

Reads the rules as `validate` does (no settings, no AWS) and plays each enabled rule's
expressions through the time engine: local and UTC times, DST notes, hours on. Text draws a
week grid per rule; `--format json` prints DESIGN.md §11's document alone on stdout.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from reconciler import output, timeengine, timelineview
from reconciler.errors import FatalError
from reconciler.loader import load_rules
from reconciler.model import Rule

MAX_DAYS = 366


def run(
    *,
    rules_dir: str,
    days: int = 7,
    names: Sequence[str] = (),
    fmt: str = "text",
    start: str | None = None,
) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise FatalError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    begin = parse_start(start)
    end = begin + timedelta(days=days)
    rules = select(load(rules_dir), names, rules_dir)
    timelines = [timelineview.build(rule, begin, end) for rule in rules]
    if fmt == "json":
        document = [timelineview.to_json(t) for t in timelines]
        output.out(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        output.out(timelineview.render_text(timelines, begin, end), nl=False)
    return 0


def parse_start(text: str | None) -> datetime:
    """ISO 8601 (a date is its midnight); without an offset it is UTC, as rules' zones differ."""
    if text is None:
        return datetime.now(UTC).replace(second=0, microsecond=0)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FatalError(
            f"--start '{text}' is not an ISO 8601 date or time, e.g. 2026-12-07, "
            "2026-12-07T08:00 or 2026-12-07T08:00:00+01:00"
        ) from None
    if not timeengine.MIN_YEAR <= parsed.year < timeengine.MAX_YEAR:
        raise FatalError(
            f"--start '{text}' must be in the years EventBridge schedules, "
            f"{timeengine.MIN_YEAR}-{timeengine.MAX_YEAR - 1}"
        )
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def load(rules_dir: str) -> list[Rule]:
    if not os.path.isdir(rules_dir):
        raise FatalError(
            f"rules directory {rules_dir} not found: run reconcile from the repository root "
            "or point --rules at the directory of rule files"
        )
    loaded = load_rules([rules_dir])
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    for diagnostic in errors:
        output.err(diagnostic.text())
    if errors:
        raise FatalError(
            f"the rules have {len(errors)} error{'s' if len(errors) != 1 else ''} (listed "
            "above): fix them and run again (`reconcile validate` checks them)"
        )
    return list(loaded.rules)


def select(rules: list[Rule], names: Sequence[str], rules_dir: str) -> list[Rule]:
    """The rules named by --rule, in the order given (all rules, in file order, without it)."""
    if not names:
        return rules
    by_name = {rule.name: rule for rule in rules}
    for name in names:
        if name not in by_name:
            raise FatalError(_unknown_rule(name, sorted(by_name), rules_dir))
    return [by_name[name] for name in dict.fromkeys(names)]


def _unknown_rule(name: str, known: list[str], rules_dir: str) -> str:
    message = f"--rule {name}: no rule of that name in {rules_dir}"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    if not known:
        return f"{message} (it has no rules)"
    listed = ", ".join(known[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"{message}; its rules are {listed}"
