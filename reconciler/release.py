"""Where this version of the tool is published: the names a rules repository pins.

One place for the repository, the tag of a version, the schemas' `$id` URLs (GitHub raw at the
tag) and the reusable workflows' references, so that `reconcile init`, the schemas and the docs
cannot disagree. The version itself lives in reconciler/__init__.py alone.
"""

from __future__ import annotations

from reconciler import __version__

REPOSITORY = "ouroboros-project/ouroboros"  # github.com/OWNER/NAME of the tool
DISTRIBUTION = "ouroboros-reconciler"  # the name on the package index
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
HOOK_ID = "ouroboros-validate"  # .pre-commit-hooks.yaml
# The reusable workflows (on: workflow_call) a rules repository's workflows call, by role.
REUSABLE_WORKFLOWS = {
    "plan": "reusable-plan.yml",
    "plan-comment": "reusable-plan-comment.yml",
    "apply": "reusable-apply.yml",
    "drift": "reusable-drift.yml",
}


def tag(version: str = __version__) -> str:
    """The git tag of a release: v0.2.0."""
    return f"v{version}"


def schema_url(name: str, version: str = __version__) -> str:
    """The `$id` of a schema file (rules.schema.json): the released file at the version's tag."""
    return f"https://raw.githubusercontent.com/{REPOSITORY}/{tag(version)}/schemas/{name}"


def workflow_ref(role: str, version: str = __version__) -> str:
    """What a rules repository's job puts after `uses:` to call a reusable workflow."""
    return f"{REPOSITORY}/.github/workflows/{REUSABLE_WORKFLOWS[role]}@{tag(version)}"
