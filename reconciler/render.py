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
from datetime import UTC, datetime, time, timedelta
from typing import Any

from reconciler.ansi import style
from reconciler.checks import escape_controls
from reconciler.conflicts import HELD_ON, Conflict, pair_message
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.model import INSTANCE_ACTIONS, Location, Rule
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
from reconciler.review import Hit, Review, RuleReview, Targets, noun
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
        lines = [*review_text(plan), summary_line(plan)]
        lines += [f"Note: {escape_controls(n)}" for n in plan.notes]
        return "\n".join(lines) + "\n"
    s = plan.settings
    warning = mass_delete_warning(plan)
    lines = [style(f"Warning: {warning}.", fg="red", enabled=color), ""] if warning else []
    lines += review_text(plan)
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
    # The reviewer's blocks lead, with up to half of what is left; the field diff follows.
    review = review_markdown(plan, budget=(limit - len(header)) // 2)
    header += review
    if not plan.has_changes:
        return header
    total = len(plan.changes)
    reserve = len(_md_cut_note(total, total, total)) + 16
    rows = [
        f"| {c.symbol} {_VERB[c.action]} | {c.kind} | `{c.name}`{_md_cell(foreign_note(c, plan))} |\n"
        for c in plan.changes
    ]
    table_head = ""
    if plan.review is not None:
        table_head = ("" if review.endswith("\n\n") else "\n") + "### Schedule changes\n"
    parts = [header, table_head + "\n| Action | Kind | Name |\n| --- | --- | --- |\n"]
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


# The reviewer's blocks (DESIGN.md §10): one per affected rule, leading the plan, in words a
# manager can read; the schedule-level field diff follows them.

TEXT_INSTANCES = 10  # instances listed per rule in text; the rest are counted
MARKDOWN_INSTANCES = 20
_CHANGE_SYMBOL = {"create": "+", "update": "~", "delete": "-", "unchanged": " "}


def shown_rules(review: Review) -> list[RuleReview]:
    """The rules a reviewer gets a block for: the affected ones (every one with --targets all);
    the old name of a rename is told in the new name's block."""
    return [
        r
        for r in review.rules
        if (r.affected or review.targets_mode == "all") and r.renamed_to is None
    ]


def fire_text(fire: datetime) -> str:
    """ "Tue 2026-12-01 08:00 CET (07:00 UTC)" """
    utc = fire.astimezone(UTC)
    local = f"{fire:%a %Y-%m-%d %H:%M} {fire.tzname()}"
    if fire.utcoffset() == utc.utcoffset() and fire.tzname() == "UTC":
        return local
    day = "" if utc.date() == fire.date() else f"{utc:%a} "
    return f"{local} ({day}{utc:%H:%M} UTC)"


def _symbol(rule: RuleReview) -> str:
    return "~" if rule.renamed_from else _CHANGE_SYMBOL[rule.change]


def _rule_title(rule: RuleReview) -> str:
    if rule.renamed_from:
        return f"rename {rule.renamed_from} → {rule.name}"
    return f"{rule.change} rule {rule.name}"


def _hits_line(targets: Targets, resource: str) -> str:
    places = len({(h.account, h.region) for h in targets.instances})
    where = f" in {places} account/region pair{'s' if places != 1 else ''}" if places else ""
    return f"hits {targets.count} {noun(resource, targets.count)} now{where}"


def _change_line(rule: RuleReview, targets: Targets) -> str | None:
    if rule.change == "update":
        return f"this change adds {len(targets.added)} and removes {len(targets.removed)}"
    if rule.change == "delete":
        return f"{'it stops' if len(targets.removed) == 1 else 'they stop'} being scheduled"
    return None


def _id_list(ids: Sequence[str], limit: int = TEXT_INSTANCES) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _instance_cells(hit: Hit) -> list[str]:
    return [hit.account, hit.region, hit.id, hit.name or "-", hit.state, hit.skip or ""]


def _by_pair(conflicts: Sequence[Conflict]) -> list[list[Conflict]]:
    pairs: dict[tuple[str, str], list[Conflict]] = {}
    for c in conflicts:
        pairs.setdefault(c.rules, []).append(c)
    return list(pairs.values())


def conflict_lines(review: Review) -> list[str]:
    """One sentence per pair of conflicting rules (a pair the union holds on is no conflict)."""
    return [_pair_text(pair) for pair in _by_pair(review.conflicts) if not _held(pair)]


def _held(pair: Sequence[Conflict]) -> bool:
    """The executor's union of on-windows keeps the pair's instances up (DESIGN.md §12)."""
    return pair[0].resolution == HELD_ON


def _label(pair: Sequence[Conflict]) -> str:
    return "held on" if _held(pair) else "conflict"


RULE_CONFLICTS = 5  # conflict lines per rule block; the JSON plan has the rest


def _rule_conflicts(review: Review, name: str) -> list[tuple[str, str]]:
    """(label, sentence) per pair the rule is in (instances counted, not listed), conflicts
    first, 5 at most."""
    pairs = [pair for pair in _by_pair(review.conflicts) if name in pair[0].rules]
    pairs.sort(key=_held)
    lines = [(_label(pair), _pair_text(pair)) for pair in pairs]
    if len(lines) <= RULE_CONFLICTS:
        return lines
    more = len(lines) - RULE_CONFLICTS
    label = lines[RULE_CONFLICTS][0]
    return [
        *lines[:RULE_CONFLICTS],
        (label, f"and {more} more with other rules: see the JSON plan"),
    ]


def _pair_text(found: Sequence[Conflict]) -> str:
    return pair_message(found)


def _text_instances(hits: Sequence[Hit]) -> list[str]:
    """One aligned line per instance: account, region, id, Name, state, and why it is skipped."""
    rows = [_instance_cells(hit) for hit in hits]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    lines = []
    for row in rows:
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True))
        lines.append(f"        {cells}  skip: {row[5]}" if row[5] else f"        {cells.rstrip()}")
    return lines


def _text_rule(rule: RuleReview, review: Review) -> list[str]:
    lines = [f"  {_symbol(rule)} {_rule_title(rule)}"]
    lines += [f"      {line}" for line in rule.summary]
    for action, fires in rule.next:
        shown = ", ".join(fire_text(f) for f in fires) or "never again"
        lines.append(f"      next {action}s: {shown}")
    lines += [f"      DST: {note}" for note in rule.notes]
    targets = rule.targets
    if targets is not None:
        head = _hits_line(targets, rule.resource)
        change = _change_line(rule, targets)
        lines.append(f"      {head}" + (f"; {change}" if change else ""))
        lines += _text_instances(targets.instances[:TEXT_INSTANCES])
        if targets.count > TEXT_INSTANCES:
            lines.append(f"        and {targets.count - TEXT_INSTANCES} more")
        if targets.added and rule.change == "update":
            lines.append(f"      added: {_id_list(targets.added)}")
        if targets.removed and rule.change == "update":
            lines.append(f"      removed: {_id_list(targets.removed)}")
    lines += [f"      warning: {w}" for w in rule.warnings]
    lines += [f"      {label}: {c}" for label, c in _rule_conflicts(review, rule.name)]
    return [escape_controls(line) for line in lines]


def review_text(plan: Plan) -> list[str]:
    """The reviewer's blocks as text lines (none without a review)."""
    review = plan.review
    if review is None:
        return []
    rules = shown_rules(review)
    lines: list[str] = []
    if rules:
        lines += ["Rules this plan changes:" if review.targets_mode != "all" else "Rules:", ""]
        for rule in rules:
            lines += [*_text_rule(rule, review), ""]
    conflicts, held = _other_pairs(review, {r.name for r in rules})
    for heading, pairs in (
        ("Conflicts between rules this plan does not change:", conflicts),
        ("Overlapping rules this plan does not change (held on, no conflict):", held),
    ):
        if pairs:
            lines.append(heading)
            lines += [escape_controls(f"  {_pair_text(pair)}") for pair in pairs]
            lines.append("")
    if review.unlisted_pairs:
        lines += [_unlisted(review), ""]
    return lines


def _other_pairs(
    review: Review, shown: set[str]
) -> tuple[list[list[Conflict]], list[list[Conflict]]]:
    """The pairs of rules no shown block names: (conflicts, held on)."""
    pairs = _by_pair([c for c in review.conflicts if not set(c.rules) & shown])
    return [p for p in pairs if not _held(p)], [p for p in pairs if _held(p)]


def _unlisted(review: Review) -> str:
    return (
        f"Note: {review.conflict_pairs} pairs of rules overlap (conflicts or held on); the first "
        f"{review.conflict_pairs - review.unlisted_pairs} are listed (conflict_pairs in the "
        "JSON plan counts them all)."
    )


def _md_rule(rule: RuleReview, review: Review) -> str:
    title = _rule_title(rule).replace(rule.name, f"`{rule.name}`")
    if rule.renamed_from:
        title = title.replace(rule.renamed_from, f"`{rule.renamed_from}`", 1)
    parts = [f"#### {_symbol(rule).strip() or '='} {title}\n\n"]
    parts += [f"- {_md_text(line)}\n" for line in rule.summary]
    for action, fires in rule.next:
        shown = ", ".join(fire_text(f) for f in fires) or "never again"
        parts.append(f"- **Next {action}s:** {shown}\n")
    parts += [f"- **DST:** {_md_text(note)}\n" for note in rule.notes]
    targets = rule.targets
    if targets is not None:
        change = _change_line(rule, targets)
        parts.append(
            f"- **Targets:** {_hits_line(targets, rule.resource)}"
            + (f"; {change}" if change else "")
        )
        parts.append("\n")
        if rule.change == "update":
            parts += _md_ids("Added", targets.added) + _md_ids("Removed", targets.removed)
    parts += [f"- :warning: **Warning:** {_md_text(w)}\n" for w in rule.warnings]
    parts += [_md_pair_item(label, c) for label, c in _rule_conflicts(review, rule.name)]
    if targets is not None and targets.instances:
        parts.append("\n" + _md_instances(targets, rule.resource))
    return "".join(parts) + "\n"


def _md_pair_item(label: str, text: str) -> str:
    if label == "held on":
        return f"- :information_source: **Held on:** {_md_text(text)}\n"
    return f"- :x: **Conflict:** {_md_text(text)}\n"


def _md_ids(label: str, ids: Sequence[str]) -> list[str]:
    if not ids:
        return []
    listed = ", ".join(f"`{i}`" for i in ids[:MARKDOWN_INSTANCES])
    more = len(ids) - MARKDOWN_INSTANCES
    return [f"- **{label}:** {listed}" + (f" and {more} more" if more > 0 else "") + "\n"]


def _md_text(text: str) -> str:
    return html.escape(escape_controls(text), quote=False)


def _md_instances(targets: Targets, resource: str) -> str:
    rows = [
        "| " + " | ".join(_md_cell(cell) for cell in _instance_cells(hit)) + " |\n"
        for hit in targets.instances[:MARKDOWN_INSTANCES]
    ]
    more = targets.count - MARKDOWN_INSTANCES
    tail = f"\nand {more} more (the JSON plan lists every one)\n" if more > 0 else ""
    column = {"ec2": "Instance", "asg": "Group"}.get(resource, noun(resource))
    return (
        f"<details><summary>{targets.count} {noun(resource, targets.count)}</summary>\n\n"
        f"| Account | Region | {column} | Name | {'Status' if resource != 'ec2' else 'State'}"
        " | Skipped because |\n"
        "| --- | --- | --- | --- | --- | --- |\n" + "".join(rows) + tail + "\n</details>\n"
    )


def review_markdown(plan: Plan, budget: int) -> str:
    """The reviewer's blocks in Markdown, as many rules as fit in `budget` characters."""
    review = plan.review
    if review is None:
        return ""
    rules = shown_rules(review)
    text = "\n### Rules\n\n" if rules else ""
    for shown, rule in enumerate(rules):
        block = _md_rule(rule, review)
        if len(text) + len(block) > budget:
            text += (
                f"> **Note:** {len(rules) - shown} more rules are in the JSON plan "
                "(`reconcile plan --format json`).\n\n"
            )
            break
        text += block
    conflicts, held = _other_pairs(review, {r.name for r in rules})
    for heading, marker, pairs in (
        ("Conflicts between unchanged rules", ":x:", conflicts),
        ("Overlapping unchanged rules: held on, no conflict", ":information_source:", held),
    ):
        if pairs:
            text += "" if text.endswith("\n\n") else "\n"
            text += f"### {heading}\n\n"
            text += "".join(f"- {marker} {_md_text(_pair_text(pair))}\n" for pair in pairs)
            text += "\n"
    if review.unlisted_pairs:
        text += f"> **{_unlisted(review).replace('Note: ', 'Note:** ', 1)}\n\n"
    return text


def github_annotations(plan: Plan) -> list[str]:
    """Workflow commands putting each rule warning and conflict on its rule's line (as
    `validate --format github` does); one for each rule of a conflict. A pair the union holds
    on is a notice, not a warning: nothing is wrong, the reviewer should still know."""
    review = plan.review
    if review is None:
        return []
    found: list[tuple[Location | None, Severity, str]] = [
        (r.location, "warning", f"rule {r.name}: {w}") for r in review.rules for w in r.warnings
    ]
    located = {r.name: r.location for r in review.rules}
    found += [
        (
            located.get(name),
            "notice" if _held(pair) else "warning",
            f"{_label(pair)}: {_pair_text(pair)}",
        )
        for pair in _by_pair(review.conflicts)
        for name in pair[0].rules
    ]
    return [_annotation(*entry) for entry in dict.fromkeys(found)]


def _annotation(location: Location | None, severity: Severity, message: str) -> str:
    if location is None:
        body = Diagnostic("", 0, 0, severity, message).github().split("::", 2)[2]
        return f"::{severity}::{body}"
    return Diagnostic(location.file, location.line, location.col, severity, message).github()
