"""Role session names within STS's rules, and the executor's own account from its ARN."""

from __future__ import annotations

import re

import boto3
import pytest

from reconciler import checks
from reconciler.executor import credentials

# STS RoleSessionName: 2 to 64 characters of [\w+=,.@-].
STS_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
LONGEST_RULE = "a" + "-b" * 19 + "c"  # 40 characters, the most a rule name may have


@pytest.mark.parametrize(
    ("rule", "action", "expected"),
    [
        ("dev-office-hours", "stop", "ouroboros-dev-office-hours-stop"),
        (LONGEST_RULE, "start", f"ouroboros-{LONGEST_RULE}-start"),
        (LONGEST_RULE, "stop", f"ouroboros-{LONGEST_RULE}-stop"),
        # Not a valid rule name (the event check refuses it first), yet still a valid session.
        ("x y/z", "stop", "ouroboros-x-y-z-stop"),
        ("r" * 80, "start", "ouroboros-" + "r" * 54),
    ],
)
def test_role_session_name(rule: str, action: str, expected: str) -> None:
    name = credentials.role_session_name(rule, action)
    assert name == expected
    assert STS_SESSION_NAME.match(name)


def test_the_longest_rule_name_is_a_valid_rule_name() -> None:
    assert checks.RULE_NAME_RE.match(LONGEST_RULE)
    assert len(LONGEST_RULE) == 40


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        ("arn:aws:lambda:eu-west-1:123456789012:function:ouroboros-executor", "123456789012"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:ouroboros-executor:live", "123456789012"),
        ("arn:aws-cn:lambda:cn-north-1:123456789012:function:x", "123456789012"),
        ("", None),
        (None, None),
        ("arn:aws:lambda:eu-west-1:12345:function:x", None),
    ],
)
def test_account_from_arn(arn: str | None, account: str | None) -> None:
    assert credentials.account_from_arn(arn) == account


class _RecordingSts:
    def __init__(self) -> None:
        self.assumed: list[str] = []

    def assume_role(self, **kwargs: object) -> dict[str, object]:
        self.assumed.append(str(kwargs["RoleArn"]))
        return {"Credentials": {"AccessKeyId": "a", "SecretAccessKey": "s", "SessionToken": "t"}}


class _FakeSession(boto3.session.Session):
    """A real session (for its partition data) whose sts client records AssumeRole."""

    def __init__(self) -> None:
        super().__init__(region_name="us-east-1")
        self.sts = _RecordingSts()

    def client(self, service_name: str, **kwargs: object) -> object:  # type: ignore[override]
        return self.sts if service_name == "sts" else object()


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu-west-1", "arn:aws:iam::222222222222:role/ouroboros-target"),
        ("cn-north-1", "arn:aws-cn:iam::222222222222:role/ouroboros-target"),
        ("us-gov-west-1", "arn:aws-us-gov:iam::222222222222:role/ouroboros-target"),
        ("xx-new-1", "arn:aws:iam::222222222222:role/ouroboros-target"),
    ],
)
def test_the_assumed_role_arn_names_the_home_regions_partition(region: str, expected: str) -> None:
    session = _FakeSession()
    clients = credentials.Clients(
        session, region, "ouroboros-target", "s", own_account="111111111111"
    )
    clients.client("ec2", region, "222222222222")
    assert session.sts.assumed == [expected]
