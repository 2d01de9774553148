"""Apply against moto: converging, drift, deletes, ownership, retries and partial failures."""

from __future__ import annotations

import io
import signal
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.retries import standard
from moto import mock_aws
from recon_support import (
    ACCOUNT,
    GROUP,
    REGION,
    Fault,
    clients,
    create_roles,
    ctrl_c_raises,
    desired,
    inject,
    lose_a_reply,
    press_ctrl_c,
    rule,
    wait_for_apply_to_settle,
)

from reconciler.apply import (
    DONE,
    FAILED,
    INTERRUPTED_IN_FLIGHT,
    NOT_ATTEMPTED,
    ApplyResult,
    Terminated,
    apply_changes,
)
from reconciler.aws import Clients
from reconciler.commands import apply as apply_command
from reconciler.commands.apply import sigterm_stops_like_ctrl_c
from reconciler.desired import DesiredState
from reconciler.live import read_live
from reconciler.package import ExecutorPackage, build_executor_zip
from reconciler.plan import Plan, make_plan

PACKAGE = build_executor_zip()


@pytest.fixture(autouse=True)
def no_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's own throttling backoff sleeps up to seconds; the retry decision is the test."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        create_roles()
        yield clients()


def plan_for(c: Clients, state: DesiredState) -> Plan:
    return make_plan(state, read_live(c, state.settings))


def converge(c: Clients, state: DesiredState, **kw: Any) -> ApplyResult:
    plan = plan_for(c, state)
    return apply_changes(c, plan.changes, group=GROUP, package=kw.pop("package", PACKAGE), **kw)


def assert_converged(c: Clients, state: DesiredState) -> None:
    plan = plan_for(c, state)
    assert plan.changes == (), [(x.action, x.name, x.diff) for x in plan.changes]


def test_apply_then_plan_has_no_changes(aws: Clients) -> None:
    state = desired([rule("dev", timezone="Europe/Berlin"), rule("ops", start=None)], PACKAGE)
    result = converge(aws, state)
    assert result.outcome == "ok"
    assert result.summary() == "7 created, 0 updated, 0 deleted"
    assert [r.line() for r in result.results] == [
        "+ created log_table ouroboros-runs",
        "+ created dead_letter_queue ouroboros-dead-letters",
        "+ created executor ouroboros-executor",
        "+ created schedule_group ouroboros",
        "+ created schedule dev-start",
        "+ created schedule dev-stop",
        "+ created schedule ops-stop",
    ]
    assert_converged(aws, state)
    function = aws.lambda_.get_function(FunctionName="ouroboros-executor")["Configuration"]
    assert function["CodeSha256"] == PACKAGE.code_sha256
    assert function["State"] == "Active"
    ttl = aws.dynamodb.describe_time_to_live(TableName="ouroboros-runs")
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }


def test_a_schedule_edited_by_hand_is_put_back(aws: Clients) -> None:
    state = desired([rule("dev")], PACKAGE)
    converge(aws, state)
    # Someone edits it in the console: another time, no input, defaults for the rest.
    aws.scheduler.update_schedule(
        Name="dev-stop",
        GroupName=GROUP,
        ScheduleExpression="cron(0 23 ? * MON-FRI *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:other",
            "RoleArn": "arn:aws:iam::123456789012:role/ouroboros-scheduler",
        },
    )
    plan = plan_for(aws, state)
    assert [(c.action, c.name) for c in plan.changes] == [("update", "dev-stop")]
    fields = [f.field for f in plan.changes[0].diff]
    assert fields[:2] == ["ScheduleExpression", "Description"]
    assert "Target.Arn" in fields
    assert "Target.Input" in fields
    assert "Target.RetryPolicy.MaximumEventAgeInSeconds" in fields
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert_converged(aws, state)
    stored = aws.scheduler.get_schedule(Name="dev-stop", GroupName=GROUP)
    assert stored["State"] == "ENABLED"  # sent explicitly: moto would drop an omitted one


def _other_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "reconciler/executor/handler.py", "def handler(e, c):\n    return 'hacked'\n"
        )
    return buffer.getvalue()


def test_executor_code_and_configuration_drift_are_put_back(aws: Clients) -> None:
    state = desired([rule("dev")], PACKAGE)
    converge(aws, state)
    aws.lambda_.update_function_code(FunctionName="ouroboros-executor", ZipFile=_other_zip())
    aws.lambda_.update_function_configuration(
        FunctionName="ouroboros-executor",
        MemorySize=1024,
        Environment={"Variables": {"OUROBOROS_LOG_TABLE": "elsewhere"}},
    )
    plan = plan_for(aws, state)
    assert [(c.action, c.kind) for c in plan.changes] == [("update", "executor")]
    assert [f.field for f in plan.changes[0].diff] == [
        "CodeSha256",
        "MemorySize",
        "Environment.Variables.OUROBOROS_LOG_RETENTION_DAYS",
        "Environment.Variables.OUROBOROS_LOG_TABLE",
        "Environment.Variables.OUROBOROS_SCHEDULE_GROUP",
        "Environment.Variables.OUROBOROS_TARGET_ROLE",
    ]
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert_converged(aws, state)


def test_a_layer_added_by_hand_is_drift_and_removed(aws: Clients) -> None:
    state = desired([rule("dev")], PACKAGE)
    converge(aws, state)
    layer = aws.lambda_.publish_layer_version(
        LayerName="extra", Content={"ZipFile": _other_zip()}, CompatibleRuntimes=["python3.12"]
    )["LayerVersionArn"]
    aws.lambda_.update_function_configuration(FunctionName="ouroboros-executor", Layers=[layer])
    plan = plan_for(aws, state)
    assert [(f.field, f.before, f.after) for f in plan.changes[0].diff] == [("Layers", [layer], [])]
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert_converged(aws, state)
    function = aws.lambda_.get_function(FunctionName="ouroboros-executor")["Configuration"]
    assert not function.get("Layers")


def test_the_log_tables_ttl_and_point_in_time_recovery_drift_is_put_back(aws: Clients) -> None:
    state = desired([], PACKAGE)
    converge(aws, state)
    aws.dynamodb.update_continuous_backups(
        TableName="ouroboros-runs",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    aws.dynamodb.update_time_to_live(
        TableName="ouroboros-runs",
        TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires_at"},
    )
    plan = plan_for(aws, state)
    assert [f.field for f in plan.changes[0].diff] == [
        "TimeToLive.AttributeName",
        "PointInTimeRecovery",
    ]
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert_converged(aws, state)


def test_removed_and_renamed_rules(aws: Clients) -> None:
    converge(aws, desired([rule("keep"), rule("removed"), rule("old-name")], PACKAGE))
    state = desired([rule("keep"), rule("new-name")], PACKAGE)
    plan = plan_for(aws, state)
    assert [(c.action, c.name) for c in plan.changes] == [
        ("create", "new-name-start"),
        ("create", "new-name-stop"),
        ("delete", "old-name-start"),
        ("delete", "old-name-stop"),
        ("delete", "removed-start"),
        ("delete", "removed-stop"),
    ]
    assert (
        apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).summary()
        == "2 created, 0 updated, 4 deleted"
    )
    assert_converged(aws, state)
    names = {s["Name"] for s in aws.scheduler.list_schedules(GroupName=GROUP)["Schedules"]}
    assert names == {"keep-start", "keep-stop", "new-name-start", "new-name-stop"}


def test_schedules_in_other_groups_and_the_default_group_are_untouched(aws: Clients) -> None:
    target = {
        "Arn": "arn:aws:lambda:eu-west-1:123456789012:function:x",
        "RoleArn": "arn:aws:iam::123456789012:role/x",
    }
    aws.scheduler.create_schedule_group(Name="other-team")
    for group in ("default", "other-team"):
        aws.scheduler.create_schedule(
            Name="dev-stop",
            GroupName=group,
            ScheduleExpression="rate(7 days)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=target,
        )
    converge(aws, desired([rule("dev")], PACKAGE))
    converge(aws, desired([], PACKAGE))  # deletes ours, and only ours
    for group in ("default", "other-team"):
        kept = aws.scheduler.get_schedule(Name="dev-stop", GroupName=group)
        assert kept["ScheduleExpression"] == "rate(7 days)"
    assert aws.scheduler.list_schedules(GroupName=GROUP)["Schedules"] == []


def test_an_existing_group_is_never_created_again(aws: Clients) -> None:
    converge(aws, desired([rule("dev")], PACKAGE))
    from reconciler.apply import create_group

    create_group(aws.scheduler, GROUP)  # moto would wipe the group's schedules on a re-create
    assert len(aws.scheduler.list_schedules(GroupName=GROUP)["Schedules"]) == 2


def test_switching_between_one_time_and_recurring_converges(aws: Clients) -> None:
    converge(aws, desired([rule("dev", start=None, stop="at(2027-03-01T19:00:00)")], PACKAGE))
    # NONE, not DELETE: the executor reads the schedule that sent an event before acting, so a
    # one-time schedule stays until the apply after its time deletes it.
    assert (
        aws.scheduler.get_schedule(Name="dev-stop", GroupName=GROUP)["ActionAfterCompletion"]
        == "NONE"
    )
    state = desired([rule("dev", start=None)], PACKAGE)
    plan = plan_for(aws, state)
    assert [f.field for f in plan.changes[0].diff] == ["ScheduleExpression"]
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert_converged(aws, state)


@pytest.mark.parametrize(
    ("operation", "fault"),
    [
        ("CreateSchedule", Fault("ThrottlingException", "Rate exceeded", status=429, times=2)),
        (
            "CreateSchedule",
            Fault("ServiceQuotaExceededException", "Rate exceeded", status=402, times=5),
        ),
        (
            "UpdateSchedule",
            Fault("ServiceQuotaExceededException", "Rate exceeded", status=402, times=3),
        ),
        (
            "DeleteSchedule",
            Fault("ServiceQuotaExceededException", "Rate exceeded", status=402, times=3),
        ),
        (
            "CreateSchedule",
            Fault(
                "ValidationException",
                "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
                times=4,
            ),
        ),
        (
            "CreateFunction",
            Fault(
                "InvalidParameterValueException",
                "The role defined for the function cannot be assumed by Lambda.",
                times=2,
            ),
        ),
        (
            "UpdateContinuousBackups",
            Fault(
                "ContinuousBackupsUnavailableException",
                "Backups are being enabled for the table",
                times=2,
            ),
        ),
    ],
    ids=[
        "throttling",
        "quota-on-create",
        "quota-on-update",
        "quota-on-delete",
        "iam-propagation-scheduler",
        "iam-propagation-lambda",
        "pitr-too-early",
    ],
)
def test_transient_errors_are_retried_and_the_apply_converges(
    aws: Clients, operation: str, fault: Fault
) -> None:
    converge(aws, desired([rule("old"), rule("b")], PACKAGE))
    aws.lambda_.delete_function(FunctionName="ouroboros-executor")
    aws.dynamodb.update_continuous_backups(
        TableName="ouroboros-runs",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    state = desired([rule("a"), rule("b", stop="rate(3 hours)")], PACKAGE)
    client = {"CreateFunction": aws.lambda_, "UpdateContinuousBackups": aws.dynamodb}.get(
        operation, aws.scheduler
    )
    inject(client, operation, fault)
    result = converge(aws, state)
    assert result.outcome == "ok", result.first_error
    assert fault.sent == fault.times
    assert_converged(aws, state)


def test_quota_errors_that_do_not_stop_fail_cleanly(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    fault = inject(
        aws.scheduler,
        "CreateSchedule",
        Fault("ServiceQuotaExceededException", "Rate exceeded", status=402, times=100),
    )
    result = converge(aws, state, workers=1)
    assert fault.sent == 8  # RetryTuning.quota_attempts, for the first create that ran
    assert result.outcome == "partial"
    failed = result.with_status(FAILED)
    assert (
        failed[0].error
        == "AWS CreateSchedule failed with ServiceQuotaExceededException: Rate exceeded (still "
        "over the request-rate quota after backing off; run again later)"
    )


def test_a_failure_after_k_of_n_creates_reports_each_change_and_a_rerun_converges(
    aws: Clients,
) -> None:
    converge(aws, desired([rule("gone")], PACKAGE))
    state = desired([rule(f"r{i}") for i in range(5)], PACKAGE)
    creates = {"n": 0}

    def fourth_create(_request: Any) -> bool:
        creates["n"] += 1
        return creates["n"] == 4

    inject(
        aws.scheduler,
        "CreateSchedule",
        Fault("ValidationException", "Invalid request: bad target", when=fourth_create),
    )
    result = converge(aws, state, workers=1)
    assert result.outcome == "partial"
    statuses = [(r.change.action, r.change.name, r.status) for r in result.results]
    assert statuses == [
        ("create", "r0-start", DONE),
        ("create", "r0-stop", DONE),
        ("create", "r1-start", DONE),
        ("create", "r1-stop", FAILED),
        *[("create", f"r{i}-{a}", NOT_ATTEMPTED) for i in range(2, 5) for a in ("start", "stop")],
        ("delete", "gone-start", NOT_ATTEMPTED),  # a failed create never leads to deletes
        ("delete", "gone-stop", NOT_ATTEMPTED),
    ]
    assert result.summary() == "3 created, 0 updated, 0 deleted; 1 failed, 8 not attempted"
    assert result.results[3].line() == (
        "! failed to create schedule r1-stop: AWS CreateSchedule failed with "
        "ValidationException: Invalid request: bad target"
    )
    assert result.results[4].line() == "  not attempted: create schedule r2-start"
    live_names = {s["Name"] for s in aws.scheduler.list_schedules(GroupName=GROUP)["Schedules"]}
    assert live_names == {"gone-start", "gone-stop", "r0-start", "r0-stop", "r1-start"}
    rerun = converge(aws, state)
    assert rerun.outcome == "ok"
    assert rerun.summary() == "7 created, 0 updated, 2 deleted"
    assert_converged(aws, state)


def test_a_failed_executor_stops_the_schedules(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    inject(
        aws.lambda_,
        "CreateFunction",
        Fault("AccessDeniedException", "not allowed to create functions", status=403),
    )
    result = converge(aws, state)
    assert [r.status for r in result.results] == [
        DONE,
        DONE,
        FAILED,
        NOT_ATTEMPTED,
        NOT_ATTEMPTED,
        NOT_ATTEMPTED,
    ]
    assert result.outcome == "partial"
    assert result.first_error == (
        "AWS CreateFunction failed with AccessDeniedException: not allowed to create functions: "
        "the role in use lacks a permission; see docs/how-to/iam.md"
    )


def test_code_built_here_must_be_the_planned_code(aws: Clients) -> None:
    state = desired([], PACKAGE)
    other = ExecutorPackage(zip_bytes=_other_zip(), files=("x",))
    result = converge(aws, state, package=other)
    failed = result.with_status(FAILED)[0]
    assert failed.change.kind == "executor"
    assert failed.error is not None
    assert failed.error.startswith("the executor code built here (CodeSha256 ")


def test_a_schedule_already_deleted_counts_as_deleted(aws: Clients) -> None:
    converge(aws, desired([rule("gone")], PACKAGE))
    plan = plan_for(aws, desired([], PACKAGE))
    aws.scheduler.delete_schedule(Name="gone-stop", GroupName=GROUP)
    assert apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE).outcome == "ok"


def test_an_apply_stops_when_told_to(aws: Clients) -> None:
    """The lock-lost rail: once should_continue says no, nothing more starts."""
    state = desired([rule("a"), rule("b")], PACKAGE)
    done: list[str] = []
    result = converge(
        aws,
        state,
        progress=lambda r: done.append(r.change.kind),
        should_continue=lambda: "schedule_group" not in done,
    )
    assert [r.status for r in result.results] == [DONE] * 4 + [NOT_ATTEMPTED] * 4
    assert result.outcome == "partial"
    assert result.first_error is None


def test_ctrl_c_in_the_executor_step_marks_it_unknown_and_starts_nothing_else(
    aws: Clients,
) -> None:
    state = desired([rule("a")], PACKAGE)

    def interrupt(request: Any, **_: Any) -> None:
        raise KeyboardInterrupt  # the main thread makes this call: Ctrl-C lands in it

    aws.lambda_.meta.events.register_first("before-send.lambda.CreateFunction", interrupt)
    result = converge(aws, state)
    assert result.interrupted
    assert [(r.change.kind, r.status, r.error) for r in result.results] == [
        ("log_table", DONE, None),
        ("dead_letter_queue", DONE, None),
        ("executor", FAILED, INTERRUPTED_IN_FLIGHT),
        ("schedule_group", NOT_ATTEMPTED, None),
        ("schedule", NOT_ATTEMPTED, None),
        ("schedule", NOT_ATTEMPTED, None),
    ]
    assert result.outcome == "partial"


def test_ctrl_c_during_the_schedules_finishes_the_calls_in_flight_and_reports_them(
    aws: Clients,
) -> None:
    converge(aws, desired([], PACKAGE))
    state = desired([rule(f"r{n}") for n in range(8)], PACKAGE)
    creates = {"n": 0}

    def third_create(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 3:
            press_ctrl_c()
        elif creates["n"] > 3:  # the other worker's call in flight: it finishes after Ctrl-C
            wait_for_apply_to_settle()

    aws.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", third_create)
    with ctrl_c_raises():
        result = converge(aws, state, workers=2)
    assert result.interrupted
    done = {r.change.name for r in result.results if r.status == DONE}
    # Every call that started finished and is reported; nothing else was started.
    assert {r.status for r in result.results} == {DONE, NOT_ATTEMPTED}
    assert 3 <= len(done) < 16
    live = aws.scheduler.list_schedules(GroupName=GROUP, MaxResults=100)["Schedules"]
    assert {s["Name"] for s in live} == done
    aws.scheduler.meta.events.unregister("before-send.scheduler.CreateSchedule", third_create)
    rerun = converge(aws, state)
    assert rerun.outcome == "ok"
    assert not rerun.interrupted
    assert_converged(aws, state)


def test_the_iam_region_and_roles_come_from_moto() -> None:
    with mock_aws():
        executor, scheduler = create_roles()
        assert (
            boto3.client("iam", region_name=REGION).get_role(RoleName="ouroboros-executor")["Role"][
                "Arn"
            ]
            == executor
        )
        assert scheduler.endswith(":role/ouroboros-scheduler")


def test_a_role_that_never_becomes_assumable_fails_with_what_to_check(aws: Clients) -> None:
    fault = inject(
        aws.lambda_,
        "CreateFunction",
        Fault(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
            times=100,
        ),
    )
    result = converge(aws, desired([rule("a")], PACKAGE))
    assert fault.sent == 12  # RetryTuning.propagation_attempts
    assert result.first_error == (
        "AWS CreateFunction failed with InvalidParameterValueException: The role defined for "
        "the function cannot be assumed by Lambda. (retried while IAM propagates; check that "
        "the role exists and that its trust policy lets the service (lambda.amazonaws.com or "
        "scheduler.amazonaws.com) assume it)"
    )


def test_sigterm_during_the_schedules_stops_like_ctrl_c(aws: Clients) -> None:
    """What CI cancellation sends: the calls in flight finish, nothing new starts."""
    converge(aws, desired([], PACKAGE))
    state = desired([rule(f"r{n}") for n in range(8)], PACKAGE)
    creates = {"n": 0}

    def third_create(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 3:
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
        if creates["n"] >= 3:  # this call and the other worker's finish after the signal
            wait_for_apply_to_settle()

    aws.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", third_create)
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_stops_like_ctrl_c():
        result = converge(aws, state, workers=2)
    assert (result.interrupted, result.stopped_by) == (True, "SIGTERM")
    assert {r.status for r in result.results} == {DONE, NOT_ATTEMPTED}
    done = {r.change.name for r in result.results if r.status == DONE}
    assert 3 <= len(done) < 16
    live = aws.scheduler.list_schedules(GroupName=GROUP, MaxResults=100)["Schedules"]
    assert {s["Name"] for s in live} == done
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back


def test_sigterm_in_the_executor_step_marks_it_unknown(aws: Clients) -> None:
    def terminate(request: Any, **_: Any) -> None:
        raise Terminated  # what the SIGTERM handler raises in the main thread

    aws.lambda_.meta.events.register_first("before-send.lambda.CreateFunction", terminate)
    result = converge(aws, desired([rule("a")], PACKAGE))
    assert (result.interrupted, result.stopped_by) == (True, "SIGTERM")
    assert [(r.change.kind, r.status, r.error) for r in result.results][:4] == [
        ("log_table", DONE, None),
        ("dead_letter_queue", DONE, None),
        (
            "executor",
            FAILED,
            "interrupted (SIGTERM) while in progress: it may or may not have been made",
        ),
        ("schedule_group", NOT_ATTEMPTED, None),
    ]


def test_a_create_whose_reply_was_lost_counts_as_done(aws: Clients) -> None:
    converge(aws, desired([], PACKAGE))
    state = desired([rule("a")], PACKAGE)
    lost = lose_a_reply(aws.scheduler, "CreateSchedule")
    result = converge(aws, state, workers=1)
    assert lost == [1]  # the retry met the schedule its first attempt had made
    assert result.outcome == "ok", result.first_error
    assert [r.line() for r in result.results] == [
        "+ created schedule a-start",
        "+ created schedule a-stop",
    ]
    assert_converged(aws, state)


def test_a_create_that_meets_someone_elses_schedule_fails_saying_so(aws: Clients) -> None:
    converge(aws, desired([], PACKAGE))
    state = desired([rule("a")], PACKAGE)
    plan = plan_for(aws, state)
    theirs = desired([rule("a", stop="cron(0 23 ? * MON-FRI *)", timezone="Europe/Berlin")])
    aws.scheduler.create_schedule(**theirs.schedules[1].to_api())  # made after the plan
    result = apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE, workers=1)
    assert result.outcome == "partial"
    assert [r.status for r in result.results] == [DONE, FAILED]
    assert result.results[1].error == (
        "schedule a-stop already exists and is not the one this apply sent (it differs in "
        "ScheduleExpression, ScheduleExpressionTimezone): someone else created it meanwhile "
        "(another apply, or by hand); run reconcile plan again to see it"
    )


def test_sigterm_after_ctrl_c_still_waits_for_and_reports_the_calls_in_flight(
    aws: Clients,
) -> None:
    """A cancelled GitHub Actions job gets SIGINT, then SIGTERM: the second changes nothing."""
    converge(aws, desired([], PACKAGE))
    state = desired([rule(f"r{n}") for n in range(8)], PACKAGE)
    creates = {"n": 0}

    def ctrl_c_then_sigterm(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 3:
            press_ctrl_c()  # returns once apply waits for the calls in flight
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
            while not any(h.received for h in apply_command._handlers):
                time.sleep(0.005)
        elif creates["n"] > 3:
            wait_for_apply_to_settle()

    aws.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", ctrl_c_then_sigterm)
    with ctrl_c_raises(), sigterm_stops_like_ctrl_c():
        result = converge(aws, state, workers=2)
    assert (result.interrupted, result.stopped_by) == (True, "Ctrl-C")
    assert {r.status for r in result.results} == {DONE, NOT_ATTEMPTED}
    done = {r.change.name for r in result.results if r.status == DONE}
    live = aws.scheduler.list_schedules(GroupName=GROUP, MaxResults=100)["Schedules"]
    assert {s["Name"] for s in live} == done  # every call that was made is reported
    assert 3 <= len(done) < 16


def test_a_second_ctrl_c_while_the_calls_in_flight_finish_changes_nothing(aws: Clients) -> None:
    converge(aws, desired([], PACKAGE))
    state = desired([rule(f"r{n}") for n in range(8)], PACKAGE)
    creates = {"n": 0}
    presses: list[int] = []

    def counted_ctrl_c(signum: int, frame: Any) -> None:
        presses.append(signum)
        raise KeyboardInterrupt

    def twice(request: Any, **_: Any) -> None:
        creates["n"] += 1
        if creates["n"] == 3:
            press_ctrl_c()  # returns once apply waits for the calls in flight
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            while len(presses) < 2:
                time.sleep(0.005)
            wait_for_apply_to_settle()  # and it waits again
        elif creates["n"] > 3:
            wait_for_apply_to_settle()

    aws.scheduler.meta.events.register("before-send.scheduler.CreateSchedule", twice)
    previous = signal.signal(signal.SIGINT, counted_ctrl_c)
    try:
        result = converge(aws, state, workers=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(presses) == 2
    assert result.interrupted
    done = {r.change.name for r in result.results if r.status == DONE}
    live = aws.scheduler.list_schedules(GroupName=GROUP, MaxResults=100)["Schedules"]
    assert {s["Name"] for s in live} == done  # every call that was made is reported
    assert {r.status for r in result.results} == {DONE, NOT_ATTEMPTED}


def test_an_executor_create_whose_reply_was_lost_counts_as_done(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    lost = lose_a_reply(aws.lambda_, "CreateFunction")
    result = converge(aws, state)
    assert lost == [1]
    assert result.outcome == "ok", result.first_error
    assert_converged(aws, state)


def test_an_executor_create_that_meets_someone_elses_fails_saying_so(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    plan = plan_for(aws, state)
    aws.lambda_.create_function(  # made after the plan, with more memory
        **{**state.function.configuration(), "MemorySize": 512},
        Code={"ZipFile": PACKAGE.zip_bytes},
    )
    result = apply_changes(aws, plan.changes, group=GROUP, package=PACKAGE)
    assert [r.status for r in result.results][:4] == [DONE, DONE, FAILED, NOT_ATTEMPTED]
    assert result.first_error == (
        "executor ouroboros-executor already exists and is not the one this apply sent (it "
        "differs in MemorySize): someone else created it meanwhile (another apply, or by hand); "
        "run reconcile plan again to see it"
    )


def test_a_group_create_whose_reply_was_lost_counts_as_done(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    lost = lose_a_reply(aws.scheduler, "CreateScheduleGroup")
    sends = {"n": 0}

    def the_retry(_request: Any) -> bool:
        sends["n"] += 1
        return sends["n"] == 2

    # moto would quietly create the group again; AWS answers the retry with a conflict.
    retry = Fault(
        "ConflictException", "Schedule group ouroboros already exists", 409, when=the_retry
    )
    inject(aws.scheduler, "CreateScheduleGroup", retry)
    result = converge(aws, state)
    assert (lost, retry.sent) == ([1], 1)
    assert result.outcome == "ok", result.first_error
    assert_converged(aws, state)


def test_apply_exposes_when_it_starts_no_more_changes(aws: Clients) -> None:
    # The explicit hook the Ctrl-C tests wait on (no looking through the main thread's stack).
    from reconciler import apply as apply_module

    apply_module.settling.clear()
    converge(aws, desired([rule("r1"), rule("r2")], PACKAGE))
    assert apply_module.settling.is_set()


@pytest.mark.parametrize("kind", ["executor", "schedule"])
def test_a_change_apply_cannot_make_is_a_bug_that_stops_apply(aws: Clients, kind: str) -> None:
    # Only a bug makes such a change; it must reach the CLI handler (exit 3), not pass as a
    # failed change. "schedule" runs in the worker pool, "executor" in the main thread.
    from reconciler.errors import InternalError
    from reconciler.plan import Change

    bogus = Change("update", kind, "x")  # an update without a desired object
    with pytest.raises(InternalError, match=f"^cannot update {kind} x: not supported$"):
        apply_changes(aws, [bogus], group=GROUP, package=PACKAGE)


# The dead-letter queue and the executor's asynchronous-invoke configuration (issue 12)

QUEUE = "ouroboros-dead-letters"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"


def _queue_attributes(aws: Clients) -> dict[str, str]:
    url = aws.sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    return dict(aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])


def test_apply_creates_the_queue_and_points_schedules_and_executor_at_it(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    assert converge(aws, state).outcome == "ok"
    attributes = _queue_attributes(aws)
    assert (attributes["MessageRetentionPeriod"], attributes["SqsManagedSseEnabled"]) == (
        "1209600",
        "true",
    )
    schedule = aws.scheduler.get_schedule(Name="a-start", GroupName=GROUP)
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": QUEUE_ARN}
    config = aws.lambda_.get_function_event_invoke_config(FunctionName="ouroboros-executor")
    assert (
        config["MaximumRetryAttempts"],
        config["MaximumEventAgeInSeconds"],
        config["DestinationConfig"],
    ) == (2, 900, {"OnFailure": {"Destination": QUEUE_ARN}})


def test_queue_and_invoke_config_drift_is_planned_and_put_back(aws: Clients) -> None:
    state = desired([rule("a")], PACKAGE)
    converge(aws, state)
    url = aws.sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    aws.sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"MessageRetentionPeriod": "60", "SqsManagedSseEnabled": "false"},
    )
    # Removed by hand: failed events would be dropped again.
    aws.lambda_.delete_function_event_invoke_config(FunctionName="ouroboros-executor")
    plan = plan_for(aws, state)
    assert [(c.action, c.kind, [f.field for f in c.diff]) for c in plan.changes] == [
        ("update", "dead_letter_queue", ["MessageRetentionPeriod", "Encrypted"]),
        (
            "update",
            "executor",
            [
                "EventInvokeConfig.MaximumRetryAttempts",
                "EventInvokeConfig.MaximumEventAgeInSeconds",
                "EventInvokeConfig.DestinationConfig.OnFailure.Destination",
            ],
        ),
    ]
    assert converge(aws, state).outcome == "ok"
    assert _queue_attributes(aws)["MessageRetentionPeriod"] == "1209600"
    assert_converged(aws, state)


def test_a_queue_that_exists_with_other_attributes_is_set_on_create(aws: Clients) -> None:
    aws.sqs.create_queue(QueueName=QUEUE, Attributes={"MessageRetentionPeriod": "60"})
    state = desired([], PACKAGE)
    plan = plan_for(aws, state)
    live_queue = [c for c in plan.changes if c.kind == "dead_letter_queue"]
    assert [c.action for c in live_queue] == ["update"]
    # Created between the plan and the apply: the create sets it as planned all the same.
    aws.sqs.delete_queue(QueueUrl=aws.sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"])
    fresh = plan_for(aws, state)
    aws.sqs.create_queue(QueueName=QUEUE, Attributes={"MessageRetentionPeriod": "60"})
    assert apply_changes(aws, fresh.changes, group=GROUP, package=PACKAGE).outcome == "ok"
    assert _queue_attributes(aws)["MessageRetentionPeriod"] == "1209600"
