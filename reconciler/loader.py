"""Rule files -> validated rules, and every problem found on the way.

Validation runs in layers (after Cloud Custodian), each reporting everything it finds:

1. bytes: readable, sane size, UTF-8 (yamlload)
2. YAML: syntax, duplicate keys, tags, aliases within budget (yamlload)
3. structure: the file and each rule are mappings with the right keys, in plain English
4. the JSON Schema (schemas/rules.schema.json), most specific error first (schema)
5. semantics: filter names and values (checks, shared with the executor), expressions, time
   zones, start != stop and never in the same minute, an at() in a DST gap, DST-gap and
   past-at() warnings, and names unique across all files

A defect is reported once: the schema stays quiet where the structure layer already spoke, and
where a semantic check has a better-worded message for the same value.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from reconciler import autostart, checks, timeengine
from reconciler import regions as regions_data
from reconciler.calendarfiles import Calendars, load_calendars
from reconciler.diagnostics import Diagnostic, Severity, has_errors, sort_diagnostics
from reconciler.model import DEFAULT_MAX_INSTANCES, Location, Rule
from reconciler.schema import (
    RULES_SCHEMA,
    SchemaProblem,
    compiled,
    missing_keys_message,
    suggest_key,
    unknown_key_message,
)
from reconciler.yamlload import Document, Path, Pos, kind_of, load_file

RULE_FILE_SUFFIXES = (".yaml", ".yml")
TOP_KEYS = ("version", "rules")
RULE_KEYS = (
    "name",
    "description",
    "enabled",
    "timezone",
    "accounts",
    "regions",
    "targets",
    "start",
    "stop",
    "hibernate",
    "max_instances",
    "resource",
    "calendar",
)
REQUIRED_RULE_KEYS = ("name", "accounts", "regions", "targets")
FORMAT_VERSION = 1


def _clock() -> datetime:
    """Now (UTC); the CLI's tests replace it (the loader's own pass `now=`)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LoadResult:
    rules: tuple[Rule, ...]  # the rules that passed every check, in file order
    diagnostics: tuple[Diagnostic, ...]  # sorted; errors and warnings
    files: tuple[str, ...] = ()  # the rule files read, as displayed

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


def load_rules(
    paths: Sequence[str],
    *,
    allow_empty: bool = False,
    partition: str | None = None,
    allowed_accounts: Collection[str] | None = None,
    now: datetime | None = None,
    calendars_dir: str | None = None,
) -> LoadResult:
    """Load and check rule files. Each path is a file or a directory (searched recursively for
    *.yaml/*.yml, sorted). A missing path, or a directory without rule files (unless
    allow_empty), is an error diagnostic: an empty desired state must never happen by accident.
    `partition` is the settings' (aws, aws-cn, ...): a region of another one is an error.
    With `allowed_accounts` (the settings'), a rule naming any other account is an error.
    `now` (default: the clock) dates the past-year and DST-gap checks.
    `calendars_dir` (default: calendars/ beside the first rules directory) holds the
    calendars rules name with `calendar:`.
    """
    files, diagnostics = discover(paths, allow_empty=allow_empty)
    allowed = frozenset(allowed_accounts) if allowed_accounts is not None else None
    calendars = load_calendars(calendars_dir or default_calendars_dir(paths))
    diagnostics += calendars.diagnostics
    context = _Context(
        now=now or _clock(), partition=partition, allowed_accounts=allowed, calendars=calendars
    )
    checked = [_check_file(display, fs_path, context) for display, fs_path in files]
    for result in checked:
        diagnostics += result.diagnostics
    duplicate_diagnostics, duplicated = _duplicate_names(checked)
    diagnostics += duplicate_diagnostics
    rules = tuple(
        rule for result in checked for rule in result.rules if rule.name not in duplicated
    )
    return LoadResult(rules, tuple(sort_diagnostics(diagnostics)), tuple(d for d, _ in files))


def default_calendars_dir(paths: Sequence[str]) -> str:
    """calendars/ beside the rules: ./schedules -> ./calendars (a file: beside its folder)."""
    if not paths:
        return "calendars"
    first = os.path.abspath(paths[0])
    folder = first if os.path.isdir(first) else os.path.dirname(first)
    return os.path.join(os.path.dirname(folder), "calendars")


# --------------------------------------------------------------------------------------------
# Finding the files


def discover(
    paths: Sequence[str], *, allow_empty: bool
) -> tuple[list[tuple[str, str]], list[Diagnostic]]:
    """(display path, filesystem path) of each rule file, and problems with the paths."""
    files: list[tuple[str, str]] = []
    problems: list[Diagnostic] = []
    seen: set[str] = set()
    if not paths and not allow_empty:
        problems.append(Diagnostic(".", 1, 1, "error", "no rule files or directories given"))
    for given in paths:
        display = display_path(given)
        if os.path.isdir(given):
            problems += [_not_read(path, display) for path in _unread_files_in(given)]
            found = _rule_files_in(given)
            escaping = _links_out_of(given)
            problems += [_link_diag(link, target, display) for link, target in escaping]
            found = [f for f in found if f not in dict(escaping)]
            if not found and not allow_empty:
                problems.append(
                    _file_diag(
                        display,
                        f"no rule files found in {display} (expected *.yaml or *.yml)",
                    )
                )
        elif os.path.lexists(given):
            found = [given]
        else:
            problems.append(_file_diag(display, "no such file or directory"))
            continue
        for fs_path in found:
            real = os.path.realpath(fs_path)
            if real not in seen:
                seen.add(real)
                files.append((display_path(fs_path), fs_path))
    return files, problems


def _rule_files_in(directory: str) -> list[str]:
    """*.yaml and *.yml under `directory`, recursively, sorted; hidden files and folders skipped."""
    found: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            os.path.join(root, name)
            for name in names
            if name.endswith(RULE_FILE_SUFFIXES) and not name.startswith(".")
        ]
    return sorted(found)


def _links_out_of(directory: str) -> list[tuple[str, str]]:
    """(link, real target) of each symlinked rule file or folder under `directory` that leads
    outside it: a rules directory must not pull in files from elsewhere (a symlink added by a
    pull request could make the plan read anything the CI runner can). Links inside it are fine.
    """
    root = os.path.realpath(directory)
    escaping: list[tuple[str, str]] = []
    for folder, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        candidates = [*dirs, *(n for n in names if n.endswith(RULE_FILE_SUFFIXES))]
        for name in sorted(candidates):
            path = os.path.join(folder, name)
            if not name.startswith(".") and os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([root, target]) != root:
                    escaping.append((path, target))
    return escaping


def _link_diag(link: str, target: str, directory: str) -> Diagnostic:
    return _file_diag(
        display_path(link),
        f"symbolic link to {target}, outside the rules directory {directory}: refusing to "
        "read it; copy the rules into the directory instead",
    )


def display_path(path: str) -> str:
    """The path as given, tidied; an absolute path under the working directory made relative,
    so GitHub annotations attach to the repository's files."""
    norm = os.path.normpath(path)
    if os.path.isabs(norm):
        try:
            relative = os.path.relpath(norm)
        except ValueError:  # pragma: no cover - another drive on Windows
            return norm
        if not relative.startswith(".."):
            return relative
    return norm


def _file_diag(display: str, message: str) -> Diagnostic:
    return Diagnostic(display, 1, 1, "error", message)


def _unread_files_in(directory: str) -> list[str]:
    """The other files under `directory`, which are not read: each is named in a warning.
    Hidden files and folders, and READMEs, are left alone silently."""
    unread: list[str] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        unread += [
            os.path.join(root, name)
            for name in names
            if not name.endswith(RULE_FILE_SUFFIXES)
            and not name.startswith(".")
            and not name.upper().startswith("README")
        ]
    return sorted(unread)


def _not_read(path: str, directory: str) -> Diagnostic:
    # A rules.YAML or a rules.yml.bak is most likely a rule file the user expects to count.
    return Diagnostic(
        display_path(path),
        1,
        1,
        "warning",
        "not read: rule files end in .yaml or .yml (lower case); rename it if it holds "
        f"rules, or move it out of {directory}",
    )


# --------------------------------------------------------------------------------------------
# One file


@dataclass
class _Context:
    """What the checks of one load share: the clock, and caches (rules repeat expressions)."""

    now: datetime
    partition: str | None = None  # the settings' partition, when the settings are known
    allowed_accounts: frozenset[str] | None = None  # the settings' allowed_accounts
    expressions: dict[str, timeengine.Expression | str] = field(default_factory=dict)
    warnings: dict[tuple[str, str], str | None] = field(default_factory=dict)
    zones: dict[str, str | None] = field(default_factory=dict)
    calendars: Calendars = field(default_factory=lambda: Calendars("calendars"))

    def parse(self, text: str) -> timeengine.Expression | str:
        """The parsed expression, or the error message."""
        if text not in self.expressions:
            try:
                self.expressions[text] = timeengine.parse(text, now=self.now)
            except timeengine.ExpressionError as exc:
                self.expressions[text] = str(exc)
        return self.expressions[text]

    def zone_problem(self, tz: str) -> str | None:
        if tz not in self.zones:
            self.zones[tz] = timeengine.check_timezone(tz)
        return self.zones[tz]

    def gap_warning(self, expr: timeengine.Expression, tz: str) -> str | None:
        key = (expr.text, tz)
        if key not in self.warnings:
            self.warnings[key] = timeengine.dst_gap_warning(expr, tz, now=self.now)
        return self.warnings[key]


@dataclass(frozen=True)
class _Named:
    """A rule name as written, for the cross-file uniqueness check."""

    name: str
    file: str
    pos: Pos


@dataclass
class _FileResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    names: list[_Named] = field(default_factory=list)


class _Reporter:
    """Collects one file's problems; one message per place and path, first layer wins."""

    def __init__(self, display: str, doc: Document | None) -> None:
        self.display = display
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        self.paths: set[Path] = set()
        self._under: dict[Path, list[Path]] = {}  # each reported path, under every prefix
        self.yaml_places: set[Pos] = set()
        self.suppressed = 0  # errors left unsaid because a YAML problem there says it all
        self.reported = 0  # errors in diagnostics (counted as they come: files can be long)

    def at(self, pos: Pos, message: str, severity: Severity = "error") -> None:
        self.diagnostics.append(Diagnostic(self.display, pos.line, pos.col, severity, message))
        self.reported += severity == "error"

    def yaml_issue(self, pos: Pos, message: str) -> None:
        """A YAML-level problem: later layers stay quiet about the value written there."""
        self.yaml_places.add(pos)
        self.at(pos, message)

    def path(
        self,
        path: Path,
        message: str,
        *,
        severity: Severity = "error",
        at_key: bool = False,
        unique: bool = True,
    ) -> None:
        """Report at the value (or key) at `path`; by default only the first error there."""
        assert self.doc is not None
        if severity == "error":
            if unique and path in self.paths:
                return
            self.paths.add(path)
            for n in range(len(path) + 1):
                self._under.setdefault(path[:n], []).append(path)
        pos = self.doc.key_pos(path) if at_key else self.doc.pos(path)
        if pos in self.yaml_places:
            self.suppressed += severity == "error"
            return
        self.at(pos, message, severity)

    def related(self, path: Path, *, below: Path) -> bool:
        """Whether an error was already reported at `path`, inside it, or around it, looking
        only at places deeper than `below` (an error about the rule as a whole, such as a
        missing key, says nothing about the values it does have)."""
        # Only the paths under `below` can qualify: a file holds thousands of rules.
        return any(
            len(seen) > len(below) and (_prefix(path, seen) or _prefix(seen, path))
            for seen in self._under.get(below, ())
        )

    def errors(self) -> int:
        return self.suppressed + self.reported


def _prefix(short: Path, long: Path) -> bool:
    return long[: len(short)] == short


def _check_file(display: str, fs_path: str, context: _Context) -> _FileResult:
    result = _FileResult()
    doc, issues = load_file(fs_path)
    report = _Reporter(display, doc)
    for issue in issues:
        report.yaml_issue(issue.pos, issue.message)
    if doc is not None:
        rules = _check_top(doc, report)
        schema_problems = _schema_problems(doc)
        file_errors = report.errors()  # YAML and file-level structure
        for index, value in rules:
            rule = _check_rule(display, doc, index, value, report, schema_problems, context)
            if isinstance(value, Mapping) and isinstance(value.get("name"), str):
                pos = doc.pos(("rules", index, "name"))
                result.names.append(_Named(value["name"], display, pos))
            # A YAML problem (a duplicate key, say) may hide part of a rule, and a wrong
            # version means we cannot read the file at all: keep none of its rules.
            if rule is not None and not file_errors:
                result.rules.append(rule)
    result.diagnostics = report.diagnostics
    return result


def _check_top(doc: Document, report: _Reporter) -> list[tuple[int, object]]:
    """Layer 3 for the file: a mapping with version: 1 and a list of rules."""
    value = doc.value
    if value is None:
        report.at(
            Pos(1, 1),
            "file is empty: a rule file needs 'version: 1' and a 'rules:' list",
        )
        return []
    if not isinstance(value, dict):
        hint = (
            ": put the list under 'rules:' and add 'version: 1' above it"
            if isinstance(value, list)
            else ""
        )
        report.path(
            (),
            f"a rule file must be a mapping with 'version: 1' and 'rules:', not "
            f"{kind_of(value)}{hint}",
        )
        return []
    misspelt = _unknown_keys(value, TOP_KEYS, (), "the file", report)
    missing = [k for k in TOP_KEYS if k not in value and k not in misspelt]
    if missing:
        report.path((), missing_keys_message("the file", missing))
    if "version" in value:
        _check_version(doc, value["version"], report)
    rules = value.get("rules", [])
    if not isinstance(rules, list):
        source = doc.sources.get(("rules",))
        report.path(("rules",), f"rules must be a list of rules, not {kind_of(rules, source)}")
        return []
    if not rules and "rules" in value:
        report.path(("rules",), "rules is empty: this file defines no rules", severity="warning")
    return list(enumerate(rules))


def _check_version(doc: Document, version: object, report: _Reporter) -> None:
    if version == FORMAT_VERSION and type(version) is int:
        return
    if isinstance(version, str) and version.strip() == str(FORMAT_VERSION):
        message = f"version must be the number {FORMAT_VERSION}, not the string '{version}'"
    else:
        shown = doc.sources.get(("version",), repr(version))
        message = (
            f"unsupported version {shown}: this reconciler reads rule files of version "
            f"{FORMAT_VERSION}"
        )
    report.path(("version",), message)


def _schema_problems(doc: Document) -> dict[int, list[SchemaProblem]]:
    """Layer 4, run once over the file; problems by rule index (structure's own are dropped)."""
    by_rule: dict[int, list[SchemaProblem]] = {}
    for problem in compiled(RULES_SCHEMA).problems(doc.value, label=_label, sources=doc.sources):
        origin = problem.origin
        # The file, `version`, `rules` and each rule's own keys belong to the structure layer.
        if len(origin) <= 2 or not isinstance(origin[1], int):
            continue
        by_rule.setdefault(origin[1], []).append(problem)
    return by_rule


def _label(path: Path) -> str:
    """How a message names the value at `path`: 'rule 2', 'accounts[0]', 'targets.tag:Env'."""
    if len(path) == 2 and path[0] == "rules" and isinstance(path[1], int):
        return f"rule {path[1] + 1}"
    if not path:
        return "the file"
    inner = path[2:] if path[0] == "rules" and len(path) > 2 else path
    text = ""
    for part in inner:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# --------------------------------------------------------------------------------------------
# One rule


def _check_rule(
    display: str,
    doc: Document,
    index: int,
    value: object,
    report: _Reporter,
    schema_problems: Mapping[int, list[SchemaProblem]],
    context: _Context,
) -> Rule | None:
    base: Path = ("rules", index)
    before = report.errors()
    if not isinstance(value, dict):
        report.path(
            base,
            f"rule {index + 1} must be a mapping with name, accounts, regions, targets and "
            f"start/stop, not {kind_of(value, doc.sources.get(base))}",
        )
        return None
    _check_rule_keys(index, value, report)
    for problem in _semantic_problems(doc, base, value, context):
        report.path(problem.path, problem.message, severity=problem.severity)
    for sp in schema_problems.get(index, []):
        if not report.related(sp.path, below=base):
            report.path(sp.path, sp.message, at_key=sp.at_key)
    if report.errors() > before:
        return None
    rule = _build_rule(display, doc, base, value)
    calendar = context.calendars.by_name.get(rule.calendar or "")
    if calendar is not None:
        rule = replace(rule, calendar_spec=calendar.in_zone(rule.timezone))
    return rule


def _check_rule_keys(index: int, rule: Mapping[str, object], report: _Reporter) -> None:
    """Layer 3 for a rule: unknown keys (did you mean?), required keys, start or stop."""
    base: Path = ("rules", index)
    what = f"rule {index + 1}"
    misspelt = _unknown_keys(rule, RULE_KEYS, base, what, report)
    missing = [k for k in REQUIRED_RULE_KEYS if k not in rule and k not in misspelt]
    if not {"start", "stop"} & (set(rule) | misspelt):
        missing.append("start or stop")
    if missing:
        report.path(base, missing_keys_message(what, missing))


def _unknown_keys(
    value: Mapping[str, object], allowed: Sequence[str], base: Path, what: str, report: _Reporter
) -> set[str]:
    """Report each unknown key; return the keys they look like misspellings of, so a typo
    ('strat') is one problem, not also a missing key ('start or stop')."""
    meant: set[str] = set()
    for key in value:
        if key not in allowed:
            report.path((*base, key), unknown_key_message(key, what, allowed), at_key=True)
            close = suggest_key(key, allowed)
            if close is not None:
                meant.add(close)
    return meant


@dataclass(frozen=True)
class _Problem:
    path: Path
    message: str
    severity: Severity = "error"


def _semantic_problems(
    doc: Document, base: Path, rule: Mapping[str, object], context: _Context
) -> list[_Problem]:
    """Layer 5 for a rule."""
    found: list[_Problem] = []
    found += _account_number_hints(doc, base, rule.get("accounts"))
    shared: list[tuple[str, Callable[[object], list[checks.Problem]]]] = [
        ("name", checks.check_rule_name),
        ("accounts", checks.check_accounts),
        ("regions", checks.check_regions),
        ("targets", functools.partial(checks.check_targets, resource=_resource(rule))),
        ("max_instances", checks.check_max_instances),
        ("resource", checks.check_resource),
    ]
    resource_problems = checks.check_resource(rule.get("resource", checks.DEFAULT_RESOURCE))
    for key, check in shared:
        # An unknown resource has no filter names to check the targets against.
        if key in rule and not (key == "targets" and resource_problems):
            found += [_Problem((*base, *p.path), p.message) for p in check(rule[key])]
    hibernate = checks.check_hibernate(rule.get("resource"), rule.get("hibernate"))
    found += [_Problem((*base, *p.path), p.message) for p in hibernate]
    found += _zone_problems(base, rule)
    found += _description_problems(base, rule)
    found += _region_problems(base, rule, context)
    found += _timing_problems(base, rule, context)
    found += _event_bounds(base, rule)
    found += _disallowed_accounts(base, rule.get("accounts"), context.allowed_accounts)
    found += _calendar_problems(base, rule, context.calendars)
    return found


def _resource(rule: Mapping[str, object]) -> str:
    """The rule's kind of resource, for its filters (an invalid one is reported on its own)."""
    return checks.event_resource(rule)


def _calendar_problems(
    base: Path, rule: Mapping[str, object], calendars: Calendars
) -> list[_Problem]:
    name = rule.get("calendar")
    if not isinstance(name, str):
        return []  # the schema reports a calendar that is not a name
    problem = calendars.problem(name)
    return [] if problem is None else [_Problem((*base, "calendar"), problem)]


def _zone_problems(base: Path, rule: Mapping[str, object]) -> list[_Problem]:
    """availability-zone values against the rule's regions (after the targets' own checks)."""
    targets = rule.get("targets")
    if checks.check_targets(targets, resource=_resource(rule)):
        return []
    zones = checks.check_zones(targets, rule.get("regions"))
    return [_Problem((*base, *p.path), p.message) for p in zones]


def _description_problems(base: Path, rule: Mapping[str, object]) -> list[_Problem]:
    """The description is shown in plans and sent to AWS: no terminal control characters in
    it (line breaks and tabs, which a YAML block scalar gives, are fine)."""
    text = rule.get("description")
    if not isinstance(text, str):
        return []
    plain = text.replace("\n", "").replace("\t", "")
    if checks.escape_controls(plain) == plain:
        return []
    return [
        _Problem(
            (*base, "description"),
            f"description '{text}' has control characters: plans and the AWS console show "
            "this text; remove them",
        )
    ]


def _region_problems(base: Path, rule: Mapping[str, object], context: _Context) -> list[_Problem]:
    """Well-formed region names against botocore's list and the settings' partition."""
    regions = rule.get("regions")
    if not isinstance(regions, list) or checks.check_regions(regions):
        return []
    found = []
    for i, region in enumerate(regions):
        problem = regions_data.region_problem(region, context.partition)
        if problem is not None:
            severity, message = problem
            found.append(_Problem((*base, "regions", i), message, severity))
    return found


def _event_bounds(base: Path, rule: Mapping[str, object]) -> list[_Problem]:
    """The executor's bounds on one event (pairs, bytes), checked on the rule's share of it."""
    share = {k: rule[k] for k in ("name", "accounts", "regions", "targets") if k in rule}
    return [
        _Problem((*base, *p.path), p.message)
        for p in checks.check_bounds(share, checks.EVENT_ALLOWANCE_BYTES)
    ]


def _disallowed_accounts(
    base: Path, accounts: object, allowed: frozenset[str] | None
) -> list[_Problem]:
    if allowed is None or not isinstance(accounts, list):
        return []
    return [
        _Problem(
            (*base, "accounts", i),
            f"account {account} is not in allowed_accounts of the settings: add it there, or "
            "name only allowed accounts (the executor refuses any other)",
        )
        for i, account in enumerate(accounts)
        if isinstance(account, str) and account not in allowed
    ]


def _account_number_hints(doc: Document, base: Path, accounts: object) -> Iterable[_Problem]:
    """An unquoted account id is a YAML int: say what to write, from the text as typed."""
    if not isinstance(accounts, list):
        return []
    hints = []
    for i, account in enumerate(accounts):
        path = (*base, "accounts", i)
        source = doc.sources.get(path)
        if isinstance(account, int) and not isinstance(account, bool) and source is not None:
            octal = " (YAML 1.1 reads digits after a leading 0 as octal)" * source.startswith("0")
            hints.append(
                _Problem(
                    path,
                    f'account {source} is read as a number, not a string; quote it: "{source}"'
                    f"{octal}",
                )
            )
    return hints


def _timing_problems(base: Path, rule: Mapping[str, object], context: _Context) -> list[_Problem]:
    """Expressions, the time zone, start != stop, and the DST-gap and past-at() warnings."""
    found: list[_Problem] = []
    tz = rule.get("timezone", "UTC")
    tz_ok = isinstance(tz, str) and tz.strip() == tz
    if isinstance(tz, str):
        problem = context.zone_problem(tz)
        if problem is not None:
            found.append(_Problem((*base, "timezone"), problem))
            tz_ok = False
        else:
            doubt = timeengine.timezone_warning(tz)
            if doubt is not None:
                found.append(_Problem((*base, "timezone"), doubt, "warning"))
    parsed: dict[str, timeengine.Expression] = {}
    for action in ("start", "stop"):
        text = rule.get(action)
        if not isinstance(text, str):
            continue  # absent, or the schema reports its type
        result = context.parse(text.strip())
        path = (*base, action)
        if isinstance(result, str):
            found.append(_Problem(path, f"{action}: {result}"))
            continue
        parsed[action] = result
        if tz_ok:
            assert isinstance(tz, str)
            found += _firing_problems(path, action, result, tz, context)
    if len(parsed) == 2:
        found += _start_stop_problems(base, parsed["start"], parsed["stop"], tz, tz_ok, context)
    if tz_ok and "stop" in parsed and rule.get("resource") in autostart.RESTARTED_KINDS:
        assert isinstance(tz, str)
        found += _seven_day_problems(base, str(rule["resource"]), parsed, tz, context)
    return found


def _seven_day_problems(
    base: Path,
    resource: str,
    parsed: Mapping[str, timeengine.Expression],
    tz: str,
    context: _Context,
) -> list[_Problem]:
    """A warning when, after one of the next stops, nothing fires for more than 7 days: AWS
    starts the database again on day 7, and it runs (and costs) until the rule's next firing."""
    long_stop = autostart.first_long_stop(parsed, tz, context.now)
    if long_stop is None:
        return []
    return [_Problem((*base, "stop"), f"stop: {long_stop.message(resource, tz)}", "warning")]


def _start_stop_problems(
    base: Path,
    start: timeengine.Expression,
    stop: timeengine.Expression,
    tz: object,
    tz_ok: bool,
    context: _Context,
) -> list[_Problem]:
    """start and stop must never fire together: not the same times, nor one shared minute."""
    if timeengine.equivalent(start, stop):
        same = (
            "is the same expression as start"
            if start.canonical == stop.canonical
            else f"fires at exactly the same times as start ({start.canonical})"
        )
        return [
            _Problem(
                (*base, "stop"),
                f"stop {same}: the instances would be started and stopped at the same moment",
            )
        ]
    if not tz_ok:
        return []
    assert isinstance(tz, str)
    shared = timeengine.first_shared_minute(start, stop, tz, now=context.now)
    if shared is None:
        return []
    return [
        _Problem(
            (*base, "stop"),
            f"stop fires together with start on {shared:%Y-%m-%d} at {shared:%H:%M} ({tz}): "
            "the instances would be started and stopped at the same moment; change one of "
            "the times",
        )
    ]


def _firing_problems(
    path: Path, action: str, expr: timeengine.Expression, tz: str, context: _Context
) -> list[_Problem]:
    """A cron time in a DST gap is a warning (the other days still fire); an at() in one
    never fires at all: an error, like a cron that never fires. An at() in the past stays a
    warning: a one-off that has fired must not fail every later plan of the repository."""
    if expr.kind == "at" and timeengine.at_has_passed(expr, tz, context.now):
        return [
            _Problem(
                path,
                f"{action}: {expr.text} is in the past in {tz}: it will never fire",
                "warning",
            )
        ]
    warning = context.gap_warning(expr, tz)
    if warning is not None:
        severity: Severity = "error" if expr.kind == "at" else "warning"
        return [_Problem(path, f"{action}: {warning}", severity)]
    return []


def _build_rule(display: str, doc: Document, base: Path, rule: Mapping[str, object]) -> Rule:
    """A Rule from a mapping that passed every check (so the casts below hold)."""
    targets = rule["targets"]
    assert isinstance(targets, dict)
    start, stop = rule.get("start"), rule.get("stop")
    pos = doc.pos(base)
    max_instances = rule.get("max_instances", DEFAULT_MAX_INSTANCES)
    assert isinstance(max_instances, int)
    return Rule(
        name=str(rule["name"]),
        accounts=tuple(_strings(rule["accounts"])),
        regions=tuple(_strings(rule["regions"])),
        targets=tuple(
            (str(name), (values,) if isinstance(values, str) else tuple(_strings(values)))
            for name, values in targets.items()
        ),
        start=start.strip() if isinstance(start, str) else None,
        stop=stop.strip() if isinstance(stop, str) else None,
        description=str(rule["description"]) if "description" in rule else None,
        enabled=bool(rule.get("enabled", True)),
        timezone=str(rule.get("timezone", "UTC")),
        hibernate=bool(rule.get("hibernate", False)),
        max_instances=max_instances,
        calendar=str(rule["calendar"]) if "calendar" in rule else None,
        location=Location(display, pos.line, pos.col),
        resource=_resource(rule),
    )


def _strings(values: object) -> list[str]:
    assert isinstance(values, list)
    return [str(v) for v in values]


# --------------------------------------------------------------------------------------------
# Across files


def _duplicate_names(results: Sequence[_FileResult]) -> tuple[list[Diagnostic], set[str]]:
    """Every rule name must be unique across all files: report each place, naming the other."""
    by_name: dict[str, list[_Named]] = {}
    for result in results:
        for named in result.names:
            by_name.setdefault(named.name, []).append(named)
    found: list[Diagnostic] = []
    duplicated: set[str] = set()
    for name, places in by_name.items():
        if len(places) < 2:
            continue
        duplicated.add(name)
        first = places[0]
        for named in places[1:]:
            found.append(
                _diag(
                    named,
                    f"duplicate rule name '{name}': already used at {_where(first)}; rule "
                    "names must be unique across all rule files",
                )
            )
        others = ", ".join(_where(n) for n in places[1:4])
        if len(places) > 4:
            others += f" and {len(places) - 4} more places"
        found.append(_diag(first, f"rule name '{name}' is used again at {others}"))
    return found, duplicated


def _diag(named: _Named, message: str) -> Diagnostic:
    return Diagnostic(named.file, named.pos.line, named.pos.col, "error", message)


def _where(named: _Named) -> str:
    return f"{named.file}:{named.pos.line}:{named.pos.col}"
