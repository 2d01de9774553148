"""The one-time IAM bootstrap: infra/bootstrap.yaml (home account) and infra/target-account.yaml.

cfn-lint must find nothing (informational checks included). The templates are then parsed with
cfn-lint's own decoder (it understands !Sub, !Ref, !GetAtt, !If), resolved for concrete parameter
values by a small evaluator of the intrinsic functions they use, and every policy is checked
against policy_sentry's offline copy of the AWS Service Authorization Reference: each action
exists, each resource can match it, `Resource: "*"` only where the action has no resource type,
condition keys are ones the action supports, and the trust policies say exactly who may assume.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import os
import re
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from cfnlint.decode import decode
from click.testing import CliRunner
from moto import mock_aws
from policy_sentry.querying.actions import get_action_data

from reconciler import release
from reconciler.cli import cli

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "infra" / "bootstrap.yaml"
TARGET = ROOT / "infra" / "target-account.yaml"
BIN = Path(sys.executable).parent

HOME = "111111111111"
OTHER = "222222222222"
REGION = "eu-west-1"
OIDC_HOST = "token.actions.githubusercontent.com"
PROVIDER_ARN = f"arn:aws:iam::{HOME}:oidc-provider/{OIDC_HOST}"
# The branch and the environment are given, not taken from the template's defaults: a team whose
# default branch is not main changes those defaults together with apply.yml (docs/tutorial/gitops.md, step 3).
GITHUB = {
    "GitHubOwner": "acme",
    "GitHubRepository": "fleet-schedules",
    "DefaultBranch": "main",
    "ApplyEnvironment": "production",
}
IDS = {"GitHubOwnerId": "5544123", "GitHubRepositoryId": "821093847"}

# The only actions that may have Resource "*": the API has no resource type for them.
WILDCARD_ONLY = {
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeInstances",
    "ec2:DescribeSpotInstanceRequests",
    "scheduler:ListSchedules",
}


# ---------------------------------------------------------------------------------------------
# A resolver for the intrinsic functions the templates use.

_NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{(!?)([^}]+)\}")


class Stack:
    """A template resolved as CloudFormation would for these parameters, account and region."""

    def __init__(self, path: Path, account: str = HOME, **params: str) -> None:
        self.template, matches = decode(str(path))
        assert not matches, matches
        self.account = account
        self.params: dict[str, Any] = {}
        for name, spec in self.template.get("Parameters", {}).items():
            raw = params.pop(name, spec.get("Default"))
            assert raw is not None, f"parameter {name} needs a value"
            self.params[name] = raw.split(",") if spec["Type"] == "CommaDelimitedList" else raw
        assert not params, f"unknown parameters {sorted(params)}"
        self.pseudo = {
            "AWS::AccountId": account,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::NoValue": _NO_VALUE,
        }
        self.conditions = {
            name: bool(self.value(expr))
            for name, expr in self.template.get("Conditions", {}).items()
        }

    # Resources that exist in this stack (their Condition holds), with their resolved properties.
    def resources(self) -> dict[str, dict[str, Any]]:
        return {
            name: {"Type": spec["Type"], "Properties": self.value(spec.get("Properties", {}))}
            for name, spec in self.template["Resources"].items()
            if "Condition" not in spec or self.conditions[spec["Condition"]]
        }

    def roles(self) -> dict[str, dict[str, Any]]:
        return {
            n: r["Properties"] for n, r in self.resources().items() if r["Type"] == "AWS::IAM::Role"
        }

    def outputs(self) -> dict[str, Any]:
        return {name: self.value(o["Value"]) for name, o in self.template["Outputs"].items()}

    def rule_assertions(self) -> list[bool]:
        return [
            bool(self.value(a["Assert"]))
            for rule in self.template.get("Rules", {}).values()
            for a in rule["Assertions"]
        ]

    def _ref(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if name in self.pseudo:
            return self.pseudo[name]
        spec = self.template["Resources"][name]
        if spec["Type"] == "AWS::IAM::OIDCProvider":
            return f"arn:aws:iam::{self.account}:oidc-provider/{OIDC_HOST}"
        return self.value(spec["Properties"].get("RoleName") or spec["Properties"]["LogGroupName"])

    def _getatt(self, name: str, attribute: str) -> str:
        assert attribute == "Arn", attribute
        spec = self.template["Resources"][name]
        props = spec["Properties"]
        if spec["Type"] == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.account}:role/{self.value(props['RoleName'])}"
        if spec["Type"] == "AWS::Logs::LogGroup":
            group = self.value(props["LogGroupName"])
            return f"arn:aws:logs:{REGION}:{self.account}:log-group:{group}:*"
        raise AssertionError(f"GetAtt on {spec['Type']}")

    def _sub(self, text: str, extra: Mapping[str, Any]) -> str:
        def replace(m: re.Match[str]) -> str:
            if m.group(1):  # ${!Literal}
                return "${" + m.group(2) + "}"
            key = m.group(2)
            if key in extra:
                return str(extra[key])
            if "." in key:
                return self._getatt(*key.split(".", 1))
            return str(self._ref(key))

        return _SUB_VAR.sub(replace, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, Mapping) and len(node) == 1:
            ((key, arg),) = node.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self._sub(arg, {})
                text, variables = arg
                return self._sub(text, {k: self.value(v) for k, v in variables.items()})
            if key == "Fn::GetAtt":
                return self._getatt(*(arg if isinstance(arg, list) else arg.split(".", 1)))
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.conditions[name] else no)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.value(items))
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in arg)
                return left == right
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(a) for a in arg)
            if key == "Fn::Or":
                return any(self.value(a) for a in arg)
            if key == "Condition":
                return self.conditions[arg]
            assert not key.startswith("Fn::"), f"the resolver does not know {key}"
        if isinstance(node, Mapping):
            resolved = {k: self.value(v) for k, v in node.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(node, list):
            items = [self.value(v) for v in node]
            return [v for v in items if v is not _NO_VALUE]
        return node


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    assert policy["Version"] == "2012-10-17"
    return as_list(policy["Statement"])


def permission_statements(role: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in role.get("Policies", []):
        yield from statements(policy["PolicyDocument"])


def actions_of(role: Mapping[str, Any]) -> set[str]:
    return {a for s in permission_statements(role) for a in as_list(s["Action"])}


def only_trust(role: Mapping[str, Any]) -> dict[str, Any]:
    (statement,) = statements(role["AssumeRolePolicyDocument"])
    assert statement["Effect"] == "Allow"
    return statement


# ---------------------------------------------------------------------------------------------
# IAM reference data (policy_sentry's offline copy of the Service Authorization Reference).


@cache
def action_entries(action: str) -> tuple[dict[str, Any], ...]:
    service, name = action.split(":")
    return tuple(get_action_data(service, name).get(service, []))


def arn_formats(action: str) -> set[str]:
    return {e["resource_arn_format"] for e in action_entries(action)} - {"*"}


def condition_keys(action: str) -> set[str]:
    return {k for e in action_entries(action) for k in e["condition_keys"]}


def access_levels(action: str) -> set[str]:
    return {e["access_level"] for e in action_entries(action)}


# In an ARN format, a ${Placeholder} is one ARN field or path part: it never spans a ':'.
_FIELD = "\x00"


def _glob(pattern: str) -> str:
    """An ARN format with its ${Placeholders} as field wildcards, comparable with globs_overlap."""
    return re.sub(r"\$\{[^}]+\}", _FIELD, pattern)


def globs_overlap(a: str, b: str) -> bool:
    """Whether some string matches both patterns: IAM's '*' (any run) and '?' (one character),
    and _FIELD (any run without ':')."""

    def star(c: str) -> bool:
        return c in ("*", _FIELD)

    def eats(wild: str, c: str) -> bool:
        return wild == "*" or c != ":"

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and star(a[i]):
            if go(i + 1, j):
                return True
            return j < len(b) and (star(b[j]) or eats(a[i], b[j])) and go(i, j + 1)
        if j < len(b) and star(b[j]):
            if go(i, j + 1):
                return True
            return i < len(a) and eats(b[j], a[i]) and go(i + 1, j)
        if i < len(a) and j < len(b) and (a[i] == b[j] or "?" in (a[i], b[j])):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("arn:aws:iam::*:role/ouroboros-target", "arn:${P}:iam::${A}:role/${R}", True),
        (
            "arn:aws:logs:r:1:log-group:/aws/lambda/fn:*",
            "arn:${P}:logs:${R}:${A}:log-group:${G}:log-stream:${S}",
            True,
        ),
        ("arn:aws:dynamodb:r:1:table/runs", "arn:${P}:lambda:${R}:${A}:function:${F}", False),
        (
            "arn:aws:scheduler:r:1:schedule/g/*",
            "arn:${P}:scheduler:${R}:${A}:schedule-group/${G}",
            False,
        ),
        (
            "arn:aws:scheduler:r:1:schedule/g/*",
            "arn:${P}:scheduler:${R}:${A}:schedule/${G}/${N}",
            True,
        ),
        ("arn:aws:ec2:*:1:instance/*", "arn:${P}:ec2:${R}:${A}:instance/${I}", True),
        # A placeholder is one field: it cannot swallow the ':'-separated rest of an ARN.
        ("arn:aws:iam::1:role/x", "arn:${P}", False),
        ("a*c", "ab?", True),
        ("a*c", "ab", False),
        ("", "*", True),
    ],
)
def test_glob_overlap(a: str, b: str, overlap: bool) -> None:
    assert globs_overlap(_glob(a), _glob(b)) is overlap
    assert globs_overlap(_glob(b), _glob(a)) is overlap


# ---------------------------------------------------------------------------------------------
# Stacks under test.

BOOTSTRAP_CASES = {
    "defaults": dict(GITHUB),
    "immutable-subject": {**GITHUB, **IDS},
    "default-subject": {**GITHUB, "OidcSubject": "default"},
    "existing-provider-and-kms": {
        **GITHUB,
        "CreateOidcProvider": "false",
        "EbsKmsKeyArns": f"arn:aws:kms:{REGION}:{HOME}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
}
TARGET_CASES = {
    "defaults": {"HomeAccountId": HOME},
    "kms": {
        "HomeAccountId": HOME,
        "EbsKmsKeyArns": f"arn:aws:kms:{REGION}:{OTHER}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
}


@pytest.fixture(params=sorted(BOOTSTRAP_CASES))
def bootstrap(request: pytest.FixtureRequest) -> Stack:
    return Stack(BOOTSTRAP, **BOOTSTRAP_CASES[request.param])


@pytest.fixture(params=sorted(TARGET_CASES))
def target(request: pytest.FixtureRequest) -> Stack:
    return Stack(TARGET, account=OTHER, **TARGET_CASES[request.param])


def every_stack() -> Iterator[Stack]:
    for params in BOOTSTRAP_CASES.values():
        yield Stack(BOOTSTRAP, **params)
    for params in TARGET_CASES.values():
        yield Stack(TARGET, account=OTHER, **params)


# ---------------------------------------------------------------------------------------------
# cfn-lint.


@pytest.mark.parametrize("template", [BOOTSTRAP, TARGET], ids=lambda p: p.name)
def test_cfn_lint_finds_nothing(template: Path) -> None:
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--include-checks", "I", "--", str(template)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize(
    ("old", "new", "finding"),
    [
        ("ec2:StartInstances", "ec2:StartInstance", "W3037"),  # no such IAM action
        ("AssumeRolePolicyDocument:", "AssumeRolePolicy:", "E3003"),  # required property missing
    ],
)
def test_cfn_lint_does_report_a_broken_template(
    tmp_path: Path, old: str, new: str, finding: str
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TARGET.read_text().replace(old, new, 1))
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert finding in result.stdout


# ---------------------------------------------------------------------------------------------
# Who may assume each role.


def _subject_prefix(ids: bool) -> str:
    if ids:
        return "repo:acme@5544123/fleet-schedules@821093847"
    return "repo:acme/fleet-schedules"


WORKFLOWS = ROOT / ".github" / "workflows"
# The subject GitHub sends once the repository's OIDC template is customised (docs/how-to/iam.md):
# `repo`, `context` and `job_workflow_ref`, joined with ':'.
PINNED = {"OidcSubject": "workflow"}
DEFAULT_SUBJECT = {"OidcSubject": "default"}


def _workflow_ref(name: str, ref: str) -> str:
    return f"job_workflow_ref:acme/fleet-schedules/.github/workflows/{name}@{ref}"


@pytest.mark.parametrize("ids", [False, True], ids=["name-subject", "immutable-subject"])
def test_apply_role_trusts_only_the_apply_workflow_on_the_branch_in_the_environment(
    ids: bool,
) -> None:
    # The default: the environment alone is not enough, the job must run apply.yml from main.
    stack = Stack(BOOTSTRAP, **GITHUB, **(IDS if ids else {}))
    trust = only_trust(stack.roles()["ApplyRole"])
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    # StringEquals and nothing else: no StringLike wildcard that a branch or a PR could match.
    assert trust["Condition"] == {
        "StringEquals": {
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{OIDC_HOST}:sub": f"{_subject_prefix(ids)}:environment:production:"
            + _workflow_ref("reusable-apply.yml", "refs/heads/main"),
        }
    }


@pytest.mark.parametrize("ids", [False, True], ids=["name-subject", "immutable-subject"])
def test_apply_role_trusts_the_protected_environment_without_customisation(ids: bool) -> None:
    stack = Stack(BOOTSTRAP, **GITHUB, **DEFAULT_SUBJECT, **(IDS if ids else {}))
    trust = only_trust(stack.roles()["ApplyRole"])
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{OIDC_HOST}:sub": f"{_subject_prefix(ids)}:environment:production",
        }
    }


@pytest.mark.parametrize("ids", [False, True], ids=["name-subject", "immutable-subject"])
def test_plan_role_trusts_pull_requests_and_the_default_branch(ids: bool) -> None:
    stack = Stack(BOOTSTRAP, **GITHUB, **DEFAULT_SUBJECT, **(IDS if ids else {}))
    trust = only_trust(stack.roles()["PlanRole"])
    assert trust["Principal"] == {"Federated": PROVIDER_ARN}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    prefix = _subject_prefix(ids)
    assert trust["Condition"] == {
        "StringEquals": {
            f"{OIDC_HOST}:aud": "sts.amazonaws.com",
            f"{OIDC_HOST}:sub": [f"{prefix}:pull_request", f"{prefix}:ref:refs/heads/main"],
        }
    }


@pytest.mark.parametrize("ids", [False, True], ids=["name-subject", "immutable-subject"])
def test_plan_role_trusts_the_plan_and_drift_workflows_with_the_customised_subject(
    ids: bool,
) -> None:
    # The customisation is per repository: every job's subject changes, the plan role's too.
    stack = Stack(BOOTSTRAP, **GITHUB, **PINNED, **(IDS if ids else {}))
    trust = only_trust(stack.roles()["PlanRole"])
    prefix = _subject_prefix(ids)
    assert trust["Condition"] == {
        "StringEquals": {f"{OIDC_HOST}:aud": "sts.amazonaws.com"},
        # The one wildcard is the pull request's number (refs/pull/<n>/merge).
        "StringLike": {
            f"{OIDC_HOST}:sub": [
                f"{prefix}:pull_request:" + _workflow_ref("reusable-plan.yml", "refs/pull/*/merge"),
                f"{prefix}:ref:refs/heads/main:" + _workflow_ref("drift.yml", "refs/heads/main"),
                f"{prefix}:ref:refs/heads/main:" + _workflow_ref("report.yml", "refs/heads/main"),
            ]
        },
    }


def test_the_subject_form_is_a_choice_of_two() -> None:
    spec = Stack(BOOTSTRAP, **GITHUB).template["Parameters"]["OidcSubject"]
    assert (spec["Default"], sorted(spec["AllowedValues"])) == ("workflow", ["default", "workflow"])


@pytest.mark.parametrize(
    ("role", "names"),
    # apply.yml and plan.yml call the reusable workflows (dogfooding): GitHub names the called
    # workflow in job_workflow_ref, at the caller's ref.
    [
        ("ApplyRole", {"reusable-apply.yml"}),
        ("PlanRole", {"reusable-plan.yml", "drift.yml", "report.yml"}),
    ],
)
def test_the_pinned_workflows_are_the_ones_that_assume_the_role(role: str, names: set[str]) -> None:
    # A renamed workflow file would lock its jobs out: the names in the trust policy must be the
    # files that really ask for that role.
    variable = {"ApplyRole": "AWS_APPLY_ROLE_ARN", "PlanRole": "AWS_PLAN_ROLE_ARN"}[role]
    trust = only_trust(Stack(BOOTSTRAP, **GITHUB).roles()[role])["Condition"]
    subjects = as_list(
        {**trust.get("StringEquals", {}), **trust.get("StringLike", {})}[f"{OIDC_HOST}:sub"]
    )
    pinned = {m[1] for s in subjects if (m := re.search(r"/\.github/workflows/([^@]+)@", s))}
    assert pinned == names
    for name in names:
        assert f"role-to-assume: ${{{{ vars.{variable} }}}}" in (WORKFLOWS / name).read_text()


def test_environment_and_branch_names_are_parameters() -> None:
    params = {**GITHUB, "ApplyEnvironment": "aws-prod", "DefaultBranch": "trunk"}
    roles = Stack(BOOTSTRAP, **params, **DEFAULT_SUBJECT).roles()
    apply_sub = only_trust(roles["ApplyRole"])["Condition"]["StringEquals"][f"{OIDC_HOST}:sub"]
    plan_subs = only_trust(roles["PlanRole"])["Condition"]["StringEquals"][f"{OIDC_HOST}:sub"]
    assert apply_sub == "repo:acme/fleet-schedules:environment:aws-prod"
    assert plan_subs[1] == "repo:acme/fleet-schedules:ref:refs/heads/trunk"
    pinned = Stack(BOOTSTRAP, **params).roles()
    apply_sub = only_trust(pinned["ApplyRole"])["Condition"]["StringEquals"][f"{OIDC_HOST}:sub"]
    plan_subs = only_trust(pinned["PlanRole"])["Condition"]["StringLike"][f"{OIDC_HOST}:sub"]
    assert apply_sub == (
        "repo:acme/fleet-schedules:environment:aws-prod:"
        + _workflow_ref("reusable-apply.yml", "refs/heads/trunk")
    )
    assert plan_subs[1] == (
        "repo:acme/fleet-schedules:ref:refs/heads/trunk:"
        + _workflow_ref("drift.yml", "refs/heads/trunk")
    )


# A rules repository made by `reconcile init`: its jobs call the tool's reusable workflows, and
# GitHub names the called workflow in job_workflow_ref (docs/how-to/iam.md).
TOOL = {"ToolRepository": "ouroboros-project/ouroboros"}


def _tool_ref(name: str) -> str:
    return f"job_workflow_ref:ouroboros-project/ouroboros/.github/workflows/{name}@refs/tags/v*"


@pytest.mark.parametrize("ids", [False, True], ids=["name-subject", "immutable-subject"])
def test_with_the_tool_repository_the_roles_trust_its_reusable_workflows_at_a_tag(
    ids: bool,
) -> None:
    roles = Stack(BOOTSTRAP, **GITHUB, **TOOL, **(IDS if ids else {})).roles()
    prefix = _subject_prefix(ids)
    # The apply role: only reusable-apply.yml at a release tag, in the environment; the tag is
    # the one wildcard.
    assert only_trust(roles["ApplyRole"])["Condition"] == {
        "StringEquals": {f"{OIDC_HOST}:aud": "sts.amazonaws.com"},
        "StringLike": {
            f"{OIDC_HOST}:sub": f"{prefix}:environment:production:"
            + _tool_ref("reusable-apply.yml")
        },
    }
    assert only_trust(roles["PlanRole"])["Condition"] == {
        "StringEquals": {f"{OIDC_HOST}:aud": "sts.amazonaws.com"},
        "StringLike": {
            f"{OIDC_HOST}:sub": [
                f"{prefix}:pull_request:" + _tool_ref("reusable-plan.yml"),
                f"{prefix}:ref:refs/heads/main:" + _tool_ref("reusable-drift.yml"),
            ]
        },
    }
    outputs = Stack(BOOTSTRAP, **GITHUB, **TOOL, **(IDS if ids else {})).outputs()
    assert outputs["ApplyRoleSubject"] == (
        f"{prefix}:environment:production:" + _tool_ref("reusable-apply.yml")
    )


def test_with_the_tool_repository_and_the_default_subject_the_environment_guards() -> None:
    # GitHub's default subject names no workflow, so the tool repository changes nothing.
    with_tool = Stack(BOOTSTRAP, **GITHUB, **TOOL, **DEFAULT_SUBJECT).roles()
    without = Stack(BOOTSTRAP, **GITHUB, **DEFAULT_SUBJECT).roles()
    for role in ("ApplyRole", "PlanRole"):
        assert only_trust(with_tool[role]) == only_trust(without[role])


@pytest.mark.parametrize(
    ("role", "names"),
    [
        ("ApplyRole", {"reusable-apply.yml"}),
        ("PlanRole", {"reusable-plan.yml", "reusable-drift.yml"}),
    ],
)
def test_the_reusable_workflows_the_trust_names_assume_that_role(
    role: str, names: set[str]
) -> None:
    variable = {"ApplyRole": "AWS_APPLY_ROLE_ARN", "PlanRole": "AWS_PLAN_ROLE_ARN"}[role]
    trust = only_trust(Stack(BOOTSTRAP, **GITHUB, **TOOL).roles()[role])["Condition"]
    subjects = as_list(trust["StringLike"][f"{OIDC_HOST}:sub"])
    pinned = {m[1] for s in subjects if (m := re.search(r"/\.github/workflows/([^@]+)@", s))}
    assert pinned == names
    for name in names:
        assert f"role-to-assume: ${{{{ vars.{variable} }}}}" in (WORKFLOWS / name).read_text()


def test_the_tool_repository_is_the_one_reconcile_init_pins() -> None:
    spec = Stack(BOOTSTRAP, **GITHUB).template["Parameters"]["ToolRepository"]
    assert spec["Default"] == ""
    assert re.fullmatch(spec["AllowedPattern"], release.REPOSITORY)
    assert not re.fullmatch(spec["AllowedPattern"], "ouroboros")  # owner/name, both


def test_oidc_provider_is_optional() -> None:
    created = Stack(BOOTSTRAP, **GITHUB).resources()
    assert created["GitHubOidcProvider"]["Properties"] == {
        "Url": f"https://{OIDC_HOST}",
        "ClientIdList": ["sts.amazonaws.com"],
    }
    reused = Stack(BOOTSTRAP, **GITHUB, CreateOidcProvider="false")
    assert "GitHubOidcProvider" not in reused.resources()
    for name in ("PlanRole", "ApplyRole"):
        assert only_trust(reused.roles()[name])["Principal"] == {"Federated": PROVIDER_ARN}


@pytest.mark.parametrize(
    ("ids", "accepted"),
    [
        ({}, True),
        (IDS, True),
        ({"GitHubOwnerId": "5544123"}, False),
        ({"GitHubRepositoryId": "821093847"}, False),
    ],
)
def test_owner_and_repository_ids_go_together(ids: dict[str, str], accepted: bool) -> None:
    # A half-set pair would silently fall back to the name-only subject: the Rules refuse it.
    assert all(Stack(BOOTSTRAP, **GITHUB, **ids).rule_assertions()) is accepted


def test_scheduler_role_is_for_the_owned_group_only() -> None:
    role = Stack(BOOTSTRAP, **GITHUB).roles()["SchedulerRole"]
    trust = only_trust(role)
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    # AWS requires the GROUP arn here: a schedule or name-prefix arn is refused.
    assert trust["Condition"] == {
        "StringEquals": {
            "aws:SourceAccount": HOME,
            "aws:SourceArn": f"arn:aws:scheduler:{REGION}:{HOME}:schedule-group/ouroboros",
        }
    }
    assert list(permission_statements(role)) == [
        {
            "Sid": "InvokeTheExecutorOnly",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:{REGION}:{HOME}:function:ouroboros-executor",
        },
        {
            # An invoke Scheduler gave up on goes to the dead-letter queue (issue 12).
            "Sid": "DeadLetterAnInvokeThatFailed",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:{REGION}:{HOME}:ouroboros-dead-letters",
        },
    ]


def test_the_executor_sends_failed_events_to_exactly_the_dead_letter_queue() -> None:
    roles = Stack(BOOTSTRAP, **GITHUB, DeadLetterQueue="lost").roles()
    sends = [
        (name, s["Resource"])
        for name, role in roles.items()
        for s in permission_statements(role)
        if "sqs:SendMessage" in as_list(s["Action"])
    ]
    queue = f"arn:aws:sqs:{REGION}:{HOME}:lost"
    assert sorted(sends) == [("ExecutorRole", queue), ("SchedulerRole", queue)]


def test_the_alarms_exist_only_with_a_topic() -> None:
    assert "FailedFiringsAlarm" not in Stack(BOOTSTRAP, **GITHUB).resources()
    topic = f"arn:aws:sns:{REGION}:{HOME}:oncall"
    resources = Stack(BOOTSTRAP, **GITHUB, AlarmTopicArn=topic).resources()
    failed = resources["FailedFiringsAlarm"]["Properties"]
    assert (failed["Namespace"], failed["MetricName"], failed["Dimensions"]) == (
        "Ouroboros",
        "Failed",
        [{"Name": "ScheduleGroup", "Value": "ouroboros"}],
    )
    assert (failed["Threshold"], failed["ComparisonOperator"], failed["AlarmActions"]) == (
        0,
        "GreaterThanThreshold",
        [topic],
    )
    letters = resources["DeadLettersAlarm"]["Properties"]
    assert letters["Dimensions"] == [{"Name": "QueueName", "Value": "ouroboros-dead-letters"}]
    assert letters["MetricName"] == "ApproximateNumberOfMessagesVisible"


def test_executor_role_is_for_lambda_and_assumes_the_target_role_by_name() -> None:
    role = Stack(BOOTSTRAP, **GITHUB).roles()["ExecutorRole"]
    trust = only_trust(role)
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assume = [s for s in permission_statements(role) if "sts:AssumeRole" in as_list(s["Action"])]
    assert [(s["Action"], s["Resource"]) for s in assume] == [
        ("sts:AssumeRole", "arn:aws:iam::*:role/ouroboros-target")
    ]
    table = f"arn:aws:dynamodb:{REGION}:{HOME}:table/ouroboros-runs"
    dynamo = [
        s for s in permission_statements(role) if as_list(s["Action"])[0].startswith("dynamodb:")
    ]
    assert [sorted(as_list(s["Resource"])) for s in dynamo] == [[table, f"{table}/index/*"]]
    assert actions_of(role) >= {"ec2:StartInstances", "ec2:StopInstances", "ec2:DescribeInstances"}


def test_target_role_trusts_only_the_executor_role(target: Stack) -> None:
    role = target.roles()["TargetRole"]
    assert role["RoleName"] == "ouroboros-target"
    assert role["MaxSessionDuration"] == 3600  # role chaining: a chained session lasts 1 h at most
    trust = only_trust(role)
    assert trust == {
        "Sid": "TheExecutorRoleOnly",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HOME}:role/ouroboros-executor"},
        "Action": "sts:AssumeRole",
    }
    starts = [
        s for s in permission_statements(role) if "ec2:StartInstances" in as_list(s["Action"])
    ]
    assert [s["Resource"] for s in starts] == [f"arn:aws:ec2:*:{OTHER}:instance/*"]


def test_target_account_id_must_be_twelve_digits() -> None:
    pattern = Stack(TARGET, HomeAccountId=HOME).template["Parameters"]["HomeAccountId"][
        "AllowedPattern"
    ]
    assert re.fullmatch(pattern, HOME)
    assert not re.fullmatch(pattern, "1111")


def test_kms_grant_only_with_keys_and_only_for_aws_resources() -> None:
    without = Stack(BOOTSTRAP, **GITHUB).roles()["ExecutorRole"]
    assert not any(a.startswith("kms:") for a in actions_of(without))
    key = BOOTSTRAP_CASES["existing-provider-and-kms"]["EbsKmsKeyArns"]
    with_keys = Stack(BOOTSTRAP, **BOOTSTRAP_CASES["existing-provider-and-kms"]).roles()
    grants = [
        s
        for s in permission_statements(with_keys["ExecutorRole"])
        if s["Action"] == "kms:CreateGrant"
    ]
    assert grants == [
        {
            "Sid": "StartInstancesWithCmkEncryptedVolumes",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": [key],
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        }
    ]


# ---------------------------------------------------------------------------------------------
# Least privilege, for every role of every stack.


def test_pass_role_only_for_the_two_service_roles_and_only_to_their_service() -> None:
    stack = Stack(BOOTSTRAP, **GITHUB)
    passes = [
        s
        for role in stack.roles().values()
        for s in permission_statements(role)
        if "iam:PassRole" in as_list(s["Action"])
    ]
    assert sorted(
        (s["Resource"], s["Condition"]["StringEquals"]["iam:PassedToService"]) for s in passes
    ) == [
        (f"arn:aws:iam::{HOME}:role/ouroboros-executor", "lambda.amazonaws.com"),
        (f"arn:aws:iam::{HOME}:role/ouroboros-scheduler", "scheduler.amazonaws.com"),
    ]
    for s in passes:
        assert s["Action"] == "iam:PassRole"  # alone in its statement, so the condition binds it
        assert list(s["Condition"]) == ["StringEquals"]
    # Only the apply role passes roles.
    owners = {n for n, r in stack.roles().items() if "iam:PassRole" in actions_of(r)}
    assert owners == {"ApplyRole"}


def test_every_action_exists_and_every_resource_can_match_it() -> None:
    for stack in every_stack():
        for name, role in stack.roles().items():
            for s in permission_statements(role):
                assert s["Effect"] == "Allow", (name, s)
                assert set(s) <= {"Sid", "Effect", "Action", "Resource", "Condition"}, (name, s)
                resources = as_list(s["Resource"])
                for action in as_list(s["Action"]):
                    assert "*" not in action, f"{name}: wildcard action {action}"
                    assert action_entries(action), f"{name}: {action} is not an IAM action"
                    if resources == ["*"]:
                        assert action in WILDCARD_ONLY, f"{name}: {action} on Resource '*'"
                        assert not arn_formats(action), f"{name}: {action} has a resource type"
                        continue
                    assert "*" not in resources, f"{name}: '*' mixed with resources"
                    matched = [
                        r
                        for r in resources
                        if any(globs_overlap(r, _glob(f)) for f in arn_formats(action))
                    ]
                    assert matched, f"{name}: no resource of {resources} can match {action}"


def test_resources_stay_in_the_stacks_account_and_region() -> None:
    for stack in every_stack():
        for name, role in stack.roles().items():
            for s in permission_statements(role):
                for resource in as_list(s["Resource"]):
                    if resource == "*":
                        continue
                    parts = resource.split(":")
                    service, region, account = parts[2], parts[3], parts[4]
                    if resource == "arn:aws:iam::*:role/ouroboros-target":
                        continue  # the target role, by name, in any account: the executor's job
                    if resource == "arn:aws:iam::*:role/ouroboros-reader":
                        continue  # the reader role, by name, in any account: the preview's
                    assert account == stack.account, (name, resource)
                    if service in {"scheduler", "lambda", "dynamodb", "logs"}:
                        assert region == REGION, (name, resource)


def _supported(key: str, keys: set[str]) -> bool:
    """`key` is one of `keys`, whose ${TagKey}-style parts stand for any tag key."""
    return any(re.fullmatch(re.sub(r"\\\$\\\{[^}]+\\\}", ".+", re.escape(k)), key) for k in keys)


def test_condition_keys_are_supported_by_their_actions() -> None:
    for stack in every_stack():
        for name, role in stack.roles().items():
            for s in permission_statements(role):
                for operator in s.get("Condition", {}).values():
                    for key in operator:
                        for action in as_list(s["Action"]):
                            assert _supported(key, condition_keys(action)), (name, action, key)


def test_plan_role_is_read_only() -> None:
    role = Stack(BOOTSTRAP, **GITHUB).roles()["PlanRole"]
    for action in actions_of(role):
        if action == "sts:AssumeRole":  # the read-only reader role's, by name, and only it
            continue
        assert access_levels(action) <= {"Read", "List"}, action
    assumes = [s for s in permission_statements(role) if "sts:AssumeRole" in as_list(s["Action"])]
    assert [as_list(s["Resource"]) for s in assumes] == [["arn:aws:iam::*:role/ouroboros-reader"]]
    # No apply lock for plan: it writes no item at all.
    assert not {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"} & actions_of(role)


def test_reader_role_is_read_only_and_trusts_only_the_plan_and_apply_roles() -> None:
    reader = Stack(TARGET, account=OTHER, HomeAccountId=MOTO_ACCOUNT).roles()["ReaderRole"]
    assert actions_of(reader) == {
        "ec2:DescribeInstances",
        "ec2:DescribeSpotInstanceRequests",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "autoscaling:DescribeAutoScalingGroups",
    }
    assert only_trust(reader)["Principal"] == {
        "AWS": [
            f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-plan",
            f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-apply",
        ]
    }
    assert only_trust(reader)["Action"] == "sts:AssumeRole"


def test_apply_role_cannot_touch_iam_or_delete_the_group() -> None:
    role = Stack(BOOTSTRAP, **GITHUB).roles()["ApplyRole"]
    iam = {a for a in actions_of(role) if a.startswith("iam:")}
    assert iam == {"iam:PassRole"}
    # Deleting the group deletes every schedule in it: the reconciler never does, nor may the role.
    assert "scheduler:DeleteScheduleGroup" not in actions_of(role)
    assert "lambda:DeleteFunction" not in actions_of(role)
    assert "dynamodb:DeleteTable" not in actions_of(role)


def test_executor_writes_only_its_own_log_group() -> None:
    stack = Stack(BOOTSTRAP, **GITHUB)
    logs = [
        s
        for s in permission_statements(stack.roles()["ExecutorRole"])
        if "logs:PutLogEvents" in as_list(s["Action"])
    ]
    assert [(sorted(as_list(s["Action"])), s["Resource"]) for s in logs] == [
        (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"arn:aws:logs:{REGION}:{HOME}:log-group:/aws/lambda/ouroboros-executor:*",
        )
    ]
    group = stack.resources()["ExecutorLogGroup"]["Properties"]
    assert group == {"LogGroupName": "/aws/lambda/ouroboros-executor", "RetentionInDays": 90}


def test_no_role_can_be_assumed_by_anyone_else(bootstrap: Stack) -> None:
    for name, role in bootstrap.roles().items():
        principal = only_trust(role)["Principal"]
        assert principal != "*", name
        assert principal.get("AWS") != "*", name
        assert "Condition" in only_trust(role) or "Service" in principal, name


# ---------------------------------------------------------------------------------------------
# What the stack hands to ouroboros.yaml and the repository variables.


def test_outputs_are_the_arns_the_settings_and_workflows_need() -> None:
    outputs = Stack(BOOTSTRAP, **GITHUB).outputs()
    assert outputs == {
        "PlanRoleArn": f"arn:aws:iam::{HOME}:role/ouroboros-plan",
        "ApplyRoleArn": f"arn:aws:iam::{HOME}:role/ouroboros-apply",
        "SchedulerRoleArn": f"arn:aws:iam::{HOME}:role/ouroboros-scheduler",
        "ExecutorRoleArn": f"arn:aws:iam::{HOME}:role/ouroboros-executor",
        "OidcSubjectPrefix": "repo:acme/fleet-schedules",
        "ApplyRoleSubject": "repo:acme/fleet-schedules:environment:production:"
        + _workflow_ref("reusable-apply.yml", "refs/heads/main"),
    }
    plain = Stack(BOOTSTRAP, **GITHUB, **DEFAULT_SUBJECT).outputs()["ApplyRoleSubject"]
    assert plain == "repo:acme/fleet-schedules:environment:production"


# The names of the example settings (DESIGN.md section 4), which ouroboros.yaml starts with.
EXAMPLE_NAMES = {
    "ScheduleGroup": "ouroboros",
    "ExecutorFunctionName": "ouroboros-executor",
    "LogTable": "ouroboros-runs",
    "TargetRoleName": "ouroboros-target",
}


def test_defaults_match_the_example_settings() -> None:
    # A stack deployed with the defaults serves the example settings: role ARNs and names.
    # (The constants, not the repository's ouroboros.yaml: a team's copy holds its own names.)
    stack = Stack(BOOTSTRAP, **GITHUB)
    assert {name: stack.params[name] for name in EXAMPLE_NAMES} == EXAMPLE_NAMES
    outputs = stack.outputs()
    assert outputs["ExecutorRoleArn"] == f"arn:aws:iam::{HOME}:role/ouroboros-executor"
    assert outputs["SchedulerRoleArn"] == f"arn:aws:iam::{HOME}:role/ouroboros-scheduler"
    target = Stack(TARGET, HomeAccountId=HOME).params
    assert (target["TargetRoleName"], target["ExecutorRoleName"]) == (
        "ouroboros-target",
        "ouroboros-executor",
    )


def test_schedule_group_parameter_refuses_default() -> None:
    pattern = Stack(BOOTSTRAP, **GITHUB).template["Parameters"]["ScheduleGroup"]["AllowedPattern"]
    assert re.fullmatch(pattern, "ouroboros")
    assert not re.fullmatch(pattern, "default")


# ---------------------------------------------------------------------------------------------
# The templates grant what the code really does. The real `reconcile apply` and `reconcile plan`
# (through the CLI) and the real executor handler run against moto while every AWS call is
# recorded; each call is then mapped to the IAM actions and resources it needs (iam:PassRole
# included) and checked against the role that makes it in production.

MOTO_ACCOUNT = "123456789012"  # moto's default account: the home account here


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    account: str
    # The tag keys the resource carried when called (for aws:ResourceTag conditions).
    resource_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Need:
    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()


class Recorder:
    """Every boto3 call made while `on`, with the account its credentials belong to."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[Call] = []
        self.on = False
        self._looking = threading.local()
        original = BaseClient._make_api_call

        def record(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if self.on and not getattr(self._looking, "up", False):
                # The lookup of the resource's tags is the test's call, not the code's; the
                # executor's pairs run in threads, hence a per-thread flag.
                self._looking.up = True
                try:
                    tags = self._group_tags(client, operation, params)
                finally:
                    self._looking.up = False
                self.calls.append(
                    Call(
                        client.meta.service_model.signing_name,
                        operation,
                        dict(params),
                        client.meta.region_name,
                        self._account(client),
                        tags,
                    )
                )
            return original(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", record)

    @staticmethod
    def _group_tags(client: Any, operation: str, params: dict[str, Any]) -> tuple[str, ...]:
        if operation != "UpdateAutoScalingGroup":
            return ()
        name = params["AutoScalingGroupName"]
        groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        return tuple(t["Key"] for g in groups["AutoScalingGroups"] for t in g.get("Tags", []))

    @staticmethod
    def _account(client: Any) -> str:
        # The fixture's own keys are the home account's; moto hands assumed roles other keys.
        key = client._request_signer._credentials.get_frozen_credentials().access_key
        return MOTO_ACCOUNT if key == os.environ["AWS_ACCESS_KEY_ID"] else OTHER

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls


def needs(call: Call) -> list[Need]:
    """The IAM authorisations one API call needs (AWS's Service Authorization Reference)."""
    s, op, p, region, account = call.service, call.operation, call.params, call.region, call.account
    action = f"{s}:{op}"
    if (s, op) == ("sts", "GetCallerIdentity"):
        return []  # needs no permission
    if s == "scheduler":
        if op == "ListSchedules":
            return [Need(action, "*")]
        if op.endswith("ScheduleGroup"):
            return [
                Need(action, f"arn:aws:scheduler:{region}:{account}:schedule-group/{p['Name']}")
            ]
        group = p.get("GroupName", "default")
        found = [Need(action, f"arn:aws:scheduler:{region}:{account}:schedule/{group}/{p['Name']}")]
        if op in {"CreateSchedule", "UpdateSchedule"}:
            found.append(
                Need(
                    "iam:PassRole",
                    p["Target"]["RoleArn"],
                    (("iam:PassedToService", "scheduler.amazonaws.com"),),
                )
            )
        return found
    if s == "lambda":
        name = p["FunctionName"]
        arn = (
            name
            if name.startswith("arn:")
            else f"arn:aws:lambda:{region}:{account}:function:{name}"
        )
        found = [Need(action, arn)]
        if "Role" in p:
            found.append(
                Need("iam:PassRole", p["Role"], (("iam:PassedToService", "lambda.amazonaws.com"),))
            )
        return found
    if s == "dynamodb":
        table = f"arn:aws:dynamodb:{region}:{account}:table/{p['TableName']}"
        return [Need(action, f"{table}/index/{p['IndexName']}" if "IndexName" in p else table)]
    if s == "ec2":
        if op.startswith("Describe"):
            return [Need(action, "*")]
        return [
            Need(action, f"arn:aws:ec2:{region}:{account}:instance/{i}") for i in p["InstanceIds"]
        ]
    if (s, op) == ("sts", "AssumeRole"):
        return [Need(action, p["RoleArn"])]
    if s == "rds":
        return [_rds_need(action, p, region, account)]
    if s == "autoscaling":
        return _autoscaling_needs(action, p, region, account, call.resource_tags)
    if s == "sqs":
        name = p.get("QueueName") or str(p["QueueUrl"]).rsplit("/", 1)[1]
        return [Need(action, f"arn:aws:sqs:{region}:{account}:{name}")]
    raise AssertionError(f"map {action} to its IAM resources here, and grant it in infra/")


def _rds_need(action: str, p: Mapping[str, Any], region: str, account: str) -> Need:
    # A Describe without an identifier is authorised against every DB instance / cluster.
    if "Cluster" in action:
        return Need(
            action, f"arn:aws:rds:{region}:{account}:cluster:{p.get('DBClusterIdentifier', '*')}"
        )
    return Need(action, f"arn:aws:rds:{region}:{account}:db:{p.get('DBInstanceIdentifier', '*')}")


_GROUP_ID = "6f0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"  # a group's id is in its ARN: any will do


def _autoscaling_needs(
    action: str, p: Mapping[str, Any], region: str, account: str, tags: tuple[str, ...]
) -> list[Need]:
    if action == "autoscaling:DescribeAutoScalingGroups":
        return [Need(action, "*")]

    def arn(name: str) -> str:
        return (
            f"arn:aws:autoscaling:{region}:{account}:autoScalingGroup:{_GROUP_ID}:"
            f"autoScalingGroupName/{name}"
        )

    if action == "autoscaling:UpdateAutoScalingGroup":
        context = tuple((f"aws:ResourceTag/{k}", "present") for k in tags)
        return [Need(action, arn(p["AutoScalingGroupName"]), context)]
    return [Need(action, arn(t["ResourceId"]), (("aws:TagKeys", t["Key"]),)) for t in p["Tags"]]


def _iam_match(pattern: str, value: str) -> bool:
    return (
        re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None
    )


def allows(role: Mapping[str, Any], need: Need) -> bool:
    context = dict(need.context)
    for s in permission_statements(role):
        if need.action not in as_list(s["Action"]):
            continue
        if not any(_iam_match(pattern, need.resource) for pattern in as_list(s["Resource"])):
            continue
        conditions_hold = all(
            (operator == "StringEquals" and context.get(key) in as_list(expected))
            or (operator == "ForAllValues:StringEquals" and context.get(key) in as_list(expected))
            or (operator == "Bool" and context.get(key) == expected)
            or (operator == "Null" and (key in context) == (expected == "false"))
            for operator, pairs in s.get("Condition", {}).items()
            for key, expected in pairs.items()
        )
        if conditions_hold:
            return True
    return False


def denied(role: Mapping[str, Any], calls: list[Call]) -> list[Need]:
    return sorted(
        {n for c in calls for n in needs(c) if not allows(role, n)},
        key=lambda n: (n.action, n.resource),
    )


def test_the_policy_check_denies_what_is_not_granted() -> None:
    roles = Stack(BOOTSTRAP, account=MOTO_ACCOUNT, **GITHUB).roles()
    scheduler = f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-scheduler"
    create = Call(
        "scheduler",
        "CreateSchedule",
        {"Name": "x-start", "GroupName": "ouroboros", "Target": {"RoleArn": scheduler}},
        REGION,
        MOTO_ACCOUNT,
    )
    assert denied(roles["ApplyRole"], [create]) == []
    assert [n.action for n in denied(roles["PlanRole"], [create])] == [
        "iam:PassRole",
        "scheduler:CreateSchedule",
    ]
    elsewhere = Call(
        "scheduler", "DeleteSchedule", {"Name": "x", "GroupName": "default"}, REGION, MOTO_ACCOUNT
    )
    assert [n.resource for n in denied(roles["ApplyRole"], [elsewhere])] == [
        f"arn:aws:scheduler:{REGION}:{MOTO_ACCOUNT}:schedule/default/x"
    ]
    wrong_service = Need(
        "iam:PassRole", scheduler, (("iam:PassedToService", "lambda.amazonaws.com"),)
    )
    assert not allows(roles["ApplyRole"], wrong_service)


SETTINGS_YAML = f"""\
version: 1
region: {REGION}
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-executor
  memory_mb: {{memory}}
scheduler_role_arn: arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""

RULES_YAML = """\
version: 1
rules:
  - name: dev-office-hours
    timezone: Europe/Berlin
    accounts: ["123456789012", "222222222222"]
    regions: [eu-west-1]
    targets:
      tag:Environment: dev
    start: {start}
    stop: cron(0 19 ? * MON-FRI *)
"""
NIGHTLY_RULE = """\
  - name: ci-nightly
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets:
      tag:Team: ci
    stop: cron(0 22 * * ? *)
"""


def _write_repo(root: Path, *, start: str, memory: int, nightly: bool) -> None:
    (root / "schedules").mkdir(exist_ok=True)
    (root / "ouroboros.yaml").write_text(SETTINGS_YAML.format(memory=memory))
    rules = RULES_YAML.format(start=start) + (NIGHTLY_RULE if nightly else "")
    (root / "schedules" / "fleet.yaml").write_text(rules)


def _reconcile(*args: str) -> None:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in (0, 2), result.output


def _service_roles() -> None:
    """moto's Lambda refuses a role that does not exist: create the two the functions use."""
    iam = boto3.client("iam", region_name=REGION)
    for name, service in (("ouroboros-executor", "lambda"), ("ouroboros-scheduler", "scheduler")):
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": f"{service}.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def test_the_apply_and_plan_roles_allow_every_call_of_apply_and_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    roles = Stack(BOOTSTRAP, account=MOTO_ACCOUNT, **GITHUB).roles()
    recorder = Recorder(monkeypatch)
    with mock_aws():
        _service_roles()
        # First apply: creates the table, the executor, the group and the schedules.
        _write_repo(tmp_path, start="cron(0 8 ? * MON-FRI *)", memory=256, nightly=True)
        recorder.on = True
        _reconcile("apply", "--yes")
        applied = recorder.take()
        # Someone replaces the executor's code by hand; the team edits one rule, drops one,
        # and gives the executor more memory: the second apply updates and deletes.
        recorder.on = False
        boto3.client("lambda", region_name=REGION).update_function_code(
            FunctionName="ouroboros-executor", ZipFile=_other_zip()
        )
        _write_repo(tmp_path, start="cron(30 7 ? * MON-FRI *)", memory=512, nightly=False)
        recorder.on = True
        _reconcile("plan", "--detailed-exitcode", "--format", "markdown", "--out", "plan.json")
        planned = recorder.take()
        _reconcile("report", "--out", "site")  # the nightly report, with the plan role too
        planned += recorder.take()
        _reconcile("apply", "--yes")
        applied += recorder.take()
        # The nightly drift job runs verify with the plan role too.
        _reconcile("verify", "--since", "7d")
        planned += recorder.take()
    operations = {f"{c.service}:{c.operation}" for c in applied}
    # The run really covered create, update and delete of every kind it manages.
    assert operations >= {
        "dynamodb:CreateTable",
        "dynamodb:UpdateTimeToLive",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:PutItem",
        "lambda:CreateFunction",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
        "lambda:PutFunctionEventInvokeConfig",
        "sqs:CreateQueue",
        "scheduler:CreateScheduleGroup",
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
    }
    reader = Stack(TARGET, account=OTHER, HomeAccountId=MOTO_ACCOUNT).roles()["ReaderRole"]
    assert denied(roles["ApplyRole"], [c for c in applied if c.account == MOTO_ACCOUNT]) == []
    assert denied(reader, [c for c in applied if c.account == OTHER]) == []
    assert {f"{c.service}:{c.operation}" for c in planned} >= {
        "scheduler:ListSchedules",
        "scheduler:GetSchedule",
        "lambda:GetFunction",
        "lambda:GetFunctionEventInvokeConfig",
        "dynamodb:DescribeTable",
        "sqs:GetQueueAttributes",
        "dynamodb:Query",
        "sts:AssumeRole",
        "ec2:DescribeInstances",
    }
    assert not any(c.operation in ("Scan", "DeleteMessage") for c in planned)
    home = [c for c in planned if c.account == MOTO_ACCOUNT]
    assert denied(roles["PlanRole"], home) == []
    # The target preview reads the other account through the reader role, never the target role.
    elsewhere = [c for c in planned if c.account == OTHER]
    assert {(c.service, c.operation) for c in elsewhere} == {("ec2", "DescribeInstances")}
    assert denied(reader, elsewhere) == []
    assumed = [c.params["RoleArn"] for c in planned if c.operation == "AssumeRole"]
    assert assumed == [f"arn:aws:iam::{OTHER}:role/ouroboros-reader"]


def _other_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def test_the_executor_and_target_roles_allow_every_call_of_the_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reconciler import runlog
    from reconciler.executor import handler
    from reconciler.executor.trust import PLACEHOLDERS

    home = Stack(BOOTSTRAP, account=MOTO_ACCOUNT, **GITHUB).roles()
    target = Stack(TARGET, account=OTHER, HomeAccountId=MOTO_ACCOUNT).roles()["TargetRole"]
    executor_arn = f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-executor"
    # The role Lambda runs the executor with is the one principal the target role trusts.
    assert only_trust(target)["Principal"] == {"AWS": executor_arn}
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", "ouroboros-runs")
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", "ouroboros")
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    recorder = Recorder(monkeypatch)
    firings = (
        ("stop", "2026-11-27T19:00:00Z", "cron(0 19 ? * MON-FRI *)"),
        ("start", "2026-11-30T08:00:00Z", "cron(0 8 ? * MON-FRI *)"),
    )
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="ouroboros-runs", **runlog.TABLE_DEFINITION
        )
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name="ouroboros")
        for action, when, expression in firings:
            scheduler.create_schedule(
                Name=f"dev-office-hours-{action}",
                GroupName="ouroboros",
                ScheduleExpression=expression,
                FlexibleTimeWindow={"Mode": "OFF"},
                Target={
                    "Arn": _LambdaContext.invoked_function_arn,
                    "RoleArn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-scheduler",
                    "Input": json.dumps({**_event(action, when), **PLACEHOLDERS}),
                },
            )
        _launch(MOTO_ACCOUNT)
        _launch(OTHER)
        recorder.on = True
        for action, when, _ in firings:
            # The executor acts on an occurrence at its time: play the clock there.
            tuning = dataclasses.replace(handler.TUNING, now=functools.partial(_instant, when))
            result = handler.handle(_event(action, when), _LambdaContext(), tuning)
            assert result["status"] == "ok", result
        calls = recorder.take()
    acted = {
        (c.account, c.operation)
        for c in calls
        if c.operation in {"StartInstances", "StopInstances"}
    }
    assert acted == {
        (a, op) for a in (MOTO_ACCOUNT, OTHER) for op in ("StartInstances", "StopInstances")
    }
    assert denied(home["ExecutorRole"], [c for c in calls if c.account == MOTO_ACCOUNT]) == []
    assert denied(target, [c for c in calls if c.account == OTHER]) == []


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _launch(account: str) -> None:
    credentials: dict[str, str] = {}
    if account != MOTO_ACCOUNT:
        assumed = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="setup"
        )["Credentials"]
        credentials = {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }
    boto3.client("ec2", region_name=REGION, **credentials).run_instances(
        ImageId="ami-12c6146b",
        MinCount=2,
        MaxCount=2,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Environment", "Value": "dev"}]}
        ],
    )


@dataclass
class _LambdaContext:
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{MOTO_ACCOUNT}:function:ouroboros-executor"
    )
    aws_request_id: str = "3f1c0d7e-1111-2222-3333-444455556666"
    function_name: str = "ouroboros-executor"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _event(action: str, when: str) -> dict[str, Any]:
    """The executor event as DESIGN.md §6 pins it, placeholders filled in as Scheduler does."""
    return {
        "version": 1,
        "rule": "dev-office-hours",
        "action": action,
        "hibernate": False,
        "accounts": [MOTO_ACCOUNT, OTHER],
        "regions": [REGION],
        "targets": {"tag:Environment": ["dev"]},
        "max_instances": 100,
        "role_name": "ouroboros-target",
        "schedule_arn": f"arn:aws:scheduler:{REGION}:{MOTO_ACCOUNT}:schedule/ouroboros/dev-office-hours-{action}",
        "scheduled_time": when,
        "execution_id": f"exec-{action}",
    }


ORG = "o-a1b2c3d4e5"


def test_with_an_organization_the_executor_assumes_target_roles_only_inside_it() -> None:
    def assume(**params: str) -> list[dict[str, Any]]:
        role = Stack(BOOTSTRAP, **GITHUB, **params).roles()["ExecutorRole"]
        return [s for s in permission_statements(role) if s["Action"] == "sts:AssumeRole"]

    (plain,) = assume()
    assert "Condition" not in plain
    (fenced,) = assume(OrganizationId=ORG)
    assert fenced["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}


def test_with_an_organization_the_target_role_trusts_the_executor_only_from_inside_it() -> None:
    assert "Condition" not in only_trust(Stack(TARGET, HomeAccountId=HOME).roles()["TargetRole"])
    role = Stack(TARGET, HomeAccountId=HOME, OrganizationId=ORG).roles()["TargetRole"]
    assert only_trust(role)["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


@pytest.mark.parametrize("template", [BOOTSTRAP, TARGET])
def test_the_organization_id_parameter_is_checked(template: Path) -> None:
    params = {"HomeAccountId": HOME} if template == TARGET else GITHUB
    stack = Stack(template, **params)
    pattern = stack.template["Parameters"]["OrganizationId"]["AllowedPattern"]
    assert re.fullmatch(pattern, ORG)
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "o-ABC")


def test_the_executor_and_target_roles_allow_every_call_of_each_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rds, aurora and asg rules stop and start in both accounts; every call is granted."""
    from reconciler import runlog
    from reconciler.executor import handler
    from reconciler.executor.trust import PLACEHOLDERS

    home = Stack(BOOTSTRAP, account=MOTO_ACCOUNT, **GITHUB).roles()
    target = Stack(TARGET, account=OTHER, HomeAccountId=MOTO_ACCOUNT).roles()["TargetRole"]
    monkeypatch.setenv("OUROBOROS_LOG_TABLE", "ouroboros-runs")
    monkeypatch.setenv("OUROBOROS_SCHEDULE_GROUP", "ouroboros")
    monkeypatch.setenv("OUROBOROS_TARGET_ROLE", "ouroboros-target")
    recorder = Recorder(monkeypatch)
    firings = (
        ("stop", "2026-11-27T19:00:00Z", "cron(0 19 ? * MON-FRI *)"),
        ("start", "2026-11-30T08:00:00Z", "cron(0 8 ? * MON-FRI *)"),
    )
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="ouroboros-runs", **runlog.TABLE_DEFINITION
        )
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name="ouroboros")
        for kind in ("rds", "aurora", "asg"):
            for action, when, expression in firings:
                scheduler.create_schedule(
                    Name=f"dev-{kind}-{action}",
                    GroupName="ouroboros",
                    ScheduleExpression=expression,
                    FlexibleTimeWindow={"Mode": "OFF"},
                    Target={
                        "Arn": _LambdaContext.invoked_function_arn,
                        "RoleArn": f"arn:aws:iam::{MOTO_ACCOUNT}:role/ouroboros-scheduler",
                        "Input": json.dumps({**_kind_event(kind, action, when), **PLACEHOLDERS}),
                    },
                )
        for account in (MOTO_ACCOUNT, OTHER):
            _kinds_fleet(account)
        recorder.on = True
        for kind in ("rds", "aurora", "asg"):
            for action, when, _ in firings:
                tuning = dataclasses.replace(handler.TUNING, now=functools.partial(_instant, when))
                result = handler.handle(_kind_event(kind, action, when), _LambdaContext(), tuning)
                assert result["status"] == "ok", result
                assert all(p["acted"] == 1 for p in result["pairs"]), result
        calls = recorder.take()
    made = {(c.account, f"{c.service}:{c.operation}") for c in calls}
    new_calls = {
        "rds:DescribeDBInstances",
        "rds:StopDBInstance",
        "rds:StartDBInstance",
        "rds:DescribeDBClusters",
        "rds:StopDBCluster",
        "rds:StartDBCluster",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:CreateOrUpdateTags",
        "autoscaling:UpdateAutoScalingGroup",
        "autoscaling:DeleteTags",
    }
    assert {(a, c) for a in (MOTO_ACCOUNT, OTHER) for c in new_calls} <= made
    assert denied(home["ExecutorRole"], [c for c in calls if c.account == MOTO_ACCOUNT]) == []
    assert denied(target, [c for c in calls if c.account == OTHER]) == []
    # The grants are no wider than used: without the saved-capacity tag, no resize.
    resize = next(c for c in calls if c.operation == "UpdateAutoScalingGroup")
    untagged = dataclasses.replace(resize, resource_tags=())
    assert [n.action for n in denied(target, [untagged])] == ["autoscaling:UpdateAutoScalingGroup"]
    other_tag = Call(
        "autoscaling",
        "CreateOrUpdateTags",
        {"Tags": [{"ResourceId": "dev-web", "Key": "Environment", "Value": "prod"}]},
        REGION,
        OTHER,
    )
    assert [n.action for n in denied(target, [other_tag])] == ["autoscaling:CreateOrUpdateTags"]


def _kind_event(kind: str, action: str, when: str) -> dict[str, Any]:
    return {
        **_event(action, when),
        "rule": f"dev-{kind}",
        "resource": kind,
        "schedule_arn": (
            f"arn:aws:scheduler:{REGION}:{MOTO_ACCOUNT}:schedule/ouroboros/dev-{kind}-{action}"
        ),
        "execution_id": f"exec-{kind}-{action}",
    }


def _kinds_fleet(account: str) -> None:
    """One dev DB instance, one Aurora cluster and one Auto Scaling group in the account."""
    credentials: dict[str, str] = {}
    if account != MOTO_ACCOUNT:
        assumed = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="setup"
        )["Credentials"]
        credentials = {
            "aws_access_key_id": assumed["AccessKeyId"],
            "aws_secret_access_key": assumed["SecretAccessKey"],
            "aws_session_token": assumed["SessionToken"],
        }
    dev = [{"Key": "Environment", "Value": "dev"}]
    rds = boto3.client("rds", region_name=REGION, **credentials)
    login = {"MasterUsername": "admin", "MasterUserPassword": "password123"}
    rds.create_db_instance(
        DBInstanceIdentifier="dev-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        Tags=dev,
        **login,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="dev-aurora", Engine="aurora-postgresql", Tags=dev, **login
    )
    boto3.client("ec2", region_name=REGION, **credentials).create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
    )
    boto3.client("autoscaling", region_name=REGION, **credentials).create_auto_scaling_group(
        AutoScalingGroupName="dev-web",
        LaunchTemplate={"LaunchTemplateName": "web"},
        MinSize=1,
        DesiredCapacity=1,
        MaxSize=2,
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{**t, "ResourceId": "dev-web", "ResourceType": "auto-scaling-group"} for t in dev],
    )


KIND_RULES_YAML = """\
version: 1
rules:
""" + "".join(
    f"""\
  - name: dev-{kind}
    resource: {kind}
    accounts: ["{MOTO_ACCOUNT}", "{OTHER}"]
    regions: [{REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron({minute} 19 ? * MON-FRI *)
"""
    for kind, minute in (("rds", 0), ("aurora", 5), ("asg", 10))
)


def test_the_plan_apply_and_reader_roles_allow_the_preview_of_every_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rds, aurora and asg rules previewed by plan and apply, at home and in another account:
    every Describe call is granted, and the other account is read through the reader role."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    roles = Stack(BOOTSTRAP, account=MOTO_ACCOUNT, **GITHUB).roles()
    reader = Stack(TARGET, account=OTHER, HomeAccountId=MOTO_ACCOUNT).roles()["ReaderRole"]
    recorder = Recorder(monkeypatch)
    with mock_aws():
        _service_roles()
        for account in (MOTO_ACCOUNT, OTHER):
            _kinds_fleet(account)
        (tmp_path / "schedules").mkdir()
        (tmp_path / "ouroboros.yaml").write_text(SETTINGS_YAML.format(memory=256))
        (tmp_path / "schedules" / "kinds.yaml").write_text(KIND_RULES_YAML)
        recorder.on = True
        _reconcile("plan", "--format", "json", "--out", "plan.json")
        planned = recorder.take()
        _reconcile("apply", "--yes")
        applied = recorder.take()
    rules = json.loads((tmp_path / "plan.json").read_text())["rules"]
    assert {r["name"]: sorted(i["id"] for i in r["targets"]["instances"]) for r in rules} == {
        "dev-rds": ["dev-db", "dev-db"],
        "dev-aurora": ["dev-aurora", "dev-aurora"],
        "dev-asg": ["dev-web", "dev-web"],
    }
    describes = {
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "autoscaling:DescribeAutoScalingGroups",
    }
    for calls, role in ((planned, roles["PlanRole"]), (applied, roles["ApplyRole"])):
        made = {(c.account, f"{c.service}:{c.operation}") for c in calls}
        assert {(a, d) for a in (MOTO_ACCOUNT, OTHER) for d in describes} <= made
        assert denied(role, [c for c in calls if c.account == MOTO_ACCOUNT]) == []
        elsewhere = [c for c in calls if c.account == OTHER]
        assert {f"{c.service}:{c.operation}" for c in elsewhere} == describes
        assert denied(reader, elsewhere) == []
        assumed = [c.params["RoleArn"] for c in calls if c.operation == "AssumeRole"]
        assert assumed == [f"arn:aws:iam::{OTHER}:role/ouroboros-reader"]
