"""`reconcile report --out DIR`: a static site anyone can read without AWS credentials.

Every rule with its next firings, its week and its hours off, the runs of the last `--days`
days from the log table, failed runs at the top, and the apply history. `--offline` reads no
AWS at all: rules and times only, and the page says so. `--plan FILE` (a JSON plan saved with
`reconcile plan --out`) adds each rule's target count from the plan's preview, and `--verify
FILE` (the JSON of `reconcile verify --format json`) its missed, failed and late firings at the
top of the page.

The page is one index.html, a page per rule and two asset files; it needs no server (file://,
GitHub Pages, an S3 website).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

from reconciler import output, runlog
from reconciler.aws import client_in
from reconciler.awserror import error_code
from reconciler.errors import FatalError
from reconciler.loader import load_rules
from reconciler.model import Rule, Settings
from reconciler.regions import partition_of_arn
from reconciler.report.data import Missed, Report, build_report
from reconciler.report.render import pages, write_site
from reconciler.settings import load_settings
from reconciler.timeline import calendar_skip

GENERATOR = '<meta name="generator" content="ouroboros reconcile report">'
MAX_DAYS = 90


def run(
    *,
    rules_dir: str,
    settings_path: str,
    out: str,
    offline: bool = False,
    days: int = 7,
    plan_file: str | None = None,
    verify_file: str | None = None,
    now: datetime | None = None,
) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise FatalError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
    target = _out_dir(out)
    now = now or _now()
    settings = _settings(settings_path, required=not offline)
    rules = _rules(rules_dir, settings)
    # The files first: a bad --plan or --verify fails before any AWS call.
    targets = _targets(plan_file) if plan_file else None
    verify = _findings(verify_file) if verify_file else None
    entries, source = (
        (None, None)
        if offline or settings is None
        else _read_log(settings, settings_path, now, days)
    )
    report = build_report(
        rules,
        now=now,
        days=days,
        entries=entries,
        log_source=source,
        targets=targets,
        targets_from=plan_file,
        verify=verify,
        repo_url=_repo_url(),
        skip=calendar_skip,
    )
    _write(report, target)
    return 0


def _write(report: Report, target: Path) -> None:
    """The site into `target` (an earlier report's pages replaced); its path on stdout."""
    site = pages(report)
    _clear(target)
    write_site(site, target)
    size = sum(len(text.encode()) for text in site.values())
    read = (
        "offline: no run log read"
        if report.offline
        else f"{_count_of(report.runs_total, 'run', 'runs')} and "
        f"{_count_of(len(report.applies), 'apply', 'applies')} in the last {report.days} days"
    )
    output.err(
        f"report: {len(report.rules)} rules, {read}; {len(site)} files, {size / 1024:.0f} KiB"
    )
    output.out(str(target / "index.html"))


def _count_of(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _now() -> datetime:
    """The report's clock (tests pin it)."""
    return datetime.now(UTC).replace(microsecond=0)


def _out_dir(out: str) -> Path:
    """A new or empty directory, or one holding an earlier report (which is replaced)."""
    target = Path(out)
    if target.exists() and not target.is_dir():
        raise FatalError(f"--out {out} is a file: give a directory for the report's pages")
    if target.is_dir() and any(target.iterdir()) and not _holds_report(target):
        raise FatalError(
            f"--out {out} is not empty and holds no earlier report: give a new or empty "
            "directory (the report replaces what it wrote before, and nothing else)"
        )
    return target


def _holds_report(target: Path) -> bool:
    index = target / "index.html"
    try:
        return index.is_file() and GENERATOR in index.read_text(encoding="utf-8")[:2000]
    except (OSError, UnicodeDecodeError):
        return False


def _clear(target: Path) -> None:
    """Remove an earlier report's pages, so a deleted rule's page does not linger."""
    for name in ("rules", "assets"):
        if (target / name).is_dir():
            shutil.rmtree(target / name)
    (target / "index.html").unlink(missing_ok=True)


def _settings(path: str, *, required: bool) -> Settings | None:
    if not required and not os.path.exists(path):
        return None
    return load_settings(path)


def _rules(rules_dir: str, settings: Settings | None) -> tuple[Rule, ...]:
    loaded = load_rules(
        [rules_dir],
        partition=partition_of_arn(settings.executor_role_arn) if settings else None,
        allowed_accounts=settings.allowed_accounts if settings else None,
    )
    for diagnostic in loaded.diagnostics:
        output.err(diagnostic.text())
    if not loaded.ok:
        errors = sum(1 for d in loaded.diagnostics if d.severity == "error")
        raise FatalError(
            f"the rules have {errors} error{'s' if errors != 1 else ''} (listed above): fix "
            "them and run again; no report was written"
        )
    return loaded.rules


def _read_log(
    settings: Settings, settings_path: str, now: datetime, days: int
) -> tuple[list[dict[str, Any]], str]:
    client = client_in(settings.region, "dynamodb")
    try:
        entries = runlog.query_range(client, settings.log_table, now - timedelta(days=days), now)
    except (NoCredentialsError, PartialCredentialsError):
        raise FatalError(
            "no AWS credentials to read the run log: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `reconcile report --offline` for the rules and "
            "their times alone"
        ) from None
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise FatalError(
                f"log table {settings.log_table} not found in {settings.region}: `reconcile "
                f"apply` creates it; check log_table and region in {settings_path}, or run "
                "`reconcile report --offline`"
            ) from None
        raise
    return entries, f"table {settings.log_table} in {settings.region}"


def _targets(plan_file: str) -> dict[str, int]:
    """Each rule's target count from a saved JSON plan's preview (`rules[].targets.count`)."""
    document = _json_file(plan_file, "--plan", "`reconcile plan --format json --out FILE`")
    counts = {}
    entries = document.get("rules") if isinstance(document, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        count = _count(entry)
        if count is not None:
            counts[str(entry["name"])] = count
    if not counts:
        output.err(f"note: --plan {plan_file} holds no target counts; the report shows none")
    return counts


VERIFY_BUCKETS = ("missed", "failed", "late")


def _findings(verify_file: str) -> list[Missed]:
    """The missed, failed and late firings of `reconcile verify --format json` (DESIGN.md §11)."""
    document = _json_file(verify_file, "--verify", "`reconcile verify --format json > FILE`")
    if not isinstance(document, Mapping) or not all(
        isinstance(document.get(bucket), list) for bucket in VERIFY_BUCKETS
    ):
        raise FatalError(
            f"--verify {verify_file} is not the JSON of `reconcile verify --format json`: "
            f"it needs the lists {', '.join(VERIFY_BUCKETS)}"
        )
    return [
        Missed(
            str(f.get("rule", "")),
            str(f.get("action", "")),
            str(f.get("scheduled_time", "")),
            bucket,
            str(f.get("detail", "")),
        )
        for bucket in VERIFY_BUCKETS
        for f in document[bucket]
        if isinstance(f, Mapping)
    ]


def _json_file(path: str, option: str, how: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise FatalError(f"{option} {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise FatalError(f"{option} {path} is not JSON: save it with {how}") from None


def _count(entry: object) -> int | None:
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        return None
    targets = entry.get("targets")
    count = targets.get("count") if isinstance(targets, Mapping) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def _repo_url() -> str | None:
    """In GitHub Actions, the repository's address: apply records then link their commits."""
    server, repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repository}" if server and repository else None
