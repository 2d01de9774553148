"""The AWS adapter's front door: sessions, clients and how they retry.

Clients are made on demand (never at import), so moto's mock catches them in tests.
AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL are honoured the way the AWS CLI honours them
(botocore reads them); the home region comes from ouroboros.yaml.

Retries: botocore's standard mode covers throttling, 5xx and connection errors. Two more
transient failures need their own backoff, because botocore treats them as final:
- ServiceQuotaExceededException: EventBridge Scheduler's request-rate throttle (HTTP 402);
- an execution role IAM has not propagated yet: Scheduler's ValidationException ("...must
  allow AWS EventBridge Scheduler to assume the role") and Lambda's
  InvalidParameterValueException ("The role defined for the function cannot be assumed by
  Lambda"), which Terraform also retries (for two minutes);
and DynamoDB's ContinuousBackupsUnavailableException, the answer to enabling point-in-time
recovery on a table created seconds ago.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore import exceptions as bexc
from botocore.config import Config

from reconciler import __version__, output
from reconciler.awserror import error_code, error_message, response_error
from reconciler.errors import FatalError

if TYPE_CHECKING:  # boto3-stubs (the dev extra); without them these are Any
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

# Reads run READ_WORKERS GetSchedule calls at once, writes WRITE_WORKERS; the pool must hold
# them all plus the few calls made beside them, or urllib3 discards connections.
READ_WORKERS = 16
WRITE_WORKERS = 8
MAX_POOL_CONNECTIONS = READ_WORKERS + WRITE_WORKERS + 8
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60


@dataclass(frozen=True)
class RetryTuning:
    """Backoff for the failures botocore does not retry (tests shrink the delays)."""

    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    quota_attempts: int = 8  # about 25 s of backoff on average, 50 s at most
    propagation_attempts: int = 12  # about a minute on average, two at most, for IAM

    def delay(self, attempts: int) -> float:
        """Full-jitter exponential backoff (AWS Architecture Blog), capped."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2 ** (attempts - 1)))


def retry_limit(code: str, message: str, tuning: RetryTuning) -> int | None:
    """How many attempts a failure deserves in total, or None when it is not transient."""
    lowered = message.lower()
    if code == "ServiceQuotaExceededException":
        return tuning.quota_attempts
    if code in ("ValidationException", "InvalidParameterValueException") and (
        "assume" in lowered and "role" in lowered
    ):
        return tuning.propagation_attempts
    if code == "ContinuousBackupsUnavailableException":
        return tuning.propagation_attempts
    return None


def retry_hint(code: str, message: str) -> str | None:
    """What to check once the extra retries for a failure have run out."""
    limit = retry_limit(code, message, RetryTuning())
    if limit is None:
        return None
    if code == "ServiceQuotaExceededException":
        return "still over the request-rate quota after backing off; run again later"
    if code == "ContinuousBackupsUnavailableException":
        return "the table is still being prepared; run again in a few minutes"
    return (
        "retried while IAM propagates; check that the role exists and that its trust policy "
        "lets the service (lambda.amazonaws.com or scheduler.amazonaws.com) assume it"
    )


def extra_retry_handler(
    tuning: RetryTuning, service: str = "", notify: Callable[[str], None] = output.err
) -> Callable[..., float | None]:
    """A `needs-retry` handler: the delay before the next attempt, or None to let it fail.
    A long wait (IAM, a new table) is announced, so apply never looks stuck."""

    def needs_retry(
        response: tuple[Any, Mapping[str, Any]] | None = None,
        attempts: int = 1,
        operation: Any = None,
        **_: Any,
    ) -> float | None:
        if response is None:
            return None
        found, message = response_error(response[1])
        code = found or ""
        limit = retry_limit(code, message, tuning)
        if limit is None or attempts >= limit:
            return None
        waiting = _waiting_for(code, service)
        if waiting:
            name = getattr(operation, "name", "the call")
            notify(f"waiting for {waiting} ({name}, attempt {attempts + 1} of {limit})...")
        return tuning.delay(attempts)

    return needs_retry


_ASSUMED_BY = {"lambda": "Lambda", "scheduler": "EventBridge Scheduler"}


def _waiting_for(code: str, service: str) -> str | None:
    """What a retried failure waits for, worth telling; None for throttling (short, frequent)."""
    if code == "ContinuousBackupsUnavailableException":
        return "the new table to accept point-in-time recovery"
    if code == "ServiceQuotaExceededException":
        return None
    return f"IAM to propagate the role {_ASSUMED_BY.get(service, service)} must assume"


def client_config() -> Config:
    # max_attempts is left to AWS_MAX_ATTEMPTS / ~/.aws/config (default 3), as the CLI does.
    return Config(
        retries={"mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        user_agent_extra=f"ouroboros/{__version__}",
    )


def environment_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with the AWS_* variables botocore would choke on (with a ValueError that
    names no variable), or None. Checked before any client is made."""
    for name in sorted(n for n in environ if n == "AWS_ENDPOINT_URL" or n.startswith(_ENDPOINT_)):
        problem = _endpoint_problem(name, environ[name].strip())
        if problem:
            return problem
    attempts = environ.get("AWS_MAX_ATTEMPTS", "").strip()
    if attempts and not (attempts.isdigit() and int(attempts) >= 1):
        return (
            f"AWS_MAX_ATTEMPTS={attempts} is not a whole number of attempts: give one such as 3 "
            "(1 means no retries), or unset it"
        )
    return None


_ENDPOINT_ = "AWS_ENDPOINT_URL_"


def _endpoint_problem(name: str, value: str) -> str | None:
    if not value:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port that is not a number from 0 to 65535)
    except ValueError as exc:  # "http://[::1", "http://localhost:abc"
        return (
            f"{name}={value} is not a URL ({exc}): give one such as http://localhost:4566, or "
            "unset it to use AWS's own endpoints"
        )
    if parts.scheme in ("http", "https") and parts.hostname:
        return None
    if "://" not in value and (":" in value or "." in value or value == "localhost"):
        return f"{name}={value} has no scheme: write it as http://{value} (or https://{value})"
    return (
        f"{name}={value} is not a URL: give one such as http://localhost:4566, or unset it to "
        "use AWS's own endpoints"
    )


def make_client(
    session: boto3.session.Session,
    service: str,
    tuning: RetryTuning = RetryTuning(),
    **where: Any,
) -> Any:
    """A client of `session`; `where` may name its region_name and credentials."""
    problem = environment_problem(os.environ)
    if problem:
        raise FatalError(problem)
    try:
        # A name, not a Literal: the stubs' per-service overloads cannot apply here.
        client = session.client(service, config=client_config(), **where)  # type: ignore[call-overload, unused-ignore]
    except ValueError as exc:  # botocore's word for a bad setting, e.g. in ~/.aws/config
        raise FatalError(
            f"the AWS client configuration is not usable ({exc}): check the AWS_* environment "
            "variables and ~/.aws/config"
        ) from exc
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(
        f"needs-retry.{service_id}", extra_retry_handler(tuning, service_id)
    )
    return client


def client_in(
    region: str,
    service: str,
    tuning: RetryTuning = RetryTuning(),
    *,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """One client in `region`, made as every other client is (the one place sessions start).

    `credentials`: an AssumeRole answer's Credentials, for a client in another account.
    """
    keys = credentials or {}
    session = boto3.session.Session(
        region_name=region,
        aws_access_key_id=keys.get("AccessKeyId"),
        aws_secret_access_key=keys.get("SecretAccessKey"),
        aws_session_token=keys.get("SessionToken"),
    )
    return make_client(session, service, tuning)


class ClientFactory:
    """Clients of one session, in any region, with the caller's or assumed credentials.

    One session loads each service's model once (a new session per client would parse the
    EC2 model, megabytes of JSON, every time); a session is not thread-safe, so clients are
    made one at a time and kept, one per (service, region, credentials).
    """

    def __init__(self, region: str, tuning: RetryTuning = RetryTuning()) -> None:
        self._session = boto3.session.Session(region_name=region)
        self._tuning = tuning
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str, str | None], Any] = {}

    def client(
        self, service: str, region: str, credentials: Mapping[str, str] | None = None
    ) -> Any:
        """`credentials`: an AssumeRole answer's Credentials, for a client in another account."""
        keys = credentials or {}
        key = (service, region, keys.get("AccessKeyId"))
        with self._lock:
            if key not in self._clients:
                self._clients[key] = make_client(
                    self._session,
                    service,
                    self._tuning,
                    region_name=region,
                    aws_access_key_id=keys.get("AccessKeyId"),
                    aws_secret_access_key=keys.get("SecretAccessKey"),
                    aws_session_token=keys.get("SessionToken"),
                )
            return self._clients[key]


@dataclass(frozen=True)
class Clients:
    """The services the reconciler talks to, all in the home region."""

    region: str
    scheduler: EventBridgeSchedulerClient
    lambda_: LambdaClient
    dynamodb: DynamoDBClient
    sqs: Any  # no SQS stubs in the dev extra: untyped, like any client without them


def make_clients(region: str, tuning: RetryTuning = RetryTuning()) -> Clients:
    session = boto3.session.Session(region_name=region)
    return Clients(
        region=region,
        scheduler=make_client(session, "scheduler", tuning),
        lambda_=make_client(session, "lambda", tuning),
        dynamodb=make_client(session, "dynamodb", tuning),
        sqs=make_client(session, "sqs", tuning),
    )


def describe_aws_exception(exc: BaseException) -> str | None:
    """A one-line explanation, with advice, for botocore's exceptions; None for anything else."""
    if isinstance(exc, bexc.NoCredentialsError | bexc.PartialCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login` (in GitHub Actions, use "
            "aws-actions/configure-aws-credentials)"
        )
    if isinstance(exc, bexc.ProfileNotFound):
        return f"{exc}: check AWS_PROFILE and ~/.aws/config"
    if isinstance(exc, bexc.NoRegionError):
        return "no AWS region: set `region` in ouroboros.yaml or AWS_REGION"
    if isinstance(exc, bexc.ConnectionError):  # no endpoint, connect timeout, proxy, TLS
        return (
            f"cannot reach the AWS endpoint ({exc}): check the network, AWS_ENDPOINT_URL "
            "and the region"
        )
    if isinstance(exc, bexc.HTTPClientError):  # connected, then no whole answer came back
        return (
            f"the connection to AWS broke off ({exc}): check the network and any proxy "
            "settings, then run again"
        )
    if isinstance(exc, bexc.ClientError):
        code = error_code(exc) or "Unknown"
        message = error_message(exc)
        op = getattr(exc, "operation_name", "the call")
        hint = ""
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            hint = ": the role in use lacks a permission; see docs/how-to/iam.md"
        elif code in {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"}:
            hint = ": the credentials have expired or are invalid; refresh them"
        elif not message:
            # A bare HTTP status (404, 502...) with no AWS error body: not an AWS service
            # answering, most often a wrong AWS_ENDPOINT_URL or a proxy in the way.
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", code)
            return (
                f"AWS {op} failed with HTTP {status} and no AWS error message: check "
                "AWS_ENDPOINT_URL, any proxy settings and the region"
            )
        return f"AWS {op} failed with {code}: {message}{hint}"
    if isinstance(exc, bexc.BotoCoreError):
        return f"AWS client error: {exc}"
    return None
