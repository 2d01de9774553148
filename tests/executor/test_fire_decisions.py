"""Fire-time decisions end to end on moto (§12): calendars, overrides, the union of rules.

The handler is called the way Lambda calls it, with the schedules deployed in moto and (for
the union) the manifest written by apply's own code. The world and its fixtures are
tests/executor/test_handler.py's.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler import apply, desired, runlog
from reconciler.calendars import Calendar
from reconciler.executor import ec2, manifest
from reconciler.executor import handler as handler_module
from reconciler.executor.handler import handler
from reconciler.loader import load_rules
from reconciler.model import Rule, Settings
from reconciler.resources import ScheduleSpec

_spec = importlib.util.spec_from_file_location(
    "handler_world", Path(__file__).with_name("test_handler.py")
)
assert _spec is not None
assert _spec.loader is not None
hw = importlib.util.module_from_spec(_spec)
sys.modules["handler_world"] = hw  # dataclasses look their module up while it is built
_spec.loader.exec_module(hw)
world = hw.world  # the fixture
World = hw.World
OWN, OTHER, TABLE = hw.OWN, hw.OTHER, hw.TABLE
REPO = Path(__file__).resolve().parents[2]
SETTINGS = Settings(
    region="eu-west-1",
    schedule_group="ouroboros",
    function_name="ouroboros-executor",
    executor_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-executor",
    scheduler_role_arn=f"arn:aws:iam::{OWN}:role/ouroboros-scheduler",
    target_role_name="ouroboros-target",
    log_table=TABLE,
)


def _rule(**fields: Any) -> Rule:
    values: dict[str, Any] = {
        "name": "dev-office-hours",
        "accounts": (OWN,),
        "regions": ("eu-west-1",),
        "targets": (("tag:Environment", ("dev",)),),
        "start": "cron(0 8 ? * MON-FRI *)",
        "stop": "cron(0 19 ? * MON-FRI *)",
    }
    values.update(fields)
    return Rule(**values)


def _deploy(rules: list[Rule]) -> list[ScheduleSpec]:
    built = desired.build_desired(
        rules, SETTINGS, code_sha256="x", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for schedule in built.schedules:
        hw.deploy(schedule)
    return list(built.schedules)


def _write_manifest(schedules: list[ScheduleSpec]) -> None:
    apply.write_manifest(boto3.client("dynamodb", region_name="eu-west-1"), TABLE, schedules, "t")


def _fire(monkeypatch: pytest.MonkeyPatch, schedule: ScheduleSpec, when: str) -> dict[str, Any]:
    """Deliver `schedule`'s event for `when` (UTC, with Z), the wall clock just after it."""
    moment = runlog.parse_instant(when)
    monkeypatch.setattr(hw, "WHEN", when)
    monkeypatch.setattr(
        handler_module,
        "TUNING",
        ec2.Tuning(sleep=lambda _: None, now=lambda: moment + timedelta(seconds=30)),
    )
    text = str(schedule.input)
    for placeholder, value in (
        (
            "<aws.scheduler.schedule-arn>",
            f"arn:aws:scheduler:eu-west-1:{OWN}:schedule/ouroboros/{schedule.name}",
        ),
        ("<aws.scheduler.scheduled-time>", when),
        ("<aws.scheduler.execution-id>", str(uuid.uuid4())),
    ):
        text = text.replace(placeholder, value)
    return dict(handler(json.loads(text), hw.LambdaContext()))


def _named(schedules: list[ScheduleSpec], name: str) -> ScheduleSpec:
    (found,) = [s for s in schedules if s.name == name]
    return found


# --- calendars -----------------------------------------------------------------------------


def test_a_holiday_skips_the_firing_in_the_rules_zone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance,) = world.launch()
    # 19:00 UTC on Friday 27 Nov 2026 is 11:00 in Los Angeles: the day after Thanksgiving,
    # a public holiday in California.
    calendar = Calendar("us-ca", country="US", subdivision="CA", timezone="America/Los_Angeles")
    rule = _rule(
        timezone="America/Los_Angeles",
        stop="cron(0 11 ? * MON-FRI *)",
        calendar="us-ca",
        calendar_spec=calendar,
    )
    schedules = _deploy([rule])
    world.hooks.calls.clear()

    summary = _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")

    assert summary["status"] == "skipped"
    assert world.state(instance) == "running"
    item = world.run_for()
    assert item["status"] == "skipped"
    assert item["detail"] == (
        "calendar us-ca: 2026-11-27 is a public holiday in US-CA (Day After Thanksgiving)"
    )
    # Decided before any EC2 call.
    assert not [op for op, _ in world.hooks.calls if op.startswith("ec2.")]


def test_a_calendar_date_is_the_local_date_where_the_utc_one_differs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance,) = world.launch()
    # 19:00 UTC on Friday 27 Nov is 06:00 on Saturday 28 Nov in Sydney.
    listed = Calendar("au-dates", dates=("2026-11-28",), timezone="Australia/Sydney")
    rule = _rule(
        timezone="Australia/Sydney",
        stop="cron(0 6 ? * SAT *)",
        calendar="au-dates",
        calendar_spec=listed,
    )
    schedules = _deploy([rule])
    summary = _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert summary["status"] == "skipped"
    assert world.run_for()["detail"] == "calendar au-dates: 2026-11-28 is one of its dates"
    assert world.state(instance) == "running"


def test_the_utc_date_does_not_count(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    (instance,) = world.launch()
    # The same firing with the UTC date (27 Nov) listed instead: Sydney's date is the 28th.
    listed = Calendar("au-dates", dates=("2026-11-27",), timezone="Australia/Sydney")
    rule = _rule(
        timezone="Australia/Sydney",
        stop="cron(0 6 ? * SAT *)",
        calendar="au-dates",
        calendar_spec=listed,
    )
    schedules = _deploy([rule])
    summary = _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert summary["status"] == "ok"
    assert world.state(instance) == "stopped"


# --- overrides -----------------------------------------------------------------------------


def test_an_override_skips_until_its_instant_and_an_unreadable_one_skips_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (until_tomorrow,) = world.launch(
        tags={"Environment": "dev", "ouroboros:skip-until": "2026-11-28T08:00:00+01:00"}
    )
    (unreadable,) = world.launch(
        tags={"Environment": "dev", "ouroboros:skip-until": "next tuesday"}
    )
    (plain,) = world.launch()
    schedules = _deploy([_rule()])

    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")

    item = world.run_for()
    assert {s["id"]: (s["reason"], s["detail"]) for s in item["skipped"]} == {
        until_tomorrow: ("override", "override until 2026-11-28T08:00:00+01:00"),
        unreadable: (
            "override",
            "override tag ouroboros:skip-until='next tuesday' is not an ISO 8601 instant with "
            "Z or an offset (e.g. 2026-12-01T08:00:00Z): skipped until it is fixed or removed",
        ),
    }
    assert sorted(item["acted"]) == [plain]
    assert world.state(until_tomorrow) == "running"


def test_after_its_instant_an_override_is_acted_on_and_the_log_says_it_expired(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (expired,) = world.launch(
        tags={"Environment": "dev", "ouroboros:skip-until": "2026-11-27T18:59:00Z"}
    )
    schedules = _deploy([_rule()])
    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    item = world.run_for()
    assert item["acted"] == [expired]
    assert item["notes"] == [
        {"id": expired, "note": "override until 2026-11-27T18:59:00Z expired: acted on as usual"}
    ]
    assert world.state(expired) == "stopped"


# --- the union of on-windows ---------------------------------------------------------------


def _example_rules(subnet: str) -> list[Rule]:
    """The repository's integration-weekdays and integration-month-end, as written, but for
    their subnet filter: moto cannot create the example's subnet ids, so it names moto's."""
    loaded = load_rules([str(REPO / "schedules" / "test-environments.yaml")])
    assert loaded.ok
    rules = [r for r in loaded.rules if r.name.startswith("integration-")]
    assert [r.name for r in rules] == ["integration-weekdays", "integration-month-end"]
    return [
        replace(
            r,
            targets=tuple(
                (name, (subnet,) if name == "subnet-id" else values) for name, values in r.targets
            ),
        )
        for r in rules
    ]


def _test_fleet(world: World) -> tuple[list[ScheduleSpec], str]:
    ec2_client = world.ec2(OTHER, "ap-southeast-2")
    vpc = ec2_client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2_client.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    (instance,) = world.launch(
        OTHER, "ap-southeast-2", tags={"Environment": "test"}, SubnetId=subnet
    )
    schedules = _deploy(_example_rules(subnet))
    _write_manifest(schedules)
    return schedules, instance


def test_the_month_end_window_holds_the_fleet_up_until_23_on_the_last_friday(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedules, instance = _test_fleet(world)
    weekdays_stop = _named(schedules, "integration-weekdays-stop")
    # Friday 27 Nov 2026 is the month's last Friday; 20:00 in Sydney (AEDT) is 09:00 UTC.
    _fire(monkeypatch, weekdays_stop, "2026-11-27T09:00:00Z")
    item = world.run_for(OTHER, "ap-southeast-2")
    assert item["skipped"] == [
        {
            "id": instance,
            "reason": "held-on",
            "detail": "held on by rule integration-month-end until 2026-11-27T23:00:00+11:00",
        }
    ]
    assert world.state(instance, OTHER, "ap-southeast-2") == "running"

    # 23:00 in Sydney: month-end's own stop; weekdays' window closed at 20:00, so it stops.
    _fire(monkeypatch, _named(schedules, "integration-month-end-stop"), "2026-11-27T12:00:00Z")
    assert world.state(instance, OTHER, "ap-southeast-2") == "stopped"


def test_on_another_friday_the_weekday_stop_stops(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedules, instance = _test_fleet(world)
    _fire(monkeypatch, _named(schedules, "integration-weekdays-stop"), "2026-11-20T09:00:00Z")
    assert world.state(instance, OTHER, "ap-southeast-2") == "stopped"
    assert "warning" not in world.run_for(OTHER, "ap-southeast-2")


def test_a_stop_only_rule_does_not_hold(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    (instance,) = world.launch()
    night = _rule(name="nightly", start=None, stop="cron(0 22 * * ? *)")
    schedules = _deploy([_rule(), night])
    _write_manifest(schedules)
    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert world.state(instance) == "stopped"


def test_a_rule_whose_filters_do_not_match_does_not_hold(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance,) = world.launch()
    late = _rule(
        name="late-team",
        targets=(("tag:Environment", ("dev",)), ("tag:Team", ("night-*",))),
        start="cron(0 18 ? * MON-FRI *)",
        stop="cron(0 23 ? * MON-FRI *)",
    )
    (held,) = world.launch(tags={"Environment": "dev", "Team": "night-owls"})
    schedules = _deploy([_rule(), late])
    _write_manifest(schedules)
    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert world.state(instance) == "stopped"
    assert world.state(held) == "running"
    assert world.run_for()["skipped"] == [
        {
            "id": held,
            "reason": "held-on",
            "detail": "held on by rule late-team until 2026-11-27T23:00:00+00:00",
        }
    ]


def test_a_stale_manifest_is_warned_about_and_the_stop_acts_as_before(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance,) = world.launch()
    late = _rule(name="late", start="cron(0 18 ? * MON-FRI *)", stop="cron(0 23 ? * MON-FRI *)")
    # The manifest was written before dev-office-hours' targets changed.
    _write_manifest(_deploy([_rule(targets=(("tag:Environment", ("qa",)),)), late]))
    schedules = _deploy([_rule(), late])
    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert world.state(instance) == "stopped"
    assert world.run_for()["warning"] == (
        "the manifest is stale: its entry for rule dev-office-hours is not the event's "
        "(written t): run reconcile apply; stopped without the union check (other rules' "
        "on-windows not honoured): run reconcile apply"
    )


def test_an_unreadable_manifest_is_warned_about_and_the_stop_acts_as_before(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    (instance,) = world.launch()
    schedules = _deploy([_rule()])
    item = manifest.encode(manifest.Manifest("t", ()))
    item["body"] = {"B": b"not zlib"}
    boto3.client("dynamodb", region_name="eu-west-1").put_item(TableName=TABLE, Item=item)
    _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert world.state(instance) == "stopped"
    assert world.run_for()["warning"].startswith(
        "the manifest is unreadable: cannot decode it (error: Error -3 while decompressing"
    )


def test_a_calendar_in_another_zone_than_its_schedule_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a hand-made schedule can do this: the loader puts the rule's zone in the calendar.
    (instance,) = world.launch()
    odd = Calendar("x", dates=("2026-01-01",), timezone="UTC")
    rule = _rule(timezone="Europe/Berlin", stop="cron(0 20 ? * MON-FRI *)", calendar_spec=odd)
    schedules = _deploy([rule])
    summary = _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert summary["status"] == "refused"
    assert summary["problems"] == [
        "calendar: its time zone UTC is not the schedule's (Europe/Berlin)"
    ]
    assert world.state(instance) == "running"


def test_a_country_the_executor_does_not_know_acts_as_without_a_calendar_and_warns(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loader refuses an unknown country; an executor with an older `holidays` than the
    # one that validated may still meet one: it acts as without the calendar, and says so.
    (instance,) = world.launch()
    unknown = Calendar("atlantis", country="XA", timezone="UTC")
    schedules = _deploy([_rule(calendar="atlantis", calendar_spec=unknown)])
    summary = _fire(monkeypatch, _named(schedules, "dev-office-hours-stop"), "2026-11-27T19:00:00Z")
    assert summary["status"] == "ok"
    assert world.state(instance) == "stopped"
    version = importlib.metadata.version("holidays")
    assert world.run_for()["warning"] == (
        f"calendar atlantis cannot be read here (LookupError: holidays {version} knows no "
        "country 'XA'): acted as without it; apply again to update the executor; there is no "
        "manifest (apply writes it); stopped without the union check (other rules' on-windows "
        "not honoured): run reconcile apply"
    )
