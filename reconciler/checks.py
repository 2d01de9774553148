"""Rule checks shared by the loader (reconcile validate) and the executor Lambda.

Standard library only: the executor ships this module in its zip with nothing but boto3
beside it. Each check returns a list of `Problem`s; an empty list means valid. A problem's
`path` points into the checked mapping (e.g. ("targets", "vpc-id", 0)) so the loader can map
it to a file:line:col and the executor can name it in its refusal.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.calendars import check_event_calendar

RULE_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
# eu-west-1, us-gov-west-1, cn-north-1, ap-southeast-3, eusc-de-east-1, us-isob-east-1.
REGION_RE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")
ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)  # IAM names are ASCII

MAX_INSTANCES_RANGE = (1, 1000)
DESCRIPTION_MAX = 256
TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
FILTER_VALUES_MAX = 200  # DescribeInstances accepts at most 200 values per filter

_HEX_ID = r"([0-9a-f]{8}|[0-9a-f]{17})"
_ID_RES = {
    "instance-id": (re.compile(rf"^i-{_HEX_ID}$"), "i- followed by 8 or 17 hex digits"),
    "vpc-id": (re.compile(rf"^vpc-{_HEX_ID}$"), "vpc- followed by 8 or 17 hex digits"),
    "subnet-id": (re.compile(rf"^subnet-{_HEX_ID}$"), "subnet- followed by 8 or 17 hex digits"),
}
_INSTANCE_TYPE_RE = re.compile(r"^[a-z0-9*?-]+\.[a-z0-9*?-]+$")
_AZ_RE = re.compile(r"^[a-z]{2,4}-[a-z0-9*?-]*[0-9*?][a-z*?]$")
# What is left of a pattern that filters nothing once its wildcards are taken out.
_EVERY_VALUE_HAS = {
    "instance-type": ".",
    "private-ip-address": "...",
    "instance-id": "i-",
    "vpc-id": "vpc-",
    "subnet-id": "subnet-",
}

FIXED_FILTER_NAMES = (
    "instance-id",
    "tag-key",
    "private-ip-address",
    "vpc-id",
    "subnet-id",
    "instance-type",
    "availability-zone",
)
FILTER_NAMES_HELP = "instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, " + (
    "instance-type, availability-zone"
)

# --- Kinds of resource (DESIGN.md §9) -------------------------------------------------------------

DEFAULT_RESOURCE = "ec2"
RESOURCES = ("ec2", "rds", "aurora", "asg")
# Each kind's fixed filter names (tag:<key> is allowed for all of them).
RESOURCE_FILTER_NAMES: dict[str, tuple[str, ...]] = {
    "ec2": FIXED_FILTER_NAMES,
    "rds": ("db-instance-id", "engine", "tag-key"),
    "aurora": ("db-cluster-id", "engine", "tag-key"),
    "asg": ("asg-name", "tag-key"),
}
_FILTERS_HELP = {
    "ec2": FILTER_NAMES_HELP,
    "rds": "db-instance-id, engine, tag:<key>, tag-key",
    "aurora": "db-cluster-id, engine, tag:<key>, tag-key",
    "asg": "asg-name, tag:<key>, tag-key",
}
# What the log and messages call one resource of each kind.
RESOURCE_NOUNS = {
    "ec2": "instance",
    "rds": "DB instance",
    "aurora": "DB cluster",
    "asg": "Auto Scaling group",
}
# The identifier filter of each kind: the one a user writing another kind's means.
_ID_FILTERS = {
    "ec2": "instance-id",
    "rds": "db-instance-id",
    "aurora": "db-cluster-id",
    "asg": "asg-name",
}
# Engines whose DB instances StopDBInstance can stop (Aurora's belong to clusters; RDS Custom
# for Oracle cannot be stopped).
RDS_ENGINES = (
    "custom-sqlserver-dev",
    "custom-sqlserver-ee",
    "custom-sqlserver-se",
    "custom-sqlserver-web",
    "db2-ae",
    "db2-se",
    "mariadb",
    "mysql",
    "oracle-ee",
    "oracle-ee-cdb",
    "oracle-se2",
    "oracle-se2-cdb",
    "postgres",
    "sqlserver-ee",
    "sqlserver-ex",
    "sqlserver-se",
    "sqlserver-web",
)
AURORA_ENGINES = ("aurora-mysql", "aurora-postgresql")
_ENGINES = {"rds": RDS_ENGINES, "aurora": AURORA_ENGINES}
# DB instance and cluster identifiers: a letter, then letters, digits and single hyphens, at
# most 63, stored in lower case. Wildcard patterns are checked for their characters only.
DB_ID_MAX = 63
_DB_ID_RE = re.compile(r"^[a-z*?](-?[a-z0-9*?])*$")
ASG_NAME_MAX = 255

# Patterns are applied with fullmatch: `$` alone would accept a trailing newline ("dev\n"),
# which a quoted or block YAML scalar can carry.

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return escape_controls(f"{where}: {self.message}" if where else self.message)


# C0 and C1 control characters, DEL, line and paragraph separators and bidirectional
# overrides: written raw to a terminal they move the cursor, recolour, retitle or reorder.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """The text with every control character written as an escape (ESC as \\x1b)."""
    return _CONTROLS.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_CONTROLS.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def check_filter_name(
    name: object, path: Path = (), resource: str = DEFAULT_RESOURCE
) -> list[Problem]:
    if not isinstance(name, str):
        return [Problem(path, f"filter name must be a string, not {_kind(name)}")]
    if name.startswith("tag:"):
        key = name[len("tag:") :]
        if not key:
            return [Problem(path, "filter 'tag:' needs a tag key, e.g. tag:Environment")]
        if len(key) > TAG_KEY_MAX:
            return [Problem(path, f"tag key is {len(key)} characters; the limit is {TAG_KEY_MAX}")]
        if any(ord(ch) < 0x20 or ch == "\x7f" for ch in key) or key.strip() != key:
            return [Problem(path, f"tag key {key!r} has control characters or surrounding spaces")]
        return []
    names = RESOURCE_FILTER_NAMES.get(resource, FIXED_FILTER_NAMES)
    if name not in names:
        hint = _filter_hint(name, names, resource)
        which = "" if resource == DEFAULT_RESOURCE else f" for resource {resource}"
        allowed = _FILTERS_HELP.get(resource, FILTER_NAMES_HELP)
        return [Problem(path, f"unknown filter '{name}'{which}{hint}; allowed: {allowed}")]
    return []


def _filter_hint(name: str, names: Sequence[str], resource: str) -> str:
    if name.lower() in names:
        return f" (filter names are case-sensitive: did you mean '{name.lower()}'?)"
    if name == "tag-value":
        return " (use tag:<key> with the value instead)"
    if name in _ID_FILTERS.values() and resource in _ID_FILTERS:
        return f" (did you mean '{_ID_FILTERS[resource]}'?)"
    if close := difflib.get_close_matches(name, names, n=1, cutoff=0.8):
        return f" (did you mean '{close[0]}'?)"
    owners = [r for r, fixed in RESOURCE_FILTER_NAMES.items() if name in fixed]
    if owners:
        return f" (it is a filter of resource: {owners[0]})"
    return ""


def check_filter_value(
    name: str, value: object, path: Path = (), resource: str = DEFAULT_RESOURCE
) -> list[Problem]:
    """One value of a known filter."""
    if not isinstance(value, str):
        return [
            Problem(path, f"filter value must be a string, not {_kind(value)}{_quote_hint(value)}")
        ]
    if value == "" or value.strip() != value:
        what = "empty" if value == "" else "surrounded by whitespace"
        return [Problem(path, f"filter value for '{name}' is {what}")]
    if name.startswith("tag:") and len(value) > TAG_VALUE_MAX:
        return [
            Problem(path, f"tag value is {len(value)} characters; the limit is {TAG_VALUE_MAX}")
        ]
    everything = matches_everything(name, value, resource)
    if everything is not None:
        return [Problem(path, everything)]
    if name.startswith("tag:"):
        return []
    if name in ("db-instance-id", "db-cluster-id"):
        return _check_db_identifier(name, value, path)
    if name == "engine":
        return _check_engine(value, path, resource)
    if name == "asg-name":
        return _check_asg_name(value, path)
    if name in _ID_RES:
        pattern, shape = _ID_RES[name]
        if not pattern.fullmatch(value):
            return [Problem(path, f"'{value}' is not a valid {name}: expected {shape}")]
        return []
    if name == "private-ip-address":
        try:
            ipaddress.IPv4Address(value)
        except ValueError:
            return [Problem(path, f"'{value}' is not an IPv4 address")]
        return []
    if name == "tag-key":
        if len(value) > TAG_KEY_MAX:
            return [
                Problem(path, f"tag key is {len(value)} characters; the limit is {TAG_KEY_MAX}")
            ]
        return []
    if name == "instance-type" and not _INSTANCE_TYPE_RE.fullmatch(value):
        return [Problem(path, f"'{value}' is not an instance type such as t3.micro")]
    if name == "availability-zone" and not _AZ_RE.fullmatch(value):
        return [Problem(path, f"'{value}' is not an availability zone such as eu-west-1a")]
    return []


def _check_db_identifier(name: str, value: str, path: Path) -> list[Problem]:
    if value.lower() != value and _DB_ID_RE.fullmatch(value.lower()):
        return [
            Problem(
                path,
                f"'{value}' is not a valid {name}: AWS stores identifiers in lower case; write "
                f"'{value.lower()}'",
            )
        ]
    if len(value) > DB_ID_MAX or not _DB_ID_RE.fullmatch(value):
        return [
            Problem(
                path,
                f"'{value}' is not a valid {name}: expected a letter, then letters, digits and "
                "single hyphens, at most 63 characters, not ending in a hyphen (* and ? are "
                "wildcards)",
            )
        ]
    return []


def _check_engine(value: str, path: Path, resource: str) -> list[Problem]:
    engines = _ENGINES.get(resource, ())
    regex = _wildcard_regex(value)
    if any(regex.fullmatch(engine) for engine in engines):
        return []
    if resource == "rds" and any(regex.fullmatch(e) for e in AURORA_ENGINES):
        return [
            Problem(
                path,
                f"'{value}' is an Aurora engine: Aurora DB instances are stopped with their "
                "cluster; write a rule with resource: aurora",
            )
        ]
    hint = ""
    if close := difflib.get_close_matches(value, engines, n=1, cutoff=0.5):
        hint = f" (did you mean '{close[0]}'?)"
    return [
        Problem(
            path,
            f"'{value}' is not an engine {resource} can stop{hint}; one of: {', '.join(engines)}",
        )
    ]


def _check_asg_name(value: str, path: Path) -> list[Problem]:
    if len(value) > ASG_NAME_MAX:
        return [Problem(path, f"asg-name is {len(value)} characters; the limit is {ASG_NAME_MAX}")]
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
        return [Problem(path, f"asg-name {value!r} has control characters")]
    return []


def matches_everything(name: str, value: str, resource: str = DEFAULT_RESOURCE) -> str | None:
    """Why the pattern `value` selects every instance the filter `name` could select, or None.

    EC2 filter values take `*` (any run of characters) and `?` (one character). A pattern
    whose only literal characters are ones every value of the filter has (the dots of an
    instance type or an IPv4 address, the `i-` of an instance id) filters nothing; neither
    does an availability zone ending in a wildcard (every zone of a region, or more).
    """
    literal = value.replace("*", "").replace("?", "")
    if name.startswith("tag:") and not literal:
        key = name[len("tag:") :]
        return (
            f"'{value}' matches every value of tag '{key}'; name the values to act on, or "
            f"write tag-key: {key} if every instance with that tag is meant"
        )
    if name == "engine" and _matches_every_engine(value, resource):
        return (
            f"'{value}' matches every {resource} engine; name the engines to act on, or leave "
            "the engine filter out"
        )
    if resource != DEFAULT_RESOURCE and not literal:
        return (
            f"'{value}' matches every {RESOURCE_NOUNS.get(resource, resource)}; name the {name} "
            "values to act on"
        )
    if not literal or literal == _EVERY_VALUE_HAS.get(name):
        if literal and name == "instance-type":
            return (
                f"'{value}' matches every instance type; name the types or families to act "
                "on, e.g. t3.micro or m6i.*"
            )
        return f"'{value}' matches every instance; name the {name} values to act on"
    if name == "availability-zone" and value[-1] in "*?" and not _names_a_region(value):
        return (
            f"'{value}' matches every availability zone of several regions (it ends in a "
            "wildcard before the region name is complete); name the zones to act on, e.g. "
            "eu-west-1a"
        )
    return None


def _matches_every_engine(pattern: str, resource: str) -> bool:
    engines = _ENGINES.get(resource, ())
    regex = _wildcard_regex(pattern)
    return len(engines) > 1 and all(regex.fullmatch(e) for e in engines)


def _names_a_region(pattern: str) -> bool:
    """Whether the literal text before the first wildcard is a whole region name."""
    return REGION_RE.fullmatch(_literal_prefix(pattern)) is not None


def _literal_prefix(pattern: str) -> str:
    return re.split(r"[*?]", pattern, maxsplit=1)[0]


def check_zones(targets: object, regions: object, path: Path = ("targets",)) -> list[Problem]:
    """availability-zone values against the rule's regions: each must be able to match a zone
    of one of them, and they must not match every zone of every region (a filter that
    filters nothing). Quiet when targets or regions have problems of their own."""
    if not isinstance(targets, Mapping) or not _strings_list(regions) or check_regions(regions):
        return []
    assert isinstance(regions, list | tuple)
    zones = _zone_values(targets.get("availability-zone"), (*path, "availability-zone"))
    problems = [
        Problem(
            where,
            f"'{value}' is not a zone of the rule's regions ({', '.join(regions)}); name a zone "
            f"of one of them, e.g. {regions[0]}a, or add its region to regions",
        )
        for value, where in zones
        if not any(_zone_fits(value, region) for region in regions)
    ]
    covering = [(v, w) for v, w in zones if any(_matches_all_zones(v, r) for r in regions)]
    if problems or not covering:
        return problems
    if all(any(_matches_all_zones(v, r) for v, _ in zones) for r in regions):
        value, where = covering[0]
        return [
            Problem(
                where,
                f"availability-zone '{value}' matches every zone of {_listing(regions)}: the "
                f"filter selects every instance; name the zones to act on, e.g. {regions[0]}a",
            )
        ]
    return []


def _zone_values(values: object, path: Path) -> list[tuple[str, Path]]:
    """Each availability-zone value with its path (none unless they are all strings)."""
    if isinstance(values, str):
        return [(values, path)]
    if not _strings_list(values):
        return []
    assert isinstance(values, list | tuple)
    return [(value, (*path, i)) for i, value in enumerate(values)]


# Enough zone letters to tell a pattern for one zone from a pattern for a whole region.
_ZONE_LETTERS = "abcdef"


def _zone_fits(pattern: str, region: str) -> bool:
    """Whether the zone (pattern) can be one of `region`'s: eu-west-1a, eu-west-1-lax-1a."""
    prefix = _literal_prefix(pattern)
    if len(prefix) <= len(region):
        return region.startswith(prefix) and (prefix != pattern)
    return prefix.startswith(region) and not prefix[len(region)].isdigit()


def _matches_all_zones(pattern: str, region: str) -> bool:
    regex = _wildcard_regex(pattern)
    return all(regex.fullmatch(region + letter) for letter in _ZONE_LETTERS)


def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """EC2 filter wildcards: * is any run of characters, ? is one character."""
    return re.compile("".join({"*": ".*", "?": "."}.get(ch, re.escape(ch)) for ch in pattern))


def _strings_list(value: object) -> bool:
    return (
        isinstance(value, list | tuple) and bool(value) and all(isinstance(v, str) for v in value)
    )


def _listing(regions: Sequence[str]) -> str:
    if len(regions) == 1:
        return f"{regions[0]}, the rule's only region"
    return "every region of the rule"


def check_targets(
    targets: object, path: Path = ("targets",), resource: str = DEFAULT_RESOURCE
) -> list[Problem]:
    """`targets`: a non-empty mapping of filter name to a string or a non-empty list of strings."""
    if not isinstance(targets, Mapping):
        return [
            Problem(
                path, f"targets must be a mapping of filter name to values, not {_kind(targets)}"
            )
        ]
    if not targets:
        return [
            Problem(
                path,
                "targets is empty: a rule must name at least one filter, "
                f"an unfiltered rule would act on every {RESOURCE_NOUNS.get(resource, 'instance')}",
            )
        ]
    problems: list[Problem] = []
    for name, values in targets.items():
        name_problems = check_filter_name(name, (*path, str(name)), resource)
        problems += name_problems
        if name_problems:
            continue
        problems += check_filter_values(name, values, (*path, name), resource)
    return problems


def check_filter_values(
    name: str, values: object, path: Path, resource: str = DEFAULT_RESOURCE
) -> list[Problem]:
    if isinstance(values, str):
        return check_filter_value(name, values, path, resource)
    if not isinstance(values, Sequence):
        return [
            Problem(
                path,
                f"'{name}' must be a string or a list of strings, not {_kind(values)}"
                f"{_quote_hint(values)}",
            )
        ]
    if not values:
        return [Problem(path, f"'{name}' has an empty list: give at least one value")]
    if len(values) > FILTER_VALUES_MAX:
        return [
            Problem(path, f"'{name}' has {len(values)} values; the limit is {FILTER_VALUES_MAX}")
        ]
    problems: list[Problem] = []
    seen: set[object] = set()
    for i, value in enumerate(values):
        problems += check_filter_value(name, value, (*path, i), resource)
        if isinstance(value, str):
            if value in seen:
                problems.append(Problem((*path, i), f"'{value}' is listed twice under '{name}'"))
            seen.add(value)
    return problems


def check_rule_name(name: object, path: Path = ("name",)) -> list[Problem]:
    if not isinstance(name, str):
        return [Problem(path, f"name must be a string, not {_kind(name)}")]
    if not RULE_NAME_RE.fullmatch(name):
        return [
            Problem(
                path,
                f"'{name}' is not a valid rule name: use 1-40 lower-case letters, digits and "
                "hyphens, starting and ending with a letter or digit",
            )
        ]
    return []


def check_accounts(accounts: object, path: Path = ("accounts",)) -> list[Problem]:
    return _check_unique_list(accounts, path, "account", _check_account)


def check_regions(regions: object, path: Path = ("regions",)) -> list[Problem]:
    return _check_unique_list(regions, path, "region", _check_region)


def check_max_instances(value: object, path: Path = ("max_instances",)) -> list[Problem]:
    low, high = MAX_INSTANCES_RANGE
    if isinstance(value, bool) or not isinstance(value, int):
        return [Problem(path, f"max_instances must be a whole number from {low} to {high}")]
    if not low <= value <= high:
        return [Problem(path, f"max_instances is {value}; it must be from {low} to {high}")]
    return []


def check_resource(value: object, path: Path = ("resource",)) -> list[Problem]:
    if isinstance(value, str) and value in RESOURCES:
        return []
    hint = ""
    if isinstance(value, str) and (
        close := difflib.get_close_matches(value.lower(), RESOURCES, n=1, cutoff=0.6)
    ):
        hint = f" (did you mean '{close[0]}'?)"
    return [Problem(path, f"resource {value!r} is not one of {', '.join(RESOURCES)}{hint}")]


def check_hibernate(
    resource: object, hibernate: object, path: Path = ("hibernate",)
) -> list[Problem]:
    """Hibernation is an EC2 feature: a rule for another kind asking for it is a mistake."""
    if hibernate is True and resource in RESOURCES and resource != DEFAULT_RESOURCE:
        return [
            Problem(path, f"hibernate applies to ec2 only; remove it from this {resource} rule")
        ]
    return []


def event_resource(event: Mapping[str, Any]) -> str:
    """The event's kind of resource; absent means ec2 (events from before §9)."""
    value = event.get("resource", DEFAULT_RESOURCE)
    return value if isinstance(value, str) and value in RESOURCES else DEFAULT_RESOURCE


EVENT_KEYS = (
    "version",
    "rule",
    "action",
    "hibernate",
    "accounts",
    "regions",
    "targets",
    "max_instances",
    "role_name",
    "schedule_arn",
    "scheduled_time",
    "execution_id",
    "resource",
    "calendar",
)
# The optional event keys: absent = their default (an EC2 event without a calendar stays
# byte-identical); a rule's calendar (§12) only when it has one.
OPTIONAL_EVENT_KEYS = ("execution_id", "resource", "calendar")


def check_event(event: object) -> list[Problem]:
    """The executor event (DESIGN.md §6), checked before any AWS call."""
    if not isinstance(event, Mapping):
        return [Problem((), f"the event must be a JSON object, not {_kind(event)}")]
    problems: list[Problem] = []
    unknown = sorted(str(k) for k in event if k not in EVENT_KEYS + OPTIONAL_EVENT_KEYS)
    if unknown:
        problems.append(Problem((), f"unknown event keys: {', '.join(unknown)}"))
    missing = [k for k in EVENT_KEYS if k not in event and k not in OPTIONAL_EVENT_KEYS]
    if missing:
        problems.append(Problem((), f"missing event keys: {', '.join(missing)}"))
    if "version" in event and not (type(event["version"]) is int and event["version"] == 1):
        problems.append(Problem(("version",), f"unsupported event version {event['version']!r}"))
    if "rule" in event:
        problems += check_rule_name(event["rule"], ("rule",))
    if "action" in event and event["action"] not in ("start", "stop"):
        problems.append(
            Problem(("action",), f"action must be start or stop, not {event['action']!r}")
        )
    if "hibernate" in event and not isinstance(event["hibernate"], bool):
        problems.append(Problem(("hibernate",), "hibernate must be true or false"))
    unknown_resource = check_resource(event.get("resource", DEFAULT_RESOURCE))
    problems += unknown_resource
    if not unknown_resource:
        problems += check_hibernate(event.get("resource"), event.get("hibernate"))
    resource = event_resource(event)
    if "accounts" in event:
        problems += check_accounts(event["accounts"])
    if "regions" in event:
        problems += check_regions(event["regions"])
    if "targets" in event and not unknown_resource:  # an unknown kind has no filters to check
        targeted = check_targets(event["targets"], resource=resource)
        problems += targeted
        if not targeted:
            problems += check_zones(event["targets"], event.get("regions"))
    if "max_instances" in event:
        problems += check_max_instances(event["max_instances"])
    if "role_name" in event:
        role = event["role_name"]
        if not isinstance(role, str) or not ROLE_NAME_RE.fullmatch(role):
            problems.append(Problem(("role_name",), f"{role!r} is not an IAM role name"))
    for key in ("schedule_arn", "scheduled_time", "execution_id"):
        if key in event and (not isinstance(event[key], str) or not event[key]):
            problems.append(Problem((key,), f"{key} must be a non-empty string"))
    if "calendar" in event:
        problems += [Problem(("calendar",), p) for p in check_event_calendar(event["calendar"])]
    return problems


def _check_account(value: object, path: Path) -> list[Problem]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [
            Problem(
                path,
                f"account {value} is a number; write it as a quoted string, e.g. "
                f'"{value:012d}", so leading zeros survive',
            )
        ]
    if not isinstance(value, str) or not ACCOUNT_RE.fullmatch(value):
        return [Problem(path, f"{value!r} is not a 12-digit AWS account id")]
    return []


def _check_region(value: object, path: Path) -> list[Problem]:
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        return [Problem(path, f"{value!r} is not an AWS region name such as eu-west-1")]
    return []


def _check_unique_list(value: object, path: Path, what: str, check: Any) -> list[Problem]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [Problem(path, f"{path[-1]} must be a list of {what}s, e.g. [{_example(what)}]")]
    if not value:
        return [Problem(path, f"{path[-1]} is empty: give at least one {what}")]
    problems: list[Problem] = []
    seen: set[object] = set()
    for i, item in enumerate(value):
        problems += check(item, (*path, i))
        if isinstance(item, str | int):
            if item in seen:
                problems.append(Problem((*path, i), f"{what} {item!r} is listed twice"))
            seen.add(item)
    return problems


def _example(what: str) -> str:
    return '"123456789012"' if what == "account" else "eu-west-1"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _quote_hint(value: object) -> str:
    if isinstance(value, bool):
        return " (YAML reads yes/no/on/off/true/false as booleans: quote the value)"
    if isinstance(value, int | float):
        return " (quote the value)"
    return ""


# --- The size of one event (the loader and the executor share these bounds) ---------------------

# Each (account, region) pair is a claim, a DescribeInstances and a log row in one invocation.
MAX_PAIRS = 1000
MAX_EVENT_BYTES = 64 * 1024
# What an event holds beyond a rule's name, accounts, regions and targets: the other keys, the
# role name and what Scheduler fills in (a schedule ARN, a time, an execution id).
EVENT_ALLOWANCE_BYTES = 1024


def check_bounds(event: Mapping[str, object], allowance: int = 0) -> list[Problem]:
    """At most MAX_PAIRS accounts x regions, and at most MAX_EVENT_BYTES of JSON."""
    problems: list[Problem] = []
    accounts, regions = event.get("accounts"), event.get("regions")
    if isinstance(accounts, list | tuple) and isinstance(regions, list | tuple):
        pairs = len(accounts) * len(regions)
        if pairs > MAX_PAIRS:
            problems.append(
                Problem(
                    ("accounts",),
                    f"{len(accounts)} accounts x {len(regions)} regions is {pairs} (account, "
                    f"region) pairs, more than {MAX_PAIRS} in one rule: split it into rules "
                    "with fewer accounts or regions",
                )
            )
    size = event_bytes(event) + allowance
    if size > MAX_EVENT_BYTES:
        problems.append(
            Problem(
                (),
                f"the executor event is {size} bytes of JSON, more than {MAX_EVENT_BYTES} "
                "(64 KiB): split the rule, or shorten its lists of accounts, regions and values",
            )
        )
    return problems


def event_bytes(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode())
