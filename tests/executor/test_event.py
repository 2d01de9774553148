"""The executor refuses, before any AWS call, every event it should not act on."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.executor.event import EventRefused, Occurrence, parse_event

ARN = "arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-office-hours-stop"


def _event(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": 1,
        "rule": "dev-office-hours",
        "action": "stop",
        "hibernate": False,
        "accounts": ["111111111111"],
        "regions": ["eu-west-1"],
        "targets": {"tag:Environment": ["dev"], "vpc-id": ["vpc-4085e027"]},
        "max_instances": 100,
        "role_name": "ouroboros-target",
        "schedule_arn": ARN,
        "scheduled_time": "2026-11-27T19:00:00Z",
        "execution_id": "3b4d5e6f-0000-4000-8000-000000000001",
    }
    event.update(over)
    return event


def test_a_deployed_event_parses() -> None:
    occ = parse_event(_event())
    assert occ == Occurrence(
        rule="dev-office-hours",
        action="stop",
        hibernate=False,
        accounts=("111111111111",),
        regions=("eu-west-1",),
        targets=(("tag:Environment", ("dev",)), ("vpc-id", ("vpc-4085e027",))),
        max_instances=100,
        role_name="ouroboros-target",
        schedule_arn=ARN,
        scheduled_time="2026-11-27T19:00:00Z",
        execution_id="3b4d5e6f-0000-4000-8000-000000000001",
    )


def test_pairs_are_every_account_in_every_region() -> None:
    occ = parse_event(
        _event(accounts=["111111111111", "222222222222"], regions=["eu-west-1", "us-east-1"])
    )
    assert occ.pairs == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
    ]


def test_a_single_string_filter_value_and_an_offset_time_are_normalised() -> None:
    occ = parse_event(
        _event(targets={"tag:Team": "web"}, scheduled_time="2026-11-27T20:00:00+01:00")
    )
    assert occ.targets == (("tag:Team", ("web",)),)
    assert occ.scheduled_time == "2026-11-27T19:00:00Z"


def test_a_missing_execution_id_falls_back_to_the_request_id() -> None:
    event = _event()
    del event["execution_id"]
    assert parse_event(event, default_execution_id="req-1").execution_id == "req-1"


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        pytest.param(
            _event(targets={}),
            "targets: targets is empty: a rule must name at least one filter, an unfiltered rule would act on every instance",
            id="unfiltered",
        ),
        pytest.param(
            _event(targets={"tag:Environment": []}),
            "targets.tag:Environment: 'tag:Environment' has an empty list: give at least one value",
            id="empty-values",
        ),
        pytest.param(
            _event(targets={"instance-id": ["*"]}),
            "targets.instance-id.0: '*' matches every instance; name the instance-id values to act on",
            id="wildcard",
        ),
        pytest.param(
            _event(targets={"instance-state-name": ["running"]}),
            "targets.instance-state-name: unknown filter 'instance-state-name'; allowed: instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, instance-type, availability-zone",
            id="unknown-filter",
        ),
        pytest.param(
            _event(targets=None),
            "targets: targets must be a mapping of filter name to values, not null",
            id="null-targets",
        ),
        pytest.param(_event(extra=1), "unknown event keys: extra", id="unknown-key"),
        pytest.param(_event(version=2), "version: unsupported event version 2", id="version"),
        pytest.param(
            _event(action="reboot"),
            "action: action must be start or stop, not 'reboot'",
            id="action",
        ),
        pytest.param(
            _event(accounts=[111111111111]),
            'accounts.0: account 111111111111 is a number; write it as a quoted string, e.g. "111111111111", so leading zeros survive',
            id="int-account",
        ),
        pytest.param(
            _event(regions=[]),
            "regions: regions is empty: give at least one region",
            id="no-regions",
        ),
        pytest.param(
            _event(max_instances=5000),
            "max_instances: max_instances is 5000; it must be from 1 to 1000",
            id="cap",
        ),
        pytest.param(
            _event(role_name="a/b"), "role_name: 'a/b' is not an IAM role name", id="role"
        ),
        pytest.param(
            _event(hibernate="yes"), "hibernate: hibernate must be true or false", id="hibernate"
        ),
        pytest.param(
            _event(scheduled_time="<aws.scheduler.scheduled-time>"),
            "scheduled_time: '<aws.scheduler.scheduled-time>' is an unsubstituted placeholder; only EventBridge Scheduler fills it in (invoking by hand? give real values)",
            id="placeholder",
        ),
        pytest.param(
            _event(scheduled_time="tonight"),
            "scheduled_time: 'tonight' is not an ISO 8601 time such as 2026-11-27T19:00:00Z",
            id="time",
        ),
        pytest.param(
            _event(scheduled_time="9999-12-31T23:59:59-05:00"),
            "scheduled_time: '9999-12-31T23:59:59-05:00' is not an ISO 8601 time such as 2026-11-27T19:00:00Z",
            id="time-out-of-range",
        ),
        pytest.param(
            _event(schedule_arn="arn:aws:lambda:eu-west-1:111111111111:function:x"),
            "schedule_arn: 'arn:aws:lambda:eu-west-1:111111111111:function:x' is not a schedule ARN such as arn:aws:scheduler:eu-west-1:111111111111:schedule/ouroboros/dev-stop",
            id="arn",
        ),
        pytest.param(
            ["not", "a", "mapping"], "the event must be a JSON object, not a list", id="list"
        ),
    ],
)
def test_refused(event: object, problem: str) -> None:
    with pytest.raises(EventRefused) as info:
        parse_event(event)
    assert problem in info.value.problems


def test_every_problem_is_listed() -> None:
    with pytest.raises(EventRefused) as info:
        parse_event(_event(action="reboot", targets={}, max_instances=0))
    assert len(info.value.problems) == 3


def test_missing_keys_are_named() -> None:
    with pytest.raises(EventRefused) as info:
        parse_event({"version": 1, "rule": "x"})
    assert info.value.problems[0] == (
        "missing event keys: action, hibernate, accounts, regions, targets, max_instances, "
        "role_name, schedule_arn, scheduled_time"
    )


def test_no_execution_id_at_all_is_refused() -> None:
    event = _event()
    del event["execution_id"]
    with pytest.raises(EventRefused, match="execution_id: missing"):
        parse_event(event)


ACCOUNTS_101 = [f"{n:012d}" for n in range(100000000000, 100000000101)]
REGIONS_10 = [f"eu-west-{n}" for n in range(1, 11)]


def test_more_than_a_thousand_account_region_pairs_are_refused() -> None:
    with pytest.raises(EventRefused) as caught:
        parse_event(_event(accounts=ACCOUNTS_101, regions=REGIONS_10))
    assert caught.value.problems == [
        "accounts: 101 accounts x 10 regions is 1010 (account, region) pairs, more than 1000 in "
        "one rule: split it into rules with fewer accounts or regions"
    ]
    assert len(parse_event(_event(accounts=ACCOUNTS_101[:100], regions=REGIONS_10)).pairs) == 1000


def test_an_event_over_64_kib_is_refused() -> None:
    values = [f"v{n:03d}" + "x" * 250 for n in range(200)]
    event = _event(targets={"tag:A": values, "tag:B": values})
    with pytest.raises(EventRefused) as caught:
        parse_event(event)
    (problem,) = caught.value.problems
    assert problem.startswith("the executor event is ")
    assert problem.endswith(
        " bytes of JSON, more than 65536 (64 KiB): split the rule, or shorten its lists of "
        "accounts, regions and values"
    )
