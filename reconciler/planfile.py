"""The plan as a document, both ways: DESIGN.md §7's JSON plan, also the saved plan.

`to_document` writes it: the pinned top level first, then what apply needs without the YAML:
the settings, the full desired object of every create and update, the live object of every
update and delete, and a fingerprint of each live resource it was made against, so a stale
plan can be refused naming what changed.

`from_document` reads a saved plan back, re-checked before apply as if it were new.

A saved plan is a file anyone in the pipeline could edit, so nothing derived is taken from it:
- each desired object must be exactly what desired.py builds from the plan's own settings
  (and, for a schedule, from the rule its Input describes), so an edited Input, Environment
  or target is refused instead of applied behind a diff that shows something else;
- each diff is recomputed from the change's before and desired objects, and must equal the
  file's (what is printed is what will be sent);
- the fingerprint of the changes, the summary, the order of the changes and each change's
  before object must agree with the rest of the plan.
A failure raises PlanMismatch naming the change ("change 3 (update schedule x): ..."). Pure:
no AWS.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import checks
from reconciler.desired import (
    SCHEDULE_ARN_PLACEHOLDER,
    desired_function,
    desired_queue,
    desired_schedule,
    desired_table,
    function_arn,
    schedule_description,
)
from reconciler.errors import FatalError
from reconciler.model import RESERVED_GROUP, Rule, Settings
from reconciler.plan import (
    CHANGE_ACTIONS,
    CREATE,
    DELETE,
    UPDATE,
    Change,
    FieldChange,
    Plan,
    PlanError,
    PlanMismatch,
    changes_fingerprint,
    diff,
    json_object,
    not_created_by_ouroboros,
    order_changes,
    resource_fingerprint,
    resource_key,
    resources_fingerprint,
)
from reconciler.regions import partition_of_arn, region_problem
from reconciler.resources import (
    DEAD_LETTER_QUEUE,
    EXECUTOR,
    KINDS,
    LOG_TABLE,
    SCHEDULE,
    SCHEDULE_GROUP,
    FunctionSpec,
    GroupSpec,
    QueueSpec,
    Resource,
    ScheduleSpec,
    TableSpec,
    resource_from_api,
)
from reconciler.review import conflicts_document, rules_document
from reconciler.settings import settings_problems
from reconciler.timeengine import ExpressionError, check_timezone, parse

FORMAT_VERSION = 1


def _problem(resource: Resource, settings: Settings) -> str | None:
    if isinstance(resource, ScheduleSpec):
        return _schedule_problem(resource, settings)
    if isinstance(resource, FunctionSpec):
        return _mismatch(desired_function(settings, resource.code_sha256), resource)
    if isinstance(resource, TableSpec):
        return _mismatch(desired_table(settings), resource)
    if isinstance(resource, QueueSpec):
        return _mismatch(desired_queue(settings), resource)
    return _mismatch(GroupSpec(settings.schedule_group), resource)


def _mismatch(expected: Resource, actual: Resource) -> str | None:
    """The first field where `actual` is not what the settings build."""
    want, got = expected.fields(), actual.fields()
    for field in [*want, *(k for k in got if k not in want)]:
        if want.get(field) != got.get(field):
            name, is_, should = _narrowed(field, got.get(field), want.get(field))
            return f"its {name} is {_text(is_)}, but its settings make it {_text(should)}"
    return None


def _narrowed(field: str, got: object, want: object) -> tuple[str, object, object]:
    """For two JSON Inputs, the first key where they differ (Target.Input.<key>)."""
    a = json_object(got) if field == "Target.Input" else None
    b = json_object(want) if field == "Target.Input" else None
    if a is None or b is None:
        return field, got, want
    key = next(k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
    return f"{field}.{key}", a.get(key), b.get(key)


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _schedule_problem(spec: ScheduleSpec, settings: Settings) -> str | None:
    event = json_object(spec.input)
    if event is None:
        return "its Input is not a JSON object"
    problems = checks.check_event(event) or _rule_file_problems(event, settings)
    if problems:
        return f"its Input is not a valid executor event: {problems[0]}"
    others = _disallowed_accounts(event, settings)
    if others:
        allowed = ", ".join(settings.allowed_accounts or ())
        return (
            f"its Input names account {others[0]}, which is not in its settings' "
            f"allowed_accounts ({allowed})"
        )
    try:
        parse(spec.expression)
    except ExpressionError as exc:
        return f"its ScheduleExpression {spec.expression!r} is invalid: {exc}"
    zone_problem = check_timezone(spec.timezone)
    if zone_problem:
        return f"its ScheduleExpressionTimezone is invalid: {zone_problem}"
    rule, action = _rule_of(spec, event)
    if spec.name != f"{rule.name}-{action}":
        return f"its Input is for rule {rule.name} ({action}), which is not this schedule"
    if event.get("schedule_arn") != SCHEDULE_ARN_PLACEHOLDER:
        return "its Input's schedule_arn is not EventBridge Scheduler's placeholder"
    expected = desired_schedule(rule, action, spec.expression, settings, function_arn(settings))
    return _mismatch(expected, spec)


def _rule_file_problems(event: Mapping[str, Any], settings: Settings) -> list[checks.Problem]:
    """What the loader checks in a rule beyond the event's own shape: the bounds, and regions
    in the partition of the settings' role ARNs."""
    problems = checks.check_bounds(event)
    partition = partition_of_arn(settings.executor_role_arn)
    for index, region in enumerate(event["regions"]):
        found = region_problem(region, partition)
        if found is not None and found[0] == "error":
            problems.append(checks.Problem(("regions", index), found[1]))
    return problems


def _disallowed_accounts(event: Mapping[str, Any], settings: Settings) -> list[str]:
    if settings.allowed_accounts is None:
        return []
    return [a for a in event["accounts"] if a not in settings.allowed_accounts]


def _rule_of(spec: ScheduleSpec, event: Mapping[str, Any]) -> tuple[Rule, str]:
    """The rule a schedule was built from, read back from its Input (checked by check_event)."""
    action = str(event["action"])
    rule = Rule(
        name=str(event["rule"]),
        accounts=tuple(event["accounts"]),
        regions=tuple(event["regions"]),
        targets=tuple(
            (name, (values,) if isinstance(values, str) else tuple(values))
            for name, values in event["targets"].items()
        ),
        hibernate=bool(event["hibernate"]),
        max_instances=int(event["max_instances"]),
        timezone=spec.timezone,
        enabled=spec.state == "ENABLED",
    )
    head = schedule_description(rule, action)
    description = spec.description or ""
    if description.startswith(f"{head}. "):
        extra = description[len(head) + 2 :]
        if len(extra) <= checks.DESCRIPTION_MAX:
            rule = dataclasses.replace(rule, description=extra)
    return rule, action


# Writing the document


def settings_document(settings: Settings) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.compare}


def change_document(change: Change, settings: Settings) -> dict[str, Any]:
    doc: dict[str, Any] = {"action": change.action, "kind": change.kind, "name": change.name}
    foreign = not_created_by_ouroboros(change, settings)
    if foreign:
        doc["not_created_by_ouroboros"] = foreign
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
    mass_delete = plan.mass_delete
    review = {}
    if plan.review is not None:  # DESIGN.md §10: shown to a reviewer, never read back
        review = {
            "rules": rules_document(plan.review),
            "conflicts": conflicts_document(plan.review),
            "conflict_pairs": plan.review.conflict_pairs,
        }
    return {
        "format_version": FORMAT_VERSION,
        "summary": plan.summary(),
        "changes": [change_document(c, plan.settings) for c in plan.changes],
        **review,
        "mass_delete": mass_delete.document() if mass_delete else None,
        "notes": list(plan.notes),
        "settings": settings_document(plan.settings),
        "managed_schedules": plan.managed_schedules,
        "fingerprints": {
            "live": plan.live_fingerprint,
            "desired": plan.desired_fingerprint,
            "resources": dict(plan.live_resources),
        },
    }


def change_label(index: int, action: str, kind: str, name: str) -> str:
    return f"change {index} ({action} {kind} {name})"


# Reading the document


def _require(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise PlanError(f"the plan has no valid {key!r}")
    return value


def _change_from(doc: object) -> tuple[Change, tuple[FieldChange, ...]]:
    """A change as saved, its diff recomputed from its objects; and the diff the file shows."""
    if not isinstance(doc, Mapping):
        raise PlanError("a change is not a JSON object")
    action = _require(doc, "action", str)
    kind = _require(doc, "kind", str)
    if action not in CHANGE_ACTIONS or kind not in KINDS:
        raise PlanError(f"unknown change {action!r} of kind {kind!r}")
    name = _require(doc, "name", str)
    desired = _resource(kind, doc.get("desired")) if action != DELETE else None
    before = _resource(kind, doc.get("before")) if action != CREATE else None
    saved = tuple(
        FieldChange(str(f["field"]), f.get("before"), f.get("after")) for f in doc.get("diff") or []
    )
    if action == UPDATE and not saved:
        raise PlanError(f"the update of {kind} {name!r} has no diff")
    recomputed = diff(before, desired) if before is not None and desired is not None else ()
    return Change(action, kind, name, desired=desired, before=before, diff=recomputed), saved


def _check_change(change: Change, saved_diff: tuple[FieldChange, ...], settings: Settings) -> None:
    """The change's object is what the settings build, and its diff is what the file shows."""
    problem = _problem(change.desired, settings) if change.desired else None
    if problem is None and saved_diff != change.diff:
        problem = (
            f"its diff is not what its before and desired objects differ by "
            f"({_fields_text(change.diff)})"
        )
    if problem:
        raise PlanMismatch(problem)


def _fields_text(changes: Sequence[FieldChange]) -> str:
    return "fields " + ", ".join(f.field for f in changes) if changes else "no field"


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


def _settings_value(name: str, declared: Any, value: Any) -> Any:
    """`value` as the type Settings declares: str, int, float, optional, or a tuple of strings."""
    options = typing.get_args(declared) if typing.get_origin(declared) is not None else ()
    if value is None and type(None) in options:
        return None
    if tuple in (typing.get_origin(o) for o in options):
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise PlanError(f"its settings' {name!r} is not a list of strings")
    plain = next((o for o in options if o is not type(None)), declared)
    expected = (int, float) if plain is float else plain
    if not isinstance(value, expected) or isinstance(value, bool):
        kind = "a string" if plain is str else "a number"
        raise PlanError(f"its settings' {name!r} is not {kind}")
    return float(value) if plain is float else value


def _check_owned(settings: Settings, changes: Sequence[Change]) -> None:
    """Every change is to a resource the plan's own settings name (apply touches only those)."""
    if settings.schedule_group == RESERVED_GROUP:
        raise PlanError("its schedule_group is 'default', which ouroboros never manages")
    owned = {
        LOG_TABLE: settings.log_table,
        DEAD_LETTER_QUEUE: settings.dead_letter_queue,
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
    parsed = [_change_from(c) for c in _require(doc, "changes", list)]
    changes = tuple(change for change, _ in parsed)
    summary = _require(doc, "summary", Mapping)
    settings = _settings_from(settings_doc)
    _check_owned(settings, changes)
    _check_settings(settings)
    for index, (change, saved_diff) in enumerate(parsed, 1):
        try:
            _check_change(change, saved_diff, settings)
        except PlanMismatch as exc:
            label = change_label(index, change.action, change.kind, change.name)
            raise PlanMismatch(f"{label}: {exc}") from exc
    plan = Plan(
        settings=settings,
        changes=changes,
        unchanged=int(summary.get("unchanged", 0)),
        live_fingerprint=str(_require(fingerprints, "live", str)),
        desired_fingerprint=str(_require(fingerprints, "desired", str)),
        managed_schedules=int(_require(doc, "managed_schedules", int)),
        notes=tuple(str(n) for n in doc.get("notes") or ()),
        live_resources=_resources_from(_require(fingerprints, "resources", Mapping)),
    )
    _check_consistent(plan, summary)
    return plan


def _check_settings(settings: Settings) -> None:
    try:
        function_arn(settings)
    except FatalError as exc:
        raise PlanMismatch(f"its settings are invalid: {exc}") from exc
    # The settings file's own checks: a saved plan's settings never went through them.
    problems = settings_problems(settings)
    if problems:
        raise PlanMismatch(f"its settings are invalid: {problems[0]}")


def _resources_from(doc: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in doc.items()):
        raise PlanError("its fingerprints' resources are not all strings")
    return tuple(sorted(doc.items()))


def _check_consistent(plan: Plan, summary: Mapping[str, Any]) -> None:
    """The plan's own parts agree: fingerprints, summary, order, and each change with the live
    state it was made against."""
    if changes_fingerprint(plan.changes) != plan.desired_fingerprint:
        raise PlanMismatch(
            "its changes do not match its desired fingerprint (a change was edited, added or "
            "removed after the plan was made)"
        )
    if resources_fingerprint(plan.live_resources) != plan.live_fingerprint:
        raise PlanMismatch("its live resources do not match its live fingerprint")
    # The mass-delete rail counts against managed_schedules: no fingerprint covers it.
    schedules = sum(1 for key, _ in plan.live_resources if key.startswith(f"{SCHEDULE} "))
    if plan.managed_schedules != schedules:
        raise PlanMismatch(
            f"its managed_schedules is {plan.managed_schedules}, but its live resources hold "
            f"{schedules} schedules"
        )
    # Every live resource is updated, deleted or unchanged.
    unchanged = len(plan.live_resources) - plan.count(UPDATE) - plan.count(DELETE)
    expected = {a: plan.count(a) for a in CHANGE_ACTIONS} | {"unchanged": unchanged}
    if {a: summary.get(a) for a in expected} != expected:
        raise PlanMismatch(f"its summary does not count its changes ({expected})")
    _check_against_live(plan)
    if plan.changes != order_changes(plan.changes):
        raise PlanMismatch("its changes are not in the order apply must make them")


def _check_against_live(plan: Plan) -> None:
    """One change per resource; a create of nothing live, an update or delete of the very
    object that was live."""
    live = dict(plan.live_resources)
    seen: set[str] = set()
    for index, change in enumerate(plan.changes, 1):
        key = resource_key(change.kind, change.name)
        label = change_label(index, change.action, change.kind, change.name)
        if key in seen:
            raise PlanMismatch(f"{label}: a second change to the same {change.kind}")
        seen.add(key)
        if change.before is None and key in live:
            raise PlanMismatch(f"{label}: the {change.kind} was live when the plan was made")
        if change.before is not None and live.get(key) != resource_fingerprint(change.before):
            raise PlanMismatch(
                f"{label}: its before object is not the live {change.kind} the plan was made "
                "against"
            )
