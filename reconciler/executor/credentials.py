"""Credentials per account and the clients built on them.

The executor's own account uses the Lambda's credentials; any other account assumes
arn:<partition>:iam::<account>:role/<role_name>, the partition being the home region's. One boto3 session serves the invocation: clients are
thread-safe, a session is not, so client creation is serialised and each account's role is
assumed once (or fails once) however many regions it has.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sts import STSClient

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
)
# The Lambda role assuming a target role is role chaining: AWS caps such sessions at one hour.
# Fifteen minutes (the minimum) outlasts the longest possible Lambda invocation.
ASSUMED_SESSION_SECONDS = 900
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")


def new_session() -> boto3.session.Session:
    """The invocation's session (tests replace this to hook botocore events)."""
    return boto3.session.Session()


def role_session_name(rule: str, action: str) -> str:
    """Names the rule in CloudTrail; STS allows 2-64 characters of [\\w+=,.@-]."""
    name = _SESSION_NAME_BAD.sub("-", f"ouroboros-{rule}-{action}")[:64]
    return name if len(name) >= 2 else "ouroboros"


def partition_of(session: boto3.session.Session, region: str) -> str:
    """The partition of `region` (aws, aws-cn, aws-us-gov, ...): role ARNs must name it."""
    try:
        return str(session.get_partition_for_region(region))
    except BotoCoreError:
        return "aws"  # a region botocore does not know yet: most likely a new commercial one


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


def account_from_arn(arn: str | None) -> str | None:
    """The account of arn:aws:lambda:<region>:<account>:function:<name>, if it is one."""
    parts = (arn or "").split(":")
    if len(parts) >= 5 and _ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None


class Clients:
    """Clients for (account, region) pairs of one invocation."""

    def __init__(
        self,
        session: boto3.session.Session,
        home_region: str,
        role_name: str,
        session_name: str,
        own_account: str | None = None,
    ) -> None:
        self._session = session
        self._home_region = home_region
        self._role_name = role_name
        self._session_name = session_name
        self._own_account = own_account
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, dict[str, str] | BaseException] = {}
        self.partition = partition_of(session, home_region)

    @overload
    def client(
        self, service: Literal["ec2"], region: str, account: str | None = None
    ) -> EC2Client: ...
    @overload
    def client(
        self, service: Literal["dynamodb"], region: str, account: str | None = None
    ) -> DynamoDBClient: ...
    @overload
    def client(
        self, service: Literal["scheduler"], region: str, account: str | None = None
    ) -> EventBridgeSchedulerClient: ...
    @overload
    def client(
        self, service: Literal["sts"], region: str, account: str | None = None
    ) -> STSClient: ...
    @overload
    def client(
        self, service: Literal["rds", "autoscaling"], region: str, account: str | None = None
    ) -> Any: ...
    def client(self, service: str, region: str, account: str | None = None) -> Any:
        """A client in `account` (default: the executor's own) and `region`."""
        credentials = {} if account is None else self._credentials_for(account)
        with self._lock:
            # A name, not a Literal: the stubs' per-service overloads cannot apply here.
            return self._session.client(  # type: ignore[call-overload, unused-ignore]
                service, region_name=region, config=CLIENT_CONFIG, **credentials
            )

    def own_account(self) -> str:
        """From the function ARN when the context gave one, else GetCallerIdentity (once)."""
        with self._lock:
            known = self._own_account
        if known is None:
            known = str(self.client("sts", self._home_region).get_caller_identity()["Account"])
            with self._lock:
                self._own_account = known
        return known

    def _credentials_for(self, account: str) -> dict[str, str]:
        if account == self.own_account():
            return {}
        with self._lock:
            account_lock = self._account_locks.setdefault(account, threading.Lock())
        with account_lock:
            if account not in self._credentials:
                self._credentials[account] = self._assume(account)
            cached = self._credentials[account]
        if isinstance(cached, BaseException):
            raise cached
        return cached

    def _assume(self, account: str) -> dict[str, str] | BaseException:
        """The role's credentials, or the failure (kept, so other regions do not retry it)."""
        try:
            sts = self.client("sts", self._home_region)
            response = sts.assume_role(
                RoleArn=role_arn(self.partition, account, self._role_name),
                RoleSessionName=self._session_name,
                DurationSeconds=ASSUMED_SESSION_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            failure: BaseException = exc
            return failure
        credentials = response["Credentials"]
        return {
            "aws_access_key_id": str(credentials["AccessKeyId"]),
            "aws_secret_access_key": str(credentials["SecretAccessKey"]),
            "aws_session_token": str(credentials["SessionToken"]),
        }
