"""The executor zip: exactly the right files, and the same bytes for the same sources."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import boto3
from moto import mock_aws
from recon_support import REGION, create_roles

from reconciler.package import HANDLER, RUNTIME, build_executor_zip, code_sha256, executor_sources


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


SOURCES = {
    "__init__.py": b"",
    "awserror.py": b"AWSERROR = 1\n",
    "checks.py": b"CHECKS = 1\n",
    "runlog.py": b"RUNLOG = 1\n",
    "timeengine.py": b"TIMEENGINE = 1\n",
    "executor/__init__.py": b"",
    "executor/handler.py": b"def handler(event, context):\n    return {}\n",
    "executor/sub/deep.py": b"X = 1\n",
    # Never shipped: other reconciler modules, caches, non-Python files.
    "cli.py": b"import click\n",
    "plan.py": b"PLAN = 1\n",
    "executor/__pycache__/handler.cpython-311.pyc": b"\x00\x01",
    "executor/README.md": b"notes\n",
}


def test_the_zip_holds_exactly_the_shared_modules_and_the_executor_package(
    tmp_path: Path,
) -> None:
    package = build_executor_zip(_tree(tmp_path, SOURCES))
    assert package.files == (
        "reconciler/__init__.py",
        "reconciler/awserror.py",
        "reconciler/checks.py",
        "reconciler/executor/__init__.py",
        "reconciler/executor/handler.py",
        "reconciler/executor/sub/deep.py",
        "reconciler/runlog.py",
        "reconciler/timeengine.py",
    )
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        assert archive.namelist() == list(package.files)
        assert archive.read("reconciler/executor/handler.py") == SOURCES["executor/handler.py"]
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert info.compress_type == zipfile.ZIP_STORED


def test_same_sources_give_the_same_bytes_whatever_the_file_times(tmp_path: Path) -> None:
    first = build_executor_zip(_tree(tmp_path / "a", SOURCES))
    second_root = _tree(tmp_path / "b", dict(reversed(list(SOURCES.items()))))
    for path in second_root.rglob("*.py"):
        path.touch()  # other mtimes, other creation order
        path.chmod(0o755)
    second = build_executor_zip(second_root)
    assert first.zip_bytes == second.zip_bytes
    assert first.code_sha256 == second.code_sha256


def test_windows_line_endings_hash_the_same(tmp_path: Path) -> None:
    crlf = {k: v.replace(b"\n", b"\r\n") for k, v in SOURCES.items()}
    assert (
        build_executor_zip(_tree(tmp_path / "lf", SOURCES)).code_sha256
        == build_executor_zip(_tree(tmp_path / "crlf", crlf)).code_sha256
    )


def test_a_changed_source_changes_the_hash(tmp_path: Path) -> None:
    before = build_executor_zip(_tree(tmp_path, SOURCES)).code_sha256
    (tmp_path / "executor/handler.py").write_bytes(b"def handler(event, context):\n    return 1\n")
    assert build_executor_zip(tmp_path).code_sha256 != before


def test_code_sha256_is_lambdas_base64_sha256() -> None:
    data = b"PK\x05\x06" + b"\x00" * 18
    assert code_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_the_real_package_ships_the_executor_handler() -> None:
    names = [name for name, _ in executor_sources()]
    assert "reconciler/__init__.py" in names
    assert "reconciler/checks.py" in names
    assert "reconciler/runlog.py" in names
    assert "reconciler/executor/handler.py" in names
    assert not any(n.startswith("reconciler/commands") or n.endswith("cli.py") for n in names)
    assert HANDLER == "reconciler.executor.handler.handler"
    assert build_executor_zip().zip_bytes == build_executor_zip().zip_bytes


def test_lambda_reports_the_same_code_sha256() -> None:
    package = build_executor_zip()
    with mock_aws():
        executor_role, _ = create_roles()
        lambda_ = boto3.client("lambda", region_name=REGION)
        created = lambda_.create_function(
            FunctionName="f",
            Runtime=RUNTIME,
            Role=executor_role,
            Handler=HANDLER,
            Code={"ZipFile": package.zip_bytes},
        )
        assert created["CodeSha256"] == package.code_sha256
        assert created["CodeSize"] == len(package.zip_bytes)
