"""`reconcile plan` with the target preview (DESIGN.md §10): the JSON plan's rules and
conflicts, --targets, warnings on stderr and workflow annotations on the rule lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from recon_support import ACCOUNT, REGION, SETTINGS_YAML

from reconciler import preview
from reconciler.cli import cli

RULES = f"""\
version: 1
rules:
  - name: office
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: &dev {{tag:Env: dev}}
    start: cron(0 8 * * ? *)
    stop: cron(0 18 * * ? *)
  - name: lunch
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: *dev
    start: cron(0 6 * * ? *)
    stop: cron(0 12 * * ? *)
  - name: typo
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Enviroment: dev}}
    stop: cron(0 22 * * ? *)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The instances launched, id -> Name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "fleet.yaml").write_text(RULES)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        launched = {}
        for name in ("web-1", "web-2"):
            tags = [{"Key": "Env", "Value": "dev"}, {"Key": "Name", "Value": name}]
            reservation = ec2.run_instances(
                ImageId=ami,
                MinCount=1,
                MaxCount=1,
                TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
            )
            launched[reservation["Instances"][0]["InstanceId"]] = name
        yield launched


def plan(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["plan", *args])
    assert result.exit_code == 0, result.output
    return result


def rules_of(result: Result) -> dict[str, Any]:
    return {r["name"]: r for r in json.loads(result.stdout)["rules"]}


def test_json_plan_has_rules_with_targets_and_conflicts(project: dict[str, str]) -> None:
    result = plan("--format", "json")
    document = json.loads(result.stdout)
    assert list(document)[:5] == ["format_version", "summary", "changes", "rules", "conflicts"]
    rules = rules_of(result)
    office = rules["office"]
    assert (office["resource"], office["change"], office["warnings"]) == ("ec2", "create", [])
    assert len(office["next"]["start"]) == len(office["next"]["stop"]) == 3
    assert office["targets"]["count"] == 2
    assert [
        (i["id"], i["name"], i["state"], i["skip"]) for i in office["targets"]["instances"]
    ] == [(instance, name, "running", None) for instance, name in sorted(project.items())]
    assert office["targets"]["added"] == sorted(project)
    assert rules["typo"]["warnings"] == [
        "matches no instance anywhere: check the filters: tag:Enviroment=dev"
    ]
    # lunch's 12:00 stop falls inside office's 08:00-18:00: the executor's union holds them on.
    assert [(c["rules"], c["id"], c["static"], c["resolution"]) for c in document["conflicts"]] == [
        (["lunch", "office"], instance, True, "held-on") for instance in sorted(project)
    ]
    assert document["conflicts"][0]["held_until"].endswith("T18:00:00+00:00")
    assert "warning: rule typo: matches no instance anywhere" in result.stderr
    assert "conflict" not in result.stderr  # held on is no warning


def test_a_conflict_the_union_does_not_resolve_is_a_warning(
    project: dict[str, str], tmp_path: Path
) -> None:
    # office now starts at 12:00, the very minute lunch stops: the executor does not hold
    # (the order of the two firings is not known), so the pair is a conflict.
    rules = RULES.replace("start: cron(0 8 * * ? *)", "start: cron(0 12 * * ? *)")
    (tmp_path / "schedules" / "fleet.yaml").write_text(rules)
    result = plan("--format", "json")
    conflicts = json.loads(result.stdout)["conflicts"]
    assert [(c["rules"], c["resolution"], c["held_until"]) for c in conflicts] == [
        (["lunch", "office"], None, None) for _ in project
    ]
    assert "warning: conflict: lunch stops 2 instances both match (" in result.stderr
    assert result.stderr.count("warning: conflict:") == 1  # one line per pair of rules


def test_targets_none_reads_no_instance_and_still_finds_the_static_conflict(
    project: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reads(*_: Any, **__: Any) -> Any:
        raise AssertionError("--targets none reads nothing")

    monkeypatch.setattr(preview, "read_one", no_reads)
    result = plan("--format", "json", "--targets", "none")
    assert {r["name"]: r["targets"] for r in json.loads(result.stdout)["rules"]} == {
        "lunch": None,
        "office": None,
        "typo": None,
    }
    conflicts = json.loads(result.stdout)["conflicts"]
    assert [(c["rules"], c["id"], c["static"]) for c in conflicts] == [
        (["lunch", "office"], None, True)
    ]


def test_annotations_put_conflicts_and_warnings_on_the_rule_lines(project: dict[str, str]) -> None:
    result = plan("--annotations", "--targets", "none")
    lines = [line for line in result.stderr.splitlines() if line.startswith("::")]
    assert len(lines) == 2
    assert lines[0].startswith(
        "::notice file=schedules/fleet.yaml,line=9,col=5::held on: lunch's stop at "
    )
    assert lines[0].endswith(
        "for the same instances (the same filters, accounts and regions): office holds them on "
        "until 18:00 (overlapping rules compose)"
    )
    assert lines[1].startswith("::notice file=schedules/fleet.yaml,line=3,col=5::held on: lunch")


def test_the_text_plan_leads_with_the_rules(project: dict[str, str]) -> None:
    text = plan().stdout
    assert text.startswith("Rules this plan changes:\n\n  + create rule lunch\n")
    assert (
        "      warning: matches no instance anywhere: check the filters: tag:Enviroment=dev\n"
        in text
    )
    assert text.index("Rules this plan changes:") < text.index("Ouroboros will make these changes")


def test_a_database_rule_is_previewed_with_the_pinned_keys_and_never_conflicts_with_ec2(
    project: dict[str, str], tmp_path: Path
) -> None:
    # The same filters and times as `lunch` (EC2): a DB rule acts on other resources.
    (tmp_path / "schedules" / "db.yaml").write_text(
        f"""\
version: 1
rules:
  - name: lunch-db
    resource: rds
    accounts: ["{ACCOUNT}"]
    regions: [{REGION}]
    targets: {{tag:Env: dev}}
    start: cron(0 6 * * ? *)
    stop: cron(0 12 * * ? *)
"""
    )
    boto3.client("rds", region_name=REGION).create_db_instance(
        DBInstanceIdentifier="dev-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="password123",
        Tags=[{"Key": "Env", "Value": "dev"}],
    )
    result = plan("--format", "json")
    db = rules_of(result)["lunch-db"]
    assert (db["resource"], db["warnings"]) == ("rds", [])
    assert db["targets"]["instances"] == [
        {
            "account": ACCOUNT,
            "region": REGION,
            "id": "dev-db",
            "name": None,
            "state": "available",
            "skip": None,
        }
    ]
    assert db["targets"]["added"] == ["dev-db"]
    conflicts = json.loads(result.stdout)["conflicts"]
    assert {tuple(c["rules"]) for c in conflicts} == {("lunch", "office")}
