"""One occurrence: every (account, region) pair claimed, resolved and acted on independently."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler import checks, runlog
from reconciler.executor import decisions, ec2
from reconciler.executor.claims import DUPLICATE, RETRY, Claim, Claims, LogTableError
from reconciler.executor.credentials import Clients
from reconciler.executor.event import Occurrence
from reconciler.executor.kinds import KINDS, Kind, Picked
from reconciler.executor.manifest import Manifest, ManifestUnreadable, RuleEntry
from reconciler.executor.selection import FireContext, fire_skip
from reconciler.runlog import RUNNING

SKIPPED = "skipped"

log = logging.getLogger("ouroboros.executor")

MAX_WORKERS = 8
HISTORY_MAX = 10  # earlier attempts kept on a retried item
HISTORY_ERRORS = 5  # errors kept per earlier attempt
# A log item must stay under DynamoDB's 400 KB: lists keep their first entries, counts stay exact.
LIST_MAX = 1000
# What the result may take of the 400 KB; keys, names and identity fit in the rest. 1,000 errors
# with 300-character messages beside 1,000 skips are ~470 KB, so lists are also cut to fit this.
ITEM_BUDGET = 350_000
_TRIMMABLE = ("errors", "skipped", "acted", "notes", "hibernated", "history")

# Errors a later attempt can get past: throttling, AWS-side trouble, an instance mid-transition.
RETRYABLE_CODES = ec2.THROTTLE_CODES | {
    ec2.NOT_ATTEMPTED_CODE,
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "IncorrectInstanceState",
    "InsufficientInstanceCapacity",
    "RequestExpired",
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    # RDS: the DB instance or cluster is between states; Auto Scaling: a scaling activity or
    # another update is under way. A retry describes it again and acts or skips with a reason.
    "InvalidDBInstanceState",
    "InvalidDBClusterStateFault",
    "ScalingActivityInProgress",
    "ResourceContention",
}


@dataclass(frozen=True)
class Environment:
    clients: Clients
    claims: Claims
    tuning: ec2.Tuning = field(default_factory=ec2.Tuning)
    # Reads the manifest (None: there is none); without it the union check is off (§12).
    load_manifest: Callable[[], Manifest | None] | None = None


class Decided:
    """What one firing decides once for all its pairs: a calendar date (before any AWS call),
    and, at a stop, the manifest (read by the first pair that gets past its claim, so a
    repeat delivery reads nothing)."""

    def __init__(self, occ: Occurrence, env: Environment) -> None:
        self.calendar_skip, self.calendar_warning = _calendar_skip(occ)
        self._occ = occ
        self._env = env
        self._lock = threading.Lock()
        self._union: tuple[Manifest | None, str | None] | None = None

    def union(self) -> tuple[Manifest | None, str | None]:
        """The manifest for the union check, or None and why it is off (None: by design)."""
        with self._lock:
            if self._union is None:
                self._union = _load_union(self._occ, self._env)
            return self._union


def _calendar_skip(occ: Occurrence) -> tuple[str | None, str | None]:
    """(why the calendar skips this firing, why the calendar could not be read)."""
    try:
        return decisions.calendar_skip(occ.calendar, occ.scheduled_time), None
    except Exception as exc:  # e.g. a country this executor's `holidays` does not know
        name = occ.calendar.name if occ.calendar else ""
        warning = (
            f"calendar {name} cannot be read here ({type(exc).__name__}: {exc}): acted as "
            "without it; apply again to update the executor"
        )
        log.warning(warning)
        return None, warning


def _load_union(occ: Occurrence, env: Environment) -> tuple[Manifest | None, str | None]:
    if occ.action != "stop" or env.load_manifest is None:
        return None, None
    try:
        manifest = env.load_manifest()
    except ManifestUnreadable as exc:
        return None, _without_manifest(f"the manifest is unreadable: {exc}")
    if manifest is None:
        return None, _without_manifest("there is no manifest (apply writes it)")
    stale = manifest.stale_for(_as_entry(occ))
    if stale is not None:
        return None, _without_manifest(f"the manifest is stale: {stale}")
    return manifest, None


def _as_entry(occ: Occurrence) -> RuleEntry:
    return RuleEntry(
        name=occ.rule,
        resource=occ.resource,
        accounts=occ.accounts,
        regions=occ.regions,
        targets=occ.targets,
        timezone=occ.calendar.timezone if occ.calendar else "UTC",
        calendar=occ.calendar,
    )


def _without_manifest(why: str) -> str:
    warning = (
        f"{why}; stopped without the union check (other rules' on-windows not honoured): "
        "run reconcile apply"
    )
    log.warning(warning)
    return warning


@dataclass(frozen=True)
class PairResult:
    """What happened in one (account, region); `record` is the run item's body."""

    account: str
    region: str
    status: str
    record: Mapping[str, Any]
    retryable: bool = False

    def summary(self) -> dict[str, Any]:
        r = self.record
        summary = {
            "account": self.account,
            "region": self.region,
            "status": self.status,
            "matched": r.get("matched", 0),
            "acted": r.get("acted_count", len(r.get("acted", []))),
            "skipped": r.get("skipped_count", len(r.get("skipped", []))),
            "errors": r.get("error_count", len(r.get("errors", []))),
            "duration_ms": r.get("duration_ms", 0),
        }
        if r.get("detail"):
            summary["detail"] = r["detail"]
        return summary


class Retryable(Exception):
    """Raised by the handler so Lambda retries; finished pairs become logged no-ops."""


def process_occurrence(occ: Occurrence, env: Environment) -> list[PairResult]:
    """Every pair, up to MAX_WORKERS at once. Raises LogTableError after all pairs ran."""
    pairs = occ.pairs
    decided = Decided(occ, env)
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(pairs))) as pool:
        futures = [
            pool.submit(process_pair, occ, account, region, env, decided)
            for account, region in pairs
        ]
    results: list[PairResult] = []
    table_errors: list[LogTableError] = []
    for future in futures:
        try:
            results.append(future.result())
        except LogTableError as exc:
            table_errors.append(exc)
    if table_errors:
        raise table_errors[0]
    return results


def process_pair(
    occ: Occurrence,
    account: str,
    region: str,
    env: Environment,
    decided: Decided | None = None,
) -> PairResult:
    started = time.monotonic()
    decided = decided if decided is not None else Decided(occ, env)
    claim = env.claims.claim(occ, account, region)
    if claim.state == DUPLICATE:
        row = env.claims.record_duplicate(occ, account, region, claim, _ms_since(started))
        log.info("%s/%s: %s", account, region, row["detail"])
        return PairResult(account, region, row["status"], row)
    if decided.calendar_skip is not None:
        record = _calendar_record(decided.calendar_skip, _ms_since(started))
        log.info("%s/%s: skipped: %s", account, region, decided.calendar_skip)
        env.claims.finish(occ, account, region, claim, record)
        return PairResult(account, region, SKIPPED, record)
    work = _work(occ, account, region, env, claim, decided)
    record = _finalise(occ, work, claim, _ms_since(started))
    warnings = [w for w in (decided.calendar_warning, work.warning) if w]
    if warnings:
        record["warning"] = "; ".join(warnings)
    env.claims.finish(occ, account, region, claim, record)
    return PairResult(account, region, record["status"], record, _retryable(record))


@dataclass
class _Work:
    matched: int = 0
    pages: int = 0
    acted: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    hibernated: list[str] = field(default_factory=list)
    plain_stops: list[str] = field(default_factory=list)
    refused: str | None = None
    would_act: int = 0
    fire_notes: list[dict[str, str]] = field(default_factory=list)  # expired overrides
    warning: str | None = None  # why the union check was off


def _calendar_record(reason: str, duration_ms: int) -> dict[str, Any]:
    """A calendar date: nothing described, nothing done, the reason logged."""
    return {
        "status": SKIPPED,
        "detail": reason,
        "matched": 0,
        "acted": [],
        "acted_count": 0,
        "skipped": [],
        "skipped_count": 0,
        "errors": [],
        "error_count": 0,
        "duration_ms": duration_ms,
        "describe_pages": 0,
    }


def _fire_context(
    occ: Occurrence, account: str, region: str, decided: Decided | None, work: _Work
) -> FireContext:
    at = runlog.parse_instant(occ.scheduled_time)
    manifest, work.warning = decided.union() if decided is not None else (None, None)
    if manifest is None:
        return FireContext(at)
    holders = decisions.holders(manifest, occ.rule, occ.resource, account, region, at)
    return FireContext(at, holders)


def _with_fire_decisions(picked: Picked, action: str, fire: FireContext, work: _Work) -> Picked:
    """The kind's selection, less what an override or (at a stop) another rule holds (§12)."""
    act: list[Any] = []
    skipped = list(picked.skipped)
    for resource in picked.act:
        skip, note = fire_skip(resource, action, fire)
        if note is not None and skip is None:
            work.fire_notes.append({"id": resource.id, "note": note})
        if skip is None:
            act.append(resource)
        else:
            skipped.append(skip)
    return Picked(tuple(act), tuple(skipped))


def _work(
    occ: Occurrence,
    account: str,
    region: str,
    env: Environment,
    claim: Claim,
    decided: Decided | None = None,
) -> _Work:
    work = _Work()
    if env.tuning.time_left() <= 0:
        work.errors.append(ec2.not_attempted(""))
        return work
    kind = KINDS[occ.resource]
    try:
        client = env.clients.client(kind.service, region, account)
        resources = _resolve(kind, client, occ, claim, env.tuning, work)
        picked = kind.select(client, occ, resources)
        fire = _fire_context(occ, account, region, decided, work)
        picked = _with_fire_decisions(picked, occ.action, fire, work)
        work.skipped = [s.as_log() for s in picked.skipped]
        work.would_act = len(picked.act)
        if len(picked.act) > occ.max_instances:
            work.refused = (
                f"{len(picked.act)} {_nouns(occ)} to {occ.action}, more than max_instances "
                f"({occ.max_instances}): acted on none"
            )
            return work
        outcome = kind.change_state(client, occ, picked.act, env.tuning)
    except (ClientError, BotoCoreError) as exc:
        work.errors.append(ec2.error_entry("", exc))
        return work
    except Exception as exc:  # a bug must not leave the claim "running" until its lease ends
        log.exception("%s/%s: unexpected error", account, region)
        work.errors.append({"id": "", "code": type(exc).__name__, "message": str(exc)[:300]})
        return work
    work.acted, work.errors = outcome.acted, outcome.errors
    work.hibernated, work.plain_stops = outcome.hibernated, outcome.plain_stops
    return work


def _nouns(occ: Occurrence) -> str:
    """What the refusal counts: "instances" for ec2 (as before kinds), else the kind's noun."""
    return f"{checks.RESOURCE_NOUNS.get(occ.resource, 'resource')}s"


def _resolve(
    kind: Kind, client: Any, occ: Occurrence, claim: Claim, tuning: ec2.Tuning, work: _Work
) -> list[Any]:
    """The resources to consider: all matches, or on a retry just the ones that failed."""
    retry_ids = _failed_ids(claim.previous) if claim.state == RETRY else None
    if retry_ids:
        resources, work.pages = kind.describe(client, occ.targets, retry_ids, tuning)
        work.matched = int((claim.previous or {}).get("matched", len(resources)))
    else:
        resources, work.pages = kind.describe(client, occ.targets, None, tuning)
        work.matched = len(resources)
    return resources


def _failed_ids(previous: Mapping[str, Any] | None) -> list[str] | None:
    """Instance ids to retry, or None to redo the whole pair (a pair-wide error, or unknown)."""
    if not previous or previous.get("status") not in ("failed", "partial"):
        return None
    errors = previous.get("errors", [])
    if previous.get("error_count", len(errors)) > len(errors):
        return None
    ids = [e.get("id", "") for e in errors]
    if not ids or "" in ids:
        return None
    return list(dict.fromkeys(ids))


def _finalise(occ: Occurrence, work: _Work, claim: Claim, duration_ms: int) -> dict[str, Any]:
    previous = claim.previous if claim.state == RETRY else None
    earlier: Mapping[str, Any] = previous or {}
    acted = _merge(earlier.get("acted", []), work.acted)
    acted_count = int(earlier.get("acted_count", 0)) + len(work.acted)
    done = set(acted)
    skipped = [s for s in work.skipped if s["id"] not in done]
    skipped_count = len(skipped)
    if previous and _failed_ids(previous):
        # Only the failed instances were described again: the first attempt's skips still hold.
        skipped = [*previous.get("skipped", []), *skipped]
        skipped_count += int(previous.get("skipped_count", len(previous.get("skipped", []))))
    status = _status(work, acted_count)
    record: dict[str, Any] = {
        "status": status,
        "matched": work.matched,
        "acted": acted[:LIST_MAX],
        "acted_count": acted_count,
        "skipped": skipped[:LIST_MAX],
        "skipped_count": skipped_count,
        "errors": work.errors[:LIST_MAX],
        "error_count": len(work.errors),
        "duration_ms": duration_ms,
        "describe_pages": work.pages,
    }
    if occ.resource != checks.DEFAULT_RESOURCE:
        record["resource"] = occ.resource  # an EC2 record stays as it was before kinds
    if occ.hibernate and occ.action == "stop":
        hibernated = _merge(earlier.get("hibernated", []), work.hibernated)
        notes = [
            *earlier.get("notes", []),
            *(
                {"id": i, "note": "hibernation not configured: stopped without hibernation"}
                for i in work.plain_stops
            ),
        ]
        record["hibernated"] = hibernated[:LIST_MAX]
        record["hibernated_count"] = int(earlier.get("hibernated_count", 0)) + len(work.hibernated)
        record["notes"] = notes[:LIST_MAX]
    if work.fire_notes:
        record["notes"] = [*record.get("notes", earlier.get("notes", [])), *work.fire_notes][
            :LIST_MAX
        ]
    if work.refused:
        record["detail"] = work.refused
        record["would_act"] = work.would_act
    elif work.errors:
        first = work.errors[0]
        record["detail"] = (
            f"{len(work.errors)} error(s), first: {first['code']}: {first['message']}"
        )
    if previous is not None:
        record["retry_of"] = str(previous.get("execution_id", ""))
        record["history"] = _history(previous)
    return _fit(record)


def _fit(record: dict[str, Any]) -> dict[str, Any]:
    """Halve the largest list until the item fits DynamoDB's limit; the counts stay exact.

    A result too large to write would fail every attempt alike and leave the claim "running".
    """
    while _size(record) > ITEM_BUDGET:
        lists = [name for name in _TRIMMABLE if record.get(name)]
        if not lists:
            break
        name = max(lists, key=lambda n: _size(record[n]))
        record[name] = record[name][: len(record[name]) // 2]
    return record


def _size(value: Any) -> int:
    """An upper bound of DynamoDB's size: JSON spends more on quotes and commas than it does."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _history(previous: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Earlier attempts, oldest first, so a retry does not erase what the first one hit."""
    errors = previous.get("errors", [])
    earlier = {
        "attempt": int(previous.get("attempts", 1)),
        "execution_id": str(previous.get("execution_id", "")),
        "started_at": str(previous.get("started_at", "")),
        # A claim still "running" was abandoned: its holder died before writing a result.
        "status": "unfinished"
        if previous.get("status") == RUNNING
        else str(previous.get("status")),
        "error_count": int(previous.get("error_count", len(errors))),
        "errors": errors[:HISTORY_ERRORS],
    }
    return [*previous.get("history", []), earlier][-HISTORY_MAX:]


def _status(work: _Work, acted_count: int) -> str:
    if work.refused:
        return "refused"
    if not work.errors:
        return "ok"
    return "partial" if acted_count else "failed"


def _retryable(record: Mapping[str, Any]) -> bool:
    if record["status"] not in ("failed", "partial"):
        return False
    return any(e.get("code") in RETRYABLE_CODES for e in record.get("errors", []))


def _merge(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def overall_status(results: Sequence[PairResult]) -> str:
    statuses = {r.status for r in results}
    if statuses <= {"ok", DUPLICATE}:
        return DUPLICATE if statuses == {DUPLICATE} else "ok"
    if len(statuses) == 1:
        return next(iter(statuses))
    return "partial"
