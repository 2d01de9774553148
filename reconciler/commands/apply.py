"""`reconcile apply [PLANFILE]` (= `reconcile`): plan, review, confirm, lock, apply, audit.

Safety rails, in the order they act:
- a saved plan is refused when it does not check out (reconciler.planfile), or when the live
  state changed since it was made (naming what changed);
- a mass delete (more than the settings' thresholds, or every managed schedule with none
  created) is refused unless --allow-mass-delete (--allow-delete-all: its deprecated alias);
- confirmation on a terminal; --yes skips it; without a terminal and without --yes, refusal;
- one apply at a time (the lock in the log table), waiting up to --lock-timeout.

The lock lives in the log table, so on the very first apply (no table yet) the table is
created first, then the lock taken, then the live state read again: if anything but the
new table changed meanwhile, the apply stops there.

SIGTERM (what CI sends to cancel a job) stops an apply the way Ctrl-C does, with exit 143.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import click
from botocore.exceptions import ClientError

from reconciler import audit, output, runlog
from reconciler.apply import (
    CTRL_C,
    NOT_ATTEMPTED,
    SIGTERM,
    ApplyResult,
    ChangeResult,
    Terminated,
    apply_changes,
    schedules_after,
    write_manifest,
)
from reconciler.aws import Clients, describe_aws_exception
from reconciler.checks import escape_controls
from reconciler.commands.plan import connect, load_desired, read_plan_file, with_review
from reconciler.desired import DesiredState
from reconciler.errors import FatalError
from reconciler.live import read_live, table_exists
from reconciler.lock import DEFAULT_LEASE_S, ApplyLock, Holder, make_owner, parse_duration
from reconciler.model import Settings
from reconciler.package import ExecutorPackage, build_executor_zip
from reconciler.plan import CREATE, Plan, make_plan, stale_resources
from reconciler.render import mass_delete_what, render_text
from reconciler.resources import EXECUTOR, LOG_TABLE, LiveState
from reconciler.review import TargetsMode

EXIT_INTERRUPTED = 130  # as for any command stopped by SIGINT
EXIT_TERMINATED = 143  # 128 + 15, as for any command stopped by SIGTERM


def interrupted_message(by: str) -> str:
    return f"interrupted ({by}): no change was started after it"


INTERRUPTED = interrupted_message(CTRL_C)
_PROGRESS_MIN_CHANGES = 10


@dataclass(frozen=True)
class Job:
    """Everything one apply run needs, from the rules or from a saved plan."""

    clients: Clients
    settings: Settings
    desired: DesiredState | None  # None for a saved plan
    saved: Plan | None
    package: ExecutorPackage | None
    yes: bool
    allow_mass_delete: bool
    lock_timeout_s: float
    actor: str
    targets: TargetsMode = "changed"  # the preview in the plan shown before applying


def current_plan(job: Job) -> tuple[Plan, LiveState]:
    """Read the live state and plan against it (or check a saved plan still fits it)."""
    live = read_live(job.clients, job.settings)
    if job.saved is not None:
        changed = stale_resources(job.saved, live)
        if changed:
            raise FatalError(
                f"live state changed since the plan was made: {', '.join(changed)}; run "
                "reconcile plan again"
            )
        return job.saved, live
    assert job.desired is not None
    plan = make_plan(job.desired, live)
    now = datetime.now(UTC)
    return with_review(plan, job.desired, live, job.targets, now, progress=False), live


def review(job: Job, plan: Plan) -> None:
    """Show the plan, apply the rails, and get a yes (or raise)."""
    output.out(render_text(plan, color=output.use_color()), nl=False)
    if not plan.has_changes:
        return
    what = mass_delete_what(plan)
    if what and not job.allow_mass_delete:
        raise FatalError(
            f"refusing to apply: the plan {what} (a wrong rules directory or a bad merge looks "
            "like this); if that is what you want, run again with --allow-mass-delete"
        )
    confirm(job.yes, "apply", "Apply these changes?")


def confirm(yes: bool, verb: str, question: str) -> None:
    """A 'yes' typed on a terminal, or --yes; else refuse (the rule apply and destroy share)."""
    if yes:
        return
    if not output.stdin_is_tty():
        raise FatalError(
            f"refusing to {verb} without confirmation: stdin is not a terminal; review the plan "
            "above, then run again with --yes"
        )
    try:
        answer = click.prompt(
            f"\n{question} Only 'yes' will be accepted",
            default="",
            show_default=False,
            err=True,
        )
    except click.Abort as exc:
        if not isinstance(exc.__context__, EOFError):
            raise  # Ctrl-C: as anywhere else
        answer = ""  # Ctrl-D: end of input is a no
        output.err("")
    if answer.strip() != "yes":
        raise FatalError(f"{verb} cancelled; nothing was changed")


class Progress:
    """A one-line counter on a terminal (stderr), for applies long enough to need one.
    Elsewhere (CI), a line per change as it is made: a job killed part way leaves a trace."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.trace = not output.is_tty(sys.stderr)
        self.enabled = total >= _PROGRESS_MIN_CHANGES and not self.trace

    def __call__(self, result: ChangeResult) -> None:
        self.count += 1
        if self.enabled:
            output.err(f"\rApplying: {self.count}/{self.total} changes", nl=False)
        elif self.trace:
            output.err(f"[{self.count}/{self.total}] {result.line()}")

    def close(self) -> None:
        if self.enabled:
            output.err("")


def execute(job: Job, plan: Plan, lock: ApplyLock | None, progress: Progress) -> ApplyResult:
    needs_code = any(c.kind == EXECUTOR for c in plan.changes)
    package = job.package or (build_executor_zip() if needs_code else None)
    return apply_changes(
        job.clients,
        plan.changes,
        group=plan.settings.schedule_group,
        package=package,
        progress=progress,
        should_continue=lambda: lock is None or not lock.lost,
    )


def report(result: ApplyResult, lock: ApplyLock | None) -> int:
    with sigterm_held_off():
        return _report(result, lock)


def _report(result: ApplyResult, lock: ApplyLock | None) -> int:
    output.out("")
    for line in (r.line() for r in result.results):
        output.out(f"  {line}")
    if result.interrupted:
        output.out(f"\nApply interrupted: {result.summary()}.")
        output.err(
            f"error: {interrupted_message(result.stopped_by)}\nWhat was done above is live; "
            "run `reconcile apply` again to finish."
        )
        return EXIT_TERMINATED if result.stopped_by == SIGTERM else EXIT_INTERRUPTED
    if result.outcome == "ok":
        output.out(f"\nApply complete: {result.summary()}.")
        return 0
    if result.first_error is not None:
        why = result.first_error
    elif lock is not None and lock.lost:
        why = (
            "the apply lock was lost: its lease ran out (renewing it failed, or another apply "
            "took it over), so no further change was started"
        )
    else:
        why = "the apply stopped before every change was made"
    output.out(f"\nApply {result.outcome}: {result.summary()}.")
    output.err(
        f"error: {escape_controls(why)}\nWhat was done above is live; run `reconcile apply` again to converge "
        "once the cause is fixed."
    )
    return 1


def update_manifest(job: Job, live: LiveState, result: ApplyResult) -> None:
    """The executor's manifest of enabled rules (§12), written after the schedules: on every
    apply, so one that failed to write it (or an older version) is repaired by the next."""
    with sigterm_held_off():
        schedules = schedules_after(live.schedules, result.results)
        try:
            write_manifest(
                job.clients.dynamodb,
                job.settings.log_table,
                schedules,
                runlog.iso_z(datetime.now(UTC)),
            )
        except Exception as exc:
            described = describe_aws_exception(exc) or f"{type(exc).__name__}: {exc}"
            output.err(
                "warning: the rules' manifest was not written to the log table; stop firings "
                "ignore other rules' on-windows until an apply writes it: "
                + escape_controls(described)
            )


def record(job: Job, result: ApplyResult, started: datetime) -> None:
    with sigterm_held_off():
        _record(job, result, started)


def _record(job: Job, result: ApplyResult, started: datetime) -> None:
    """Write the apply record; a failure to write it is reported, not fatal."""
    entry = audit.apply_record(
        result,
        started=started,
        finished=datetime.now(UTC),
        who=job.actor,
        sha=audit.commit(),
        pr=audit.pr_number(),
        error=interrupted_message(result.stopped_by) if result.interrupted else None,
        worktree=audit.worktree(),
    )
    try:
        audit.write_apply_record(
            job.clients.dynamodb,
            job.settings.log_table,
            entry,
            retention_days=job.settings.log_retention_days,
        )
    except Exception as exc:
        described = describe_aws_exception(exc) or f"{type(exc).__name__}: {exc}"
        output.err(
            "warning: the apply record was not written to the log table: "
            + escape_controls(described)
        )


class TerminatedError(FatalError):
    """SIGTERM outside the changes themselves (waiting for the lock, planning, confirming)."""

    exit_code = EXIT_TERMINATED


class _OnSigterm:
    """Raises Terminated on the first SIGTERM, unless held off; ignores every later one."""

    def __init__(self) -> None:
        self.received = False
        self.held_off = False

    def __call__(self, _signum: int, _frame: object) -> None:
        first = not self.received
        self.received = True
        # Already stopping (a Ctrl-C being handled): raising again would only cut it short.
        stopping = isinstance(sys.exc_info()[1], KeyboardInterrupt)
        if first and not self.held_off and not stopping:
            raise Terminated


_handlers: list[_OnSigterm] = []  # the one installed, while inside sigterm_stops_like_ctrl_c


@contextmanager
def sigterm_stops_like_ctrl_c() -> Iterator[None]:
    """While inside, SIGTERM raises Terminated in the main thread, as SIGINT raises Ctrl-C.

    Only the first SIGTERM raises: a repeat while the calls in flight finish is ignored, so
    the partial record is still written and the lock released (kill -9 remains for the
    impatient). Off the main thread, where no handler can be installed, it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = _OnSigterm()
    previous = signal.signal(signal.SIGTERM, handler)
    _handlers.append(handler)
    try:
        yield
    except Terminated:
        raise TerminatedError(interrupted_message(SIGTERM)) from None
    except click.exceptions.Abort:
        if handler.received:  # click's prompt turns Terminated, as any Ctrl-C, into Abort
            raise TerminatedError(interrupted_message(SIGTERM)) from None
        raise
    finally:
        _handlers.remove(handler)
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


@contextmanager
def sigterm_held_off() -> Iterator[None]:
    """The apply is over: a SIGTERM now must not cost its record or its report."""
    for handler in _handlers:
        handler.held_off = True
    try:
        yield
    finally:
        for handler in _handlers:
            handler.held_off = False


def _lock(job: Job) -> ApplyLock:
    return make_lock(job.clients, job.settings, job.actor, job.lock_timeout_s)


def make_lock(
    clients: Clients,
    settings: Settings,
    actor: str,
    timeout_s: float,
    *,
    release_gone: bool = False,
) -> ApplyLock:
    """The apply lock, saying what it waits for; release_gone: the table may be gone by the
    release (destroy deletes it), which is no failure."""

    def waiting(holder: Holder) -> None:
        output.err(
            f"Waiting for the apply lock, held by {holder.describe()} (up to {timeout_s:g}s)..."
        )

    def not_finished(holder: Holder) -> None:
        by = escape_controls(f"by {holder.owner}, started {holder.acquired_at}")
        output.err(
            f"warning: the previous apply ({by}) did "
            "not finish: it stopped without releasing the apply lock (killed, or its release "
            "failed), so its apply record may be missing; this apply converges from what is "
            "live"
        )

    def not_released(error: Exception) -> None:
        if release_gone and isinstance(error, ClientError):
            return
        described = describe_aws_exception(error) or f"{type(error).__name__}: {error}"
        output.err(
            f"warning: the apply lock was not released ({described}); the next apply takes it "
            f"over once it has seen it unrenewed for {DEFAULT_LEASE_S} seconds"
        )

    return ApplyLock(
        clients.dynamodb,
        settings.log_table,
        make_owner(actor),
        timeout_s=timeout_s,
        lease_s=DEFAULT_LEASE_S,
        on_wait=waiting,
        on_takeover=not_finished,
        on_release_error=not_released,
    )


def _locked_apply(job: Job, started: datetime) -> int:
    with _lock(job) as lock:
        plan, live = current_plan(job)
        review(job, plan)
        progress = Progress(len(plan.changes))
        result = execute(job, plan, lock, progress)
        progress.close()
        update_manifest(job, live, result)
        record(job, result, started)
        return report(result, lock) if plan.has_changes else 0


def _first_apply(job: Job, started: datetime) -> int:
    """No log table yet: create it (after the review), then lock and carry on."""
    plan, live = current_plan(job)
    review(job, plan)
    table_first = [c for c in plan.changes if c.kind == LOG_TABLE and c.action == CREATE]
    progress = Progress(len(plan.changes))
    table_result = execute(job, replace(plan, changes=tuple(table_first)), None, progress)
    if table_result.outcome != "ok" or table_result.interrupted:
        progress.close()
        rest = tuple(ChangeResult(c, NOT_ATTEMPTED) for c in plan.changes[len(table_first) :])
        return report(replace(table_result, results=table_result.results + rest), None)
    with _lock(job) as lock:
        again = read_live(job.clients, job.settings)
        if again.fingerprint(include_table=False) != live.fingerprint(include_table=False):
            progress.close()
            raise FatalError(
                "live state changed while the log table was being created (another apply?): "
                "only the table was created; run reconcile plan again"
            )
        rest_result = execute(job, plan.without(table_first), lock, progress)
        progress.close()
        result = replace(rest_result, results=table_result.results + rest_result.results)
        update_manifest(job, live, result)
        record(job, result, started)
        return report(result, lock)


def run(
    *,
    rules_dir: str,
    settings_path: str,
    planfile: str | None = None,
    yes: bool = False,
    allow_mass_delete: bool = False,
    allow_delete_all: bool = False,  # the deprecated name of allow_mass_delete
    lock_timeout: str = "5m",
    targets: TargetsMode = "changed",
) -> int:
    started = datetime.now(UTC)
    timeout_s = parse_duration(lock_timeout)
    desired: DesiredState | None = None
    saved: Plan | None = None
    package: ExecutorPackage | None = None
    if planfile:
        saved = read_plan_file(planfile)
        settings = saved.settings
    else:
        desired, package = load_desired(rules_dir, settings_path)
        settings = desired.settings
    job = Job(
        clients=connect(settings),
        settings=settings,
        desired=desired,
        saved=saved,
        package=package,
        yes=yes,
        allow_mass_delete=allow_mass_delete or allow_delete_all,
        lock_timeout_s=timeout_s,
        actor=audit.actor(),
        targets=targets,
    )
    with sigterm_stops_like_ctrl_c():
        if table_exists(job.clients, settings.log_table):
            return _locked_apply(job, started)
        return _first_apply(job, started)
