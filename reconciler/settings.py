"""ouroboros.yaml -> Settings (DESIGN.md §4), checked with the same layers as rule files.

`load_settings` is what the commands use: it returns Settings or raises SettingsError listing
every problem. `check_settings` is what `reconcile validate` uses: it returns the diagnostics.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.diagnostics import Diagnostic, Severity, has_errors, sort_diagnostics
from reconciler.errors import FatalError
from reconciler.loader import display_path
from reconciler.model import RESERVED_GROUP, Location, Settings
from reconciler.schema import SETTINGS_SCHEMA, compiled
from reconciler.yamlload import Document, Path, Pos, kind_of, load_file

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):role/")
# The account `reconcile init` writes into the role ARNs it cannot know: validate points it out.
PLACEHOLDER_ACCOUNT = "000000000000"
# Each role ARN key, and the output of the bootstrap stack (infra/bootstrap.yaml) that fills it.
_ROLE_ARN_OUTPUTS: dict[tuple[str, ...], str] = {
    ("executor", "role_arn"): "ExecutorRoleArn",
    ("scheduler_role_arn",): "SchedulerRoleArn",
}
# The schema's "integer" lets 256.0 through (JSON has one number type); Settings wants ints.
_WHOLE_NUMBERS = (
    ("executor", "memory_mb"),
    ("executor", "timeout_seconds"),
    ("log_retention_days",),
    ("max_delete_count",),
)


class SettingsError(FatalError):
    """The settings file is missing or invalid; the message lists every problem."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class SettingsCheck:
    settings: Settings | None  # None when there is any error
    diagnostics: tuple[Diagnostic, ...]  # sorted

    @property
    def ok(self) -> bool:
        return self.settings is not None


def load_settings(path: str) -> Settings:
    """Load and check the settings file; raises SettingsError (a FatalError) listing problems."""
    if not os.path.lexists(path):
        raise SettingsError(
            f"settings file {path} not found: create it (docs/reference/settings.md has an example "
            "to copy) or point --settings at it"
        )
    if os.path.isdir(path):
        raise SettingsError(f"settings file {path} is a directory; --settings expects a file")
    result = check_settings(path)
    if result.settings is None:
        errors = [d for d in result.diagnostics if d.severity == "error"]
        noun = "problem" if len(errors) == 1 else "problems"
        lines = "\n".join(d.text() for d in result.diagnostics)
        raise SettingsError(
            f"{display_path(path)} has {len(errors)} {noun}:\n{lines}", result.diagnostics
        )
    return result.settings


def check_settings(path: str) -> SettingsCheck:
    """Every problem in the settings file, and the Settings when there is none."""
    display = display_path(path)
    doc, issues = load_file(path)
    found: list[Diagnostic] = [_diag(display, i.pos, i.message) for i in issues]
    if doc is not None:
        found += _check_document(display, doc)
    found = sort_diagnostics(found)
    if doc is None or has_errors(found):
        return SettingsCheck(None, tuple(found))
    assert isinstance(doc.value, dict)
    return SettingsCheck(_build(display, doc, doc.value), tuple(found))


def _check_document(display: str, doc: Document) -> list[Diagnostic]:
    value = doc.value
    if value is None:
        return [
            _diag(
                display,
                Pos(1, 1),
                "file is empty: the settings file needs version, region, schedule_group, "
                "executor, scheduler_role_arn, target_role_name and log_table",
            )
        ]
    if not isinstance(value, dict):
        return [
            _diag(
                display,
                doc.pos(()),
                f"the settings file must be a mapping of settings, not {kind_of(value)}",
            )
        ]
    semantic = _semantic(value)
    found = [_diag(display, doc.pos(p), m, s) for p, m, s in semantic]
    reported = {p for p, _, s in semantic if s == "error"}
    for problem in compiled(SETTINGS_SCHEMA).problems(value, label=_label, sources=doc.sources):
        if problem.path in reported:
            continue
        pos = doc.key_pos(problem.path) if problem.at_key else doc.pos(problem.path)
        found.append(_diag(display, pos, problem.message))
    return found


def settings_problems(settings: Settings) -> list[str]:
    """The errors the settings file's checks find in `settings` (e.g. a saved plan's, which
    never was a file)."""
    value = as_document(settings)
    found = [m for _, m, severity in _semantic(value) if severity == "error"]
    schema = compiled(SETTINGS_SCHEMA)
    found += [_keyed(_label(p.path), p.message) for p in schema.problems(value, label=_label)]
    return found


def _keyed(key: str, message: str) -> str:
    """The message naming its key (a file's diagnostic has a line and column instead)."""
    return message if message.startswith(key) else f"{key}: {message}"


def as_document(settings: Settings) -> dict[str, object]:
    """The settings as ouroboros.yaml writes them (the inverse of _build)."""
    executor = {
        "function_name": settings.function_name,
        "role_arn": settings.executor_role_arn,
        "memory_mb": settings.executor_memory_mb,
        "timeout_seconds": settings.executor_timeout_s,
    }
    value: dict[str, object] = {
        "version": 1,
        "region": settings.region,
        "schedule_group": settings.schedule_group,
        "executor": executor,
        "scheduler_role_arn": settings.scheduler_role_arn,
        "target_role_name": settings.target_role_name,
        "log_table": settings.log_table,
        "log_retention_days": settings.log_retention_days,
        "max_delete_count": settings.max_delete_count,
        "max_delete_fraction": settings.max_delete_fraction,
        "reader_role_name": settings.reader_role_name,
    }
    if settings.allowed_accounts is not None:
        value["allowed_accounts"] = list(settings.allowed_accounts)
    if settings.organization_id is not None:
        value["organization_id"] = settings.organization_id
    if settings.dead_letter_queue_name is not None:
        value["dead_letter_queue"] = settings.dead_letter_queue_name
    return value


def _semantic(value: Mapping[str, object]) -> list[tuple[Path, str, Severity]]:
    """What the schema cannot say well: the reserved group, and roles in different accounts."""
    found: list[tuple[Path, str, Severity]] = []
    if value.get("schedule_group") == RESERVED_GROUP:
        found.append(
            (
                ("schedule_group",),
                "schedule_group must not be 'default': that group is shared with everything "
                "else in the account, and this tool deletes schedules it does not know in its "
                "group; name a group of its own, e.g. ouroboros",
                "error",
            )
        )
    executor = value.get("executor")
    for path in _WHOLE_NUMBERS:
        number = _get(value, path)
        if isinstance(number, float):
            found.append((path, f"{'.'.join(path)} must be a whole number, not {number}", "error"))
    found += _placeholders(value)
    executor_role = executor.get("role_arn") if isinstance(executor, dict) else None
    scheduler_role = value.get("scheduler_role_arn")
    accounts = [_arn_account(executor_role), _arn_account(scheduler_role)]
    if None not in accounts and accounts[0] != accounts[1] and PLACEHOLDER_ACCOUNT not in accounts:
        found.append(
            (
                ("scheduler_role_arn",),
                f"scheduler_role_arn is in account {accounts[1]} but executor.role_arn in "
                f"{accounts[0]}; both roles belong in the home account",
                "warning",
            )
        )
    return found


def _placeholders(value: Mapping[str, object]) -> list[tuple[Path, str, Severity]]:
    """A warning, not an error: a freshly scaffolded repository validates, and says what to fill."""
    return [
        (
            path,
            f"{'.'.join(path)} still holds the placeholder account {PLACEHOLDER_ACCOUNT} that "
            f"`reconcile init` wrote: put the bootstrap stack's output {output} here before "
            "`reconcile plan`",
            "warning",
        )
        for path, output in _ROLE_ARN_OUTPUTS.items()
        if _arn_account(_get(value, path)) == PLACEHOLDER_ACCOUNT
    ]


def _get(value: Mapping[str, object], path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]  # type: ignore[assignment]
    return value


def _arn_account(arn: object) -> str | None:
    """The account of a well-formed role ARN (a malformed one gets its own error)."""
    match = _ROLE_ARN.match(arn) if isinstance(arn, str) else None
    return match.group(1) if match else None


def _label(path: Path) -> str:
    if not path:
        return "the settings file"
    return ".".join(str(p) for p in path)


def _diag(display: str, pos: Pos, message: str, severity: Severity = "error") -> Diagnostic:
    return Diagnostic(display, pos.line, pos.col, severity, message)


def _build(display: str, doc: Document, value: Mapping[str, object]) -> Settings:
    """Settings from a mapping that passed every check (so the casts below hold)."""
    executor = value["executor"]
    assert isinstance(executor, dict)
    pos = doc.pos(())
    defaults = Settings("", "", "", "", "", "", "")
    return Settings(
        region=str(value["region"]),
        schedule_group=str(value["schedule_group"]),
        function_name=str(executor["function_name"]),
        executor_role_arn=str(executor["role_arn"]),
        scheduler_role_arn=str(value["scheduler_role_arn"]),
        target_role_name=str(value["target_role_name"]),
        log_table=str(value["log_table"]),
        executor_memory_mb=_int(executor.get("memory_mb", defaults.executor_memory_mb)),
        executor_timeout_s=_int(executor.get("timeout_seconds", defaults.executor_timeout_s)),
        log_retention_days=_int(value.get("log_retention_days", defaults.log_retention_days)),
        max_delete_count=_int(value.get("max_delete_count", defaults.max_delete_count)),
        max_delete_fraction=_fraction(
            value.get("max_delete_fraction", defaults.max_delete_fraction)
        ),
        allowed_accounts=_optional_strings(value.get("allowed_accounts")),
        organization_id=str(value["organization_id"]) if "organization_id" in value else None,
        dead_letter_queue_name=(
            str(value["dead_letter_queue"]) if "dead_letter_queue" in value else None
        ),
        reader_role_name=str(value.get("reader_role_name", defaults.reader_role_name)),
        location=Location(display, pos.line, pos.col),
    )


def _fraction(value: object) -> float:
    assert isinstance(value, int | float)  # the schema checked it
    return float(value)


def _optional_strings(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    assert isinstance(value, list)  # the schema checked it
    return tuple(str(v) for v in value)


def _int(value: object) -> int:
    assert isinstance(value, int)  # the schema checked it
    return value
