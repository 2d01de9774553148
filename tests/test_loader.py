"""load_rules: the Rules it builds, how it finds files, and what it keeps out of the result."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reconciler import loader
from reconciler.diagnostics import Diagnostic
from reconciler.loader import LoadResult, load_rules
from reconciler.model import Location, Rule

CORPUS = Path(__file__).resolve().parent / "corpus"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

RULE = """\
version: 1
rules:
  - name: {name}
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
"""


def load(paths: Sequence[str], **kw: Any) -> LoadResult:
    """load_rules on the pinned date: past-year and DST messages must not depend on today."""
    return load_rules(paths, now=NOW, **kw)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_name(result: LoadResult) -> dict[str, Rule]:
    return {rule.name: rule for rule in result.rules}


# --------------------------------------------------------------------------------------------
# The Rules


@pytest.fixture
def good(monkeypatch: pytest.MonkeyPatch) -> LoadResult:
    monkeypatch.chdir(CORPUS)
    result = load(["good"])
    assert result.ok
    assert result.diagnostics == ()
    return result


def test_every_good_rule_is_loaded_in_file_order(good: LoadResult) -> None:
    assert [r.name for r in good.rules] == [
        "kiosks",
        "last-day-of-month",
        "nearest-weekday",
        "last-friday",
        "first-monday",
        "night-shift",
        "every-twelve-hours",
        "one-off-window",
        "nested-team",
        "dev-office-hours",
        "paused-rule",
        "tag-with-spaces-and-colons",
        "eu-batch",
        "eu-batch-saturday",
        "us-batch",
    ]
    assert good.files == (
        "good/bom-utf8.yaml",
        "good/expressions.yaml",
        "good/nested/deeper/team.yaml",
        "good/office-hours.yaml",
        "good/shared-targets.yml",
    )


def test_a_rule_with_every_key(good: LoadResult) -> None:
    assert by_name(good)["dev-office-hours"] == Rule(
        name="dev-office-hours",
        accounts=("123456789012", "012345678901"),
        regions=("eu-west-1", "eu-central-1"),
        targets=(
            ("tag:Environment", ("dev",)),  # a string becomes a 1-tuple
            ("tag:Team", ("payments", "checkout", "search")),
            ("tag-key", ("owner",)),
            ("instance-id", ("i-0123456789abcdef0", "i-01234567")),
            ("private-ip-address", ("10.0.12.7",)),
            ("vpc-id", ("vpc-4085e027",)),
            ("subnet-id", ("subnet-0a1b2c3d", "subnet-0123456789abcdef0")),
            ("instance-type", ("t3.*", "m6i.large", "c?g.xlarge")),
            ("availability-zone", ("eu-west-1a", "eu-central-1*")),
        ),
        start="cron(0 8 ? * MON-FRI *)",
        stop="cron(0 19 ? * MON-FRI *)",
        description="Dev boxes, office hours",
        enabled=True,
        timezone="Europe/Berlin",
        hibernate=False,
        max_instances=50,
    )
    assert by_name(good)["dev-office-hours"].location == Location("good/office-hours.yaml", 5, 5)


def test_defaults_for_optional_keys(good: LoadResult) -> None:
    rule = by_name(good)["tag-with-spaces-and-colons"]
    assert (rule.description, rule.enabled, rule.timezone) == (None, True, "UTC")
    assert (rule.hibernate, rule.max_instances, rule.stop) == (False, 100, None)
    assert rule.targets == (
        ("tag:aws:cloudformation:stack-name", ("build-fleet",)),
        ("tag:Cost Center", ("Research & Development",)),
    )


def test_disabled_and_hibernating(good: LoadResult) -> None:
    rule = by_name(good)["paused-rule"]
    assert (rule.enabled, rule.hibernate, rule.max_instances, rule.start) == (
        False,
        True,
        1000,
        None,
    )


def test_expressions_are_kept_as_written_but_stripped(good: LoadResult) -> None:
    rule = by_name(good)["one-off-window"]
    assert (rule.start, rule.stop) == ("at(2199-12-24T18:00:00)", "at(2199-12-27T08:00:00)")
    assert by_name(good)["night-shift"].start == "cron(0/30 20-2 ? * MON-FRI *)"
    assert by_name(good)["every-twelve-hours"].stop == "rate(1 day)"


def test_anchors_aliases_and_merge_keys(good: LoadResult) -> None:
    rules = by_name(good)
    base, saturday, us = rules["eu-batch"], rules["eu-batch-saturday"], rules["us-batch"]
    assert saturday.targets == base.targets == us.targets
    assert saturday.accounts == us.accounts == ("123456789012", "210987654321")
    assert (saturday.timezone, saturday.regions) == ("Europe/London", ("eu-west-2",))
    assert (saturday.start, saturday.stop) == ("cron(0 9 ? * SAT *)", "cron(0 13 ? * SAT *)")
    assert saturday.location == Location("good/shared-targets.yml", 15, 5)


def test_utf8_with_a_byte_order_mark(good: LoadResult) -> None:
    rule = by_name(good)["kiosks"]
    assert rule.description == "Café kiosk screens — München"
    assert rule.targets == (("tag:Standort", ("München",)),)
    assert rule.location == Location("good/bom-utf8.yaml", 4, 5)


# --------------------------------------------------------------------------------------------
# Finding files


def test_directories_are_searched_recursively_and_sorted(tmp_path: Path) -> None:
    write(tmp_path / "b.yaml", RULE.format(name="b"))
    write(tmp_path / "a" / "z.yml", RULE.format(name="z"))
    write(tmp_path / "a" / "c.yaml", RULE.format(name="c"))
    write(tmp_path / "notes.txt", "not a rule file")
    write(tmp_path / "README.md", "# rules")
    write(tmp_path / ".hidden.yaml", "not: [valid")
    write(tmp_path / ".git" / "x.yaml", "not: [valid")
    result = load([str(tmp_path)])
    assert result.ok
    assert [r.name for r in result.rules] == ["c", "z", "b"]
    assert [os.path.basename(f) for f in result.files] == ["c.yaml", "z.yml", "b.yaml"]


def test_files_and_directories_mix_and_each_file_is_read_once(tmp_path: Path) -> None:
    a = write(tmp_path / "rules" / "a.yaml", RULE.format(name="a"))
    other = write(tmp_path / "extra.txt", RULE.format(name="extra"))  # named: read anyway
    result = load([str(tmp_path / "rules"), str(a), str(other), str(a)])
    assert result.ok
    assert [r.name for r in result.rules] == ["a", "extra"]


def test_missing_paths_are_errors(tmp_path: Path) -> None:
    result = load([str(tmp_path / "nope"), str(tmp_path / "nope.yaml")])
    assert not result.ok
    assert [d.message for d in result.diagnostics] == ["no such file or directory"] * 2
    assert result.rules == ()


def test_an_empty_directory_is_an_error_unless_allowed(tmp_path: Path) -> None:
    write(tmp_path / "schedules" / "README.md", "rules go here")
    path = str(tmp_path / "schedules")
    result = load([path])
    assert result.diagnostics == (
        Diagnostic(
            path,
            1,
            1,
            "error",
            f"no rule files found in {path} (expected *.yaml or *.yml)",
        ),
    )
    assert load([path], allow_empty=True) == LoadResult((), (), ())
    assert not load([]).ok
    assert load([], allow_empty=True).ok


def test_display_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert loader.display_path("./schedules//a.yaml") == "schedules/a.yaml"
    assert loader.display_path(str(tmp_path / "schedules" / "a.yaml")) == "schedules/a.yaml"
    assert loader.display_path("/elsewhere/a.yaml") == "/elsewhere/a.yaml"
    assert loader.display_path("../up.yaml") == "../up.yaml"


# --------------------------------------------------------------------------------------------
# What the result keeps out


def test_only_rules_that_pass_every_check_are_returned(tmp_path: Path) -> None:
    bad = RULE.format(name="bad").replace("eu-west-1", "eu-west")
    write(tmp_path / "a.yaml", RULE.format(name="good") + bad.split("rules:\n", 1)[1])
    result = load([str(tmp_path)])
    assert not result.ok
    assert [r.name for r in result.rules] == ["good"]


def test_a_yaml_problem_keeps_the_whole_file_out(tmp_path: Path) -> None:
    # A duplicate key means YAML dropped something the user wrote: trust no rule in the file.
    text = RULE.format(name="a") + "    start: cron(0 9 ? * MON-FRI *)\n"
    write(tmp_path / "a.yaml", text + RULE.format(name="b").split("rules:\n", 1)[1])
    result = load([str(tmp_path)])
    assert [d.message[:20] for d in result.diagnostics] == ["duplicate key 'start"]
    assert result.rules == ()


def test_duplicate_names_across_files_keep_both_out(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", RULE.format(name="web"))
    write(tmp_path / "b.yaml", RULE.format(name="web"))
    write(tmp_path / "c.yaml", RULE.format(name="api"))
    result = load([str(tmp_path)])
    assert [r.name for r in result.rules] == ["api"]
    assert [(os.path.basename(d.file), d.line, d.col) for d in result.diagnostics] == [
        ("a.yaml", 3, 11),
        ("b.yaml", 3, 11),
    ]


def test_many_duplicates_are_summarised(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / f"{i}.yaml", RULE.format(name="web"))
    result = load([str(tmp_path)])
    first = result.diagnostics[0]
    assert first.file.endswith("0.yaml")
    assert first.message.endswith("3.yaml:3:11 and 2 more places")
    assert len(result.diagnostics) == 6


def test_a_missing_key_does_not_hide_the_rules_other_problems(tmp_path: Path) -> None:
    # The structure layer speaks about the rule as a whole; the schema still checks its values.
    text = RULE.format(name="a").replace("    regions: [eu-west-1]\n", "")
    text += "    hibernate: 3\n    description: [a]\n    timezone: 5\n"
    result = load([str(write(tmp_path / "a.yaml", text))])
    assert [(d.line, d.col, d.message) for d in result.diagnostics] == [
        (3, 5, "rule 1 is missing required key: regions"),
        (7, 16, "hibernate must be true or false, not a number"),
        (8, 18, "description must be a string, not a list"),
        (9, 15, 'timezone must be a string, not a number; quote it: "5"'),
    ]


def test_a_misspelt_key_is_not_also_reported_missing(tmp_path: Path) -> None:
    text = RULE.format(name="a").replace("start:", "strat:").replace("accounts:", "acounts:")
    result = load([str(write(tmp_path / "a.yaml", text + "    colour: blue\n"))])
    assert [(d.line, d.col, d.message) for d in result.diagnostics] == [
        (4, 5, "unknown key 'acounts' in rule 1 (did you mean 'accounts'?)"),
        (7, 5, "unknown key 'strat' in rule 1 (did you mean 'start'?)"),
        (
            8,
            5,
            "unknown key 'colour' in rule 1; allowed: name, description, enabled, timezone, "
            "accounts, regions, targets, start, stop, hibernate, max_instances, resource, calendar",
        ),
    ]
    # Without a look-alike, the missing key is still named.
    text = RULE.format(name="a").replace("    regions: [eu-west-1]\n", "    places: [x]\n")
    result = load([str(write(tmp_path / "a.yaml", text))])
    assert [d.message for d in result.diagnostics] == [
        "rule 1 is missing required key: regions",
        "unknown key 'places' in rule 1; allowed: name, description, enabled, timezone, "
        "accounts, regions, targets, start, stop, hibernate, max_instances, resource, calendar",
    ]


def test_stop_spelled_differently_but_firing_with_start_is_an_error(tmp_path: Path) -> None:
    text = RULE.format(name="a") + "    stop: cron(0 8 ? * 2-6 *)\n"
    result = load([str(write(tmp_path / "a.yaml", text))])
    assert [(d.line, d.col, d.message) for d in result.diagnostics] == [
        (
            8,
            11,
            "stop fires at exactly the same times as start (cron(0 8 ? * MON-FRI *)): the "
            "instances would be started and stopped at the same moment",
        )
    ]
    assert result.rules == ()


def test_warnings_do_not_keep_a_rule_out(tmp_path: Path) -> None:
    # 02:30 every day: on 2027-03-14 (a Sunday) New York's clocks jump from 02:00 to 03:00.
    write(tmp_path / "a.yaml", RULE.format(name="a").replace("0 8 ? * MON-FRI", "30 2 * * ?"))
    (tmp_path / "a.yaml").write_text(
        (tmp_path / "a.yaml").read_text() + "    timezone: America/New_York\n"
    )
    result = load([str(tmp_path)])
    assert result.ok
    assert [d.severity for d in result.diagnostics] == ["warning"]
    assert "02:30 does not exist on 2027-03-14 in America/New_York" in result.diagnostics[0].message
    assert [r.name for r in result.rules] == ["a"]


# --------------------------------------------------------------------------------------------
# Robustness: any value anywhere gives diagnostics, never an exception


ODD_VALUES = [
    "~",
    "yes",
    "0",
    "-1",
    "1.5",
    "2026-01-01",
    "[]",
    "{}",
    "[[1]]",
    "{a: {b: c}}",
    '""',
    "' '",
]


def _scalar_lines(text: str) -> list[int]:
    return [i for i, line in enumerate(text.splitlines()) if ": " in line and "version" not in line]


@pytest.mark.parametrize("odd", ODD_VALUES)
def test_any_value_in_any_place_is_reported_not_raised(tmp_path: Path, odd: str) -> None:
    source = (CORPUS / "good" / "office-hours.yaml").read_text(encoding="utf-8")
    lines = source.splitlines()
    assert len(_scalar_lines(source)) >= 5  # else the loop below checks nothing
    for index in _scalar_lines(source):
        key, _, _ = lines[index].partition(": ")
        mutated = [*lines[:index], f"{key}: {odd}", *lines[index + 1 :]]
        path = write(tmp_path / "m.yaml", "\n".join(mutated) + "\n")
        result = load([str(path)])  # must not raise
        assert all(d.file == str(path) for d in result.diagnostics)
        if not result.ok:
            assert all(r.location and r.location.line != index + 1 for r in result.rules)


def test_load_is_deterministic_and_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)
    first, second = load(["bad", "warn"]), load(["warn", "bad"])
    assert first.diagnostics == second.diagnostics
    keys = [(d.file, d.line, d.col) for d in first.diagnostics]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------------------------
# Wildcards that match everything (the checks the executor shares)


@pytest.mark.parametrize(
    ("targets", "line_col", "message"),
    [
        (
            '{tag:Env: dev, tag:Name: "*"}',
            (6, 39),
            "'*' matches every value of tag 'Name'; name the values to act on, or write "
            "tag-key: Name if every instance with that tag is meant",
        ),
        (
            '{tag:Env: dev, instance-type: "*.*"}',
            (6, 44),
            "'*.*' matches every instance type; name the types or families to act on, e.g. "
            "t3.micro or m6i.*",
        ),
        (
            "{tag:Env: dev, availability-zone: eu-west-1*}",
            (6, 48),
            "availability-zone 'eu-west-1*' matches every zone of eu-west-1, the rule's only "
            "region: the filter selects every instance; name the zones to act on, e.g. "
            "eu-west-1a",
        ),
    ],
)
def test_a_pattern_matching_everything_is_an_error_at_the_value(
    tmp_path: Path, targets: str, line_col: tuple[int, int], message: str
) -> None:
    text = RULE.format(name="web").replace("{tag:Env: dev}", targets)
    path = write(tmp_path / "web.yaml", text)
    result = load([str(path)])
    assert result.rules == ()
    assert [(d.line, d.col, d.severity, d.message) for d in result.diagnostics] == [
        (*line_col, "error", message)
    ]


# --------------------------------------------------------------------------------------------
# at() that never fires, and start and stop in the same minute


def _at_rule(tmp_path: Path, when: str) -> LoadResult:
    text = RULE.format(name="web").replace(
        "start: cron(0 8 ? * MON-FRI *)", f"timezone: Europe/Berlin\n    start: at({when})"
    )
    return load([str(write(tmp_path / "web.yaml", text))])


def test_an_at_in_a_dst_gap_is_an_error(tmp_path: Path) -> None:
    result = _at_rule(tmp_path, "2027-03-28T02:30:00")
    assert result.rules == ()
    assert [(d.severity, d.message) for d in result.diagnostics] == [
        (
            "error",
            "start: 02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go forward from "
            "02:00 to 03:00), so at(2027-03-28T02:30:00) never fires; write a time that exists, "
            "such as 03:00",
        )
    ]


def test_an_at_in_the_past_stays_a_warning_even_in_a_gap(tmp_path: Path) -> None:
    # A one-off that has gone by must not fail every later plan of the repository.
    result = _at_rule(tmp_path, "2026-03-29T02:30:00")
    assert [r.name for r in result.rules] == ["web"]
    assert [(d.severity, d.message) for d in result.diagnostics] == [
        (
            "warning",
            "start: at(2026-03-29T02:30:00) is in the past in Europe/Berlin: it will never fire",
        )
    ]


def test_start_and_stop_in_the_same_minute_on_some_day_is_an_error(tmp_path: Path) -> None:
    text = RULE.format(name="web") + "    stop: cron(0 8 1 * ? *)\n"
    result = load([str(write(tmp_path / "web.yaml", text))])
    assert result.rules == ()
    assert [(d.line, d.col, d.message) for d in result.diagnostics] == [
        (
            8,
            11,
            "stop fires together with start on 2026-12-01 at 08:00 (UTC): the instances would "
            "be started and stopped at the same moment; change one of the times",
        )
    ]


# --------------------------------------------------------------------------------------------
# Symlinks out of the rules directory, and control characters in what is printed


def test_a_symlinked_file_out_of_the_rules_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outside = write(tmp_path / "elsewhere" / "secret.yaml", RULE.format(name="outside"))
    write(tmp_path / "schedules" / "web.yaml", RULE.format(name="web"))
    (tmp_path / "schedules" / "team.yaml").symlink_to(outside)
    result = load(["schedules"])
    assert [r.name for r in result.rules] == ["web"]
    assert result.diagnostics == (
        Diagnostic(
            "schedules/team.yaml",
            1,
            1,
            "error",
            f"symbolic link to {outside}, outside the rules directory schedules: refusing to "
            "read it; copy the rules into the directory instead",
        ),
    )


def test_a_symlinked_directory_out_of_the_rules_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "elsewhere" / "x.yaml", RULE.format(name="outside"))
    write(tmp_path / "schedules" / "web.yaml", RULE.format(name="web"))
    (tmp_path / "schedules" / "more").symlink_to(tmp_path / "elsewhere")
    result = load(["schedules"])
    assert not result.ok
    assert [(d.file, d.message) for d in result.diagnostics] == [
        (
            "schedules/more",
            f"symbolic link to {tmp_path / 'elsewhere'}, outside the rules directory schedules: "
            "refusing to read it; copy the rules into the directory instead",
        )
    ]


def test_symlinks_within_the_rules_directory_are_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    real = write(tmp_path / "schedules" / "teams" / "web.yaml", RULE.format(name="web"))
    (tmp_path / "schedules" / "web.yaml").symlink_to(real)
    (tmp_path / "schedules" / "alias").symlink_to(tmp_path / "schedules" / "teams")
    # The rules directory itself may be a link.
    (tmp_path / "rules").symlink_to(tmp_path / "schedules")
    for directory in ("schedules", "rules"):
        result = load([directory])
        assert result.ok, result.diagnostics
        assert [r.name for r in result.rules] == ["web"]  # each file is read once


CONTROL_CHARACTERS = [
    # ESC in a value (YAML's "\e"), BEL in a filter name, CR in a description.
    (
        '{tag:Env: dev, instance-type: "\\e[2J"}',
        "'\\x1b[2J' is not an instance type such as t3.micro",
    ),
    (
        '{"vpc\\a-id": vpc-4085e027}',
        "unknown filter 'vpc\\x07-id' (did you mean 'vpc-id'?); allowed: instance-id, "
        "tag:<key>, tag-key, "
        "private-ip-address, vpc-id, subnet-id, instance-type, availability-zone",
    ),
    (
        '{tag:Env: dev}\n    description: "ok\\rpwned \\e]0;title\\a"',
        "description 'ok\\rpwned \\x1b]0;title\\x07' has control characters: plans and the AWS "
        "console show this text; remove them",
    ),
]


@pytest.mark.parametrize(("targets", "message"), CONTROL_CHARACTERS)
def test_control_characters_are_escaped_in_every_message(
    tmp_path: Path, targets: str, message: str
) -> None:
    text = RULE.format(name="web").replace("{tag:Env: dev}", targets)
    path = write(tmp_path / "web\x1b[31m.yaml", text)
    result = load([str(path)])
    (diagnostic,) = result.diagnostics
    printed = diagnostic.text()
    assert (
        printed
        == f"{tmp_path}/web\\x1b[31m.yaml:{diagnostic.line}:{diagnostic.col}: error: {message}"
    )
    assert not any(ord(ch) < 0x20 or ch == "\x7f" for ch in printed + diagnostic.github())


def test_now_dates_the_past_year_check(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.yaml",
        "version: 1\nrules:\n  - name: once\n    accounts: ['111111111111']\n"
        "    regions: [eu-west-1]\n    targets: {tag:Env: dev}\n"
        "    start: cron(0 8 1 6 ? 2026)\n",
    )
    before = load_rules([str(path)], now=datetime(2026, 1, 1, tzinfo=UTC))
    after = load_rules([str(path)], now=datetime(2026, 7, 1, tzinfo=UTC))
    assert ([r.name for r in before.rules], before.diagnostics) == (["once"], ())
    assert after.rules == ()
    assert [d.message for d in after.diagnostics] == [
        "start: year field '2026': every date it allows is in the past, so the schedule would "
        "never fire"
    ]
