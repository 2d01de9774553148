"""Benchmark: `reconcile report` for 1,000 rules and 7 days of their runs.

Generates 1,000 rules (20 time zones, office hours, night stops, month-end windows) and two runs
a weekday per rule for the last 7 days (10,000 runs, some failed or partial), then times the
report's three stages in this process: the data (firings, weeks, hours off), the pages (Jinja2)
and writing the files. Prints the sizes: the index, the largest rule page, the whole site.
Reading the log table is not part of it (`reconcile logs` reads the same way).

Targets: under 5 s from rules and runs to the written site; the index under 2 MB (a browser on
a phone opens it at once), a rule page under 100 KB.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.model import Rule
from reconciler.report.data import build_report
from reconciler.report.render import pages, write_site

RULES = 1_000
DAYS = 7
NOW = datetime(2026, 3, 27, 10, 0, tzinfo=UTC)  # a week with the EU's clock change in it
TARGET_SECONDS = 5.0
INDEX_MAX_BYTES = 2_000_000
RULE_PAGE_MAX_BYTES = 100_000
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Australia/Sydney",
    "Australia/Perth",
    "Pacific/Auckland",
    "Africa/Johannesburg",
    "America/Santiago",
    "Asia/Tehran",
)
SHAPES = (
    ("cron(0 8 ? * MON-FRI *)", "cron(0 19 ? * MON-FRI *)"),
    ("cron(30 6 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)"),
    (None, "cron(0 22 * * ? *)"),
    ("cron(0 7 ? * MON *)", "cron(0 18 ? * FRI *)"),
    ("cron(0 5 ? * 2#1 *)", "cron(0 23 ? * 6L *)"),
)


def make_rules() -> list[Rule]:
    rules = []
    for n in range(RULES):
        start, stop = SHAPES[n % len(SHAPES)]
        rules.append(
            Rule(
                name=f"team-{n:04d}-fleet",
                description=f"Team {n} fleet in {ZONES[n % len(ZONES)]}, see the runbook",
                accounts=(f"{100000000000 + n % 50:012d}",),
                regions=("eu-west-1", "us-east-1") if n % 3 == 0 else ("eu-west-1",),
                targets=(("tag:Team", (f"team-{n}",)), ("tag:Environment", ("dev", "test"))),
                start=start,
                stop=stop,
                timezone=ZONES[n % len(ZONES)],
                enabled=n % 17 != 0,
            )
        )
    return rules


def make_runs(rules: list[Rule]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for day in range(DAYS):
        when = NOW - timedelta(days=day + 1)
        if when.weekday() >= 5:
            continue
        for n, rule in enumerate(rules):
            for action, hour in (("start", 7), ("stop", 18)):
                status = "failed" if n % 97 == 0 else "partial" if n % 41 == 0 else "ok"
                runs.append(
                    {
                        "kind": "run",
                        "rule": rule.name,
                        "action": action,
                        "account": rule.accounts[0],
                        "region": rule.regions[0],
                        "scheduled_time": when.replace(hour=hour, minute=0).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                        "status": status,
                        "matched": 6,
                        "acted": [f"i-{n:08x}{k}" for k in range(4)],
                        "skipped": [{"id": "i-0", "reason": "in-target-state"}],
                        "errors": (
                            [{"id": "i-1", "code": "AccessDenied", "message": "denied"}]
                            if status != "ok"
                            else []
                        ),
                    }
                )
    return runs


def main() -> int:
    rules = make_rules()
    runs = make_runs(rules)
    print(
        f"report benchmark: {len(rules):,} rules, {len(runs):,} runs in {DAYS} days "
        f"({os.cpu_count()} CPUs)"
    )
    t0 = time.perf_counter()
    report = build_report(rules, now=NOW, days=DAYS, entries=runs, log_source="table t in r")
    t1 = time.perf_counter()
    site = pages(report)
    t2 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_site(site, Path(out))
        t3 = time.perf_counter()
    total = t3 - t0
    sizes = {name: len(text.encode()) for name, text in site.items()}
    index = sizes["index.html"]
    largest_name = max((n for n in sizes if n.startswith("rules/")), key=lambda n: sizes[n])
    largest = sizes[largest_name]
    print(f"  data (firings, weeks, hours off): {t1 - t0:6.2f} s")
    print(f"  pages (Jinja2):                   {t2 - t1:6.2f} s")
    print(f"  writing {len(site):,} files:             {t3 - t2:6.2f} s")
    print(f"  total:                            {total:6.2f} s (target < {TARGET_SECONDS:g} s)")
    print(f"  index.html: {index / 1e6:.2f} MB (target < {INDEX_MAX_BYTES / 1e6:g} MB)")
    print(
        f"  largest rule page: {largest / 1e3:.0f} KB, {largest_name} "
        f"(target < {RULE_PAGE_MAX_BYTES / 1e3:g} KB)"
    )
    print(f"  whole site: {sum(sizes.values()) / 1e6:.1f} MB")
    met = total < TARGET_SECONDS and index < INDEX_MAX_BYTES and largest < RULE_PAGE_MAX_BYTES
    print(f"targets: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
