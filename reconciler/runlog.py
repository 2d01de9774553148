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

from datetime import UTC, datetime
from typing import Any

PK = "pk"
SK = "sk"
GSI_NAME = "by-day"
GSI_PK = "gsi1pk"
GSI_SK = "gsi1sk"
TTL_ATTRIBUTE = "expires_at"
DEFAULT_RETENTION_DAYS = 90

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
