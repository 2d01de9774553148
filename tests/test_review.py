"""The reviewer's view of a plan (DESIGN.md §10): rule changes in words, next firings, DST
notes, rename, what each rule hits (with the executor's skip reasons), warnings, conflicts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recon_support import ACCOUNT, NOW, REGION, rule, settings

from reconciler.calendars import Calendar
from reconciler.conflicts import HELD_ON
from reconciler.desired import DesiredState, build_desired
from reconciler.executor.asgselect import SAVED_CAPACITY_TAG, Capacity, Group
from reconciler.executor.dbselect import DbInstance
from reconciler.executor.selection import Instance
from reconciler.loader import load_rules
from reconciler.model import Rule
from reconciler.plan import make_plan
from reconciler.resources import LiveState
from reconciler.review import (
    Found,
    ReadKey,
    Review,
    RuleReview,
    RuleState,
    build_review,
    filter_set,
    rule_states_of,
    rule_targets,
)

ROOT = Path(__file__).resolve().parents[1]
OTHER = "222222222222"
DEV = filter_set([("tag:Environment", ["dev"])])


def want(*rules: Rule) -> DesiredState:
    return build_desired(list(rules), settings(), code_sha256="c2hh", now=NOW)


def live_of(state: DesiredState | None) -> LiveState:
    if state is None:
        return LiveState(None, (), None, None)
    return LiveState(state.group, state.schedules, state.function, state.table)


def review(
    new: list[Rule],
    old: list[Rule] | None = None,
    found: dict[ReadKey, Found] | None = None,
    mode: Any = "changed",
    now: datetime = NOW,
) -> Review:
    desired = want(*new)
    live = live_of(want(*old) if old is not None else None)
    plan = make_plan(desired, live)
    states = rule_states_of(plan, desired.rules, desired.schedules, live.schedules)
    return build_review(states, found or {}, now=now, mode=mode)


def one(result: Review, name: str) -> RuleReview:
    found = result.rule(name)
    assert found is not None
    return found


def running(i: int, **kw: Any) -> Instance:
    return Instance(id=f"i-{i:017x}", state=kw.pop("state", "running"), name=f"dev-{i}", **kw)


def test_an_update_says_what_changes_in_local_time_and_the_next_firings() -> None:
    old = rule("dev", timezone="Europe/Berlin")
    new = dataclasses.replace(old, start="cron(30 7 ? * MON-FRI *)")
    result = one(review([new], [old], mode="none"), "dev")
    assert result.change == "update"
    assert result.summary == ("starts 07:30 instead of 08:00, Mon-Fri, Europe/Berlin",)
    assert [(a, [f.isoformat() for f in fires]) for a, fires in result.next] == [
        (
            "start",
            ["2026-11-30T07:30:00+01:00", "2026-12-01T07:30:00+01:00", "2026-12-02T07:30:00+01:00"],
        ),
        (
            "stop",
            ["2026-11-27T19:00:00+01:00", "2026-11-30T19:00:00+01:00", "2026-12-01T19:00:00+01:00"],
        ),
    ]
    assert result.targets is None  # --targets none: nothing read


def test_scope_timezone_and_state_changes_in_words() -> None:
    old = rule("dev", timezone="Europe/Berlin")
    new = dataclasses.replace(
        old,
        timezone="Europe/London",
        enabled=False,
        accounts=(ACCOUNT, OTHER),
        targets=(("tag:Environment", ("dev", "test")),),
        max_instances=10,
        stop=None,
    )
    assert one(review([new], [old], mode="none"), "dev").summary == (
        "no longer stops (was 19:00, Mon-Fri, Europe/London)",
        "time zone Europe/London instead of Europe/Berlin",
        "disabled: its schedules stay but do not fire",
        f"accounts: +{OTHER}",
        "filters tag:Environment=dev|test instead of tag:Environment=dev",
        "max_instances 10 instead of 100",
    )


def test_a_created_rule_says_when_and_what() -> None:
    new = rule("patch", start="cron(0 5 ? * 2#1 *)", stop="cron(0 9 ? * 6L *)")
    assert one(review([new], [], mode="none"), "patch").summary == (
        "starts 05:00, the first Monday of the month, UTC",
        "stops 09:00, the last Friday of the month, UTC",
        f"acts on tag:Environment=dev in {ACCOUNT} / {REGION}",
    )


def test_a_gap_time_gets_a_dst_note() -> None:
    night = rule("night", timezone="Europe/Berlin", start=None, stop="cron(30 2 * * ? *)")
    assert one(review([night], [], mode="none"), "night").notes == (
        "2027-03-28: 02:30 does not exist in Europe/Berlin: stop skipped",
    )


def test_next_firings_a_calendar_skips_are_said_in_the_block() -> None:
    # NOW is Fri 2026-11-27 12:00 UTC; the office calendar closes Mon 2026-11-30.
    office = Calendar("office", dates=("2026-11-30",), timezone="Europe/Berlin")
    dev = dataclasses.replace(
        rule("dev", timezone="Europe/Berlin"), calendar="office", calendar_spec=office
    )
    assert one(review([dev], [], mode="none"), "dev").summary[-2:] == (
        "the start of Mon 2026-11-30 08:00 does nothing: calendar office: 2026-11-30 is one "
        "of its dates",
        "the stop of Mon 2026-11-30 19:00 does nothing: calendar office: 2026-11-30 is one of "
        "its dates",
    )


def test_a_rename_is_recognised_and_says_apply_deletes_and_creates() -> None:
    result = review([rule("new-name")], [rule("old-name")], mode="none")
    new, old = one(result, "new-name"), one(result, "old-name")
    assert (new.change, new.renamed_from, old.change, old.renamed_to) == (
        "create",
        "old-name",
        "delete",
        "new-name",
    )
    assert new.summary == (
        "the same settings under a new name: AWS cannot rename a schedule, so apply deletes "
        "old-name's schedules and creates new-name's",
    )


def test_a_different_rule_is_no_rename() -> None:
    result = review([rule("b", max_instances=5)], [rule("a")], mode="none")
    assert one(result, "b").renamed_from is None


def test_targets_with_skip_reasons_and_added_removed() -> None:
    old = rule("dev", targets=(("tag:Environment", ("dev",)),))
    new = dataclasses.replace(old, targets=(("tag:Environment", ("dev", "test")),))
    devtest = filter_set([("tag:Environment", ["dev", "test"])])
    kept, asg, store, spot, gone = (
        running(1),
        running(2, asg="web"),
        running(3, root_device_type="instance-store"),
        running(4, spot=True, spot_request_id="sir-1"),
        running(5),
    )
    found = {
        ReadKey(ACCOUNT, REGION, DEV): Found((kept, gone)),
        ReadKey(ACCOUNT, REGION, devtest): Found((kept, asg, store, spot)),
    }
    result = one(review([new], [old], found), "dev")
    assert result.targets is not None
    assert [(h.id, h.name, h.state, h.skip) for h in result.targets.instances] == [
        (kept.id, "dev-1", "running", None),
        (
            asg.id,
            "dev-2",
            "running",
            "member of Auto Scaling group web: schedule the group with `resource: asg`",
        ),
        (store.id, "dev-3", "running", "instance-store root device: cannot be stopped or started"),
        # Running already (start skips it) and one-time Spot (stop cannot): never acted on.
        (spot.id, "dev-4", "running", "one-time Spot instance: cannot be stopped"),
    ]
    assert result.targets.added == (asg.id, store.id, spot.id)
    assert result.targets.removed == (gone.id,)
    assert result.warnings == ()


def test_a_stop_only_rule_skips_what_is_stopped_already_and_one_time_spot() -> None:
    nightly = rule("nightly", start=None)
    stopped = running(1, state="stopped")
    spot = running(2, spot=True, spot_request_id="sir-1")
    found = {ReadKey(ACCOUNT, REGION, DEV): Found((stopped, spot))}
    result = one(review([nightly], [], found), "nightly")
    assert result.targets is not None
    assert [h.skip for h in result.targets.instances] == [
        "already stopped",
        "one-time Spot instance: cannot be stopped",
    ]
    persistent = {ReadKey(ACCOUNT, REGION, DEV): Found((spot,), frozenset({"sir-1"}))}
    result = one(review([nightly], [], persistent), "nightly")
    assert result.targets is not None
    assert [h.skip for h in result.targets.instances] == [None]


def test_zero_matches_is_a_warning_naming_the_filters() -> None:
    typo = rule("dev", targets=(("tag:Enviroment", ("dev",)),))
    found = {ReadKey(ACCOUNT, REGION, filter_set(typo.targets)): Found(())}
    result = one(review([typo], [], found), "dev")
    assert result.warnings == (
        "matches no instance anywhere: check the filters: tag:Enviroment=dev",
    )
    assert result.targets is not None
    assert result.targets.count == 0


def test_more_than_max_instances_is_a_warning_and_each_is_over_the_cap() -> None:
    capped = rule("dev", max_instances=2)
    fleet = (running(0), running(1), running(2), running(9, asg="web"))
    result = one(review([capped], [], {ReadKey(ACCOUNT, REGION, DEV): Found(fleet)}), "dev")
    assert result.warnings == (
        f"matches 3 instances in {ACCOUNT} {REGION}, more than max_instances (2): the executor "
        "will act on none of them at every firing; narrow the filters or raise max_instances",
    )
    assert result.targets is not None
    assert [h.skip for h in result.targets.instances] == [
        "over the cap: 3 instances here, max_instances 2",
        "over the cap: 3 instances here, max_instances 2",
        "over the cap: 3 instances here, max_instances 2",
        "member of Auto Scaling group web: schedule the group with `resource: asg`",
    ]


def test_an_unreadable_account_is_an_error_and_a_warning_not_a_zero() -> None:
    two = rule("dev", accounts=(ACCOUNT, OTHER))
    found = {
        ReadKey(ACCOUNT, REGION, DEV): Found(()),
        ReadKey(OTHER, REGION, DEV): Found(error="AccessDenied"),
    }
    result = one(review([two], [], found), "dev")
    assert result.targets is not None
    assert [(e.account, e.region, e.message) for e in result.targets.errors] == [
        (OTHER, REGION, "AccessDenied")
    ]
    assert result.warnings == (
        "matches no instance in the accounts and regions that could be read: check the "
        "filters: tag:Environment=dev",
        f"could not read {OTHER} {REGION}: AccessDenied",
    )
    only_other = rule("dev", accounts=(OTHER,))
    result = one(review([only_other], [], found), "dev")
    assert result.warnings == (f"could not read {OTHER} {REGION}: AccessDenied",)


def test_a_deleted_rule_shows_what_stops_being_scheduled() -> None:
    found = {ReadKey(ACCOUNT, REGION, DEV): Found((running(1),))}
    result = one(
        review([rule("other", targets=(("tag:Team", ("x",)),))], [rule("gone")], found), "gone"
    )
    assert result.change == "delete"
    assert result.targets is not None
    assert result.targets.removed == (running(1).id,)
    assert result.next == ()


def test_targets_changed_reads_the_affected_rules_and_their_neighbours_only() -> None:
    same = rule("same")
    elsewhere = rule("elsewhere", regions=("us-east-1",), targets=(("tag:Team", ("x",)),))
    changed = rule("changed", targets=(("tag:Team", ("y",)),))
    desired = want(same, elsewhere, changed)
    live = live_of(want(same, elsewhere))
    states = rule_states_of(
        make_plan(desired, live), desired.rules, desired.schedules, live.schedules
    )
    team_y = filter_set([("tag:Team", ["y"])])
    assert states.reads("changed") == {
        ReadKey(ACCOUNT, REGION, team_y),
        ReadKey(ACCOUNT, REGION, DEV),
    }
    assert len(states.reads("all")) == 3
    assert states.reads("none") == set()


def test_identical_filter_sets_are_read_once() -> None:
    a = rule("a", targets=(("tag:Environment", ("dev",)), ("tag:Team", ("x", "y"))))
    b = rule("b", targets=(("tag:Team", ("y", "x")), ("tag:Environment", ("dev",))))
    desired = want(a, b)
    states = rule_states_of(make_plan(desired, live_of(None)), desired.rules, desired.schedules, ())
    assert len(states.reads("changed")) == 1


def test_the_repository_example_has_its_conflict_statically_and_it_is_held_on() -> None:
    # The pair, its date and window are what conflicts found before they used timeline's
    # windows; the executor's union (DESIGN §12) now resolves it: held on until 23:00.
    loaded = load_rules([str(ROOT / "schedules")])
    assert loaded.ok
    result = review(list(loaded.rules), [], mode="none", now=datetime(2026, 12, 14, tzinfo=UTC))
    assert [
        (c.rules, c.static, c.when.isoformat(), tuple(t and t.isoformat() for t in c.window))
        for c in result.conflicts
    ] == [
        (
            ("integration-weekdays", "integration-month-end"),
            True,
            "2026-12-25T20:00:00+11:00",
            ("2026-12-25T18:00:00+11:00", "2026-12-25T23:00:00+11:00"),
        )
    ]
    assert [
        (c.resolution, c.held_until and c.held_until.isoformat()) for c in result.conflicts
    ] == [(HELD_ON, "2026-12-25T23:00:00+11:00")]


def test_a_calendar_in_the_schedules_event_reaches_the_conflicts() -> None:
    # integration-month-end's start skipped on Christmas by its calendar: no window that day,
    # so the first stop inside one is the last Friday of January.
    loaded = load_rules([str(ROOT / "schedules")])
    xmas = Calendar("xmas", dates=("2026-12-25",), timezone="Australia/Sydney")
    rules = [
        dataclasses.replace(r, calendar="xmas", calendar_spec=xmas)
        if r.name == "integration-month-end"
        else r
        for r in loaded.rules
    ]
    result = review(rules, [], mode="none", now=datetime(2026, 12, 14, tzinfo=UTC))
    assert [c.when.isoformat() for c in result.conflicts] == ["2027-01-29T20:00:00+11:00"]


def test_live_conflicts_come_from_the_instances_both_rules_matched() -> None:
    a = rule("a", start="cron(0 8 * * ? *)", stop="cron(0 18 * * ? *)")
    b = rule("b", targets=(("tag:Team", ("x",)),), start=None, stop="cron(0 12 * * ? *)")
    team = filter_set([("tag:Team", ["x"])])
    shared = running(1)
    found = {
        ReadKey(ACCOUNT, REGION, DEV): Found((shared,)),
        ReadKey(ACCOUNT, REGION, team): Found((shared, running(2))),
    }
    result = review([a, b], [], found)
    assert [(c.rules, c.id, c.static) for c in result.conflicts] == [(("b", "a"), shared.id, False)]
    disjoint = {
        ReadKey(ACCOUNT, REGION, DEV): Found((shared,)),
        ReadKey(ACCOUNT, REGION, team): Found((running(2),)),
    }
    assert review([a, b], [], disjoint).conflicts == ()


# Rules of other kinds (DESIGN §9): read with the executor's describe and skip reasons.


def db(ident: str, status: str = "available", **kw: Any) -> DbInstance:
    return DbInstance(id=ident, status=status, engine=kw.pop("engine", "postgres"), **kw)


def test_a_rule_of_another_kind_reads_its_kind() -> None:
    state = RuleState(
        "db", "UTC", (ACCOUNT,), (REGION,), DEV, stop="cron(0 20 * * ? *)", resource="rds"
    )
    assert state.reads() == [ReadKey(ACCOUNT, REGION, DEV, "rds")]
    assert state.reads() != [ReadKey(ACCOUNT, REGION, DEV)]  # never the EC2 read


def test_db_instances_with_the_executors_skip_reasons_and_the_cap() -> None:
    state = RuleState(
        "db",
        "UTC",
        (ACCOUNT,),
        (REGION,),
        DEV,
        stop="cron(0 20 * * ? *)",
        max_instances=1,
        resource="rds",
    )
    found = {
        ReadKey(ACCOUNT, REGION, DEV, "rds"): Found(
            (
                db("dev-a", tags={"Name": "billing"}),
                db("dev-b"),
                db("dev-c", replica_of="dev-a"),
                db("dev-d", status="backing-up"),
                db("dev-e", engine="aurora-postgresql", cluster="dev-aurora"),
            )
        )
    }
    targets, warnings = rule_targets(state, found)
    cap = "over the cap: 2 DB instances here, max_instances 1"
    assert [(h.id, h.name, h.state, h.skip) for h in targets.instances] == [
        ("dev-a", "billing", "available", cap),
        ("dev-b", None, "available", cap),
        ("dev-c", None, "available", "read replica of dev-a: AWS cannot stop a read replica"),
        (
            "dev-d",
            None,
            "backing-up",
            "status backing-up: AWS stops only available DB instances; the next firing tries again",
        ),
        (
            "dev-e",
            None,
            "available",
            "member of Aurora cluster dev-aurora: schedule the cluster with `resource: aurora`",
        ),
    ]
    assert warnings == [
        f"matches 2 DB instances in {ACCOUNT} {REGION}, more than max_instances (1): the "
        "executor will act on none of them at every firing; narrow the filters or raise "
        "max_instances"
    ]


def test_a_group_and_a_cluster_matching_nothing_say_so_in_their_words() -> None:
    for kind, what in (("aurora", "DB cluster"), ("asg", "Auto Scaling group")):
        state = RuleState(
            "x", "UTC", (ACCOUNT,), (REGION,), DEV, stop="cron(0 20 * * ? *)", resource=kind
        )
        _, warnings = rule_targets(state, {ReadKey(ACCOUNT, REGION, DEV, kind): Found(())})
        assert warnings == [f"matches no {what} anywhere: check the filters: tag:Environment=dev"]


def test_groups_show_their_capacity_and_an_update_adds_and_removes_groups() -> None:
    team = (("tag:Team", ("web",)),)
    old = rule("web", resource="asg", targets=team)
    new = dataclasses.replace(old, targets=(("tag:Team", ("web", "api")),))
    saved = {SAVED_CAPACITY_TAG: "min=1,desired=2,max=4"}
    found = {
        ReadKey(ACCOUNT, REGION, filter_set(team), "asg"): Found(
            (Group("web", Capacity(1, 2, 4)), Group("old-web", Capacity(1, 1, 1)))
        ),
        ReadKey(ACCOUNT, REGION, filter_set(new.targets), "asg"): Found(
            (Group("web", Capacity(1, 2, 4)), Group("api", Capacity(0, 0, 4), tags=saved))
        ),
    }
    result = one(review([new], [old], found), "web")
    assert result.targets is not None
    assert [(h.id, h.state, h.skip) for h in result.targets.instances] == [
        ("api", "desired 0 (min 0, max 4), saved min=1,desired=2,max=4", None),
        ("web", "desired 2 (min 1, max 4)", None),
    ]
    assert (result.targets.added, result.targets.removed) == (("api",), ("old-web",))


def test_conflicts_are_between_rules_of_one_kind_only() -> None:
    # The same filters, accounts, regions and times: an EC2 rule and a DB rule never collide.
    late = rule("late", start="cron(0 8 ? * MON-FRI *)", stop="cron(0 22 ? * MON-FRI *)")
    early = rule("early", resource="rds", stop="cron(0 12 ? * MON-FRI *)")
    assert review([late, early], [], mode="none").conflicts == ()
    other_db = dataclasses.replace(late, name="late-db", resource="rds")
    found = review([late, early, other_db], [], mode="none").conflicts
    assert {(c.rules, c.static) for c in found} == {(("early", "late-db"), True)}


def test_a_deleted_database_rule_says_what_stops_being_scheduled() -> None:
    gone = rule("db", resource="rds")
    assert one(review([], [gone], mode="none"), "db").summary == (
        "deleted: its schedules go, so nothing starts or stops these DB instances any more "
        "(they stay as they are now)",
    )


def test_targets_changed_reads_neighbours_of_the_same_kind_only() -> None:
    ec2_rule = rule("fleet")
    db_rule = rule("dbs", resource="rds")
    other_db = rule("other-dbs", resource="rds", targets=(("tag:Team", ("x",)),))
    desired = want(ec2_rule, db_rule, other_db)
    live = live_of(want(ec2_rule, other_db))
    states = rule_states_of(
        make_plan(desired, live), desired.rules, desired.schedules, live.schedules
    )
    # The changed DB rule's neighbours: the other DB rule, not the EC2 rule in the same place.
    assert states.reads("changed") == {
        ReadKey(ACCOUNT, REGION, DEV, "rds"),
        ReadKey(ACCOUNT, REGION, filter_set(other_db.targets), "rds"),
    }
