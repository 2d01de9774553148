"""Which account the credentials are in, checked before anything is read or written.

Plan and apply act in the account that the settings' role ARNs name. Credentials for another
account (a stale AWS_PROFILE, the wrong CI secret) would plan against an empty account and
apply a whole second deployment there, so they are refused first. GetCallerIdentity needs no
IAM permission: the read-only plan role can always make it.
"""

from __future__ import annotations

from reconciler.aws import client_in
from reconciler.errors import FatalError
from reconciler.model import Settings


def deploy_account(settings: Settings) -> str:
    """The account the executor (and so everything else) is deployed to: its role's."""
    parts = settings.executor_role_arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def caller_account(region: str) -> str:
    sts = client_in(region, "sts")
    return str(sts.get_caller_identity()["Account"])


def check_account(settings: Settings, actual: str) -> None:
    """Raise FatalError unless `actual` is the account the settings deploy to."""
    expected = deploy_account(settings)
    if actual == expected:
        return
    source = settings.location.file if settings.location else "the saved plan"
    raise FatalError(
        f"you are authenticated to {actual}, {source} deploys to {expected} (its "
        f"executor.role_arn): use credentials for {expected}; nothing was read or changed"
    )


def verify_account(settings: Settings) -> None:
    """Refuse credentials for any account but the settings' (one sts:GetCallerIdentity)."""
    check_account(settings, caller_account(settings.region))
