"""pyproject.toml says what the code needs, no more, no less, and builds with what it allows."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]

# Distribution name -> the module it is imported as (None: used without an import of its own).
IMPORT_NAME = {
    "boto3": "boto3",
    "pyyaml": "yaml",
    "jsonschema": "jsonschema",
    "click": "click",
    "croniter": "croniter",
    "tzdata": None,  # zoneinfo's data where the system has none (Windows, slim containers)
    "holidays": "holidays",  # calendars (§12), also shipped in the executor zip
    "moto": "moto",
    "jinja2": "jinja2",  # reconcile report
}
BUNDLED_WITH_BOTO3 = {"botocore"}


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(text).name.lower() for text in requirements}


def _imported_top_level_modules() -> set[str]:
    modules: set[str] = set()
    for path in (REPO / "reconciler").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"reconciler", "__future__"}


def test_runtime_dependencies_are_exactly_what_the_package_imports() -> None:
    runtime = _names(PROJECT["dependencies"])
    imported = _imported_top_level_modules() - BUNDLED_WITH_BOTO3
    needed = {name for name, module in IMPORT_NAME.items() if module in imported} - {"moto"}
    assert runtime - {"tzdata"} == needed
    assert "croniter" not in runtime  # only the tests' oracle uses it
    assert "moto" not in runtime  # `reconcile demo` only: the [demo] extra


def test_the_demo_extra_brings_moto_and_dev_brings_the_demo_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    assert _names(extras["demo"]) == {"moto"}
    assert set(extras["demo"]) <= set(extras["dev"])
    assert "croniter" in _names(extras["dev"])


def test_the_license_field_builds_with_every_allowed_setuptools() -> None:
    # The SPDX string form (PEP 639) needs setuptools 77; older ones reject it outright.
    [setuptools] = [
        Requirement(text)
        for text in PYPROJECT["build-system"]["requires"]
        if Requirement(text).name == "setuptools"
    ]
    assert isinstance(PROJECT["license"], str)
    floor = min(Version(spec.version) for spec in setuptools.specifier if spec.operator == ">=")
    assert floor >= Version("77")
    assert not any(c.startswith("License ::") for c in PROJECT.get("classifiers", []))


def test_every_module_has_a_place_in_the_layers_contract() -> None:
    # import-linter ignores a module no layer names: a new module must join the layering.
    contracts = PYPROJECT["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    named = {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}
    package = REPO / "reconciler"
    modules = {f"reconciler.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    modules |= {f"reconciler.{p.parent.name}" for p in package.glob("*/__init__.py")}
    assert sorted(modules - named) == []
