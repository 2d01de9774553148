"""The Lambda entry point: reconciler.executor.handler.handler (runtime python3.12).

Environment (set by `reconcile apply` from the settings): OUROBOROS_LOG_TABLE,
OUROBOROS_SCHEDULE_GROUP and OUROBOROS_TARGET_ROLE (required), OUROBOROS_LOG_RETENTION_DAYS
(default 90), OUROBOROS_ALLOWED_ACCOUNTS (comma-separated; absent: any account), AWS_REGION
(set by Lambda: the home region, where the log table and the schedules live).

Returns a summary. Raises only when Lambda's retry could help: the log table failed, the
schedule could not be read, or a pair hit a transient error (throttling, an instance
mid-transition). Pairs that finished are then logged no-ops on the retry. A refused event
(malformed, unknown, unfiltered, or not one a deployed schedule of ours sent) never raises.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import runlog
from reconciler.executor import credentials, ec2, manifest, metrics, run, trust
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


@dataclass(frozen=True)
class Configuration:
    """The function's environment."""

    table: str
    retention_days: int
    region: str
    group: str
    target_role: str
    allowed_accounts: frozenset[str] | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    return handle(event, context, TUNING)


def handle(event: Any, context: Any, tuning: ec2.Tuning) -> dict[str, Any]:
    """The handler with its tuning (and wall clock) given: the demo plays days ahead on it."""
    request_id = str(getattr(context, "aws_request_id", "") or "")
    try:
        occ = parse_event(event, default_execution_id=request_id)
    except EventRefused as exc:
        return _refused(event, exc.problems)
    try:
        config = _configuration(os.environ)
    except ConfigurationError as exc:
        summary = {"status": "failed", "rule": occ.rule, "problems": [str(exc)]}
        log.error(json.dumps(summary))
        return summary
    env = environment(occ, context, config, tuning)
    problems = _untrusted(event, occ, context, config, env)
    if problems:
        return _refused_occurrence(occ, env, config, problems)
    return execute(occ, env)


def environment(
    occ: Occurrence, context: Any, config: Configuration, tuning: ec2.Tuning = TUNING
) -> run.Environment:
    session = credentials.new_session()
    clients = credentials.Clients(
        session,
        home_region=config.region,
        role_name=config.target_role,
        session_name=credentials.role_session_name(occ.rule, occ.action),
        own_account=credentials.account_from_arn(getattr(context, "invoked_function_arn", None)),
    )
    remaining = _remaining_s(context)
    lease_until = int(datetime.now(UTC).timestamp() + remaining) + LEASE_MARGIN_S
    dynamodb = clients.client("dynamodb", config.region)
    claims = Claims(dynamodb, config.table, config.retention_days, lease_until)
    tuning = dataclasses.replace(
        tuning,
        deadline=tuning.clock() + remaining,
        # A short timeout keeps a proportionate reserve rather than none at all for the work.
        reserve_s=min(tuning.reserve_s, remaining / 5),
    )
    return run.Environment(
        clients=clients,
        claims=claims,
        tuning=tuning,
        load_manifest=lambda: read_manifest(dynamodb, config.table),
    )


def read_manifest(client: Any, table: str) -> manifest.Manifest | None:
    """The rules' manifest (§12), None if there is none; ManifestUnreadable if unusable."""
    try:
        item = client.get_item(TableName=table, Key=manifest.KEY, ConsistentRead=True).get("Item")
    except (ClientError, BotoCoreError) as exc:
        raise manifest.ManifestUnreadable(f"cannot read it: {exc}") from exc
    return manifest.decode(item) if item else None


def _untrusted(
    event: Mapping[str, Any],
    occ: Occurrence,
    context: Any,
    config: Configuration,
    env: run.Environment,
) -> list[str]:
    """Why the event is not one a deployed schedule of ours sent (empty: it is)."""
    function_arn = _own_function_arn(context, env.clients, config.region)
    if function_arn is None:
        return ["cannot tell this function's own ARN (no context.invoked_function_arn)"]
    boundary = trust.Boundary(
        function_arn, config.group, config.target_role, config.allowed_accounts
    )
    problems = trust.check_event(occ, boundary, env.tuning.now())
    if problems:
        return problems
    scheduler = env.clients.client("scheduler", config.region)
    try:
        schedule = trust.read_schedule(scheduler, occ, config.group)
    except trust.ScheduleUnreadable as exc:
        log.error(json.dumps({"rule": occ.rule, "status": "failed", "error": str(exc)}))
        raise run.Retryable(str(exc)) from exc
    return trust.check_schedule(event, occ, schedule, boundary)


def _own_function_arn(context: Any, clients: credentials.Clients, region: str) -> str | None:
    given = trust.unqualified(str(getattr(context, "invoked_function_arn", "") or ""))
    if given is not None:
        return given
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or getattr(context, "function_name", "")
    if not name:
        return None
    try:
        account = clients.own_account()
    except (ClientError, BotoCoreError):
        return None
    return f"arn:{clients.partition}:lambda:{region}:{account}:function:{name}"


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
    # stdout, not the logger: Lambda's log format prefixes lines, and EMF wants bare JSON.
    env.tuning.emit(metrics.emf_line(summary, occ.schedule_arn, int(time.time() * 1000)))
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


def _refused_occurrence(
    occ: Occurrence, env: run.Environment, config: Configuration, problems: list[str]
) -> dict[str, Any]:
    """Refused at the trust boundary: no EC2 call, and a row in the run log saying why."""
    summary = {"status": "refused", "rule": occ.rule, "problems": problems}
    log.error(json.dumps({"message": "event refused: not sent by our schedule", **summary}))
    now = datetime.now(UTC)
    delivery = f"{runlog.iso_z(now)}#{uuid.uuid4().hex[:8]}"
    values = {
        **runlog.refusal_key(occ.rule, occ.scheduled_time, occ.action, delivery),
        "kind": runlog.KIND_RUN,
        "rule": occ.rule,
        "action": occ.action,
        "account": "-",
        "region": "-",
        "scheduled_time": occ.scheduled_time,
        "schedule_arn": occ.schedule_arn,
        "execution_id": occ.execution_id,
        "status": "refused",
        "detail": f"event refused: {'; '.join(problems)}"[:2000],
        "matched": 0,
        "acted": [],
        "skipped": [],
        "errors": [],
        "error_count": 0,
        "started_at": runlog.iso_z(now),
        runlog.TTL_ATTRIBUTE: runlog.expires_at(now, config.retention_days),
    }
    try:
        client = env.clients.client("dynamodb", config.region)
        client.put_item(TableName=config.table, Item=runlog.to_item(values))
    except (ClientError, BotoCoreError) as exc:
        # The refusal did nothing, so losing its row loses no record of an action.
        log.warning("could not record the refusal in the run log: %s", exc)
    return summary


def _configuration(environ: Mapping[str, str]) -> Configuration:
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
    group, role = (_required(environ, name) for name in (runlog.GROUP_ENV, runlog.TARGET_ROLE_ENV))
    allowed = environ.get(runlog.ALLOWED_ACCOUNTS_ENV, "").strip()
    return Configuration(
        table,
        int(raw),
        region,
        group,
        role,
        frozenset(a.strip() for a in allowed.split(",")) if allowed else None,
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"{name} is not set: `reconcile apply` sets it from the settings; apply again"
        )
    return value


def _remaining_s(context: Any) -> float:
    """Seconds until Lambda stops this invocation."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return float(remaining() / 1000) if callable(remaining) else DEFAULT_DEADLINE_S
