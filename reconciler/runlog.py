"""The DynamoDB log table: its shape and its keys (shared by executor, apply and `logs`).

Standard library only at import time: the executor ships this module in its zip.

One table, single-table design:

| item            | pk                 | sk                                          | gsi1pk          | gsi1sk                          |
|-----------------|--------------------|---------------------------------------------|-----------------|---------------------------------|
| executor run    | RULE#<rule>        | RUN#<scheduled_time>#<action>#<acct>#<reg>  | DAY#<yyyy-mm-dd>| <scheduled_time>#RUN#<rule>#... |
| apply record    | APPLY              | APPLY#<started_at>#<id>                     | DAY#<yyyy-mm-dd>| <started_at>#APPLY#<id>         |
| apply lock      | LOCK#apply         | LOCK                                        | -               | -                               |

- `logs --rule R --since/--until` is a Query on pk=RULE#R with sk BETWEEN.
- `logs --since/--until` alone is one Query per day on the GSI (gsi1pk=DAY#d, gsi1sk BETWEEN).
- Times are ISO 8601 UTC with a Z (`2026-11-27T08:00:00Z`), so string order is time order.
- Every item but the lock carries `expires_at` (epoch seconds): the table's TTL attribute.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient

PK = "pk"
SK = "sk"
GSI_NAME = "by-day"
GSI_PK = "gsi1pk"
GSI_SK = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"
DEFAULT_RETENTION_DAYS = 90
# The executor's environment, which apply deploys and the handler reads.
TABLE_ENV = "OUROBOROS_LOG_TABLE"
RETENTION_ENV = "OUROBOROS_LOG_RETENTION_DAYS"
# The executor's trust boundary (executor/trust.py), from the settings, never from the event.
GROUP_ENV = "OUROBOROS_SCHEDULE_GROUP"
TARGET_ROLE_ENV = "OUROBOROS_TARGET_ROLE"
ALLOWED_ACCOUNTS_ENV = "OUROBOROS_ALLOWED_ACCOUNTS"  # comma-separated; absent: any account

LOCK_PK = "LOCK#apply"
LOCK_SK = "LOCK"

# CreateTable arguments (less the table name); apply and the tests build the table from these.
TABLE_DEFINITION: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": PK, "AttributeType": "S"},
        {"AttributeName": SK, "AttributeType": "S"},
        {"AttributeName": GSI_PK, "AttributeType": "S"},
        {"AttributeName": GSI_SK, "AttributeType": "S"},
    ],
    "KeySchema": [
        {"AttributeName": PK, "KeyType": "HASH"},
        {"AttributeName": SK, "KeyType": "RANGE"},
    ],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": GSI_NAME,
            "KeySchema": [
                {"AttributeName": GSI_PK, "KeyType": "HASH"},
                {"AttributeName": GSI_SK, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


def iso_z(moment: datetime) -> str:
    """UTC, second precision, with a Z: sortable as a string."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_key(moment_iso_z: str) -> str:
    return f"DAY#{moment_iso_z[:10]}"


def run_key(
    rule: str, scheduled_time: str, action: str, account: str, region: str
) -> dict[str, str]:
    return {PK: f"RULE#{rule}", SK: f"RUN#{scheduled_time}#{action}#{account}#{region}"}


def run_index(
    rule: str, scheduled_time: str, action: str, account: str, region: str
) -> dict[str, str]:
    return {
        GSI_PK: day_key(scheduled_time),
        GSI_SK: f"{scheduled_time}#RUN#{rule}#{action}#{account}#{region}",
    }


def apply_key(started_at: str, apply_id: str) -> dict[str, str]:
    return {PK: "APPLY", SK: f"APPLY#{started_at}#{apply_id}"}


def apply_index(started_at: str, apply_id: str) -> dict[str, str]:
    return {GSI_PK: day_key(started_at), GSI_SK: f"{started_at}#APPLY#{apply_id}"}


def expires_at(now: datetime, retention_days: int = DEFAULT_RETENTION_DAYS) -> int:
    return int(now.timestamp()) + retention_days * 86400


# --- Values -------------------------------------------------------------------------------------

# skipped: a calendar date of the rule (§12), the firing did nothing.
RunStatus = Literal["ok", "partial", "failed", "refused", "duplicate", "skipped"]
RUN_STATUSES: tuple[RunStatus, ...] = (
    "ok",
    "partial",
    "failed",
    "refused",
    "duplicate",
    "skipped",
)
# A run item's status while its executor attempt holds the claim; `logs` shows a claim whose
# lease ran out (the Lambda timed out or crashed) as failed.
RUNNING: Final = "running"
ApplyOutcome = Literal["ok", "partial", "failed"]
APPLY_OUTCOMES: tuple[ApplyOutcome, ...] = ("ok", "partial", "failed")
EntryKind = Literal["run", "apply"]
KIND_RUN: Final = "run"
KIND_APPLY: Final = "apply"
UNFINISHED_MESSAGE = (
    "the executor stopped before recording a result (Lambda timeout or crash); "
    "see its CloudWatch logs"
)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant (`2026-11-27T19:00:00Z`, offsets, fractions) as an aware UTC datetime.

    A value without an offset is read as UTC. Raises ValueError for anything else.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-05:00 is past the last datetime in UTC
        raise ValueError(f"{text!r} is out of range") from None


def duplicate_key(
    rule: str, scheduled_time: str, action: str, account: str, region: str, delivery: str
) -> dict[str, str]:
    """A repeated delivery of a finished occurrence: its own row, next to the run it repeats.

    `delivery` (the repeat's start time and execution id) keeps every repeat visible; the sort
    keys extend the run's, so the rule query and the day query both return it.
    """
    key = run_key(rule, scheduled_time, action, account, region)
    index = run_index(rule, scheduled_time, action, account, region)
    return {
        PK: key[PK],
        SK: f"{key[SK]}#DUP#{delivery}",
        GSI_PK: index[GSI_PK],
        GSI_SK: f"{index[GSI_SK]}#DUP#{delivery}",
    }


def refusal_key(rule: str, scheduled_time: str, action: str, delivery: str) -> dict[str, str]:
    """An event the executor refused: a row of its own, never the occurrence's run key.

    Were it the run key, a forged event could pre-claim an occurrence and make the real
    firing a no-op. The sort keys extend the run's prefix, so `reconcile logs` lists it.
    """
    return {
        PK: f"RULE#{rule}",
        SK: f"RUN#{scheduled_time}#{action}#REFUSED#{delivery}",
        GSI_PK: day_key(scheduled_time),
        GSI_SK: f"{scheduled_time}#RUN#{rule}#{action}#REFUSED#{delivery}",
    }


# --- DynamoDB attribute values (stdlib only, so the executor zip needs no boto3.dynamodb) -------


def to_attribute(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB AttributeValue. Floats are refused: store ints or strings."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in the log table")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind in ("SS", "NS"):
        return sorted(value)
    raise ValueError(f"unsupported DynamoDB attribute type {kind}")


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {name: from_attribute(value) for name, value in item.items()}


# --- Apply records (written by `reconcile apply`) -----------------------------------------------

_APPLY_REQUIRED = (
    "started_at",
    "finished_at",
    "actor",
    "commit",
    "outcome",
    "summary",
    "changes",
    "duration_ms",
)
_APPLY_OPTIONAL = (
    "pr_number",
    "error",
    "apply_id",
    "changes_total",
    "worktree",  # clean | dirty: <git status --porcelain, shortened>
    "diffs_omitted",  # changes whose field diff did not fit in the item
)


def put_apply_record(
    client: DynamoDBClient,
    table_name: str,
    record: Mapping[str, Any],
    *,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> str:
    """Write one apply record with a low-level DynamoDB client; returns its apply id.

    `record` holds started_at and finished_at (ISO 8601; stored as UTC with a Z), actor,
    commit, outcome (ok | partial | failed), summary (str), changes (list of {action, kind,
    name, result}), duration_ms (int), and optionally pr_number (int), error (str) and
    apply_id (str; a random one when absent). Raises ValueError for a malformed record.
    """
    missing = [name for name in _APPLY_REQUIRED if name not in record]
    unknown = sorted(set(record) - set(_APPLY_REQUIRED) - set(_APPLY_OPTIONAL))
    if missing or unknown:
        raise ValueError(
            f"apply record: missing {missing or 'nothing'}, unknown {unknown or 'none'}"
        )
    if record["outcome"] not in APPLY_OUTCOMES:
        raise ValueError(f"apply record: outcome must be one of {', '.join(APPLY_OUTCOMES)}")
    started_at = iso_z(parse_instant(str(record["started_at"])))
    apply_id = str(record.get("apply_id") or uuid.uuid4().hex[:12])
    values: dict[str, Any] = {
        **apply_key(started_at, apply_id),
        **apply_index(started_at, apply_id),
        "kind": KIND_APPLY,
        **{k: v for k, v in record.items() if v is not None},
        "apply_id": apply_id,
        "started_at": started_at,
        "finished_at": iso_z(parse_instant(str(record["finished_at"]))),
        TTL_ATTRIBUTE: expires_at(datetime.now(UTC), retention_days),
    }
    client.put_item(TableName=table_name, Item=to_item(values))
    return apply_id


# --- Reading (reconcile logs): Query only, never Scan -------------------------------------------

_INTERNAL_ATTRIBUTES = (PK, SK, GSI_PK, GSI_SK, "lease_until")


def query_rule(
    client: DynamoDBClient, table_name: str, rule: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """One rule's run items (and repeat deliveries) scheduled in [since, until]."""
    return _query(
        client,
        TableName=table_name,
        KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
        ExpressionAttributeNames={"#pk": PK, "#sk": SK},
        ExpressionAttributeValues={
            ":pk": {"S": f"RULE#{rule}"},
            ":low": {"S": f"RUN#{iso_z(since)}"},
            ":high": {"S": f"RUN#{iso_z(until)}~"},
        },
    )


def query_range(
    client: DynamoDBClient, table_name: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Every run item and apply record in [since, until]: one index query per UTC day."""
    entries: list[dict[str, Any]] = []
    for day in _days(since, until):
        entries += _query(
            client,
            TableName=table_name,
            IndexName=GSI_NAME,
            KeyConditionExpression="#pk = :pk AND #sk BETWEEN :low AND :high",
            ExpressionAttributeNames={"#pk": GSI_PK, "#sk": GSI_SK},
            ExpressionAttributeValues={
                ":pk": {"S": f"DAY#{day}"},
                ":low": {"S": iso_z(since)},
                ":high": {"S": f"{iso_z(until)}~"},
            },
        )
    return entries


def entry_time(entry: Mapping[str, Any]) -> str:
    """When a log entry happened: a run's scheduled time, an apply's start."""
    if entry.get("kind") == KIND_APPLY:
        return str(entry.get("started_at", ""))
    return str(entry.get("scheduled_time", ""))


def _days(since: datetime, until: datetime) -> list[str]:
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _query(client: DynamoDBClient, **request: Any) -> list[dict[str, Any]]:
    now = int(datetime.now(UTC).timestamp())
    entries: list[dict[str, Any]] = []
    while True:
        page = client.query(**request)
        for raw in page.get("Items", []):
            item = from_item(raw)
            # TTL deletion is lazy (up to days late): an expired item is already gone for us.
            if item.get("kind") in (KIND_RUN, KIND_APPLY) and item.get(TTL_ATTRIBUTE, now) >= now:
                entries.append(_as_entry(item, now))
        if "LastEvaluatedKey" not in page:
            return entries
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _as_entry(item: Mapping[str, Any], now: int) -> dict[str, Any]:
    entry = {k: v for k, v in item.items() if k not in _INTERNAL_ATTRIBUTES}
    if entry.get("status") == RUNNING and int(item.get("lease_until", now)) < now:
        # The attempt holding the claim never wrote its result: it timed out or crashed.
        entry["status"] = "failed"
        entry["errors"] = [
            *entry.get("errors", []),
            {"id": "", "code": "Unfinished", "message": UNFINISHED_MESSAGE},
        ]
    return entry
