"""The plan document: what survives a save and a read back, and what a saved plan may not say."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from recon_support import NOW, rule, settings

from reconciler import plan as plan_module
from reconciler import planfile
from reconciler.desired import DesiredState, build_desired
from reconciler.plan import FieldChange, Plan, PlanError, PlanMismatch, diff, make_plan
from reconciler.resources import LiveState

# Where the saved-plan document is written and read; a rename is a one-line fix here.
to_document = planfile.to_document
from_document = planfile.from_document

SHA = "c2hhMjU2LW9mLXRoZS16aXA="


def _want(*rules: Any) -> DesiredState:
    return build_desired(list(rules), settings(), code_sha256=SHA, now=NOW)


def _plan() -> Plan:
    old = _want(rule("a"))
    live = LiveState(
        group=old.group,
        schedules=old.schedules,
        function=dataclasses.replace(old.function, memory_mb=128),
        table=old.table,
        queue=old.queue,
    )
    return make_plan(_want(rule("a", stop="rate(2 hours)")), live)


def _document(plan: Plan | None = None) -> dict[str, Any]:
    return json.loads(json.dumps(to_document(plan or _plan())))


def _refused(doc: dict[str, Any]) -> str:
    with pytest.raises(PlanError) as caught:
        from_document(doc)
    return str(caught.value)


def test_a_saved_plan_keeps_its_notes() -> None:
    noted = dataclasses.replace(_plan(), notes=("first note", "second note"))
    doc = _document(noted)
    assert doc["notes"] == ["first note", "second note"]
    back = from_document(doc)
    assert back.notes == ("first note", "second note")
    assert back == noted


@pytest.mark.parametrize("live_input", ["[1, 2]", '"text"', "5", "not json", None])
def test_a_live_input_that_is_not_a_json_object_diffs_as_one_whole_field_change(
    live_input: str | None,
) -> None:
    wanted = _want(rule("a")).schedules[0]
    live = dataclasses.replace(wanted, input=live_input)
    assert diff(live, wanted) == (FieldChange("Target.Input", live_input, wanted.input),)
    assert diff(wanted, live) == (FieldChange("Target.Input", wanted.input, live_input),)


def test_a_json_object_input_diffs_key_by_key_both_ways() -> None:
    wanted = _want(rule("a")).schedules[0]
    assert wanted.input is not None
    event = json.loads(wanted.input)
    other = {"start": "stop", "stop": "start"}[event["action"]]
    changed = {k: v for k, v in event.items() if k != "hibernate"} | {"action": other, "x": 1}
    live = dataclasses.replace(wanted, input=json.dumps(changed))
    assert diff(live, wanted) == (
        FieldChange("Target.Input.action", other, event["action"]),
        FieldChange("Target.Input.hibernate", None, event["hibernate"]),
        FieldChange("Target.Input.x", 1, None),
    )


@pytest.mark.parametrize("value", [True, False, "3", 1.5, None])
def test_managed_schedules_that_is_not_a_whole_number_is_refused(value: object) -> None:
    doc = _document()
    doc["managed_schedules"] = value
    assert _refused(doc) == "the plan has no valid 'managed_schedules'"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("executor_timeout_s", "300", "its settings' 'executor_timeout_s' is not a number"),
        ("log_retention_days", True, "its settings' 'log_retention_days' is not a number"),
        ("max_delete_fraction", "0.5", "its settings' 'max_delete_fraction' is not a number"),
        ("allowed_accounts", [1], "its settings' 'allowed_accounts' is not a list of strings"),
        (
            "allowed_accounts",
            "123456789012",
            "its settings' 'allowed_accounts' is not a list of strings",
        ),
        ("organization_id", 5, "its settings' 'organization_id' is not a string"),
    ],
)
def test_every_settings_field_is_type_checked_even_after_an_absent_optional_one(
    field: str, value: object, message: str
) -> None:
    doc = _document()
    del doc["settings"]["executor_memory_mb"]  # optional, and before every field tested
    doc["settings"][field] = value
    assert _refused(doc) == message


def test_an_absent_optional_setting_reads_back_as_its_default() -> None:
    doc = _document()
    del doc["settings"]["executor_memory_mb"]
    del doc["settings"]["organization_id"]
    back = from_document(doc)
    assert back.settings.executor_memory_mb == 256
    assert back.settings.organization_id is None


def test_an_absent_required_setting_is_refused() -> None:
    doc = _document()
    del doc["settings"]["log_table"]
    assert _refused(doc) == "its settings have no 'log_table'"


def test_an_unknown_setting_is_refused() -> None:
    doc = _document()
    doc["settings"]["zzz"] = 1
    doc["settings"]["aaa"] = 1
    assert _refused(doc) == "its settings have an unknown key 'aaa'"


def test_a_whole_number_fraction_reads_back_as_a_float() -> None:
    doc = _document()
    doc["settings"]["max_delete_fraction"] = 1
    value = from_document(doc).settings.max_delete_fraction
    assert value == 1.0
    assert isinstance(value, float)


def _deleting(kept: int, gone: int, **limits: Any) -> Plan:
    """A plan deleting `gone` rules' schedules (2 each) and keeping `kept` rules'."""
    config = settings(**limits)
    rules = [rule(f"r{i}") for i in range(kept + gone)]
    old = build_desired(rules, config, code_sha256=SHA, now=NOW)
    new = build_desired(rules[:kept], config, code_sha256=SHA, now=NOW)
    live = LiveState(
        group=old.group,
        schedules=old.schedules,
        function=old.function,
        table=old.table,
        queue=old.queue,
    )
    return make_plan(new, live)


def test_a_mass_delete_is_in_the_document_with_its_threshold() -> None:
    plan = _deleting(1, 3, max_delete_count=2, max_delete_fraction=0.5)
    assert _document(plan)["mass_delete"] == {
        "deletes": 6,
        "managed": 8,
        "threshold": {"max_delete_count": 2, "max_delete_fraction": 0.5},
    }
    small = _deleting(3, 1, max_delete_count=2, max_delete_fraction=0.5)
    assert _document(small)["mass_delete"] is None


def test_without_drops_the_changes_done_and_keeps_the_rest() -> None:
    plan = _deleting(1, 2)
    done = plan.changes[:2]
    rest = plan.without(done)
    assert rest.changes == plan.changes[2:]
    assert dataclasses.replace(rest, changes=plan.changes) == plan


def _mismatch(doc: dict[str, Any]) -> str:
    with pytest.raises(PlanMismatch) as caught:
        from_document(doc)
    return str(caught.value)


def test_an_input_without_the_optional_execution_id_names_that_key() -> None:
    doc = _document()
    target = doc["changes"][1]["desired"]["Target"]
    event = json.loads(target["Input"])
    del event["execution_id"]
    target["Input"] = json.dumps(event)
    assert _mismatch(doc) == (
        "change 2 (update schedule a-stop): its Target.Input.execution_id is null, but its "
        'settings make it "<aws.scheduler.execution-id>"'
    )


def test_a_mismatch_shows_non_ascii_text_as_written() -> None:
    doc = _document()
    doc["changes"][0]["desired"]["Description"] = "café"
    message = _mismatch(doc)
    assert message.startswith(
        'change 1 (update executor ouroboros-executor): its Description is "café", but its '
        'settings make it "'
    )


def test_a_saved_diff_where_the_objects_do_not_differ_is_refused() -> None:
    doc = _document()
    doc["changes"][1]["before"] = doc["changes"][1]["desired"]
    assert _mismatch(doc) == (
        "change 2 (update schedule a-stop): its diff is not what its before and desired "
        "objects differ by (no field)"
    )


# --- deletes of schedules ouroboros did not make; notes; the desired fingerprint -----------------


def _delete_of(**changes: Any) -> dict[str, Any]:
    """The document of a plan that deletes one live schedule, edited by `changes`."""
    state = _want(rule("a"))
    stranger = dataclasses.replace(state.schedules[0], name="x-start", **changes)
    live = LiveState(
        group=state.group,
        schedules=(*state.schedules, stranger),
        function=state.function,
        table=state.table,
        queue=state.queue,
    )
    doc = _document(make_plan(state, live))
    [change] = doc["changes"]
    assert (change["action"], change["name"]) == ("delete", "x-start")
    return change


def test_a_deleted_schedule_of_ours_is_not_marked() -> None:
    assert "not_created_by_ouroboros" not in _delete_of()


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        (
            {"target_arn": "arn:aws:sqs:eu-west-1:123456789012:q"},
            "targets arn:aws:sqs:eu-west-1:123456789012:q",
        ),
        ({"target_arn": ""}, "targets nothing"),
        ({"input": "[1]"}, "its Input is not an Ouroboros executor event"),
        ({"input": '{"version": 1}'}, "its Input is not an Ouroboros executor event"),
    ],
)
def test_a_deleted_schedule_that_is_not_ours_says_why(changes: dict[str, Any], why: str) -> None:
    assert _delete_of(**changes)["not_created_by_ouroboros"] == why


def test_creates_and_updates_are_never_marked() -> None:
    doc = _document()
    assert all("not_created_by_ouroboros" not in c for c in doc["changes"])


def test_only_a_deployment_with_nothing_live_gets_the_fresh_deployment_note() -> None:
    state = _want(rule("a"))
    fresh = make_plan(state, LiveState(group=None, schedules=(), function=None, table=None))
    assert any(n.startswith("nothing of this deployment exists in") for n in fresh.notes)
    for live in (
        LiveState(group=state.group, schedules=(), function=None, table=None),
        LiveState(group=None, schedules=(), function=state.function, table=None),
        LiveState(group=None, schedules=(), function=None, table=state.table),
    ):
        notes = make_plan(state, live).notes
        assert not any(n.startswith("nothing of this deployment exists in") for n in notes)


def test_the_desired_fingerprint_covers_the_objects_sent_and_replaced() -> None:
    plan = _plan()
    update = plan.changes[1]
    assert update.desired is not None
    assert update.before is not None
    other_desired = dataclasses.replace(
        update, desired=dataclasses.replace(update.desired, description="x")
    )
    other_before = dataclasses.replace(
        update, before=dataclasses.replace(update.before, description="x")
    )
    prints = {
        plan_module.changes_fingerprint([update]),
        plan_module.changes_fingerprint([other_desired]),
        plan_module.changes_fingerprint([other_before]),
    }
    assert len(prints) == 3


# --- reading a saved plan back: every part of a rule, and the shapes refused ---------------------


def _fresh(*rules: Any, **limits: Any) -> Plan:
    state = build_desired(list(rules), settings(**limits), code_sha256=SHA, now=NOW)
    return make_plan(state, LiveState(group=None, schedules=(), function=None, table=None))


def test_a_fresh_deployment_reads_back_with_every_part_of_its_rules() -> None:
    plan = _fresh(
        rule(
            "a",
            description="d" * 256,
            hibernate=True,
            max_instances=7,
            timezone="Europe/Berlin",
            enabled=False,
            targets=(("tag:Env", ("dev", "test")), ("vpc-id", ("vpc-4085e027",))),
        ),
        rule("b"),
        allowed_accounts=("123456789012",),
    )
    assert [(c.action, c.kind) for c in plan.changes][:4] == [
        ("create", "log_table"),
        ("create", "dead_letter_queue"),
        ("create", "executor"),
        ("create", "schedule_group"),
    ]
    back = from_document(_document(plan))
    assert back == plan
    assert back.settings.allowed_accounts == ("123456789012",)


def test_a_description_over_the_limit_cannot_have_come_from_a_rule() -> None:
    plan = _fresh(rule("a", description="d" * 257))
    message = _mismatch(_document(plan))
    assert message.startswith("change 5 (create schedule a-start): its Description is ")


@pytest.mark.parametrize("text", ["[1]", '"event"', "not json"])
def test_a_saved_input_that_is_not_a_json_object_is_refused(text: str) -> None:
    doc = _document()
    doc["changes"][1]["desired"]["Target"]["Input"] = text
    assert _mismatch(doc) == "change 2 (update schedule a-stop): its Input is not a JSON object"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.__setitem__("changes", [5]), "a change is not a JSON object"),
        (
            lambda d: d["fingerprints"]["resources"].update({"schedule x": 5}),
            "its fingerprints' resources are not all strings",
        ),
        (
            lambda d: d["fingerprints"]["resources"].update({"schedule x": None}),
            "its fingerprints' resources are not all strings",
        ),
    ],
)
def test_a_malformed_part_is_refused(edit: Any, message: str) -> None:
    doc = _document()
    edit(doc)
    assert _refused(doc) == message


@pytest.mark.parametrize("doc", [[], "plan", None, 5])
def test_a_plan_that_is_not_a_json_object_is_refused(doc: object) -> None:
    with pytest.raises(PlanError) as caught:
        from_document(doc)
    assert str(caught.value) == "the plan is not a JSON object"


def test_a_summary_without_its_unchanged_count_is_refused() -> None:
    doc = _document()
    del doc["summary"]["unchanged"]
    assert _mismatch(doc).startswith("its summary does not count its changes (")


def test_a_create_of_a_resource_that_was_live_is_refused_even_with_fingerprints_fixed_up() -> None:
    doc = _document(_fresh(rule("a")))
    resources = doc["fingerprints"]["resources"]
    resources["schedule a-start"] = "0" * 64
    doc["fingerprints"]["live"] = plan_module.resources_fingerprint(sorted(resources.items()))
    doc["summary"]["unchanged"] += 1
    doc["managed_schedules"] += 1  # the count of live schedules is checked too
    assert _mismatch(doc) == (
        "change 5 (create schedule a-start): the schedule was live when the plan was made"
    )


def test_an_update_of_a_schedule_whose_target_drifted_is_not_marked() -> None:
    state = _want(rule("a"))
    drifted = dataclasses.replace(state.schedules[0], target_arn="arn:aws:sqs:eu-west-1:1:q")
    live = LiveState(
        group=state.group,
        schedules=(drifted, *state.schedules[1:]),
        function=state.function,
        table=state.table,
        queue=state.queue,
    )
    [change] = _document(make_plan(state, live))["changes"]
    assert change["action"] == "update"
    assert "not_created_by_ouroboros" not in change


def test_with_settings_that_name_no_executor_a_schedule_without_a_target_targets_nothing() -> None:
    bad = settings(executor_role_arn="not-an-arn")
    state = _want(rule("a"))
    stranger = dataclasses.replace(state.schedules[0], name="x-start", target_arn="")
    change = plan_module.Change("delete", "schedule", "x-start", before=stranger)
    assert plan_module.not_created_by_ouroboros(change, bad) == "targets nothing"


def test_a_saved_input_with_a_single_string_value_is_refused_naming_the_list_it_should_be() -> None:
    doc = _document()
    target = doc["changes"][1]["desired"]["Target"]
    event = json.loads(target["Input"])
    event["targets"] = {"tag:Environment": "dev"}
    target["Input"] = json.dumps(event)
    assert _mismatch(doc) == (
        'change 2 (update schedule a-stop): its Target.Input.targets is {"tag:Environment": '
        '"dev"}, but its settings make it {"tag:Environment": ["dev"]}'
    )
