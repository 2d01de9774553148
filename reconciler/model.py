"""The plain data the stages pass along: rules and settings as the user wrote them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from reconciler.calendars import Calendar
from reconciler.runlog import DEFAULT_RETENTION_DAYS

DEFAULT_MAX_INSTANCES = 100
DEFAULT_READER_ROLE = "ouroboros-reader"
# The mass-delete rail: apply needs --allow-mass-delete for a plan deleting more than this
# many managed schedules AND more than this share of them.
DEFAULT_MAX_DELETE_COUNT = 10
DEFAULT_MAX_DELETE_FRACTION = 0.25
# The group EventBridge Scheduler gives every account: never ours to own (or delete from).
RESERVED_GROUP = "default"
DEAD_LETTER_SUFFIX = "-dead-letters"
# What a rule's schedules tell the executor to do (not a plan's create/update/delete).
InstanceAction = Literal["start", "stop"]
INSTANCE_ACTIONS: tuple[InstanceAction, ...] = ("start", "stop")


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Rule:
    """One validated rule from schedules/*.yaml (DESIGN.md §3)."""

    name: str
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    # Filter name -> values, in the order written; AND across filters, OR within values.
    targets: tuple[tuple[str, tuple[str, ...]], ...]
    start: str | None = None
    stop: str | None = None
    description: str | None = None
    enabled: bool = True
    timezone: str = "UTC"
    hibernate: bool = False
    max_instances: int = DEFAULT_MAX_INSTANCES
    # The name of a calendars/<name>.yaml (§12), and its definition as the loader read it.
    calendar: str | None = None
    calendar_spec: Calendar | None = None
    location: Location | None = field(default=None, compare=False)
    # What the targets select (DESIGN.md §9): ec2 instances, rds DB instances, aurora DB
    # clusters or asg Auto Scaling groups.
    resource: str = "ec2"

    def expression(self, action: str) -> str | None:
        return self.start if action == "start" else self.stop

    def targets_dict(self) -> dict[str, list[str]]:
        return {name: list(values) for name, values in self.targets}


@dataclass(frozen=True)
class Settings:
    """ouroboros.yaml (DESIGN.md §4)."""

    region: str
    schedule_group: str
    function_name: str
    executor_role_arn: str
    scheduler_role_arn: str
    target_role_name: str
    log_table: str
    # Optional keys (not pinned by DESIGN.md; defaults chosen for start/stop work).
    executor_memory_mb: int = 256
    executor_timeout_s: int = 300
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    max_delete_count: int = DEFAULT_MAX_DELETE_COUNT
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION
    # The executor's trust boundary: the only accounts rules may name (None: any), and the
    # organisation the target roles' trust policies require (documentation for the templates).
    allowed_accounts: tuple[str, ...] | None = None
    organization_id: str | None = None
    # The SQS queue every lost firing lands in (issue 12); None: <schedule_group>-dead-letters.
    dead_letter_queue_name: str | None = None
    # The read-only role `reconcile plan` assumes in every other account to preview targets.
    reader_role_name: str = DEFAULT_READER_ROLE
    location: Location | None = field(default=None, compare=False)

    @property
    def dead_letter_queue(self) -> str:
        return self.dead_letter_queue_name or f"{self.schedule_group}{DEAD_LETTER_SUFFIX}"
