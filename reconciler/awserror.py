"""The one reader of AWS error responses (ships in the executor zip: no boto import).

botocore's ClientError carries `response["Error"]` with "Code" and "Message"; either can be
missing (moto, a proxy's bare HTTP error). Callers choose their own fallback for a missing code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

NOT_FOUND = "ResourceNotFoundException"


def response_error(response: object) -> tuple[str | None, str]:
    """(Code or None, Message or "") of an AWS error response."""
    error = response.get("Error") if isinstance(response, Mapping) else None
    if not isinstance(error, Mapping):
        return None, ""
    code = error.get("Code")
    return (str(code) if code is not None else None), str(error.get("Message") or "")


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    return response_error(getattr(exc, "response", None))[0]


def error_message(exc: BaseException) -> str:
    """The AWS error message of a botocore ClientError, else ""."""
    return response_error(getattr(exc, "response", None))[1]


@contextmanager
def gone_is_done() -> Iterator[None]:
    """For a delete: a target that is already gone (ResourceNotFoundException) has met the goal."""
    try:
        yield
    except Exception as exc:
        if error_code(exc) != NOT_FOUND:
            raise
