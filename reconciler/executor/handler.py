"""The Lambda entry point: reconciler.executor.handler.handler (runtime python3.12).

Environment: OUROBOROS_LOG_TABLE (required), OUROBOROS_LOG_RETENTION_DAYS (default 90),
AWS_REGION (set by Lambda: the home region, where the log table lives).

Returns a summary. Raises only when Lambda's retry could help: the log table failed, or a pair
hit a transient error (throttling, an instance mid-transition). Pairs that finished are then
logged no-ops on the retry. A refused event (malformed, unknown, unfiltered) never raises.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler import runlog
from reconciler.executor import credentials, ec2, run
from reconciler.executor.claims import Claims, LogTableError
from reconciler.executor.event import EventRefused, Occurrence, parse_event

log = logging.getLogger("ouroboros.executor")
log.setLevel(logging.INFO)

# A claim outlives its holder's Lambda deadline by this much before a repeat may take it over.
LEASE_MARGIN_S = 5
# Without a Lambda context (tests, the demo, the benchmark): the longest a Lambda can run.
DEFAULT_DEADLINE_S = 900
TUNING = ec2.Tuning()


class ConfigurationError(Exception):
    pass


def handler(event: Any, context: Any) -> dict[str, Any]:
    request_id = str(getattr(context, "aws_request_id", "") or "")
    try:
        occ = parse_event(event, default_execution_id=request_id)
    except EventRefused as exc:
        return _refused(event, exc.problems)
    try:
        table, retention, region = _configuration(os.environ)
    except ConfigurationError as exc:
        summary = {"status": "failed", "rule": occ.rule, "problems": [str(exc)]}
        log.error(json.dumps(summary))
        return summary
    env = environment(occ, context, table, retention, region)
    return execute(occ, env)


def environment(
    occ: Occurrence, context: Any, table: str, retention_days: int, region: str
) -> run.Environment:
    session = credentials.new_session()
    clients = credentials.Clients(
        session,
        home_region=region,
        role_name=occ.role_name,
        session_name=credentials.role_session_name(occ.rule, occ.action),
        own_account=credentials.account_from_arn(getattr(context, "invoked_function_arn", None)),
    )
    remaining = _remaining_s(context)
    lease_until = int(datetime.now(UTC).timestamp() + remaining) + LEASE_MARGIN_S
    claims = Claims(clients.client("dynamodb", region), table, retention_days, lease_until)
    tuning = dataclasses.replace(
        TUNING,
        deadline=TUNING.clock() + remaining,
        # A short timeout keeps a proportionate reserve rather than none at all for the work.
        reserve_s=min(TUNING.reserve_s, remaining / 5),
    )
    return run.Environment(clients=clients, claims=claims, tuning=tuning)


def execute(occ: Occurrence, env: run.Environment) -> dict[str, Any]:
    started = time.monotonic()
    try:
        results = run.process_occurrence(occ, env)
    except LogTableError as exc:
        log.error(json.dumps({"rule": occ.rule, "status": "failed", "log_table_error": str(exc)}))
        raise
    summary = {
        "rule": occ.rule,
        "action": occ.action,
        "scheduled_time": occ.scheduled_time,
        "execution_id": occ.execution_id,
        "status": run.overall_status(results),
        "duration_ms": int((time.monotonic() - started) * 1000),
        "pairs": [r.summary() for r in results],
    }
    log.info(json.dumps(summary))
    retry = [r for r in results if r.retryable]
    if retry:
        where = ", ".join(
            f"{r.account}/{r.region} ({r.record.get('detail', r.status)})" for r in retry
        )
        raise run.Retryable(f"transient failures, Lambda may retry: {where}")
    return summary


def _refused(event: Any, problems: list[str]) -> dict[str, Any]:
    rule = event.get("rule") if isinstance(event, Mapping) else None
    summary = {
        "status": "refused",
        "rule": rule if isinstance(rule, str) else None,
        "problems": problems,
    }
    log.error(json.dumps({"message": "event refused: no AWS call made", **summary}))
    return summary


def _configuration(environ: Mapping[str, str]) -> tuple[str, int, str]:
    table = environ.get(runlog.TABLE_ENV, "").strip()
    if not table:
        raise ConfigurationError(
            f"{runlog.TABLE_ENV} is not set: the function needs its log table name"
        )
    raw = environ.get(runlog.RETENTION_ENV, "").strip() or str(runlog.DEFAULT_RETENTION_DAYS)
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"{runlog.RETENTION_ENV}={raw!r}: give a whole number of days >= 1"
        )
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigurationError("AWS_REGION is not set")
    return table, int(raw), region


def _remaining_s(context: Any) -> float:
    """Seconds until Lambda stops this invocation."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float(remaining() / 1000) if callable(remaining) else DEFAULT_DEADLINE_S
