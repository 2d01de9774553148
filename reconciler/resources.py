"""The four kinds of resource the reconciler manages, as plain frozen dataclasses.

Desired state (from the rules) and live state (from AWS) are made of the same types, so a
converged state compares equal field by field. Each type reads itself from the shape AWS uses
(`from_api`), which is also the shape a saved plan stores, and normalises on the way in
everything AWS and moto fill in or spell differently (RetryPolicy defaults, the UTC time zone
under three names, rate units, dates in any zone, a State moto drops on update). No AWS calls
in here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from reconciler.timeengine import normalise

ResourceKind = Literal["log_table", "dead_letter_queue", "executor", "schedule_group", "schedule"]
SCHEDULE: Final = "schedule"
SCHEDULE_GROUP: Final = "schedule_group"
EXECUTOR: Final = "executor"
LOG_TABLE: Final = "log_table"
DEAD_LETTER_QUEUE: Final = "dead_letter_queue"
# Apply's order: what a later kind points at exists first (schedules and the executor's
# on-failure destination name the queue's ARN).
KINDS: tuple[ResourceKind, ...] = (LOG_TABLE, DEAD_LETTER_QUEUE, EXECUTOR, SCHEDULE_GROUP, SCHEDULE)

# What EventBridge Scheduler (and moto) fill in when a schedule has no RetryPolicy.
AWS_DEFAULT_MAX_EVENT_AGE_S = 86400
AWS_DEFAULT_MAX_RETRY_ATTEMPTS = 185

# Every spelling of UTC that tzdata links to it; AWS echoes None, "UTC" or "Etc/UTC".
_UTC_NAMES = frozenset(
    {"", "UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
)


def canonical_timezone(name: str | None) -> str:
    return "UTC" if name is None or name.strip() in _UTC_NAMES else name.strip()


def canonical_expression(text: str) -> str:
    """The time engine's spelling (rate units, case, whitespace); it never raises."""
    return normalise(text)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: one spelling per value, so equal inputs compare equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def canonical_input(text: str | None) -> str | None:
    """A JSON Input in canonical form; anything that is not JSON is kept verbatim."""
    if text is None:
        return None
    try:
        return canonical_json(json.loads(text))
    except ValueError:
        return text


def utc_iso(value: object) -> str | None:
    """A date (datetime from boto3, or ISO text from a saved plan) as ISO 8601 UTC with a Z."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class ScheduleSpec:
    """One EventBridge Scheduler schedule, every field UpdateSchedule would replace."""

    name: str
    group: str
    expression: str
    target_arn: str
    role_arn: str
    timezone: str = "UTC"
    state: str = "ENABLED"
    description: str | None = None
    input: str | None = None
    max_event_age_s: int = AWS_DEFAULT_MAX_EVENT_AGE_S
    max_retry_attempts: int = AWS_DEFAULT_MAX_RETRY_ATTEMPTS
    action_after_completion: str = "NONE"
    window_mode: str = "OFF"
    window_minutes: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    kms_key_arn: str | None = None
    dead_letter_arn: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ScheduleSpec:
        """From GetSchedule's output or CreateSchedule's input (a saved plan stores the latter)."""
        target = data.get("Target") or {}
        retry = target.get("RetryPolicy") or {}
        window = data.get("FlexibleTimeWindow") or {}
        dead_letter = target.get("DeadLetterConfig") or {}
        return cls(
            name=str(data["Name"]),
            group=str(data.get("GroupName") or "default"),
            expression=canonical_expression(str(data["ScheduleExpression"])),
            target_arn=str(target.get("Arn", "")),
            role_arn=str(target.get("RoleArn", "")),
            timezone=canonical_timezone(data.get("ScheduleExpressionTimezone")),
            # moto drops State when an update omits it; AWS then means ENABLED.
            state=str(data.get("State") or "ENABLED"),
            description=_opt_str(data.get("Description")),
            input=canonical_input(target.get("Input")),
            max_event_age_s=int(retry.get("MaximumEventAgeInSeconds", AWS_DEFAULT_MAX_EVENT_AGE_S)),
            max_retry_attempts=int(
                retry.get("MaximumRetryAttempts", AWS_DEFAULT_MAX_RETRY_ATTEMPTS)
            ),
            action_after_completion=str(data.get("ActionAfterCompletion") or "NONE"),
            window_mode=str(window.get("Mode") or "OFF"),
            window_minutes=window.get("MaximumWindowInMinutes"),
            start_date=utc_iso(data.get("StartDate")),
            end_date=utc_iso(data.get("EndDate")),
            kms_key_arn=_opt_str(data.get("KmsKeyArn")),
            dead_letter_arn=_opt_str(dead_letter.get("Arn")),
        )

    def to_api(self) -> dict[str, Any]:
        """The whole schedule as CreateSchedule / UpdateSchedule parameters (an update replaces)."""
        target: dict[str, Any] = {"Arn": self.target_arn, "RoleArn": self.role_arn}
        if self.input is not None:
            target["Input"] = self.input
        target["RetryPolicy"] = {
            "MaximumEventAgeInSeconds": self.max_event_age_s,
            "MaximumRetryAttempts": self.max_retry_attempts,
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        window: dict[str, Any] = {"Mode": self.window_mode}
        if self.window_minutes is not None:
            window["MaximumWindowInMinutes"] = self.window_minutes
        params: dict[str, Any] = {
            "Name": self.name,
            "GroupName": self.group,
            "ScheduleExpression": self.expression,
            "ScheduleExpressionTimezone": self.timezone,
            "State": self.state,
        }
        if self.description is not None:
            params["Description"] = self.description
        params["FlexibleTimeWindow"] = window
        params["Target"] = target
        params["ActionAfterCompletion"] = self.action_after_completion
        for key, value in (
            ("StartDate", self.start_date),
            ("EndDate", self.end_date),
            ("KmsKeyArn", self.kms_key_arn),
        ):
            if value is not None:
                params[key] = value
        return params

    def fields(self) -> dict[str, Any]:
        """Field path -> value, the granularity of an update's diff."""
        return {
            "ScheduleExpression": self.expression,
            "ScheduleExpressionTimezone": self.timezone,
            "State": self.state,
            "Description": self.description,
            "FlexibleTimeWindow.Mode": self.window_mode,
            "FlexibleTimeWindow.MaximumWindowInMinutes": self.window_minutes,
            "StartDate": self.start_date,
            "EndDate": self.end_date,
            "KmsKeyArn": self.kms_key_arn,
            "ActionAfterCompletion": self.action_after_completion,
            "Target.Arn": self.target_arn,
            "Target.RoleArn": self.role_arn,
            "Target.Input": self.input,
            "Target.RetryPolicy.MaximumEventAgeInSeconds": self.max_event_age_s,
            "Target.RetryPolicy.MaximumRetryAttempts": self.max_retry_attempts,
            "Target.DeadLetterConfig.Arn": self.dead_letter_arn,
        }


@dataclass(frozen=True)
class FunctionSpec:
    """The executor Lambda: its configuration and the hash of its code."""

    name: str
    runtime: str
    handler: str
    role: str
    memory_mb: int
    timeout_s: int
    environment: tuple[tuple[str, str], ...]
    code_sha256: str
    description: str | None = None
    # Layer version ARNs. Ouroboros ships none; a layer added by hand runs its code beside the
    # executor's (and can shadow boto3), so it is drift like any other.
    layers: tuple[str, ...] = ()
    # The asynchronous-invoke configuration (PutFunctionEventInvokeConfig); None: none set,
    # which means Lambda's defaults (2 retries, 6 hours) and a failed event dropped.
    invoke: InvokeConfig | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> FunctionSpec:
        """From GetFunction's Configuration (or a saved plan, which stores the same keys)."""
        variables = (data.get("Environment") or {}).get("Variables") or {}
        # GetFunction lists layers as objects with an Arn; the API's input (and a saved plan)
        # as ARN strings.
        layers = tuple(
            str(layer["Arn"] if isinstance(layer, Mapping) else layer)
            for layer in data.get("Layers") or ()
        )
        return cls(
            name=str(data["FunctionName"]),
            runtime=str(data.get("Runtime", "")),
            handler=str(data.get("Handler", "")),
            role=str(data.get("Role", "")),
            memory_mb=int(data.get("MemorySize", 128)),
            timeout_s=int(data.get("Timeout", 3)),
            environment=tuple(sorted((str(k), str(v)) for k, v in variables.items())),
            code_sha256=str(data.get("CodeSha256", "")),
            description=_opt_str(data.get("Description")),
            layers=layers,
            invoke=InvokeConfig.from_api(data.get("EventInvokeConfig")),
        )

    def configuration(self) -> dict[str, Any]:
        """UpdateFunctionConfiguration parameters (also the configuration part of a create)."""
        config: dict[str, Any] = {
            "FunctionName": self.name,
            "Runtime": self.runtime,
            "Handler": self.handler,
            "Role": self.role,
            "MemorySize": self.memory_mb,
            "Timeout": self.timeout_s,
            "Environment": {"Variables": dict(self.environment)},
            # Always sent: an update replaces the list, so an empty one removes stray layers.
            "Layers": list(self.layers),
        }
        if self.description is not None:
            config["Description"] = self.description
        return config

    def to_api(self) -> dict[str, Any]:
        api = {**self.configuration(), "CodeSha256": self.code_sha256}
        if self.invoke is not None:
            api["EventInvokeConfig"] = self.invoke.to_api()
        return api

    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "CodeSha256": self.code_sha256,
            "Runtime": self.runtime,
            "Handler": self.handler,
            "Role": self.role,
            "MemorySize": self.memory_mb,
            "Timeout": self.timeout_s,
            "Description": self.description,
            "Layers": list(self.layers),
        }
        names = sorted({k for k, _ in self.environment})
        env = dict(self.environment)
        for key in names:
            fields[f"Environment.Variables.{key}"] = env[key]
        invoke = self.invoke.to_api() if self.invoke else {}
        fields[INVOKE_RETRIES] = invoke.get("MaximumRetryAttempts")
        fields[INVOKE_AGE] = invoke.get("MaximumEventAgeInSeconds")
        fields[INVOKE_ON_FAILURE] = (
            invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        return fields


INVOKE_RETRIES = "EventInvokeConfig.MaximumRetryAttempts"
INVOKE_AGE = "EventInvokeConfig.MaximumEventAgeInSeconds"
INVOKE_ON_FAILURE = "EventInvokeConfig.DestinationConfig.OnFailure.Destination"
INVOKE_FIELDS = (INVOKE_RETRIES, INVOKE_AGE, INVOKE_ON_FAILURE)


@dataclass(frozen=True)
class InvokeConfig:
    """How Lambda retries an asynchronous invoke (Scheduler's), and where a failure goes."""

    max_retry_attempts: int | None
    max_event_age_s: int | None
    on_failure: str | None  # a destination ARN (the dead-letter queue)

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> InvokeConfig | None:
        """From GetFunctionEventInvokeConfig's answer (or a saved plan); None stays None."""
        if not data:
            return None
        failure = ((data.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        retries, age = data.get("MaximumRetryAttempts"), data.get("MaximumEventAgeInSeconds")
        return cls(
            max_retry_attempts=None if retries is None else int(retries),
            max_event_age_s=None if age is None else int(age),
            on_failure=_opt_str(failure),
        )

    def to_api(self) -> dict[str, Any]:
        """PutFunctionEventInvokeConfig's parameters, less the function name."""
        api: dict[str, Any] = {}
        if self.max_retry_attempts is not None:
            api["MaximumRetryAttempts"] = self.max_retry_attempts
        if self.max_event_age_s is not None:
            api["MaximumEventAgeInSeconds"] = self.max_event_age_s
        if self.on_failure:
            api["DestinationConfig"] = {"OnFailure": {"Destination": self.on_failure}}
        return api


@dataclass(frozen=True)
class TableSpec:
    """The DynamoDB log table: what apply can change in place, and the schema it cannot."""

    name: str
    billing_mode: str
    ttl_attribute: str | None
    point_in_time_recovery: bool
    # Key schema, attribute definitions and indexes as canonical JSON: fixed at creation.
    schema: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TableSpec:
        ttl = data.get("TimeToLive") or {}
        return cls(
            name=str(data["TableName"]),
            billing_mode=str(data.get("BillingMode") or "PROVISIONED"),
            ttl_attribute=_opt_str(ttl.get("AttributeName")) if ttl.get("Enabled") else None,
            point_in_time_recovery=bool(data.get("PointInTimeRecoveryEnabled")),
            schema=table_schema(data),
        )

    def to_api(self) -> dict[str, Any]:
        schema = json.loads(self.schema)
        return {
            "TableName": self.name,
            "BillingMode": self.billing_mode,
            "TimeToLive": {
                "Enabled": self.ttl_attribute is not None,
                "AttributeName": self.ttl_attribute,
            },
            "PointInTimeRecoveryEnabled": self.point_in_time_recovery,
            **schema,
        }

    def fields(self) -> dict[str, Any]:
        return {
            "BillingMode": self.billing_mode,
            "TimeToLive.AttributeName": self.ttl_attribute,
            "PointInTimeRecovery": self.point_in_time_recovery,
            "Schema": self.schema,
        }


def table_schema(data: Mapping[str, Any]) -> str:
    """The part of a table that cannot change in place, in one canonical spelling."""
    indexes = [
        {
            "IndexName": gsi["IndexName"],
            "KeySchema": list(gsi["KeySchema"]),
            "Projection": {"ProjectionType": (gsi.get("Projection") or {}).get("ProjectionType")},
        }
        for gsi in data.get("GlobalSecondaryIndexes") or []
    ]
    return canonical_json(
        {
            "AttributeDefinitions": sorted(
                data.get("AttributeDefinitions") or [], key=lambda a: str(a["AttributeName"])
            ),
            "KeySchema": list(data.get("KeySchema") or []),
            "GlobalSecondaryIndexes": sorted(indexes, key=lambda g: str(g["IndexName"])),
        }
    )


@dataclass(frozen=True)
class GroupSpec:
    """The schedule group this tool owns."""

    name: str

    def to_api(self) -> dict[str, Any]:
        return {"Name": self.name}

    def fields(self) -> dict[str, Any]:
        return {"Name": self.name}


@dataclass(frozen=True)
class QueueSpec:
    """The dead-letter queue: SQS, encrypted at rest, keeping messages as long as SQS can."""

    name: str
    arn: str
    retention_s: int
    encrypted: bool  # SQS-managed keys or a KMS key: either is encryption at rest

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> QueueSpec:
        """From GetQueueAttributes' Attributes plus QueueName (or a saved plan's to_api)."""
        attributes = data.get("Attributes") or {}
        encrypted = str(attributes.get("SqsManagedSseEnabled", "")).lower() == "true" or bool(
            attributes.get("KmsMasterKeyId")
        )
        return cls(
            name=str(data["QueueName"]),
            arn=str(attributes.get("QueueArn", "")),
            retention_s=int(attributes.get("MessageRetentionPeriod", 345600)),
            encrypted=encrypted,
        )

    def attributes(self) -> dict[str, str]:
        """CreateQueue / SetQueueAttributes attributes (the ARN is AWS's, never set)."""
        attributes = {"MessageRetentionPeriod": str(self.retention_s)}
        if self.encrypted:
            attributes["SqsManagedSseEnabled"] = "true"
        return attributes

    def to_api(self) -> dict[str, Any]:
        return {"QueueName": self.name, "Attributes": {**self.attributes(), "QueueArn": self.arn}}

    def fields(self) -> dict[str, Any]:
        return {
            "QueueArn": self.arn,
            "MessageRetentionPeriod": self.retention_s,
            "Encrypted": self.encrypted,
        }


Resource = ScheduleSpec | FunctionSpec | TableSpec | GroupSpec | QueueSpec


def resource_from_api(kind: str, data: Mapping[str, Any]) -> Resource:
    if kind == SCHEDULE:
        return ScheduleSpec.from_api(data)
    if kind == EXECUTOR:
        return FunctionSpec.from_api(data)
    if kind == LOG_TABLE:
        return TableSpec.from_api(data)
    if kind == SCHEDULE_GROUP:
        return GroupSpec(name=str(data["Name"]))
    if kind == DEAD_LETTER_QUEUE:
        return QueueSpec.from_api(data)
    raise ValueError(f"unknown resource kind {kind!r}")


@dataclass(frozen=True)
class LiveState:
    """What is deployed now, read by reconciler.live and normalised like the desired state."""

    group: GroupSpec | None
    schedules: tuple[ScheduleSpec, ...]  # sorted by name; only the owned group's
    function: FunctionSpec | None
    table: TableSpec | None
    queue: QueueSpec | None = None

    def fingerprint(self, *, include_table: bool = True) -> str:
        return fingerprint(
            self.group,
            self.schedules,
            self.function,
            self.table if include_table else None,
            self.queue,
        )


def fingerprint(
    group: GroupSpec | None,
    schedules: tuple[ScheduleSpec, ...],
    function: FunctionSpec | None,
    table: TableSpec | None,
    queue: QueueSpec | None = None,
) -> str:
    """sha256 of a state in canonical JSON: equal states, equal fingerprints."""
    document = {
        "group": group.to_api() if group else None,
        "schedules": [s.to_api() for s in sorted(schedules, key=lambda s: s.name)],
        "executor": function.to_api() if function else None,
        "log_table": table.to_api() if table else None,
    }
    if queue is not None:  # absent rather than null: a state without one keeps its print
        document["dead_letter_queue"] = queue.to_api()
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
