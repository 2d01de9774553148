"""The JSON Schemas (schemas/*.schema.json): loaded and compiled once, errors in plain English.

Layer 4 of validation. jsonschema's own messages ("'x' is not valid under any of the given
schemas") and its best_match heuristic are noise on oneOf/anyOf; here an anyOf/oneOf error is
replaced by the errors of the branch that fits the instance's type (a list is checked against
the list branch), and each remaining error becomes a sentence that names the field.

The structural helpers at the end (required and unknown keys, with did-you-mean) serve layer 3,
which runs before the schema so that the commonest mistakes read like a person wrote them.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from reconciler.yamlload import Path, kind_of, quote_hint

RULES_SCHEMA = "rules.schema.json"
SETTINGS_SCHEMA = "settings.schema.json"

# What a value matching each $defs pattern looks like, by $defs name; {value} is the bad value.
PATTERN_HELP = {
    "ruleName": (
        "'{value}' is not a valid rule name: use 1-40 lower-case letters, digits and hyphens, "
        "starting and ending with a letter or digit"
    ),
    "accountId": "'{value}' is not a 12-digit AWS account id",
    "region": "'{value}' is not an AWS region name such as eu-west-1",
    "expression": (
        "'{value}' is not an EventBridge Scheduler expression: use cron(...) with six fields, "
        "rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss)"
    ),
    "instanceId": "'{value}' is not a valid instance-id: expected i- followed by 8 or 17 hex digits",
    "vpcId": "'{value}' is not a valid vpc-id: expected vpc- followed by 8 or 17 hex digits",
    "subnetId": (
        "'{value}' is not a valid subnet-id: expected subnet- followed by 8 or 17 hex digits"
    ),
    "ipv4": "'{value}' is not an IPv4 address",
    "instanceType": "'{value}' is not an instance type such as t3.micro",
    "availabilityZone": "'{value}' is not an availability zone such as eu-west-1a",
    "tagKey": "'{value}' has spaces around it",
    "tagValue": "'{value}' has spaces around it",
    "roleArn": (
        "'{value}' is not an IAM role ARN such as arn:aws:iam::111111111111:role/ouroboros-executor"
    ),
}
# Patterns written inline (not under $defs), by the property that holds them.
INLINE_PATTERN_HELP = {
    "calendar": (
        "'{value}' is not a calendar name: the name of a file calendars/<name>.yaml, 1-40 "
        "lower-case letters, digits and hyphens"
    ),
    "schedule_group": (
        "'{value}' is not a schedule group name: 1-64 letters, digits, hyphens, underscores and dots"
    ),
    "function_name": (
        "'{value}' is not a Lambda function name: 1-64 letters, digits, hyphens and underscores"
    ),
    "target_role_name": (
        "'{value}' is not an IAM role name: 1-64 letters, digits and any of + = , . @ _ -"
    ),
    "reader_role_name": (
        "'{value}' is not an IAM role name: 1-64 letters, digits and any of + = , . @ _ -"
    ),
    "log_table": (
        "'{value}' is not a DynamoDB table name: 3-255 letters, digits, underscores, dots and hyphens"
    ),
    "dead_letter_queue": (
        "'{value}' is not an SQS queue name: 1-80 letters, digits, hyphens and underscores"
    ),
    "organization_id": (
        "'{value}' is not an AWS Organizations id: o- and 10-32 lower-case letters and digits "
        "(`aws organizations describe-organization` shows it)"
    ),
}

_EXPECTED = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: where (path into the document) and what, in plain English."""

    path: Path
    message: str
    origin: Path = ()  # the path of the value the failing schema keyword applies to
    at_key: bool = False  # point at the key (an unknown key) rather than the value


@dataclass(frozen=True)
class CompiledSchema:
    validator: Any  # jsonschema.protocols.Validator (untyped library)
    pattern_help: Mapping[str, str]  # pattern -> message template

    def problems(
        self,
        instance: object,
        *,
        label: Callable[[Path], str],
        sources: Mapping[Path, str] | None = None,
    ) -> list[SchemaProblem]:
        """Every violation in `instance`, each from the most specific error there is; one per
        place (a value failing two keywords, or an object missing two keys, is one problem)."""
        found: dict[tuple[Path, bool], SchemaProblem] = {}
        for error in self.validator.iter_errors(instance):
            for leaf in most_specific(error):
                for problem in _translate(leaf, label, sources or {}, self.pattern_help):
                    found.setdefault((problem.path, problem.at_key), problem)
        return list(found.values())


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("reconciler").joinpath("schemas", name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def compiled(name: str) -> CompiledSchema:
    """The validator for schemas/<name>, built once per process."""
    schema = load_schema(name)
    help_by_pattern: dict[str, str] = {}
    for def_name, sub in schema.get("$defs", {}).items():
        if "pattern" in sub and def_name in PATTERN_HELP:
            help_by_pattern[sub["pattern"]] = PATTERN_HELP[def_name]
    for prop_name, sub in _all_properties(schema):
        if "pattern" in sub and prop_name in INLINE_PATTERN_HELP:
            help_by_pattern[sub["pattern"]] = INLINE_PATTERN_HELP[prop_name]
    return CompiledSchema(_validator_class()(inline_refs(schema)), help_by_pattern)


def _pattern(validator: Any, pattern: str, instance: object, schema: object) -> Iterator[Any]:
    """`pattern` as JSON Schema means it (ECMA-262): `$` is the end of the string. Python's
    re.search lets `$` match before a trailing newline, so "ouroboros\\n" would pass."""
    from jsonschema.exceptions import ValidationError

    if not isinstance(instance, str):
        return
    match = _regex(pattern).search(instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 with ECMA-262 `$` (imported late: validate must start fast)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"pattern": _pattern})


_ANNOTATIONS = frozenset({"description", "title", "examples", "default", "$comment"})


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every local `#/$defs/...` reference replaced by its target.

    Same meaning, but the validator no longer resolves a reference for every value it checks
    (a third of its time on a 1,000-rule run). Our schemas have no recursive definitions.
    """
    defs = schema.get("$defs", {})

    def resolve(node: object) -> object:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = resolve(defs[ref[len("#/$defs/") :]])
            assert isinstance(target, dict)
            siblings = {k: resolve(v) for k, v in node.items() if k != "$ref"}
            if set(siblings) <= _ANNOTATIONS:
                return {**target, **siblings}
            return {"allOf": [target, siblings]}
        return {k: resolve(v) for k, v in node.items() if k != "$defs"}

    inlined = resolve(schema)
    assert isinstance(inlined, dict)
    return inlined


def _all_properties(schema: object) -> Iterable[tuple[str, dict[str, Any]]]:
    if isinstance(schema, dict):
        yield from schema.get("properties", {}).items()
        for value in schema.values():
            yield from _all_properties(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _all_properties(value)


def most_specific(error: Any) -> list[Any]:
    """The errors that say what is really wrong, descending into anyOf/oneOf.

    Of an anyOf/oneOf's branches, keep those that accept the instance's type; if exactly one
    does, its errors (recursively) are the answer. If none does, or several equally, the
    anyOf/oneOf error itself is the answer and is worded from the branches' types.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[int, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errs
        for errs in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errs)
    ]
    if len(fitting) != 1:
        return [error]
    return [leaf for sub in fitting[0] for leaf in most_specific(sub)]


def _translate(
    error: Any,
    label: Callable[[Path], str],
    sources: Mapping[Path, str],
    pattern_help: Mapping[str, str],
) -> list[SchemaProblem]:
    path: Path = tuple(error.absolute_path)
    field = label(path)
    value = error.instance
    kind = error.validator
    schema = error.schema
    message: str
    if kind == "type":
        expected = _expected(schema["type"])
        # Quoting helps only where a string is wanted (a quoted 1 is no boolean either).
        hint = _string_hint(schema, value, sources.get(path)) if "string" in schema["type"] else ""
        message = f"{field} must be {expected}, not {kind_of(value, sources.get(path))}{hint}"
    elif kind in ("anyOf", "oneOf"):
        message = _any_of_message(error, field, value, sources.get(path))
    elif kind == "pattern":
        template = pattern_help.get(schema["pattern"])
        message = (
            template.format(value=value)
            if template
            else f"{field} '{value}' does not match the pattern {schema['pattern']}"
        )
    elif kind == "not":
        message = _not_message(schema["not"], field, value)
    elif kind == "const":
        message = f"{field} must be {json.dumps(schema['const'])}, not {_show(value)}"
    elif kind == "enum":
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        message = f"{field} must be one of {allowed}, not {_show(value)}"
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        message = _range_message(schema, field, value)
    elif kind == "minLength":
        message = (
            f"{field} is empty"
            if schema["minLength"] == 1
            else f"{field} is shorter than {schema['minLength']} characters"
        )
    elif kind == "maxLength":
        message = f"{field} is {len(value)} characters long; the limit is {schema['maxLength']}"
    elif kind == "minItems":
        message = f"{field} is empty: give at least {schema['minItems']}"
    elif kind == "maxItems":
        message = f"{field} has {len(value)} entries; the limit is {schema['maxItems']}"
    elif kind == "minProperties":
        message = f"{field} is empty: give at least {schema['minProperties']} entry"
    elif kind == "uniqueItems":
        return _duplicates(path, label, value)
    elif kind == "required":
        # A misspelt key ('schedule_grup') is reported as unknown, with the key it resembles.
        known = list(schema.get("properties", {}))
        misspelt = {suggest_key(key, known) for key in _extra_keys(schema, value)}
        missing = [k for k in schema["required"] if k not in value and k not in misspelt]
        if not missing:
            return []
        return [SchemaProblem(path, missing_keys_message(field, missing), path)]
    elif kind == "additionalProperties":
        known = list(schema.get("properties", {}))
        return [
            SchemaProblem((*path, key), unknown_key_message(key, field, known), path, True)
            for key in _extra_keys(schema, value)
        ]
    else:  # a keyword our schemas do not use: jsonschema's wording is the best we have
        message = f"{field}: {error.message}"
    return [SchemaProblem(path, message, path)]


def _expected(types: str | list[str]) -> str:
    if isinstance(types, str):
        return _EXPECTED.get(types, types)
    return " or ".join(_EXPECTED.get(t, t) for t in types)


def _string_hint(schema: Mapping[str, Any], value: object, source: str | None) -> str:
    """'; quote it: "0800"' only when the quoted text would be valid: quoting `start: 8` would
    trade one error for another. A YAML 1.1 boolean (`start: yes`) always gets its hint."""
    hint = quote_hint(value, source)
    if not hint or source is None or isinstance(value, bool):
        return hint
    return hint if _validator_class()(schema).is_valid(source) else ""


def _any_of_message(error: Any, field: str, value: object, source: str | None) -> str:
    """No branch accepted the instance's type: say which types would do."""
    types: list[str] = []
    for sub in error.context:
        if sub.validator == "type" and not sub.relative_path and sub.validator_value not in types:
            types.append(sub.validator_value)
    if types and len(types) == len({sub.relative_schema_path[0] for sub in error.context}):
        expected = " or ".join(_expected(t) for t in types)
        hint = _string_hint(error.schema, value, source) if "string" in types else ""
        return f"{field} must be {expected}, not {kind_of(value, source)}{hint}"
    if error.context and all(sub.validator == "required" for sub in error.context):
        options = [k for sub in error.context for k in sub.validator_value]
        return f"{field} needs at least one of: {', '.join(options)}"
    return f"{field} is not valid: {error.message}"


# availability-zone: a pattern ending in a wildcard must start with a whole region name.
_ZONES_OF_SEVERAL_REGIONS = "^(?![a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}[*?]).*[*?]$"


def _not_message(forbidden: Mapping[str, Any], field: str, value: object) -> str:
    if "const" in forbidden:
        return f"{field} must not be {json.dumps(forbidden['const'])}"
    if forbidden.get("pattern") in ("^[*?]+$", "^[*?.]+$"):
        return f"'{value}' matches everything; name the values to act on"
    if forbidden.get("pattern") == _ZONES_OF_SEVERAL_REGIONS:
        return (
            f"'{value}' ends in a wildcard before the region name is complete, so it matches "
            "every zone of several regions"
        )
    return f"{field} {_show(value)} is not allowed here"


def _range_message(schema: Mapping[str, Any], field: str, value: object) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{field} is {value}; it must be from {low} to {high}"
    if low is not None:
        return f"{field} is {value}; it must be at least {low}"
    if high is not None:
        return f"{field} is {value}; it must be at most {high}"
    return f"{field} {value} is out of range"


def _duplicates(
    path: Path, label: Callable[[Path], str], items: Sequence[object]
) -> list[SchemaProblem]:
    seen: set[str] = set()  # JSON text: lists and mappings have no hash, and 1 != true here
    found: list[SchemaProblem] = []
    for i, item in enumerate(items):
        same = int(item) if isinstance(item, float) and item.is_integer() else item  # 1.0 = 1
        key = json.dumps(same, sort_keys=True, default=str)
        if key in seen:
            message = f"{_show(item)} is listed twice in {label(path)}"
            found.append(SchemaProblem((*path, i), message, path))
        else:
            seen.add(key)
    return found


def _extra_keys(schema: Mapping[str, Any], value: Mapping[str, object]) -> list[str]:
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    known = schema.get("properties", {})
    return [key for key in value if key not in known and not any(p.search(key) for p in patterns)]


def _show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value, default=str)


def missing_keys_message(what: str, missing: Sequence[str]) -> str:
    noun = "key" if len(missing) == 1 else "keys"
    return f"{what} is missing required {noun}: {', '.join(missing)}"


def suggest_key(key: str, allowed: Sequence[str]) -> str | None:
    """The allowed key that `key` is most likely a misspelling of, if any."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
    if not close:
        close = [a for a in allowed if a.lower() == key.lower().replace("-", "_")]
    return close[0] if close else None


def unknown_key_message(key: str, where: str, allowed: Sequence[str]) -> str:
    """'unknown key 'strat' in rule 2 (did you mean 'start'?); allowed: ...'."""
    close = suggest_key(key, allowed)
    if close:
        return f"unknown key '{key}' in {where} (did you mean '{close}'?)"
    return f"unknown key '{key}' in {where}; allowed: {', '.join(allowed)}"
