"""Plan renderers: each takes a plan and returns a string (printing is the caller's job).

- text: terraform-like, for a terminal or a CI log; colour only when asked (the caller asks
  output.use_color(), which honours NO_COLOR and TTY).
- json: DESIGN.md §7's document, also the saved plan (reconciler.planfile.to_document).
- markdown: for a pull-request comment or a job summary: a summary table and one collapsible
  <details> per change, capped below GitHub's 65,536-character comment limit.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any

from reconciler.ansi import style
from reconciler.checks import escape_controls
from reconciler.model import INSTANCE_ACTIONS, Rule
from reconciler.plan import (
    CREATE,
    DELETE,
    UPDATE,
    Change,
    FieldChange,
    Plan,
    not_created_by_ouroboros,
)
from reconciler.planfile import to_document
from reconciler.resources import FunctionSpec, QueueSpec, Resource, ScheduleSpec, TableSpec
from reconciler.timeengine import zone
from reconciler.timelineview import build, on_phrase, week_grid

# GitHub rejects a comment over 65,536 characters; keep a margin for the workflow's own
# header and marker around the plan.
MARKDOWN_LIMIT = 60_000
_COLORS = {CREATE: "green", UPDATE: "yellow", DELETE: "red"}
_VERB = {CREATE: "create", UPDATE: "update", DELETE: "delete"}
# What a reviewer needs to see of a new or removed object (the JSON plan has every field).
_BRIEF_INPUT_KEYS = ("accounts", "regions", "targets", "hibernate", "max_instances", "calendar")


def summary_line(plan: Plan) -> str:
    if not plan.has_changes:
        return (
            "No changes. The live state matches the rules "
            f"({_unchanged_phrase(plan.unchanged)} unchanged)."
        )
    return (
        f"Plan: {plan.count(CREATE)} to create, {plan.count(UPDATE)} to update, "
        f"{plan.count(DELETE)} to delete."
    )


def mass_delete_what(plan: Plan) -> str | None:
    """What makes the plan a mass delete ("deletes all 3 managed schedules ..."), or None."""
    mass = plan.mass_delete
    if mass is None:
        return None
    group = plan.settings.schedule_group
    if mass.everything:
        return f"deletes all {mass.managed} managed schedules in group {group} and creates none"
    return (
        f"deletes {mass.deletes} of the {mass.managed} managed schedules in group {group}, "
        f"more than {mass.max_count} and more than {mass.max_fraction:.0%} of them "
        "(max_delete_count, max_delete_fraction in the settings)"
    )


def mass_delete_warning(plan: Plan) -> str | None:
    """Said in the plan itself, so a pull-request comment shows why the apply will refuse it."""
    what = mass_delete_what(plan)
    if what is None:
        return None
    return f"this plan {what}; `reconcile apply` refuses it unless given --allow-mass-delete"


def _unchanged_phrase(n: int) -> str:
    return f"{n} resource" if n == 1 else f"{n} resources"


def value_text(value: Any) -> str:
    # Live values come from AWS (anyone may edit a schedule's Input there): json.dumps leaves
    # C1 controls and bidirectional overrides raw, and a terminal would act on them.
    return escape_controls(json.dumps(value, ensure_ascii=False, separators=(", ", ": ")))


def brief_fields(resource: Resource) -> list[tuple[str, Any]]:
    """The few fields that say what a created or deleted object is."""
    if isinstance(resource, ScheduleSpec):
        fields = [
            ("ScheduleExpression", resource.expression),
            ("ScheduleExpressionTimezone", resource.timezone),
            ("State", resource.state),
        ]
        event = _json_object(resource.input)
        fields += [(f"Target.Input.{k}", event[k]) for k in _BRIEF_INPUT_KEYS if k in event]
        return fields
    if isinstance(resource, FunctionSpec):
        keys = ("CodeSha256", "Runtime", "Handler", "MemorySize", "Timeout", "Role")
        all_fields = resource.fields()
        return [(k, all_fields[k]) for k in keys] + [
            (k, v) for k, v in all_fields.items() if k.startswith("Environment.")
        ]
    if isinstance(resource, TableSpec):
        return [
            (k, v) for k, v in resource.fields().items() if k != "Schema"
        ]  # the schema is fixed by ouroboros; the JSON plan shows it
    if isinstance(resource, QueueSpec):
        return list(resource.fields().items())
    return []


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def change_fields(change: Change) -> list[tuple[str, str, Any]]:
    """(marker, field, value) lines for a change: created, removed or before/after."""
    if change.action == UPDATE:
        return [("~", escape_controls(f.field), f) for f in change.diff]
    resource = change.desired if change.action == CREATE else change.before
    marker = "+" if change.action == CREATE else "-"
    fields = brief_fields(resource) if resource else []
    return [(marker, escape_controls(k), v) for k, v in fields]


def heading(change: Change) -> str:
    return escape_controls(f"{change.symbol} {_VERB[change.action]} {change.kind} {change.name}")


def foreign_note(change: Change, plan: Plan) -> str:
    """ " (not created by Ouroboros: targets ...)" for a delete of someone else's schedule."""
    why = not_created_by_ouroboros(change, plan.settings)
    return escape_controls(f" (not created by Ouroboros: {why})") if why else ""


# Text


def render_text(plan: Plan, *, color: bool = False) -> str:
    if not plan.has_changes:
        lines = [summary_line(plan)]
        lines += [f"Note: {escape_controls(n)}" for n in plan.notes]
        return "\n".join(lines) + "\n"
    s = plan.settings
    warning = mass_delete_warning(plan)
    lines = [style(f"Warning: {warning}.", fg="red", enabled=color), ""] if warning else []
    lines += [
        f"Ouroboros will make these changes in {s.region} (schedule group {s.schedule_group}):",
        "",
    ]
    for change in plan.changes:
        title = heading(change) + foreign_note(change, plan)
        lines.append("  " + style(title, fg=_COLORS[change.action], enabled=color))
        for marker, field, value in change_fields(change):
            lines.append("      " + _text_field(marker, field, value, color))
    lines.append("")
    lines += [f"Note: {escape_controls(n)}" for n in plan.notes]
    if warning:
        lines.append(style(f"Warning: {warning}.", fg="red", enabled=color))
    lines.append(style(summary_line(plan), bold=True, enabled=color))
    return "\n".join(lines) + "\n"


def _text_field(marker: str, field: str, value: Any, color: bool) -> str:
    if isinstance(value, FieldChange):
        before = style(value_text(value.before), fg="red", enabled=color)
        after = style(value_text(value.after), fg="green", enabled=color)
        return f"~ {field}: {before} -> {after}"
    return f"{marker} {field}: {value_text(value)}"


# JSON


# What json.dumps leaves raw that a terminal acts on (it escapes C0 itself); \uXXXX keeps the
# document's meaning, and these only occur inside strings.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def render_json(plan: Plan) -> str:
    text = json.dumps(to_document(plan), indent=2, ensure_ascii=False) + "\n"
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Markdown


def _fence(body: str) -> str:
    """A code fence longer than any backtick run inside, so a value cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _md_details(change: Change, plan: Plan) -> str:
    body_lines: list[str] = []
    for marker, field, value in change_fields(change):
        if isinstance(value, FieldChange):
            body_lines.append(f"- {field}: {value_text(value.before)}")
            body_lines.append(f"+ {field}: {value_text(value.after)}")
        else:
            body_lines.append(f"{'+' if marker == '+' else '-'} {field}: {value_text(value)}")
    summary = (
        f"<code>{change.symbol}</code> {_VERB[change.action]} {change.kind} "
        f"<code>{change.name}</code>{html.escape(foreign_note(change, plan))}"
    )
    if not body_lines:
        return f"<details><summary>{summary}</summary>\n\nNo fields to show.\n\n</details>\n"
    body = "\n".join(body_lines)
    fence = _fence(body)
    return f"<details><summary>{summary}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n"


def _md_cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|")


def _md_header(plan: Plan, budget: int) -> str:
    s = plan.settings
    where = f"schedule group `{s.schedule_group}` in `{s.region}`"
    text = "## Ouroboros plan\n\n"
    warning = mass_delete_warning(plan)
    if warning:
        flag = "--allow-mass-delete"
        text += f"> [!WARNING]\n> **Mass delete:** {warning.replace(flag, f'`{flag}`')}.\n\n"
    if not plan.has_changes:
        text += f"**{summary_line(plan)}** ({where})\n"
    else:
        text += (
            f"**{plan.count(CREATE)} to create, {plan.count(UPDATE)} to "
            f"update, {plan.count(DELETE)} to delete** ({plan.unchanged} unchanged; {where})\n"
        )
    return text + _md_notes(plan.notes, budget)


def _md_notes(notes: tuple[str, ...], budget: int) -> str:
    """The notes, as many as fit in `budget` characters (a count of the rest after them)."""
    text = ""
    for shown, note in enumerate(notes):
        line = f"\n> **Note:** {escape_controls(note)}\n"
        if len(text) + len(line) > budget:
            return text + (
                f"\n> **Note:** {len(notes) - shown} more notes are in the JSON plan "
                "(`reconcile plan --format json`).\n"
            )
        text += line
    return text


def _md_cut_note(rows: int, details: int, total: int) -> str:
    shown = (
        f"the table lists {rows} of {total} changes"
        if rows < total
        else f"details are shown for {details} of {total} changes"
    )
    return (
        f"\n> **Note:** this plan is too long for one comment, so {shown}. The comment is "
        f"capped at {MARKDOWN_LIMIT:,} characters (GitHub's limit is 65,536); the full plan "
        "is in the JSON plan (`reconcile plan --format json`).\n"
    )


def render_markdown(plan: Plan, *, limit: int = MARKDOWN_LIMIT) -> str:
    # Notes (one per past at() schedule, say) get a quarter of the room at most.
    header = _md_header(plan, budget=limit // 4)
    if not plan.has_changes:
        return header
    total = len(plan.changes)
    reserve = len(_md_cut_note(total, total, total)) + 16
    rows = [
        f"| {c.symbol} {_VERB[c.action]} | {c.kind} | `{c.name}`{_md_cell(foreign_note(c, plan))} |\n"
        for c in plan.changes
    ]
    parts = [header, "\n| Action | Kind | Name |\n| --- | --- | --- |\n"]
    size = sum(len(p) for p in parts)
    shown_rows = 0
    for row in rows:
        if size + len(row) > limit - reserve:
            break
        parts.append(row)
        size += len(row)
        shown_rows += 1
    parts.append("\n")
    shown_details = 0
    if shown_rows == len(rows):
        for change in plan.changes:
            block = _md_details(change, plan)
            if size + len(block) > limit - reserve:
                break
            parts.append(block)
            size += len(block)
            shown_details += 1
    if shown_details < len(plan.changes):
        parts.append(_md_cut_note(shown_rows, shown_details, total))
    return "".join(parts)


# Markdown: the week grid of each changed rule (reconcile timeline's, DESIGN.md §11)


def changed_rules(plan: Plan) -> list[str]:
    """The rules the plan creates or updates a schedule of, in plan order."""
    names = []
    for change in plan.changes:
        if change.kind == "schedule" and change.action in (CREATE, UPDATE) and change.desired:
            assert isinstance(change.desired, ScheduleSpec)
            name = _json_object(change.desired.input).get("rule")
            if isinstance(name, str):
                names.append(name)
    return list(dict.fromkeys(names))


def rules_of(schedules: Sequence[ScheduleSpec]) -> dict[str, Rule]:
    """The rules as their schedules state them: what fires when, where and in which zone."""
    found: dict[str, Rule] = {}
    for schedule in schedules:
        event = _json_object(schedule.input)
        name, action = event.get("rule"), event.get("action")
        if not isinstance(name, str) or action not in INSTANCE_ACTIONS:
            continue
        rule = found.get(name) or Rule(
            name=name,
            accounts=tuple(event.get("accounts") or ()),
            regions=tuple(event.get("regions") or ()),
            targets=tuple((k, tuple(v)) for k, v in (event.get("targets") or {}).items()),
            timezone=schedule.timezone,
            enabled=schedule.state == "ENABLED",
        )
        if action == "start":
            found[name] = replace(rule, start=schedule.expression)
        else:
            found[name] = replace(rule, stop=schedule.expression)
    return found


def render_markdown_week_grids(
    plan: Plan, schedules: Sequence[ScheduleSpec], now: datetime, *, budget: int = MARKDOWN_LIMIT
) -> str:
    """A collapsible week grid (this local day and the 6 after it) per changed rule, as many
    as fit in `budget` characters; the rest are named with the command that shows them."""
    rules = rules_of(schedules)
    names = [name for name in changed_rules(plan) if name in rules]
    if not names:
        return ""
    text = "\n### The week ahead of each changed rule\n\n"
    for shown, name in enumerate(names):
        block = _md_week_grid(rules[name], now)
        if len(text) + len(block) > budget - 200:
            rest = " ".join(f"--rule {n}" for n in names[shown:])
            return text + f"{len(names) - shown} more: `reconcile timeline {rest}`\n"
        text += block
    return text


def _md_week_grid(rule: Rule, now: datetime) -> str:
    where = zone(rule.timezone)
    today = now.astimezone(where).date()
    start = datetime.combine(today, time(), where)
    end = datetime.combine(today + timedelta(days=7), time(), where)
    title = f"<code>{html.escape(rule.name)}</code> ({html.escape(rule.timezone)})"
    if not rule.enabled:
        return f"{title}: disabled, so nothing fires.\n\n"
    timeline = build(rule, start, end)
    body = "\n".join(week_grid(rule, start, end, timeline.windows))
    fence = _fence(body)
    return (
        f"<details><summary>{title}: {on_phrase(timeline, start, end)} in the week from "
        f"{today:%a %Y-%m-%d}</summary>\n\n{fence}text\n{body}\n{fence}\n\n</details>\n"
    )
