"""The other kinds' pure pieces: client-side matching, one call per resource, the registry."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from reconciler import checks
from reconciler.executor import ec2, kinds, match
from reconciler.executor.oneby import one_by_one


@pytest.mark.parametrize(
    ("targets", "fields", "tags", "matched"),
    [
        ((("db-instance-id", ("dev-*",)),), {"db-instance-id": "dev-db"}, {}, True),
        ((("db-instance-id", ("dev-?b",)),), {"db-instance-id": "dev-db"}, {}, True),
        ((("db-instance-id", ("dev-*",)),), {"db-instance-id": "prod-db"}, {}, False),
        ((("db-instance-id", ("dev",)),), {"db-instance-id": "dev-db"}, {}, False),
        ((("tag:Env", ("dev", "qa")),), {}, {"Env": "qa"}, True),
        ((("tag:Env", ("dev",)),), {}, {"Env": "Dev"}, False),  # case-sensitive, as EC2
        ((("tag:Env", ("dev",)),), {}, {}, False),
        ((("tag-key", ("Te*",)),), {}, {"Team": "x"}, True),
        (
            (("tag:Env", ("dev",)), ("engine", ("mysql",))),
            {"engine": "postgres"},
            {"Env": "dev"},
            False,
        ),
        ((("engine", ("mysql",)),), {"engine": None}, {}, False),
    ],
)
def test_matches_ands_filters_and_ors_values(
    targets: Any, fields: dict[str, str | None], tags: dict[str, str], matched: bool
) -> None:
    assert match.matches(targets, fields, tags) is matched


def test_exact_values_are_those_without_wildcards() -> None:
    targets = (("asg-name", ("a", "b")), ("tag:Env", ("d*",)))
    assert match.exact_values(targets, "asg-name") == ["a", "b"]
    assert match.exact_values(targets, "tag:Env") is None
    assert match.exact_values(targets, "engine") is None


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code}!"}}, "StopDBInstance")


def test_one_failure_never_stops_the_others() -> None:
    def act(resource_id: str, _: ec2.Tuning) -> None:
        if resource_id == "b":
            raise _error("InvalidDBInstanceState")

    outcome = one_by_one(["a", "b", "c"], act, ec2.Tuning())
    assert outcome.acted == ["a", "c"]
    assert outcome.errors == [
        {"id": "b", "code": "InvalidDBInstanceState", "message": "InvalidDBInstanceState!"}
    ]


def test_an_error_about_the_caller_is_recorded_for_the_rest_without_sending_them() -> None:
    sent: list[str] = []

    def act(resource_id: str, _: ec2.Tuning) -> None:
        sent.append(resource_id)
        if resource_id == "b":
            raise _error("ExpiredToken")

    outcome = one_by_one(["a", "b", "c"], act, ec2.Tuning())
    assert sent == ["a", "b"]
    assert [(e["id"], e["code"]) for e in outcome.errors] == [
        ("b", "ExpiredToken"),
        ("c", "ExpiredToken"),
    ]


def test_nothing_starts_inside_the_time_kept_for_the_results() -> None:
    ticks = iter([0.0, 100.0, 100.0])
    tuning = ec2.Tuning(deadline=50.0, reserve_s=10.0, clock=lambda: next(ticks))
    outcome = one_by_one(["a", "b"], lambda _i, _t: None, tuning)
    assert outcome.acted == ["a"]
    assert outcome.errors == [ec2.not_attempted("b")]


def test_every_resource_has_a_driver_and_every_other_kind_a_pure_skip_function() -> None:
    assert set(kinds.KINDS) == set(checks.RESOURCES)
    assert set(kinds.SKIP_REASONS) == set(checks.RESOURCES) - {"ec2"}
    assert {k: d.service for k, d in kinds.KINDS.items()} == {
        "ec2": "ec2",
        "rds": "rds",
        "aurora": "rds",
        "asg": "autoscaling",
    }
