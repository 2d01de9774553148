"""The target preview's reads (DESIGN.md §10): what each filter set matches now, read-only.

One Describe pagination per (kind, account, region, filter set), identical filter sets across
rules read once, all of them concurrently on a worker pool. The Describe call and its filter
translation are the executor's own (executor/kinds.py's KINDS[resource].describe: EC2
instances, RDS DB instances, Aurora DB clusters, Auto Scaling groups), so the preview matches
what a firing would. The home account is read with the caller's credentials; any other through
`reader_role_name` (assumed once per account), never the executor's target role. A read that
fails is an answer too (Found.error): a preview never fails a plan.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from reconciler.aws import READ_WORKERS, ClientFactory, describe_aws_exception
from reconciler.executor.credentials import role_arn
from reconciler.executor.ec2 import Tuning, persistent_spot_requests
from reconciler.executor.kinds import KINDS
from reconciler.executor.selection import Instance
from reconciler.review import Found, ReadKey

# DescribeInstances' maximum: one page for nearly every filter set (the other kinds' Describe
# calls cap it at their own maximum, 100).
PAGE_SIZE = 1000
TUNING = Tuning(page_size=PAGE_SIZE)
SESSION_NAME = "ouroboros-plan-preview"
SESSION_SECONDS = 900


class Reader:
    """Clients per (account, region): the caller's own in `home_account`, the reader role's
    elsewhere (assumed once per account, its failure kept for the other regions)."""

    def __init__(
        self, home_account: str, home_region: str, role_name: str, partition: str = "aws"
    ) -> None:
        self._home_account = home_account
        self._home_region = home_region
        self._role_name = role_name
        self._partition = partition
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        self._credentials: dict[str, dict[str, str] | BaseException] = {}
        self._clients = ClientFactory(home_region)

    def role(self, account: str) -> str:
        return role_arn(self._partition, account, self._role_name)

    def client(self, service: str, account: str, region: str) -> Any:
        credentials = None if account == self._home_account else self._assumed(account)
        return self._clients.client(service, region, credentials)

    def _assumed(self, account: str) -> dict[str, str]:
        with self._lock:
            lock = self._account_locks.setdefault(account, threading.Lock())
        with lock:
            if account not in self._credentials:
                self._credentials[account] = self._assume(account)
            answer = self._credentials[account]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _assume(self, account: str) -> dict[str, str] | BaseException:
        try:
            sts = self._clients.client("sts", self._home_region)
            response = sts.assume_role(
                RoleArn=self.role(account),
                RoleSessionName=SESSION_NAME,
                DurationSeconds=SESSION_SECONDS,
            )
        except (ClientError, BotoCoreError) as exc:
            failure: BaseException = exc
            return failure
        return {k: str(v) for k, v in response["Credentials"].items() if isinstance(v, str)}


def read_one(reader: Reader, key: ReadKey) -> Found:
    """One (kind, account, region, filter set): the resources, and (EC2) which Spot requests
    persist."""
    account, region = key.account, key.region
    kind = KINDS[key.resource]
    try:
        client = reader.client(kind.service, account, region)
    except (ClientError, BotoCoreError) as exc:
        return Found(
            error=f"cannot assume {reader.role(account)} ({_reason(exc)}): deploy "
            f"infra/target-account.yaml in {account}, or set reader_role_name in the settings"
        )
    try:
        resources, _pages = kind.describe(client, key.filters, None, TUNING)
        spot_requests = [
            r.spot_request_id
            for r in resources
            if isinstance(r, Instance) and r.spot and r.spot_request_id
        ]
        persistent = (
            persistent_spot_requests(client, spot_requests) if spot_requests else frozenset()
        )
    except (ClientError, BotoCoreError) as exc:
        return Found(error=_reason(exc))
    except NotImplementedError as exc:  # moto's answer to a filter it does not know
        return Found(error=f"the filters could not be applied here: {exc}")
    return Found(tuple(resources), persistent)


def _reason(exc: BaseException) -> str:
    text = describe_aws_exception(exc) or str(exc)
    return text.replace(": the role in use lacks a permission; see docs/how-to/iam.md", "")


def read_targets(
    keys: Iterable[ReadKey], reader: Reader, *, workers: int = READ_WORKERS
) -> dict[ReadKey, Found]:
    """Every key's answer, read concurrently on the worker pool."""
    ordered = sorted({ReadKey(*key) for key in keys})
    if not ordered:
        return {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ouroboros-preview") as pool:
        futures = [pool.submit(read_one, reader, key) for key in ordered]
        return {key: future.result() for key, future in zip(ordered, futures, strict=True)}
