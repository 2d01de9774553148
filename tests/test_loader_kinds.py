"""resource: ec2 | rds | aurora | asg (DESIGN.md §9): per-resource filters and values, checked
by the loader (FILE:LINE:COL, did-you-mean), the schema (if/then on resource), the event."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from recon_support import rule as make_rule
from recon_support import settings as make_settings

from reconciler import checks, desired
from reconciler.loader import load_rules
from reconciler.yamlload import load_file

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
rules:
  - name: dev-databases
    resource: rds
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      tag:Environment: dev
      db-instance-id: ["dev-*", "qa-db-1"]
      engine: [postgres, "mysql"]
    stop: cron(0 19 ? * MON-FRI *)
  - name: dev-aurora
    resource: aurora
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {db-cluster-id: dev-aurora, engine: aurora-postgresql, tag-key: Team}
    stop: cron(0 19 ? * MON-FRI *)
  - name: dev-web-groups
    resource: asg
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {asg-name: "dev-web-*", tag:Team: web}
    start: cron(0 7 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
  - name: dev-boxes
    resource: ec2
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {instance-id: i-0123456789abcdef0}
    stop: cron(0 19 ? * MON-FRI *)
"""

RULE = """\
version: 1
rules:
  - name: r
    resource: {resource}
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      {targets}
    stop: cron(0 19 ? * MON-FRI *)
"""


def _schema() -> Draft202012Validator:
    return Draft202012Validator(json.loads((REPO / "schemas" / "rules.schema.json").read_text()))


def _load(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules([str(path)])


def test_a_rule_of_each_kind_loads_and_passes_the_schema_alone(tmp_path: Path) -> None:
    result = _load(tmp_path, GOOD)

    assert result.ok, [d.text() for d in result.diagnostics]
    assert [(r.name, r.resource) for r in result.rules] == [
        ("dev-databases", "rds"),
        ("dev-aurora", "aurora"),
        ("dev-web-groups", "asg"),
        ("dev-boxes", "ec2"),
    ]
    assert result.rules[0].targets == (
        ("tag:Environment", ("dev",)),
        ("db-instance-id", ("dev-*", "qa-db-1")),
        ("engine", ("postgres", "mysql")),
    )
    doc, _ = load_file(str(tmp_path / "rules.yaml"))
    assert doc is not None
    assert list(_schema().iter_errors(doc.value)) == []


def test_a_rule_without_resource_is_ec2(tmp_path: Path) -> None:
    text = GOOD.split("  - name: dev-boxes")[1].replace("    resource: ec2\n", "")
    result = _load(tmp_path, "version: 1\nrules:\n  - name: dev-boxes" + text)
    assert [r.resource for r in result.rules] == ["ec2"]


BAD = [
    (
        "rds",
        "instance-id: i-12345678",
        "8:20: error: unknown filter 'instance-id' for resource rds (did you mean "
        "'db-instance-id'?); allowed: db-instance-id, engine, tag:<key>, tag-key",
    ),
    (
        "aurora",
        "db-instance-id: dev",
        "8:23: error: unknown filter 'db-instance-id' for resource aurora (did you mean "
        "'db-cluster-id'?); allowed: db-cluster-id, engine, tag:<key>, tag-key",
    ),
    (
        "asg",
        "asg-nmae: web",
        "8:17: error: unknown filter 'asg-nmae' for resource asg (did you mean 'asg-name'?); "
        "allowed: asg-name, tag:<key>, tag-key",
    ),
    (
        "asg",
        "vpc-id: vpc-4085e027",
        "8:15: error: unknown filter 'vpc-id' for resource asg (it is a filter of resource: "
        "ec2); allowed: asg-name, tag:<key>, tag-key",
    ),
    (
        "ec2",
        "asg-name: web",
        "8:17: error: unknown filter 'asg-name' (did you mean 'instance-id'?); allowed: "
        "instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, "
        "instance-type, availability-zone",
    ),
    (
        "rds",
        "db-instance-id: Dev-DB",
        "8:23: error: 'Dev-DB' is not a valid db-instance-id: AWS stores identifiers in lower "
        "case; write 'dev-db'",
    ),
    (
        "rds",
        "db-instance-id: 1db",
        "8:23: error: '1db' is not a valid db-instance-id: expected a letter, then letters, "
        "digits and single hyphens, at most 63 characters, not ending in a hyphen (* and ? "
        "are wildcards)",
    ),
    (
        "rds",
        "db-instance-id: dev-",
        "8:23: error: 'dev-' is not a valid db-instance-id: expected a letter, then letters, "
        "digits and single hyphens, at most 63 characters, not ending in a hyphen (* and ? "
        "are wildcards)",
    ),
    (
        "aurora",
        "db-cluster-id: '*'",
        "8:22: error: '*' matches every DB cluster; name the db-cluster-id values to act on",
    ),
    (
        "asg",
        "asg-name: '**'",
        "8:17: error: '**' matches every Auto Scaling group; name the asg-name values to act on",
    ),
    (
        "rds",
        "engine: postgress",
        "8:15: error: 'postgress' is not an engine rds can stop (did you mean 'postgres'?); "
        f"one of: {', '.join(checks.RDS_ENGINES)}",
    ),
    (
        "rds",
        "engine: aurora-mysql",
        "8:15: error: 'aurora-mysql' is an Aurora engine: Aurora DB instances are stopped with "
        "their cluster; write a rule with resource: aurora",
    ),
    (
        "aurora",
        "engine: 'aurora-*'",
        "8:15: error: 'aurora-*' matches every aurora engine; name the engines to act on, or "
        "leave the engine filter out",
    ),
    (
        "aurora",
        "engine: mysql",
        "8:15: error: 'mysql' is not an engine aurora can stop (did you mean 'aurora-mysql'?); "
        "one of: aurora-mysql, aurora-postgresql",
    ),
    (
        "rds",
        "tag:Environment: '*'",
        "8:24: error: '*' matches every value of tag 'Environment'; name the values to act "
        "on, or write tag-key: Environment if every instance with that tag is meant",
    ),
    (
        "asgs",
        "asg-name: web",
        "4:15: error: resource 'asgs' is not one of ec2, rds, aurora, asg (did you mean 'asg'?)",
    ),
]


@pytest.mark.parametrize(("resource", "targets", "message"), BAD)
def test_each_mistake_is_one_error_where_it_is_and_the_schema_agrees(
    tmp_path: Path, resource: str, targets: str, message: str
) -> None:
    text = RULE.format(resource=resource, targets=targets)
    result = _load(tmp_path, text)

    assert not result.ok
    assert [d.text() for d in result.diagnostics] == [f"{tmp_path / 'rules.yaml'}:{message}"]
    doc, _ = load_file(str(tmp_path / "rules.yaml"))
    assert doc is not None
    assert list(_schema().iter_errors(doc.value)) != []


def test_hibernate_is_for_ec2_only(tmp_path: Path) -> None:
    text = RULE.format(resource="rds", targets="db-instance-id: dev-db") + "    hibernate: true\n"
    result = _load(tmp_path, text)
    assert [d.text() for d in result.diagnostics] == [
        f"{tmp_path / 'rules.yaml'}:10:16: error: hibernate applies to ec2 only; remove it from "
        "this rds rule"
    ]


def test_the_event_carries_resource_for_other_kinds_only() -> None:
    settings = make_settings()
    ec2_event = desired.executor_event(make_rule("dev"), "stop", settings)
    rds_rule = make_rule("db", resource="rds", targets=(("db-instance-id", ("dev-db",)),))
    rds_event = desired.executor_event(rds_rule, "stop", settings)

    assert "resource" not in ec2_event  # an EC2 schedule's Input is as it was before kinds
    assert rds_event["resource"] == "rds"
    assert checks.check_event({**rds_event, "schedule_arn": "x"}) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"resource": "s3"}, "resource: resource 's3' is not one of ec2, rds, aurora, asg"),
        (
            {"targets": {"instance-id": ["i-12345678"]}},
            "targets.instance-id: unknown filter 'instance-id' for resource rds (did you mean "
            "'db-instance-id'?); allowed: db-instance-id, engine, tag:<key>, tag-key",
        ),
        (
            {"hibernate": True},
            "hibernate: hibernate applies to ec2 only; remove it from this rds rule",
        ),
    ],
)
def test_the_executor_refuses_an_event_that_does_not_fit_its_resource(
    change: dict[str, Any], problem: str
) -> None:
    rds_rule = make_rule("db", resource="rds", targets=(("db-instance-id", ("dev-db",)),))
    event = {**desired.executor_event(rds_rule, "stop", make_settings()), **change}
    assert [str(p) for p in checks.check_event(event)] == [problem]


SEVEN = """\
version: 1
rules:
  - name: r
    resource: {resource}
    timezone: Europe/Berlin
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {{tag:Environment: dev}}
{times}
"""


@pytest.mark.parametrize(
    ("resource", "times", "warning"),
    [
        (
            "rds",
            "    stop: at(2026-12-23T19:00:00)",
            "9:11: warning: stop: AWS starts a stopped DB instance by itself after 7 days, and "
            "after the stop on 2026-12-23 19:00 (Europe/Berlin) the rule does not fire again: "
            "it runs again from 2026-12-30; make the stop fire at least weekly",
        ),
        (
            "aurora",
            "    stop: cron(0 19 23 12 ? *)\n    start: cron(0 7 7 1 ? *)",
            "9:11: warning: stop: AWS starts a stopped DB cluster by itself after 7 days, and "
            "after the stop on 2026-12-23 19:00 (Europe/Berlin) the rule does not fire for 14 "
            "days: it runs again from 2026-12-30; make the stop fire at least weekly",
        ),
        ("rds", "    stop: cron(0 19 ? * MON-FRI *)", None),
        ("rds", "    stop: cron(0 19 ? * FRI *)\n    start: cron(0 7 ? * MON *)", None),
        ("ec2", "    stop: at(2026-12-23T19:00:00)", None),
        ("asg", "    stop: at(2026-12-23T19:00:00)", None),
    ],
)
def test_a_database_stopped_for_more_than_seven_days_is_a_warning(
    tmp_path: Path, resource: str, times: str, warning: str | None
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(SEVEN.format(resource=resource, times=times), encoding="utf-8")

    result = load_rules([str(path)], now=datetime(2026, 11, 27, 12, 0, tzinfo=UTC))

    assert result.ok
    assert [d.text() for d in result.diagnostics] == ([f"{path}:{warning}"] if warning else [])
