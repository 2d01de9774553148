"""Shared helpers for the reconciler's tests: settings, rules, IAM roles and injected AWS faults."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from reconciler import apply
from reconciler.aws import Clients, RetryTuning, make_clients
from reconciler.desired import DesiredState, build_desired
from reconciler.model import Rule, Settings
from reconciler.package import ExecutorPackage, build_executor_zip

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
GROUP = "ouroboros"
LOG_TABLE = "ouroboros-runs"  # the log table of SETTINGS_YAML and settings()
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
FAST = RetryTuning(base_delay_s=0.001, max_delay_s=0.005)

# ouroboros.yaml of a project whose roles create_roles makes.
SETTINGS_YAML = f"""\
version: 1
region: {REGION}
schedule_group: {GROUP}
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""

_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


def create_roles(endpoint_url: str | None = None) -> tuple[str, str]:
    """The executor and scheduler roles (moto's Lambda refuses a role that does not exist)."""
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint_url)
    arns = []
    for name in ("ouroboros-executor", "ouroboros-scheduler"):
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST))
        arns.append(role["Role"]["Arn"])
    return arns[0], arns[1]


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "region": REGION,
        "schedule_group": GROUP,
        "function_name": "ouroboros-executor",
        "executor_role_arn": f"arn:aws:iam::{ACCOUNT}:role/ouroboros-executor",
        "scheduler_role_arn": f"arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler",
        "target_role_name": "ouroboros-target",
        "log_table": "ouroboros-runs",
    }
    values.update(overrides)
    return Settings(**values)


def rule(name: str, **overrides: Any) -> Rule:
    values: dict[str, Any] = {
        "name": name,
        "accounts": (ACCOUNT,),
        "regions": (REGION,),
        "targets": (("tag:Environment", ("dev",)),),
        "start": "cron(0 8 ? * MON-FRI *)",
        "stop": "cron(0 19 ? * MON-FRI *)",
    }
    values.update(overrides)
    return Rule(**values)


def desired(rules: list[Rule], package: ExecutorPackage | None = None, **kw: Any) -> DesiredState:
    package = package or build_executor_zip()
    return build_desired(
        rules,
        kw.pop("settings", None) or settings(),
        code_sha256=package.code_sha256,
        now=kw.pop("now", NOW),
    )


def clients() -> Clients:
    return make_clients(REGION, FAST)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


@dataclass
class Fault:
    """Answers matching requests with an AWS error, `times` times, then lets them through."""

    code: str
    message: str
    status: int = 400
    times: int = 1
    when: Callable[[Any], bool] = lambda _request: True
    seen: int = 0
    sent: int = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.seen += 1
        if self.sent >= self.times or not self.when(request):
            return None
        self.sent += 1
        # moto's in-process mock also sees this request (botocore calls every before-send
        # handler, then takes the first answer): point it nowhere so moto does not act on it.
        url = request.url
        request.url = "https://fault-injection.invalid/"
        body = {"__type": self.code, "message": self.message, "Message": self.message}
        headers = {"x-amzn-ErrorType": self.code, "Content-Type": "application/json"}
        return AWSResponse(url, self.status, headers, _Raw(json.dumps(body).encode()))


def inject(client: Any, operation: str, fault: Fault) -> Fault:
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", fault)
    return fault


@contextmanager
def ctrl_c_raises() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt), whatever the test runner installed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def press_ctrl_c(*, timeout_s: float = 30) -> None:
    """Deliver SIGINT to the main thread as a terminal would, from any thread.

    From a worker, wait until the main thread has acted on it (see wait_for_apply_to_settle),
    so what the test sees does not depend on how loaded the machine is.
    """
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    if threading.current_thread() is not threading.main_thread():
        wait_for_apply_to_settle(timeout_s=timeout_s)


def wait_for_apply_to_settle(*, timeout_s: float = 30) -> None:
    """Block a worker until apply starts no more changes (the hook apply exposes for this)."""
    apply.settling.wait(timeout_s)


def count_requests(client: Any) -> dict[str, int]:
    counts: dict[str, int] = {}

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call", hook)
    return counts


def lose_a_reply(client: Any, operation: str, *, nth: int = 1) -> list[int]:
    """The nth call reaches AWS and is done, but its reply is lost: botocore sends it again.

    Returns the list of calls whose reply was lost (filled in when it happens).
    """
    calls: list[int] = []
    lost: list[int] = []
    service = client.meta.service_model.service_id.hyphenize()

    def needs_retry(attempts: int = 1, **_: Any) -> float | None:
        if attempts != 1:
            return None
        calls.append(attempts)
        if len(calls) != nth:
            return None
        lost.append(nth)
        return 0  # retry at once, as after a connection reset

    client.meta.events.register_first(f"needs-retry.{service}.{operation}", needs_retry)
    return lost
