"""Rules + settings -> the desired state: what should be deployed, field by field.

Pure: no AWS, no clock of its own (the caller passes `now`), no file reading (the caller
passes the executor's CodeSha256). One schedule per (rule, action), named `<rule>-start` /
`<rule>-stop` (DESIGN.md §5), whose Input is the executor event of §6.

Choices made here, and why:
- Input is compact JSON with sorted keys: one spelling, so a converged schedule compares equal
  and the CodeSha256-style "phantom change" cannot happen for the Input either.
- RetryPolicy is explicit: 3600 s and 10 attempts. AWS's default keeps retrying for 24 hours,
  and a start or stop delivered many hours late does harm (instances started at night).
- Nothing is lost without a trace: every schedule's DeadLetterConfig and the executor's
  on-failure destination point at one SQS queue (SSE on, 14 days' retention, SQS's
  maximum), so an invoke Scheduler gave up on, and an event Lambda's own retries could not
  get through, both land there; `reconcile verify` reads it. Lambda retries an event twice
  within 15 minutes (INVOKE_MAX_EVENT_AGE_S), the slack the executor's trust check allows.
- at() schedules are one-time, with ActionAfterCompletion NONE: the executor reads the
  schedule that sent an event before acting on it (its trust boundary), and Scheduler's DELETE
  could remove it before the invocation runs. One whose time has passed is left out of the
  desired state, with a note, so the next apply deletes a fired one (and it stops counting
  against the quota).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from reconciler import checks, runlog
from reconciler.errors import FatalError, InternalError, at
from reconciler.model import INSTANCE_ACTIONS, RESERVED_GROUP, Rule, Settings
from reconciler.package import HANDLER, RUNTIME
from reconciler.resources import (
    FunctionSpec,
    GroupSpec,
    InvokeConfig,
    QueueSpec,
    ScheduleSpec,
    TableSpec,
    canonical_expression,
    canonical_json,
    canonical_timezone,
    fingerprint,
)
from reconciler.timeengine import iter_fires

EVENT_VERSION = 1
RETRY_MAX_EVENT_AGE_S = 3600
RETRY_MAX_ATTEMPTS = 10
INVOKE_MAX_RETRIES = 2  # Lambda's own retries of a failed executor run (its maximum)
# Lambda's retries end 15 minutes after the event arrived: the executor's trust check refuses
# an event older than Scheduler's hour plus these 15 minutes (executor/trust.py).
INVOKE_MAX_EVENT_AGE_S = 900
QUEUE_RETENTION_S = 14 * 86400  # SQS's maximum
# EventBridge Scheduler fills these context attributes in at each invocation (§6).
SCHEDULE_ARN_PLACEHOLDER = "<aws.scheduler.schedule-arn>"
SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"
EXECUTION_ID_PLACEHOLDER = "<aws.scheduler.execution-id>"

_ROLE_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):role/.+$")


@dataclass(frozen=True)
class DesiredState:
    settings: Settings
    group: GroupSpec
    schedules: tuple[ScheduleSpec, ...]  # sorted by name
    function: FunctionSpec
    table: TableSpec
    queue: QueueSpec
    notes: tuple[str, ...] = field(default=(), compare=False)
    rules: tuple[Rule, ...] = field(default=(), compare=False)  # what it was built from

    def fingerprint(self) -> str:
        return fingerprint(self.group, self.schedules, self.function, self.table, self.queue)


def schedule_name(rule: str, action: str) -> str:
    return f"{rule}-{action}"


def _home(settings: Settings) -> re.Match[str]:
    """The partition and account of the deployment: the execution role's."""
    match = _ROLE_ARN_RE.match(settings.executor_role_arn)
    if match is None:
        raise FatalError(
            f"{at(settings.location)}executor.role_arn {settings.executor_role_arn!r} is not an "
            "IAM role ARN (arn:aws:iam::<account>:role/<name>): fix it in the settings file"
        )
    return match


def function_arn(settings: Settings) -> str:
    """The executor's ARN: its account and partition are the execution role's."""
    match = _home(settings)
    return (
        f"arn:{match['partition']}:lambda:{settings.region}:{match['account']}:"
        f"function:{settings.function_name}"
    )


def queue_arn(settings: Settings) -> str:
    """The dead-letter queue's ARN, in the executor's account and the home region."""
    match = _home(settings)
    return (
        f"arn:{match['partition']}:sqs:{settings.region}:{match['account']}:"
        f"{settings.dead_letter_queue}"
    )


def desired_queue(settings: Settings) -> QueueSpec:
    return QueueSpec(
        name=settings.dead_letter_queue,
        arn=queue_arn(settings),
        retention_s=QUEUE_RETENTION_S,
        encrypted=True,
    )


def executor_event(rule: Rule, action: str, settings: Settings) -> dict[str, object]:
    """The §6 event, with Scheduler's context-attribute placeholders.

    `resource` (§9) is sent only for kinds other than ec2, so an EC2 rule's Input stays
    byte-identical to the one deployed before kinds existed (no phantom update). A rule with a
    calendar carries its definition, so the executor decides at fire time without a file.
    """
    event: dict[str, object] = {
        "version": EVENT_VERSION,
        "rule": rule.name,
        "action": action,
        "hibernate": rule.hibernate,
        "accounts": list(rule.accounts),
        "regions": list(rule.regions),
        "targets": rule.targets_dict(),
        "max_instances": rule.max_instances,
        "role_name": settings.target_role_name,
        "schedule_arn": SCHEDULE_ARN_PLACEHOLDER,
        "scheduled_time": SCHEDULED_TIME_PLACEHOLDER,
        "execution_id": EXECUTION_ID_PLACEHOLDER,
    }
    if rule.resource != checks.DEFAULT_RESOURCE:
        event["resource"] = rule.resource
    if rule.calendar_spec is not None:
        event["calendar"] = rule.calendar_spec.as_event()
    return event


def schedule_description(rule: Rule, action: str) -> str:
    head = f"Managed by ouroboros: rule {rule.name}, {action}"
    return f"{head}. {rule.description}" if rule.description else head


def desired_schedule(
    rule: Rule, action: str, expression: str, settings: Settings, target_arn: str
) -> ScheduleSpec:
    event = executor_event(rule, action, settings)
    problems = checks.check_event(event)
    if problems:
        # The loader checked the rule with the same functions; this only catches a model bug.
        raise InternalError(
            f"{at(rule.location)}rule {rule.name}: the executor would refuse its event: "
            f"{problems[0]}"
        )
    return ScheduleSpec(
        name=schedule_name(rule.name, action),
        group=settings.schedule_group,
        expression=canonical_expression(expression),
        target_arn=target_arn,
        role_arn=settings.scheduler_role_arn,
        timezone=canonical_timezone(rule.timezone),
        state="ENABLED" if rule.enabled else "DISABLED",
        description=schedule_description(rule, action),
        input=canonical_json(event),
        max_event_age_s=RETRY_MAX_EVENT_AGE_S,
        max_retry_attempts=RETRY_MAX_ATTEMPTS,
        action_after_completion="NONE",
        dead_letter_arn=queue_arn(settings),
    )


def desired_function(settings: Settings, code_sha256: str) -> FunctionSpec:
    return FunctionSpec(
        name=settings.function_name,
        runtime=RUNTIME,
        handler=HANDLER,
        role=settings.executor_role_arn,
        memory_mb=settings.executor_memory_mb,
        timeout_s=settings.executor_timeout_s,
        environment=tuple(sorted(executor_environment(settings).items())),
        code_sha256=code_sha256,
        description=executor_description(settings.schedule_group),
        invoke=InvokeConfig(
            max_retry_attempts=INVOKE_MAX_RETRIES,
            max_event_age_s=INVOKE_MAX_EVENT_AGE_S,
            on_failure=queue_arn(settings),
        ),
    )


def executor_environment(settings: Settings) -> dict[str, str]:
    """What the executor trusts comes from here, never from the event (executor/trust.py)."""
    environment = {
        runlog.TABLE_ENV: settings.log_table,
        runlog.RETENTION_ENV: str(settings.log_retention_days),
        runlog.GROUP_ENV: settings.schedule_group,
        runlog.TARGET_ROLE_ENV: settings.target_role_name,
    }
    if settings.allowed_accounts is not None:
        environment[runlog.ALLOWED_ACCOUNTS_ENV] = ",".join(sorted(settings.allowed_accounts))
    return environment


def executor_description(group: str) -> str:
    return f"{_DESCRIPTION_HEAD}{group}{_DESCRIPTION_TAIL}"


_DESCRIPTION_HEAD = "Ouroboros executor: starts and stops EC2 instances for the schedules in group "
_DESCRIPTION_TAIL = ". Managed by `reconcile apply`."
_DESCRIPTION_RE = re.compile(
    re.escape(_DESCRIPTION_HEAD) + r"(?P<group>[0-9A-Za-z_.-]+)" + re.escape(_DESCRIPTION_TAIL)
)


def described_group(description: str | None) -> str | None:
    """The schedule group a deployed executor was made for, read back from its description."""
    match = _DESCRIPTION_RE.fullmatch(description or "")
    return match["group"] if match else None


def desired_table(settings: Settings) -> TableSpec:
    return TableSpec.from_api(
        {
            "TableName": settings.log_table,
            **runlog.TABLE_DEFINITION,
            "TimeToLive": {"Enabled": True, "AttributeName": runlog.TTL_ATTRIBUTE},
            "PointInTimeRecoveryEnabled": True,
        }
    )


def _has_passed(expression: str, timezone: str, now: datetime) -> bool:
    return next(iter_fires(expression, timezone, now), None) is None


def build_desired(
    rules: Iterable[Rule], settings: Settings, *, code_sha256: str, now: datetime
) -> DesiredState:
    if settings.schedule_group == RESERVED_GROUP:
        raise FatalError(
            f"{at(settings.location)}schedule_group is 'default': ouroboros owns every schedule in its group, so it "
            "needs a group of its own; set schedule_group (e.g. ouroboros) in the settings file"
        )
    target_arn = function_arn(settings)
    rules = list(rules)
    schedules: list[ScheduleSpec] = []
    notes: list[str] = []
    for rule in rules:
        for action in INSTANCE_ACTIONS:
            expression = rule.expression(action)
            if expression is None:
                continue
            if expression.strip().startswith("at(") and _has_passed(expression, rule.timezone, now):
                notes.append(
                    f"rule {rule.name}: {action} {expression} ({rule.timezone}) is in the past, "
                    "so no schedule is deployed for it"
                )
                continue
            schedules.append(desired_schedule(rule, action, expression, settings, target_arn))
    return DesiredState(
        settings=settings,
        group=GroupSpec(settings.schedule_group),
        schedules=tuple(sorted(schedules, key=lambda s: s.name)),
        function=desired_function(settings, code_sha256),
        table=desired_table(settings),
        queue=desired_queue(settings),
        notes=tuple(notes),
        rules=tuple(rules),
    )


def event_of(schedule: ScheduleSpec) -> dict[str, object]:
    """The event a deployed schedule sends (its Input)."""
    return dict(json.loads(schedule.input or "{}"))
