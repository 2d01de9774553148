"""Renderers: terraform-like text, the JSON document, Markdown for pull requests."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from recon_support import NOW, rule, settings

from reconciler.desired import DesiredState, build_desired
from reconciler.plan import Plan, make_plan
from reconciler.render import (
    MARKDOWN_LIMIT,
    changed_rules,
    render_json,
    render_markdown,
    render_markdown_week_grids,
    render_text,
    rules_of,
)
from reconciler.resources import LiveState


def want(*rules: Any, **kw: Any) -> DesiredState:
    return build_desired(list(rules), settings(), code_sha256="c2hh", now=kw.get("now", NOW))


def live_of(state: DesiredState, **overrides: Any) -> LiveState:
    values: dict[str, Any] = {
        "group": state.group,
        "schedules": state.schedules,
        "function": state.function,
        "table": state.table,
        "queue": state.queue,
    }
    return LiveState(**(values | overrides))


def mixed_plan() -> Plan:
    old = want(rule("a", start=None), rule("gone", start=None))
    new = want(rule("a", start=None, stop="rate(2 hours)"), rule("b", start=None))
    return make_plan(new, live_of(old, function=dataclasses.replace(old.function, memory_mb=128)))


MIXED_TEXT = """\
Ouroboros will make these changes in eu-west-1 (schedule group ouroboros):

  ~ update executor ouroboros-executor
      ~ MemorySize: 128 -> 256
  ~ update schedule a-stop
      ~ ScheduleExpression: "cron(0 19 ? * MON-FRI *)" -> "rate(2 hours)"
  + create schedule b-stop
      + ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
      + ScheduleExpressionTimezone: "UTC"
      + State: "ENABLED"
      + Target.Input.accounts: ["123456789012"]
      + Target.Input.regions: ["eu-west-1"]
      + Target.Input.targets: {"tag:Environment": ["dev"]}
      + Target.Input.hibernate: false
      + Target.Input.max_instances: 100
  - delete schedule gone-stop
      - ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
      - ScheduleExpressionTimezone: "UTC"
      - State: "ENABLED"
      - Target.Input.accounts: ["123456789012"]
      - Target.Input.regions: ["eu-west-1"]
      - Target.Input.targets: {"tag:Environment": ["dev"]}
      - Target.Input.hibernate: false
      - Target.Input.max_instances: 100

Plan: 1 to create, 2 to update, 1 to delete.
"""


def test_text_is_terraform_like_with_a_closing_count() -> None:
    assert render_text(mixed_plan()) == MIXED_TEXT


def test_text_for_a_first_deploy_shows_what_each_resource_is() -> None:
    text = render_text(make_plan(want(), LiveState(None, (), None, None)))
    assert text.splitlines()[2:6] == [
        "  + create log_table ouroboros-runs",
        '      + BillingMode: "PAY_PER_REQUEST"',
        '      + TimeToLive.AttributeName: "expires_at"',
        "      + PointInTimeRecovery: true",
    ]
    assert '      + CodeSha256: "c2hh"' in text
    assert '      + Runtime: "python3.12"' in text
    assert "  + create schedule_group ouroboros" in text
    assert text.splitlines()[6:10] == [
        "  + create dead_letter_queue ouroboros-dead-letters",
        '      + QueueArn: "arn:aws:sqs:eu-west-1:123456789012:ouroboros-dead-letters"',
        "      + MessageRetentionPeriod: 1209600",
        "      + Encrypted: true",
    ]
    assert text.endswith("Plan: 4 to create, 0 to update, 0 to delete.\n")


def test_text_without_changes() -> None:
    state = want(rule("a"))
    assert render_text(make_plan(state, live_of(state))) == (
        "No changes. The live state matches the rules (6 resources unchanged).\n"
    )


def test_notes_are_shown() -> None:
    state = want(rule("once", start="at(2026-01-01T08:00:00)", stop=None))
    text = render_text(make_plan(state, live_of(state)))
    assert "Note: rule once: start at(2026-01-01T08:00:00) (UTC) is in the past" in text


def test_a_refactor_renaming_every_rule_is_not_a_mass_delete() -> None:
    old = want(rule("a"), rule("b", start=None))
    plan = make_plan(want(rule("c", start=None)), live_of(old))
    # Every schedule goes, one comes: without the count, an empty plan would pass as well.
    assert (plan.count("create"), plan.count("delete")) == (1, 3)
    assert plan.mass_delete is None
    assert "Warning" not in render_text(plan) + render_markdown(plan)
    assert json.loads(render_json(plan))["mass_delete"] is None


def test_a_plan_deleting_every_schedule_and_creating_none_warns_that_apply_refuses_it() -> None:
    old = want(rule("a"), rule("b", start=None))
    plan = make_plan(want(), live_of(old))
    warning = (
        "this plan deletes all 3 managed schedules in group ouroboros and creates none; "
        "`reconcile apply` refuses it unless given --allow-mass-delete"
    )
    text = render_text(plan)
    assert text.startswith(f"Warning: {warning}.\n\nOuroboros will make these changes")
    assert text.endswith(f"\nWarning: {warning}.\nPlan: 0 to create, 0 to update, 3 to delete.\n")
    assert render_markdown(plan).startswith(
        "## Ouroboros plan\n\n> [!WARNING]\n> **Mass delete:** "
        f"{warning.replace('--allow', '`--allow')}`.\n\n**0 to create, 0 to update, 3 to delete**"
    )
    assert "Warning" not in render_text(mixed_plan()) + render_markdown(mixed_plan())


def test_a_plan_deleting_more_than_the_threshold_warns_in_all_three_formats() -> None:
    old = want(*(rule(f"r{i}", start=None) for i in range(40)))
    new = want(*(rule(f"r{i}", start=None) for i in range(29)), rule("fresh", start=None))
    plan = make_plan(new, live_of(old))
    warning = (
        "this plan deletes 11 of the 40 managed schedules in group ouroboros, more than 10 and "
        "more than 25% of them (max_delete_count, max_delete_fraction in the settings); "
        "`reconcile apply` refuses it unless given --allow-mass-delete"
    )
    assert render_text(plan).startswith(f"Warning: {warning}.\n")
    assert f"> **Mass delete:** {warning.replace('--allow', '`--allow')}`." in render_markdown(plan)
    doc = json.loads(render_json(plan))
    assert list(doc)[:4] == ["format_version", "summary", "changes", "mass_delete"]
    assert doc["mass_delete"] == {
        "deletes": 11,
        "managed": 40,
        "threshold": {"max_delete_count": 10, "max_delete_fraction": 0.25},
    }
    # 10 of 40 is at the count threshold; 11 of 44 is exactly 25%: neither is more.
    assert (
        make_plan(want(*(rule(f"r{i}", start=None) for i in range(30))), live_of(old)).mass_delete
        is None
    )
    many = want(*(rule(f"r{i}", start=None) for i in range(44)))
    assert (
        make_plan(want(*(rule(f"r{i}", start=None) for i in range(33))), live_of(many)).mass_delete
        is None
    )


def test_colour_only_when_asked() -> None:
    plain = render_text(mixed_plan(), color=False)
    # click adds "normal intensity" (22m) after a colour; only the colours matter here.
    coloured = render_text(mixed_plan(), color=True).replace("\x1b[22m", "")
    assert "\x1b[" not in plain
    assert "\x1b[32m+ create schedule b-stop\x1b[0m" in coloured
    assert "\x1b[33m~ update schedule a-stop\x1b[0m" in coloured
    assert "\x1b[31m- delete schedule gone-stop\x1b[0m" in coloured
    assert "\x1b[1mPlan: 1 to create, 2 to update, 1 to delete.\x1b[0m" in coloured


def test_json_is_the_document_with_the_pinned_top_level() -> None:
    text = render_json(mixed_plan())
    doc = json.loads(text)
    assert list(doc) == [
        "format_version",
        "summary",
        "changes",
        "mass_delete",
        "notes",
        "settings",
        "managed_schedules",
        "fingerprints",
    ]
    assert doc["summary"] == {"create": 1, "update": 2, "delete": 1, "unchanged": 3}
    assert [(c["action"], c["kind"], c["name"]) for c in doc["changes"]] == [
        ("update", "executor", "ouroboros-executor"),
        ("update", "schedule", "a-stop"),
        ("create", "schedule", "b-stop"),
        ("delete", "schedule", "gone-stop"),
    ]
    assert doc["changes"][0]["diff"] == [{"field": "MemorySize", "before": 128, "after": 256}]
    assert render_json(mixed_plan()) == text  # stable


MIXED_MARKDOWN_HEAD = """\
## Ouroboros plan

**1 to create, 2 to update, 1 to delete** (3 unchanged; schedule group `ouroboros` in `eu-west-1`)

| Action | Kind | Name |
| --- | --- | --- |
| ~ update | executor | `ouroboros-executor` |
| ~ update | schedule | `a-stop` |
| + create | schedule | `b-stop` |
| - delete | schedule | `gone-stop` |

<details><summary><code>~</code> update executor <code>ouroboros-executor</code></summary>

```diff
- MemorySize: 128
+ MemorySize: 256
```

</details>
<details><summary><code>~</code> update schedule <code>a-stop</code></summary>

```diff
- ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
+ ScheduleExpression: "rate(2 hours)"
```

</details>
"""


def test_markdown_has_a_summary_table_and_collapsible_details() -> None:
    text = render_markdown(mixed_plan())
    assert text.startswith(MIXED_MARKDOWN_HEAD)
    assert text.count("<details>") == 4
    assert text.count("</details>") == 4
    assert "Note:" not in text


def test_markdown_without_changes() -> None:
    state = want(rule("a"))
    assert render_markdown(make_plan(state, live_of(state))) == (
        "## Ouroboros plan\n\n**No changes. The live state matches the rules (6 resources "
        "unchanged).** (schedule group `ouroboros` in `eu-west-1`)\n"
    )


def test_a_value_with_backticks_cannot_break_out_of_the_code_block() -> None:
    old = want(rule("a", start=None))
    new = want(rule("a", start=None, description="see ```code``` and ````more````"))
    text = render_markdown(make_plan(new, live_of(old)))
    assert "`````diff\n" in text
    assert "\n`````\n" in text


def test_a_huge_plan_is_capped_below_githubs_limit_with_a_note() -> None:
    rules = [rule(f"rule-{i:04d}") for i in range(1500)]
    text = render_markdown(make_plan(want(*rules), LiveState(None, (), None, None)))
    assert len(text) <= MARKDOWN_LIMIT < 65_536
    assert text.rstrip().endswith(
        "The comment is capped at 60,000 characters (GitHub's limit is 65,536); the full plan "
        "is in the JSON plan (`reconcile plan --format json`)."
    )
    assert "so the table lists " in text or "so details are shown for " in text


@pytest.mark.parametrize("converged", [False, True])
def test_many_notes_are_capped_too(converged: bool) -> None:
    # One note per past at() schedule: 800 of them are about 90,000 characters.
    rules = [rule(f"once-{i:03d}", start="at(2026-01-01T08:00:00)", stop=None) for i in range(800)]
    state = want(*rules)
    live = live_of(state) if converged else LiveState(None, (), None, None)
    text = render_markdown(make_plan(state, live))
    assert len(text) <= MARKDOWN_LIMIT
    assert text.count("> **Note:** rule once-") < 800
    assert "more notes are in the JSON plan (`reconcile plan --format json`)." in text
    assert ("| + create | log_table |" in text) is not converged


def test_a_medium_plan_lists_every_change_but_cuts_the_details() -> None:
    rules = [rule(f"rule-{i:03d}") for i in range(150)]
    text = render_markdown(make_plan(want(*rules), LiveState(None, (), None, None)))
    assert len(text) <= MARKDOWN_LIMIT
    assert text.count("| + create | schedule |") == 300
    assert "so details are shown for " in text
    assert " of 304 changes" in text


def test_a_small_limit_is_respected() -> None:
    text = render_markdown(mixed_plan(), limit=1200)
    assert len(text) <= 1200
    assert "details are shown for 2 of 4 changes" in text


def test_a_deleted_schedule_ouroboros_did_not_create_is_marked_in_every_format() -> None:
    state = want(rule("a", start=None))
    ours = state.schedules[0]
    foreign = dataclasses.replace(
        ours, name="billing-report", target_arn="arn:aws:sns:eu-west-1:123456789012:reports"
    )
    odd_input = dataclasses.replace(ours, name="hand-made", input='{"hello": "world"}')
    gone = dataclasses.replace(ours, name="gone-stop")  # made by ouroboros, rule removed
    plan = make_plan(state, live_of(state, schedules=(ours, foreign, odd_input, gone)))
    text = render_text(plan)
    assert (
        "  - delete schedule billing-report (not created by Ouroboros: targets "
        "arn:aws:sns:eu-west-1:123456789012:reports)\n"
    ) in text
    assert (
        "  - delete schedule hand-made (not created by Ouroboros: its Input is not an "
        "Ouroboros executor event)\n"
    ) in text
    assert "  - delete schedule gone-stop\n" in text
    markdown = render_markdown(plan)
    assert (
        "| - delete | schedule | `billing-report` (not created by Ouroboros: targets "
        "arn:aws:sns:eu-west-1:123456789012:reports) |\n"
    ) in markdown
    assert "<code>billing-report</code> (not created by Ouroboros: targets arn:aws:sns:" in markdown
    changes = {c["name"]: c for c in json.loads(render_json(plan))["changes"]}
    assert changes["billing-report"]["not_created_by_ouroboros"] == (
        "targets arn:aws:sns:eu-west-1:123456789012:reports"
    )
    assert changes["hand-made"]["not_created_by_ouroboros"] == (
        "its Input is not an Ouroboros executor event"
    )
    assert "not_created_by_ouroboros" not in changes["gone-stop"]


# The week grid of each changed rule (reconcile timeline's), embedded in the Markdown plan

TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
OFFICE = rule("office", timezone="Europe/Berlin")
OFFICE_GRID = """\

### The week ahead of each changed rule

<details><summary><code>office</code> (Europe/Berlin): on 55 of 168 hours in the week from Tue 2026-12-01</summary>

```text
                00  02  04  06  08  10  12  14  16  18  20  22
Tue 2026-12-01  ................######################..........
Wed 2026-12-02  ................######################..........
Thu 2026-12-03  ................######################..........
Fri 2026-12-04  ................######################..........
Sat 2026-12-05  ................................................
Sun 2026-12-06  ................................................
Mon 2026-12-07  ................######################..........
                # on  . off  blank: outside the window, or a time that does not exist
```

</details>
"""


def test_markdown_week_grid_of_a_created_rule() -> None:
    state = want(OFFICE)
    plan = make_plan(state, LiveState(None, (), None, None))
    assert render_markdown_week_grids(plan, state.schedules, TUESDAY) == OFFICE_GRID


def test_week_grids_only_for_rules_with_a_created_or_updated_schedule() -> None:
    old = want(OFFICE, rule("same"), rule("gone"))
    new = want(dataclasses.replace(OFFICE, stop="cron(0 18 ? * MON-FRI *)"), rule("same"))
    plan = make_plan(new, live_of(old))
    assert changed_rules(plan) == ["office"]
    text = render_markdown_week_grids(plan, new.schedules, TUESDAY)
    assert "(Europe/Berlin): on 50 of 168 hours in the week from Tue 2026-12-01" in text
    assert text.count("<details>") == 1
    assert render_markdown_week_grids(make_plan(new, live_of(new)), new.schedules, TUESDAY) == ""


def test_rules_of_reads_back_what_the_schedules_say() -> None:
    paused = rule("paused", start=None, enabled=False, timezone="America/New_York")
    found = rules_of(want(OFFICE, paused).schedules)
    assert [(r.name, r.start, r.stop, r.timezone, r.enabled) for r in found.values()] == [
        ("office", OFFICE.start, OFFICE.stop, "Europe/Berlin", True),
        ("paused", None, paused.stop, "America/New_York", False),
    ]
    assert found["office"].targets == OFFICE.targets
    assert found["office"].accounts == OFFICE.accounts
    assert found["office"].regions == OFFICE.regions


def test_week_grids_that_do_not_fit_are_named_with_the_command() -> None:
    state = want(OFFICE, rule("second"), rule("third"))
    plan = make_plan(state, LiveState(None, (), None, None))
    text = render_markdown_week_grids(plan, state.schedules, TUESDAY, budget=1300)
    assert text.count("<details>") == 1
    assert text.endswith("2 more: `reconcile timeline --rule second --rule third`\n")


def test_a_disabled_changed_rule_gets_a_line_not_a_grid() -> None:
    old = want(OFFICE)
    new = want(dataclasses.replace(OFFICE, enabled=False))
    text = render_markdown_week_grids(make_plan(new, live_of(old)), new.schedules, TUESDAY)
    assert text == (
        "\n### The week ahead of each changed rule\n\n"
        "<code>office</code> (Europe/Berlin): disabled, so nothing fires.\n\n"
    )
