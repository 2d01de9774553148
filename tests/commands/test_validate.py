"""`reconcile validate` through the CLI: the corpus of bad, good and warning files, output formats,
default paths, and every hostile input the issue names (no traceback, ever)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler import loader, yamlload
from reconciler.cli import cli

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
# Messages about past years and the next DST gap depend on the date: pin it.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_clock", lambda: NOW)


@pytest.fixture
def in_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CORPUS)


def validate(*args: str) -> Result:
    result = CliRunner().invoke(cli, ["validate", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


# One defect per file (duplicate-names is a folder of two files). Each expected line is
# LINE:COL: severity: message, for the file itself unless it names its file.
BAD = [
    (
        "account-number.yaml",
        [
            '5:16: error: account 123456789012 is read as a number, not a string; quote it: "123456789012"'
        ],
    ),
    (
        "account-octal.yaml",
        [
            '5:16: error: account 012345670123 is read as a number, not a string; quote it: "012345670123" (YAML 1.1 reads digits after a leading 0 as octal)'
        ],
    ),
    ("account-short.yaml", ["5:16: error: '12345678901' is not a 12-digit AWS account id"]),
    ("accounts-empty.yaml", ["5:15: error: accounts is empty: give at least one account"]),
    (
        "accounts-not-a-list.yaml",
        ['5:15: error: accounts must be a list of accounts, e.g. ["123456789012"]'],
    ),
    (
        "alias-bomb.yaml",
        [
            "8:5: error: aliases expand the document to more than 100,484 values (an alias bomb?); refusing to load it"
        ],
    ),
    (
        "at-format.yaml",
        [
            "9:12: error: start: at() time '2027-01-04 07:00:00' must be written yyyy-mm-ddThh:mm:ss, e.g. at(2026-03-30T08:00:00)"
        ],
    ),
    (
        "at-in-dst-gap.yaml",
        [
            "10:12: error: start: 02:30 does not exist on 2027-03-28 in Europe/Berlin (clocks go "
            "forward from 02:00 to 03:00), so at(2027-03-28T02:30:00) never fires; write a time "
            "that exists, such as 03:00"
        ],
    ),
    (
        "at-not-a-date.yaml",
        [
            "9:12: error: start: at() time '2027-02-30T07:00:00' is not a real date and time: day is out of range for month"
        ],
    ),
    (
        "at-offset.yaml",
        [
            "9:12: error: start: at() time '2027-01-04T07:00:00Z' must be written yyyy-mm-ddThh:mm:ss without an offset (the rule's time zone says where it is), e.g. at(2026-03-30T08:00:00)"
        ],
    ),
    (
        "control-character.yaml",
        [
            "4:14: error: character U+0007 is not allowed in YAML (control characters are not allowed); remove it"
        ],
    ),
    (
        "cron-bad-month.yaml",
        ["9:12: error: start: month field 'JANUARY': 'JANUARY' is not a month (1-12 or JAN-DEC)"],
    ),
    (
        "cron-bad-name.yaml",
        [
            "9:12: error: start: day-of-week field 'MON-FRY': 'FRY' is not a day of the week (1-7 or SUN-SAT)"
        ],
    ),
    (
        "cron-both-question-marks.yaml",
        [
            "9:12: error: start: day-of-month and day-of-week are both '?': exactly one of them must be '?'; put '*' or days in the other"
        ],
    ),
    (
        "cron-dow-zero.yaml",
        [
            "9:12: error: start: day-of-week field '0-4': 0 is out of range 1-7 (1 = SUN, 2 = MON, ... 7 = SAT)"
        ],
    ),
    (
        "cron-five-fields.yaml",
        [
            "9:12: error: start: cron has 5 fields, but EventBridge needs 6 (minutes hours day-of-month month day-of-week year): add the year, e.g. cron(0 8 ? * MON-FRI *)"
        ],
    ),
    (
        "cron-hash-occurrence.yaml",
        [
            "9:12: error: start: day-of-week field '2#6': the occurrence after '#' must be 1-5, not '6' (e.g. '2#1' is the first Monday of the month)"
        ],
    ),
    ("cron-hour-range.yaml", ["10:11: error: stop: hours field '24': 24 is out of range 0-23"]),
    (
        "cron-l-in-list.yaml",
        [
            "9:12: error: start: day-of-month field '1,L': 'L' (the last day of the month) must stand alone in day-of-month"
        ],
    ),
    (
        "cron-lw.yaml",
        [
            "9:12: error: start: day-of-month field 'LW': 'LW' (last weekday of the month) is not documented for EventBridge Scheduler; use 'L' (last day) or a nearest-weekday day such as '28W'"
        ],
    ),
    ("cron-minute-range.yaml", ["9:12: error: start: minutes field '60': 60 is out of range 0-59"]),
    (
        "cron-missing-paren.yaml",
        ["9:12: error: start: 'cron(0 8 ? * MON-FRI *' is missing its closing parenthesis"],
    ),
    (
        "cron-never-fires.yaml",
        [
            "9:12: error: start: day-of-month field '30' names no day that exists in month field '2', so the schedule would never fire"
        ],
    ),
    (
        "cron-past-years.yaml",
        [
            "9:12: error: start: year field '2020-2022': every date it allows is in the past, so the schedule would never fire"
        ],
    ),
    (
        "cron-question-mark.yaml",
        [
            "9:12: error: start: day-of-month '*' and day-of-week 'MON-FRI': exactly one of them must be '?' (EventBridge cannot combine both); write '?' in day-of-month"
        ],
    ),
    (
        "cron-slash-in-dow.yaml",
        ["9:12: error: start: day-of-week field '2-6/2': '/' is not allowed in day-of-week"],
    ),
    (
        "cron-step-zero.yaml",
        ["9:12: error: start: minutes field '0/0': the step 0 must be between 1 and 59"],
    ),
    (
        "cron-two-hash-terms.yaml",
        [
            "9:12: error: start: day-of-week field '2#1,6#3': only one '#' term is allowed in day-of-week (EventBridge reads a list with '#' as several expressions)"
        ],
    ),
    (
        "cron-w-list.yaml",
        [
            "9:12: error: start: day-of-month field '1-15W': 'W' must follow a single day and stand alone, e.g. '15W'"
        ],
    ),
    (
        "cron-year-backwards.yaml",
        ["9:12: error: start: year field '2030-2027': the range 2030-2027 runs backwards"],
    ),
    (
        "cron-year-range.yaml",
        ["9:12: error: start: year field '2026-2200': 2200 is out of range 1970-2199"],
    ),
    (
        "description-date.yaml",
        ['11:18: error: description must be a string, not a date; quote it: "2026-12-24"'],
    ),
    (
        "description-too-long.yaml",
        ["11:18: error: description is 267 characters long; the limit is 256"],
    ),
    (
        "duplicate-key.yaml",
        ["11:5: error: duplicate key 'stop' (first at line 10, column 5); remove one of them"],
    ),
    (
        "duplicate-names",
        [
            "bad/duplicate-names/team-a.yaml:4:11: error: rule name 'web' is used again at bad/duplicate-names/team-b.yaml:11:11",
            "bad/duplicate-names/team-b.yaml:11:11: error: duplicate rule name 'web': already used at bad/duplicate-names/team-a.yaml:4:11; rule names must be unique across all rule files",
        ],
    ),
    (
        "empty.yaml",
        ["1:1: error: file is empty: a rule file needs 'version: 1' and a 'rules:' list"],
    ),
    ("enabled-string.yaml", ["11:14: error: enabled must be true or false, not a string"]),
    (
        "expr-bare-cron.yaml",
        [
            "9:12: error: start: '0 8 * * 1-5' is a bare cron line: EventBridge needs it wrapped and with six fields, e.g. cron(0 8 ? * MON-FRI *)"
        ],
    ),
    (
        "expr-empty.yaml",
        ["9:12: error: start: the expression is empty: write cron(...), rate(...) or at(...)"],
    ),
    (
        "expr-not-an-expression.yaml",
        [
            "9:12: error: start: 'weekdays at 8' is not an EventBridge Scheduler expression: write cron(...), rate(...) or at(...)"
        ],
    ),
    (
        "expr-too-long.yaml",
        [
            "9:12: error: start: the expression is 403 characters long; EventBridge allows at most 256"
        ],
    ),
    (
        "expr-unknown-kind.yaml",
        [
            "9:12: error: start: 'every(...)' is not an EventBridge Scheduler expression: write cron(...), rate(...) or at(...)"
        ],
    ),
    (
        "expression-number.yaml",
        # Quoting would not help ("8" is no expression either), so no advice to quote.
        ["9:12: error: start must be a string, not a number"],
    ),
    ("filter-az.yaml", ["8:26: error: 'eu-west-1' is not an availability zone such as eu-west-1a"]),
    (
        "filter-boolean-value.yaml",
        [
            "8:21: error: 'tag:Schedule' must be a string or a list of strings, not a boolean (YAML reads yes/no/on/off/true/false as booleans: quote the value)"
        ],
    ),
    (
        "filter-case.yaml",
        [
            "8:22: error: unknown filter 'Instance-Type' (filter names are case-sensitive: did you mean 'instance-type'?); allowed: instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, instance-type, availability-zone"
        ],
    ),
    (
        "filter-empty-list.yaml",
        ["8:24: error: 'tag:Environment' has an empty list: give at least one value"],
    ),
    ("filter-empty-value.yaml", ["8:24: error: filter value for 'tag:Environment' is empty"]),
    (
        "filter-instance-id.yaml",
        [
            "8:42: error: 'i-0a1b2c3' is not a valid instance-id: expected i- followed by 8 or 17 hex digits"
        ],
    ),
    ("filter-instance-type.yaml", ["8:22: error: 't3' is not an instance type such as t3.micro"]),
    ("filter-ip.yaml", ["8:27: error: '10.0.0.256' is not an IPv4 address"]),
    (
        "filter-number-value.yaml",
        [
            "8:23: error: 'tag:CostCenter' must be a string or a list of strings, not a number (quote the value)"
        ],
    ),
    (
        "filter-subnet.yaml",
        [
            "8:18: error: 'vpc-0a1b2c3d' is not a valid subnet-id: expected subnet- followed by 8 or 17 hex digits"
        ],
    ),
    (
        "filter-tag-no-key.yaml",
        ["8:15: error: filter 'tag:' needs a tag key, e.g. tag:Environment"],
    ),
    (
        "filter-unknown.yaml",
        [
            "8:14: error: unknown filter 'vpcid' (did you mean 'vpc-id'?); allowed: instance-id, tag:<key>, tag-key, private-ip-address, vpc-id, subnet-id, instance-type, availability-zone"
        ],
    ),
    (
        "filter-value-mapping.yaml",
        ["9:9: error: 'tag:Environment' must be a string or a list of strings, not a mapping"],
    ),
    ("filter-value-twice.yaml", ["8:36: error: 'payments' is listed twice under 'tag:Team'"]),
    (
        "filter-wildcard-only.yaml",
        ["9:22: error: '*' matches every instance; name the instance-type values to act on"],
    ),
    (
        "filter-wildcard-az.yaml",
        [
            "9:26: error: 'eu-**' matches every availability zone of several regions (it ends "
            "in a wildcard before the region name is complete); name the zones to act on, e.g. "
            "eu-west-1a"
        ],
    ),
    (
        "filter-az-whole-region.yaml",
        [
            "9:26: error: availability-zone 'eu-west-1*' matches every zone of eu-west-1, the "
            "rule's only region: the filter selects every instance; name the zones to act on, "
            "e.g. eu-west-1a"
        ],
    ),
    (
        "filter-az-other-region.yaml",
        [
            "9:39: error: 'eu-west-1a' is not a zone of the rule's regions (us-east-1); name a "
            "zone of one of them, e.g. us-east-1a, or add its region to regions"
        ],
    ),
    (
        "filter-wildcard-tag.yaml",
        [
            "9:17: error: '*' matches every value of tag 'Name'; name the values to act on, or "
            "write tag-key: Name if every instance with that tag is meant"
        ],
    ),
    (
        "filter-wildcard-type.yaml",
        [
            "9:33: error: '*.*' matches every instance type; name the types or families to act "
            "on, e.g. t3.micro or m6i.*"
        ],
    ),
    ("hibernate-number.yaml", ["11:16: error: hibernate must be true or false, not a number"]),
    (
        "key-not-string.yaml",
        [
            '11:5: error: key yes is read as a boolean, not a string; YAML 1.1 reads an unquoted yes as true: quote it: "yes"'
        ],
    ),
    (
        "latin1.yaml",
        [
            "5:21: error: file is not valid UTF-8: byte 0xe9 cannot be decoded (saved as Latin-1 or Windows-1252?); save the file as UTF-8"
        ],
    ),
    (
        "max-instances-fraction.yaml",
        ["11:20: error: max_instances must be a whole number from 1 to 1000"],
    ),
    (
        "max-instances-range.yaml",
        ["11:20: error: max_instances is 5000; it must be from 1 to 1000"],
    ),
    ("missing-keys.yaml", ["4:5: error: rule 1 is missing required keys: accounts, regions"]),
    ("missing-version.yaml", ["2:1: error: the file is missing required key: version"]),
    ("no-start-or-stop.yaml", ["4:5: error: rule 1 is missing required key: start or stop"]),
    (
        "not-a-mapping.yaml",
        [
            "2:1: error: a rule file must be a mapping with 'version: 1' and 'rules:', not a list: put the list under 'rules:' and add 'version: 1' above it"
        ],
    ),
    (
        "rate-shape.yaml",
        [
            "10:11: error: stop: rate expression 'rate(hourly)' must be rate(value unit), e.g. rate(5 minutes)"
        ],
    ),
    (
        "rate-unit.yaml",
        [
            "9:12: error: start: rate unit 'week' must be minute(s), hour(s) or day(s); EventBridge has no seconds, weeks or months"
        ],
    ),
    (
        "rate-zero.yaml",
        [
            "10:11: error: stop: rate value '0' must be a whole number of at least 1, e.g. rate(5 minutes)"
        ],
    ),
    (
        "recursive-alias.yaml",
        ["3:8: error: an alias refers to a node that contains it (recursive YAML)"],
    ),
    ("region-invalid.yaml", ["6:15: error: 'eu-west' is not an AWS region name such as eu-west-1"]),
    ("region-twice.yaml", ["6:40: error: region 'eu-west-1' is listed twice"]),
    (
        "rule-name-invalid.yaml",
        [
            "4:11: error: 'Dev_Boxes' is not a valid rule name: use 1-40 lower-case letters, digits and hyphens, starting and ending with a letter or digit"
        ],
    ),
    (
        "rule-not-a-mapping.yaml",
        [
            "11:5: error: rule 2 must be a mapping with name, accounts, regions, targets and start/stop, not a string"
        ],
    ),
    ("rules-not-a-list.yaml", ["4:3: error: rules must be a list of rules, not a mapping"]),
    (
        "start-stop-same-minute.yaml",
        [
            "10:11: error: stop fires together with start on 2026-12-01 at 08:00 (UTC): the "
            "instances would be started and stopped at the same moment; change one of the times"
        ],
    ),
    (
        "start-equals-stop.yaml",
        [
            "10:11: error: stop is the same expression as start: the instances would be started and stopped at the same moment"
        ],
    ),
    (
        "syntax-mapping-in-scalar.yaml",
        [
            "11:21: error: YAML syntax error: mapping values are not allowed in this context; a value containing ': ' must be quoted"
        ],
    ),
    (
        "syntax-unclosed-list.yaml",
        [
            "7:12: error: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 6)"
        ],
    ),
    (
        "tab-indent.yaml",
        ["5:1: error: tab character in indentation: YAML indents with spaces only"],
    ),
    (
        "targets-empty.yaml",
        [
            "7:14: error: targets is empty: a rule must name at least one filter, an unfiltered rule would act on every instance"
        ],
    ),
    (
        "targets-list.yaml",
        ["8:7: error: targets must be a mapping of filter name to values, not a list"],
    ),
    (
        "timezone-abbreviation.yaml",
        [
            "11:15: error: 'PST' is an abbreviation, not an IANA time zone: abbreviations do "
            "not say when daylight saving time applies; use a place name such as "
            "'America/Los_Angeles'"
        ],
    ),
    (
        "timezone-city.yaml",
        ["11:15: error: 'Berlin' is not an IANA time zone name; did you mean 'Europe/Berlin'?"],
    ),
    (
        "timezone-unknown.yaml",
        [
            "11:15: error: 'Europe/Berln' is not an IANA time zone name; did you mean 'Europe/Berlin'?"
        ],
    ),
    (
        "two-documents.yaml",
        ["11:1: error: a second YAML document starts here (---); a file holds one document"],
    ),
    (
        "undefined-alias.yaml",
        ["7:14: error: alias *fleet is used before any anchor &fleet defines it"],
    ),
    (
        "unknown-rule-key.yaml",
        ["10:5: error: unknown key 'strat' in rule 1 (did you mean 'start'?)"],
    ),
    (
        "unknown-top-key.yaml",
        # One typo, one message: 'rules' is not also reported missing.
        ["3:1: error: unknown key 'rule' in the file (did you mean 'rules'?)"],
    ),
    (
        "unsupported-tag.yaml",
        [
            "6:14: error: unsupported YAML tag '!Ref': only plain strings, numbers, booleans, lists and mappings are allowed"
        ],
    ),
    ("utf16.yaml", ["1:1: error: file is encoded as UTF-16; save it as UTF-8"]),
    ("version-string.yaml", ["2:10: error: version must be the number 1, not the string '1'"]),
    (
        "wrong-version.yaml",
        ["2:10: error: unsupported version 2: this reconciler reads rule files of version 1"],
    ),
    (
        "yaml11-boolean.yaml",
        [
            '10:11: error: stop must be a string, not a boolean; YAML 1.1 reads an unquoted yes as true: quote it: "yes"'
        ],
    ),
]


@pytest.mark.usefixtures("in_corpus")
@pytest.mark.parametrize(("name", "expected"), BAD, ids=[name for name, _ in BAD])
def test_bad_corpus(name: str, expected: list[str]) -> None:
    result = validate(f"bad/{name}")
    assert result.exit_code == 1
    want = [line if line.startswith("bad/") else f"bad/{name}:{line}" for line in expected]
    assert result.stdout.splitlines() == want
    files = 2 if name == "duplicate-names" else 1
    noun = "error" if len(want) == 1 else "errors"
    assert result.stderr == f"{len(want)} {noun} in {files} of {files} file{'s' * (files > 1)}\n"


def test_corpus_has_at_least_forty_distinct_defects() -> None:
    on_disk = sorted(os.listdir(CORPUS / "bad"))
    assert on_disk == sorted(name for name, _ in BAD)
    assert len({tuple(lines) for _, lines in BAD}) == len(BAD) >= 40


@pytest.mark.usefixtures("in_corpus")
def test_good_corpus_is_valid_and_silent() -> None:
    result = validate("good")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "15 rules in 5 files: valid\n"


@pytest.mark.usefixtures("in_corpus")
def test_warnings_do_not_fail_validation() -> None:
    result = validate("warn")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "warn/at-in-the-past.yaml:9:12: warning: start: at(2025-06-02T07:00:00) is in the past "
        "in UTC: it will never fire",
        "warn/dst-gap.yaml:10:12: warning: start: 02:30 does not exist on 2027-03-28 in "
        "Europe/Berlin (clocks go forward from 02:00 to 03:00), so that run is skipped",
        "warn/half-hour-gap.yaml:10:12: warning: start: 02:15 does not exist on 2027-10-03 in "
        "Australia/Lord_Howe (clocks go forward from 02:00 to 02:30), so that run is skipped",
        "warn/legacy-zone.yaml:4:15: warning: time zone 'EST' is a fixed UTC-05:00 with no "
        "daylight saving time; for New York use America/New_York",
        "warn/no-rules.yaml:3:8: warning: rules is empty: this file defines no rules",
    ]
    assert result.stderr == "4 rules in 5 files: valid (5 warnings)\n"


@pytest.mark.usefixtures("in_corpus")
def test_every_problem_is_reported_sorted_by_file_and_line() -> None:
    result = validate("bad", "good", "warn")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    places = [_place(line) for line in lines]
    assert places == sorted(places)
    # Each file's own defects are all there (plus: most bad files reuse the rule name 'web',
    # so together they also collide across files).
    for name, expected in BAD:
        if name == "duplicate-names":
            continue  # its names collide with all the others' too
        for line in expected:
            assert (line if line.startswith("bad/") else f"bad/{name}:{line}") in lines
    assert sum(": warning: " in line for line in lines) == 5
    errors = sum(": error: " in line for line in lines)
    files = len(list((CORPUS / "bad").rglob("*.yaml"))) + 5 + 5
    assert result.stderr == f"{errors} errors, 5 warnings in {len(BAD) + 1 + 5} of {files} files\n"


def _place(line: str) -> tuple[str, int, int]:
    file, line_no, col, _ = line.split(":", 3)
    return file, int(line_no), int(col)


# --------------------------------------------------------------------------------------------
# --format github


@pytest.mark.usefixtures("in_corpus")
def test_github_format_emits_workflow_commands() -> None:
    result = validate("--format", "github", "bad/account-number.yaml", "warn/dst-gap.yaml")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::error file=bad/account-number.yaml,line=5,col=16::account 123456789012 is read as a "
        'number, not a string; quote it: "123456789012"',
        "::warning file=warn/dst-gap.yaml,line=10,col=12::start: 02:30 does not exist on "
        "2027-03-28 in Europe/Berlin (clocks go forward from 02:00 to 03:00), so that run is "
        "skipped",
    ]
    assert result.stderr == "1 error, 1 warning in 2 of 2 files\n"


def test_github_format_escapes_what_the_user_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value with % and a line break must not end the annotation or inject another command;
    # a file name with ',' and ':' must not break the properties.
    monkeypatch.chdir(tmp_path)
    Path("team,a:b.yaml").write_text(
        'version: 1\nrules:\n  - name: "web%0A::error::x\\nnext"\n'
        '    accounts: ["123456789012"]\n    regions: [eu-west-1]\n'
        "    targets: {tag:Env: dev}\n    start: cron(0 8 ? * MON-FRI *)\n",
        encoding="utf-8",
    )
    result = validate("--format", "github", "team,a:b.yaml")
    assert result.exit_code == 1
    assert result.stdout == (
        "::error file=team%2Ca%3Ab.yaml,line=3,col=11::'web%250A::error::x%0Anext' is not a "
        "valid rule name: use 1-40 lower-case letters, digits and hyphens, starting and ending "
        "with a letter or digit\n"
    )


def test_text_format_keeps_a_value_with_line_breaks_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One diagnostic per line, whatever the user quoted: editors and grep read it line by line.
    monkeypatch.chdir(tmp_path)
    Path("a.yaml").write_text(
        'version: 1\nrules:\n  - name: "web\\r\\nnext"\n'
        '    accounts: ["123456789012"]\n    regions: [eu-west-1]\n'
        "    targets: {tag:Env: dev}\n    start: cron(0 8 ? * MON-FRI *)\n",
        encoding="utf-8",
    )
    result = validate("a.yaml")
    assert result.exit_code == 1
    assert result.stdout == (
        "a.yaml:3:11: error: 'web\\r\\nnext' is not a valid rule name: use 1-40 lower-case "
        "letters, digits and hyphens, starting and ending with a letter or digit\n"
    )


# --------------------------------------------------------------------------------------------
# Default paths: ./schedules and ./ouroboros.yaml


RULE = """\
version: 1
rules:
  - name: web
    accounts: ["123456789012"]
    regions: [eu-west-1]
    targets: {tag:Env: dev}
    start: cron(0 8 ? * MON-FRI *)
"""


# The example settings as shipped (a team's own ouroboros.yaml differs, and must not break these).
EXAMPLE_SETTINGS = """\
# yaml-language-server: $schema=schemas/settings.schema.json
#
# Where Ouroboros deploys. The IAM roles come from the one-time bootstrap template
# (infra/); `reconcile validate` checks this file too.
version: 1
region: eu-west-1                  # home region: schedules, executor and log table live here
schedule_group: ouroboros          # the group this tool owns; never "default"
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::111111111111:role/ouroboros-executor    # the Lambda's execution role
  memory_mb: 256                   # optional, 128-10240
  timeout_seconds: 300             # optional, 1-900
scheduler_role_arn: arn:aws:iam::111111111111:role/ouroboros-scheduler  # role Scheduler assumes to invoke it
target_role_name: ouroboros-target # role the executor assumes in every other account
log_table: ouroboros-runs
log_retention_days: 90             # optional: run-log entries expire after this many days
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with schedules/ and a valid ouroboros.yaml, as in a user's repo."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "web.yaml").write_text(RULE, encoding="utf-8")
    (tmp_path / "ouroboros.yaml").write_text(EXAMPLE_SETTINGS, encoding="utf-8")
    return tmp_path


@pytest.mark.usefixtures("project")
def test_no_paths_checks_the_rules_dir_and_the_settings_file() -> None:
    result = validate()
    assert result.exit_code == 0
    assert result.stderr == "1 rule in 1 file and ouroboros.yaml: valid\n"


def test_no_paths_reports_settings_problems_too(project: Path) -> None:
    settings = project / "ouroboros.yaml"
    settings.write_text(
        settings.read_text().replace("schedule_group: ouroboros ", "schedule_group: default ")
    )
    result = validate()
    assert result.exit_code == 1
    assert result.stdout.startswith("ouroboros.yaml:7:17: error: schedule_group must not be")
    assert result.stderr == "1 error in 1 of 2 files\n"


def test_explicit_paths_leave_the_settings_file_alone(project: Path) -> None:
    (project / "ouroboros.yaml").write_text("version: 2\n")
    result = validate("schedules/web.yaml")
    assert result.exit_code == 0
    assert result.stderr == "1 rule in 1 file: valid\n"


def test_rules_and_settings_options_move_the_defaults(project: Path) -> None:
    (project / "schedules").rename(project / "rules")
    (project / "ouroboros.yaml").rename(project / "prod.yaml")
    assert validate().exit_code == 1  # ./schedules is gone
    result = validate("--rules", "rules", "--settings", "prod.yaml")
    assert result.exit_code == 0
    assert result.stderr == "1 rule in 1 file and prod.yaml: valid\n"
    # The group option works too: `reconcile --rules DIR validate`.
    result = CliRunner().invoke(cli, ["--rules", "rules", "validate"])
    assert result.exit_code == 0


def test_no_settings_file_is_fine(project: Path) -> None:
    (project / "ouroboros.yaml").unlink()
    result = validate()
    assert result.exit_code == 0
    assert result.stderr == "1 rule in 1 file: valid\n"


def test_settings_path_that_is_a_directory(project: Path) -> None:
    (project / "ouroboros.yaml").unlink()
    (project / "ouroboros.yaml").mkdir()
    result = validate()
    assert result.exit_code == 1
    assert result.stdout == "ouroboros.yaml:1:1: error: is a directory, not a file\n"


def test_missing_rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = validate()
    assert result.exit_code == 1
    assert result.stdout == (
        "schedules:1:1: error: rules directory schedules not found: run reconcile from the "
        "repository root, point --rules at the directory, or name rule files as arguments\n"
    )
    assert result.stderr == "1 error in 1 of 1 file\n"
    other = validate("--rules", "rules")
    assert other.stdout.startswith("rules:1:1: error: rules directory rules not found: ")
    named = validate("schedules")  # a path the user named: plain and short
    assert named.stdout == "schedules:1:1: error: no such file or directory\n"


def test_empty_rules_dir_is_an_error(project: Path) -> None:
    (project / "schedules" / "web.yaml").unlink()
    (project / "schedules" / "README.md").write_text("rules go here\n")
    result = validate("schedules")
    assert result.exit_code == 1
    assert result.stdout == (
        "schedules:1:1: error: no rule files found in schedules (expected *.yaml or *.yml)\n"
    )


def test_absolute_paths_under_the_working_directory_print_relative(project: Path) -> None:
    (project / "schedules" / "web.yaml").write_text(RULE.replace("eu-west-1", "eu-west"))
    result = validate(str(project / "schedules"))
    assert result.stdout == (
        "schedules/web.yaml:5:15: error: 'eu-west' is not an AWS region name such as eu-west-1\n"
    )


# --------------------------------------------------------------------------------------------
# Hostile inputs: a clear message and exit 1, never a traceback


def test_a_file_where_a_directory_is_expected_is_read_as_a_file(project: Path) -> None:
    result = validate("--rules", "schedules/web.yaml")
    assert result.exit_code == 0
    assert result.stderr == "1 rule in 1 file and ouroboros.yaml: valid\n"


def test_permission_denied(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where chmod 000 still reads: make open() refuse instead.
    real_open = open

    def refusing_open(path: str, *args: object, **kwargs: object) -> object:
        if str(path).endswith("web.yaml"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(yamlload, "open", refusing_open, raising=False)
    result = validate("schedules")
    assert result.exit_code == 1
    assert result.stdout == (
        "schedules/web.yaml:1:1: error: cannot read the file: permission denied\n"
    )


def test_a_huge_file_is_refused_before_reading(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 100)
    result = validate("schedules")
    assert result.exit_code == 1
    assert result.stdout == (
        f"schedules/web.yaml:1:1: error: file is {len(RULE)} bytes; rule and settings files are limited "
        "to 100 bytes: split the rules into several files\n"
    )


def test_hundreds_of_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for i in range(300):
        folder = tmp_path / "schedules" / f"team-{i // 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"r{i:03d}.yaml").write_text(RULE.replace("name: web", f"name: web-{i}"))
    (tmp_path / "schedules" / "team-3" / "r170.yaml").write_text(RULE.replace("web", "web-1"))
    result = validate()
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "schedules/team-0/r001.yaml:3:11: error: rule name 'web-1' is used again at "
        "schedules/team-3/r170.yaml:3:11",
        "schedules/team-3/r170.yaml:3:11: error: duplicate rule name 'web-1': already used at "
        "schedules/team-0/r001.yaml:3:11; rule names must be unique across all rule files",
    ]
    assert result.stderr == "2 errors in 2 of 300 files\n"


def test_the_repository_examples_are_valid() -> None:
    """schedules/*.yaml and ouroboros.yaml, with today's clock: examples must stay valid."""
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    # A team's own rules may carry warnings and live in one file: only validity is required.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ouroboros.yaml: valid" in result.stderr


def test_validate_never_imports_boto3() -> None:
    """boto3 and botocore take longer to import than validation takes to run."""
    code = (
        "import sys\n"
        "from reconciler.cli import cli\n"
        "code = cli.main(['validate', 'tests/corpus/good'], standalone_mode=False)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))\n"
        "print(code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.stdout == "0 []\n", result.stderr


def test_a_settings_file_named_but_missing_is_an_error(project: Path) -> None:
    (project / "ouroboros.yaml").unlink()
    missing = (
        "error: settings file prod.yaml not found: fix the --settings path, or leave "
        "--settings out to check the rules alone\n"
    )
    for args in (
        ["validate", "--settings", "prod.yaml"],
        ["--settings", "prod.yaml", "validate"],
        ["validate", "schedules/web.yaml", "--settings", "prod.yaml"],
    ):
        result = CliRunner().invoke(cli, args)
        assert (result.exit_code, result.stdout, result.stderr) == (1, "", missing)
    assert validate().exit_code == 0  # the default ./ouroboros.yaml stays optional
