"""Long waits on AWS (IAM propagating a new role, a new table's backups) say so on stderr."""

from __future__ import annotations

import pytest
from moto import mock_aws
from recon_support import FAST, REGION, Fault, inject

from reconciler.aws import make_clients

SCHEDULER_ROLE = (
    "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
)


@mock_aws
def test_iam_propagation_retries_print_a_progress_line(capsys: pytest.CaptureFixture[str]) -> None:
    clients = make_clients(REGION, FAST)
    fault = inject(
        clients.scheduler,
        "ListScheduleGroups",
        Fault("ValidationException", SCHEDULER_ROLE, times=2),
    )
    clients.scheduler.list_schedule_groups()
    assert fault.sent == 2
    assert capsys.readouterr().err == (
        "waiting for IAM to propagate the role EventBridge Scheduler must assume "
        "(ListScheduleGroups, attempt 2 of 12)...\n"
        "waiting for IAM to propagate the role EventBridge Scheduler must assume "
        "(ListScheduleGroups, attempt 3 of 12)...\n"
    )


@mock_aws
def test_lambda_and_table_waits_say_what_they_wait_for(capsys: pytest.CaptureFixture[str]) -> None:
    clients = make_clients(REGION, FAST)
    inject(
        clients.lambda_,
        "ListFunctions",
        Fault(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        ),
    )
    inject(
        clients.dynamodb,
        "ListTables",
        Fault("ContinuousBackupsUnavailableException", "Backups are being enabled"),
    )
    clients.lambda_.list_functions()
    clients.dynamodb.list_tables()
    assert capsys.readouterr().err == (
        "waiting for IAM to propagate the role Lambda must assume (ListFunctions, attempt 2 of "
        "12)...\n"
        "waiting for the new table to accept point-in-time recovery (ListTables, attempt 2 of "
        "12)...\n"
    )


@mock_aws
def test_throttling_backs_off_quietly(capsys: pytest.CaptureFixture[str]) -> None:
    clients = make_clients(REGION, FAST)
    throttled = Fault("ServiceQuotaExceededException", "Rate exceeded", status=402, times=2)
    inject(clients.scheduler, "ListScheduleGroups", throttled)
    groups = clients.scheduler.list_schedule_groups()["ScheduleGroups"]
    # Twice throttled, then through: the quiet stderr is the quiet of a retried call.
    assert (throttled.sent, throttled.seen) == (2, 3)
    assert [g["Name"] for g in groups] == ["default"]
    assert capsys.readouterr().err == ""
