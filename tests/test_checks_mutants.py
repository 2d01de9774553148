"""reconciler.checks at its edges, through the executor's own check (check_event).

On the loader path the JSON Schema reports the same messages, so the loader's tests pass
even when checks.py is broken; these pin what the executor refuses on its own (issue 16).
"""

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


def _targets(targets: dict[str, object]) -> list[Problem]:
    return checks.check_event(_event(targets=targets))


# --- limits at both edges ------------------------------------------------------------------------


def test_a_tag_key_of_128_characters_is_accepted_and_129_refused() -> None:
    assert _targets({"tag:" + "k" * 128: "v"}) == []
    key = "k" * 129
    assert _targets({"tag:" + key: "v"}) == [
        Problem(("targets", "tag:" + key), "tag key is 129 characters; the limit is 128")
    ]


def test_a_tag_value_of_256_characters_is_accepted_and_257_refused() -> None:
    assert _targets({"tag:Env": "v" * 256}) == []
    assert _targets({"tag:Env": ["ok", "v" * 257]}) == [
        Problem(("targets", "tag:Env", 1), "tag value is 257 characters; the limit is 256")
    ]


def test_a_tag_key_value_of_128_characters_is_accepted_and_129_refused() -> None:
    assert _targets({"tag-key": "k" * 128}) == []
    assert _targets({"tag-key": ["k" * 129]}) == [
        Problem(("targets", "tag-key", 0), "tag key is 129 characters; the limit is 128")
    ]


def test_200_values_in_one_filter_are_accepted_and_201_refused() -> None:
    values = [f"v{i}" for i in range(201)]
    assert _targets({"tag:Env": values[:200]}) == []
    assert _targets({"tag:Env": values}) == [
        Problem(("targets", "tag:Env"), "'tag:Env' has 201 values; the limit is 200")
    ]


@pytest.mark.parametrize("value", [1, 1000])
def test_max_instances_accepts_both_ends_of_its_range(value: int) -> None:
    assert checks.check_event(_event(max_instances=value)) == []


@pytest.mark.parametrize("value", [0, 1001, -1])
def test_max_instances_outside_its_range_is_refused(value: int) -> None:
    assert checks.check_event(_event(max_instances=value)) == [
        Problem(("max_instances",), f"max_instances is {value}; it must be from 1 to 1000")
    ]


@pytest.mark.parametrize("value", [True, 1.5, "10", None])
def test_max_instances_that_is_not_a_whole_number_is_refused(value: object) -> None:
    assert checks.check_event(_event(max_instances=value)) == [
        Problem(("max_instances",), "max_instances must be a whole number from 1 to 1000")
    ]


def test_a_role_name_of_64_characters_is_accepted_and_65_refused() -> None:
    assert checks.check_event(_event(role_name="r" * 64)) == []
    assert checks.check_event(_event(role_name="r" * 65)) == [
        Problem(("role_name",), f"{'r' * 65!r} is not an IAM role name")
    ]


@pytest.mark.parametrize("role", ["", "a b", "rôle", 7, None])
def test_a_bad_role_name_is_refused_with_its_path(role: object) -> None:
    assert checks.check_event(_event(role_name=role)) == [
        Problem(("role_name",), f"{role!r} is not an IAM role name")
    ]


def test_every_character_iam_allows_in_a_role_name_is_accepted() -> None:
    assert checks.check_event(_event(role_name="a_Z9+=,.@-")) == []


# --- character classes ---------------------------------------------------------------------------


def test_del_in_a_tag_key_is_refused() -> None:
    assert _targets({"tag:a\x7fb": "v"}) == [
        Problem(
            ("targets", "tag:a\x7fb"),
            "tag key 'a\\x7fb' has control characters or surrounding spaces",
        )
    ]


@pytest.mark.parametrize("key", ["\x1fa", "a\x00", " a", "a "])
def test_a_tag_key_with_a_control_character_or_space_around_is_refused(key: str) -> None:
    assert _targets({"tag:" + key: "v"}) == [
        Problem(
            ("targets", "tag:" + key),
            f"tag key {key!r} has control characters or surrounding spaces",
        )
    ]


def test_a_tag_key_with_a_space_inside_and_printable_characters_is_accepted() -> None:
    assert _targets({"tag:Cost Centre ~!": "v"}) == []


IDS = [
    ("instance-id", "i-", "i- followed by 8 or 17 hex digits"),
    ("vpc-id", "vpc-", "vpc- followed by 8 or 17 hex digits"),
    ("subnet-id", "subnet-", "subnet- followed by 8 or 17 hex digits"),
]


@pytest.mark.parametrize(("name", "prefix", "shape"), IDS)
@pytest.mark.parametrize("digits", ["0123abcd", "0123456789abcdef0"])
def test_ids_of_8_or_17_lower_case_hex_digits_are_accepted(
    name: str, prefix: str, shape: str, digits: str
) -> None:
    assert _targets({name: prefix + digits}) == []


@pytest.mark.parametrize(("name", "prefix", "shape"), IDS)
@pytest.mark.parametrize(
    "digits",
    ["0123ABCD", "0123abcd0", "0123456789abcdef", "0123abc", "0123abcg", "0123456789ABCDEF0"],
)
def test_ids_of_other_shapes_are_refused(name: str, prefix: str, shape: str, digits: str) -> None:
    value = prefix + digits
    assert _targets({name: [value]}) == [
        Problem(("targets", name, 0), f"'{value}' is not a valid {name}: expected {shape}")
    ]


@pytest.mark.parametrize("value", ["t3micro", "T3.micro", "t3.", ".micro", "t3.micro.x", "t3 .m"])
def test_a_bad_instance_type_is_refused(value: str) -> None:
    assert _targets({"instance-type": value}) == [
        Problem(("targets", "instance-type"), f"'{value}' is not an instance type such as t3.micro")
    ]


@pytest.mark.parametrize("value", ["t3.micro", "m6i.*", "t?.nano", "u-6tb1.metal", "*.large"])
def test_instance_types_and_patterns_are_accepted(value: str) -> None:
    assert _targets({"instance-type": value}) == []


@pytest.mark.parametrize("value", ["eu-west-1", "euwest1a", "eu-west-1A", "e-west-1a"])
def test_a_bad_availability_zone_is_refused(value: str) -> None:
    assert _targets({"availability-zone": value}) == [
        Problem(
            ("targets", "availability-zone"),
            f"'{value}' is not an availability zone such as eu-west-1a",
        )
    ]


@pytest.mark.parametrize("value", ["eu-west-1a", "eu-west-1?", "eu-west-1-lax-1a", "eu-west-1*"])
def test_availability_zones_and_patterns_of_the_rules_region_are_accepted(value: str) -> None:
    # eu-west-1? and eu-west-1* are refused below only when they cover every region.
    event = _event(regions=["eu-west-1", "us-east-1"], targets={"availability-zone": value})
    assert checks.check_event(event) == []


@pytest.mark.parametrize("value", ["?", "??", "*", "*?", "**"])
def test_wildcards_alone_are_refused_like_a_star(value: str) -> None:
    assert _targets({"tag:Env": value}) == [
        Problem(
            ("targets", "tag:Env"),
            f"'{value}' matches every value of tag 'Env'; name the values to act on, or "
            "write tag-key: Env if every instance with that tag is meant",
        )
    ]
    assert _targets({"vpc-id": value}) == [
        Problem(
            ("targets", "vpc-id"),
            f"'{value}' matches every instance; name the vpc-id values to act on",
        )
    ]


@pytest.mark.parametrize("value", ["10.0.0.256", "10.0.0", "::1", "10.0.0.1/32"])
def test_a_bad_ip_is_refused(value: str) -> None:
    assert _targets({"private-ip-address": [value]}) == [
        Problem(("targets", "private-ip-address", 0), f"'{value}' is not an IPv4 address")
    ]


def test_an_ip_is_accepted() -> None:
    assert _targets({"private-ip-address": "10.0.0.1"}) == []


@pytest.mark.parametrize(
    ("value", "what"),
    [("", "empty"), (" dev", "surrounded by whitespace"), ("dev\t", "surrounded by whitespace")],
)
def test_an_empty_or_padded_value_is_refused(value: str, what: str) -> None:
    assert _targets({"tag:Env": value}) == [
        Problem(("targets", "tag:Env"), f"filter value for 'tag:Env' is {what}")
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "filter value must be a string, not a number (quote the value)"),
        (1.5, "filter value must be a string, not a number (quote the value)"),
        (
            True,
            "filter value must be a string, not a boolean (YAML reads yes/no/on/off/true/false "
            "as booleans: quote the value)",
        ),
        (None, "filter value must be a string, not null"),
        ({"a": 1}, "filter value must be a string, not a mapping"),
        (["a"], "filter value must be a string, not a list"),
    ],
)
def test_a_value_that_is_not_a_string_is_refused_with_its_kind(value: object, message: str) -> None:
    assert _targets({"tag:Env": ["ok", value]}) == [Problem(("targets", "tag:Env", 1), message)]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (5, "'tag:Env' must be a string or a list of strings, not a number (quote the value)"),
        ({"a": "b"}, "'tag:Env' must be a string or a list of strings, not a mapping"),
        (None, "'tag:Env' must be a string or a list of strings, not null"),
        ([], "'tag:Env' has an empty list: give at least one value"),
    ],
)
def test_a_filters_values_must_be_a_string_or_a_non_empty_list(
    values: object, message: str
) -> None:
    assert _targets({"tag:Env": values}) == [Problem(("targets", "tag:Env"), message)]


def test_a_value_listed_twice_is_refused_at_its_second_place() -> None:
    assert _targets({"tag:Env": ["dev", "test", "dev"]}) == [
        Problem(("targets", "tag:Env", 2), "'dev' is listed twice under 'tag:Env'")
    ]


# --- the executor path: each bad field, refused with its path ------------------------------------


@pytest.mark.parametrize("rule", ["Dev", "-dev", "dev-", "d" * 41, "dev_1", ""])
def test_a_bad_rule_name_is_refused(rule: str) -> None:
    assert checks.check_event(_event(rule=rule)) == [
        Problem(
            ("rule",),
            f"'{rule}' is not a valid rule name: use 1-40 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit",
        )
    ]


@pytest.mark.parametrize("rule", ["d", "d" * 40, "a-1", "0"])
def test_rule_names_at_the_edges_are_accepted(rule: str) -> None:
    assert checks.check_event(_event(rule=rule)) == []


def test_a_rule_name_that_is_not_a_string_is_refused() -> None:
    assert checks.check_event(_event(rule=7)) == [
        Problem(("rule",), "name must be a string, not a number")
    ]


@pytest.mark.parametrize("key", ["schedule_arn", "scheduled_time", "execution_id"])
@pytest.mark.parametrize("value", ["", 5, None, ["x"]])
def test_scheduler_fields_must_be_non_empty_strings(key: str, value: object) -> None:
    assert checks.check_event(_event(**{key: value})) == [
        Problem((key,), f"{key} must be a non-empty string")
    ]


@pytest.mark.parametrize("key", ["schedule_arn", "scheduled_time"])
def test_a_missing_scheduler_field_is_refused(key: str) -> None:
    event = _event()
    del event[key]
    assert checks.check_event(event) == [Problem((), f"missing event keys: {key}")]


def test_execution_id_may_be_missing() -> None:
    event = _event()
    del event["execution_id"]
    assert checks.check_event(event) == []


def test_missing_and_unknown_keys_are_each_listed() -> None:
    event = _event(zeta=1, alpha=2)
    del event["rule"]
    del event["targets"]
    assert checks.check_event(event) == [
        Problem((), "unknown event keys: alpha, zeta"),
        Problem((), "missing event keys: rule, targets"),
    ]


@pytest.mark.parametrize("action", ["Start", "", None, "hibernate"])
def test_a_bad_action_is_refused(action: object) -> None:
    assert checks.check_event(_event(action=action)) == [
        Problem(("action",), f"action must be start or stop, not {action!r}")
    ]


@pytest.mark.parametrize("action", ["start", "stop"])
def test_both_actions_are_accepted(action: str) -> None:
    assert checks.check_event(_event(action=action)) == []


@pytest.mark.parametrize("hibernate", [0, 1, "true", None])
def test_hibernate_must_be_a_boolean(hibernate: object) -> None:
    assert checks.check_event(_event(hibernate=hibernate)) == [
        Problem(("hibernate",), "hibernate must be true or false")
    ]


@pytest.mark.parametrize("event", [None, [], "{}", 5])
def test_an_event_that_is_not_an_object_is_refused(event: object) -> None:
    assert len(checks.check_event(event)) == 1
    assert checks.check_event(event)[0].path == ()
    assert checks.check_event(event)[0].message.startswith("the event must be a JSON object, not ")


def test_accounts_and_regions_that_are_not_lists_are_refused() -> None:
    assert checks.check_event(_event(accounts="123456789012", regions=None)) == [
        Problem(("accounts",), 'accounts must be a list of accounts, e.g. ["123456789012"]'),
        Problem(("regions",), "regions must be a list of regions, e.g. [eu-west-1]"),
    ]


def test_empty_accounts_and_regions_are_refused() -> None:
    assert checks.check_event(_event(accounts=[], regions=[])) == [
        Problem(("accounts",), "accounts is empty: give at least one account"),
        Problem(("regions",), "regions is empty: give at least one region"),
    ]


def test_an_account_given_as_a_number_is_refused_with_a_hint() -> None:
    assert checks.check_event(_event(accounts=[12345678901])) == [
        Problem(
            ("accounts", 0),
            'account 12345678901 is a number; write it as a quoted string, e.g. "012345678901", '
            "so leading zeros survive",
        )
    ]


@pytest.mark.parametrize("account", ["12345678901", "1234567890123", "12345678901a", True])
def test_an_account_id_that_is_not_12_digits_is_refused(account: object) -> None:
    assert checks.check_event(_event(accounts=[account])) == [
        Problem(("accounts", 0), f"{account!r} is not a 12-digit AWS account id")
    ]


@pytest.mark.parametrize("region", ["EU-west-1", "eu-west", "eu-west-123", "e-west-1", "eu_west_1"])
def test_a_bad_region_is_refused(region: str) -> None:
    assert checks.check_event(_event(regions=[region])) == [
        Problem(("regions", 0), f"{region!r} is not an AWS region name such as eu-west-1")
    ]


@pytest.mark.parametrize("region", ["us-gov-west-1", "eusc-de-east-1", "ap-southeast-12"])
def test_region_names_of_every_partition_are_accepted(region: str) -> None:
    assert checks.check_event(_event(regions=[region])) == []


# --- every problem reported, not only the first --------------------------------------------------


def test_two_bad_filters_give_two_problems() -> None:
    assert _targets({"vpc-id": "vpc-1", "Tag:Env": "dev", "subnet-id": "x"}) == [
        Problem(
            ("targets", "vpc-id"),
            "'vpc-1' is not a valid vpc-id: expected vpc- followed by 8 or 17 hex digits",
        ),
        Problem(
            ("targets", "Tag:Env"),
            "unknown filter 'Tag:Env'; allowed: instance-id, tag:<key>, tag-key, "
            "private-ip-address, vpc-id, subnet-id, instance-type, availability-zone",
        ),
        Problem(
            ("targets", "subnet-id"),
            "'x' is not a valid subnet-id: expected subnet- followed by 8 or 17 hex digits",
        ),
    ]


def test_two_bad_values_in_one_list_give_two_problems() -> None:
    assert _targets({"private-ip-address": ["x", "10.0.0.1", "y", "x"]}) == [
        Problem(("targets", "private-ip-address", 0), "'x' is not an IPv4 address"),
        Problem(("targets", "private-ip-address", 2), "'y' is not an IPv4 address"),
        Problem(("targets", "private-ip-address", 3), "'x' is not an IPv4 address"),
        Problem(
            ("targets", "private-ip-address", 3), "'x' is listed twice under 'private-ip-address'"
        ),
    ]


def test_two_bad_accounts_and_a_repeat_each_give_a_problem() -> None:
    accounts = ["1", "123456789012", "2", "123456789012"]
    assert checks.check_event(_event(accounts=accounts, regions=["eu-west-1", "eu-west-1"])) == [
        Problem(("accounts", 0), "'1' is not a 12-digit AWS account id"),
        Problem(("accounts", 2), "'2' is not a 12-digit AWS account id"),
        Problem(("accounts", 3), "account '123456789012' is listed twice"),
        Problem(("regions", 1), "region 'eu-west-1' is listed twice"),
    ]


def test_every_bad_field_of_one_event_is_reported() -> None:
    event = _event(
        version=2,
        rule="Bad",
        action="halt",
        hibernate="no",
        max_instances=0,
        role_name="",
        schedule_arn="",
        scheduled_time=None,
        execution_id=3,
    )
    assert [p.path for p in checks.check_event(event)] == [
        ("version",),
        ("rule",),
        ("action",),
        ("hibernate",),
        ("max_instances",),
        ("role_name",),
        ("schedule_arn",),
        ("scheduled_time",),
        ("execution_id",),
    ]


def test_zones_are_checked_only_when_the_targets_are_valid() -> None:
    bad_zone = {"availability-zone": "us-east-1a", "vpc-id": "vpc-1"}
    assert [p.path for p in _targets(bad_zone)] == [("targets", "vpc-id")]
    assert _targets({"availability-zone": "us-east-1a"}) == [
        Problem(
            ("targets", "availability-zone"),
            "'us-east-1a' is not a zone of the rule's regions (eu-west-1); name a zone of one "
            "of them, e.g. eu-west-1a, or add its region to regions",
        )
    ]


# --- the size of one event -----------------------------------------------------------------------


def test_1000_pairs_are_accepted_and_1001_refused() -> None:
    accounts = [f"{i:012d}" for i in range(1000)]
    assert checks.check_bounds({"accounts": accounts, "regions": ["eu-west-1"]}) == []
    too_many = {"accounts": [*accounts, "999999999999"], "regions": ["eu-west-1"]}
    assert checks.check_bounds(too_many) == [
        Problem(
            ("accounts",),
            "1001 accounts x 1 regions is 1001 (account, region) pairs, more than 1000 in one "
            "rule: split it into rules with fewer accounts or regions",
        )
    ]


def test_an_event_of_64_kib_is_accepted_and_one_byte_more_refused() -> None:
    base = checks.event_bytes({"x": ""})
    exact = {"x": "é" * ((64 * 1024 - base) // 2)}  # two bytes each in UTF-8
    assert checks.event_bytes(exact) == 64 * 1024
    assert checks.check_bounds(exact) == []
    assert checks.check_bounds(exact, allowance=1) == [
        Problem(
            (),
            "the executor event is 65537 bytes of JSON, more than 65536 (64 KiB): split the "
            "rule, or shorten its lists of accounts, regions and values",
        )
    ]


# --- filter names --------------------------------------------------------------------------------

ALLOWED = (
    "allowed: instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, "
    "instance-type, availability-zone"
)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tag:", "filter 'tag:' needs a tag key, e.g. tag:Environment"),
        (
            "Instance-Id",
            "unknown filter 'Instance-Id' (filter names are case-sensitive: did you mean "
            f"'instance-id'?); {ALLOWED}",
        ),
        (
            "tag-value",
            f"unknown filter 'tag-value' (use tag:<key> with the value instead); {ALLOWED}",
        ),
        ("instance-ids", f"unknown filter 'instance-ids' (did you mean 'instance-id'?); {ALLOWED}"),
        ("vpc", f"unknown filter 'vpc'; {ALLOWED}"),
    ],
)
def test_a_bad_filter_name_is_refused_with_a_hint(name: str, message: str) -> None:
    assert _targets({name: "x", "tag:Env": "dev"}) == [Problem(("targets", name), message)]


def test_a_filter_name_that_is_not_a_string_is_refused() -> None:
    assert checks.check_targets({5: "x", None: "y"}) == [
        Problem(("targets", "5"), "filter name must be a string, not a number"),
        Problem(("targets", "None"), "filter name must be a string, not null"),
    ]


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (["tag:Env"], "targets must be a mapping of filter name to values, not a list"),
        ("tag:Env", "targets must be a mapping of filter name to values, not a string"),
        (
            {},
            "targets is empty: a rule must name at least one filter, an unfiltered rule would "
            "act on every instance",
        ),
    ],
)
def test_targets_must_be_a_non_empty_mapping(targets: object, message: str) -> None:
    assert checks.check_event(_event(targets=targets)) == [Problem(("targets",), message)]


def test_a_zone_ending_in_a_letter_that_is_no_zone_letter_is_not_an_az() -> None:
    assert _targets({"availability-zone": "eu-west-X"}) == [
        Problem(
            ("targets", "availability-zone"),
            "'eu-west-X' is not an availability zone such as eu-west-1a",
        )
    ]


def test_zones_are_not_checked_against_bad_regions() -> None:
    event = _event(regions=["EU"], targets={"availability-zone": "eu-west-1a"})
    assert checks.check_event(event) == [
        Problem(("regions", 0), "'EU' is not an AWS region name such as eu-west-1")
    ]


@pytest.mark.parametrize(
    ("targets", "regions"),
    [
        (["availability-zone"], ["eu-west-1"]),
        ({"availability-zone": [5]}, ["eu-west-1"]),
        ({"availability-zone": "us-east-1a"}, "eu-west-1"),
        ({"availability-zone": "us-east-1a"}, []),
        ({"availability-zone": []}, ["eu-west-1"]),
    ],
)
def test_zones_are_quiet_when_targets_or_regions_have_problems_of_their_own(
    targets: object, regions: object
) -> None:
    assert checks.check_zones(targets, regions) == []


def test_a_zone_of_no_region_of_the_rule_names_them_all() -> None:
    event = _event(
        regions=["eu-west-1", "eu-central-1"], targets={"availability-zone": ["us-east-1a"]}
    )
    assert checks.check_event(event) == [
        Problem(
            ("targets", "availability-zone", 0),
            "'us-east-1a' is not a zone of the rule's regions (eu-west-1, eu-central-1); name a "
            "zone of one of them, e.g. eu-west-1a, or add its region to regions",
        )
    ]


def test_a_zone_of_another_region_is_reported_before_a_zone_pattern_covering_the_region() -> None:
    assert _targets({"availability-zone": ["us-east-1a", "eu-west-1*"]}) == [
        Problem(
            ("targets", "availability-zone", 0),
            "'us-east-1a' is not a zone of the rule's regions (eu-west-1); name a zone of one of "
            "them, e.g. eu-west-1a, or add its region to regions",
        )
    ]


def test_a_value_of_another_type_is_named_by_its_type() -> None:
    assert _targets({"tag:Env": {"dev"}}) == [
        Problem(("targets", "tag:Env"), "'tag:Env' must be a string or a list of strings, not set")
    ]


def test_pairs_are_counted_only_when_accounts_and_regions_are_lists() -> None:
    accounts = [f"{i:012d}" for i in range(1001)]
    assert checks.check_bounds({"accounts": accounts, "regions": None}) == []
    assert checks.check_bounds({"accounts": None, "regions": accounts}) == []
