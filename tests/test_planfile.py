"""A saved plan is re-checked before apply: its objects, its diffs, its fingerprints."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from recon_support import NOW, rule, settings

from reconciler.desired import DesiredState, build_desired
from reconciler.plan import (
    Change,
    Plan,
    PlanError,
    PlanMismatch,
    changes_fingerprint,
    diff,
    make_plan,
    stale_resources,
)
from reconciler.planfile import from_document, to_document
from reconciler.resources import LiveState, resource_from_api

SHA = "c2hhMjU2LW9mLXRoZS16aXA="


def want(*rules: Any) -> DesiredState:
    return build_desired(list(rules), settings(), code_sha256=SHA, now=NOW)


def live_of(state: DesiredState, **overrides: Any) -> LiveState:
    values: dict[str, Any] = {
        "group": state.group,
        "schedules": state.schedules,
        "function": state.function,
        "table": state.table,
        "queue": state.queue,
    }
    return LiveState(**(values | overrides))


OLD = want(rule("a"), rule("gone"))
LIVE = live_of(OLD, function=dataclasses.replace(OLD.function, memory_mb=128))
NEW = want(
    rule("a", stop="rate(2 hours)"), rule("dev", targets=(("tag:Name", ("web",)),), start=None)
)


def the_plan() -> Plan:
    """1 update executor, 2 update a-stop, 3 create dev-stop, 4-5 delete gone-*."""
    return make_plan(NEW, LIVE)


def document() -> dict[str, Any]:
    return json.loads(json.dumps(to_document(the_plan())))


def edited(mutate: Callable[[dict[str, Any]], None], *, careful: bool = True) -> dict[str, Any]:
    """The document edited; a careful editor also fixes up what follows from the edit."""
    doc = document()
    mutate(doc)
    if careful:
        _refresh(doc)
    return doc


def _refresh(doc: dict[str, Any]) -> None:
    """Recompute the diffs, summary and desired fingerprint, as a careful forger would."""
    changes = []
    for c in doc["changes"]:
        desired = resource_from_api(c["kind"], c["desired"]) if "desired" in c else None
        before = resource_from_api(c["kind"], c["before"]) if "before" in c else None
        fields = diff(before, desired) if before and desired else ()
        if fields:
            c["diff"] = [{"field": f.field, "before": f.before, "after": f.after} for f in fields]
        changes.append(Change(c["action"], c["kind"], c["name"], desired, before, fields))
    for action in ("create", "update", "delete"):
        doc["summary"][action] = sum(1 for c in changes if c.action == action)
    touched = doc["summary"]["update"] + doc["summary"]["delete"]
    doc["summary"]["unchanged"] = len(doc["fingerprints"]["resources"]) - touched
    doc["fingerprints"]["desired"] = changes_fingerprint(changes)


def refusal(doc: dict[str, Any]) -> str:
    with pytest.raises(PlanMismatch) as caught:
        from_document(doc)
    return str(caught.value)


def _input(doc: dict[str, Any], index: int) -> dict[str, Any]:
    return json.loads(doc["changes"][index]["desired"]["Target"]["Input"])


def _set_input(doc: dict[str, Any], index: int, **changes: Any) -> None:
    event = _input(doc, index) | changes
    doc["changes"][index]["desired"]["Target"]["Input"] = json.dumps(event)


def test_the_plan_under_test_reads_back_equal_with_the_before_of_each_update() -> None:
    plan = the_plan()
    assert [(c.action, c.name) for c in plan.changes] == [
        ("update", "ouroboros-executor"),
        ("update", "a-stop"),
        ("create", "dev-stop"),
        ("delete", "gone-start"),
        ("delete", "gone-stop"),
    ]
    doc = document()
    assert doc["changes"][1]["before"]["ScheduleExpression"] == "cron(0 19 ? * MON-FRI *)"
    assert from_document(doc) == plan
    assert from_document(edited(lambda d: None)) == plan  # the refresh itself changes nothing


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: _set_input(d, 2, targets={"tag:Name": [""]}),
            "change 3 (create schedule dev-stop): its Input is not a valid executor event: "
            "targets.tag:Name.0: filter value for 'tag:Name' is empty",
        ),
        (
            lambda d: _set_input(d, 1, role_name="admin"),
            'change 2 (update schedule a-stop): its Target.Input.role_name is "admin", but its '
            'settings make it "ouroboros-target"',
        ),
        (
            lambda d: _set_input(d, 2, rule="other"),
            "change 3 (create schedule dev-stop): its Input is for rule other (stop), which is "
            "not this schedule",
        ),
        (
            lambda d: _set_input(d, 2, schedule_arn="arn:aws:scheduler:x"),
            "change 3 (create schedule dev-stop): its Input's schedule_arn is not EventBridge "
            "Scheduler's placeholder",
        ),
        (
            lambda d: d["changes"][2]["desired"]["Target"].update(
                Arn="arn:aws:lambda:eu-west-1:123456789012:function:evil"
            ),
            'change 3 (create schedule dev-stop): its Target.Arn is "arn:aws:lambda:eu-west-1:'
            '123456789012:function:evil", but its settings make it "arn:aws:lambda:eu-west-1:'
            '123456789012:function:ouroboros-executor"',
        ),
        (
            lambda d: d["changes"][2]["desired"]["Target"].update(
                RoleArn="arn:aws:iam::123456789012:role/admin"
            ),
            'change 3 (create schedule dev-stop): its Target.RoleArn is "arn:aws:iam::'
            '123456789012:role/admin", but its settings make it "arn:aws:iam::123456789012:'
            'role/ouroboros-scheduler"',
        ),
        (
            lambda d: d["changes"][2]["desired"].update(ScheduleExpression="cron(0 25 * * ? *)"),
            "change 3 (create schedule dev-stop): its ScheduleExpression 'cron(0 25 * * ? *)' is "
            "invalid: hours field '25'",
        ),
        (
            lambda d: d["changes"][2]["desired"].update(ScheduleExpressionTimezone="Mars/Olympus"),
            "change 3 (create schedule dev-stop): its ScheduleExpressionTimezone is invalid",
        ),
        (
            lambda d: d["changes"][2]["desired"]["Target"]["RetryPolicy"].update(
                MaximumRetryAttempts=185
            ),
            "change 3 (create schedule dev-stop): its Target.RetryPolicy.MaximumRetryAttempts is "
            "185, but its settings make it 10",
        ),
        (
            lambda d: d["changes"][0]["desired"]["Environment"]["Variables"].update(
                OUROBOROS_LOG_TABLE="someone-elses"
            ),
            "change 1 (update executor ouroboros-executor): its "
            'Environment.Variables.OUROBOROS_LOG_TABLE is "someone-elses", but its settings make '
            'it "ouroboros-runs"',
        ),
        (
            lambda d: d["changes"][0]["desired"]["Environment"]["Variables"].update(EXTRA="1"),
            'change 1 (update executor ouroboros-executor): its Environment.Variables.EXTRA is "1", '
            "but its settings make it null",
        ),
        (
            lambda d: d["changes"][0]["desired"].update(Handler="evil.handler"),
            'change 1 (update executor ouroboros-executor): its Handler is "evil.handler", but its '
            "settings make it",
        ),
        (
            lambda d: d["changes"][0]["desired"].update(MemorySize=4096),
            "change 1 (update executor ouroboros-executor): its MemorySize is 4096, but its "
            "settings make it 256",
        ),
    ],
)
def test_an_edited_object_is_refused_even_when_everything_else_was_fixed_up(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    assert refusal(edited(mutate)).startswith(message)


def test_an_edited_table_spec_is_refused() -> None:
    doc = json.loads(json.dumps(to_document(make_plan(NEW, live_of(NEW, table=None)))))
    assert doc["changes"][0]["kind"] == "log_table"
    doc["changes"][0]["desired"]["BillingMode"] = "PROVISIONED"
    assert refusal(doc) == (
        'change 1 (create log_table ouroboros-runs): its BillingMode is "PROVISIONED", but its '
        'settings make it "PAY_PER_REQUEST"'
    )


def test_the_printed_diff_is_recomputed_and_must_match_the_files() -> None:
    def lie(doc: dict[str, Any]) -> None:
        doc["changes"][1]["diff"][0]["after"] = "cron(0 19 ? * MON-FRI *)"

    assert refusal(edited(lie, careful=False)) == (
        "change 2 (update schedule a-stop): its diff is not what its before and desired objects "
        "differ by (fields ScheduleExpression)"
    )

    def retarget(doc: dict[str, Any]) -> None:  # a valid event, but not what the diff shows
        _set_input(doc, 1, targets={"tag:Environment": ["prod"]})

    assert refusal(edited(retarget, careful=False)) == (
        "change 2 (update schedule a-stop): its diff is not what its before and desired objects "
        "differ by (fields ScheduleExpression, Target.Input.targets)"
    )


def test_the_desired_fingerprint_covers_every_change() -> None:
    def add_a_delete(doc: dict[str, Any]) -> None:
        intruder = json.loads(json.dumps(doc["changes"][3]))
        intruder["name"] = intruder["before"]["Name"] = "zz-intruder"
        doc["changes"].append(intruder)
        doc["summary"]["delete"] += 1

    assert refusal(edited(add_a_delete, careful=False)) == (
        "its changes do not match its desired fingerprint (a change was edited, added or "
        "removed after the plan was made)"
    )
    # Even with the fingerprint recomputed, the live state it was made against has no such
    # schedule.
    assert refusal(edited(add_a_delete)) == (
        "change 6 (delete schedule zz-intruder): its before object is not the live schedule "
        "the plan was made against"
    )

    def drop_a_delete(doc: dict[str, Any]) -> None:
        doc["changes"].pop()
        doc["summary"]["delete"] -= 1

    assert refusal(edited(drop_a_delete, careful=False)).startswith(
        "its changes do not match its desired fingerprint"
    )


@pytest.mark.parametrize(
    ("mutate", "careful", "message"),
    [
        (
            lambda d: d["summary"].update(delete=0),
            False,
            "its summary does not count its changes ({'create': 1, 'update': 2, 'delete': 2, "
            "'unchanged': 4})",
        ),
        (
            lambda d: d["summary"].update(unchanged=40),
            False,
            "its summary does not count its changes ({'create': 1, 'update': 2, 'delete': 2, "
            "'unchanged': 4})",
        ),
        (
            lambda d: d["fingerprints"]["resources"].pop("schedule gone-stop"),
            True,
            "its live resources do not match its live fingerprint",
        ),
        (
            lambda d: d["changes"].insert(0, d["changes"].pop(3)),
            True,
            "its changes are not in the order apply must make them",
        ),
    ],
)
def test_a_plan_whose_parts_disagree_is_refused(
    mutate: Callable[[dict[str, Any]], None], careful: bool, message: str
) -> None:
    assert refusal(edited(mutate, careful=careful)) == message


def test_a_second_change_to_the_same_schedule_is_refused() -> None:
    def twice(doc: dict[str, Any]) -> None:
        doc["changes"].insert(4, json.loads(json.dumps(doc["changes"][3])))

    assert refusal(edited(twice)) == (
        "change 5 (delete schedule gone-start): a second change to the same schedule"
    )


def test_a_create_of_something_live_is_refused() -> None:
    def create_live(doc: dict[str, Any]) -> None:
        doc["changes"][2]["desired"]["Name"] = doc["changes"][2]["name"] = "a-start"

    message = refusal(edited(create_live))
    assert message.startswith("change 3 (create schedule a-start): its Input is for rule dev")


def test_settings_of_a_saved_plan_are_checked() -> None:
    doc = document()
    doc["settings"]["executor_role_arn"] = "not-an-arn"
    with pytest.raises(PlanError) as caught:
        from_document(doc)
    assert str(caught.value).startswith(
        "its settings are invalid: executor.role_arn 'not-an-arn' is not an IAM role ARN"
    )


def test_a_stale_plan_names_what_changed() -> None:
    plan = the_plan()
    assert stale_resources(plan, LIVE) == []
    moved = dataclasses.replace(LIVE.schedules[0], expression="cron(0 9 ? * MON-FRI *)")
    extra = dataclasses.replace(LIVE.schedules[0], name="x-start")
    now = dataclasses.replace(LIVE, schedules=(moved, extra, *LIVE.schedules[1:3]), function=None)
    assert stale_resources(plan, now) == [
        "executor ouroboros-executor (deleted)",
        "schedule a-start (updated)",
        "schedule gone-stop (deleted)",
        "schedule x-start (created)",
    ]
