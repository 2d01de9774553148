"""The data the report page is built from (reconciler.report.data, reconciler.report.week)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from recon_support import rule

from reconciler import timeline
from reconciler.report import data, week
from reconciler.report.data import Missed, build_report

# Friday 27 March 2026, 11:00 in Berlin; the clocks go forward there on Sunday the 29th.
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)
BERLIN = rule("dev-office-hours", timezone="Europe/Berlin", description="Berlin dev boxes")


def run(rule_name: str, when: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "run",
        "rule": rule_name,
        "action": "stop",
        "account": "123456789012",
        "region": "eu-west-1",
        "scheduled_time": when,
        "status": "ok",
        "matched": 3,
        "acted": ["i-0a", "i-0b"],
        "skipped": [{"id": "i-0c", "reason": "in-target-state", "detail": "already stopped"}],
        "errors": [],
        **fields,
    }


def apply_record(when: str, **fields: Any) -> dict[str, Any]:
    return {
        "kind": "apply",
        "started_at": when,
        "finished_at": when,
        "actor": "alice",
        "commit": "0f3c2a9e5b7d1c4e8a6f0f3c2a9e5b7d1c4e8a6f",
        "outcome": "ok",
        "summary": "1 created, 0 updated, 0 deleted",
        "changes": [
            {
                "action": "update",
                "kind": "schedule",
                "name": "dev-office-hours-stop",
                "result": "updated",
                "diff": [{"field": "expression", "before": '"a"', "after": '"b"'}],
            }
        ],
        "duration_ms": 900,
        **fields,
    }


# --------------------------------------------------------------------------------------------
# Times


def test_next_firings_merge_start_and_stop_in_time_order_with_both_clocks() -> None:
    fired = data.next_firings(BERLIN, NOW)
    assert [(f.action, f.local, f.utc) for f in fired] == [
        ("stop", "2026-03-27T19:00:00+01:00", "2026-03-27T18:00:00Z"),
        ("start", "2026-03-30T08:00:00+02:00", "2026-03-30T06:00:00Z"),
        ("stop", "2026-03-30T19:00:00+02:00", "2026-03-30T17:00:00Z"),
    ]


def test_the_week_is_seven_local_days_with_the_dst_day_marked() -> None:
    shown = week.week_of(BERLIN, NOW)
    assert shown.start == "2026-03-27T00:00:00+01:00"
    assert [d.label for d in shown.days] == [
        "Fri 27 Mar",
        "Sat 28 Mar",
        "Sun 29 Mar",
        "Mon 30 Mar",
        "Tue 31 Mar",
        "Wed 01 Apr",
        "Thu 02 Apr",
    ]
    assert [d.dst for d in shown.days] == [
        None,
        None,
        "clocks go forward (23-hour day)",
        None,
        None,
        None,
        None,
    ]
    assert [[b.text for b in d.bars] for d in shown.days] == [
        ["08:00\u201319:00"],
        [],
        [],
        ["08:00\u201319:00"],
        ["08:00\u201319:00"],
        ["08:00\u201319:00"],
        ["08:00\u201319:00"],
    ]
    assert (shown.days[0].bars[0].start, shown.days[0].bars[0].end) == (8.0, 19.0)
    assert shown.on_hours == 55
    assert any("clocks go forward in Europe/Berlin" in note for note in shown.notes)


def test_a_window_across_midnight_is_cut_into_its_local_days() -> None:
    night = rule("night-batch", start="cron(0 22 ? * MON *)", stop="cron(0 6 ? * TUE *)")
    days = week.week_of(night, datetime(2026, 6, 1, 0, 0, tzinfo=UTC)).days
    assert [b.text for b in days[0].bars] == ["22:00\u201324:00"]
    assert [b.text for b in days[1].bars] == ["00:00\u201306:00"]
    assert (days[0].on_hours, days[1].on_hours) == (2, 6)


def test_a_rule_on_at_the_start_of_the_week_shows_from_midnight() -> None:
    # Started Friday 08:00 and stopped Monday 19:00: on all weekend.
    weekend = rule("weekend", start="cron(0 8 ? * FRI *)", stop="cron(0 19 ? * MON *)")
    days = week.week_of(weekend, datetime(2026, 6, 6, 12, 0, tzinfo=UTC)).days  # Saturday
    assert [b.text for b in days[0].bars] == ["00:00\u201324:00"]
    assert [b.text for b in days[2].bars] == ["00:00\u201319:00"]


def test_hours_off_count_real_hours_across_a_dst_change() -> None:
    # 7 local days holding the 23-hour Sunday: 167 hours, 55 of them on.
    assert week.hours_off(BERLIN, NOW, days=7) == 112
    # 30 days from 27 March: 719 hours; 21 weekdays of 11 hours on.
    assert week.hours_off(BERLIN, NOW, days=30) == 719 - 21 * 11


@pytest.mark.parametrize(
    "overrides",
    [{"start": None}, {"stop": None}, {"enabled": False}],
    ids=["stop-only", "start-only", "disabled"],
)
def test_hours_off_are_not_claimed_where_the_rule_alone_does_not_say(
    overrides: dict[str, Any],
) -> None:
    assert week.hours_off(rule("partial", **overrides), NOW, days=7) is None


# --------------------------------------------------------------------------------------------
# The report


def test_offline_means_rules_and_times_only() -> None:
    report = build_report([BERLIN], now=NOW, days=7, log_source="table t in r")
    assert report.offline
    assert report.log_source is None
    assert (report.runs, report.applies, report.attention) == ((), (), ())
    (view,) = report.rules
    assert (view.name, view.page, view.description) == (
        "dev-office-hours",
        "rules/dev-office-hours.html",
        "Berlin dev boxes",
    )
    assert (view.off_week, view.last_status, view.runs) == (112, None, ())
    assert report.generated_at == "2026-03-27T10:00:00Z"


def test_rules_are_listed_by_name_with_what_the_files_say() -> None:
    rules = [
        rule("zeta", regions=("eu-west-1", "us-east-1"), hibernate=True, max_instances=7),
        rule("alpha", targets=(("tag:Team", ("a", "b")),), enabled=False),
    ]
    report = build_report(rules, now=NOW, days=7, entries=[])
    alpha, zeta = report.rules
    assert (alpha.name, alpha.enabled, alpha.filters) == (
        "alpha",
        False,
        (("tag:Team", ("a", "b")),),
    )
    assert (alpha.resource, alpha.calendar, alpha.off_week) == ("ec2", None, None)
    assert (zeta.regions, zeta.hibernate, zeta.max_instances) == (
        ("eu-west-1", "us-east-1"),
        True,
        7,
    )


def test_runs_newest_first_linked_to_their_rule_when_it_is_in_the_files() -> None:
    entries = [
        run("dev-office-hours", "2026-03-25T18:00:00Z"),
        run(
            "dev-office-hours",
            "2026-03-26T18:00:00Z",
            status="partial",
            errors=[{"id": "i-0d", "code": "UnauthorizedOperation", "message": "denied"}],
        ),
        run("gone-rule", "2026-03-26T19:00:00Z"),
    ]
    report = build_report([BERLIN], now=NOW, days=7, entries=entries, log_source="table t")
    assert [(r.time, r.rule, r.page) for r in report.runs] == [
        ("2026-03-26T19:00:00Z", "gone-rule", None),
        ("2026-03-26T18:00:00Z", "dev-office-hours", "rules/dev-office-hours.html"),
        ("2026-03-25T18:00:00Z", "dev-office-hours", "rules/dev-office-hours.html"),
    ]
    newest = report.runs[1]
    assert (newest.status, newest.matched, newest.acted, newest.skipped, newest.errors) == (
        "partial",
        3,
        2,
        1,
        1,
    )
    assert newest.where == "123456789012/eu-west-1"
    assert newest.detail == "UnauthorizedOperation: denied; skipped: 1 already stopped"
    assert report.run_counts == (("ok", 2), ("partial", 1))
    (view,) = report.rules
    assert [r.time for r in view.runs] == ["2026-03-26T18:00:00Z", "2026-03-25T18:00:00Z"]
    assert view.last_status == "partial"
    assert not report.offline
    assert report.log_source == "table t"


def test_failed_partial_and_refused_runs_head_the_page() -> None:
    entries = [
        run(
            "dev-office-hours",
            "2026-03-24T18:00:00Z",
            status="failed",
            detail="AccessDenied",
            skipped=[],
        ),
        run("dev-office-hours", "2026-03-25T18:00:00Z", status="refused", detail="not ours"),
        run("dev-office-hours", "2026-03-26T18:00:00Z", status="duplicate"),
        run("dev-office-hours", "2026-03-26T19:00:00Z"),
    ]
    report = build_report([BERLIN], now=NOW, days=7, entries=entries)
    assert [(m.scheduled_time, m.status) for m in report.attention] == [
        ("2026-03-25T18:00:00Z", "refused"),
        ("2026-03-24T18:00:00Z", "failed"),
    ]
    assert report.attention[1].detail == "123456789012/eu-west-1: AccessDenied"
    assert not report.verified


def test_verify_findings_join_the_failed_runs_once() -> None:
    failed = run(
        "dev-office-hours", "2026-03-24T18:00:00Z", status="failed", detail="x", skipped=[]
    )
    verify = [
        Missed("dev-office-hours", "stop", "2026-03-24T18:00:00Z", "failed", "from verify"),
        Missed("dev-office-hours", "start", "2026-03-25T07:00:00Z", "missed", "no run logged"),
    ]
    report = build_report([BERLIN], now=NOW, days=7, entries=[failed], verify=verify)
    assert [(m.scheduled_time, m.status, m.detail) for m in report.attention] == [
        ("2026-03-25T07:00:00Z", "missed", "no run logged"),
        ("2026-03-24T18:00:00Z", "failed", "123456789012/eu-west-1: x"),
    ]
    assert report.verified


def test_the_index_keeps_the_newest_runs_and_counts_them_all() -> None:
    entries = [
        run("dev-office-hours", f"2026-03-2{n % 7}T{n % 24:02d}:{n % 60:02d}:00Z", account=str(n))
        for n in range(data.INDEX_RUNS_MAX + 5)
    ]
    report = build_report([BERLIN], now=NOW, days=7, entries=entries)
    assert len(report.runs) == data.INDEX_RUNS_MAX
    assert report.runs_total == data.INDEX_RUNS_MAX + 5
    assert len(report.rules[0].runs) == data.INDEX_RUNS_MAX + 5


def test_apply_history_links_commits_and_pull_requests_of_a_known_repository() -> None:
    entries = [
        apply_record("2026-03-25T10:00:00Z", pr_number=42, changes_total=3),
        apply_record("2026-03-26T10:00:00Z", commit="not-a-sha", outcome="failed", error="boom"),
    ]
    report = build_report(
        [BERLIN], now=NOW, days=7, entries=entries, repo_url="https://github.com/acme/schedules/"
    )
    newest, older = report.applies
    assert (newest.time, newest.commit_url, newest.pr_url, newest.error) == (
        "2026-03-26T10:00:00Z",
        None,
        None,
        "boom",
    )
    assert older.commit_url == (
        "https://github.com/acme/schedules/commit/0f3c2a9e5b7d1c4e8a6f0f3c2a9e5b7d1c4e8a6f"
    )
    assert (older.pr_number, older.pr_url) == (42, "https://github.com/acme/schedules/pull/42")
    (change,) = older.changes
    assert (change.action, change.kind, change.name, change.result) == (
        "update",
        "schedule",
        "dev-office-hours-stop",
        "updated",
    )
    assert [(f.field, f.before, f.after) for f in change.fields] == [("expression", '"a"', '"b"')]
    assert older.more_changes == 2


@pytest.mark.parametrize(
    "url",
    [None, "javascript:alert(1)", 'https://github.com/acme/x" onmouseover="y', "http://a/b/c"],
)
def test_no_link_without_a_plain_repository_address(url: str | None) -> None:
    report = build_report(
        [BERLIN],
        now=NOW,
        days=7,
        entries=[apply_record("2026-03-25T10:00:00Z", pr_number=7)],
        repo_url=url,
    )
    (shown,) = report.applies
    assert (shown.commit_url, shown.pr_url, shown.pr_number) == (None, None, 7)


def test_target_counts_come_from_the_saved_preview() -> None:
    other = rule("other")
    report = build_report(
        [BERLIN, other], now=NOW, days=7, targets={"dev-office-hours": 12}, targets_from="plan.json"
    )
    assert [(r.name, r.target_count) for r in report.rules] == [
        ("dev-office-hours", 12),
        ("other", None),
    ]
    assert report.targets_from == "plan.json"
    assert (
        build_report([BERLIN], now=NOW, days=7, targets={}, targets_from="p").targets_from is None
    )


def test_each_day_names_its_firings_and_marks_them() -> None:
    day = week.week_of(BERLIN, NOW).days[0]
    assert day.firings == "start 08:00, stop 19:00"
    assert [(m.hour, m.action, m.skipped) for m in day.marks] == [
        (8.0, "start", False),
        (19.0, "stop", False),
    ]
    assert week.week_of(BERLIN, NOW).days[1].firings == ""
    nightly = rule("nightly", start=None, stop="cron(30 22 * * ? *)")
    days = week.week_of(nightly, NOW).days
    assert [d.firings for d in days] == ["stop 22:30"] * 7
    assert [d.bars for d in days] == [()] * 7


def test_a_rate_rule_is_summed_up_not_drawn() -> None:
    often = rule("often", start="rate(5 minutes)", stop="cron(0 19 * * ? *)")
    day = week.week_of(often, NOW).days[1]
    assert day.marks == ()
    assert day.firings == "289 firings"  # 288 starts from midnight, one stop


def test_a_calendar_skip_is_marked_and_turns_nothing_on() -> None:
    def holiday(_rule: Any, firing: Any) -> str | None:
        return "Good Friday" if firing.local.date().isoformat() == "2026-03-27" else None

    report = build_report([BERLIN], now=NOW, days=7, skip=holiday)
    friday = report.rules[0].week.days[0]
    assert friday.firings == "start 08:00 (skipped: Good Friday), stop 19:00 (skipped: Good Friday)"
    assert [m.skipped for m in friday.marks] == [True, True]
    assert friday.bars == ()
    assert report.rules[0].off_week == 112 + 11


@pytest.mark.parametrize(
    "shape",
    [
        {"start": "cron(0 8 ? * MON-FRI *)", "stop": "cron(0 19 ? * MON-FRI *)"},
        {"start": "cron(0 22 ? * MON *)", "stop": "cron(0 6 ? * TUE *)"},
        {"start": "cron(0 5 ? * 2#1 *)", "stop": "cron(0 23 ? * 6L *)"},
        {"start": "rate(7 hours)", "stop": "cron(0 19 * * ? *)"},
    ],
)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "Australia/Sydney", "America/Santiago"])
def test_the_hours_cut_from_one_read_are_the_timelines_own(
    shape: dict[str, str], zone: str
) -> None:
    shown = rule("shape", timezone=zone, **shape)
    times = week.times_of(shown, NOW)
    start = week.local_midnight(shown, NOW)
    for days, off in ((7, times.off_week), (30, times.off_month)):
        end = (start.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=start.tzinfo)
        total = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600
        assert off == round(total - timeline.on_hours(shown, start, end), 2)
    assert times.week == week.week_of(shown, NOW)
