"""Desired state: rules + settings -> schedules, executor, table and group, field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from recon_support import ACCOUNT, NOW, REGION, rule, settings

from reconciler import checks
from reconciler.desired import (
    RETRY_MAX_ATTEMPTS,
    RETRY_MAX_EVENT_AGE_S,
    DesiredState,
    build_desired,
    event_of,
    function_arn,
)
from reconciler.errors import FatalError, InternalError
from reconciler.model import Location, Rule
from reconciler.resources import ScheduleSpec

SHA = "c2hhMjU2LW9mLXRoZS16aXA="


def build(rules: list[Rule], **kw: Any) -> DesiredState:
    return build_desired(
        rules, kw.pop("settings", settings()), code_sha256=SHA, now=kw.pop("now", NOW)
    )


def by_name(state: DesiredState) -> dict[str, ScheduleSpec]:
    return {s.name: s for s in state.schedules}


def test_one_schedule_per_rule_and_action_with_every_field() -> None:
    state = build(
        [
            rule(
                "dev-office-hours",
                description="Dev boxes, office hours",
                timezone="Europe/Berlin",
                targets=(("tag:Environment", ("dev",)), ("vpc-id", ("vpc-4085e027",))),
            )
        ]
    )
    stop = by_name(state)["dev-office-hours-stop"]
    assert stop.to_api() == {
        "Name": "dev-office-hours-stop",
        "GroupName": "ouroboros",
        "ScheduleExpression": "cron(0 19 ? * MON-FRI *)",
        "ScheduleExpressionTimezone": "Europe/Berlin",
        "State": "ENABLED",
        "Description": "Managed by ouroboros: rule dev-office-hours, stop. Dev boxes, office hours",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ouroboros-executor",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler",
            "Input": stop.input,
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": RETRY_MAX_EVENT_AGE_S,
                "MaximumRetryAttempts": RETRY_MAX_ATTEMPTS,
            },
            "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:ouroboros-dead-letters"},
        },
        "ActionAfterCompletion": "NONE",
    }
    assert [s.name for s in state.schedules] == ["dev-office-hours-start", "dev-office-hours-stop"]


def test_the_input_is_the_pinned_executor_event() -> None:
    state = build(
        [rule("dev", hibernate=True, max_instances=50, targets=(("tag:Team", ("a", "b")),))]
    )
    event = event_of(by_name(state)["dev-start"])
    assert event == {
        "version": 1,
        "rule": "dev",
        "action": "start",
        "hibernate": True,
        "accounts": [ACCOUNT],
        "regions": [REGION],
        "targets": {"tag:Team": ["a", "b"]},
        "max_instances": 50,
        "role_name": "ouroboros-target",
        "schedule_arn": "<aws.scheduler.schedule-arn>",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "execution_id": "<aws.scheduler.execution-id>",
    }
    assert checks.check_event(event) == []


def test_the_input_is_compact_json_with_sorted_keys() -> None:
    text = by_name(build([rule("dev")]))["dev-stop"].input
    assert text is not None
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    assert text.startswith('{"accounts":["123456789012"],"action":"stop",')


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"enabled": False}, "state", "DISABLED"),
        ({"enabled": True}, "state", "ENABLED"),
        ({"timezone": "Etc/UTC"}, "timezone", "UTC"),
        ({"timezone": "America/New_York"}, "timezone", "America/New_York"),
        ({"stop": "rate(1 hours)"}, "expression", "rate(1 hour)"),
        ({"stop": "rate(5   minute)"}, "expression", "rate(5 minutes)"),
        ({"stop": "cron(0 19 ? * mon-fri *)"}, "expression", "cron(0 19 ? * MON-FRI *)"),
        ({"stop": "cron(0 19 ? * MON-FRI *)"}, "action_after_completion", "NONE"),
        # NONE: the executor reads the schedule that sent an event, so it must outlive firing.
        ({"stop": "at(2027-01-15T19:00:00)"}, "action_after_completion", "NONE"),
        ({"description": None}, "description", "Managed by ouroboros: rule dev, stop"),
    ],
)
def test_schedule_fields_from_the_rule(
    overrides: dict[str, Any], field: str, expected: object
) -> None:
    assert getattr(by_name(build([rule("dev", **overrides)]))["dev-stop"], field) == expected


def test_a_rule_with_only_a_stop_gets_only_a_stop_schedule() -> None:
    assert list(by_name(build([rule("dev", start=None)]))) == ["dev-stop"]


def test_a_past_at_schedule_is_left_out_with_a_note() -> None:
    state = build(
        [rule("once", start="at(2026-11-27T08:00:00)", stop="at(2026-11-27T19:00:00)")],
        now=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
    assert list(by_name(state)) == ["once-stop"]
    assert state.notes == (
        "rule once: start at(2026-11-27T08:00:00) (UTC) is in the past, "
        "so no schedule is deployed for it",
    )


def test_the_executor_function() -> None:
    function = build(
        [], settings=settings(executor_memory_mb=512, executor_timeout_s=60, log_retention_days=30)
    ).function
    assert function.configuration() == {
        "FunctionName": "ouroboros-executor",
        "Runtime": "python3.12",
        "Handler": "reconciler.executor.handler.handler",
        "Role": f"arn:aws:iam::{ACCOUNT}:role/ouroboros-executor",
        "MemorySize": 512,
        "Timeout": 60,
        "Environment": {
            "Variables": {
                "OUROBOROS_LOG_RETENTION_DAYS": "30",
                "OUROBOROS_LOG_TABLE": "ouroboros-runs",
                "OUROBOROS_SCHEDULE_GROUP": "ouroboros",
                "OUROBOROS_TARGET_ROLE": "ouroboros-target",
            }
        },
        "Layers": [],
        "Description": (
            "Ouroboros executor: starts and stops EC2 instances for the schedules in group "
            "ouroboros. Managed by `reconcile apply`."
        ),
    }
    assert function.code_sha256 == SHA


def test_the_log_table() -> None:
    table = build([]).table
    assert table.name == "ouroboros-runs"
    assert table.billing_mode == "PAY_PER_REQUEST"
    assert table.ttl_attribute == "expires_at"
    assert table.point_in_time_recovery is True
    schema = json.loads(table.schema)
    assert [k["AttributeName"] for k in schema["KeySchema"]] == ["pk", "sk"]
    assert [g["IndexName"] for g in schema["GlobalSecondaryIndexes"]] == ["by-day"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "arn:aws:iam::111111111111:role/ouroboros-executor",
            "arn:aws:lambda:eu-west-1:111111111111:function:ouroboros-executor",
        ),
        (
            "arn:aws-cn:iam::222222222222:role/path/exec",
            "arn:aws-cn:lambda:eu-west-1:222222222222:function:ouroboros-executor",
        ),
    ],
)
def test_the_function_arn_takes_account_and_partition_from_the_role(
    role: str, expected: str
) -> None:
    assert function_arn(settings(executor_role_arn=role)) == expected


def test_a_malformed_role_arn_is_a_clear_error() -> None:
    with pytest.raises(FatalError, match=r"executor.role_arn 'nope' is not an IAM role ARN"):
        function_arn(settings(executor_role_arn="nope"))


def test_the_default_group_is_refused() -> None:
    with pytest.raises(FatalError, match="schedule_group is 'default'"):
        build([rule("dev")], settings=settings(schedule_group="default"))


def test_the_same_rules_give_the_same_state_and_fingerprint() -> None:
    rules = [rule("b"), rule("a", timezone="Asia/Kolkata")]
    first, second = build(rules), build(list(reversed(rules)))
    assert first == second
    assert first.fingerprint() == second.fingerprint()
    assert build([rule("a")]).fingerprint() != first.fingerprint()


def test_allowed_accounts_reach_the_executors_environment() -> None:
    function = build([], settings=settings(allowed_accounts=("222222222222", ACCOUNT))).function
    assert dict(function.environment)["OUROBOROS_ALLOWED_ACCOUNTS"] == f"{ACCOUNT},222222222222"
    assert "OUROBOROS_ALLOWED_ACCOUNTS" not in dict(build([]).function.environment)


def test_an_event_the_executor_would_refuse_is_a_bug_with_the_rules_location() -> None:
    # The loader runs the same checks, so reaching this is a bug in ouroboros: exit 3.
    bad = rule("dev", accounts=("nope",), location=Location("schedules/dev.yaml", 3, 3))
    with pytest.raises(InternalError) as caught:
        build([bad])
    assert str(caught.value).startswith(
        "schedules/dev.yaml:3:3: rule dev: the executor would refuse its event: "
    )
    assert InternalError.exit_code == 3


def test_post_load_settings_problems_name_the_settings_file() -> None:
    where = Location("ouroboros.yaml", 1, 1)
    with pytest.raises(FatalError, match=r"^ouroboros.yaml:1:1: executor.role_arn 'nope' is not"):
        function_arn(settings(executor_role_arn="nope", location=where))
    with pytest.raises(FatalError, match=r"^ouroboros.yaml:1:1: schedule_group is 'default'"):
        build([rule("dev")], settings=settings(schedule_group="default", location=where))
