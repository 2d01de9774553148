"""The Lambda entry point with fake clients, claims and environment: what the mutation run
(issue 16) found unpinned in reconciler/executor/handler.py.

No moto: `make mutation` runs these once per mutant.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from reconciler import runlog
from reconciler.executor import ec2, handler, run, trust
from reconciler.executor.claims import NEW, Claim, LogTableError
from reconciler.executor.event import Occurrence

ACCOUNT, REGION = "111111111111", "eu-west-1"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ouroboros-executor"
ARN = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/ouroboros/dev-office-hours-stop"
WHEN = "2026-11-27T19:00:00Z"
NOW = datetime(2026, 11, 27, 19, 0, 30, tzinfo=UTC)
ENV = {
    runlog.TABLE_ENV: "runs",
    runlog.GROUP_ENV: "ouroboros",
    runlog.TARGET_ROLE_ENV: "ouroboros-target",
    "AWS_REGION": REGION,
}


def _event(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": 1,
        "rule": "dev-office-hours",
        "action": "stop",
        "hibernate": False,
        "accounts": [ACCOUNT],
        "regions": [REGION],
        "targets": {"tag:Environment": ["dev"]},
        "max_instances": 100,
        "role_name": "ouroboros-target",
        "schedule_arn": ARN,
        "scheduled_time": WHEN,
        "execution_id": "e-1",
    }
    event.update(over)
    return event


def _schedule() -> dict[str, Any]:
    return {
        "Arn": ARN,
        "State": "ENABLED",
        "ScheduleExpression": "cron(0 19 ? * FRI *)",
        "ScheduleExpressionTimezone": "UTC",
        "Target": {"Arn": FUNCTION, "Input": json.dumps(_event(**trust.PLACEHOLDERS))},
    }


def _error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} here"}}, operation)


@dataclass
class Context:
    invoked_function_arn: str | None = FUNCTION
    aws_request_id: str = "req-1"
    function_name: str = ""
    remaining_ms: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class FakeAWS:
    """The scheduler, the log table and EC2 of one account, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.schedule: dict[str, Any] | Exception = _schedule()
        self.put_error: Exception | None = None
        self.stop_error: Exception | None = None
        self.instances = [{"InstanceId": "i-1", "State": {"Name": "running"}}]

    def get_schedule(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("get_schedule", params))
        if isinstance(self.schedule, Exception):
            raise self.schedule
        return self.schedule

    def put_item(self, **params: Any) -> None:
        self.calls.append(("put_item", params))
        if self.put_error:
            raise self.put_error

    def get_paginator(self, name: str) -> FakeAWS:
        return self

    def paginate(self, **params: Any) -> list[dict[str, Any]]:
        self.calls.append(("describe_instances", params))
        return [{"Reservations": [{"Instances": self.instances}]}]

    def stop_instances(self, **params: Any) -> dict[str, Any]:
        self.calls.append(("stop_instances", params))
        if self.stop_error:
            raise self.stop_error
        return {"StoppingInstances": [{"InstanceId": i} for i in params["InstanceIds"]]}

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]


@dataclass
class FakeClients:
    aws: FakeAWS
    account: str | Exception = ACCOUNT
    partition: str = "aws"
    asked: list[tuple[str, str]] = field(default_factory=list)

    def client(self, service: str, region: str, account: str | None = None) -> FakeAWS:
        self.asked.append((service, region))
        assert service in ("scheduler", "dynamodb", "ec2")
        assert region == REGION
        return self.aws

    def own_account(self) -> str:
        if isinstance(self.account, Exception):
            raise self.account
        return self.account


class FakeClaims:
    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.finished: list[dict[str, Any]] = []

    def claim(self, occ: Occurrence, account: str, region: str) -> Claim:
        return Claim(NEW, 1, WHEN)

    def finish(self, occ: Occurrence, account: str, region: str, claim: Claim, record: Any) -> None:
        if self.broken:
            raise LogTableError("PutItem failed: the table is gone")
        self.finished.append(record)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> FakeAWS:
    """The function's environment set, and handle() given fake clients and claims."""
    for name in (runlog.ALLOWED_ACCOUNTS_ENV, runlog.RETENTION_ENV, "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fake = FakeAWS()
    _use(monkeypatch, FakeClients(fake), FakeClaims())
    return fake


def _env(clients: FakeClients, claims: FakeClaims | None = None) -> run.Environment:
    return run.Environment(
        clients=clients,  # type: ignore[arg-type]
        claims=claims or FakeClaims(),  # type: ignore[arg-type]
        tuning=ec2.Tuning(sleep=lambda _: None, now=lambda: NOW),
    )


def _handle(event: Any, context: Any = None) -> dict[str, Any]:
    return handler.handle(event, Context() if context is None else context, ec2.Tuning())


ENVIRONMENTS: list[tuple[Any, ...]] = []


def _use(monkeypatch: pytest.MonkeyPatch, clients: FakeClients, claims: FakeClaims) -> None:
    """handle() builds its run.Environment with these fakes; the arguments are kept."""

    def environment(
        occ: Occurrence, context: Any, config: handler.Configuration, tuning: ec2.Tuning
    ) -> run.Environment:
        ENVIRONMENTS.append((occ, context, config, tuning))
        return _env(clients, claims)

    ENVIRONMENTS.clear()
    monkeypatch.setattr(handler, "environment", environment)


# --- the trusted path ------------------------------------------------------------------------------


def test_a_trusted_event_acts_and_returns_the_summary(
    aws: FakeAWS, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ouroboros.executor"):
        summary = _handle(_event())
    assert summary == {
        "rule": "dev-office-hours",
        "action": "stop",
        "scheduled_time": WHEN,
        "execution_id": "e-1",
        "status": "ok",
        "duration_ms": summary["duration_ms"],
        "pairs": [
            {
                "account": ACCOUNT,
                "region": REGION,
                "status": "ok",
                "matched": 1,
                "acted": 1,
                "skipped": 0,
                "errors": 0,
                "duration_ms": summary["pairs"][0]["duration_ms"],
            }
        ],
    }
    assert aws.calls[0] == (
        "get_schedule",
        {"Name": "dev-office-hours-stop", "GroupName": "ouroboros"},
    )
    assert aws.operations()[1:] == ["describe_instances", "stop_instances"]
    assert json.loads(caplog.records[-1].getMessage()) == summary


def test_the_request_id_stands_in_for_a_missing_execution_id(aws: FakeAWS) -> None:
    event = _event()
    del event["execution_id"]
    assert _handle(event, Context(aws_request_id="req-9"))["execution_id"] == "req-9"


def test_duration_is_measured_in_milliseconds(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = iter([5.0, 5.5, 6.0, 7.25])  # execute, the pair's start and end, execute's end
    monkeypatch.setattr(handler.time, "monotonic", lambda: next(ticks))
    assert _handle(_event())["duration_ms"] == 2250


def test_a_transient_failure_raises_for_lambda_to_retry(aws: FakeAWS) -> None:
    aws.stop_error = _error("IncorrectInstanceState", "StopInstances")
    with pytest.raises(run.Retryable) as raised:
        _handle(_event())
    assert str(raised.value) == (
        f"transient failures, Lambda may retry: {ACCOUNT}/{REGION} (1 error(s), first: "
        "IncorrectInstanceState: IncorrectInstanceState here)"
    )


def test_a_permanent_failure_returns_the_summary(aws: FakeAWS) -> None:
    aws.stop_error = _error("UnauthorizedOperation", "StopInstances")
    assert _handle(_event())["status"] == "failed"


def test_a_log_table_failure_is_logged_and_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, aws: FakeAWS
) -> None:
    _use(monkeypatch, FakeClients(aws), FakeClaims(broken=True))
    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"), pytest.raises(LogTableError):
        _handle(_event())
    assert json.loads(caplog.records[-1].getMessage()) == {
        "rule": "dev-office-hours",
        "status": "failed",
        "log_table_error": "PutItem failed: the table is gone",
    }


def test_the_handler_runs_with_the_default_tuning(aws: FakeAWS) -> None:
    assert handler.handler(_event(), Context())["status"] == "ok"


# --- refused before any AWS call -------------------------------------------------------------------


def test_a_malformed_event_is_refused_and_logged(
    aws: FakeAWS, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"):
        summary = _handle(_event(action="reboot"))
    assert summary["status"] == "refused"
    assert summary["rule"] == "dev-office-hours"
    assert len(summary["problems"]) == 1
    assert summary["problems"][0].startswith("action:")
    assert json.loads(caplog.records[-1].getMessage()) == {
        "message": "event refused: no AWS call made",
        **summary,
    }
    assert aws.calls == []


@pytest.mark.parametrize("event", [_event(rule=7), ["not", "an", "object"]])
def test_a_refused_event_without_a_string_rule_has_no_rule(aws: FakeAWS, event: Any) -> None:
    summary = _handle(event)
    assert summary["status"] == "refused"
    assert summary["rule"] is None


def test_a_configuration_error_fails_without_acting(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(runlog.TABLE_ENV)
    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"):
        summary = _handle(_event())
    assert summary == {
        "status": "failed",
        "rule": "dev-office-hours",
        "problems": ["OUROBOROS_LOG_TABLE is not set: the function needs its log table name"],
    }
    assert json.loads(caplog.records[-1].getMessage()) == summary
    assert aws.calls == []


# --- refused at the trust boundary ----------------------------------------------------------------


def _refusal_row(aws: FakeAWS) -> dict[str, Any]:
    (params,) = [p for name, p in aws.calls if name == "put_item"]
    assert params["TableName"] == "runs"
    return runlog.from_item(params["Item"])


def test_an_event_of_another_role_is_refused_logged_and_recorded(
    aws: FakeAWS, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runlog.RETENTION_ENV, "7")
    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"):
        summary = _handle(_event(role_name="admin"))
    problem = (
        "role_name: 'admin' is not this executor's target role ('ouroboros-target', "
        "from OUROBOROS_TARGET_ROLE)"
    )
    assert summary == {"status": "refused", "rule": "dev-office-hours", "problems": [problem]}
    assert json.loads(caplog.records[-1].getMessage()) == {
        "message": "event refused: not sent by our schedule",
        **summary,
    }
    assert "get_schedule" not in aws.operations()
    assert "stop_instances" not in aws.operations()
    row = _refusal_row(aws)
    started = runlog.parse_instant(row["started_at"])
    delivery = row["sk"].rsplit("#", 2)
    assert row == {
        **runlog.refusal_key("dev-office-hours", WHEN, "stop", f"{delivery[1]}#{delivery[2]}"),
        "kind": "run",
        "rule": "dev-office-hours",
        "action": "stop",
        "account": "-",
        "region": "-",
        "scheduled_time": WHEN,
        "schedule_arn": ARN,
        "execution_id": "e-1",
        "status": "refused",
        "detail": f"event refused: {problem}",
        "matched": 0,
        "acted": [],
        "skipped": [],
        "errors": [],
        "error_count": 0,
        "started_at": row["started_at"],
        runlog.TTL_ATTRIBUTE: runlog.expires_at(started, 7),
    }
    assert delivery[1] == row["started_at"]
    assert len(delivery[2]) == 8


def test_every_problem_is_in_the_refusal_detail(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runlog.ALLOWED_ACCOUNTS_ENV, "222222222222")
    summary = _handle(_event(role_name="admin"))
    assert len(summary["problems"]) == 2
    assert _refusal_row(aws)["detail"] == "event refused: " + "; ".join(summary["problems"])


def test_a_long_refusal_detail_is_cut_at_2000(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trust, "check_event", lambda *_: ["p" * 3000])
    _handle(_event())
    assert _refusal_row(aws)["detail"] == ("event refused: " + "p" * 3000)[:2000]


def test_a_refusal_that_cannot_be_recorded_is_still_refused(
    aws: FakeAWS, caplog: pytest.LogCaptureFixture
) -> None:
    aws.put_error = _error("AccessDeniedException", "PutItem")
    with caplog.at_level(logging.WARNING, logger="ouroboros.executor"):
        summary = _handle(_event(role_name="admin"))
    assert summary["status"] == "refused"
    assert caplog.records[-1].getMessage() == (
        "could not record the refusal in the run log: An error occurred "
        "(AccessDeniedException) when calling the PutItem operation: AccessDeniedException here"
    )
    aws.put_error = EndpointConnectionError(endpoint_url="https://dynamodb")
    assert _handle(_event(role_name="admin"))["status"] == "refused"


def test_allowed_accounts_come_from_the_environment(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(runlog.ALLOWED_ACCOUNTS_ENV, f" 222222222222 , {ACCOUNT} ")
    assert _handle(_event())["status"] == "ok"
    monkeypatch.setenv(runlog.ALLOWED_ACCOUNTS_ENV, "222222222222")
    assert _handle(_event())["problems"] == [
        f"accounts: {ACCOUNT} not in allowed_accounts (OUROBOROS_ALLOWED_ACCOUNTS)"
    ]


def test_an_event_no_schedule_sent_is_refused(aws: FakeAWS) -> None:
    aws.schedule = _error("ResourceNotFoundException", "GetSchedule")
    assert _handle(_event())["problems"] == [
        f"schedule_arn: no schedule {ARN} exists: no deployed schedule sent it"
    ]
    assert "stop_instances" not in aws.operations()


def test_a_schedule_that_sends_something_else_is_refused(aws: FakeAWS) -> None:
    summary = _handle(_event(max_instances=5))
    assert summary["status"] == "refused"
    assert "max_instances" in summary["problems"][0]
    assert "stop_instances" not in aws.operations()


def test_an_unreadable_schedule_raises_for_a_retry_and_is_logged(
    aws: FakeAWS, caplog: pytest.LogCaptureFixture
) -> None:
    aws.schedule = _error("ThrottlingException", "GetSchedule")
    unreadable = pytest.raises(run.Retryable, match="GetSchedule ouroboros/dev-office-hours-stop")
    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"), unreadable:
        _handle(_event())
    logged = json.loads(caplog.records[-1].getMessage())
    assert logged["rule"] == "dev-office-hours"
    assert logged["status"] == "failed"
    assert logged["error"].startswith("GetSchedule ouroboros/dev-office-hours-stop failed: ")
    assert "put_item" not in aws.operations()


# --- the function's own ARN ------------------------------------------------------------------------


def test_a_qualified_function_arn_is_trusted_as_the_function(aws: FakeAWS) -> None:
    assert _handle(_event(), Context(invoked_function_arn=FUNCTION + ":live"))["status"] == "ok"


def test_without_an_arn_the_function_name_and_own_account_make_it(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = Context(invoked_function_arn=None, function_name="ouroboros-executor")
    assert _handle(_event(), context)["status"] == "ok"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ouroboros-executor")
    assert (
        _handle(_event(), Context(invoked_function_arn="", function_name="other"))["status"] == "ok"
    )


def test_the_function_name_from_the_environment_comes_first(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "other")
    context = Context(invoked_function_arn=None, function_name="ouroboros-executor")
    summary = _handle(_event(), context)
    assert summary["status"] == "refused"
    assert "other" in summary["problems"][0]


def test_the_built_arn_uses_the_partition_region_and_account() -> None:
    clients = FakeClients(FakeAWS(), partition="aws-cn")
    context = Context(invoked_function_arn=None, function_name="f")
    arn = handler._own_function_arn(context, clients, "cn-north-1")  # type: ignore[arg-type]
    assert arn == f"arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:f"


@pytest.mark.parametrize(
    "account",
    [_error("AccessDenied", "GetCallerIdentity"), EndpointConnectionError(endpoint_url="x")],
)
def test_no_arn_and_no_own_account_is_refused(
    aws: FakeAWS, monkeypatch: pytest.MonkeyPatch, account: Exception
) -> None:
    _use(monkeypatch, FakeClients(aws, account=account), FakeClaims())
    context = Context(invoked_function_arn=None, function_name="ouroboros-executor")
    assert _handle(_event(), context)["problems"] == [
        "cannot tell this function's own ARN (no context.invoked_function_arn)"
    ]


def test_no_arn_and_no_function_name_is_refused(aws: FakeAWS) -> None:
    summary = _handle(_event(), Context(invoked_function_arn=None))
    assert summary["problems"] == [
        "cannot tell this function's own ARN (no context.invoked_function_arn)"
    ]
    assert "get_schedule" not in aws.operations()
    assert _refusal_row(aws)["status"] == "refused"


# --- configuration -------------------------------------------------------------------------------


def _config(**over: str | None) -> handler.Configuration:
    environ = {**ENV, **over}
    return handler._configuration({k: v for k, v in environ.items() if v is not None})


def test_the_configuration_from_the_environment() -> None:
    assert _config() == handler.Configuration(
        "runs", 90, REGION, "ouroboros", "ouroboros-target", None
    )
    config = _config(
        **{
            runlog.TABLE_ENV: " runs2 ",
            runlog.RETENTION_ENV: " 7 ",
            runlog.GROUP_ENV: " g ",
            runlog.TARGET_ROLE_ENV: " r ",
            runlog.ALLOWED_ACCOUNTS_ENV: " 1, 2 ,3",
        }
    )
    assert config == handler.Configuration("runs2", 7, REGION, "g", "r", frozenset({"1", "2", "3"}))


def test_the_region_falls_back_to_aws_default_region() -> None:
    assert _config(AWS_REGION=None, AWS_DEFAULT_REGION="us-east-1").region == "us-east-1"
    assert _config(AWS_DEFAULT_REGION="us-east-1").region == REGION


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {runlog.TABLE_ENV: None},
            "OUROBOROS_LOG_TABLE is not set: the function needs its log table name",
        ),
        (
            {runlog.TABLE_ENV: "  "},
            "OUROBOROS_LOG_TABLE is not set: the function needs its log table name",
        ),
        (
            {runlog.RETENTION_ENV: "0"},
            "OUROBOROS_LOG_RETENTION_DAYS='0': give a whole number of days >= 1",
        ),
        (
            {runlog.RETENTION_ENV: "-3"},
            "OUROBOROS_LOG_RETENTION_DAYS='-3': give a whole number of days >= 1",
        ),
        (
            {runlog.RETENTION_ENV: "1.5"},
            "OUROBOROS_LOG_RETENTION_DAYS='1.5': give a whole number of days >= 1",
        ),
        ({"AWS_REGION": None}, "AWS_REGION is not set"),
        ({"AWS_REGION": ""}, "AWS_REGION is not set"),
        (
            {runlog.GROUP_ENV: None},
            "OUROBOROS_SCHEDULE_GROUP is not set: `reconcile apply` sets it from the settings; "
            "apply again",
        ),
        (
            {runlog.TARGET_ROLE_ENV: " "},
            "OUROBOROS_TARGET_ROLE is not set: `reconcile apply` sets it from the settings; "
            "apply again",
        ),
    ],
)
def test_configuration_errors(over: dict[str, str | None], message: str) -> None:
    with pytest.raises(handler.ConfigurationError) as raised:
        _config(**over)
    assert str(raised.value) == message


def test_one_day_of_retention_is_enough() -> None:
    assert _config(**{runlog.RETENTION_ENV: "1"}).retention_days == 1


# --- deadline and lease ----------------------------------------------------------------------------


class _Fixed(datetime):
    @classmethod
    def now(cls, tz: Any = None) -> _Fixed:
        return cls(2026, 11, 27, 19, 0, 1, tzinfo=UTC)


def _environment(monkeypatch: pytest.MonkeyPatch, context: Any, **tuning: Any) -> run.Environment:
    monkeypatch.setattr(handler, "datetime", _Fixed)
    config = handler.Configuration("runs", 7, REGION, "ouroboros", "ouroboros-target")
    occ = handler.parse_event(_event())
    return handler.environment(occ, context, config, ec2.Tuning(clock=lambda: 1000.0, **tuning))


def test_the_lease_and_the_deadline_follow_the_lambda_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _environment(monkeypatch, Context(remaining_ms=300_500))
    assert env.tuning.deadline == 1300.5
    assert env.tuning.reserve_s == 10.0
    now = _Fixed.now().timestamp()
    # private attributes: the lease and table are not readable otherwise without a table
    assert env.claims._lease_until == int(now + 300.5) + 5
    assert (env.claims._table, env.claims._retention_days) == ("runs", 7)


def test_a_short_timeout_keeps_a_fifth_of_it_in_reserve(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _environment(monkeypatch, Context(remaining_ms=20_000))
    assert env.tuning.reserve_s == 4.0
    assert env.tuning.deadline == 1020.0
    assert _environment(monkeypatch, Context(remaining_ms=50_000)).tuning.reserve_s == 10.0


def test_a_tuning_with_less_reserve_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    env = _environment(monkeypatch, Context(remaining_ms=300_000), reserve_s=2.0)
    assert env.tuning.reserve_s == 2.0


def test_without_a_context_the_longest_lambda_run_is_assumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _environment(monkeypatch, None)
    assert env.tuning.deadline == 1900.0
    assert env.claims._lease_until == int(_Fixed.now().timestamp()) + 905


def test_the_clients_act_for_this_rule_from_the_home_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _environment(monkeypatch, Context())
    clients = env.clients
    assert clients._home_region == REGION
    assert clients._role_name == "ouroboros-target"
    assert clients._session_name == "ouroboros-dev-office-hours-stop"
    assert clients.own_account() == ACCOUNT
    assert (
        _environment(monkeypatch, Context(invoked_function_arn=None)).clients._own_account is None
    )


def test_the_environment_is_built_from_the_event_context_configuration_and_tuning(
    aws: FakeAWS,
) -> None:
    context, tuning = Context(), ec2.Tuning(page_size=3)
    handler.handle(_event(), context, tuning)
    ((occ, given, config, given_tuning),) = ENVIRONMENTS
    assert occ == handler.parse_event(_event())
    assert given is context
    assert config == handler.Configuration("runs", 90, REGION, "ouroboros", "ouroboros-target")
    assert given_tuning is tuning
    ENVIRONMENTS.clear()
    handler.handler(_event(), context)
    assert ENVIRONMENTS[0][3] is handler.TUNING


class BareContext:
    """A context with none of the attributes the executor reads (not Lambda's)."""


def test_a_context_without_attributes_is_read_as_empty(aws: FakeAWS) -> None:
    event = _event()
    del event["execution_id"]
    summary = _handle(event, BareContext())
    assert summary["problems"] == ["execution_id: missing, and the invocation has no request id"]
    assert _handle(_event(), BareContext())["problems"] == [
        "cannot tell this function's own ARN (no context.invoked_function_arn)"
    ]


def test_an_empty_request_id_is_no_execution_id(aws: FakeAWS) -> None:
    event = _event()
    del event["execution_id"]
    assert _handle(event, Context(aws_request_id=""))["problems"] == [
        "execution_id: missing, and the invocation has no request id"
    ]


def test_every_retryable_pair_is_named(monkeypatch: pytest.MonkeyPatch, aws: FakeAWS) -> None:
    aws.stop_error = _error("Throttling", "StopInstances")
    two = _event(regions=[REGION, "eu-west-2"])
    monkeypatch.setattr(trust, "check_schedule", lambda *_: [])
    monkeypatch.setattr(FakeClients, "client", lambda self, service, region, account=None: aws)
    with pytest.raises(run.Retryable) as raised:
        _handle(two)
    detail = "1 error(s), first: Throttling: Throttling here"
    assert str(raised.value) == (
        f"transient failures, Lambda may retry: {ACCOUNT}/{REGION} ({detail}), "
        f"{ACCOUNT}/eu-west-2 ({detail})"
    )


def test_the_log_table_client_is_in_the_home_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # not where the table is
    client = _environment(monkeypatch, Context()).claims._client
    assert client.meta.service_model.service_name == "dynamodb"
    assert client.meta.region_name == REGION
