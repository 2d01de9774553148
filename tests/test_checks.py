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


# A pattern that can match every value the filter takes selects every instance: the same
# refusal in `reconcile validate` and in the executor.
MATCH_EVERYTHING = [
    (
        "tag:Name",
        "*",
        "'*' matches every value of tag 'Name'; name the values to act on, or write "
        "tag-key: Name if every instance with that tag is meant",
    ),
    (
        "tag:Team",
        "**",
        "'**' matches every value of tag 'Team'; name the values to act on, or write "
        "tag-key: Team if every instance with that tag is meant",
    ),
    (
        "tag:Team",
        "*?*",
        "'*?*' matches every value of tag 'Team'; name the values to act on, or write "
        "tag-key: Team if every instance with that tag is meant",
    ),
    ("tag-key", "??", "'??' matches every instance; name the tag-key values to act on"),
    ("instance-type", "?", "'?' matches every instance; name the instance-type values to act on"),
    (
        "instance-type",
        "*.*",
        "'*.*' matches every instance type; name the types or families to act on, e.g. "
        "t3.micro or m6i.*",
    ),
    (
        "instance-type",
        "**.?*",
        "'**.?*' matches every instance type; name the types or families to act on, e.g. "
        "t3.micro or m6i.*",
    ),
    (
        "availability-zone",
        "eu-**",
        "'eu-**' matches every availability zone of several regions (it ends in a wildcard "
        "before the region name is complete); name the zones to act on, e.g. eu-west-1a",
    ),
    (
        "availability-zone",
        "eu-west-?",
        "'eu-west-?' matches every availability zone of several regions (it ends in a wildcard "
        "before the region name is complete); name the zones to act on, e.g. eu-west-1a",
    ),
    ("instance-id", "i-*", "'i-*' matches every instance; name the instance-id values to act on"),
    ("vpc-id", "vpc-*", "'vpc-*' matches every instance; name the vpc-id values to act on"),
    (
        "subnet-id",
        "subnet-????????",
        "'subnet-????????' matches every instance; name the subnet-id values to act on",
    ),
    (
        "private-ip-address",
        "*.*.*.*",
        "'*.*.*.*' matches every instance; name the private-ip-address values to act on",
    ),
]


@pytest.mark.parametrize(("name", "value", "message"), MATCH_EVERYTHING)
def test_a_pattern_matching_every_value_is_refused(name: str, value: str, message: str) -> None:
    assert checks.check_filter_value(name, value, ("v",)) == [Problem(("v",), message)]


@pytest.mark.parametrize(("name", "value", "message"), MATCH_EVERYTHING)
def test_the_executor_event_check_refuses_it_too(name: str, value: str, message: str) -> None:
    problems = checks.check_event(_event(targets={"tag:Environment": ["dev"], name: [value]}))
    assert problems == [Problem(("targets", name, 0), message)]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tag:Environment", "dev*"),
        ("tag:Team", "?a*"),
        ("tag-key", "owner*"),
        ("instance-type", "c6g.*"),
        ("instance-type", "*.metal"),
        ("availability-zone", "eu-west-?a"),
        ("availability-zone", "us-*-1a"),
        ("availability-zone", "eu-central-1*"),
    ],
)
def test_a_pattern_with_a_real_literal_part_is_fine(name: str, value: str) -> None:
    assert checks.check_filter_value(name, value) == []


# availability-zone against the rule's regions (the same in validate and in the executor).
ZONES = [
    (["eu-west-1"], "eu-west-1a", []),
    (["eu-west-1"], "eu-west-1-lax-1a", []),
    (["eu-west-1", "eu-central-1"], ["eu-west-1a", "eu-central-1*"], []),
    (["us-east-1", "us-west-2"], "us-*-1a", []),
    (
        ["us-east-1"],
        "eu-west-1a",
        [
            Problem(
                ("targets", "availability-zone"),
                "'eu-west-1a' is not a zone of the rule's regions (us-east-1); name a zone of "
                "one of them, e.g. us-east-1a, or add its region to regions",
            )
        ],
    ),
    (
        ["eu-west-1"],
        ["eu-west-1a", "eu-west-10a"],
        [
            Problem(
                ("targets", "availability-zone", 1),
                "'eu-west-10a' is not a zone of the rule's regions (eu-west-1); name a zone of "
                "one of them, e.g. eu-west-1a, or add its region to regions",
            )
        ],
    ),
    (
        ["us-east-1"],
        "eu-*-1a",
        [
            Problem(
                ("targets", "availability-zone"),
                "'eu-*-1a' is not a zone of the rule's regions (us-east-1); name a zone of one of "
                "them, e.g. us-east-1a, or add its region to regions",
            )
        ],
    ),
    (
        ["eu-west-1"],
        "eu-west-1?",
        [
            Problem(
                ("targets", "availability-zone"),
                "availability-zone 'eu-west-1?' matches every zone of eu-west-1, the rule's only "
                "region: the filter selects every instance; name the zones to act on, e.g. "
                "eu-west-1a",
            )
        ],
    ),
    (
        ["eu-west-1", "eu-central-1"],
        ["eu-central-1*", "eu-west-1*"],
        [
            Problem(
                ("targets", "availability-zone", 0),
                "availability-zone 'eu-central-1*' matches every zone of every region of the "
                "rule: the filter selects every instance; name the zones to act on, e.g. "
                "eu-west-1a",
            )
        ],
    ),
]


@pytest.mark.parametrize(("regions", "zones", "expected"), ZONES)
def test_zones_against_the_rules_regions(
    regions: list[str], zones: object, expected: list[Problem]
) -> None:
    targets = {"tag:Environment": "dev", "availability-zone": zones}
    assert checks.check_zones(targets, regions) == expected
    assert checks.check_event(_event(regions=regions, targets=targets)) == expected


def test_the_executors_refusal_escapes_control_characters() -> None:
    # An event is untrusted text; its refusal is logged and shown by `reconcile logs`.
    problems = checks.check_event(_event(targets={"tag:Env": ["dev"], "vpc\x1b]0;x\x07": "y"}))
    assert [str(p) for p in problems] == [
        "targets.vpc\\x1b]0;x\\x07: unknown filter 'vpc\\x1b]0;x\\x07'; allowed: instance-id, "
        "tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, instance-type, "
        "availability-zone"
    ]


def test_escape_controls() -> None:
    assert checks.escape_controls("a\x1b[31mb\x07c\rd\ne\tf\u202eg\x9bh\x7f") == (
        "a\\x1b[31mb\\x07c\\rd\\ne\\tf\\u202eg\\x9bh\\x7f"
    )
    assert checks.escape_controls("Grüße, 東京 ✓") == "Grüße, 東京 ✓"
