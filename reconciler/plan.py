"""The plan: a pure function of the desired and the live state.

No AWS in here (a test proves this module never imports boto3 or botocore). A plan is an
ordered list of changes, in the order apply makes them: the log table, the executor, the
schedule group, schedule creates and updates by name, and deletes last. An update carries a
field-level diff; an update always sends the whole desired object, as AWS replaces it.

A plan is also a document (`to_document` / `from_document`): the JSON plan of DESIGN.md §7,
which `plan --out` saves and `apply PLANFILE` reads back. It carries everything apply needs
without the YAML: the settings, the full desired object of every create and update, and the
fingerprint of the live state it was made against, so a stale plan can be refused.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.desired import DesiredState, described_group
from reconciler.errors import FatalError
from reconciler.model import RESERVED_GROUP, Settings
from reconciler.resources import (
    EXECUTOR,
    KINDS,
    LOG_TABLE,
    SCHEDULE,
    SCHEDULE_GROUP,
    LiveState,
    Resource,
    ScheduleSpec,
    resource_from_api,
)

FORMAT_VERSION = 1
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
ACTIONS = (CREATE, UPDATE, DELETE)


class PlanError(FatalError):
    """A plan that cannot be made or read."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    action: str  # create | update | delete
    kind: str  # log_table | executor | schedule_group | schedule
    name: str
    desired: Resource | None = None  # create, update: the whole object to send
    before: Resource | None = None  # delete: what is removed (for review)
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

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> dict[str, int]:
        return {a: self.count(a) for a in ACTIONS} | {"unchanged": self.unchanged}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def deletes_every_schedule(self) -> bool:
        """The mass-delete rail: every managed schedule goes, and there was at least one."""
        deletes = sum(1 for c in self.changes if c.kind == SCHEDULE and c.action == DELETE)
        return self.managed_schedules > 0 and deletes >= self.managed_schedules

    def without(self, done: Sequence[Change]) -> Plan:
        return dataclasses.replace(self, changes=tuple(c for c in self.changes if c not in done))


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


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _input_diff(before: object, after: object) -> list[FieldChange]:
    old, new = _json_object(before), _json_object(after)
    if old is None or new is None:
        return [FieldChange("Target.Input", before, after)]
    keys = [*new, *(k for k in old if k not in new)]
    return [
        FieldChange(f"Target.Input.{k}", old.get(k), new.get(k))
        for k in keys
        if old.get(k) != new.get(k)
    ]


def _compare(kind: str, name: str, live: Resource | None, wanted: Resource) -> Change | None:
    if live is None:
        return Change(CREATE, kind, name, desired=wanted)
    changes = diff(live, wanted)
    return Change(UPDATE, kind, name, desired=wanted, diff=changes) if changes else None


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
        f"ouroboros never touches another group, so the schedules in {old} stay there "
        f"unmanaged; once this plan is applied, delete that group (aws scheduler "
        f"delete-schedule-group --name {old}) and set the bootstrap stack's ScheduleGroup "
        f"parameter to {new}",
    )


def make_plan(desired: DesiredState, live: LiveState) -> Plan:
    table = _compare(LOG_TABLE, desired.table.name, live.table, desired.table)
    _check_table(table)
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
    head = [c for c in (table, executor, group) if c is not None]
    body = sorted((c for c in upserts if c is not None), key=lambda c: c.name)
    changes = (*head, *body, *sorted(deletes, key=lambda c: c.name))
    total = 3 + len(desired.schedules)
    return Plan(
        settings=desired.settings,
        changes=changes,
        unchanged=total - len(head) - len(body),
        live_fingerprint=live.fingerprint(),
        desired_fingerprint=desired.fingerprint(),
        managed_schedules=len(live.schedules),
        notes=desired.notes + _moved_group_notes(desired, live),
    )


# The document: DESIGN.md §7's JSON plan, also the saved plan.


def settings_document(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.compare}


def change_document(change: Change) -> dict[str, Any]:
    doc: dict[str, Any] = {"action": change.action, "kind": change.kind, "name": change.name}
    if change.diff:
        doc["diff"] = [
            {"field": f.field, "before": f.before, "after": f.after} for f in change.diff
        ]
    if change.desired is not None:
        doc["desired"] = change.desired.to_api()
    if change.before is not None:
        doc["before"] = change.before.to_api()
    return doc


def to_document(plan: Plan) -> dict[str, Any]:
    """The JSON plan: the pinned top level first, then what a saved plan needs."""
    return {
        "format_version": FORMAT_VERSION,
        "summary": plan.summary(),
        "changes": [change_document(c) for c in plan.changes],
        "notes": list(plan.notes),
        "settings": settings_document(plan.settings),
        "managed_schedules": plan.managed_schedules,
        "fingerprints": {"live": plan.live_fingerprint, "desired": plan.desired_fingerprint},
    }


def _require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise PlanError(f"the plan has no valid {key!r}")
    return value


def _change_from(doc: object) -> Change:
    if not isinstance(doc, Mapping):
        raise PlanError("a change is not a JSON object")
    action = _require(doc, "action", str)
    kind = _require(doc, "kind", str)
    if action not in ACTIONS or kind not in KINDS:
        raise PlanError(f"unknown change {action!r} of kind {kind!r}")
    name = _require(doc, "name", str)
    desired = _resource(kind, doc.get("desired")) if action != DELETE else None
    before = _resource(kind, doc.get("before")) if action == DELETE else None
    changes = tuple(
        FieldChange(str(f["field"]), f.get("before"), f.get("after")) for f in doc.get("diff") or []
    )
    if action == UPDATE and not changes:
        raise PlanError(f"the update of {kind} {name!r} has no diff")
    return Change(action, kind, name, desired=desired, before=before, diff=changes)


def _settings_from(doc: Mapping[str, Any]) -> Settings:
    """The settings a saved plan carries, each value of the type Settings declares."""
    types = typing.get_type_hints(Settings)
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.compare}
    unknown = sorted(set(doc) - set(fields))
    if unknown:
        raise PlanError(f"its settings have an unknown key {unknown[0]!r}")
    values = dict(doc)
    for name, field in fields.items():
        if name not in doc:
            if field.default is dataclasses.MISSING:
                raise PlanError(f"its settings have no {name!r}")
            continue
        values[name] = _settings_value(name, types[name], doc[name])
    return Settings(**values)


def _settings_value(name: str, expected: Any, value: Any) -> Any:
    """`value` as the type Settings declares: str, int, optional, or a tuple of strings."""
    options = typing.get_args(expected) if typing.get_origin(expected) is not None else ()
    if value is None and type(None) in options:
        return None
    if tuple in (typing.get_origin(o) for o in options):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise PlanError(f"its settings' {name!r} is not a list of strings")
    plain = next((o for o in options if o is not type(None)), expected)
    if not isinstance(value, plain) or isinstance(value, bool):
        kind = "a number" if plain is int else "a string"
        raise PlanError(f"its settings' {name!r} is not {kind}")
    return value


def _check_owned(settings: Settings, changes: Sequence[Change]) -> None:
    """Every change is to a resource the plan's own settings name (apply touches only those)."""
    if settings.schedule_group == RESERVED_GROUP:
        raise PlanError("its schedule_group is 'default', which ouroboros never manages")
    owned = {
        LOG_TABLE: settings.log_table,
        EXECUTOR: settings.function_name,
        SCHEDULE_GROUP: settings.schedule_group,
    }
    for change in changes:
        desired = change.desired
        if (
            (change.kind in owned and change.name != owned[change.kind])
            or (desired is not None and desired.name != change.name)
            or (isinstance(desired, ScheduleSpec) and desired.group != settings.schedule_group)
        ):
            raise PlanError(
                f"its {change.action} of {change.kind} {change.name!r} is outside what its "
                f"settings name (group {settings.schedule_group}, executor "
                f"{settings.function_name}, table {settings.log_table})"
            )


def _resource(kind: str, data: object) -> Resource:
    if not isinstance(data, Mapping):
        raise PlanError(f"a {kind} change has no object")
    return resource_from_api(kind, data)


def from_document(doc: object) -> Plan:
    """Read a saved plan back; PlanError (with what is wrong) when it is not one."""
    try:
        return _from_document(doc)
    except PlanError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise PlanError(f"the plan is malformed ({type(exc).__name__}: {exc})") from exc


def _from_document(doc: object) -> Plan:
    if not isinstance(doc, Mapping):
        raise PlanError("the plan is not a JSON object")
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise PlanError(
            f"format_version is {version!r}; this reconcile reads version {FORMAT_VERSION}"
        )
    settings_doc = _require(doc, "settings", Mapping)
    fingerprints = _require(doc, "fingerprints", Mapping)
    changes = tuple(_change_from(c) for c in _require(doc, "changes", list))
    summary = _require(doc, "summary", Mapping)
    settings = _settings_from(settings_doc)
    _check_owned(settings, changes)
    return Plan(
        settings=settings,
        changes=changes,
        unchanged=int(summary.get("unchanged", 0)),
        live_fingerprint=str(_require(fingerprints, "live", str)),
        desired_fingerprint=str(_require(fingerprints, "desired", str)),
        managed_schedules=int(_require(doc, "managed_schedules", int)),
        notes=tuple(str(n) for n in doc.get("notes") or ()),
    )
