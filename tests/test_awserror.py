"""The one reader of AWS error codes and messages, shared by the CLI and the executor."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from reconciler import awserror
from reconciler.awserror import error_code, error_message, response_error


def _client_error(error: dict[str, str]) -> ClientError:
    return ClientError({"Error": error}, "GetSchedule")  # type: ignore[typeddict-item]


def test_a_client_error_gives_its_code_and_message() -> None:
    exc = _client_error({"Code": "ConflictException", "Message": "in use"})
    assert error_code(exc) == "ConflictException"
    assert error_message(exc) == "in use"


def test_an_error_without_code_or_message_gives_none_and_empty() -> None:
    assert error_code(_client_error({})) is None
    assert error_message(_client_error({})) == ""
    assert error_code(ValueError("x")) is None
    assert error_message(ValueError("x")) == ""


def test_a_raw_response_as_a_retry_handler_sees_it() -> None:
    assert response_error({"Error": {"Code": "Throttling", "Message": "slow"}}) == (
        "Throttling",
        "slow",
    )
    assert response_error({"Error": None}) == (None, "")
    assert response_error(None) == (None, "")


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": "m"}}


def test_a_delete_of_something_already_gone_is_done() -> None:
    with awserror.gone_is_done():
        raise _Refused("ResourceNotFoundException")


@pytest.mark.parametrize("error", [_Refused("AccessDeniedException"), ValueError("x")])
def test_any_other_failure_of_a_delete_still_raises(error: Exception) -> None:
    with pytest.raises(type(error)), awserror.gone_is_done():
        raise error
