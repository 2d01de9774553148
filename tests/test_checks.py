"""reconciler.checks on its own: the values the loader and the executor both refuse."""

from __future__ import annotations

import pytest

from reconciler import checks
from reconciler.checks import Problem


def _event(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "version": 1,
        "rule": "dev-office-hours",
        "action": "stop",
        "hibernate": False,
        "accounts": ["123456789012"],
        "regions": ["eu-west-1"],
        "targets": {"tag:Environment": ["dev"]},
        "max_instances": 100,
        "role_name": "ouroboros-target",
        "schedule_arn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/ouroboros/x-stop",
        "scheduled_time": "2026-03-30T17:00:00Z",
        "execution_id": "e1",
    }
    event.update(changes)
    return event


# A pattern ending in `$` matches before a trailing newline; a YAML block scalar or a quoted
# "...\n" carries one. Every such value must be refused, not sent to AWS.
TRAILING_NEWLINE = [
    (
        checks.check_rule_name("dev\n"),
        [
            Problem(
                ("name",),
                "'dev\n' is not a valid rule name: use 1-40 lower-case letters, digits and "
                "hyphens, starting and ending with a letter or digit",
            )
        ],
    ),
    (
        checks.check_accounts(["123456789012\n"]),
        [Problem(("accounts", 0), "'123456789012\\n' is not a 12-digit AWS account id")],
    ),
    (
        checks.check_regions(["eu-west-1\n"]),
        [Problem(("regions", 0), "'eu-west-1\\n' is not an AWS region name such as eu-west-1")],
    ),
    (
        checks.check_filter_value("instance-id", "i-0123456\n7", ("v",)),
        [
            Problem(
                ("v",),
                "'i-0123456\n7' is not a valid instance-id: expected i- followed by 8 or 17 hex "
                "digits",
            )
        ],
    ),
    (
        checks.check_event(_event(role_name="ouroboros-target\n")),
        [Problem(("role_name",), "'ouroboros-target\\n' is not an IAM role name")],
    ),
]


@pytest.mark.parametrize(("problems", "expected"), TRAILING_NEWLINE)
def test_a_trailing_newline_is_refused(problems: list[Problem], expected: list[Problem]) -> None:
    assert problems == expected


def test_the_sample_event_is_valid() -> None:
    assert checks.check_event(_event()) == []


def test_role_names_are_ascii() -> None:
    # \w would accept any Unicode letter; IAM names are [\w+=,.@-] in ASCII.
    assert checks.check_event(_event(role_name="rôle")) == [
        Problem(("role_name",), "'rôle' is not an IAM role name")
    ]


@pytest.mark.parametrize("version", [1.0, True, "1", 2])
def test_an_event_version_other_than_the_integer_1_is_refused(version: object) -> None:
    event = {"version": version}
    assert any(p.path == ("version",) for p in checks.check_event(event))


@pytest.mark.parametrize("name", ["tag:Env\n", "tag: Env", "tag:Env\t", "tag:a\x00b"])
def test_tag_keys_with_control_characters_or_spaces_around_are_refused(name: str) -> None:
    problems = checks.check_filter_name(name)
    assert [p.message for p in problems] == [
        f"tag key {name[4:]!r} has control characters or surrounding spaces"
    ]
