""".ci/run: CI's entry point installs the report's browser when it is missing, then runs make test.

Run under bash with fake apt-get, sudo, id and make on PATH, each logging how it was called.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fake(bin_dir: Path, name: str, body: str = "") -> None:
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n{body}\n')
    script.chmod(0o755)


def run_ci(tmp_path: Path, *, uid: str, chromium: bool) -> list[str]:
    checkout = tmp_path / "checkout"
    (checkout / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", checkout / ".ci" / "run")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "env", "sh"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    fake(bin_dir, "apt-get")
    fake(bin_dir, "make")
    fake(bin_dir, "id", f"echo {uid}")
    fake(bin_dir, "sudo", 'exec "$@"')
    if chromium:
        fake(bin_dir, "chromium")
    calls = tmp_path / "calls"
    calls.touch()
    result = subprocess.run(
        ["bash", str(checkout / ".ci" / "run")],
        env={"PATH": str(bin_dir), "CALLS": str(calls), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def test_chromium_is_installed_when_missing_then_the_suite_runs(tmp_path: Path) -> None:
    calls = run_ci(tmp_path, uid="0", chromium=False)
    assert calls == [
        "id -u",
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends chromium",
        "make test",
    ]


def test_without_root_the_install_goes_through_sudo(tmp_path: Path) -> None:
    assert run_ci(tmp_path, uid="1001", chromium=False) == [
        "id -u",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq",
        "apt-get update -qq",
        "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "chromium",
        "apt-get install -y -qq --no-install-recommends chromium",
        "make test",
    ]


def test_an_installed_chromium_is_left_alone(tmp_path: Path) -> None:
    assert run_ci(tmp_path, uid="0", chromium=True) == ["make test"]
