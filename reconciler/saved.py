"""A saved plan's objects re-checked before apply, as if they had come from the YAML.

Each desired object in a saved plan must be exactly what desired.py builds from the plan's
own settings (and, for a schedule, from the rule its Input describes), so an edited Input,
Environment or target is refused instead of applied behind a diff that shows something else.
reconciler.plan calls this while reading a saved plan back. Pure: no AWS.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from reconciler import checks
from reconciler.desired import (
    SCHEDULE_ARN_PLACEHOLDER,
    desired_function,
    desired_schedule,
    desired_table,
    function_arn,
    schedule_description,
)
from reconciler.model import Rule, Settings
from reconciler.resources import (
    FunctionSpec,
    GroupSpec,
    Resource,
    ScheduleSpec,
    TableSpec,
)
from reconciler.timeengine import ExpressionError, check_timezone, parse


def object_problem(resource: Resource, settings: Settings) -> str | None:
    """Why `resource` is not what the settings (and its own rule) build, or None."""
    return _problem(resource, settings)


def _problem(resource: Resource, settings: Settings) -> str | None:
    if isinstance(resource, ScheduleSpec):
        return _schedule_problem(resource, settings)
    if isinstance(resource, FunctionSpec):
        return _mismatch(desired_function(settings, resource.code_sha256), resource)
    if isinstance(resource, TableSpec):
        return _mismatch(desired_table(settings), resource)
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
    a = _event(got) if field == "Target.Input" else None
    b = _event(want) if field == "Target.Input" else None
    if a is None or b is None:
        return field, got, want
    key = next(k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
    return f"{field}.{key}", a.get(key), b.get(key)


def _text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _schedule_problem(spec: ScheduleSpec, settings: Settings) -> str | None:
    event = _event(spec.input)
    if event is None:
        return "its Input is not a JSON object"
    problems = checks.check_event(event)
    if problems:
        return f"its Input is not a valid executor event: {problems[0]}"
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


def _event(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
