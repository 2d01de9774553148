"""The plan: a pure function of desired and live state, and its saved-plan document."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

import pytest
from recon_support import NOW, rule, settings

from reconciler.desired import DesiredState, build_desired
from reconciler.plan import (
    CREATE,
    DELETE,
    UPDATE,
    FieldChange,
    Plan,
    PlanError,
    changes_fingerprint,
    live_resources,
    make_plan,
    resource_fingerprint,
)
from reconciler.planfile import from_document, to_document
from reconciler.resources import (
    GroupSpec,
    InvokeConfig,
    LiveState,
    QueueSpec,
    ScheduleSpec,
    TableSpec,
)

SHA = "c2hhMjU2LW9mLXRoZS16aXA="


def want(*rules: Any, **kw: Any) -> DesiredState:
    return build_desired(
        list(rules), kw.pop("settings", settings()), code_sha256=kw.pop("sha", SHA), now=NOW
    )


def deployed(state: DesiredState, **overrides: Any) -> LiveState:
    """The live state a successful apply of `state` leaves behind, with some overrides."""
    values: dict[str, Any] = {
        "group": state.group,
        "schedules": state.schedules,
        "function": state.function,
        "table": state.table,
        "queue": state.queue,
    }
    values.update(overrides)
    return LiveState(**values)


def actions(plan: Plan) -> list[tuple[str, str, str]]:
    return [(c.action, c.kind, c.name) for c in plan.changes]


EMPTY = LiveState(group=None, schedules=(), function=None, table=None)


def test_nothing_deployed_creates_everything_in_apply_order() -> None:
    plan = make_plan(want(rule("b"), rule("a", start=None)), EMPTY)
    assert actions(plan) == [
        (CREATE, "log_table", "ouroboros-runs"),
        (CREATE, "dead_letter_queue", "ouroboros-dead-letters"),
        (CREATE, "executor", "ouroboros-executor"),
        (CREATE, "schedule_group", "ouroboros"),
        (CREATE, "schedule", "a-stop"),
        (CREATE, "schedule", "b-start"),
        (CREATE, "schedule", "b-stop"),
    ]
    assert plan.summary() == {"create": 7, "update": 0, "delete": 0, "unchanged": 0}
    assert plan.managed_schedules == 0
    assert plan.mass_delete is None


def test_a_converged_state_plans_nothing() -> None:
    state = want(rule("a"), rule("b"))
    plan = make_plan(state, deployed(state))
    assert plan.changes == ()
    assert plan.summary() == {"create": 0, "update": 0, "delete": 0, "unchanged": 8}
    assert not plan.has_changes


def _edited(source: DesiredState, name: str, **changes: Any) -> tuple[ScheduleSpec, ...]:
    return tuple(
        dataclasses.replace(s, **changes) if s.name == name else s for s in source.schedules
    )


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"expression": "cron(0 18 ? * MON-FRI *)"},
            [
                FieldChange(
                    "ScheduleExpression", "cron(0 18 ? * MON-FRI *)", "cron(0 19 ? * MON-FRI *)"
                )
            ],
        ),
        ({"state": "DISABLED"}, [FieldChange("State", "DISABLED", "ENABLED")]),
        (
            {"timezone": "Asia/Tokyo"},
            [FieldChange("ScheduleExpressionTimezone", "Asia/Tokyo", "UTC")],
        ),
        (
            {"max_event_age_s": 86400, "max_retry_attempts": 185},
            [
                FieldChange("Target.RetryPolicy.MaximumEventAgeInSeconds", 86400, 3600),
                FieldChange("Target.RetryPolicy.MaximumRetryAttempts", 185, 10),
            ],
        ),
        (
            {"description": None},
            [FieldChange("Description", None, "Managed by ouroboros: rule a, stop")],
        ),
        (
            {"window_mode": "FLEXIBLE", "window_minutes": 15},
            [
                FieldChange("FlexibleTimeWindow.Mode", "FLEXIBLE", "OFF"),
                FieldChange("FlexibleTimeWindow.MaximumWindowInMinutes", 15, None),
            ],
        ),
        ({"input": "not json"}, None),  # checked below: one whole-Input change
    ],
)
def test_a_schedule_edited_by_hand_is_an_update_with_a_field_diff(
    edit: dict[str, Any], expected: list[FieldChange] | None
) -> None:
    state = want(rule("a"))
    plan = make_plan(state, deployed(state, schedules=_edited(state, "a-stop", **edit)))
    assert actions(plan) == [(UPDATE, "schedule", "a-stop")]
    change = plan.changes[0]
    assert change.desired == next(s for s in state.schedules if s.name == "a-stop")
    if expected is None:
        assert [f.field for f in change.diff] == ["Target.Input"]
    else:
        assert list(change.diff) == expected
    assert plan.unchanged == 5


def test_an_input_change_is_diffed_key_by_key() -> None:
    before = want(rule("a", targets=(("tag:Environment", ("dev",)),), max_instances=5))
    after = want(rule("a", targets=(("tag:Environment", ("dev", "test")),), max_instances=5))
    plan = make_plan(after, deployed(before))
    assert [c.name for c in plan.changes] == ["a-start", "a-stop"]
    assert list(plan.changes[1].diff) == [
        FieldChange(
            "Target.Input.targets",
            {"tag:Environment": ["dev"]},
            {"tag:Environment": ["dev", "test"]},
        )
    ]


def test_a_removed_rule_is_deleted_and_a_renamed_one_deleted_and_created() -> None:
    old = want(rule("keep"), rule("gone"), rule("old-name"))
    new = want(rule("keep"), rule("new-name"))
    plan = make_plan(new, deployed(old))
    assert actions(plan) == [
        (CREATE, "schedule", "new-name-start"),
        (CREATE, "schedule", "new-name-stop"),
        (DELETE, "schedule", "gone-start"),
        (DELETE, "schedule", "gone-stop"),
        (DELETE, "schedule", "old-name-start"),
        (DELETE, "schedule", "old-name-stop"),
    ]
    assert plan.changes[-1].before == next(s for s in old.schedules if s.name == "old-name-stop")
    assert plan.mass_delete is None


def test_deleting_every_managed_schedule_is_flagged_unless_replaced() -> None:
    old = want(rule("a"), rule("b"))
    # A refactor (every rule renamed) is judged by the thresholds, not as "delete all".
    assert make_plan(want(rule("c")), deployed(old)).mass_delete is None
    everything = make_plan(want(), deployed(old)).mass_delete
    assert everything is not None
    assert (everything.deletes, everything.managed, everything.everything) == (4, 4, True)
    assert make_plan(want(), deployed(want())).mass_delete is None  # nothing to delete


@pytest.mark.parametrize(
    ("managed", "kept", "count", "fraction", "flagged"),
    [
        (40, 29, 10, 0.25, True),  # 11 > 10 and 11 > 25% of 40
        (40, 30, 10, 0.25, False),  # 10 is not more than 10
        (44, 33, 10, 0.25, False),  # 11 is exactly 25% of 44
        (12, 11, 0, 0.0, True),  # thresholds at zero: any delete needs the flag
        (12, 0, 100, 0.25, False),  # deletes under the count...
        (12, 1, 5, 1.0, False),  # ...or a fraction of 1 never triggers but for "everything"
    ],
)
def test_the_mass_delete_thresholds_come_from_the_settings(
    managed: int, kept: int, count: int, fraction: float, flagged: bool
) -> None:
    names = [f"r{i}" for i in range(managed)]
    s = settings(max_delete_count=count, max_delete_fraction=fraction)
    old = want(*(rule(n, start=None) for n in names), settings=s)
    new = want(*(rule(n, start=None) for n in names[:kept]), rule("x", start=None), settings=s)
    assert (make_plan(new, deployed(old)).mass_delete is not None) == flagged


@pytest.mark.parametrize(
    ("edit", "fields"),
    [
        ({"code_sha256": "b2xkLWNvZGU="}, ["CodeSha256"]),
        ({"memory_mb": 128}, ["MemorySize"]),
        ({"timeout_s": 3, "handler": "x.y"}, ["Handler", "Timeout"]),
        (
            {"environment": (("OUROBOROS_LOG_TABLE", "other"),)},
            [
                "Environment.Variables.OUROBOROS_LOG_RETENTION_DAYS",
                "Environment.Variables.OUROBOROS_LOG_TABLE",
                "Environment.Variables.OUROBOROS_SCHEDULE_GROUP",
                "Environment.Variables.OUROBOROS_TARGET_ROLE",
            ],
        ),
        ({"runtime": "python3.11"}, ["Runtime"]),
        ({"layers": ("arn:aws:lambda:eu-west-1:123456789012:layer:extra:1",)}, ["Layers"]),
    ],
)
def test_executor_drift_is_an_update(edit: dict[str, Any], fields: list[str]) -> None:
    state = want(rule("a"))
    plan = make_plan(state, deployed(state, function=dataclasses.replace(state.function, **edit)))
    assert actions(plan) == [(UPDATE, "executor", "ouroboros-executor")]
    assert [f.field for f in plan.changes[0].diff] == fields


@pytest.mark.parametrize(
    ("edit", "fields"),
    [
        ({"ttl_attribute": None}, ["TimeToLive.AttributeName"]),
        ({"point_in_time_recovery": False}, ["PointInTimeRecovery"]),
        ({"billing_mode": "PROVISIONED"}, ["BillingMode"]),
    ],
)
def test_log_table_drift_is_an_update(edit: dict[str, Any], fields: list[str]) -> None:
    state = want()
    plan = make_plan(state, deployed(state, table=dataclasses.replace(state.table, **edit)))
    assert actions(plan) == [(UPDATE, "log_table", "ouroboros-runs")]
    assert [f.field for f in plan.changes[0].diff] == fields


def test_a_log_table_with_another_key_schema_cannot_be_planned() -> None:
    state = want()
    odd = TableSpec.from_api(
        {"TableName": "ouroboros-runs", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}
    )
    with pytest.raises(PlanError) as caught:
        make_plan(state, deployed(state, table=odd))
    assert str(caught.value) == (
        "log table 'ouroboros-runs' exists with a different key schema or indexes than "
        "ouroboros needs, and DynamoDB cannot change that in place: set log_table to a new "
        "table name in the settings file (or delete the table)"
    )


def test_a_changed_schedule_group_says_the_old_groups_schedules_are_left_behind() -> None:
    old = want(rule("a"))
    moved = want(rule("a"), settings=settings(schedule_group="ouroboros-2"))
    # Only the new group is read: it is empty, and the executor still names the old group.
    plan = make_plan(moved, deployed(old, group=None, schedules=()))
    assert actions(plan) == [
        # The queue's default name follows the group: a new queue, named for the new group.
        (CREATE, "dead_letter_queue", "ouroboros-2-dead-letters"),
        (UPDATE, "executor", "ouroboros-executor"),
        (CREATE, "schedule_group", "ouroboros-2"),
        (CREATE, "schedule", "a-start"),
        (CREATE, "schedule", "a-stop"),
    ]
    assert plan.notes == (
        "schedule_group changed from ouroboros to ouroboros-2 (the executor was deployed for "
        "ouroboros): ouroboros never touches another group, so the schedules in ouroboros stay "
        "there, still firing, unmanaged; once this plan is applied, remove them with "
        "`reconcile destroy --settings OLD` (the settings file as it was) or delete that group "
        "(aws scheduler delete-schedule-group --name ouroboros), and set the bootstrap stack's "
        "ScheduleGroup parameter to ouroboros-2",
    )


def test_a_changed_function_name_says_the_old_executor_stays() -> None:
    old = want(rule("a"))
    moved = want(rule("a"), settings=settings(function_name="ouroboros-executor-2"))
    # The new name is read (absent); the group's schedules still invoke the old one.
    plan = make_plan(moved, deployed(old, function=None))
    assert plan.notes == (
        "function_name changed from ouroboros-executor to ouroboros-executor-2 (the schedules "
        "in group ouroboros invoke ouroboros-executor): once this plan is applied they invoke "
        "ouroboros-executor-2, and ouroboros-executor stays deployed in eu-west-1, unused; "
        "delete it (aws lambda delete-function --function-name ouroboros-executor --region "
        "eu-west-1)",
    )


def test_a_changed_log_table_says_the_old_table_stays() -> None:
    old = want(rule("a"))
    moved = want(rule("a"), settings=settings(log_table="ouroboros-runs-2"))
    plan = make_plan(moved, deployed(old, table=None))
    assert plan.notes == (
        "log_table changed from ouroboros-runs to ouroboros-runs-2 (the executor logs to "
        "ouroboros-runs): once this plan is applied the executor logs to ouroboros-runs-2 and "
        "apply locks ouroboros-runs-2, so an apply still using the old settings is not kept "
        "out; ouroboros-runs stays in eu-west-1 with its run log: delete it when that is no "
        "longer needed (aws dynamodb delete-table --table-name ouroboros-runs --region "
        "eu-west-1)",
    )


def test_a_fresh_deployment_says_an_old_one_elsewhere_keeps_firing() -> None:
    # A changed home region reads an empty region: the old deployment cannot be seen from
    # here, so the plan says what to do if there is one.
    plan = make_plan(want(rule("a"), settings=settings(region="eu-central-1")), EMPTY)
    assert plan.notes == (
        "nothing of this deployment exists in eu-central-1 yet; if it was deployed before in "
        "another region (region changed in the settings) or under other names, that "
        "deployment's schedules keep firing there until removed: run `reconcile destroy "
        "--settings OLD` with the settings file as it was",
    )
    assert make_plan(want(rule("a")), deployed(want(rule("a")), schedules=())).notes == ()


@pytest.mark.parametrize(
    "description",
    [
        pytest.param(None, id="none"),
        pytest.param("edited by hand", id="not-ours"),
        pytest.param(
            "Ouroboros executor: starts and stops EC2 instances for the schedules in group "
            "ouroboros. Managed by `reconcile apply`.",
            id="same-group",
        ),
    ],
)
def test_no_moved_group_note_without_evidence_of_another_group(description: str | None) -> None:
    state = want(rule("a"))
    function = dataclasses.replace(state.function, description=description)
    assert make_plan(state, deployed(state, function=function)).notes == ()


def test_a_missing_group_is_created_before_the_schedules() -> None:
    state = want(rule("a"))
    plan = make_plan(state, deployed(state, group=None, schedules=()))
    assert actions(plan)[0] == (CREATE, "schedule_group", "ouroboros")


def test_the_live_fingerprint_is_recorded() -> None:
    state = want(rule("a"))
    live = deployed(state, schedules=state.schedules[:1])
    plan = make_plan(state, live)
    # Per resource, so a stale plan can name what changed; the desired fingerprint covers the
    # changes (what will be sent), so a saved plan can be checked on its own.
    assert plan.live_resources == live_resources(live)
    assert dict(plan.live_resources) == {
        "log_table ouroboros-runs": resource_fingerprint(state.table),
        "dead_letter_queue ouroboros-dead-letters": resource_fingerprint(state.queue),
        "executor ouroboros-executor": resource_fingerprint(state.function),
        "schedule_group ouroboros": resource_fingerprint(state.group),
        "schedule a-start": resource_fingerprint(state.schedules[0]),
    }
    assert plan.desired_fingerprint == changes_fingerprint(plan.changes)
    assert plan.live_fingerprint != make_plan(state, deployed(state)).live_fingerprint


# The document (JSON plan, saved plan)


def _mixed_plan() -> Plan:
    old = want(rule("a"), rule("gone", enabled=False))
    new = want(
        rule("a", stop="rate(2 hours)"), rule("new", start="at(2027-05-01T08:00:00)", stop=None)
    )
    return make_plan(new, deployed(old, function=None))


def test_the_document_has_the_pinned_top_level_first() -> None:
    doc = to_document(_mixed_plan())
    assert list(doc)[:3] == ["format_version", "summary", "changes"]
    assert doc["format_version"] == 1
    assert doc["summary"] == {"create": 2, "update": 1, "delete": 2, "unchanged": 4}
    assert [list(c)[:3] for c in doc["changes"]] == [["action", "kind", "name"]] * 5
    update = next(c for c in doc["changes"] if c["action"] == "update")
    assert update["diff"] == [
        {
            "field": "ScheduleExpression",
            "before": "cron(0 19 ? * MON-FRI *)",
            "after": "rate(2 hours)",
        }
    ]
    assert update["desired"]["ScheduleExpression"] == "rate(2 hours)"
    create = next(c for c in doc["changes"] if c["name"] == "new-start")
    # NONE, not DELETE: the executor reads the schedule that sent an event before acting.
    assert create["desired"]["ActionAfterCompletion"] == "NONE"
    delete = next(c for c in doc["changes"] if c["action"] == "delete")
    assert delete["before"]["State"] == "DISABLED"


def test_a_saved_plan_reads_back_equal() -> None:
    plan = _mixed_plan()
    text = json.dumps(to_document(plan))
    assert from_document(json.loads(text)) == plan


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d.update(format_version=2),
            "format_version is 2; this reconcile reads version 1",
        ),
        (lambda d: d.pop("fingerprints"), "the plan has no valid 'fingerprints'"),
        (lambda d: d.pop("settings"), "the plan has no valid 'settings'"),
        (
            lambda d: d["changes"].append({"action": "replace", "kind": "schedule", "name": "x"}),
            "unknown change 'replace' of kind 'schedule'",
        ),
        (lambda d: d["changes"][0].pop("desired"), "a executor change has no object"),
        (lambda d: d["changes"][1].pop("diff"), "the update of schedule 'a-stop' has no diff"),
        (lambda d: d["settings"].update(surprise=1), "its settings have an unknown key 'surprise'"),
        (lambda d: d["settings"].pop("region"), "its settings have no 'region'"),
        (lambda d: d["settings"].update(region=5), "its settings' 'region' is not a string"),
        (
            lambda d: d["settings"].update(schedule_group=None),
            "its settings' 'schedule_group' is not a string",
        ),
        (lambda d: d["settings"].update(log_table=["x"]), "its settings' 'log_table' is not a"),
        (
            lambda d: d["settings"].update(executor_memory_mb="256"),
            "its settings' 'executor_memory_mb' is not a number",
        ),
        (
            lambda d: d["settings"].update(log_retention_days=True),
            "its settings' 'log_retention_days' is not a number",
        ),
        (
            lambda d: d["changes"][0]["desired"].pop("FunctionName"),
            "the plan is malformed (KeyError",
        ),
        (
            lambda d: d["changes"][2]["desired"].update(Target="arn:aws:lambda:x"),
            "the plan is malformed (AttributeError",
        ),
        (
            lambda d: d["changes"][0]["desired"].update(Environment=["A=1"]),
            "the plan is malformed (AttributeError",
        ),
        # Edited to reach beyond what ouroboros owns:
        (
            lambda d: d["settings"].update(schedule_group="default"),
            "its schedule_group is 'default', which ouroboros never manages",
        ),
        (
            lambda d: d["changes"][1]["desired"].update(GroupName="default"),
            "its update of schedule 'a-stop' is outside what its settings name (group "
            "ouroboros, executor ouroboros-executor, table ouroboros-runs)",
        ),
        (
            lambda d: d["changes"][2]["desired"].update(Name="someone-elses"),
            "its create of schedule 'new-start' is outside",
        ),
        (
            lambda d: d["changes"][0].update(name="another-function"),
            "its create of executor 'another-function' is outside",
        ),
    ],
)
def test_a_malformed_saved_plan_is_refused_with_the_reason(mutate: Any, message: str) -> None:
    doc = json.loads(json.dumps(to_document(_mixed_plan())))
    mutate(doc)
    with pytest.raises(PlanError) as caught:
        from_document(doc)
    assert str(caught.value).startswith(message)


def test_a_plan_without_changes_round_trips() -> None:
    state = want(rule("a"))
    plan = make_plan(state, deployed(state))
    assert from_document(to_document(plan)) == plan


def test_the_planning_core_never_imports_boto3() -> None:
    code = (
        "import sys\n"
        "import reconciler.plan, reconciler.planfile, reconciler.desired, reconciler.resources\n"
        "import reconciler.render\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_group_spec_fields() -> None:
    assert GroupSpec("g").to_api() == {"Name": "g"}


def test_every_schedule_and_the_executor_send_lost_firings_to_the_queue() -> None:
    state = want(rule("a"))
    arn = "arn:aws:sqs:eu-west-1:123456789012:ouroboros-dead-letters"
    assert state.queue == QueueSpec("ouroboros-dead-letters", arn, 14 * 86400, encrypted=True)
    assert {s.dead_letter_arn for s in state.schedules} == {arn}
    assert state.function.invoke == InvokeConfig(2, 900, arn)


def test_a_queue_drifted_by_hand_is_an_update() -> None:
    state = want(rule("a"))
    drifted = dataclasses.replace(state.queue, retention_s=345600, encrypted=False)
    plan = make_plan(state, deployed(state, queue=drifted))
    assert actions(plan) == [(UPDATE, "dead_letter_queue", "ouroboros-dead-letters")]
    assert list(plan.changes[0].diff) == [
        FieldChange("MessageRetentionPeriod", 345600, 1209600),
        FieldChange("Encrypted", False, True),
    ]


def test_an_invoke_config_drifted_or_removed_is_an_executor_update() -> None:
    state = want(rule("a"))
    fewer = dataclasses.replace(
        state.function, invoke=InvokeConfig(0, 21600, state.function.invoke.on_failure)
    )
    plan = make_plan(state, deployed(state, function=fewer))
    assert [(f.field, f.before, f.after) for f in plan.changes[0].diff] == [
        ("EventInvokeConfig.MaximumRetryAttempts", 0, 2),
        ("EventInvokeConfig.MaximumEventAgeInSeconds", 21600, 900),
    ]
    removed = dataclasses.replace(state.function, invoke=None)
    plan = make_plan(state, deployed(state, function=removed))
    assert [f.field for f in plan.changes[0].diff] == [
        "EventInvokeConfig.MaximumRetryAttempts",
        "EventInvokeConfig.MaximumEventAgeInSeconds",
        "EventInvokeConfig.DestinationConfig.OnFailure.Destination",
    ]


def test_a_schedule_without_its_dead_letter_config_is_an_update() -> None:
    state = want(rule("a"))
    bare = tuple(dataclasses.replace(s, dead_letter_arn=None) for s in state.schedules)
    plan = make_plan(state, deployed(state, schedules=bare))
    assert actions(plan) == [(UPDATE, "schedule", "a-start"), (UPDATE, "schedule", "a-stop")]
    assert [f.field for f in plan.changes[0].diff] == ["Target.DeadLetterConfig.Arn"]
