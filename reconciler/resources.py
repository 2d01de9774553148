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

ResourceKind = Literal["log_table", "executor", "schedule_group", "schedule"]
SCHEDULE: Final = "schedule"
SCHEDULE_GROUP: Final = "schedule_group"
EXECUTOR: Final = "executor"
LOG_TABLE: Final = "log_table"
KINDS: tuple[ResourceKind, ...] = (LOG_TABLE, EXECUTOR, SCHEDULE_GROUP, SCHEDULE)

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
        return {**self.configuration(), "CodeSha256": self.code_sha256}

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
        return fields


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


Resource = ScheduleSpec | FunctionSpec | TableSpec | GroupSpec


def resource_from_api(kind: str, data: Mapping[str, Any]) -> Resource:
    if kind == SCHEDULE:
        return ScheduleSpec.from_api(data)
    if kind == EXECUTOR:
        return FunctionSpec.from_api(data)
    if kind == LOG_TABLE:
        return TableSpec.from_api(data)
    if kind == SCHEDULE_GROUP:
        return GroupSpec(name=str(data["Name"]))
    raise ValueError(f"unknown resource kind {kind!r}")


@dataclass(frozen=True)
class LiveState:
    """What is deployed now, read by reconciler.live and normalised like the desired state."""

    group: GroupSpec | None
    schedules: tuple[ScheduleSpec, ...]  # sorted by name; only the owned group's
    function: FunctionSpec | None
    table: TableSpec | None

    def fingerprint(self, *, include_table: bool = True) -> str:
        return fingerprint(
            self.group, self.schedules, self.function, self.table if include_table else None
        )


def fingerprint(
    group: GroupSpec | None,
    schedules: tuple[ScheduleSpec, ...],
    function: FunctionSpec | None,
    table: TableSpec | None,
) -> str:
    """sha256 of a state in canonical JSON: equal states, equal fingerprints."""
    document = {
        "group": group.to_api() if group else None,
        "schedules": [s.to_api() for s in sorted(schedules, key=lambda s: s.name)],
        "executor": function.to_api() if function else None,
        "log_table": table.to_api() if table else None,
    }
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
