"""The package as a team gets it: sdist and wheel built, installed into a fresh venv, then used.

Offline: the sdist and the wheel (built from the sdist, so the sdist is complete) come from a
copy of the sources with `python -m build --no-isolation` and the build requirements already
installed; the fresh venv gets the wheel alone and sees the dependencies this venv holds through
a .pth line (the .pth files there, such as an editable install of the sources, stay unread).
From that venv: `reconcile init` into an empty directory, `validate`, `plan` against the moto
server, and `pre-commit run --all-files`; and the executor zip it deploys is the source tree's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from reconciler import __version__
from reconciler.package import build_executor_zip, vendored_sources

pytestmark = [pytest.mark.aws, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MOTO_ACCOUNT = "123456789012"
SOURCES = ("reconciler", "schemas", "pyproject.toml", "README.md", "CHANGELOG.md", "MANIFEST.in")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    sdist: Path
    venv: Path

    @property
    def reconcile(self) -> str:
        return str(self.venv / "bin" / "reconcile")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _copy_sources(target: Path) -> None:
    """What the build reads, without the caches and build output of the working tree."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def _run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**environment, "NO_COLOR": "1", **env},
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("dist")
    sources = work / "src"
    sources.mkdir()
    _copy_sources(sources)
    dist = work / "dist"
    built = _run(
        sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), ".", cwd=sources
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    venv = work / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=work)
    assert made.returncode == 0, made.stderr
    # The dependencies already installed here, after the venv's own site-packages.
    fresh = Path(
        _run(
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
            cwd=work,
        ).stdout.strip()
    )
    (fresh / "zz-shared-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    pip = _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "--quiet",
        "--no-index",
        "--no-deps",
        str(wheel),
        cwd=work,
    )
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return Installed(wheel=wheel, sdist=sdist, venv=venv)


def test_the_wheel_holds_the_package_its_schemas_and_templates(installed: Installed) -> None:
    assert installed.wheel.name == f"ouroboros_reconciler-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert {
        "reconciler/py.typed",
        "reconciler/schemas/rules.schema.json",
        "reconciler/schemas/settings.schema.json",
        "reconciler/templates/init/schedules/example.yaml",
        "reconciler/templates/init/dot-github/workflows/plan.yml",
        "reconciler/templates/init/dot-pre-commit-config.yaml",
    } <= names
    assert not any(name.startswith(("tests/", "schemas/")) for name in names)
    metadata = zipfile.ZipFile(installed.wheel).read(
        f"ouroboros_reconciler-{__version__}.dist-info/METADATA"
    )
    assert f"Version: {__version__}\n".encode() in metadata
    with tarfile.open(installed.sdist) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"CHANGELOG.md", "pyproject.toml", "reconciler/schemas/rules.schema.json"} <= members


def test_the_installed_tool_is_the_wheels(installed: Installed, tmp_path: Path) -> None:
    version = _run(installed.reconcile, "--version", cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"reconcile, version {__version__}\n")
    where = _run(
        installed.python, "-c", "import reconciler; print(reconciler.__file__)", cwd=tmp_path
    )
    assert where.stdout.strip().startswith(str(installed.venv))


def test_the_executor_zip_from_the_wheel_is_the_source_trees(
    installed: Installed, tmp_path: Path
) -> None:
    # The deployed CodeSha256 depends on the version alone, not on where the code came from.
    code = (
        "from reconciler.package import build_executor_zip; print(build_executor_zip().code_sha256)"
    )
    from_wheel = _run(installed.python, "-c", code, cwd=tmp_path)
    assert from_wheel.returncode == 0, from_wheel.stderr
    # Both with the same third-party files (holidays, tzdata): what is compared is our code.
    source_tree = build_executor_zip(ROOT / "reconciler", vendored=vendored_sources())
    assert from_wheel.stdout.strip() == source_tree.code_sha256


def _pre_commit_offline(repo: Path, installed: Installed) -> subprocess.CompletedProcess[str]:
    """The scaffolded config's hook, run by pre-commit against the wheel's `reconcile`.

    Offline: the entry is this repository's hook manifest with language `system` in place of
    the remote repo at its tag (pre-commit would clone it and pip install it), exactly as
    tests/repo/test_precommit.py runs it."""
    (scaffolded,) = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())["repos"]
    (manifest,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in scaffolded["hooks"]] == [manifest["id"]]
    local = {**manifest, "language": "system"}
    local.pop("minimum_pre_commit_version")
    (repo / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]})
    )
    for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return _run(
        str(BIN / "pre-commit"),
        "run",
        "--all-files",
        "--color",
        "never",
        cwd=repo,
        PATH=f"{installed.venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        PRE_COMMIT_HOME=str(repo.parent / "pre-commit-home"),
        GIT_CONFIG_GLOBAL=os.devnull,
    )


def test_init_validate_plan_and_pre_commit_from_the_wheel(
    installed: Installed, tmp_path: Path, endpoint: str
) -> None:
    repo = tmp_path / "fleet"
    init = _run(installed.reconcile, "init", str(repo), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    validate = _run(installed.reconcile, "validate", cwd=repo)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "placeholder account 000000000000" in validate.stdout
    # The three files a team edits: the settings (the bootstrap stack's roles) and its rules.
    settings = repo / "ouroboros.yaml"
    settings.write_text(settings.read_text().replace("000000000000", MOTO_ACCOUNT))
    plan = _run(installed.reconcile, "plan", "--detailed-exitcode", cwd=repo)
    assert plan.returncode == 2, plan.stdout + plan.stderr  # 2: changes to make
    assert "dev-office-hours-start" in plan.stdout
    assert "dev-office-hours-stop" in plan.stdout
    # The scaffolded workflows lint, and call the reusable ones at this version.
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    for linter in (
        [str(BIN / "actionlint"), "-no-color", "-shellcheck=", "-pyflakes="],
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"],
    ):
        lint = _run(*linter, *map(str, workflows), cwd=repo)
        assert lint.returncode == 0, lint.stdout + lint.stderr
    for path in workflows:
        (job,) = yaml.safe_load(path.read_text())["jobs"].values()
        assert job["uses"].endswith(f".yml@v{__version__}"), path.name
    hooks = _pre_commit_offline(repo, installed)
    assert hooks.returncode == 0, hooks.stdout + hooks.stderr
    assert "ouroboros validate" in hooks.stdout
    assert "Passed" in hooks.stdout
