"""The `reconcile` command: parses arguments and dispatches; the work is in reconciler.commands."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from reconciler import __version__, output
from reconciler.cli_errors import run_guarded
from reconciler.errors import FatalError
from reconciler.runlog import RUN_STATUSES

if TYPE_CHECKING:
    from reconciler.review import TargetsMode

DEFAULT_RULES_DIR = "schedules"
DEFAULT_SETTINGS = "ouroboros.yaml"


@dataclass
class Paths:
    rules: str = DEFAULT_RULES_DIR
    settings: str = DEFAULT_SETTINGS


class _Cli(click.Group):
    """A group whose every outcome (including usage errors) goes through run_guarded."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def body() -> object:
            output.reset()
            return super(_Cli, self).main(
                args, prog_name, complete_var, standalone_mode=False, **extra
            )

        code = run_guarded(body)
        if standalone_mode:
            sys.exit(code)
        return code


def _paths(ctx: click.Context, rules: str | None, settings: str | None) -> Paths:
    base: Paths = ctx.find_object(Paths) or Paths()
    return Paths(rules=rules or base.rules, settings=settings or base.settings)


def _deprecated(message: str) -> None:
    output.err(f"warning: {message}")


def _rules_dir(paths: Paths) -> str:
    """plan and apply read a directory: a file there would make every other rule a delete."""
    if os.path.exists(paths.rules) and not os.path.isdir(paths.rules):
        raise FatalError(
            f"--rules {paths.rules} is a file, not a directory: point --rules at the directory "
            "of rule files (`reconcile validate FILE` checks a single file)"
        )
    return paths.rules


def _targets_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--targets",
        type=click.Choice(["changed", "all", "none"]),
        default="changed",
        show_default=True,
        help="Which rules' targets the plan previews (read-only Describe calls, through the reader "
        "role in other accounts): those "
        "with a created or updated schedule, every rule, or none.",
    )(fn)


def _targets_mode(value: str) -> TargetsMode:
    return "all" if value == "all" else "none" if value == "none" else "changed"


def _settings_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--settings",
        "settings",
        metavar="FILE",
        default=None,
        help=f"Deployment settings file [default: ./{DEFAULT_SETTINGS}].",
    )(fn)


def _path_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = _settings_option(fn)
    fn = click.option(
        "--rules",
        "rules",
        metavar="DIR",
        default=None,
        help=f"Directory of rule files [default: ./{DEFAULT_RULES_DIR}].",
    )(fn)
    return fn


# Options of the group that also mean something to its subcommands (they are passed down).
_SHARED_OPTIONS = frozenset({"rules", "settings"})


def _refuse_group_only_options(ctx: click.Context, subcommand: str) -> None:
    """`reconcile --dry-run apply --yes` must not apply: any group-only option given before a
    subcommand (whatever its name, so options added later are covered) is a usage error."""
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name in _SHARED_OPTIONS:
            continue
        source = ctx.get_parameter_source(param.name or "")
        if source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
            raise FatalError(
                f"{_long_name(param)} before `{subcommand}` is not allowed: put options after "
                f"the subcommand (`reconcile {subcommand} --help` lists them), or use "
                "`reconcile plan` for a dry run; nothing was done"
            )


def _long_name(option: click.Option) -> str:
    return max(option.opts, key=len)


@click.group(
    cls=_Cli, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="reconcile")
@click.option(
    "--dry-run", is_flag=True, help="Show the plan and change nothing (same as `reconcile plan`)."
)
@click.option(
    "--yes", "-y", is_flag=True, help="Apply without asking (same as `reconcile apply --yes`)."
)
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Allow a plan that deletes more managed schedules than the settings' thresholds.",
)
@click.option(
    "--allow-delete-all", is_flag=True, help="Deprecated: the old name of --allow-mass-delete."
)
@_path_options
@click.pass_context
def cli(
    ctx: click.Context,
    dry_run: bool,
    yes: bool,
    allow_mass_delete: bool,
    allow_delete_all: bool,
    rules: str | None,
    settings: str | None,
) -> None:
    """Ouroboros: EC2 start/stop schedules as code, reconciled to EventBridge Scheduler.

    With no command, `reconcile` applies (asking first on a terminal) and
    `reconcile --dry-run` shows the plan.
    """
    ctx.obj = Paths(rules=rules or DEFAULT_RULES_DIR, settings=settings or DEFAULT_SETTINGS)
    if ctx.invoked_subcommand is not None:
        _refuse_group_only_options(ctx, ctx.invoked_subcommand)
        return
    if dry_run:
        ctx.invoke(plan, allow_delete_all=allow_delete_all)
    else:
        ctx.invoke(
            apply, yes=yes, allow_mass_delete=allow_mass_delete, allow_delete_all=allow_delete_all
        )


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: workflow commands that annotate the pull request's files.",
)
@_path_options
@click.pass_context
def validate(
    ctx: click.Context, paths: tuple[str, ...], fmt: str, rules: str | None, settings: str | None
) -> None:
    """Check rule files (default: every *.yaml / *.yml under the rules directory, and the
    settings file when there is one).

    Prints every problem as FILE:LINE:COL: error: message. Exit 0 valid, 1 invalid.
    """
    from reconciler.commands import validate as command

    p = _paths(ctx, rules, settings)
    named = settings is not None or ctx.find_root().params.get("settings") is not None
    if named and not os.path.lexists(p.settings):
        # Only ./ouroboros.yaml is optional here: a file the user named must be there.
        raise FatalError(
            f"settings file {p.settings} not found: fix the --settings path, or leave "
            "--settings out to check the rules alone"
        )
    ctx.exit(command.run(list(paths), fmt=fmt, rules_dir=p.rules, settings_path=p.settings))


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option(
    "--out", "out_file", metavar="FILE", help="Save the plan (JSON) for `reconcile apply FILE`."
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.",
)
@click.option(
    "--allow-delete-all",
    is_flag=True,
    hidden=True,
    help="Deprecated and ignored: an empty rules directory is always an error.",
)
@_targets_option
@click.option(
    "--annotations",
    is_flag=True,
    help="Also print conflicts and rule warnings as GitHub workflow annotations (on stderr).",
)
@_path_options
@click.pass_context
def plan(
    ctx: click.Context,
    fmt: str = "text",
    out_file: str | None = None,
    detailed_exitcode: bool = False,
    targets: str = "changed",
    annotations: bool = False,
    allow_delete_all: bool = False,
    rules: str | None = None,
    settings: str | None = None,
) -> None:
    """Show what apply would change (reads AWS, writes nothing)."""
    from reconciler.commands import plan as command

    if allow_delete_all:
        _deprecated(
            "--allow-delete-all is deprecated and does nothing for plan: an empty rules "
            "directory is always an error, and a plan shows a mass delete whatever the flags"
        )
    p = _paths(ctx, rules, settings)
    ctx.exit(
        command.run(
            rules_dir=_rules_dir(p),
            settings_path=p.settings,
            fmt=fmt,
            out_file=out_file,
            detailed_exitcode=detailed_exitcode,
            targets=_targets_mode(targets),
            annotations=annotations,
        )
    )


@cli.command()
@click.argument("planfile", required=False, type=click.Path())
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Allow a plan that deletes more managed schedules than the settings' thresholds "
    "(max_delete_count, max_delete_fraction), or all of them.",
)
@click.option(
    "--allow-delete-all", is_flag=True, help="Deprecated: the old name of --allow-mass-delete."
)
@click.option(
    "--lock-timeout",
    default="5m",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for another apply's lock (e.g. 0, 30s, 5m).",
)
@_targets_option
@_path_options
@click.pass_context
def apply(
    ctx: click.Context,
    planfile: str | None = None,
    yes: bool = False,
    allow_mass_delete: bool = False,
    allow_delete_all: bool = False,
    lock_timeout: str = "5m",
    targets: str = "changed",
    rules: str | None = None,
    settings: str | None = None,
) -> None:
    """Apply the plan (or a plan saved with `plan --out`)."""
    from reconciler.commands import apply as command

    if allow_delete_all:
        _deprecated("--allow-delete-all is deprecated: use --allow-mass-delete (same effect)")
    output.report_on_stderr_if_stdout_closes()
    p = _paths(ctx, rules, settings)
    ctx.exit(
        command.run(
            rules_dir=p.rules if planfile else _rules_dir(p),
            settings_path=p.settings,
            planfile=planfile,
            yes=yes,
            allow_mass_delete=allow_mass_delete or allow_delete_all,
            lock_timeout=lock_timeout,
            targets=_targets_mode(targets),
        )
    )


@cli.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--include-logs",
    is_flag=True,
    help="Delete the log table too (the run log and apply records in it are lost).",
)
@click.option(
    "--lock-timeout",
    default="5m",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for an apply's lock (e.g. 0, 30s, 5m).",
)
@click.option(
    "--settings",
    "settings",
    metavar="FILE",
    default=None,
    help="The settings file whose deployment to remove [default: ./ouroboros.yaml].",
)
@click.pass_context
def destroy(
    ctx: click.Context, yes: bool, include_logs: bool, lock_timeout: str, settings: str | None
) -> None:
    """Delete everything a settings file deployed: its schedule group's schedules, the group
    and the executor (and the log table with --include-logs).

    For a deployment left behind by a change of region, group, function or table: point
    --settings at the settings file as it was.
    """
    from reconciler.commands import destroy as command

    p = _paths(ctx, None, settings)
    ctx.exit(
        command.run(
            settings_path=p.settings, include_logs=include_logs, yes=yes, lock_timeout=lock_timeout
        )
    )


@cli.command(name="next")
@click.argument("expression")
@click.option("--timezone", "tz", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--after", metavar="ISO8601", help="Start after this instant [default: now].")
@click.option("--count", "-n", type=int, default=5, show_default=True)
@click.option(
    "--calendar",
    metavar="NAME|FILE",
    help="Mark the fire times a calendar skips (calendars/NAME.yaml, or a calendar file).",
)
def next_(expression: str, tz: str, after: str | None, count: int, calendar: str | None) -> None:
    """Print the next fire times of an EventBridge Scheduler expression."""
    from reconciler.commands import next as command

    click.get_current_context().exit(
        command.run(expression, tz=tz, after=after, count=count, calendar=calendar)
    )


@cli.command()
@click.option("--rule", metavar="NAME", help="Only this rule's runs.")
@click.option(
    "--since", default="24h", show_default=True, help="Duration (30m, 24h, 7d) or ISO 8601."
)
@click.option("--until", "until", default=None, help="Duration ago or ISO 8601 [default: now].")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(RUN_STATUSES),
    help="Only entries with this status (repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_settings_option  # no --rules: the log does not depend on the rules
@click.pass_context
def logs(
    ctx: click.Context,
    rule: str | None,
    since: str,
    until: str | None,
    statuses: tuple[str, ...],
    fmt: str,
    settings: str | None,
) -> None:
    """Show the executor's run log and apply records from DynamoDB."""
    from reconciler.commands import logs as command

    p = _paths(ctx, None, settings)
    ctx.exit(
        command.run(
            settings_path=p.settings,
            rule=rule,
            since=since,
            until=until,
            statuses=list(statuses),
            fmt=fmt,
        )
    )


@cli.command()
@click.option(
    "--out", "out", metavar="DIR", required=True, help="Directory to write the site into."
)
@click.option(
    "--offline",
    is_flag=True,
    help="Read no AWS: rules and their times only (the page says so).",
)
@click.option(
    "--days", type=int, default=7, show_default=True, help="Days of runs and applies to show."
)
@click.option(
    "--plan",
    "plan_file",
    metavar="FILE",
    default=None,
    help="A JSON plan saved with `reconcile plan --out`: each rule's target count.",
)
@click.option(
    "--verify",
    "verify_file",
    metavar="FILE",
    default=None,
    help="The output of `reconcile verify --format json`: missed, failed and late firings.",
)
@_path_options
@click.pass_context
def report(
    ctx: click.Context,
    out: str,
    offline: bool,
    days: int,
    plan_file: str | None,
    verify_file: str | None,
    rules: str | None,
    settings: str | None,
) -> None:
    """Write a static report site: every rule, its week, its recent runs and the apply history.

    Needs no server to read (file://, GitHub Pages, an S3 website). Reads the log table with
    your AWS credentials, or nothing with --offline.
    """
    from reconciler.commands import report as command

    p = _paths(ctx, rules, settings)
    ctx.exit(
        command.run(
            rules_dir=_rules_dir(p),
            settings_path=p.settings,
            out=out,
            offline=offline,
            days=days,
            plan_file=plan_file,
            verify_file=verify_file,
        )
    )


@cli.command()
@click.option(
    "--days", type=int, default=7, show_default=True, help="How many days to show (1-366)."
)
@click.option(
    "--rule",
    "names",
    multiple=True,
    metavar="NAME",
    help="Only this rule (repeatable) [default: every rule].",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--start",
    metavar="ISO8601",
    default=None,
    help="Start here instead of now (no offset: UTC), e.g. 2026-12-07.",
)
@click.option(
    "--rules",
    "rules",
    metavar="DIR",
    default=None,
    help=f"Directory of rule files [default: ./{DEFAULT_RULES_DIR}].",
)
@click.pass_context
def timeline(
    ctx: click.Context,
    days: int,
    names: tuple[str, ...],
    fmt: str,
    start: str | None,
    rules: str | None,
) -> None:
    """Show every firing of the rules in the next days, in local time and UTC, with a week
    grid per rule, DST notes and the hours each rule keeps its instances on. Reads no AWS.
    """
    from reconciler.commands import timeline as command

    p = _paths(ctx, rules, None)
    ctx.exit(command.run(rules_dir=_rules_dir(p), days=days, names=names, fmt=fmt, start=start))


@cli.command()
@click.option(
    "--since", default="24h", show_default=True, help="Duration (30m, 24h, 7d) or ISO 8601."
)
@click.option("--until", "until", default=None, help="Duration ago or ISO 8601 [default: now].")
@click.option("--rule", "rules", metavar="NAME", multiple=True, help="Only this rule (repeatable).")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@_settings_option  # no --rules: what is checked is what is deployed
@click.pass_context
def verify(
    ctx: click.Context,
    since: str,
    until: str | None,
    rules: tuple[str, ...],
    fmt: str,
    settings: str | None,
) -> None:
    """Check that every firing of the deployed schedules ran: exit 2 if one was missed,
    failed or late."""
    from reconciler.commands import verify as command

    p = _paths(ctx, None, settings)
    ctx.exit(command.run(settings_path=p.settings, since=since, until=until, rules=rules, fmt=fmt))


@cli.command()
@click.option(
    "--days", type=int, default=7, show_default=True, help="How many days of firings to play."
)
@click.option(
    "--rules",
    "rules",
    metavar="DIR",
    default=None,
    help="Play your own rule files against the sample fleet [default: built-in examples].",
)
@click.option(
    "--start",
    metavar="ISO8601",
    default=None,
    help="Play from this instant instead of now (e.g. 2026-12-04T00:00:00Z).",
)
def demo(days: int, rules: str | None, start: str | None) -> None:
    """Run the whole loop on an embedded local AWS (moto): no account needed.

    Seeds a sample fleet in two accounts, runs validate, plan, apply and plan again, then
    plays the next days' firings through the real executor and prints the run log.
    """
    from reconciler.commands import demo as command

    click.get_current_context().exit(command.run(rules_dir=rules, days=days, start=start))


@cli.command()
@click.argument("directory", default=".", metavar="[DIR]")
@click.option("--force", is_flag=True, help="Overwrite files that are already there.")
@click.option(
    "--upgrade",
    is_flag=True,
    help="Move an existing rules repository's pinned versions (reusable workflows, "
    "pre-commit rev, schema modelines) to this version.",
)
def init(directory: str, force: bool, upgrade: bool) -> None:
    """Scaffold a rules repository in DIR [default: .]: an example rule file, ouroboros.yaml,
    GitHub workflows and a pre-commit configuration pinned to this version.

    Writes nothing if a file is already there, unless --force.
    """
    from reconciler.commands import init as command

    click.get_current_context().exit(command.run(directory, force=force, upgrade=upgrade))


def main() -> None:
    # Every line out as soon as it is written, pipe or not: a killed job keeps what it said.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    cli.main(prog_name="reconcile")
