"""`reconcile plan` (= `reconcile --dry-run`): validate, read live state, print the plan.

Exit 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with
--detailed-exitcode), 1 (error). `--out FILE` saves the JSON plan for `reconcile apply FILE`,
whatever --format prints.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import UTC, datetime

from reconciler import output
from reconciler.aws import Clients, make_clients
from reconciler.aws_identity import deploy_account, verify_account
from reconciler.checks import escape_controls
from reconciler.desired import DesiredState, build_desired
from reconciler.errors import FatalError
from reconciler.live import read_live
from reconciler.loader import discover, load_rules
from reconciler.lock import unfinished_apply
from reconciler.model import Settings
from reconciler.package import ExecutorPackage, build_executor_zip
from reconciler.plan import Plan, PlanError, PlanMismatch, make_plan
from reconciler.planfile import from_document
from reconciler.preview import Reader, read_targets
from reconciler.regions import partition_of_arn
from reconciler.render import (
    MARKDOWN_LIMIT,
    conflict_lines,
    github_annotations,
    mass_delete_warning,
    render_json,
    render_markdown,
    render_markdown_week_grids,
    render_text,
)
from reconciler.resources import LiveState
from reconciler.review import TargetsMode, build_review, rule_states_of
from reconciler.settings import load_settings


def load_desired(rules_dir: str, settings_path: str) -> tuple[DesiredState, ExecutorPackage]:
    """Settings and rules -> the desired state; refuses (exit 1) when a rule has an error."""
    settings = load_settings(settings_path)
    if os.path.isdir(rules_dir) and not discover([rules_dir], allow_empty=True)[0]:
        # Never a plan: an empty directory (a bad checkout, a wrong --rules) would delete all.
        raise FatalError(
            f"no rule files found in {rules_dir} (expected *.yaml or *.yml): plan and apply "
            "never treat an empty rules directory as 'delete everything'; to remove everything "
            f"a settings file deployed, run `reconcile destroy --settings {settings_path}`"
        )
    partition = partition_of_arn(settings.executor_role_arn)
    loaded = load_rules(
        [rules_dir], partition=partition, allowed_accounts=settings.allowed_accounts
    )
    for diagnostic in loaded.diagnostics:
        output.err(diagnostic.text())
    if not loaded.ok:
        errors = sum(1 for d in loaded.diagnostics if d.severity == "error")
        raise FatalError(
            f"the rules have {errors} error{'s' if errors != 1 else ''} (listed above): fix them "
            "and run again; nothing was read from or changed in AWS"
        )
    package = build_executor_zip()
    desired = build_desired(
        loaded.rules, settings, code_sha256=package.code_sha256, now=datetime.now(UTC)
    )
    return desired, package


def connect(settings: Settings) -> Clients:
    env_region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if env_region and env_region != settings.region:
        output.err(
            f"note: using region {settings.region} from the settings file (the home region), "
            f"not {env_region} from the environment"
        )
    verify_account(settings)
    return make_clients(settings.region)


def with_review(
    plan: Plan,
    desired: DesiredState,
    live: LiveState,
    mode: TargetsMode,
    now: datetime,
    *,
    progress: bool = True,
) -> Plan:
    """The plan with its reviewer's view: next firings, conflicts and (unless mode is none)
    what each rule's filters match now, read with the reader role (DESIGN.md §10)."""
    states = rule_states_of(plan, desired.rules, desired.schedules, live.schedules)
    keys = states.reads(mode)
    found = {}
    if keys:
        s = desired.settings
        if progress and output.is_tty(sys.stderr):
            accounts = len({k[0] for k in keys})
            output.err(
                f"Previewing targets: {len(keys)} reads in {accounts} "
                f"account{'s' if accounts != 1 else ''}..."
            )
        reader = Reader(
            deploy_account(s),
            s.region,
            s.reader_role_name,
            partition_of_arn(s.executor_role_arn) or "aws",
        )
        found = read_targets(keys, reader)
    review = build_review(states, found, now=now, mode=mode)
    return dataclasses.replace(plan, review=review)


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return render_json(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=output.use_color())


def save_plan(plan: Plan, path: str) -> None:
    """Write the JSON plan atomically (a reader never sees half a file)."""
    partial = f"{path}.partial"
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            fh.write(render_json(plan))
        os.replace(partial, path)
    except OSError as exc:
        raise FatalError(f"cannot write the plan to {path}: {exc.strerror or exc}") from exc


def review_warnings(plan: Plan) -> list[str]:
    if plan.review is None:
        return []
    lines = [f"rule {r.name}: {w}" for r in plan.review.rules for w in r.warnings]
    return lines + [f"conflict: {line}" for line in conflict_lines(plan.review)]


def read_plan_file(path: str) -> Plan:
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except FileNotFoundError as exc:
        raise FatalError(
            f"{path}: no such plan file; make one with `reconcile plan --out {path}`"
        ) from exc
    except OSError as exc:
        raise FatalError(f"{path}: cannot read the plan: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise FatalError(
            f"{path}: not a saved plan (invalid JSON: {exc}); make one with "
            "`reconcile plan --out FILE`"
        ) from exc
    try:
        plan = from_document(document)
    except PlanMismatch as exc:
        raise FatalError(
            f"{path}: {exc}; refusing to apply it: make a new plan with `reconcile plan --out FILE`"
        ) from exc
    except PlanError as exc:
        raise FatalError(
            f"{path}: not a saved plan ({exc}); make one with `reconcile plan --out FILE`"
        ) from exc
    return plan


def run(
    *,
    rules_dir: str,
    settings_path: str,
    fmt: str = "text",
    out_file: str | None = None,
    detailed_exitcode: bool = False,
    targets: TargetsMode = "changed",
    annotations: bool = False,
) -> int:
    desired, _package = load_desired(rules_dir, settings_path)
    clients = connect(desired.settings)
    if output.is_tty(sys.stderr):
        output.err(f"Reading live state in {desired.settings.region}...")
    live = read_live(clients, desired.settings)
    plan = make_plan(desired, live)
    plan = with_review(plan, desired, live, targets, datetime.now(UTC))
    text = render(plan, fmt)
    if fmt == "markdown":  # the reviewer sees each changed rule's week (reconcile timeline)
        text += render_markdown_week_grids(
            plan, desired.schedules, datetime.now(UTC), budget=MARKDOWN_LIMIT - len(text)
        )
    output.out(text, nl=False)
    if fmt == "json":  # text and markdown show them in the plan itself
        for line in review_warnings(plan):
            output.err(f"warning: {line}")
    if annotations:
        for line in github_annotations(plan):
            output.err(line)
    unfinished = unfinished_apply(clients.dynamodb, desired.settings.log_table)
    if unfinished:
        output.err(f"warning: {unfinished}")
    if out_file:
        save_plan(plan, out_file)
        shown = escape_controls(out_file)
        output.err(f"Saved the plan to {shown}; apply it with `reconcile apply {shown}`.")
    warning = mass_delete_warning(plan)
    if warning and fmt == "json":  # text and markdown say it in the plan itself
        output.err(f"warning: {warning}")
    return 2 if detailed_exitcode and plan.has_changes else 0
