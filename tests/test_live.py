"""Live state: what is read (only the owned group), how much, and how it is normalised."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from recon_support import (
    GROUP,
    REGION,
    Fault,
    clients,
    count_requests,
    create_roles,
    desired,
    inject,
    rule,
    settings,
)

from reconciler.apply import apply_changes
from reconciler.errors import FatalError
from reconciler.live import read_group, read_live
from reconciler.package import build_executor_zip
from reconciler.plan import make_plan
from reconciler.resources import FunctionSpec, ScheduleSpec


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        create_roles()
        yield


def _create(scheduler: Any, name: str, group: str = GROUP, **extra: Any) -> None:
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=extra.pop("ScheduleExpression", "rate(5 minutes)"),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:x",
            "RoleArn": "arn:aws:iam::123456789012:role/r",
        },
        **extra,
    )


def test_nothing_deployed_reads_as_empty(aws: None) -> None:
    live = read_live(clients(), settings())
    assert (live.group, live.schedules, live.function, live.table) == (None, (), None, None)


def test_a_deployed_state_reads_back_equal_to_the_desired_one(aws: None) -> None:
    package = build_executor_zip()
    state = desired(
        [rule("dev", timezone="Europe/Berlin"), rule("ops", stop="rate(1 hours)")], package
    )
    c = clients()
    plan = make_plan(state, read_live(c, settings()))
    assert apply_changes(c, plan.changes, group=GROUP, package=package).outcome == "ok"
    live = read_live(c, settings())
    assert live.group is not None
    assert live.schedules == state.schedules
    assert live.function == state.function
    assert live.table == state.table
    assert live.fingerprint() == state.fingerprint()


def test_only_the_owned_group_is_listed_and_read(aws: None) -> None:
    c = clients()
    c.scheduler.create_schedule_group(Name=GROUP)
    c.scheduler.create_schedule_group(Name="someone-else")
    _create(c.scheduler, "mine", GROUP)
    _create(c.scheduler, "theirs", "someone-else")
    _create(c.scheduler, "in-default", "default")
    calls: list[dict[str, Any]] = []
    c.scheduler.meta.events.register(
        "provide-client-params.scheduler", lambda params, **_: calls.append(dict(params))
    )
    live = read_live(c, settings())
    assert [s.name for s in live.schedules] == ["mine"]
    assert all(call.get("GroupName") in (GROUP, None) for call in calls)
    assert {call.get("GroupName") for call in calls if "GroupName" in call} == {GROUP}


def test_requests_per_read_are_pages_plus_one_get_per_schedule(aws: None) -> None:
    c = clients()
    c.scheduler.create_schedule_group(Name=GROUP)
    n = 230
    for i in range(n):
        _create(c.scheduler, f"s{i:04d}")
    scheduler_calls = count_requests(c.scheduler)
    other_calls = count_requests(c.lambda_), count_requests(c.dynamodb)
    live = read_live(c, settings())
    assert len(live.schedules) == n
    assert [s.name for s in live.schedules] == sorted(s.name for s in live.schedules)
    assert scheduler_calls == {
        "GetScheduleGroup": 1,
        "ListSchedules": math.ceil(n / 100),
        "GetSchedule": n,
    }
    assert sum(sum(calls.values()) for calls in other_calls) <= 2  # GetFunction, DescribeTable


def test_a_schedule_deleted_between_list_and_get_is_skipped(aws: None) -> None:
    c = clients()
    c.scheduler.create_schedule_group(Name=GROUP)
    _create(c.scheduler, "keep")
    _create(c.scheduler, "vanishing")
    inject(
        c.scheduler,
        "GetSchedule",
        Fault(
            "ResourceNotFoundException",
            "Schedule vanishing does not exist.",
            status=404,
            when=lambda request: "vanishing" in request.url,
        ),
    )
    assert [s.name for s in read_live(c, settings()).schedules] == ["keep"]


def test_a_group_being_deleted_is_a_clear_error(aws: None) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION)
    with Stubber(scheduler) as stub:
        stub.add_response(
            "get_schedule_group",
            {
                "Name": GROUP,
                "State": "DELETING",
                "Arn": f"arn:aws:scheduler:{REGION}:123456789012:schedule-group/{GROUP}",
            },
            {"Name": GROUP},
        )
        with pytest.raises(FatalError, match="schedule group 'ouroboros' is being deleted"):
            read_group(scheduler, GROUP)


def test_access_denied_is_raised_not_swallowed(aws: None) -> None:
    c = clients()
    inject(c.lambda_, "GetFunction", Fault("AccessDeniedException", "not allowed", status=403))
    with pytest.raises(Exception, match="AccessDenied"):
        read_live(c, settings())


# Normalisation: what AWS and moto fill in must not look like a change.

BASE: dict[str, Any] = {
    "Name": "dev-stop",
    "GroupName": GROUP,
    "ScheduleExpression": "rate(1 hour)",
    "FlexibleTimeWindow": {"Mode": "OFF"},
    "Target": {"Arn": "arn:f", "RoleArn": "arn:r", "Input": '{"a":1,"b":[1,2]}'},
}


def _with(**changes: Any) -> dict[str, Any]:
    data = {**BASE, "Target": dict(BASE["Target"])}
    for key, value in changes.items():
        if key.startswith("Target_"):
            data["Target"][key[len("Target_") :]] = value
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("live", "wanted"),
    [
        pytest.param(
            _with(
                Target_RetryPolicy={"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
            ),
            _with(),
            id="retry-defaults",
        ),
        pytest.param(
            _with(ScheduleExpressionTimezone=None),
            _with(ScheduleExpressionTimezone="UTC"),
            id="tz-none",
        ),
        pytest.param(
            _with(ScheduleExpressionTimezone="Etc/UTC"),
            _with(ScheduleExpressionTimezone="UTC"),
            id="tz-etc-utc",
        ),
        pytest.param(_with(State=None), _with(State="ENABLED"), id="state-dropped-by-moto"),
        pytest.param(_with(ScheduleExpression="rate(1 hours)"), _with(), id="rate-plural"),
        pytest.param(_with(ScheduleExpression="rate( 1  hour )"), _with(), id="whitespace"),
        pytest.param(_with(Target_Input='{ "b": [1, 2], "a": 1 }'), _with(), id="input-spelling"),
        pytest.param(
            _with(ActionAfterCompletion=None), _with(ActionAfterCompletion="NONE"), id="aac-absent"
        ),
        pytest.param(_with(Description=""), _with(), id="empty-description"),
        pytest.param(
            _with(StartDate=datetime(2027, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))),
            _with(StartDate="2027-01-01T08:00:00Z"),
            id="dates-to-utc",
        ),
        pytest.param(
            _with(EndDate=datetime(2027, 1, 1, 8, 0)),
            _with(EndDate="2027-01-01T08:00:00+00:00"),
            id="naive-date-is-utc",
        ),
    ],
)
def test_converged_spellings_compare_equal(live: dict[str, Any], wanted: dict[str, Any]) -> None:
    assert ScheduleSpec.from_api(live) == ScheduleSpec.from_api(wanted)


@pytest.mark.parametrize(
    "live",
    [
        pytest.param(_with(ScheduleExpression="rate(2 hours)"), id="expression"),
        pytest.param(_with(State="DISABLED"), id="state"),
        pytest.param(_with(ScheduleExpressionTimezone="Europe/Berlin"), id="timezone"),
        pytest.param(_with(Target_Input='{"a":2,"b":[1,2]}'), id="input"),
        pytest.param(
            _with(Target_RetryPolicy={"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 185}),
            id="retry",
        ),
        pytest.param(
            _with(FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}),
            id="window",
        ),
        pytest.param(_with(KmsKeyArn="arn:aws:kms:eu-west-1:123456789012:key/k"), id="kms"),
        pytest.param(
            _with(Target_DeadLetterConfig={"Arn": "arn:aws:sqs:eu-west-1:123456789012:q"}), id="dlq"
        ),
    ],
)
def test_real_differences_stay_different(live: dict[str, Any]) -> None:
    assert ScheduleSpec.from_api(live) != ScheduleSpec.from_api(_with())


@pytest.mark.parametrize(
    "layers",
    [
        pytest.param(None, id="absent-on-aws"),
        pytest.param([], id="empty-on-moto"),
    ],
)
def test_a_function_without_layers_reads_the_same_however_aws_says_it(layers: Any) -> None:
    base = {"FunctionName": "f", "CodeSha256": "c"}
    assert FunctionSpec.from_api({**base, "Layers": layers}).layers == ()


def test_layers_read_from_get_function_and_from_a_saved_plan_agree() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:layer:extra:3"
    from_aws = FunctionSpec.from_api({"FunctionName": "f", "Layers": [{"Arn": arn, "CodeSize": 9}]})
    assert from_aws.layers == (arn,)
    assert FunctionSpec.from_api(from_aws.to_api()) == from_aws


def test_clients_retry_in_standard_mode_with_a_pool_for_the_concurrency() -> None:
    from reconciler.aws import MAX_POOL_CONNECTIONS, READ_WORKERS, WRITE_WORKERS

    c = clients()
    for client in (c.scheduler, c.lambda_, c.dynamodb):
        assert client.meta.config.retries["mode"] == "standard"
        assert client.meta.config.max_pool_connections == MAX_POOL_CONNECTIONS
        assert client.meta.region_name == REGION
    assert MAX_POOL_CONNECTIONS >= READ_WORKERS + WRITE_WORKERS


@pytest.mark.parametrize(
    ("code", "message", "limit"),
    [
        ("ServiceQuotaExceededException", "Rate exceeded", 8),
        (
            "ValidationException",
            "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
            12,
        ),
        (
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
            12,
        ),
        ("ContinuousBackupsUnavailableException", "Backups are being enabled", 12),
        ("ValidationException", "Invalid schedule expression", None),
        ("ConflictException", "already exists", None),
        ("AccessDeniedException", "not allowed to assume role", None),
    ],
)
def test_which_errors_get_the_extra_retries(code: str, message: str, limit: int | None) -> None:
    from reconciler.aws import RetryTuning, retry_limit

    assert retry_limit(code, message, RetryTuning()) == limit


def test_the_extra_backoff_is_capped_full_jitter() -> None:
    from reconciler.aws import RetryTuning

    tuning = RetryTuning(base_delay_s=1, max_delay_s=4)
    delays = [tuning.delay(attempt) for attempt in (1, 2, 3, 10) for _ in range(50)]
    assert all(0 <= d <= 4 for d in delays)
    assert max(tuning.delay(1) for _ in range(50)) <= 1
