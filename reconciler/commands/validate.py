"""`reconcile validate [PATH...]`: check rule files (and the settings file) and print every problem.

Diagnostics go to stdout, one per line (`FILE:LINE:COL: error: message`, or GitHub workflow
commands with --format github); the one-line summary goes to stderr. Exit 0 valid (warnings
allowed), 1 invalid. Nothing here imports boto3: validation must stay fast and offline.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

from reconciler import output
from reconciler.diagnostics import Diagnostic, has_errors, one_line, sort_diagnostics
from reconciler.loader import display_path, load_rules
from reconciler.regions import partition_of_arn
from reconciler.settings import check_settings


def run(
    paths: Sequence[str],
    *,
    fmt: str = "text",
    rules_dir: str = "schedules",
    settings_path: str = "ouroboros.yaml",
) -> int:
    """With no PATHs: the rules directory, plus the settings file when there is one."""
    settings_diagnostics: tuple[Diagnostic, ...] = ()
    settings_checked = None
    partition = None
    allowed = None
    # Settings are optional for validation, but a directory where the file belongs is an error.
    if not paths and os.path.exists(settings_path):
        settings = check_settings(settings_path)
        settings_diagnostics = settings.diagnostics
        settings_checked = display_path(settings_path)
        # Rules are checked against the settings' partition (a cn-north-1 rule with arn:aws:)
        # and their allowed_accounts.
        if settings.settings is not None:
            partition = partition_of_arn(settings.settings.executor_role_arn)
            allowed = settings.settings.allowed_accounts
    result = load_rules(list(paths) or [rules_dir], partition=partition, allowed_accounts=allowed)
    diagnostics = [
        _explain_missing_rules_dir(d, rules_dir) if not paths else d for d in result.diagnostics
    ]
    diagnostics += settings_diagnostics
    diagnostics = sort_diagnostics(diagnostics)
    for diagnostic in diagnostics:
        output.out(_render(diagnostic, fmt))
    output.err(summary(diagnostics, result.files, len(result.rules), settings_checked))
    return 1 if has_errors(diagnostics) else 0


def _explain_missing_rules_dir(diagnostic: Diagnostic, rules_dir: str) -> Diagnostic:
    """With no PATHs, a missing rules directory most likely means the wrong working directory."""
    if diagnostic.file != display_path(rules_dir) or os.path.lexists(rules_dir):
        return diagnostic
    return dataclasses.replace(
        diagnostic,
        message=(
            f"rules directory {diagnostic.file} not found: run reconcile from the repository "
            "root, point --rules at the directory, or name rule files as arguments"
        ),
    )


def _render(diagnostic: Diagnostic, fmt: str) -> str:
    if fmt == "github":
        return diagnostic.github()
    if not output.use_color():
        return diagnostic.text()
    colour = "red" if diagnostic.severity == "error" else "yellow"
    where = f"{one_line(diagnostic.file)}:{diagnostic.line}:{diagnostic.col}:"
    severity = output.style(f"{diagnostic.severity}:", fg=colour, bold=True)
    return f"{output.style(where, bold=True)} {severity} {one_line(diagnostic.message)}"


def summary(
    diagnostics: Sequence[Diagnostic],
    files: Sequence[str],
    rules: int,
    settings: str | None = None,
) -> str:
    """'3 errors, 1 warning in 2 of 5 files' or '12 rules in 4 files and ouroboros.yaml: valid'."""
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if errors:
        counts = _plural(errors, "error")
        if warnings:
            counts += f", {_plural(warnings, 'warning')}"
        with_problems = {d.file for d in diagnostics}
        # A path that does not exist counts as one of the files, so "2 of 1" cannot happen.
        total = len(set(files) | with_problems | ({settings} if settings else set()))
        return f"{counts} in {len(with_problems)} of {_plural(total, 'file')}"
    checked = _plural(len(files), "file") + (f" and {settings}" if settings else "")
    text = f"{_plural(rules, 'rule')} in {checked}: valid"
    if warnings:
        text += f" ({_plural(warnings, 'warning')})"
    return text


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
