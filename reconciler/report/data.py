"""What the report page shows, as plain data: rules, their times, runs and applies.

Pure: rules, log entries (as runlog reads them) and a clock in, frozen dataclasses out; the
templates only lay them out. Everything here from a rule file or the log table is untrusted
text: it stays text (the templates escape it), and only values checked here become links.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reconciler import logview, runlog, timeengine
from reconciler.model import INSTANCE_ACTIONS, Rule
from reconciler.report.week import Week, times_of
from reconciler.timeline import SkipHook

NEXT_FIRINGS = 3
# The index lists the newest runs only; each rule's page lists all of its own.
INDEX_RUNS_MAX = 200
# Statuses that need a person's look: they head the page.
ATTENTION_STATUSES = ("failed", "partial", "refused")
_SHA = re.compile(r"[0-9a-f]{7,40}")
_REPO_URL = re.compile(r"https://[A-Za-z0-9.-]+(?::\d+)?/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Firing:
    action: str
    local: str  # ISO 8601 with the rule's offset
    utc: str  # ISO 8601 with a Z


@dataclass(frozen=True)
class RunRow:
    time: str  # scheduled, UTC with a Z
    rule: str
    page: str | None  # the rule's page when the rule is in the files
    action: str
    where: str  # account/region
    status: str
    matched: int
    acted: int
    skipped: int
    errors: int
    detail: str


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ChangeRow:
    action: str
    kind: str
    name: str
    result: str
    fields: tuple[FieldChange, ...]


@dataclass(frozen=True)
class ApplyRow:
    time: str
    actor: str
    commit: str
    commit_url: str | None
    pr_number: int | None
    pr_url: str | None
    outcome: str
    summary: str
    error: str | None
    changes: tuple[ChangeRow, ...]
    more_changes: int  # changes the record counted but did not keep


@dataclass(frozen=True)
class Missed:
    """A firing that should have happened and did not, or failed: `reconcile verify`'s kind."""

    rule: str
    action: str
    scheduled_time: str
    status: str  # missed | failed | late
    detail: str


@dataclass(frozen=True)
class RuleView:
    name: str
    page: str
    description: str
    enabled: bool
    timezone: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    resource: str
    calendar: str | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    start: str | None
    stop: str | None
    hibernate: bool
    max_instances: int
    source: str | None  # file:line
    next_firings: tuple[Firing, ...]
    week: Week
    off_week: float | None  # None: the rule alone does not say (week.hours_off)
    off_month: float | None
    target_count: int | None
    runs: tuple[RunRow, ...]
    last_status: str | None


@dataclass(frozen=True)
class Report:
    generated_at: str  # UTC with a Z
    offline: bool
    days: int
    log_source: str | None  # "table T in region R" when the log was read
    rules: tuple[RuleView, ...]
    runs: tuple[RunRow, ...]  # newest first, at most INDEX_RUNS_MAX
    runs_total: int
    run_counts: tuple[tuple[str, int], ...]  # status -> count, over every run in the window
    applies: tuple[ApplyRow, ...]  # newest first
    attention: tuple[Missed, ...]  # failed, partial or refused runs, and verify's findings
    verified: bool  # whether `attention` includes a missed-firing check (reconcile verify)
    targets_from: str | None  # where the target counts come from (a saved plan)


def rule_page(name: str) -> str:
    """A rule's page, relative to index.html (rule names are [a-z0-9-], safe as file names)."""
    return f"rules/{name}.html"


def build_report(
    rules: Sequence[Rule],
    *,
    now: datetime,
    days: int,
    entries: Sequence[Mapping[str, Any]] | None = None,
    log_source: str | None = None,
    targets: Mapping[str, int] | None = None,
    targets_from: str | None = None,
    verify: Sequence[Missed] | None = None,
    repo_url: str | None = None,
    skip: SkipHook | None = None,
) -> Report:
    """`entries` None means offline: rules and times only, no run log or apply history.

    `skip` is the timeline's hook for firings that do nothing (a rule's holiday calendar).
    """
    runs = _runs(entries or (), {rule.name for rule in rules})
    by_rule: dict[str, list[RunRow]] = {}
    for run in runs:
        by_rule.setdefault(run.rule, []).append(run)
    return Report(
        generated_at=runlog.iso_z(now),
        offline=entries is None,
        days=days,
        log_source=log_source if entries is not None else None,
        rules=tuple(
            _rule_view(rule, now, by_rule.get(rule.name, []), (targets or {}).get(rule.name), skip)
            for rule in sorted(rules, key=lambda r: r.name)
        ),
        runs=tuple(runs[:INDEX_RUNS_MAX]),
        runs_total=len(runs),
        run_counts=tuple(sorted(Counter(r.status for r in runs).items())),
        applies=_applies(entries or (), _repo(repo_url)),
        attention=tuple(_attention(runs, verify or ())),
        verified=verify is not None,
        targets_from=targets_from if targets else None,
    )


def _runs(entries: Iterable[Mapping[str, Any]], known: set[str]) -> list[RunRow]:
    """The executor's runs, newest first."""
    runs = [_run_row(e, known) for e in entries if e.get("kind") == runlog.KIND_RUN]
    return sorted(runs, key=lambda r: (r.time, r.rule, r.action, r.where), reverse=True)


def _applies(entries: Iterable[Mapping[str, Any]], repo_url: str | None) -> tuple[ApplyRow, ...]:
    """The apply records, newest first."""
    applies = [_apply_row(e, repo_url) for e in entries if e.get("kind") == runlog.KIND_APPLY]
    return tuple(sorted(applies, key=lambda a: a.time, reverse=True))


def _rule_view(
    rule: Rule,
    now: datetime,
    runs: Sequence[RunRow],
    target_count: int | None,
    skip: SkipHook | None,
) -> RuleView:
    times = times_of(rule, now, skip)
    return RuleView(
        name=rule.name,
        page=rule_page(rule.name),
        description=rule.description or "",
        enabled=rule.enabled,
        timezone=rule.timezone,
        accounts=rule.accounts,
        regions=rule.regions,
        # resource and calendar (DESIGN.md §9, §12) arrive with rule files of turn 2.
        resource=str(getattr(rule, "resource", None) or "ec2"),
        calendar=getattr(rule, "calendar", None),
        filters=rule.targets,
        start=rule.start,
        stop=rule.stop,
        hibernate=rule.hibernate,
        max_instances=rule.max_instances,
        source=f"{rule.location.file}:{rule.location.line}" if rule.location else None,
        next_firings=tuple(next_firings(rule, now)),
        week=times.week,
        off_week=times.off_week,
        off_month=times.off_month,
        target_count=target_count,
        runs=tuple(runs),
        last_status=runs[0].status if runs else None,
    )


def next_firings(rule: Rule, now: datetime, count: int = NEXT_FIRINGS) -> list[Firing]:
    """The next `count` firings of the rule, start and stop merged in time order."""
    found: list[tuple[datetime, str]] = []
    for action in INSTANCE_ACTIONS:
        expression = rule.expression(action)
        if expression is None:
            continue
        for fire in timeengine.next_fires(expression, rule.timezone, now, count):
            found.append((fire, action))
    found.sort(key=lambda pair: (pair[0], pair[1]))
    return [Firing(action, fire.isoformat(), runlog.iso_z(fire)) for fire, action in found[:count]]


def _run_row(entry: Mapping[str, Any], known: set[str]) -> RunRow:
    rule = str(entry.get("rule", ""))
    return RunRow(
        time=runlog.entry_time(entry),
        rule=rule,
        page=rule_page(rule) if rule in known else None,
        action=str(entry.get("action", "")),
        where=f"{entry.get('account', '')}/{entry.get('region', '')}",
        status=logview.status_of(entry),
        matched=_int(entry.get("matched", 0)),
        acted=_int(entry.get("acted_count", len(entry.get("acted", [])))),
        skipped=_int(entry.get("skipped_count", len(entry.get("skipped", [])))),
        errors=_int(entry.get("error_count", len(entry.get("errors", [])))),
        detail=logview.run_detail(entry),
    )


def _apply_row(entry: Mapping[str, Any], repo_url: str | None) -> ApplyRow:
    commit = str(entry.get("commit", ""))
    pr = entry.get("pr_number")
    pr_number = pr if isinstance(pr, int) and not isinstance(pr, bool) and pr > 0 else None
    kept = tuple(_change_row(c) for c in _list(entry.get("changes")) if isinstance(c, Mapping))
    total = _int(entry.get("changes_total", len(kept)))
    return ApplyRow(
        time=runlog.entry_time(entry),
        actor=str(entry.get("actor", "")),
        commit=commit,
        commit_url=(f"{repo_url}/commit/{commit}" if repo_url and _SHA.fullmatch(commit) else None),
        pr_number=pr_number,
        pr_url=f"{repo_url}/pull/{pr_number}" if repo_url and pr_number else None,
        outcome=logview.status_of(entry),
        summary=str(entry.get("summary", "")),
        error=str(entry["error"]) if entry.get("error") else None,
        changes=kept,
        more_changes=max(total - len(kept), 0),
    )


def _change_row(change: Mapping[str, Any]) -> ChangeRow:
    return ChangeRow(
        action=str(change.get("action", "")),
        kind=str(change.get("kind", "")),
        name=str(change.get("name", "")),
        result=str(change.get("result", "")),
        fields=tuple(
            FieldChange(
                str(d.get("field", "")),
                str(d["before"]) if "before" in d else None,
                str(d["after"]) if "after" in d else None,
            )
            for d in _list(change.get("diff"))
            if isinstance(d, Mapping)
        ),
    )


def _attention(runs: Sequence[RunRow], verify: Sequence[Missed]) -> list[Missed]:
    found = [
        Missed(
            run.rule, run.action, run.time, run.status, f"{run.where}: {run.detail}".rstrip(": ")
        )
        for run in runs
        if run.status in ATTENTION_STATUSES
    ]
    seen = {(m.rule, m.action, m.scheduled_time) for m in found}
    found += [m for m in verify if (m.rule, m.action, m.scheduled_time) not in seen]
    return sorted(found, key=lambda m: m.scheduled_time, reverse=True)


def _repo(url: str | None) -> str | None:
    """A repository's web address (links to commits and pull requests), when it looks like one."""
    if url and _REPO_URL.fullmatch(url.rstrip("/")):
        return url.rstrip("/")
    return None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: object) -> int:
    """A count from the log table; anything but a whole number counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
