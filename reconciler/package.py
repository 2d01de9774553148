"""The executor's deployment zip, built deterministically.

Same sources, same bytes, same CodeSha256: entries sorted, a fixed timestamp and fixed
permissions, no compression (deflate output may differ between zlib builds, and CI and a
laptop must agree), and line endings normalised to LF so a Windows checkout hashes the same.
So the plan never shows a phantom code change. Lambda reports CodeSha256 as
base64(sha256(zip)), which `code_sha256` computes the same way.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HANDLER = "reconciler.executor.handler.handler"
RUNTIME = "python3.12"

# The executor imports only these beside the standard library and boto3 (the Lambda runtime's);
# awserror reads AWS error codes; timeengine tells whether the schedule that sent an event
# fires at its scheduled time.
_SHARED_MODULES = (
    "__init__.py",
    "awserror.py",
    "calendars.py",
    "checks.py",
    "runlog.py",
    "timeengine.py",
)
_EXECUTOR_DIR = "executor"
# Packages the executor needs that the python3.12 runtime lacks (it has boto3 and
# python-dateutil): `holidays` for calendars, and `tzdata` because the runtime image may have
# no system zone data while the executor resolves zones at fire time (zoneinfo falls back to
# the tzdata package). Calendars work year after year, with no re-apply, from these copies.
# Of `holidays` only what a calendar needs: its sources (every country, so a new calendar never
# changes the code), without the financial markets and the iCal export, and of its
# translations only each country's own language (the names it reports).
_HOLIDAYS_LEFT_OUT = ("holidays/financial/", "holidays/ical.py", "holidays/generate_ics.py")
_DIST_INFO_METADATA = "METADATA"  # holidays reads its own version from it at import
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
_FILE_MODE = 0o100644  # a regular file, rw-r--r--


@dataclass(frozen=True)
class ExecutorPackage:
    zip_bytes: bytes
    files: tuple[str, ...]  # archive names, in archive order

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.zip_bytes)


def code_sha256(zip_bytes: bytes) -> str:
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")


def package_root() -> Path:
    """The directory of the installed `reconciler` package."""
    return Path(__file__).resolve().parent


def executor_sources(root: Path | None = None) -> list[tuple[str, Path]]:
    """(archive name, path) of every file the executor zip holds, sorted by archive name."""
    root = root if root is not None else package_root()
    found: dict[str, Path] = {}
    for name in _SHARED_MODULES:
        path = root / name
        if path.is_file():
            found[f"reconciler/{name}"] = path
    executor = root / _EXECUTOR_DIR
    if executor.is_dir():
        for path in executor.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root).as_posix()
            found[f"reconciler/{relative}"] = path
    return sorted(found.items())


@functools.cache
def vendored_sources() -> tuple[tuple[str, Path], ...]:
    """(archive name, path) of the third-party files the zip ships, sorted by archive name."""
    found: dict[str, Path] = {}
    for package in ("holidays", "tzdata"):
        base = _installed(package)
        for path in base.rglob("*"):
            name = path.relative_to(base.parent).as_posix()
            if path.is_file() and _vendored(package, name):
                found[name] = path
        metadata = _dist_info(base.parent, package) / _DIST_INFO_METADATA
        found[metadata.relative_to(base.parent).as_posix()] = metadata
    for name, path in _own_language_translations():
        found[name] = path
    return tuple(sorted(found.items()))


def _installed(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:  # a runtime dependency: pip install it
        raise ModuleNotFoundError(f"{package} is not installed: the executor zip needs it")
    return Path(spec.origin).resolve().parent


def _vendored(package: str, name: str) -> bool:
    if "__pycache__" in name:
        return False
    if package == "tzdata":
        return name.endswith(".py") or "/zoneinfo/" in name
    return name.endswith(".py") and not name.startswith(_HOLIDAYS_LEFT_OUT)


def _dist_info(site: Path, package: str) -> Path:
    matches = sorted(site.glob(f"{package}-*.dist-info"))
    if not matches:
        raise ModuleNotFoundError(f"{package}'s metadata is not installed beside it")
    return matches[-1]


def _own_language_translations() -> list[tuple[str, Path]]:
    """Each country's holiday names in its own (default) language."""
    import holidays

    base = _installed("holidays")
    found = []
    for code in holidays.list_supported_countries():
        language = getattr(getattr(holidays, code), "default_language", None)
        path = base / "locale" / str(language) / "LC_MESSAGES" / f"{code}.mo"
        if language and path.is_file():
            found.append((path.relative_to(base.parent).as_posix(), path))
    return found


def build_executor_zip(
    root: Path | None = None, vendored: Sequence[tuple[str, Path]] | None = None
) -> ExecutorPackage:
    """The zip; `vendored` defaults to vendored_sources() for the installed package (none for
    another `root`, as tests give)."""
    buffer = io.BytesIO()
    if vendored is None:
        vendored = vendored_sources() if root is None else ()
    sources = sorted([*executor_sources(root), *vendored])
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in sources:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = _FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode bits above mean what they say
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, _normalised(name, path.read_bytes()))
    return ExecutorPackage(zip_bytes=buffer.getvalue(), files=tuple(name for name, _ in sources))


_TEXT = re.compile(r"\.(py|txt)$|METADATA$")


def _normalised(name: str, data: bytes) -> bytes:
    """Text with LF line endings (a Windows checkout hashes the same); binaries as they are."""
    return data.replace(b"\r\n", b"\n") if _TEXT.search(name) else data
