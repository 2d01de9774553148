"""The reviewer's blocks that lead the text and Markdown plans (DESIGN.md §10), and the
conflict annotations: checked exactly, as a pull request shows them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from recon_support import ACCOUNT, NOW, REGION, rule, settings
from test_review import DEV, live_of, running, want

from reconciler.desired import build_desired
from reconciler.executor.selection import Instance
from reconciler.loader import load_rules
from reconciler.model import Location, Rule
from reconciler.plan import Plan, make_plan
from reconciler.render import github_annotations, render_markdown, render_text
from reconciler.review import Found, ReadKey, build_review, filter_set, rule_states_of

DEV_TEST = (("tag:Environment", ("dev", "test")),)


def reviewed(new: list[Rule], old: list[Rule], found: dict[ReadKey, Found]) -> Plan:
    desired, live = want(*new), live_of(want(*old))
    plan = make_plan(desired, live)
    states = rule_states_of(plan, desired.rules, desired.schedules, live.schedules)
    return dataclasses.replace(plan, review=build_review(states, found, now=NOW))


def scenario() -> Plan:
    at = Location("schedules/dev.yaml", 3, 5)
    office = rule("dev-office-hours", timezone="Europe/Berlin", location=at)
    changed = dataclasses.replace(office, start="cron(30 7 ? * MON-FRI *)", targets=DEV_TEST)
    batch = rule(
        "night-batch",
        timezone="Europe/Berlin",
        targets=DEV_TEST,
        start="cron(0 18 ? * FRI *)",
        stop="cron(0 23 ? * FRI *)",
        location=Location("schedules/dev.yaml", 12, 5),
    )
    nightly = rule(
        "nightly",
        timezone="Europe/Berlin",
        targets=(("tag:Enviroment", ("dev",)),),
        start=None,
        stop="cron(30 2 * * ? *)",
    )
    fleet = rule("fleet", targets=(("tag:Team", ("web",)),), start=None, max_instances=1000)
    renamed = rule("old-name", targets=(("tag:Team", ("db",)),))
    found = {
        ReadKey(ACCOUNT, REGION, DEV): Found((running(1), running(2))),
        ReadKey(ACCOUNT, REGION, filter_set(DEV_TEST)): Found(
            (running(1), running(3, asg="web"), running(4, state="stopped"))
        ),
        ReadKey(ACCOUNT, REGION, filter_set(nightly.targets)): Found(()),
        ReadKey(ACCOUNT, REGION, filter_set(fleet.targets)): Found(
            tuple(running(100 + i) for i in range(23))
        ),
        ReadKey(ACCOUNT, REGION, filter_set(renamed.targets)): Found((running(50),)),
    }
    new = [changed, batch, nightly, fleet, dataclasses.replace(renamed, name="new-name")]
    return reviewed(new, [office, renamed], found)


MARKDOWN = """\
## Ouroboros plan

**7 to create, 2 to update, 2 to delete** (3 unchanged; schedule group `ouroboros` in `eu-west-1`)

### Rules

#### ~ update rule `dev-office-hours`

- starts 07:30 instead of 08:00, Mon-Fri, Europe/Berlin
- filters tag:Environment=dev|test instead of tag:Environment=dev
- **Next starts:** Mon 2026-11-30 07:30 CET (06:30 UTC), Tue 2026-12-01 07:30 CET (06:30 UTC), Wed 2026-12-02 07:30 CET (06:30 UTC)
- **Next stops:** Fri 2026-11-27 19:00 CET (18:00 UTC), Mon 2026-11-30 19:00 CET (18:00 UTC), Tue 2026-12-01 19:00 CET (18:00 UTC)
- **Targets:** hits 3 instances now in 1 account/region pair; this change adds 2 and removes 1
- **Added:** `i-00000000000000003`, `i-00000000000000004`
- **Removed:** `i-00000000000000002`
- :information_source: **Held on:** dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)

<details><summary>3 instances</summary>

| Account | Region | Instance | Name | State | Skipped because |
| --- | --- | --- | --- | --- | --- |
| 123456789012 | eu-west-1 | i-00000000000000001 | dev-1 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000003 | dev-3 | running | member of Auto Scaling group web: schedule the group with `resource: asg` |
| 123456789012 | eu-west-1 | i-00000000000000004 | dev-4 | stopped |  |

</details>

#### + create rule `fleet`

- stops 19:00, Mon-Fri, UTC
- acts on tag:Team=web in 123456789012 / eu-west-1
- **Next stops:** Fri 2026-11-27 19:00 UTC, Mon 2026-11-30 19:00 UTC, Tue 2026-12-01 19:00 UTC
- **Targets:** hits 23 instances now in 1 account/region pair

<details><summary>23 instances</summary>

| Account | Region | Instance | Name | State | Skipped because |
| --- | --- | --- | --- | --- | --- |
| 123456789012 | eu-west-1 | i-00000000000000064 | dev-100 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000065 | dev-101 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000066 | dev-102 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000067 | dev-103 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000068 | dev-104 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000069 | dev-105 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006a | dev-106 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006b | dev-107 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006c | dev-108 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006d | dev-109 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006e | dev-110 | running |  |
| 123456789012 | eu-west-1 | i-0000000000000006f | dev-111 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000070 | dev-112 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000071 | dev-113 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000072 | dev-114 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000073 | dev-115 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000074 | dev-116 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000075 | dev-117 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000076 | dev-118 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000077 | dev-119 | running |  |

and 3 more (the JSON plan lists every one)

</details>

#### ~ rename `old-name` → `new-name`

- the same settings under a new name: AWS cannot rename a schedule, so apply deletes old-name's schedules and creates new-name's
- **Next starts:** Mon 2026-11-30 08:00 UTC, Tue 2026-12-01 08:00 UTC, Wed 2026-12-02 08:00 UTC
- **Next stops:** Fri 2026-11-27 19:00 UTC, Mon 2026-11-30 19:00 UTC, Tue 2026-12-01 19:00 UTC
- **Targets:** hits 1 instance now in 1 account/region pair

<details><summary>1 instance</summary>

| Account | Region | Instance | Name | State | Skipped because |
| --- | --- | --- | --- | --- | --- |
| 123456789012 | eu-west-1 | i-00000000000000032 | dev-50 | running |  |

</details>

#### + create rule `night-batch`

- starts 18:00, Fri, Europe/Berlin
- stops 23:00, Fri, Europe/Berlin
- acts on tag:Environment=dev|test in 123456789012 / eu-west-1
- **Next starts:** Fri 2026-11-27 18:00 CET (17:00 UTC), Fri 2026-12-04 18:00 CET (17:00 UTC), Fri 2026-12-11 18:00 CET (17:00 UTC)
- **Next stops:** Fri 2026-11-27 23:00 CET (22:00 UTC), Fri 2026-12-04 23:00 CET (22:00 UTC), Fri 2026-12-11 23:00 CET (22:00 UTC)
- **Targets:** hits 3 instances now in 1 account/region pair
- :information_source: **Held on:** dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)

<details><summary>3 instances</summary>

| Account | Region | Instance | Name | State | Skipped because |
| --- | --- | --- | --- | --- | --- |
| 123456789012 | eu-west-1 | i-00000000000000001 | dev-1 | running |  |
| 123456789012 | eu-west-1 | i-00000000000000003 | dev-3 | running | member of Auto Scaling group web: schedule the group with `resource: asg` |
| 123456789012 | eu-west-1 | i-00000000000000004 | dev-4 | stopped |  |

</details>

#### + create rule `nightly`

- stops 02:30, every day, Europe/Berlin
- acts on tag:Enviroment=dev in 123456789012 / eu-west-1
- **Next stops:** Sat 2026-11-28 02:30 CET (01:30 UTC), Sun 2026-11-29 02:30 CET (01:30 UTC), Mon 2026-11-30 02:30 CET (01:30 UTC)
- **DST:** 2027-03-28: 02:30 does not exist in Europe/Berlin: stop skipped
- **Targets:** hits 0 instances now
- :warning: **Warning:** matches no instance anywhere: check the filters: tag:Enviroment=dev

### Schedule changes

| Action | Kind | Name |
| --- | --- | --- |
| + create | dead_letter_queue | `ouroboros-dead-letters` |
| ~ update | schedule | `dev-office-hours-start` |
| ~ update | schedule | `dev-office-hours-stop` |
| + create | schedule | `fleet-stop` |
| + create | schedule | `new-name-start` |
| + create | schedule | `new-name-stop` |
| + create | schedule | `night-batch-start` |
| + create | schedule | `night-batch-stop` |
| + create | schedule | `nightly-stop` |
| - delete | schedule | `old-name-start` |
| - delete | schedule | `old-name-stop` |

<details><summary><code>+</code> create dead_letter_queue <code>ouroboros-dead-letters</code></summary>

```diff
+ QueueArn: "arn:aws:sqs:eu-west-1:123456789012:ouroboros-dead-letters"
+ MessageRetentionPeriod: 1209600
+ Encrypted: true
```

</details>
<details><summary><code>~</code> update schedule <code>dev-office-hours-start</code></summary>

```diff
- ScheduleExpression: "cron(0 8 ? * MON-FRI *)"
+ ScheduleExpression: "cron(30 7 ? * MON-FRI *)"
- Target.Input.targets: {"tag:Environment": ["dev"]}
+ Target.Input.targets: {"tag:Environment": ["dev", "test"]}
```

</details>
<details><summary><code>~</code> update schedule <code>dev-office-hours-stop</code></summary>

```diff
- Target.Input.targets: {"tag:Environment": ["dev"]}
+ Target.Input.targets: {"tag:Environment": ["dev", "test"]}
```

</details>
<details><summary><code>+</code> create schedule <code>fleet-stop</code></summary>

```diff
+ ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
+ ScheduleExpressionTimezone: "UTC"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Team": ["web"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 1000
```

</details>
<details><summary><code>+</code> create schedule <code>new-name-start</code></summary>

```diff
+ ScheduleExpression: "cron(0 8 ? * MON-FRI *)"
+ ScheduleExpressionTimezone: "UTC"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Team": ["db"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 100
```

</details>
<details><summary><code>+</code> create schedule <code>new-name-stop</code></summary>

```diff
+ ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
+ ScheduleExpressionTimezone: "UTC"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Team": ["db"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 100
```

</details>
<details><summary><code>+</code> create schedule <code>night-batch-start</code></summary>

```diff
+ ScheduleExpression: "cron(0 18 ? * FRI *)"
+ ScheduleExpressionTimezone: "Europe/Berlin"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Environment": ["dev", "test"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 100
```

</details>
<details><summary><code>+</code> create schedule <code>night-batch-stop</code></summary>

```diff
+ ScheduleExpression: "cron(0 23 ? * FRI *)"
+ ScheduleExpressionTimezone: "Europe/Berlin"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Environment": ["dev", "test"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 100
```

</details>
<details><summary><code>+</code> create schedule <code>nightly-stop</code></summary>

```diff
+ ScheduleExpression: "cron(30 2 * * ? *)"
+ ScheduleExpressionTimezone: "Europe/Berlin"
+ State: "ENABLED"
+ Target.Input.accounts: ["123456789012"]
+ Target.Input.regions: ["eu-west-1"]
+ Target.Input.targets: {"tag:Enviroment": ["dev"]}
+ Target.Input.hibernate: false
+ Target.Input.max_instances: 100
```

</details>
<details><summary><code>-</code> delete schedule <code>old-name-start</code></summary>

```diff
- ScheduleExpression: "cron(0 8 ? * MON-FRI *)"
- ScheduleExpressionTimezone: "UTC"
- State: "ENABLED"
- Target.Input.accounts: ["123456789012"]
- Target.Input.regions: ["eu-west-1"]
- Target.Input.targets: {"tag:Team": ["db"]}
- Target.Input.hibernate: false
- Target.Input.max_instances: 100
```

</details>
<details><summary><code>-</code> delete schedule <code>old-name-stop</code></summary>

```diff
- ScheduleExpression: "cron(0 19 ? * MON-FRI *)"
- ScheduleExpressionTimezone: "UTC"
- State: "ENABLED"
- Target.Input.accounts: ["123456789012"]
- Target.Input.regions: ["eu-west-1"]
- Target.Input.targets: {"tag:Team": ["db"]}
- Target.Input.hibernate: false
- Target.Input.max_instances: 100
```

</details>
"""

TEXT_HEAD = """\
Rules this plan changes:

  ~ update rule dev-office-hours
      starts 07:30 instead of 08:00, Mon-Fri, Europe/Berlin
      filters tag:Environment=dev|test instead of tag:Environment=dev
      next starts: Mon 2026-11-30 07:30 CET (06:30 UTC), Tue 2026-12-01 07:30 CET (06:30 UTC), Wed 2026-12-02 07:30 CET (06:30 UTC)
      next stops: Fri 2026-11-27 19:00 CET (18:00 UTC), Mon 2026-11-30 19:00 CET (18:00 UTC), Tue 2026-12-01 19:00 CET (18:00 UTC)
      hits 3 instances now in 1 account/region pair; this change adds 2 and removes 1
        123456789012  eu-west-1  i-00000000000000001  dev-1  running
        123456789012  eu-west-1  i-00000000000000003  dev-3  running  skip: member of Auto Scaling group web: schedule the group with `resource: asg`
        123456789012  eu-west-1  i-00000000000000004  dev-4  stopped
      added: i-00000000000000003, i-00000000000000004
      removed: i-00000000000000002
      held on: dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)

  + create rule fleet
      stops 19:00, Mon-Fri, UTC
      acts on tag:Team=web in 123456789012 / eu-west-1
      next stops: Fri 2026-11-27 19:00 UTC, Mon 2026-11-30 19:00 UTC, Tue 2026-12-01 19:00 UTC
      hits 23 instances now in 1 account/region pair
        123456789012  eu-west-1  i-00000000000000064  dev-100  running
        123456789012  eu-west-1  i-00000000000000065  dev-101  running
        123456789012  eu-west-1  i-00000000000000066  dev-102  running
        123456789012  eu-west-1  i-00000000000000067  dev-103  running
        123456789012  eu-west-1  i-00000000000000068  dev-104  running
        123456789012  eu-west-1  i-00000000000000069  dev-105  running
        123456789012  eu-west-1  i-0000000000000006a  dev-106  running
        123456789012  eu-west-1  i-0000000000000006b  dev-107  running
        123456789012  eu-west-1  i-0000000000000006c  dev-108  running
        123456789012  eu-west-1  i-0000000000000006d  dev-109  running
        and 13 more

  ~ rename old-name → new-name
      the same settings under a new name: AWS cannot rename a schedule, so apply deletes old-name's schedules and creates new-name's
      next starts: Mon 2026-11-30 08:00 UTC, Tue 2026-12-01 08:00 UTC, Wed 2026-12-02 08:00 UTC
      next stops: Fri 2026-11-27 19:00 UTC, Mon 2026-11-30 19:00 UTC, Tue 2026-12-01 19:00 UTC
      hits 1 instance now in 1 account/region pair
        123456789012  eu-west-1  i-00000000000000032  dev-50  running

  + create rule night-batch
      starts 18:00, Fri, Europe/Berlin
      stops 23:00, Fri, Europe/Berlin
      acts on tag:Environment=dev|test in 123456789012 / eu-west-1
      next starts: Fri 2026-11-27 18:00 CET (17:00 UTC), Fri 2026-12-04 18:00 CET (17:00 UTC), Fri 2026-12-11 18:00 CET (17:00 UTC)
      next stops: Fri 2026-11-27 23:00 CET (22:00 UTC), Fri 2026-12-04 23:00 CET (22:00 UTC), Fri 2026-12-11 23:00 CET (22:00 UTC)
      hits 3 instances now in 1 account/region pair
        123456789012  eu-west-1  i-00000000000000001  dev-1  running
        123456789012  eu-west-1  i-00000000000000003  dev-3  running  skip: member of Auto Scaling group web: schedule the group with `resource: asg`
        123456789012  eu-west-1  i-00000000000000004  dev-4  stopped
      held on: dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)

  + create rule nightly
      stops 02:30, every day, Europe/Berlin
      acts on tag:Enviroment=dev in 123456789012 / eu-west-1
      next stops: Sat 2026-11-28 02:30 CET (01:30 UTC), Sun 2026-11-29 02:30 CET (01:30 UTC), Mon 2026-11-30 02:30 CET (01:30 UTC)
      DST: 2027-03-28: 02:30 does not exist in Europe/Berlin: stop skipped
      hits 0 instances now
      warning: matches no instance anywhere: check the filters: tag:Enviroment=dev

"""


def test_the_markdown_plan_leads_with_a_block_per_rule_then_the_field_diff() -> None:
    assert render_markdown(scenario()) == MARKDOWN


def test_the_text_plan_leads_with_the_same_blocks() -> None:
    text = render_text(scenario())
    assert text.startswith(TEXT_HEAD + "Ouroboros will make these changes in eu-west-1")
    assert text.endswith("Plan: 7 to create, 2 to update, 2 to delete.\n")


def test_a_pair_the_union_does_not_resolve_is_a_conflict_in_every_format() -> None:
    # The same pair as the union would not resolve it (test_conflicts.py has the cases: a
    # holder starting that very minute, a rate() holder): a conflict, a warning.
    plan = scenario()
    assert plan.review is not None
    unresolved = tuple(
        dataclasses.replace(c, resolution=None, held_until=None) for c in plan.review.conflicts
    )
    plan = dataclasses.replace(plan, review=dataclasses.replace(plan.review, conflicts=unresolved))
    sentence = (
        "dev-office-hours stops 3 instances both match (i-00000000000000001, "
        "i-00000000000000003, i-00000000000000004) at Fri 2026-11-27 19:00 CET, inside "
        "night-batch's on-window Fri 2026-11-27 18:00-23:00 CET: night-batch expects them "
        "running then"
    )
    assert f"- :x: **Conflict:** {sentence}\n" in render_markdown(plan)
    assert f"      conflict: {sentence}\n" in render_text(plan)
    assert github_annotations(plan)[1:] == [
        f"::warning file=schedules/dev.yaml,line=3,col=5::conflict: {sentence}",
        f"::warning file=schedules/dev.yaml,line=12,col=5::conflict: {sentence}",
    ]


def test_pairs_beyond_the_listed_ones_are_counted_as_overlaps() -> None:
    plan = scenario()
    assert plan.review is not None
    plan = dataclasses.replace(plan, review=dataclasses.replace(plan.review, conflict_pairs=501))
    note = (
        "Note: 501 pairs of rules overlap (conflicts or held on); the first 1 are listed "
        "(conflict_pairs in the JSON plan counts them all)."
    )
    assert f"\n{note}\n" in render_text(plan)
    assert "> **Note:** 501 pairs of rules overlap (conflicts or held on)" in render_markdown(plan)


def test_warnings_and_conflicts_are_annotations_on_the_rule_lines() -> None:
    assert github_annotations(scenario()) == [
        "::warning::rule nightly: matches no instance anywhere: check the filters: tag:Enviroment=dev",
        "::notice file=schedules/dev.yaml,line=3,col=5::held on: dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)",
        "::notice file=schedules/dev.yaml,line=12,col=5::held on: dev-office-hours's stop at Fri 2026-11-27 19:00 CET falls inside night-batch's on-window Fri 2026-11-27 18:00-23:00 CET for 3 instances both match (i-00000000000000001, i-00000000000000003, i-00000000000000004): night-batch holds them on until 23:00 (overlapping rules compose)",
    ]


# The walkthrough's pull request (docs/tutorial/gitops.md, step 4): the repository's examples
# deployed, then dev-office-hours stops at 18:30 and qa-weekends-off is added; its comment's
# rule blocks are this rendering, for a small fleet, on Wednesday 2 December 2026.

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH_NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
QA = Rule(
    name="qa-weekends-off",
    description="QA boxes off from Friday 20:00 to Monday 07:00",
    timezone="Europe/Berlin",
    accounts=("222222222222",),
    regions=("eu-central-1",),
    targets=(("tag:Environment", ("qa",)),),
    stop="cron(0 20 ? * FRI *)",
    start="cron(0 7 ? * MON *)",
    location=Location("schedules/qa.yaml", 4, 5),
)


def walkthrough() -> Plan:
    loaded = load_rules([str(ROOT / "schedules")])
    old = list(loaded.rules)
    new = [
        dataclasses.replace(r, stop="cron(30 18 ? * MON-FRI *)")
        if r.name == "dev-office-hours"
        else r
        for r in old
    ] + [QA]
    office = next(r for r in old if r.name == "dev-office-hours")
    fleet = filter_set(office.targets)
    dev = (
        Instance("i-0a1b2c3d4e5f60001", "running", name="dev-web-1"),
        Instance("i-0a1b2c3d4e5f60002", "stopped", name="dev-web-2"),
        Instance("i-0a1b2c3d4e5f60003", "running", asg="dev-web", name="dev-web-asg"),
    )
    found = {
        ReadKey("111111111111", "eu-west-1", fleet): Found(dev),
        ReadKey("111111111111", "eu-central-1", fleet): Found(
            (Instance("i-0a1b2c3d4e5f60004", "running", name="dev-batch-1"),)
        ),
        ReadKey("222222222222", "eu-central-1", filter_set(QA.targets)): Found(
            (
                Instance("i-0f9e8d7c6b5a40001", "running", name="qa-1"),
                Instance("i-0f9e8d7c6b5a40002", "running", name="qa-2"),
            )
        ),
    }
    settings_ = settings(executor_role_arn="arn:aws:iam::111111111111:role/ouroboros-executor")
    desired = build_desired(new, settings_, code_sha256="c2hh", now=WALKTHROUGH_NOW)
    deployed = build_desired(old, settings_, code_sha256="c2hh", now=WALKTHROUGH_NOW)
    live = live_of(deployed)
    plan = make_plan(desired, live)
    states = rule_states_of(plan, desired.rules, desired.schedules, live.schedules)
    return dataclasses.replace(plan, review=build_review(states, found, now=WALKTHROUGH_NOW))


def test_the_walkthrough_shows_a_real_rendering() -> None:
    rendered = render_markdown(walkthrough())
    blocks = rendered[rendered.index("### Rules") : rendered.index("### Schedule changes")]
    page = (ROOT / "docs" / "tutorial" / "gitops.md").read_text(encoding="utf-8")
    quoted = "\n".join(
        line[2:] if line.startswith("> ") else line[1:]
        for line in page.splitlines()
        if line.startswith(">")
    )
    assert blocks in quoted + "\n"


def test_a_long_review_stays_within_the_comment_limit_and_says_what_is_cut() -> None:
    rules = [rule(f"r{n:03d}", targets=(("tag:Team", (f"t{n}",)),)) for n in range(300)]
    found = {
        ReadKey(ACCOUNT, REGION, filter_set(r.targets)): Found(
            tuple(running(1000 * n + i) for i in range(25))
        )
        for n, r in enumerate(rules)
    }
    markdown = render_markdown(reviewed(rules, [], found))
    assert len(markdown) <= 60_000
    shown = markdown.count("#### + create rule")
    assert 0 < shown < 300
    assert f"> **Note:** {300 - shown} more rules are in the JSON plan" in markdown
    assert markdown.count("and 5 more (the JSON plan lists every one)") == shown


def test_a_database_rule_s_block_names_db_instances_and_their_status() -> None:
    from reconciler.executor.dbselect import DbInstance

    dbs = rule("dev-databases", resource="rds", start=None)
    found = {
        ReadKey(ACCOUNT, REGION, DEV, "rds"): Found(
            (
                DbInstance("dev-billing", "available", "postgres", tags={"Name": "billing"}),
                DbInstance("dev-orders", "stopped", "mysql"),
            )
        )
    }
    plan = reviewed([dbs], [], found)
    text = render_text(plan)
    assert "      hits 2 DB instances now in 1 account/region pair\n" in text
    assert (
        f"        {ACCOUNT}  {REGION}  dev-orders   -        stopped    skip: already stopped\n"
    ) in text
    markdown = render_markdown(plan)
    assert (
        "- **Targets:** hits 2 DB instances now in 1 account/region pair\n\n"
        "<details><summary>2 DB instances</summary>\n\n"
        "| Account | Region | DB instance | Name | Status | Skipped because |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| {ACCOUNT} | {REGION} | dev-billing | billing | available |  |\n"
        f"| {ACCOUNT} | {REGION} | dev-orders | - | stopped | already stopped |\n"
    ) in markdown


def how_to_scenario(kind: str) -> str:
    """The rule of docs/how-to/KIND.md and what its preview finds: its text block."""
    from reconciler.executor.asgselect import SAVED_CAPACITY_TAG, Capacity, Group
    from reconciler.executor.dbselect import DbCluster, DbInstance

    home, region = "111111111111", "eu-west-1"
    dev = (("tag:Environment", ("dev",)),)
    found: dict[str, tuple[Any, ...]] = {
        "rds": (
            DbInstance("dev-billing", "available", "postgres", tags={"Name": "billing"}),
            DbInstance("dev-orders", "stopped", "mysql"),
            DbInstance("dev-orders-replica", "available", "mysql", replica_of="dev-orders"),
        ),
        "aurora": (
            DbCluster("dev-payments", "available", "aurora-postgresql"),
            DbCluster("dev-search", "available", "aurora-mysql", engine_mode="serverless"),
        ),
        "asg": (
            Group("dev-web", Capacity(1, 2, 4), tags={"Name": "web"}),
            Group("dev-api", Capacity(0, 0, 4), tags={SAVED_CAPACITY_TAG: "min=1,desired=2,max=4"}),
        ),
    }
    names = {"rds": "dev-databases", "aurora": "dev-aurora", "asg": "dev-web-groups"}
    targets = {
        "rds": (*dev, ("engine", ("postgres", "mysql")), ("db-instance-id", ("dev-*",))),
        "aurora": dev,
        "asg": dev,
    }
    shown = rule(
        names[kind],
        resource=kind,
        accounts=(home,),
        regions=(region,),
        timezone="Europe/Berlin",
        targets=targets[kind],
        start="cron(30 7 ? * MON-FRI *)",
        stop="cron(30 19 ? * MON-FRI *)",
    )
    key = ReadKey(home, region, filter_set(shown.targets), kind)
    text = render_text(reviewed([shown], [], {key: Found(found[kind])}))
    return text.split("\n\n")[1]


@pytest.mark.parametrize("kind", ["rds", "aurora", "asg"])
def test_the_how_to_pages_show_a_real_preview(kind: str) -> None:
    page = (ROOT / "docs" / "how-to" / f"{kind}.md").read_text(encoding="utf-8")
    assert f"```text\n{how_to_scenario(kind)}\n```" in page
