"""The JSON Schemas: well-formed, documented, in step with the checks, and their errors in English."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler import checks, release, timeengine
from reconciler.model import DEFAULT_MAX_INSTANCES
from reconciler.schema import (
    RULES_SCHEMA,
    SETTINGS_SCHEMA,
    CompiledSchema,
    compiled,
    inline_refs,
    load_schema,
    most_specific,
    unknown_key_message,
)
from reconciler.yamlload import load_file

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
SCHEMAS = (RULES_SCHEMA, SETTINGS_SCHEMA)

# Bad corpus files the schema alone cannot catch: expression details, time zones, names
# across files, start == stop. Everything else must fail check-jsonschema as well.
SEMANTIC_ONLY = {
    "at-in-dst-gap.yaml",
    "at-not-a-date.yaml",
    "cron-bad-month.yaml",
    "cron-bad-name.yaml",
    "cron-both-question-marks.yaml",
    "cron-dow-zero.yaml",
    "cron-hash-occurrence.yaml",
    "cron-hour-range.yaml",
    "cron-l-in-list.yaml",
    "cron-lw.yaml",
    "cron-minute-range.yaml",
    "cron-never-fires.yaml",
    "cron-past-years.yaml",
    "cron-question-mark.yaml",
    "cron-slash-in-dow.yaml",
    "cron-step-zero.yaml",
    "cron-two-hash-terms.yaml",
    "cron-w-list.yaml",
    "cron-year-backwards.yaml",
    "cron-year-range.yaml",
    "duplicate-names",
    "filter-az-other-region.yaml",
    "filter-az-whole-region.yaml",
    "rate-unit.yaml",
    "rate-zero.yaml",
    "start-equals-stop.yaml",
    "start-stop-same-minute.yaml",
    "timezone-abbreviation.yaml",
    "timezone-city.yaml",
    "timezone-unknown.yaml",
}


def raw_validator(name: str) -> Draft202012Validator:
    """The schema as an editor or check-jsonschema uses it: straight from the file."""
    return Draft202012Validator(json.loads((REPO / "schemas" / name).read_text()))


def rule_files(folder: Path) -> Iterator[Path]:
    yield from sorted(folder.rglob("*.yaml"))
    yield from sorted(folder.rglob("*.yml"))


# --------------------------------------------------------------------------------------------
# Well-formed and documented


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_2020_12_with_an_id(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    # Stable per release: the file as published at the version's tag (reconciler/release.py).
    assert schema["$id"] == release.schema_url(name)
    Draft202012Validator.check_schema(schema)
    assert load_schema(name) == json.loads((REPO / "schemas" / name).read_text())


def _properties(node: object, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key in ("properties", "patternProperties", "$defs"):
            for name, sub in node.get(key, {}).items():
                yield f"{where}/{key}/{name}", sub
        for key, value in node.items():
            yield from _properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}/{i}")


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_property_has_a_description(name: str) -> None:
    properties = list(_properties(load_schema(name)))
    assert len(properties) >= 5  # the walk finds them, so the check below has something to judge
    undocumented = [where for where, sub in properties if not sub.get("description")]
    assert undocumented == []


def _descriptions(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            yield node["description"]
        for value in node.values():
            yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


@pytest.mark.parametrize("name", SCHEMAS)
def test_descriptions_read_as_sentences(name: str) -> None:
    # Editors show these on hover: no plural glued onto a parenthesis ("id (i- ...)s").
    descriptions = list(_descriptions(load_schema(name)))
    assert len(descriptions) >= 5  # else there is nothing to read
    garbled = [
        text
        for text in descriptions
        if not text.endswith(".") or re.search(r"\)s\b|sss\b|[0-9]as\b", text)
    ]
    assert garbled == []


def test_the_package_reads_the_schemas_through_its_symlink() -> None:
    assert os.path.realpath(REPO / "reconciler" / "schemas") == str(REPO / "schemas")
    assert compiled(RULES_SCHEMA) is compiled(RULES_SCHEMA)  # compiled once


# --------------------------------------------------------------------------------------------
# In step with the checks and with the corpus


def test_patterns_match_the_shared_checks() -> None:
    defs = load_schema(RULES_SCHEMA)["$defs"]
    assert defs["ruleName"]["pattern"] == checks.RULE_NAME_RE.pattern
    assert defs["accountId"]["pattern"] == checks.ACCOUNT_RE.pattern
    assert defs["region"]["pattern"] == checks.REGION_RE.pattern
    assert load_schema(SETTINGS_SCHEMA)["$defs"]["region"] == defs["region"]
    targets = defs["targets"]
    names = [*targets["properties"], *("tag:<key>" for _ in targets["patternProperties"])]
    assert sorted(names) == sorted([*checks.FIXED_FILTER_NAMES, "tag:<key>"])


def test_limits_match_the_shared_checks() -> None:
    defs = load_schema(RULES_SCHEMA)["$defs"]
    rule = defs["rule"]["properties"]
    assert rule["description"]["maxLength"] == checks.DESCRIPTION_MAX
    limits = rule["max_instances"]
    assert (limits["minimum"], limits["maximum"]) == checks.MAX_INSTANCES_RANGE
    assert limits["default"] == DEFAULT_MAX_INSTANCES
    assert defs["tagKey"]["maxLength"] == checks.TAG_KEY_MAX
    assert defs["tagValue"]["maxLength"] == checks.TAG_VALUE_MAX
    tag = defs["targets"]["patternProperties"]
    assert list(tag) == [f"^tag:.{{1,{checks.TAG_KEY_MAX}}}$"]
    assert tag[f"^tag:.{{1,{checks.TAG_KEY_MAX}}}$"]["anyOf"][1]["maxItems"] == (
        checks.FILTER_VALUES_MAX
    )
    for name, sub in defs["targets"]["properties"].items():
        assert sub["anyOf"][1]["maxItems"] == checks.FILTER_VALUES_MAX, name


def test_good_files_and_examples_pass_the_schema_alone() -> None:
    rules = raw_validator(RULES_SCHEMA)
    for path in [*rule_files(CORPUS / "good"), *rule_files(CORPUS / "warn")]:
        doc, _ = load_file(str(path))
        assert doc is not None
        assert list(rules.iter_errors(doc.value)) == [], path
    for path in rule_files(REPO / "schedules"):
        doc, _ = load_file(str(path))
        assert doc is not None
        assert list(rules.iter_errors(doc.value)) == [], path
    doc, _ = load_file(str(REPO / "ouroboros.yaml"))
    assert doc is not None
    assert list(raw_validator(SETTINGS_SCHEMA).iter_errors(doc.value)) == []


def test_bad_files_fail_the_schema_alone_unless_the_defect_is_semantic() -> None:
    rules = raw_validator(RULES_SCHEMA)
    for entry in sorted(os.listdir(CORPUS / "bad")):
        paths = (
            list(rule_files(CORPUS / "bad" / entry))
            if entry == "duplicate-names"
            else [CORPUS / "bad" / entry]
        )
        for path in paths:
            doc, issues = load_file(str(path))
            if doc is None or issues:
                continue  # a YAML-level defect: no schema gets to see it
            caught = bool(list(rules.iter_errors(doc.value)))
            assert caught == (entry not in SEMANTIC_ONLY), entry


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 8 ? * MON-FRI *)",
        "cron(0/30 20-2 ? * MON-FRI *)",
        "cron(15 10 ? * 6L 2026-2199)",
        "CRON(0 9 ? * 2#1 *)",
        "cron (0 7 15W * ? *)",
        "  rate(12 hours)  ",
        "rate(1 day)",
        "at(2199-12-24T18:00:00)",
    ],
)
def test_the_expression_pattern_accepts_what_the_time_engine_accepts(expression: str) -> None:
    timeengine.parse(expression)
    assert compiled(RULES_SCHEMA).validator.is_valid(
        {"version": 1, "rules": [_rule(start=expression)]}
    )


def test_inlining_refs_changes_no_verdict() -> None:
    raw, inlined = raw_validator(RULES_SCHEMA), compiled(RULES_SCHEMA).validator
    for path in rule_files(CORPUS):
        doc, _ = load_file(str(path))
        if doc is None:
            continue
        verdict = sorted((tuple(e.absolute_path), e.validator) for e in raw.iter_errors(doc.value))
        assert verdict == sorted(
            (tuple(e.absolute_path), e.validator) for e in inlined.iter_errors(doc.value)
        ), path
    assert "$ref" not in json.dumps(inline_refs(load_schema(RULES_SCHEMA)))


# --------------------------------------------------------------------------------------------
# The most specific error, in English


def _rule(**fields: object) -> dict[str, object]:
    rule: dict[str, object] = {
        "name": "web",
        "accounts": ["123456789012"],
        "regions": ["eu-west-1"],
        "targets": {"tag:Env": "dev"},
        "start": "cron(0 8 ? * MON-FRI *)",
    }
    rule.update(fields)
    return rule


def rule_messages(**fields: object) -> list[tuple[tuple[object, ...], str]]:
    doc = {"version": 1, "rules": [_rule(**fields)]}
    problems = compiled(RULES_SCHEMA).problems(doc, label=lambda p: ".".join(map(str, p[2:])))
    return [(p.path[2:], p.message) for p in problems]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # anyOf(string, list): a list is checked against the list branch only, to the item.
        (
            {"targets": {"vpc-id": ["vpc-0a1b2c3d", "vpc-x"]}},
            [
                (
                    ("targets", "vpc-id", 1),
                    "'vpc-x' is not a valid vpc-id: expected vpc- followed by 8 or 17 hex digits",
                )
            ],
        ),
        (
            {"targets": {"subnet-id": "subnet-x"}},
            [
                (
                    ("targets", "subnet-id"),
                    "'subnet-x' is not a valid subnet-id: expected subnet- followed by 8 or 17 "
                    "hex digits",
                )
            ],
        ),
        # No branch takes the type: say which types would do.
        (
            {"targets": {"tag:Env": 4711}},
            [(("targets", "tag:Env"), "targets.tag:Env must be a string or a list, not a number")],
        ),
        (
            {"targets": {"tag-key": ["owner", "*"]}},
            [
                (
                    ("targets", "tag-key", 1),
                    "'*' matches everything; name the values to act on",
                )
            ],
        ),
        (
            {"targets": {"tag:Env": ["a", "b", "a"]}},
            [(("targets", "tag:Env", 2), "'a' is listed twice in targets.tag:Env")],
        ),
        (
            {"targets": {"vpcid": "vpc-0a1b2c3d"}},
            [(("targets", "vpcid"), "unknown key 'vpcid' in targets (did you mean 'vpc-id'?)")],
        ),
        ({"targets": {}}, [(("targets",), "targets is empty: give at least 1 entry")]),
        (
            {"targets": {"tag:Env": []}},
            [(("targets", "tag:Env"), "targets.tag:Env is empty: give at least 1")],
        ),
        (
            {"targets": {"instance-id": [f"i-{i:08x}" for i in range(201)]}},
            [(("targets", "instance-id"), "targets.instance-id has 201 entries; the limit is 200")],
        ),
        ({"enabled": "yes"}, [(("enabled",), "enabled must be true or false, not a string")]),
        (
            {"max_instances": 0},
            [(("max_instances",), "max_instances is 0; it must be from 1 to 1000")],
        ),
        (
            {"description": "x" * 300},
            [(("description",), "description is 300 characters long; the limit is 256")],
        ),
        ({"timezone": ""}, [(("timezone",), "timezone is empty")]),
        (
            {"start": "cron(0 8 * * *)"},
            [
                (
                    ("start",),
                    "'cron(0 8 * * *)' is not an EventBridge Scheduler expression: use cron(...) "
                    "with six fields, rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss)",
                )
            ],
        ),
        (
            {"accounts": ["123456789012", "123456789012"]},
            [(("accounts", 1), "'123456789012' is listed twice in accounts")],
        ),
    ],
)
def test_rule_schema_messages(
    fields: dict[str, object], expected: list[tuple[tuple[object, ...], str]]
) -> None:
    assert rule_messages(**fields) == expected


def test_start_or_stop_is_worded_from_the_anyof_branches() -> None:
    doc = {"version": 1, "rules": [{k: v for k, v in _rule().items() if k != "start"}]}
    problems = compiled(RULES_SCHEMA).problems(doc, label=lambda p: "rule 1")
    assert [p.message for p in problems] == ["rule 1 needs at least one of: start, stop"]


def _tiny(schema: dict[str, Any]) -> CompiledSchema:
    return CompiledSchema(Draft202012Validator(schema), {})


@pytest.mark.parametrize(
    ("schema", "instance", "message"),
    [
        ({"const": 1}, 2, "x must be 1, not 2"),
        ({"enum": ["a", "b"]}, "c", 'x must be one of "a", "b", not \'c\''),
        ({"minimum": 3}, 1, "x is 1; it must be at least 3"),
        ({"maximum": 3}, 5, "x is 5; it must be at most 3"),
        ({"minLength": 3}, "ab", "x is shorter than 3 characters"),
        ({"pattern": "^a+$"}, "b", "x 'b' does not match the pattern ^a+$"),
        ({"not": {"const": "default"}}, "default", 'x must not be "default"'),
        ({"type": "object", "required": ["a", "b"]}, {}, "x is missing required keys: a, b"),
        ({"type": "object", "required": ["a"]}, {}, "x is missing required key: a"),
        ({"type": ["string", "null"]}, 1, "x must be a string or null, not a number"),
        ({"multipleOf": 2}, 3, "x: 3 is not a multiple of 2"),
        (
            {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 2}]},
            "abc",
            "x is not valid: 'abc' is valid under each of {'type': 'string', 'minLength': 2}, "
            "{'type': 'string'}",
        ),
    ],
)
def test_generic_messages(schema: dict[str, Any], instance: object, message: str) -> None:
    problems = _tiny(schema).problems(instance, label=lambda p: "x")
    assert [p.message for p in problems] == [message]


@pytest.mark.parametrize(
    ("items", "messages"),
    [
        (
            [[1], {"a": 1}, [1], {"a": 1}],
            ["[1] is listed twice in x", '{"a": 1} is listed twice in x'],
        ),
        ([1, 1.0, True], ["1.0 is listed twice in x"]),  # JSON: 1 = 1.0, but true is no number
    ],
)
def test_unique_items_names_each_repeat(items: list[object], messages: list[str]) -> None:
    problems = _tiny({"uniqueItems": True}).problems(items, label=lambda p: "x")
    assert [p.message for p in problems] == messages


def test_pattern_dollar_is_the_end_of_the_string() -> None:
    # ECMA-262, as JSON Schema specifies; Python's re lets $ match before a final newline.
    validator = compiled(SETTINGS_SCHEMA).validator
    errors = [e.validator for e in validator.iter_errors({"log_table": "runs\n"})]
    assert "pattern" in errors
    assert "pattern" not in [e.validator for e in validator.iter_errors({"log_table": "runs"})]


def test_a_quote_hint_only_where_quoting_makes_it_valid() -> None:
    numbers = {"start": 8, "description": 20261224, "regions": [1], "targets": {"tag:Env": 42}}
    sources = {
        ("rules", 0, "start"): "8",
        ("rules", 0, "description"): "20261224",
        ("rules", 0, "regions", 0): "1",
        ("rules", 0, "targets", "tag:Env"): "42",
    }
    doc = {"version": 1, "rules": [_rule(**numbers)]}
    problems = compiled(RULES_SCHEMA).problems(
        doc, label=lambda p: ".".join(map(str, p[2:])), sources=sources
    )
    assert sorted(p.message for p in problems) == [
        'description must be a string, not a number; quote it: "20261224"',
        "regions.0 must be a string, not a number",  # "1" is no region either
        "start must be a string, not a number",  # "8" is no expression
        'targets.tag:Env must be a string or a list, not a number; quote it: "42"',
    ]


def test_a_quote_hint_only_where_a_string_is_wanted() -> None:
    strings = _tiny({"type": "string"}).problems(True, label=lambda p: "x", sources={(): "on"})
    booleans = _tiny({"type": "boolean"}).problems(1, label=lambda p: "x", sources={(): "1"})
    assert [p.message for p in strings] == [
        'x must be a string, not a boolean; YAML 1.1 reads an unquoted on as true: quote it: "on"'
    ]
    assert [p.message for p in booleans] == ["x must be true or false, not a number"]


def test_most_specific_keeps_the_anyof_error_when_branches_tie() -> None:
    validator = Draft202012Validator(
        {"anyOf": [{"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}]}
    )
    (error,) = validator.iter_errors("c")
    assert most_specific(error) == [error]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("strat", "unknown key 'strat' in rule 1 (did you mean 'start'?)"),
        ("max-instances", "unknown key 'max-instances' in rule 1 (did you mean 'max_instances'?)"),
        ("Timezone", "unknown key 'Timezone' in rule 1 (did you mean 'timezone'?)"),
        ("owner", "unknown key 'owner' in rule 1; allowed: name, timezone, start, max_instances"),
    ],
)
def test_unknown_key_did_you_mean(key: str, message: str) -> None:
    allowed = ["name", "timezone", "start", "max_instances"]
    assert unknown_key_message(key, "rule 1", allowed) == message
