"""The executor zip: its size, by part, and its cold import time, measured.

The zip ships the executor, the `holidays` package (calendars, §12) and `tzdata` (the python3.12
runtime may have no system zone data). Prints the bytes of each part, then the cold start
from the unpacked zip in fresh interpreters (the median of --runs), as Lambda unpacks it into
/var/task: importing the handler (what every firing pays), and a first calendar decision
(`holidays` imported and one country's year built: what a firing of a rule with a calendar
adds). System zone data is hidden (PYTHONTZPATH), as on a runtime without it.

    python benchmarks/executor_zip.py [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from reconciler.package import build_executor_zip

HANDLER_ONLY = "import reconciler.executor.handler"
WITH_CALENDAR = """
import reconciler.executor.handler
from datetime import UTC, datetime
from reconciler.calendars import Calendar, skip_reason_at
skip_reason_at(Calendar("de-by", "DE", "BY", timezone="Europe/Berlin"), datetime.now(UTC))
"""
TIMER = """
import sys, time
started = time.perf_counter()
exec(sys.argv[1])
print(time.perf_counter() - started)
"""


def sizes(zip_bytes: bytes) -> dict[str, int]:
    parts: dict[str, int] = {}
    for info in zipfile.ZipFile(io.BytesIO(zip_bytes)).infolist():
        top = info.filename.split("/")[0]
        part = top.split("-")[0] if top.endswith(".dist-info") else top
        parts[part] = parts.get(part, 0) + info.file_size
    return parts


def cold(task: Path, code: str, runs: int, no_zones: Path) -> float:
    times = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", TIMER, code],
            capture_output=True,
            text=True,
            check=True,
            cwd=task,
            env={"PYTHONPATH": str(task), "PYTHONTZPATH": str(no_zones), "PATH": "/usr/bin:/bin"},
        )
        times.append(float(proc.stdout.strip()))
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    package = build_executor_zip()
    print(f"executor zip: {len(package.zip_bytes):,} bytes, {len(package.files):,} files (stored)")
    for part, size in sorted(sizes(package.zip_bytes).items(), key=lambda p: -p[1]):
        print(f"  {part:<12}{size:>12,} bytes")
    with tempfile.TemporaryDirectory() as tmp:
        task, no_zones = Path(tmp, "task"), Path(tmp, "no-zoneinfo")
        no_zones.mkdir()
        zipfile.ZipFile(io.BytesIO(package.zip_bytes)).extractall(task)
        handler_s = cold(task, HANDLER_ONLY, runs, no_zones)
        calendar_s = cold(task, WITH_CALENDAR, runs, no_zones)
    print(f"cold import of the handler: {handler_s * 1000:.0f} ms (median of {runs})")
    print(
        f"cold import + first calendar decision (DE-BY): {calendar_s * 1000:.0f} ms "
        f"(+{(calendar_s - handler_s) * 1000:.0f} ms for a rule with a calendar)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
