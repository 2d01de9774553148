"""The executor's modules at their edges: what the mutation run (issue 16) found unpinned.

Pure functions and fake clients only (no moto), so `make mutation` can run them per mutant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from reconciler.executor import ec2, trust
from reconciler.executor.event import EventRefused, Occurrence, parse_event
from reconciler.executor.selection import Instance
from reconciler.executor.trust import Boundary

ACCOUNT = "111111111111"
FUNCTION = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:ouroboros-executor"
ARN = f"arn:aws:scheduler:eu-west-1:{ACCOUNT}:schedule/ouroboros/dev-office-hours-stop"
WHEN = "2026-11-27T19:00:00Z"
NOW = datetime(2026, 11, 27, 19, 0, 30, tzinfo=UTC)
BOUNDARY = Boundary(FUNCTION, "ouroboros", "ouroboros-target")


def _event(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": 1,
        "rule": "dev-office-hours",
        "action": "stop",
        "hibernate": False,
        "accounts": [ACCOUNT],
        "regions": ["eu-west-1"],
        "targets": {"tag:Environment": ["dev"]},
        "max_instances": 100,
        "role_name": "ouroboros-target",
        "schedule_arn": ARN,
        "scheduled_time": WHEN,
        "execution_id": "e-1",
    }
    event.update(over)
    return event


def _occ(**over: Any) -> Occurrence:
    return parse_event(_event(**over))


def _schedule(**over: Any) -> dict[str, Any]:
    template = _event(**trust.PLACEHOLDERS)
    schedule: dict[str, Any] = {
        "Arn": ARN,
        "State": "ENABLED",
        "ScheduleExpression": "cron(0 19 ? * FRI *)",
        "ScheduleExpressionTimezone": "UTC",
        "Target": {"Arn": FUNCTION, "Input": json.dumps(template)},
    }
    schedule.update(over)
    return schedule


# --- trust: the event against the executor's environment and the clock ---------------------------


def test_a_trusted_event_has_no_problems() -> None:
    assert trust.check_event(_occ(), BOUNDARY, NOW) == []


def test_the_schedule_prefix_is_the_functions_partition_region_account_and_group() -> None:
    boundary = Boundary("arn:aws-cn:lambda:cn-north-1:222222222222:function:f", "g", "r")
    assert boundary.schedule_prefix == "arn:aws-cn:scheduler:cn-north-1:222222222222:schedule/g/"


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (FUNCTION, FUNCTION),
        (FUNCTION + ":live", FUNCTION),
        (FUNCTION + ":7", FUNCTION),
        (f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:", None),
        (f"arn:aws:lambda:eu-west-1:{ACCOUNT}:layer:x", None),
        (f"arn:aws:sqs:eu-west-1:{ACCOUNT}:function:x", None),
        (f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function", None),
    ],
)
def test_unqualified(arn: str, expected: str | None) -> None:
    assert trust.unqualified(arn) == expected


def test_another_role_is_refused() -> None:
    assert trust.check_event(_occ(role_name="admin"), BOUNDARY, NOW) == [
        "role_name: 'admin' is not this executor's target role ('ouroboros-target', from "
        "OUROBOROS_TARGET_ROLE)"
    ]


def test_accounts_outside_allowed_accounts_are_named() -> None:
    boundary = Boundary(FUNCTION, "ouroboros", "ouroboros-target", frozenset({ACCOUNT}))
    occ = _occ(accounts=["333333333333", ACCOUNT, "222222222222"])
    assert trust.check_event(occ, boundary, NOW) == [
        "accounts: 333333333333, 222222222222 not in allowed_accounts (OUROBOROS_ALLOWED_ACCOUNTS)"
    ]
    assert trust.check_event(_occ(), boundary, NOW) == []


def test_a_schedule_of_another_group_is_refused() -> None:
    other = ARN.replace("/ouroboros/", "/other/")
    assert trust.check_event(_occ(schedule_arn=other), BOUNDARY, NOW) == [
        f"schedule_arn: {other} is not a schedule of group ouroboros in this function's "
        f"account and region (arn:aws:scheduler:eu-west-1:{ACCOUNT}:schedule/ouroboros/...)"
    ]


def test_a_time_up_to_the_clock_skew_ahead_is_accepted_and_beyond_refused() -> None:
    when = datetime(2026, 11, 27, 19, tzinfo=UTC)
    assert trust.check_event(_occ(), BOUNDARY, when - trust.CLOCK_SKEW) == []
    early = when - trust.CLOCK_SKEW - timedelta(seconds=1)
    assert trust.check_event(_occ(), BOUNDARY, early) == [
        f"scheduled_time: {WHEN} is in the future (now 2026-11-27T18:54:59Z): an occurrence "
        "is acted on when it fires, never before"
    ]


def test_a_time_up_to_the_retry_window_old_is_accepted_and_older_refused() -> None:
    when = datetime(2026, 11, 27, 19, tzinfo=UTC)
    assert trust.check_event(_occ(), BOUNDARY, when + trust.MAX_EVENT_AGE) == []
    late = when + trust.MAX_EVENT_AGE + timedelta(seconds=1)
    assert trust.check_event(_occ(), BOUNDARY, late) == [
        f"scheduled_time: {WHEN} is older than the schedules' retry window "
        "(now 2026-11-27T20:15:01Z): too late to act on"
    ]


def test_every_untrusted_part_is_reported() -> None:
    boundary = Boundary(FUNCTION, "ouroboros", "ouroboros-target", frozenset())
    occ = _occ(role_name="x", schedule_arn=ARN.replace(ACCOUNT, "999999999999"))
    problems = trust.check_event(occ, boundary, NOW + timedelta(days=1))
    assert [p.split(":")[0] for p in problems] == [
        "role_name",
        "accounts",
        "scheduled_time",
        "schedule_arn",
    ]


# --- trust: the deployed schedule ----------------------------------------------------------------


def test_the_schedule_that_sent_the_event_passes() -> None:
    assert trust.check_schedule(_event(), _occ(), _schedule(), BOUNDARY) == []


def test_no_schedule_is_refused() -> None:
    assert trust.check_schedule(_event(), _occ(), None, BOUNDARY) == [
        f"schedule_arn: no schedule {ARN} exists: no deployed schedule sent it"
    ]


def test_a_schedule_of_another_arn_is_refused() -> None:
    other = ARN + "x"
    assert trust.check_schedule(_event(), _occ(), _schedule(Arn=other), BOUNDARY) == [
        f"schedule_arn: the schedule's ARN is {other}"
    ]


def test_a_disabled_schedule_is_refused() -> None:
    assert trust.check_schedule(_event(), _occ(), _schedule(State="DISABLED"), BOUNDARY) == [
        "the schedule is DISABLED: it sends no events"
    ]


def test_a_schedule_without_arn_or_state_is_taken_as_the_events_and_enabled() -> None:
    schedule = _schedule()
    del schedule["Arn"], schedule["State"]
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == []


def test_a_schedule_targeting_another_function_is_refused() -> None:
    schedule = _schedule()
    schedule["Target"]["Arn"] = FUNCTION + "-2"
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        f"the schedule targets {FUNCTION}-2, not this function ({FUNCTION})"
    ]


def test_an_event_that_differs_from_the_input_names_the_keys() -> None:
    event = _event(max_instances=5, hibernate=True)
    event["extra"] = 1
    assert trust.check_schedule(event, _occ(), _schedule(), BOUNDARY) == [
        "the event differs from the schedule's input in: extra, hibernate, max_instances"
    ]


@pytest.mark.parametrize("text", ["[1]", "not json", None, 5])
def test_an_input_that_is_not_a_json_object_is_refused(text: object) -> None:
    schedule = _schedule()
    schedule["Target"]["Input"] = text
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        "the event differs from the schedule's input in: the whole input (the schedule's is "
        "not a JSON object)"
    ]


def test_an_expression_that_does_not_fire_at_the_time_is_refused() -> None:
    schedule = _schedule(ScheduleExpression="cron(0 18 ? * FRI *)")
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        f"scheduled_time: cron(0 18 ? * FRI *) (UTC) does not fire at {WHEN}"
    ]


def test_the_expression_is_evaluated_in_the_schedules_time_zone() -> None:
    schedule = _schedule(
        ScheduleExpression="cron(0 20 ? * FRI *)", ScheduleExpressionTimezone="Europe/Berlin"
    )
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == []
    del schedule["ScheduleExpressionTimezone"]
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        f"scheduled_time: cron(0 20 ? * FRI *) (UTC) does not fire at {WHEN}"
    ]


def test_an_expression_that_cannot_be_evaluated_is_refused() -> None:
    schedule = _schedule(ScheduleExpressionTimezone="Mars/Base")
    [problem] = trust.check_schedule(_event(), _occ(), schedule, BOUNDARY)
    assert problem.startswith(
        "the schedule's expression cron(0 19 ? * FRI *) (Mars/Base) cannot be evaluated here: "
    )


def test_a_rate_fires_at_any_time_since_it_began_with_the_clock_skew() -> None:
    began = datetime(2026, 11, 27, 19, 5, tzinfo=UTC)
    schedule = _schedule(ScheduleExpression="rate(7 minutes)", StartDate=began)
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == []
    later = _schedule(
        ScheduleExpression="rate(7 minutes)", CreationDate=began + timedelta(seconds=1)
    )
    assert trust.check_schedule(_event(), _occ(), later, BOUNDARY) == [
        f"scheduled_time: {WHEN} is before the schedule began (2026-11-27T19:05:01Z)"
    ]
    assert (
        trust.check_schedule(
            _event(), _occ(), _schedule(ScheduleExpression="rate(7 minutes)"), BOUNDARY
        )
        == []
    )


class _Scheduler:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls: list[dict[str, str]] = []

    def get_schedule(self, **kwargs: str) -> Any:
        self.calls.append(kwargs)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetSchedule")


def test_read_schedule_asks_for_the_events_schedule_in_the_group() -> None:
    scheduler = _Scheduler({"Arn": ARN})
    assert trust.read_schedule(scheduler, _occ(), "ouroboros") == {"Arn": ARN}
    assert scheduler.calls == [{"Name": "dev-office-hours-stop", "GroupName": "ouroboros"}]


def test_read_schedule_of_no_such_schedule_is_none() -> None:
    scheduler = _Scheduler(_client_error("ResourceNotFoundException"))
    assert trust.read_schedule(scheduler, _occ(), "ouroboros") is None


@pytest.mark.parametrize(
    "error", [_client_error("AccessDeniedException"), EndpointConnectionError(endpoint_url="x")]
)
def test_read_schedule_that_fails_otherwise_is_unreadable(error: Exception) -> None:
    with pytest.raises(trust.ScheduleUnreadable) as caught:
        trust.read_schedule(_Scheduler(error), _occ(), "ouroboros")
    assert str(caught.value).startswith("GetSchedule ouroboros/dev-office-hours-stop failed: ")


# --- event: what check_event leaves open ---------------------------------------------------------


def _refused(event: dict[str, Any], default_execution_id: str = "") -> list[str]:
    with pytest.raises(EventRefused) as caught:
        parse_event(event, default_execution_id)
    return caught.value.problems


@pytest.mark.parametrize("key", ["schedule_arn", "scheduled_time", "execution_id"])
def test_an_unsubstituted_placeholder_is_refused(key: str) -> None:
    assert _refused(_event(**{key: trust.PLACEHOLDERS[key]})) == [
        f"{key}: {trust.PLACEHOLDERS[key]!r} is an unsubstituted placeholder; only EventBridge "
        "Scheduler fills it in (invoking by hand? give real values)"
    ]


def test_every_placeholder_is_reported() -> None:
    assert len(_refused(_event(**trust.PLACEHOLDERS))) == 3


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:scheduler:eu-west-1:11111111111:schedule/g/n",
        "arn:aws:scheduler:eu-west-1:111111111111:schedule/g",
        "arn:aws:scheduler:eu-west-1:111111111111:schedule/g/n/x",
        "arn:aws:events:eu-west-1:111111111111:schedule/g/n",
        "xarn:aws:scheduler:eu-west-1:111111111111:schedule/g/n",
    ],
)
def test_a_schedule_arn_of_another_shape_is_refused(arn: str) -> None:
    assert _refused(_event(schedule_arn=arn)) == [
        f"schedule_arn: {arn!r} is not a schedule ARN such as "
        "arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop"
    ]


@pytest.mark.parametrize(
    "arn", ["arn:aws-us-gov:scheduler:us-gov-west-1:111111111111:schedule/g/n"]
)
def test_a_schedule_arn_of_another_partition_is_accepted(arn: str) -> None:
    assert parse_event(_event(schedule_arn=arn)).schedule_arn == arn


def test_a_scheduled_time_that_is_not_iso_8601_is_refused() -> None:
    assert _refused(_event(scheduled_time="yesterday", schedule_arn="bad")) == [
        "schedule_arn: 'bad' is not a schedule ARN such as "
        "arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop",
        "scheduled_time: 'yesterday' is not an ISO 8601 time such as 2026-11-27T19:00:00Z",
    ]


def test_the_request_id_stands_in_only_for_a_missing_execution_id() -> None:
    event = _event()
    del event["execution_id"]
    assert parse_event(event, "req-1").execution_id == "req-1"
    assert parse_event(_event(), "req-1").execution_id == "e-1"
    assert _refused(event) == ["execution_id: missing, and the invocation has no request id"]


def test_the_bounds_are_checked_after_the_fields() -> None:
    accounts = [f"{i:012d}" for i in range(1001)]
    [problem] = _refused(_event(accounts=accounts))
    assert problem.startswith("accounts: 1001 accounts x 1 regions is 1001 (account, region) pairs")


def test_the_occurrence_carries_every_field() -> None:
    occ = _occ(targets={"tag:Env": "dev", "vpc-id": ["vpc-4085e027"]}, hibernate=True)
    assert occ == Occurrence(
        rule="dev-office-hours",
        action="stop",
        hibernate=True,
        accounts=(ACCOUNT,),
        regions=("eu-west-1",),
        targets=(("tag:Env", ("dev",)), ("vpc-id", ("vpc-4085e027",))),
        max_instances=100,
        role_name="ouroboros-target",
        schedule_arn=ARN,
        scheduled_time=WHEN,
        execution_id="e-1",
    )
    assert str(EventRefused(["a", "b"])) == "a; b"


# --- selection: select passes the Spot requests on -----------------------------------------------


def test_select_uses_the_persistent_spot_requests_and_why_they_were_unread() -> None:
    from reconciler.executor.selection import select

    persistent = Instance("i-0000000a", "running", spot=True, spot_request_id="sir-1")
    one_time = Instance("i-0000000b", "running", spot=True, spot_request_id="sir-2")
    selection = select([persistent, one_time], "stop", frozenset({"sir-1"}), "Throttling")
    assert selection.act == (persistent,)
    assert [s.as_log() for s in selection.skipped] == [
        {
            "id": "i-0000000b",
            "reason": "spot-one-time",
            "detail": "Spot request sir-2 could not be read (Throttling): taken as one-time, "
            "not stopped",
        }
    ]


def test_a_rate_schedules_start_date_comes_before_its_creation_date() -> None:
    began = datetime(2026, 11, 27, 19, 5, 1, tzinfo=UTC)
    schedule = _schedule(
        ScheduleExpression="rate(7 minutes)",
        StartDate=began,
        CreationDate=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        f"scheduled_time: {WHEN} is before the schedule began (2026-11-27T19:05:01Z)"
    ]


def test_a_schedule_without_an_expression_is_refused() -> None:
    schedule = _schedule()
    del schedule["ScheduleExpression"]
    [problem] = trust.check_schedule(_event(), _occ(), schedule, BOUNDARY)
    assert problem.startswith("the schedule's expression  (UTC) cannot be evaluated here: ")


def test_an_input_key_set_to_null_differs_from_a_missing_one() -> None:
    schedule = _schedule()
    template = json.loads(schedule["Target"]["Input"]) | {"extra": None}
    schedule["Target"]["Input"] = json.dumps(template)
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        "the event differs from the schedule's input in: extra"
    ]
    event = _event() | {"extra": None}
    assert trust.check_schedule(event, _occ(), _schedule(), BOUNDARY) == [
        "the event differs from the schedule's input in: extra"
    ]


def test_a_one_off_at_schedule_fires_only_at_its_time() -> None:
    schedule = _schedule(ScheduleExpression="at(2026-11-27T19:00:00)")
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == []


def test_a_client_error_without_a_code_is_unreadable() -> None:
    error = ClientError({}, "GetSchedule")
    with pytest.raises(trust.ScheduleUnreadable):
        trust.read_schedule(_Scheduler(error), _occ(), "ouroboros")


# --- ec2: errors, isolation, describe -------------------------------------------------------------


def _ec2_error(code: str | None, message: str | None = None) -> ClientError:
    error: dict[str, str] = {}
    if code is not None:
        error["Code"] = code
    if message is not None:
        error["Message"] = message
    return ClientError({"Error": error} if error else {}, "StopInstances")


def test_error_code_and_message_of_a_client_error_without_them() -> None:
    bare = ClientError({}, "StopInstances")
    assert ec2.error_code(bare) == "Unknown"
    assert ec2.error_message(bare) == str(bare)
    assert ec2.error_code(_ec2_error(None, "m")) == "Unknown"
    assert ec2.error_message(_ec2_error("X")) == str(_ec2_error("X"))
    assert ec2.error_code(EndpointConnectionError(endpoint_url="u")) == "EndpointConnectionError"


def test_a_message_of_300_characters_is_kept_and_301_cut() -> None:
    assert ec2.error_message(_ec2_error("X", "m" * 300)) == "m" * 300
    assert ec2.error_message(_ec2_error("X", "m" * 301)) == "m" * 299 + "…"


class FakeEC2:
    """stop/start_instances answer from `answers` in turn (an exception is raised)."""

    def __init__(self, *answers: Any, pages: list[dict[str, Any]] | None = None) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.pages = pages or []

    def stop_instances(self, **kwargs: Any) -> Any:
        return self._answer(kwargs)

    def start_instances(self, **kwargs: Any) -> Any:
        return self._answer(kwargs)

    def _answer(self, kwargs: dict[str, Any]) -> Any:
        self.calls.append(kwargs)
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer

    def get_paginator(self, operation: str) -> Any:
        fake = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                fake.calls.append({"operation": operation, **kwargs})
                return iter(fake.pages)

        return Paginator()


def _instances(*ids: str) -> list[Instance]:
    return [Instance(i, "running") for i in ids]


def _tuning(time_left: float = 100.0, **over: Any) -> ec2.Tuning:
    values: dict[str, Any] = {"sleep": lambda s: None} | over
    return ec2.Tuning(deadline=time_left, reserve_s=0, clock=lambda: 0.0, **values)


@pytest.mark.parametrize(
    ("action", "key"), [("stop", "StoppingInstances"), ("start", "StartingInstances")]
)
def test_the_instances_acted_on_are_the_ones_ec2_reports(action: str, key: str) -> None:
    fake = FakeEC2({key: [{"InstanceId": "i-b"}, {"InstanceId": "i-a"}]})
    outcome = ec2.change_state(fake, action, _instances("i-a", "i-b", "i-c"), False, _tuning())
    assert outcome.acted == ["i-b", "i-a"]
    assert outcome.errors == []


def test_without_a_list_in_the_reply_the_batch_counts_as_acted_on() -> None:
    outcome = ec2.change_state(FakeEC2({}), "stop", _instances("i-a", "i-b"), False, _tuning())
    assert outcome.acted == ["i-a", "i-b"]


def test_errors_of_every_batch_are_kept() -> None:
    fake = FakeEC2(
        _ec2_error("IncorrectInstanceState", "x"), _ec2_error("IncorrectInstanceState", "y")
    )
    outcome = ec2.change_state(fake, "stop", _instances("i-a", "i-b"), False, _tuning(batch_size=1))
    assert outcome.errors == [
        {"id": "i-a", "code": "IncorrectInstanceState", "message": "x"},
        {"id": "i-b", "code": "IncorrectInstanceState", "message": "y"},
    ]


def test_network_errors_of_every_batch_are_kept() -> None:
    fake = FakeEC2(
        EndpointConnectionError(endpoint_url="u"), EndpointConnectionError(endpoint_url="u")
    )
    outcome = ec2.change_state(fake, "stop", _instances("i-a", "i-b"), False, _tuning(batch_size=1))
    assert [e["id"] for e in outcome.errors] == ["i-a", "i-b"]
    assert isinstance(EndpointConnectionError(endpoint_url="u"), BotoCoreError)


def test_a_batch_is_sent_with_any_time_left_and_none_without() -> None:
    sent = FakeEC2()
    ec2.change_state(sent, "stop", _instances("i-a"), False, _tuning(time_left=0.5))
    assert sent.calls == [{"InstanceIds": ["i-a"]}]
    unsent = FakeEC2()
    outcome = ec2.change_state(
        unsent, "stop", _instances("i-a", "i-b"), False, _tuning(0, batch_size=1)
    )
    assert unsent.calls == []
    assert outcome.errors == [ec2.not_attempted("i-a"), ec2.not_attempted("i-b")]


def test_backoff_that_would_end_exactly_at_the_reserve_is_not_slept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ec2.random, "uniform", lambda low, high: high)
    slept: list[float] = []
    tuning = _tuning(time_left=1.0, backoff_base_s=1.0, sleep=slept.append)
    fake = FakeEC2(_ec2_error("Throttling"), {})
    outcome = ec2.change_state(fake, "stop", _instances("i-a"), False, tuning)
    assert slept == []
    assert outcome.errors == [
        {"id": "i-a", "code": "Throttling", "message": str(_ec2_error("Throttling"))}
    ]


def test_describe_reads_pages_without_reservations_or_instances() -> None:
    pages = [{}, {"Reservations": [{}]}, {"Reservations": [{"Instances": [{"InstanceId": "i-a"}]}]}]
    fake = FakeEC2(pages=pages)
    filters = [{"Name": "tag:Env", "Values": ["dev"]}]
    instances, count = ec2.describe(fake, filters, 50)
    assert ([i.id for i in instances], count) == (["i-a"], 3)
    assert fake.calls == [
        {
            "operation": "describe_instances",
            "Filters": filters,
            "PaginationConfig": {"PageSize": 50},
        }
    ]


def test_describe_ids_adds_up_every_chunk() -> None:
    fake = FakeEC2(pages=[{"Reservations": [{"Instances": [{"InstanceId": "i-a"}]}]}])
    ids = [f"i-{n:08x}" for n in range(201)]
    instances, pages = ec2.describe_ids(fake, [("tag:Env", ["dev"])], ids, 7)
    assert ([i.id for i in instances], pages) == (["i-a", "i-a"], 2)
    assert [c["PaginationConfig"] for c in fake.calls] == [{"PageSize": 7}, {"PageSize": 7}]


def test_persistent_spot_requests_filters_by_request_id() -> None:
    fake = FakeEC2(
        pages=[
            {},
            {
                "SpotInstanceRequests": [
                    {"SpotInstanceRequestId": "sir-1", "Type": "persistent"},
                    {"SpotInstanceRequestId": "sir-2", "Type": "one-time"},
                ]
            },
        ]
    )
    assert ec2.persistent_spot_requests(fake, ["sir-2", "sir-1", "sir-1"]) == frozenset({"sir-1"})
    assert fake.calls == [
        {
            "operation": "describe_spot_instance_requests",
            "Filters": [{"Name": "spot-instance-request-id", "Values": ["sir-1", "sir-2"]}],
        }
    ]


def test_an_instance_without_a_state_is_unknown() -> None:
    assert Instance.from_api({"InstanceId": "i-a"}).state == "unknown"
    assert Instance.from_api({"InstanceId": "i-a", "State": {}}).state == "unknown"


def test_a_one_off_schedule_whose_time_has_passed_does_not_fire_again() -> None:
    schedule = _schedule(ScheduleExpression="at(2026-11-27T18:00:00)")
    assert trust.check_schedule(_event(), _occ(), schedule, BOUNDARY) == [
        f"scheduled_time: at(2026-11-27T18:00:00) (UTC) does not fire at {WHEN}"
    ]


def test_a_cron_of_one_year_is_evaluated_as_of_the_scheduled_time_not_the_clock() -> None:
    when = "2025-11-28T19:00:00Z"
    occ = _occ(scheduled_time=when)
    schedule = _schedule(ScheduleExpression="cron(0 19 ? * FRI 2025)")
    assert trust.check_schedule(_event(scheduled_time=when), occ, schedule, BOUNDARY) == []
