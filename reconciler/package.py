"""The executor's deployment zip, built deterministically.

Same sources, same bytes, same CodeSha256: entries sorted, a fixed timestamp and fixed
permissions, no compression (deflate output may differ between zlib builds, and CI and a
laptop must agree), and line endings normalised to LF so a Windows checkout hashes the same.
So the plan never shows a phantom code change. Lambda reports CodeSha256 as
base64(sha256(zip)), which `code_sha256` computes the same way.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

HANDLER = "reconciler.executor.handler.handler"
RUNTIME = "python3.12"

# The executor imports only these beside the standard library and boto3 (the Lambda runtime's);
# awserror reads AWS error codes; timeengine tells whether the schedule that sent an event
# fires at its scheduled time.
_SHARED_MODULES = ("__init__.py", "awserror.py", "checks.py", "runlog.py", "timeengine.py")
_EXECUTOR_DIR = "executor"
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


def build_executor_zip(root: Path | None = None) -> ExecutorPackage:
    buffer = io.BytesIO()
    sources = executor_sources(root)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in sources:
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = _FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode bits above mean what they say
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, path.read_bytes().replace(b"\r\n", b"\n"))
    return ExecutorPackage(zip_bytes=buffer.getvalue(), files=tuple(name for name, _ in sources))
