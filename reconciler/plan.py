"""The plan: a pure function of the desired and the live state.

No AWS in here (the import-linter contracts keep boto3, botocore and click out). A plan is an
ordered list of changes, in the order apply makes them: the log table, the dead-letter
queue, the executor, the schedule group, schedule creates and updates by name, and deletes last. An update carries a
field-level diff; an update always sends the whole desired object, as AWS replaces it.

A plan is also a document, the JSON plan of DESIGN.md §7 that `plan --out` saves and
`apply PLANFILE` reads back: reconciler.planfile writes it and reads it back (as Terraform
keeps plans and plans/planfile apart). The fingerprints it carries are computed here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from reconciler import checks, runlog
from reconciler.desired import DesiredState, described_group, function_arn
from reconciler.errors import FatalError
from reconciler.model import Settings
from reconciler.resources import (
    DEAD_LETTER_QUEUE,
    EXECUTOR,
    KINDS,
    LOG_TABLE,
    SCHEDULE,
    SCHEDULE_GROUP,
    LiveState,
    Resource,
    ResourceKind,
    ScheduleSpec,
    canonical_json,
)

if TYPE_CHECKING:  # review.py builds on Plan; a plan only carries its review along
    from reconciler.review import Review

# What a plan does to a resource (not a rule's start/stop).
ChangeAction = Literal["create", "update", "delete"]
CREATE: Final = "create"
UPDATE: Final = "update"
DELETE: Final = "delete"
CHANGE_ACTIONS: tuple[ChangeAction, ...] = (CREATE, UPDATE, DELETE)


class PlanError(FatalError):
    """A plan that cannot be made or read."""


class PlanMismatch(PlanError):
    """A saved plan whose parts do not agree: edited, or not made by `reconcile plan`."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    action: ChangeAction
    kind: ResourceKind
    name: str
    desired: Resource | None = None  # create, update: the whole object to send
    before: Resource | None = None  # update, delete: what is live now
    diff: tuple[FieldChange, ...] = ()  # update

    def changed(self, field: str) -> bool:
        return any(f.field == field for f in self.diff)

    @property
    def symbol(self) -> str:
        return {CREATE: "+", UPDATE: "~", DELETE: "-"}[self.action]


@dataclass(frozen=True)
class Plan:
    settings: Settings
    changes: tuple[Change, ...]
    unchanged: int
    live_fingerprint: str
    desired_fingerprint: str
    managed_schedules: int  # schedules live in the owned group when the plan was made
    notes: tuple[str, ...] = ()
    # "<kind> <name>" -> fingerprint of each live resource, so a stale plan names what changed.
    live_resources: tuple[tuple[str, str], ...] = ()
    # The reviewer's view (rules, targets, conflicts; DESIGN.md §10): shown, never applied.
    review: Review | None = dataclasses.field(default=None, compare=False)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in CHANGE_ACTIONS} | {"unchanged": self.unchanged}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def mass_delete(self) -> MassDelete | None:
        """The mass-delete rail: too many of the managed schedules go (or all, replaced by none)."""
        deletes = sum(1 for c in self.changes if c.kind == SCHEDULE and c.action == DELETE)
        creates = sum(1 for c in self.changes if c.kind == SCHEDULE and c.action == CREATE)
        if deletes == 0:
            return None
        s = self.settings
        everything = deletes >= self.managed_schedules and creates == 0
        over = (
            deletes > s.max_delete_count
            and deletes > s.max_delete_fraction * self.managed_schedules
        )
        if not (everything or over):
            return None
        return MassDelete(
            deletes, self.managed_schedules, s.max_delete_count, s.max_delete_fraction, everything
        )

    def without(self, done: Sequence[Change]) -> Plan:
        return dataclasses.replace(self, changes=tuple(c for c in self.changes if c not in done))


@dataclass(frozen=True)
class MassDelete:
    deletes: int
    managed: int
    max_count: int
    max_fraction: float
    everything: bool  # every managed schedule goes and none is created

    def document(self) -> dict[str, Any]:
        return {
            "deletes": self.deletes,
            "managed": self.managed,
            "threshold": {
                "max_delete_count": self.max_count,
                "max_delete_fraction": self.max_fraction,
            },
        }


def diff(before: Resource, after: Resource) -> tuple[FieldChange, ...]:
    """Field-level differences; a JSON Input is compared key by key."""
    old, new = before.fields(), after.fields()
    changes: list[FieldChange] = []
    for field in [*new, *(k for k in old if k not in new)]:
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if field == "Target.Input":
            changes += _input_diff(a, b)
        else:
            changes.append(FieldChange(field, a, b))
    return tuple(changes)


def json_object(text: object) -> dict[str, Any] | None:
    """A JSON text that holds an object (a schedule's Input), else None."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _input_diff(before: object, after: object) -> list[FieldChange]:
    old, new = json_object(before), json_object(after)
    if old is None or new is None:
        return [FieldChange("Target.Input", before, after)]
    keys = [*new, *(k for k in old if k not in new)]
    return [
        FieldChange(f"Target.Input.{k}", old.get(k), new.get(k))
        for k in keys
        if old.get(k) != new.get(k)
    ]


def _compare(
    kind: ResourceKind, name: str, live: Resource | None, wanted: Resource
) -> Change | None:
    if live is None:
        return Change(CREATE, kind, name, desired=wanted)
    changes = diff(live, wanted)
    return (
        Change(UPDATE, kind, name, desired=wanted, before=live, diff=changes) if changes else None
    )


def _check_table(change: Change | None) -> None:
    if change is not None and change.changed("Schema"):
        raise PlanError(
            f"log table {change.name!r} exists with a different key schema or indexes than "
            "ouroboros needs, and DynamoDB cannot change that in place: set log_table to a new "
            "table name in the settings file (or delete the table)"
        )


def _moved_group_notes(desired: DesiredState, live: LiveState) -> tuple[str, ...]:
    """A changed schedule_group leaves the old group's schedules behind: say so."""
    old = described_group(live.function.description) if live.function else None
    new = desired.group.name
    if old is None or old == new:
        return ()
    return (
        f"schedule_group changed from {old} to {new} (the executor was deployed for {old}): "
        f"ouroboros never touches another group, so the schedules in {old} stay there, "
        f"still firing, unmanaged; once this plan is applied, remove them with `reconcile "
        f"destroy --settings OLD` (the settings file as it was) or delete that group (aws "
        f"scheduler delete-schedule-group --name {old}), and set the bootstrap stack's "
        f"ScheduleGroup parameter to {new}",
    )


_LAMBDA_ARN_RE = re.compile(
    r"^arn:[a-z-]+:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:(?P<name>[^:]+)$"
)


def _moved_executor_notes(desired: DesiredState, live: LiveState) -> tuple[str, ...]:
    """A changed function_name leaves the old executor deployed: say so."""
    s = desired.settings
    kept = {d.name for d in desired.schedules}
    old = sorted(
        {
            match["name"]
            for schedule in live.schedules
            if schedule.name in kept
            and (match := _LAMBDA_ARN_RE.match(schedule.target_arn))
            and match["name"] != s.function_name
        }
    )
    return tuple(
        f"function_name changed from {name} to {s.function_name} (the schedules in group "
        f"{s.schedule_group} invoke {name}): once this plan is applied they invoke "
        f"{s.function_name}, and {name} stays deployed in {s.region}, unused; delete it "
        f"(aws lambda delete-function --function-name {name} --region {s.region})"
        for name in old
    )


def _moved_table_notes(desired: DesiredState, live: LiveState) -> tuple[str, ...]:
    """A changed log_table leaves the old table (and the old lock) behind: say so."""
    s = desired.settings
    old = dict(live.function.environment).get(runlog.TABLE_ENV) if live.function else None
    if old is None or old == s.log_table:
        return ()
    return (
        f"log_table changed from {old} to {s.log_table} (the executor logs to {old}): once "
        f"this plan is applied the executor logs to {s.log_table} and apply locks "
        f"{s.log_table}, so an apply still using the old settings is not kept out; {old} "
        f"stays in {s.region} with its run log: delete it when that is no longer needed (aws "
        f"dynamodb delete-table --table-name {old} --region {s.region})",
    )


def _fresh_deployment_notes(desired: DesiredState, live: LiveState) -> tuple[str, ...]:
    """Nothing deployed here: a changed home region looks exactly like this, so say it."""
    if live.group is not None or live.function is not None or live.table is not None:
        return ()
    s = desired.settings
    return (
        f"nothing of this deployment exists in {s.region} yet; if it was deployed before in "
        "another region (region changed in the settings) or under other names, that "
        "deployment's schedules keep firing there until removed: run `reconcile destroy "
        "--settings OLD` with the settings file as it was",
    )


def order_changes(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Apply's order: table, queue, executor, group, schedule creates and updates by name,
    deletes."""

    def key(change: Change) -> tuple[int, int, str]:
        is_delete = change.kind == SCHEDULE and change.action == DELETE
        return (KINDS.index(change.kind), int(is_delete), change.name)

    return tuple(sorted(changes, key=key))


def make_plan(desired: DesiredState, live: LiveState) -> Plan:
    table = _compare(LOG_TABLE, desired.table.name, live.table, desired.table)
    _check_table(table)
    # A queue of another name is not this one (live.py reads it by name; a test may not).
    live_queue = live.queue if live.queue and live.queue.name == desired.queue.name else None
    queue = _compare(DEAD_LETTER_QUEUE, desired.queue.name, live_queue, desired.queue)
    executor = _compare(EXECUTOR, desired.function.name, live.function, desired.function)
    group = _compare(SCHEDULE_GROUP, desired.group.name, live.group, desired.group)
    live_by_name = {s.name: s for s in live.schedules}
    wanted_names = {s.name for s in desired.schedules}
    upserts = [_compare(SCHEDULE, s.name, live_by_name.get(s.name), s) for s in desired.schedules]
    deletes = [
        Change(DELETE, SCHEDULE, s.name, before=s)
        for s in live.schedules
        if s.name not in wanted_names
    ]
    head = [c for c in (table, queue, executor, group) if c is not None]
    body = [c for c in upserts if c is not None]
    changes = order_changes([*head, *body, *deletes])
    total = 4 + len(desired.schedules)
    resources = live_resources(live)
    return Plan(
        settings=desired.settings,
        changes=changes,
        unchanged=total - len(head) - len(body),
        live_fingerprint=resources_fingerprint(resources),
        desired_fingerprint=changes_fingerprint(changes),
        managed_schedules=len(live.schedules),
        notes=desired.notes
        + _moved_group_notes(desired, live)
        + _moved_executor_notes(desired, live)
        + _moved_table_notes(desired, live)
        + _fresh_deployment_notes(desired, live),
        live_resources=resources,
    )


# Fingerprints: what a saved plan is checked against.


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def resource_key(kind: str, name: str) -> str:
    return f"{kind} {name}"


def resource_fingerprint(resource: Resource) -> str:
    return _sha256(resource.to_api())


def live_resources(live: LiveState) -> tuple[tuple[str, str], ...]:
    """Each live resource's fingerprint, by "<kind> <name>", sorted."""
    found: list[tuple[str, Resource]] = [(LOG_TABLE, r) for r in (live.table,) if r is not None]
    found += [(DEAD_LETTER_QUEUE, r) for r in (live.queue,) if r is not None]
    found += [(EXECUTOR, r) for r in (live.function,) if r is not None]
    found += [(SCHEDULE_GROUP, r) for r in (live.group,) if r is not None]
    found += [(SCHEDULE, r) for r in live.schedules]
    return tuple(sorted((resource_key(k, r.name), resource_fingerprint(r)) for k, r in found))


def resources_fingerprint(resources: Sequence[tuple[str, str]]) -> str:
    return _sha256([list(pair) for pair in resources])


def changes_fingerprint(changes: Sequence[Change]) -> str:
    """The plan's intent: every change with the objects it sends and replaces (no diffs, which
    follow from them)."""
    return _sha256(
        [
            [
                c.action,
                c.kind,
                c.name,
                c.desired.to_api() if c.desired else None,
                c.before.to_api() if c.before else None,
            ]
            for c in changes
        ]
    )


def stale_resources(plan: Plan, live: LiveState) -> list[str]:
    """What changed in the live state since the plan was made: "schedule x (updated)", ..."""
    then, now = dict(plan.live_resources), dict(live_resources(live))
    changed = []
    for key in sorted(set(then) | set(now)):
        if key not in now:
            changed.append(f"{key} (deleted)")
        elif key not in then:
            changed.append(f"{key} (created)")
        elif then[key] != now[key]:
            changed.append(f"{key} (updated)")
    return changed


# What a reviewer is warned about in a deleted schedule.


def not_created_by_ouroboros(change: Change, settings: Settings) -> str | None:
    """Why a deleted schedule looks like someone else's (another target, not our event)."""
    before = change.before
    if change.action != DELETE or not isinstance(before, ScheduleSpec):
        return None
    try:
        executor = function_arn(settings)
    except FatalError:
        executor = None
    if before.target_arn != executor:
        return f"targets {before.target_arn or 'nothing'}"
    event = json_object(before.input)
    if event is None or checks.check_event(event):
        return "its Input is not an Ouroboros executor event"
    return None
