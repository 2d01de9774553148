"""The reviewer's view of a plan (DESIGN.md §10): per rule, what changes in words, its next
firings with DST notes, what it hits now and the change in that, warnings and conflicts.

Pure. Rules are compared as deployed (read back from the live schedules' Input) and as
desired (from the desired schedules, so both sides use the same canonical spelling). What each
rule's filters match comes in as data: reconciler.preview reads it, with the executor's own
filter translation, and the skip reasons here are the executor's (executor/selection.py for
EC2, the pure SKIP_REASONS of executor/kinds.py for the other kinds, imported from their modules
so this core stays free of boto3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, NamedTuple

from reconciler import calendars, checks
from reconciler.calendars import Calendar
from reconciler.conflicts import (
    MAX_PAIRS,
    Conflict,
    InstanceKey,
    Scan,
    Timing,
    scan_conflicts,
)
from reconciler.executor.asgselect import Group, asg_skip_reason
from reconciler.executor.dbselect import (
    DbCluster,
    DbInstance,
    aurora_skip_reason,
    rds_skip_reason,
)
from reconciler.executor.selection import IN_TARGET_STATE, Instance, Skip, skip_reason
from reconciler.model import DEFAULT_MAX_INSTANCES, INSTANCE_ACTIONS, Location, Rule
from reconciler.plan import Plan, json_object
from reconciler.resources import ScheduleSpec
from reconciler.schedule_words import change_words, when
from reconciler.timeengine import ExpressionError, TimezoneError, gap_skips, next_fires

RuleChange = Literal["create", "update", "delete", "unchanged"]
TargetsMode = Literal["changed", "all", "none"]
TARGETS_MODES: tuple[TargetsMode, ...] = ("changed", "all", "none")
NEXT_COUNT = 3
DST_NOTE_DAYS = 366
OVER_CAP: Final = "over-cap"
# (name, values) with names and values sorted: one spelling of a filter set.
FilterSet = tuple[tuple[str, tuple[str, ...]], ...]
# What a described resource of any kind is (each has an `id` and `tags`).
Resource = Instance | DbInstance | DbCluster | Group
# The executor's pure skip reason of each kind but ec2 (kinds.SKIP_REASONS; a test checks that
# they are the very same functions).
SKIP_REASONS: dict[str, Callable[[Any, str], Skip | None]] = {
    "rds": rds_skip_reason,
    "aurora": aurora_skip_reason,
    "asg": asg_skip_reason,
}


class ReadKey(NamedTuple):
    """What one Describe pagination answers: (account, region, filter set) of a kind."""

    account: str
    region: str
    filters: FilterSet
    resource: str = "ec2"


def noun(resource: str, count: int = 1) -> str:
    """ "instance", "DB instances", "Auto Scaling group"..."""
    word = checks.RESOURCE_NOUNS.get(resource, "resource")
    return word if count == 1 else f"{word}s"


def filter_set(targets: Iterable[tuple[str, Sequence[str]]]) -> FilterSet:
    return tuple(sorted((name, tuple(sorted(set(values)))) for name, values in targets))


@dataclass(frozen=True)
class RuleState:
    """A rule as it is deployed or desired: what its schedules say."""

    name: str
    timezone: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    start: str | None = None
    stop: str | None = None
    max_instances: int = DEFAULT_MAX_INSTANCES
    enabled: bool = True
    hibernate: bool = False
    resource: str = "ec2"  # DESIGN §9
    calendar: Calendar | None = None  # §12: its firings on these dates do nothing
    location: Location | None = field(default=None, compare=False)

    def expression(self, action: str) -> str | None:
        return self.start if action == "start" else self.stop

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(a for a in INSTANCE_ACTIONS if self.expression(a) is not None)

    @property
    def filters(self) -> FilterSet:
        return filter_set(self.targets)

    @property
    def scope(self) -> tuple[str, tuple[str, ...], tuple[str, ...], FilterSet]:
        """Equal scopes match provably the same resources, however the YAML spelled them."""
        accounts, regions = tuple(sorted(set(self.accounts))), tuple(sorted(set(self.regions)))
        return self.resource, accounts, regions, self.filters

    def reads(self) -> list[ReadKey]:
        return [
            ReadKey(a, r, self.filters, self.resource) for a in self.accounts for r in self.regions
        ]

    def same_settings(self, other: RuleState) -> bool:
        return dataclasses.replace(self, name=other.name) == other


def rule_states(
    schedules: Iterable[ScheduleSpec], locations: Mapping[str, Location | None] | None = None
) -> dict[str, RuleState]:
    """The rules the schedules were built from, by name (a schedule whose Input is not an
    executor event is no rule's)."""
    states: dict[str, RuleState] = {}
    for schedule in schedules:
        event = json_object(schedule.input)
        if event is None or checks.check_event(event):
            continue
        name, action = str(event["rule"]), str(event["action"])
        state = states.get(name) or RuleState(
            name=name,
            timezone=schedule.timezone or "UTC",
            accounts=tuple(event["accounts"]),
            regions=tuple(event["regions"]),
            targets=tuple((k, tuple(v)) for k, v in event["targets"].items()),
            max_instances=int(event["max_instances"]),
            enabled=schedule.state != "DISABLED",
            hibernate=bool(event["hibernate"]),
            resource=str(event.get("resource", "ec2")),
            calendar=Calendar.from_event(event["calendar"]) if "calendar" in event else None,
            location=(locations or {}).get(name),
        )
        # A rule is enabled when all its schedules are (drift can disable one of them).
        enabled = state.enabled and schedule.state != "DISABLED"
        if action == "start":
            state = dataclasses.replace(state, start=schedule.expression, enabled=enabled)
        else:
            state = dataclasses.replace(state, stop=schedule.expression, enabled=enabled)
        states[name] = state
    return states


def locations(rules: Iterable[Rule]) -> dict[str, Location | None]:
    return {r.name: r.location for r in rules}


# What the preview read


@dataclass(frozen=True)
class Found:
    """One read's answer (the resources its Describe call matched), or why there is none."""

    resources: tuple[Resource, ...] = ()
    persistent_spot: frozenset[str] = frozenset()
    error: str | None = None


@dataclass(frozen=True)
class Hit:
    account: str
    region: str
    id: str
    name: str | None
    state: str
    skip: str | None


@dataclass(frozen=True)
class ReadError:
    account: str
    region: str
    message: str


@dataclass(frozen=True)
class Targets:
    instances: tuple[Hit, ...]
    errors: tuple[ReadError, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        return len(self.instances)

    def instance_keys(self) -> frozenset[InstanceKey]:
        return frozenset((h.account, h.region, h.id) for h in self.instances)


@dataclass(frozen=True)
class RuleReview:
    name: str
    change: RuleChange
    timezone: str
    summary: tuple[str, ...]  # what changes, in words
    next: tuple[tuple[str, tuple[datetime, ...]], ...]  # (action, fire times in the rule's zone)
    notes: tuple[str, ...]  # DST notes
    targets: Targets | None  # None: not read (--targets none, or an unchanged rule)
    warnings: tuple[str, ...]
    location: Location | None = None
    renamed_from: str | None = None
    renamed_to: str | None = None
    resource: str = "ec2"

    @property
    def affected(self) -> bool:
        return self.change != "unchanged"


@dataclass(frozen=True)
class Review:
    rules: tuple[RuleReview, ...]
    conflicts: tuple[Conflict, ...]
    targets_mode: TargetsMode = "changed"
    conflict_pairs: int = 0  # every conflicting pair found (more than are listed, at scale)

    @property
    def unlisted_pairs(self) -> int:
        return self.conflict_pairs - len({c.rules for c in self.conflicts})

    def rule(self, name: str) -> RuleReview | None:
        return next((r for r in self.rules if r.name == name), None)


# Building the review


def rule_changes(
    plan: Plan, desired: Mapping[str, RuleState], deployed: Mapping[str, RuleState]
) -> dict[str, RuleChange]:
    """create / update / delete / unchanged per rule, from its schedules' changes."""
    changed = {c.name for c in plan.changes if c.kind == "schedule"}
    result: dict[str, RuleChange] = {}
    for name in sorted(set(desired) | set(deployed)):
        if name not in deployed:
            result[name] = "create"
        elif name not in desired:
            result[name] = "delete"
        elif any(f"{name}-{a}" in changed for a in INSTANCE_ACTIONS):
            result[name] = "update"
        else:
            result[name] = "unchanged"
    return result


def renames(
    changes: Mapping[str, RuleChange],
    desired: Mapping[str, RuleState],
    deployed: Mapping[str, RuleState],
) -> dict[str, str]:
    """Deleted rule -> created rule with the very same settings (a rename in the YAML)."""
    created = [n for n, c in changes.items() if c == "create"]
    pairs: dict[str, str] = {}
    for old in (n for n, c in changes.items() if c == "delete"):
        new = next(
            (
                n
                for n in created
                if n not in pairs.values() and deployed[old].same_settings(desired[n])
            ),
            None,
        )
        if new is not None:
            pairs[old] = new
    return pairs


def reads_needed(
    changes: Mapping[str, RuleChange],
    desired: Mapping[str, RuleState],
    deployed: Mapping[str, RuleState],
    mode: TargetsMode,
) -> set[ReadKey]:
    """Every (account, region, filter set) the preview reads, identical sets once: every
    rule's with `all`; with `changed`, the affected rules' (both sides of an update) and, for
    conflicts, those of the enabled rules sharing an account and region with one of them."""
    if mode == "none":
        return set()
    keys: set[ReadKey] = set()
    for name, change in changes.items():
        if mode == "changed" and change == "unchanged":
            continue
        for state in (desired.get(name), deployed.get(name)):
            if state is not None:
                keys.update(state.reads())
    # Conflicts are between resources of one kind: (kind, account, region).
    places = {(k.resource, k.account, k.region) for k in keys}
    for state in desired.values():
        reads = state.reads()
        if state.enabled and any((k.resource, k.account, k.region) in places for k in reads):
            keys.update(reads)
    return keys


@dataclass(frozen=True)
class RuleStates:
    """Every rule as desired and as deployed, and what the plan does to each."""

    desired: Mapping[str, RuleState]
    deployed: Mapping[str, RuleState]
    changes: Mapping[str, RuleChange]

    def reads(self, mode: TargetsMode) -> set[ReadKey]:
        return reads_needed(self.changes, self.desired, self.deployed, mode)


def rule_states_of(
    plan: Plan,
    rules: Sequence[Rule],
    desired_schedules: Sequence[ScheduleSpec],
    deployed_schedules: Sequence[ScheduleSpec],
) -> RuleStates:
    where = locations(rules)
    desired = rule_states(desired_schedules, where)
    deployed = rule_states(deployed_schedules, where)
    return RuleStates(desired, deployed, rule_changes(plan, desired, deployed))


def build_review(
    states: RuleStates,
    found: Mapping[ReadKey, Found],
    *,
    now: datetime,
    mode: TargetsMode = "changed",
) -> Review:
    desired, deployed = states.desired, states.deployed
    renamed = renames(states.changes, desired, deployed)
    reviews = []
    for name, change in states.changes.items():
        read = mode == "all" or (mode == "changed" and change != "unchanged")
        reviews.append(
            _rule_review(name, change, desired.get(name), deployed.get(name), found, read, now)
        )
    reviews = [_with_rename(r, renamed) for r in reviews]
    scan = _conflicts(desired, found, now)
    return Review(tuple(reviews), scan.conflicts, mode, scan.pairs)


def _with_rename(review: RuleReview, renamed: Mapping[str, str]) -> RuleReview:
    if review.name in renamed:
        return dataclasses.replace(review, renamed_to=renamed[review.name])
    old = next((o for o, n in renamed.items() if n == review.name), None)
    if old is None:
        return review
    line = (
        f"the same settings under a new name: AWS cannot rename a schedule, so apply deletes "
        f"{old}'s schedules and creates {review.name}'s"
    )
    return dataclasses.replace(review, renamed_from=old, summary=(line,))


def _rule_review(
    name: str,
    change: RuleChange,
    desired: RuleState | None,
    deployed: RuleState | None,
    found: Mapping[ReadKey, Found],
    read: bool,
    now: datetime,
) -> RuleReview:
    shown = desired or deployed
    assert shown is not None
    targets: Targets | None = None
    warnings: list[str] = []
    if read:
        targets, warnings = rule_targets(shown, found)
        targets = _with_changes(targets, change, desired, deployed, found)
        if change == "delete":  # what a deleted rule matches is no one's problem any more
            warnings = [w for w in warnings if w.startswith("could not read")]
    return RuleReview(
        name=name,
        change=change,
        timezone=shown.timezone,
        summary=(
            *summary(change, desired, deployed),
            *(calendar_lines(desired, next_firings(desired, now)) if desired else ()),
        ),
        next=next_firings(desired, now) if desired else (),
        notes=tuple(dst_notes(desired, now)) if desired else (),
        targets=targets,
        warnings=tuple(warnings),
        location=shown.location,
        resource=shown.resource,
    )


def next_firings(state: RuleState, now: datetime) -> tuple[tuple[str, tuple[datetime, ...]], ...]:
    """The next 3 fire times of each expression (none while the rule is disabled)."""
    if not state.enabled:
        return ()
    result = []
    for action in state.actions:
        expression = state.expression(action)
        assert expression is not None
        try:
            fires = next_fires(expression, state.timezone, now, NEXT_COUNT)
        except (ExpressionError, TimezoneError):
            fires = []
        result.append((action, tuple(fires)))
    return tuple(result)


def calendar_lines(state: RuleState, fires: Sequence[tuple[str, Sequence[datetime]]]) -> list[str]:
    """Which of the next firings the rule's calendar (§12) turns into a logged skip."""
    if state.calendar is None:
        return []
    lines = []
    for action, times in fires:
        for fire in times:
            reason = calendars.skip_reason_at(state.calendar, fire)
            if reason is not None:
                lines.append(f"the {action} of {fire:%a %Y-%m-%d %H:%M} does nothing: {reason}")
    return lines


def dst_notes(state: RuleState, now: datetime) -> list[str]:
    """ "2027-03-28: 02:30 does not exist in Europe/Berlin: skipped", for the next year."""
    notes: list[str] = []
    for action in state.actions:
        expression = state.expression(action)
        assert expression is not None
        try:
            skipped = gap_skips(expression, state.timezone, now, DST_NOTE_DAYS)
        except (ExpressionError, TimezoneError):
            skipped = []
        notes += [
            f"{wall:%Y-%m-%d}: {wall:%H:%M} does not exist in {state.timezone}: {action} skipped"
            for wall in skipped
        ]
    return notes


# What changes, in words


def summary(change: RuleChange, desired: RuleState | None, deployed: RuleState | None) -> list[str]:
    if change == "delete":
        shown = deployed or desired
        what = noun(shown.resource if shown is not None else "ec2", 2)
        return [
            f"deleted: its schedules go, so nothing starts or stops these {what} any more "
            "(they stay as they are now)"
        ]
    assert desired is not None
    if change == "create" or deployed is None:
        return _created(desired)
    if change == "unchanged":
        return ["no change"]
    return _updated(deployed, desired) or ["schedule settings change (see the field diff)"]


def _created(state: RuleState) -> list[str]:
    verbs = {"start": "starts", "stop": "stops"}
    lines = [
        f"{verbs[a]} {when(state.expression(a) or '')}, {state.timezone}" for a in state.actions
    ]
    lines.append(f"acts on {filters_text(state.filters)} in {_where(state)}")
    if not state.enabled:
        lines.append("created disabled: its schedules exist but do not fire")
    return lines


def _where(state: RuleState) -> str:
    return f"{', '.join(state.accounts)} / {', '.join(state.regions)}"


def filters_text(filters: FilterSet) -> str:
    return ", ".join(f"{name}={'|'.join(values)}" for name, values in filters)


def _updated(before: RuleState, after: RuleState) -> list[str]:
    tz = after.timezone
    lines = [
        line
        for line in (
            change_words("starts", before.start, after.start, tz),
            change_words("stops", before.stop, after.stop, tz),
        )
        if line
    ]
    if before.timezone != after.timezone:
        lines.append(f"time zone {after.timezone} instead of {before.timezone}")
    if before.enabled != after.enabled:
        lines.append(
            "enabled again: its schedules fire"
            if after.enabled
            else "disabled: its schedules stay but do not fire"
        )
    lines += _scope_lines(before, after)
    if before.max_instances != after.max_instances:
        lines.append(f"max_instances {after.max_instances} instead of {before.max_instances}")
    if before.hibernate != after.hibernate:
        lines.append("stops with hibernation" if after.hibernate else "stops without hibernation")
    return lines


def _scope_lines(before: RuleState, after: RuleState) -> list[str]:
    lines = []
    for label, old, new in (
        ("accounts", before.accounts, after.accounts),
        ("regions", before.regions, after.regions),
    ):
        added = [x for x in new if x not in old]
        gone = [x for x in old if x not in new]
        if added or gone:
            parts = [f"+{x}" for x in added] + [f"-{x}" for x in gone]
            lines.append(f"{label}: {' '.join(parts)}")
    if before.filters != after.filters:
        lines.append(
            f"filters {filters_text(after.filters)} instead of {filters_text(before.filters)}"
        )
    return lines


# What it hits


def rule_targets(state: RuleState, found: Mapping[ReadKey, Found]) -> tuple[Targets, list[str]]:
    """The instances the rule's filters match now, each with the executor's skip reason, and
    the warnings a reviewer must see."""
    hits: list[Hit] = []
    errors: list[ReadError] = []
    warnings: list[str] = []
    for key in state.reads():
        account, region = key.account, key.region
        answer = found.get(key, Found(error="not read"))
        if answer.error is not None:
            errors.append(ReadError(account, region, answer.error))
            warnings.append(f"could not read {account} {region}: {answer.error}")
            continue
        pair, warning = _pair_hits(state, account, region, answer)
        hits += pair
        warnings += [warning] if warning else []
    if not hits and len(errors) < len(state.reads()):
        read_where = "anywhere" if not errors else "in the accounts and regions that could be read"
        warnings.insert(
            0,
            f"matches no {noun(state.resource)} {read_where}: check the filters: "
            f"{filters_text(state.filters)}",
        )
    return Targets(tuple(hits), tuple(errors)), warnings


def _pair_hits(
    state: RuleState, account: str, region: str, answer: Found
) -> tuple[list[Hit], str | None]:
    kind = state.resource
    skips = {r.id: _skip(r, kind, state.actions, answer.persistent_spot) for r in answer.resources}
    # The executor counts, per (account, region), what it would act on; a state that changes
    # between firings (running, stopped) is acted on at one of them.
    candidates = [r.id for r in answer.resources if _may_act(skips[r.id])]
    warning = None
    over = len(candidates) > state.max_instances
    many = noun(kind, len(candidates))
    if over:
        warning = (
            f"matches {len(candidates)} {many} in {account} {region}, more than max_instances "
            f"({state.max_instances}): the executor will act on none of them at every firing; "
            "narrow the filters or raise max_instances"
        )
    hits = []
    for resource in sorted(answer.resources, key=lambda r: r.id):
        skip = skips[resource.id]
        detail = skip.detail if skip is not None else None
        if over and resource.id in candidates:
            detail = (
                f"over the cap: {len(candidates)} {many} here, max_instances {state.max_instances}"
            )
        name, status = name_and_state(resource)
        hits.append(Hit(account, region, resource.id, name, status, detail))
    return hits, warning


def name_and_state(resource: Resource) -> tuple[str | None, str]:
    """What the preview shows beside the identifier: the Name tag, and the state or status."""
    if isinstance(resource, Instance):
        return resource.name, resource.state
    if isinstance(resource, Group):
        return resource.tags.get("Name"), resource.status or capacity_text(resource)
    return resource.tags.get("Name"), resource.status


def capacity_text(group: Group) -> str:
    """ "desired 2 (min 1, max 4)", and what a stop saved: a group's state in words."""
    c = group.capacity
    text = f"desired {c.desired} (min {c.min}, max {c.max})"
    saved = group.saved
    return text if saved is None else f"{text}, saved {saved.tag_value()}"


def _may_act(skip: Skip | None) -> bool:
    return skip is None or skip.reason == IN_TARGET_STATE


def _skip(
    resource: Resource, kind: str, actions: Sequence[str], persistent: frozenset[str]
) -> Skip | None:
    """The executor's reason to leave it alone at every firing of the rule, else None; a
    lasting reason (Auto Scaling member...) before "already running", which changes."""
    skips = [_skip_at(resource, kind, action, persistent) for action in actions]
    found = [s for s in skips if s is not None]
    if not skips or len(found) < len(skips):
        return None
    return next((s for s in found if s.reason != IN_TARGET_STATE), found[0])


def _skip_at(resource: Resource, kind: str, action: str, persistent: frozenset[str]) -> Skip | None:
    if isinstance(resource, Instance):
        return skip_reason(resource, action, persistent)
    return SKIP_REASONS[kind](resource, action)


def _with_changes(
    targets: Targets,
    change: RuleChange,
    desired: RuleState | None,
    deployed: RuleState | None,
    found: Mapping[ReadKey, Found],
) -> Targets:
    """added / removed against what the deployed schedules' filters match now."""
    now_ids = {(h.account, h.region, h.id) for h in targets.instances}
    if change == "create" or deployed is None:
        return dataclasses.replace(targets, added=_ids(now_ids))
    before, _ = rule_targets(deployed, found)
    if change == "delete" or desired is None:
        return dataclasses.replace(targets, removed=_ids(before.instance_keys()))
    unread = {(e.account, e.region) for e in (*before.errors, *targets.errors)}
    then_ids = {k for k in before.instance_keys() if (k[0], k[1]) not in unread}
    now_known = {k for k in now_ids if (k[0], k[1]) not in unread}
    return dataclasses.replace(
        targets, added=_ids(now_known - then_ids), removed=_ids(then_ids - now_known)
    )


def _ids(keys: Iterable[InstanceKey]) -> tuple[str, ...]:
    return tuple(sorted({k[2] for k in keys}))


# Conflicts


def _conflicts(
    desired: Mapping[str, RuleState], found: Mapping[ReadKey, Found], now: datetime
) -> Scan:
    """Conflicts between enabled rules of one kind (an instance and a DB never collide, even
    with the same filters), kind by kind, listed by rule names up to MAX_PAIRS pairs."""
    enabled = [s for s in desired.values() if s.enabled]
    listed: list[Conflict] = []
    pairs = 0
    for kind in sorted({s.resource for s in enabled}):
        scan = _kind_conflicts([s for s in enabled if s.resource == kind], found, now)
        listed += scan.conflicts
        pairs += scan.pairs
    listed.sort(key=lambda c: c.rules)  # stable: each pair's entries keep their order
    kept = set(sorted({c.rules for c in listed})[:MAX_PAIRS])
    return Scan(tuple(c for c in listed if c.rules in kept), pairs)


def _kind_conflicts(
    enabled: Sequence[RuleState], found: Mapping[ReadKey, Found], now: datetime
) -> Scan:
    timings = [
        Timing(s.name, s.timezone, s.start, s.stop, s.scope, s.resource, s.calendar)
        for s in enabled
    ]
    matched = {}
    for state in enabled:
        answers = [found.get(key) for key in state.reads()]
        if all(a is not None and a.error is None for a in answers):
            matched[state.name] = rule_targets(state, found)[0].instance_keys()
    return scan_conflicts(timings, matched, now.astimezone(UTC))


# The JSON plan's "rules" and "conflicts" (DESIGN.md §10)


def rules_document(review: Review) -> list[dict[str, Any]]:
    return [_rule_document(r) for r in review.rules]


def _rule_document(review: RuleReview) -> dict[str, Any]:
    rename = None
    if review.renamed_from or review.renamed_to:
        rename = {
            "from": review.renamed_from or review.name,
            "to": review.renamed_to or review.name,
        }
    return {
        "name": review.name,
        "resource": review.resource,
        "change": review.change,
        "next": {action: [f.isoformat() for f in fires] for action, fires in review.next},
        "targets": _targets_document(review.targets) if review.targets is not None else None,
        "warnings": list(review.warnings),
        "summary": list(review.summary),
        "notes": list(review.notes),
        "rename": rename,
    }


def _targets_document(targets: Targets) -> dict[str, Any]:
    return {
        "count": targets.count,
        "instances": [dataclasses.asdict(h) for h in targets.instances],
        "errors": [dataclasses.asdict(e) for e in targets.errors],
        "added": list(targets.added),
        "removed": list(targets.removed),
    }


def conflicts_document(review: Review) -> list[dict[str, Any]]:
    """One entry per shared instance (at most 20 a pair, 500 pairs; `conflict_pairs` counts
    them all). `resolution` is "held-on" where the executor's union of on-windows keeps the
    instances up at the stop (no conflict at fire time), else null."""
    return [
        {
            "rules": list(c.rules),
            "id": c.id,
            "message": c.message,
            "account": c.account,
            "region": c.region,
            "when": c.when.isoformat(),
            "static": c.static,
            "soon": c.soon,
            "resolution": c.resolution,
            "held_until": c.held_until.isoformat() if c.held_until else None,
        }
        for c in review.conflicts
    ]
