"""One occurrence's pairs with fake clients and a fake claims table: what the mutation run
(issue 16) found unpinned in reconciler/executor/run.py.

No moto: `make mutation` runs these once per mutant.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from reconciler.executor import ec2, run
from reconciler.executor.claims import DUPLICATE, NEW, RETRY, Claim, LogTableError
from reconciler.executor.event import Occurrence

A1, A2 = "111111111111", "222222222222"
R1, R2 = "eu-west-1", "us-east-1"
ARN = f"arn:aws:scheduler:{R1}:{A1}:schedule/ouroboros/dev-stop"


def _occ(**over: Any) -> Occurrence:
    values: dict[str, Any] = {
        "rule": "dev",
        "action": "stop",
        "hibernate": False,
        "accounts": (A1,),
        "regions": (R1,),
        "targets": (("tag:Environment", ("dev",)),),
        "max_instances": 10,
        "role_name": "ouroboros-target",
        "schedule_arn": ARN,
        "scheduled_time": "2026-11-27T19:00:00Z",
        "execution_id": "e-2",
    }
    values.update(over)
    return Occurrence(**values)


def _error(code: str, operation: str = "StopInstances") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} here"}}, operation)


def _instance(instance_id: str, state: str = "running", **extra: Any) -> dict[str, Any]:
    return {"InstanceId": instance_id, "State": {"Name": state}, **extra}


class FakeEC2:
    """DescribeInstances honours an instance-id filter; Start/Stop fail for `bad` ids."""

    def __init__(
        self,
        instances: list[dict[str, Any]] | None = None,
        bad: dict[str, str] | None = None,
        spot: list[dict[str, Any]] | Exception | None = None,
        describe_error: Exception | None = None,
    ) -> None:
        self.instances = instances or []
        self.bad = bad or {}
        self.spot = spot or []
        self.describe_error = describe_error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_paginator(self, name: str) -> FakeEC2:
        self.paginating = name
        return self

    def paginate(self, **params: Any) -> list[dict[str, Any]]:
        self.calls.append((self.paginating, params))
        if self.paginating == "describe_spot_instance_requests":
            if isinstance(self.spot, Exception):
                raise self.spot
            return [{"SpotInstanceRequests": self.spot}]
        if self.describe_error:
            raise self.describe_error
        ids = next((f["Values"] for f in params["Filters"] if f["Name"] == "instance-id"), None)
        found = [i for i in self.instances if ids is None or i["InstanceId"] in ids]
        return [{"Reservations": [{"Instances": found}]}]

    def stop_instances(self, **params: Any) -> dict[str, Any]:
        return self._change("stop_instances", "StoppingInstances", params)

    def start_instances(self, **params: Any) -> dict[str, Any]:
        return self._change("start_instances", "StartingInstances", params)

    def _change(self, operation: str, key: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, params))
        for instance_id in params["InstanceIds"]:
            if instance_id in self.bad:
                raise _error(self.bad[instance_id])
        if operation == "start_instances":  # as EC2 (and moto): started means running
            for instance in self.instances:
                if instance["InstanceId"] in params["InstanceIds"]:
                    instance["State"] = {"Name": "running"}
        return {key: [{"InstanceId": i} for i in params["InstanceIds"]]}

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]


class FakeClients:
    """One FakeEC2 per (account, region); an account in `denied` cannot be reached."""

    def __init__(self, ec2s: dict[tuple[str, str], FakeEC2], denied: Exception | None = None):
        self.ec2s = ec2s
        self.denied = denied
        self.asked: list[tuple[str, str, str | None]] = []

    def client(self, service: str, region: str, account: str | None = None) -> Any:
        self.asked.append((service, region, account))
        assert service == "ec2"
        if self.denied is not None and account == A2:
            raise self.denied
        return self.ec2s[(account or A1, region)]


class FakeClaims:
    def __init__(self, claims: dict[tuple[str, str], Claim] | None = None) -> None:
        self.claims = claims or {}
        self.finished: dict[tuple[str, str], dict[str, Any]] = {}
        self.duplicates: list[tuple[str, str, int]] = []
        self.broken: set[tuple[str, str]] = set()
        self.given: dict[tuple[str, str], Claim] = {}

    def claim(self, occ: Occurrence, account: str, region: str) -> Claim:
        assert isinstance(occ, Occurrence)
        claim = self.claims.get((account, region), Claim(NEW, 1, "2026-11-27T19:00:01Z"))
        self.given[(account, region)] = claim
        return claim

    def finish(
        self, occ: Occurrence, account: str, region: str, claim: Claim, record: dict[str, Any]
    ) -> None:
        assert isinstance(occ, Occurrence)
        assert claim is self.given[(account, region)]
        if (account, region) in self.broken:
            raise LogTableError(f"table broken for {account}/{region}")
        self.finished[(account, region)] = record

    def record_duplicate(
        self, occ: Occurrence, account: str, region: str, claim: Claim, duration_ms: int
    ) -> dict[str, Any]:
        assert isinstance(occ, Occurrence)
        assert claim is self.given[(account, region)]
        self.duplicates.append((account, region, duration_ms))
        return {"status": DUPLICATE, "detail": "already ok", "matched": 0}


def _env(clients: FakeClients, claims: FakeClaims | None = None, **tuning: Any) -> run.Environment:
    return run.Environment(
        clients=clients,  # type: ignore[arg-type]
        claims=claims or FakeClaims(),  # type: ignore[arg-type]
        tuning=ec2.Tuning(sleep=lambda _: None, **tuning),
    )


def _pair(
    fake: FakeEC2, occ: Occurrence | None = None, claims: FakeClaims | None = None, **tuning: Any
) -> run.PairResult:
    env = _env(FakeClients({(A1, R1): fake}), claims, **tuning)
    return run.process_pair(occ or _occ(), A1, R1, env)


# --- isolation, statuses and the summary ---------------------------------------------------------


def test_each_account_and_region_is_acted_on_alone_and_summarised() -> None:
    fakes = {
        (A1, R1): FakeEC2([_instance("i-1"), _instance("i-2", "stopped")]),
        (A1, R2): FakeEC2([_instance("i-3")], bad={"i-3": "UnauthorizedOperation"}),
        (A2, R1): FakeEC2(),
        (A2, R2): FakeEC2(),
    }
    clients = FakeClients(fakes, denied=_error("AccessDenied", "AssumeRole"))
    claims = FakeClaims()
    occ = _occ(accounts=(A1, A2), regions=(R1, R2))
    results = run.process_occurrence(occ, _env(clients, claims))
    assert [(r.account, r.region, r.status) for r in results] == [
        (A1, R1, "ok"),
        (A1, R2, "failed"),
        (A2, R1, "failed"),
        (A2, R2, "failed"),
    ]
    ok = results[0].summary()
    assert ok == {
        "account": A1,
        "region": R1,
        "status": "ok",
        "matched": 2,
        "acted": 1,
        "skipped": 1,
        "errors": 0,
        "duration_ms": ok["duration_ms"],
    }
    assert results[1].summary()["detail"] == (
        "1 error(s), first: UnauthorizedOperation: UnauthorizedOperation here"
    )
    assert results[2].record["errors"] == [
        {"id": "", "code": "AccessDenied", "message": "AccessDenied here"}
    ]
    assert fakes[(A1, R1)].calls[-1] == ("stop_instances", {"InstanceIds": ["i-1"]})
    assert set(claims.finished) == {(A1, R1), (A1, R2), (A2, R1), (A2, R2)}
    assert run.overall_status(results) == "partial"
    assert not any(r.retryable for r in results)


def test_the_summary_counts_come_from_the_counts_not_the_trimmed_lists() -> None:
    record = {
        "matched": 5,
        "acted": ["i-1"],
        "acted_count": 3,
        "skipped": [],
        "skipped_count": 2,
        "errors": [],
        "error_count": 4,
        "duration_ms": 12,
    }
    assert run.PairResult(A1, R1, "partial", record).summary() == {
        "account": A1,
        "region": R1,
        "status": "partial",
        "matched": 5,
        "acted": 3,
        "skipped": 2,
        "errors": 4,
        "duration_ms": 12,
    }


def test_a_summary_without_counts_counts_the_lists_and_defaults_to_zero() -> None:
    record = {"acted": ["i-1", "i-2"], "skipped": [{"id": "i-3"}], "errors": [{}, {}, {}]}
    summary = run.PairResult(A1, R1, "ok", record).summary()
    assert (summary["matched"], summary["acted"], summary["skipped"], summary["errors"]) == (
        0,
        2,
        1,
        3,
    )
    assert summary["duration_ms"] == 0
    assert "detail" not in summary
    assert run.PairResult(A1, R1, "ok", {}).summary()["acted"] == 0


def test_the_run_record_of_a_clean_stop() -> None:
    fake = FakeEC2([_instance("i-1"), _instance("i-2"), _instance("i-3", "terminated")])
    claims = FakeClaims()
    result = _pair(fake, claims=claims)
    record = claims.finished[(A1, R1)]
    assert record == {
        "status": "ok",
        "matched": 3,
        "acted": ["i-1", "i-2"],
        "acted_count": 2,
        "skipped": [{"id": "i-3", "reason": "terminated", "detail": "terminated: nothing to stop"}],
        "skipped_count": 1,
        "errors": [],
        "error_count": 0,
        "duration_ms": record["duration_ms"],
        "describe_pages": 1,
    }
    assert result.record is record
    assert result.status == "ok"
    assert not result.retryable
    assert fake.calls[0] == (
        "describe_instances",
        {
            "Filters": [
                {"Name": "tag:Environment", "Values": ["dev"]},
                {"Name": "instance-state-name", "Values": list(ec2.INSTANCE_STATES)},
            ],
            "PaginationConfig": {"PageSize": 1000},
        },
    )


def test_the_page_size_comes_from_the_tuning() -> None:
    fake = FakeEC2([_instance("i-1")])
    _pair(fake, page_size=7)
    assert fake.calls[0][1]["PaginationConfig"] == {"PageSize": 7}


def test_start_starts() -> None:
    fake = FakeEC2([_instance("i-1", "stopped"), _instance("i-2", "running")])
    result = _pair(fake, _occ(action="start"))
    # The last look checks that the start stuck (verify_start).
    assert fake.operations() == ["describe_instances", "start_instances", "describe_instances"]
    assert result.record["acted"] == ["i-1"]
    assert result.record["skipped"][0]["reason"] == "in-target-state"


def test_partial_when_some_acted_and_failed_when_none_did() -> None:
    partial = _pair(FakeEC2([_instance("i-1"), _instance("i-2")], bad={"i-2": "Unsupported"}))
    assert partial.status == "partial"
    assert partial.record["acted"] == ["i-1"]
    assert partial.record["errors"] == [
        {"id": "i-2", "code": "Unsupported", "message": "Unsupported here"}
    ]
    assert partial.record["error_count"] == 1
    failed = _pair(FakeEC2([_instance("i-1")], bad={"i-1": "Unsupported"}))
    assert failed.status == "failed"


def test_duration_is_measured_in_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([10.0, 12.25, 11.0, 11.5])
    monkeypatch.setattr(run.time, "monotonic", lambda: next(ticks))
    assert _pair(FakeEC2()).record["duration_ms"] == 2250
    claims = FakeClaims({(A1, R1): Claim(DUPLICATE, 1, "t", {"status": "ok"})})
    _pair(FakeEC2(), claims=claims)
    assert claims.duplicates == [(A1, R1, 500)]


# --- the cap ---------------------------------------------------------------------------------------


def test_more_than_max_instances_is_refused_and_acts_on_none() -> None:
    fake = FakeEC2([_instance("i-1"), _instance("i-2"), _instance("i-3")])
    result = _pair(fake, _occ(max_instances=2))
    assert result.status == "refused"
    assert result.record["detail"] == (
        "3 instances to stop, more than max_instances (2): acted on none"
    )
    assert result.record["would_act"] == 3
    assert result.record["acted"] == []
    assert result.record["errors"] == []
    assert fake.operations() == ["describe_instances"]
    assert not result.retryable
    assert result.summary()["detail"] == result.record["detail"]


def test_exactly_max_instances_acts() -> None:
    result = _pair(FakeEC2([_instance("i-1"), _instance("i-2")]), _occ(max_instances=2))
    assert result.status == "ok"
    assert "would_act" not in result.record
    assert "detail" not in result.record


def test_skipped_instances_do_not_count_towards_the_cap() -> None:
    fake = FakeEC2([_instance("i-1"), _instance("i-2", "stopped")])
    assert _pair(fake, _occ(max_instances=1)).status == "ok"


# --- retryable or not ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "NotAttempted",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "Unavailable",
        "IncorrectInstanceState",
        "InsufficientInstanceCapacity",
        "RequestExpired",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    ],
)
def test_transient_errors_make_a_failed_or_partial_pair_retryable(code: str) -> None:
    result = _pair(FakeEC2([_instance("i-2")], bad={"i-2": code}))
    assert (result.status, result.retryable) == ("failed", True)


def test_a_partial_pair_with_a_transient_error_is_retryable() -> None:
    fake = FakeEC2([_instance("i-1"), _instance("i-2")], bad={"i-2": "IncorrectInstanceState"})
    result = _pair(fake)
    assert (result.status, result.retryable) == ("partial", True)


def test_permanent_errors_are_not_retryable() -> None:
    assert not _pair(FakeEC2([_instance("i-1")], bad={"i-1": "UnauthorizedOperation"})).retryable


def test_one_transient_error_among_permanent_ones_is_enough() -> None:
    fake = FakeEC2(
        [_instance("i-1"), _instance("i-2")],
        bad={"i-1": "UnauthorizedOperation", "i-2": "IncorrectInstanceState"},
    )
    assert _pair(fake).retryable


def test_a_refused_or_ok_pair_is_never_retryable_whatever_its_errors_say() -> None:
    errors = [{"id": "i-1", "code": "Throttling", "message": ""}]
    assert not run._retryable({"status": "ok", "errors": errors})
    assert not run._retryable({"status": "refused", "errors": errors})
    assert run._retryable({"status": "failed", "errors": errors})
    assert run._retryable({"status": "partial", "errors": errors})
    assert not run._retryable({"status": "failed"})


def test_a_connection_error_to_ec2_is_a_retryable_pair_wide_error() -> None:
    fake = FakeEC2(describe_error=EndpointConnectionError(endpoint_url="https://ec2"))
    result = _pair(fake)
    assert result.status == "failed"
    assert result.retryable
    assert result.record["errors"][0]["id"] == ""
    assert result.record["errors"][0]["code"] == "EndpointConnectionError"


def test_no_time_left_sends_nothing_and_records_a_retryable_not_attempted() -> None:
    clients = FakeClients({(A1, R1): FakeEC2([_instance("i-1")])})
    env = _env(clients, deadline=100.0, reserve_s=10.0, clock=lambda: 90.0)
    result = run.process_pair(_occ(), A1, R1, env)
    assert clients.asked == []
    assert result.record["errors"] == [ec2.not_attempted("")]
    assert (result.status, result.retryable) == ("failed", True)


def test_time_left_just_above_the_reserve_works() -> None:
    clients = FakeClients({(A1, R1): FakeEC2([_instance("i-1")])})
    env = _env(clients, deadline=100.0, reserve_s=10.0, clock=lambda: 89.5)
    assert run.process_pair(_occ(), A1, R1, env).record["acted"] == ["i-1"]


def test_an_unexpected_error_fails_the_pair_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(FakeEC2):
        def paginate(self, **params: Any) -> list[dict[str, Any]]:
            raise KeyError("x" * 400)

    with caplog.at_level(logging.ERROR, logger="ouroboros.executor"):
        result = _pair(Broken())
    error = result.record["errors"][0]
    assert (error["id"], error["code"]) == ("", "KeyError")
    assert error["message"] == str(KeyError("x" * 400))[:300]
    assert len(error["message"]) == 300
    assert result.status == "failed"
    assert not result.retryable
    assert caplog.records[-1].getMessage() == f"{A1}/{R1}: unexpected error"


# --- overall status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "overall"),
    [
        (["ok"], "ok"),
        (["ok", "ok"], "ok"),
        ([DUPLICATE], DUPLICATE),
        ([DUPLICATE, DUPLICATE], DUPLICATE),
        (["ok", DUPLICATE], "ok"),
        (["failed"], "failed"),
        (["failed", "failed"], "failed"),
        (["refused"], "refused"),
        (["partial"], "partial"),
        (["ok", "failed"], "partial"),
        (["failed", "refused"], "partial"),
        ([DUPLICATE, "failed"], "partial"),
    ],
)
def test_overall_status(statuses: list[str], overall: str) -> None:
    results = [run.PairResult(A1, R1, s, {}) for s in statuses]
    assert run.overall_status(results) == overall


# --- duplicates and the log table ------------------------------------------------------------------


def test_a_duplicate_delivery_touches_no_ec2_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    claims = FakeClaims({(A1, R1): Claim(DUPLICATE, 1, "t", {"status": "ok"})})
    clients = FakeClients({(A1, R1): FakeEC2([_instance("i-1")])})
    with caplog.at_level(logging.INFO, logger="ouroboros.executor"):
        result = run.process_pair(_occ(), A1, R1, _env(clients, claims))
    assert (result.account, result.region, result.status) == (A1, R1, DUPLICATE)
    assert not result.retryable
    assert result.record == {"status": DUPLICATE, "detail": "already ok", "matched": 0}
    assert clients.asked == []
    assert claims.finished == {}
    assert caplog.records[-1].getMessage() == f"{A1}/{R1}: already ok"


def test_a_log_table_failure_is_raised_after_every_pair_ran() -> None:
    fakes = {(A1, r): FakeEC2([_instance(f"i-{r}")]) for r in (R1, R2)}
    claims = FakeClaims()
    claims.broken = {(A1, R1)}
    occ = _occ(regions=(R1, R2))
    with pytest.raises(LogTableError, match=f"table broken for {A1}/{R1}"):
        run.process_occurrence(occ, _env(FakeClients(fakes), claims))
    assert list(claims.finished) == [(A1, R2)]
    assert fakes[(A1, R2)].operations()[-1] == "stop_instances"


def test_the_first_log_table_failure_is_the_one_raised() -> None:
    fakes = {(A1, r): FakeEC2() for r in (R1, R2)}
    claims = FakeClaims()
    claims.broken = {(A1, R1), (A1, R2)}
    with pytest.raises(LogTableError, match=R1):
        run.process_occurrence(_occ(regions=(R1, R2)), _env(FakeClients(fakes), claims))


def test_many_pairs_all_run() -> None:
    regions = tuple(f"eu-west-{n}" for n in range(1, 11))
    fakes = {(A1, r): FakeEC2([_instance("i-1")]) for r in regions}
    results = run.process_occurrence(_occ(regions=regions), _env(FakeClients(fakes)))
    assert [r.region for r in results] == list(regions)
    assert all(r.status == "ok" for r in results)


# --- Spot -------------------------------------------------------------------------------------------


def _spot(instance_id: str, request: str) -> dict[str, Any]:
    return _instance(instance_id, InstanceLifecycle="spot", SpotInstanceRequestId=request)


def test_persistent_spot_instances_stop_one_time_ones_are_skipped() -> None:
    fake = FakeEC2(
        [_spot("i-1", "sir-1"), _spot("i-2", "sir-2"), _instance("i-3")],
        spot=[
            {"SpotInstanceRequestId": "sir-1", "Type": "persistent"},
            {"SpotInstanceRequestId": "sir-2", "Type": "one-time"},
        ],
    )
    result = _pair(fake)
    assert result.record["acted"] == ["i-1", "i-3"]
    assert result.record["skipped"] == [
        {
            "id": "i-2",
            "reason": "spot-one-time",
            "detail": "one-time Spot instance: cannot be stopped",
        }
    ]
    spot_call = fake.calls[1]
    assert spot_call[0] == "describe_spot_instance_requests"
    assert spot_call[1]["Filters"][0]["Values"] == ["sir-1", "sir-2"]


def test_unreadable_spot_requests_skip_the_spot_instances_and_say_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeEC2(
        [_spot("i-1", "sir-1"), _instance("i-2")],
        spot=_error("UnauthorizedOperation", "DescribeSpotInstanceRequests"),
    )
    with caplog.at_level(logging.WARNING, logger="ouroboros.executor"):
        result = _pair(fake)
    assert result.status == "ok"
    assert result.record["acted"] == ["i-2"]
    assert result.record["skipped"][0]["detail"] == (
        "Spot request sir-1 could not be read (UnauthorizedOperation): "
        "taken as one-time, not stopped"
    )
    assert caplog.records[-1].getMessage() == (
        "cannot read Spot requests: UnauthorizedOperation here"
    )


def test_spot_requests_are_not_read_to_start_or_without_spot_instances() -> None:
    start = FakeEC2([_spot("i-1", "sir-1")], spot=_error("Boom"))
    assert _pair(start, _occ(action="start")).record["errors"] == []
    assert "describe_spot_instance_requests" not in start.operations()
    plain = FakeEC2([_instance("i-1"), _spot("i-2", "")], spot=_error("Boom"))
    assert _pair(plain).record["acted"] == ["i-1"]
    assert "describe_spot_instance_requests" not in plain.operations()


# --- hibernation -----------------------------------------------------------------------------------


def test_hibernate_records_hibernations_and_notes_plain_stops() -> None:
    fake = FakeEC2([_instance("i-1", HibernationOptions={"Configured": True}), _instance("i-2")])
    record = _pair(fake, _occ(hibernate=True)).record
    assert record["hibernated"] == ["i-1"]
    assert record["hibernated_count"] == 1
    assert record["notes"] == [
        {"id": "i-2", "note": "hibernation not configured: stopped without hibernation"}
    ]
    assert fake.calls[1] == ("stop_instances", {"InstanceIds": ["i-1"], "Hibernate": True})


def test_no_hibernation_fields_without_hibernate_or_on_start() -> None:
    fake = FakeEC2([_instance("i-1", HibernationOptions={"Configured": True})])
    assert "hibernated" not in _pair(fake).record
    started = FakeEC2([_instance("i-1", "stopped")])
    record = _pair(started, _occ(action="start", hibernate=True)).record
    assert not {"hibernated", "hibernated_count", "notes"} & set(record)


# --- retries -----------------------------------------------------------------------------------------


def _previous(**over: Any) -> dict[str, Any]:
    previous: dict[str, Any] = {
        "status": "partial",
        "matched": 3,
        "acted": ["i-1"],
        "acted_count": 1,
        "skipped": [{"id": "i-9", "reason": "terminated", "detail": "terminated: nothing to stop"}],
        "skipped_count": 1,
        "errors": [{"id": "i-2", "code": "IncorrectInstanceState", "message": "busy"}],
        "error_count": 1,
        "execution_id": "e-1",
        "attempts": 1,
        "started_at": "2026-11-27T19:00:01Z",
    }
    previous.update(over)
    return previous


def _retry(previous: dict[str, Any]) -> FakeClaims:
    return FakeClaims({(A1, R1): Claim(RETRY, 2, "t", previous)})


def test_a_retry_describes_only_the_failed_instances_and_keeps_the_first_attempt() -> None:
    fake = FakeEC2([_instance("i-1", "stopped"), _instance("i-2"), _instance("i-9", "terminated")])
    result = _pair(fake, claims=_retry(_previous()))
    filters = fake.calls[0][1]["Filters"]
    assert {"Name": "instance-id", "Values": ["i-2"]} in filters
    assert fake.calls[0][1]["PaginationConfig"] == {"PageSize": 1000}
    record = result.record
    assert record["status"] == "ok"
    assert record["matched"] == 3
    assert record["acted"] == ["i-1", "i-2"]
    assert record["acted_count"] == 2
    assert record["skipped"] == _previous()["skipped"]
    assert record["skipped_count"] == 1
    assert record["retry_of"] == "e-1"
    assert record["history"] == [
        {
            "attempt": 1,
            "execution_id": "e-1",
            "started_at": "2026-11-27T19:00:01Z",
            "status": "partial",
            "error_count": 1,
            "errors": _previous()["errors"],
        }
    ]


def test_a_retry_without_a_matched_count_uses_what_it_found() -> None:
    previous = _previous()
    del previous["matched"]
    fake = FakeEC2([_instance("i-2")])
    assert _pair(fake, claims=_retry(previous)).record["matched"] == 1


def test_a_retry_skip_of_an_instance_acted_on_before_is_dropped() -> None:
    previous = _previous(
        errors=[{"id": "i-1", "code": "X", "message": ""}], skipped=[], skipped_count=0
    )
    fake = FakeEC2([_instance("i-1", "stopped")])
    record = _pair(fake, claims=_retry(previous)).record
    assert record["skipped"] == []
    assert record["skipped_count"] == 0
    assert record["acted"] == ["i-1"]


def test_a_retry_counts_earlier_skips_from_the_count_or_the_list() -> None:
    fake = FakeEC2([_instance("i-2", "stopped")])
    record = _pair(fake, claims=_retry(_previous(skipped_count=7))).record
    assert record["skipped_count"] == 8
    previous = _previous()
    del previous["skipped_count"]
    assert _pair(fake, claims=_retry(previous)).record["skipped_count"] == 2


def test_a_retry_after_a_pair_wide_error_redoes_the_whole_pair() -> None:
    previous = _previous(status="failed", errors=[{"id": "", "code": "Throttling", "message": ""}])
    fake = FakeEC2([_instance("i-1"), _instance("i-2")])
    record = _pair(fake, claims=_retry(previous)).record
    assert all(f["Name"] != "instance-id" for f in fake.calls[0][1]["Filters"])
    assert record["matched"] == 2
    assert record["skipped"] == []  # the whole pair was described again: no earlier skips
    assert record["acted"] == ["i-1", "i-2"]
    assert record["acted_count"] == 3  # i-1 counted by the first attempt as well


def test_a_retried_hibernate_keeps_the_earlier_hibernations_and_notes() -> None:
    previous = _previous(
        hibernated=["i-1"],
        hibernated_count=1,
        notes=[{"id": "i-0", "note": "earlier"}],
    )
    fake = FakeEC2([_instance("i-2", HibernationOptions={"Configured": True})])
    record = _pair(fake, _occ(hibernate=True), _retry(previous)).record
    assert record["hibernated"] == ["i-1", "i-2"]
    assert record["hibernated_count"] == 2
    assert record["notes"] == [{"id": "i-0", "note": "earlier"}]


def test_a_new_claim_ignores_any_previous_item() -> None:
    claims = FakeClaims({(A1, R1): Claim(NEW, 1, "t", _previous())})
    fake = FakeEC2([_instance("i-1")])
    record = _pair(fake, claims=claims).record
    assert record["acted"] == ["i-1"]
    assert record["acted_count"] == 1
    assert "retry_of" not in record
    assert "history" not in record
    assert all(f["Name"] != "instance-id" for f in fake.calls[0][1]["Filters"])


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, None),
        ({}, None),
        ({"status": "ok", "errors": [{"id": "i-1"}]}, None),
        ({"status": "refused", "errors": [{"id": "i-1"}]}, None),
        ({"status": "failed", "errors": [{"id": "i-1"}]}, ["i-1"]),
        (
            {"status": "partial", "errors": [{"id": "i-1"}, {"id": "i-2"}, {"id": "i-1"}]},
            ["i-1", "i-2"],
        ),
        ({"status": "failed", "errors": [{"id": "i-1"}], "error_count": 2}, None),
        ({"status": "failed", "errors": [{"id": "i-1"}], "error_count": 1}, ["i-1"]),
        ({"status": "failed", "errors": []}, None),
        ({"status": "failed"}, None),
        ({"status": "failed", "errors": [{"id": "i-1"}, {"code": "X"}]}, None),
        ({"status": "failed", "errors": [{"id": "i-1"}, {"id": ""}]}, None),
    ],
)
def test_which_instances_a_retry_redoes(
    previous: dict[str, Any] | None, expected: list[str] | None
) -> None:
    assert run._failed_ids(previous) == expected


def test_history_of_an_abandoned_claim_and_its_limits() -> None:
    errors = [{"id": f"i-{n}", "code": "X", "message": ""} for n in range(8)]
    older = [{"attempt": n} for n in range(12)]
    history = run._history(
        {"status": "running", "errors": errors, "history": older, "attempts": 13}
    )
    assert len(history) == 10
    assert history[:-1] == older[-9:]
    assert history[-1] == {
        "attempt": 13,
        "execution_id": "",
        "started_at": "",
        "status": "unfinished",
        "error_count": 8,
        "errors": errors[:5],
    }


def test_history_defaults() -> None:
    assert run._history({}) == [
        {
            "attempt": 1,
            "execution_id": "",
            "started_at": "",
            "status": "None",
            "error_count": 0,
            "errors": [],
        }
    ]
    assert run._history({"status": "failed", "error_count": 4})[0]["error_count"] == 4


# --- the 400 KB item -------------------------------------------------------------------------------


def test_a_huge_result_is_cut_to_fit_and_its_counts_stay_exact() -> None:
    ids = [f"i-{n:017x}" for n in range(3000)]
    bad = dict.fromkeys(ids, "UnauthorizedOperation")
    fake = FakeEC2([_instance(i) for i in ids], bad=bad)
    record = _pair(fake, _occ(max_instances=3000)).record
    assert record["error_count"] == 3000
    assert len(record["errors"]) == run.LIST_MAX
    assert run._size(record) <= run.ITEM_BUDGET
    assert record["detail"].startswith("3000 error(s), first: UnauthorizedOperation")


def test_fit_halves_the_largest_list_until_the_item_fits() -> None:
    record = {"acted": ["a" * 100] * 4000, "skipped": ["b" * 100] * 10, "errors": []}
    fitted = run._fit(dict(record))
    assert fitted["skipped"] == record["skipped"]
    assert len(fitted["acted"]) == 2000
    assert run._size(fitted) <= run.ITEM_BUDGET
    small = {"acted": ["a"] * 3}
    assert run._fit(dict(small)) == small


def test_fit_gives_up_when_nothing_is_left_to_cut() -> None:
    record = {"detail": "x" * (run.ITEM_BUDGET + 1), "acted": []}
    assert run._fit(dict(record)) == record


def test_the_size_is_the_compact_utf8_json() -> None:
    assert run._size({"a": [1, 2]}) == len('{"a":[1,2]}')
    assert run._size("é") == 4  # "é" in quotes: two bytes, not an \\u escape


def test_lists_keep_their_first_thousand_entries() -> None:
    ids = [f"i-{n}" for n in range(1001)]
    fake = FakeEC2([_instance(i, "stopped") for i in ids] + [_instance("i-x")])
    record = _pair(fake).record
    assert len(record["skipped"]) == 1000
    assert record["skipped_count"] == 1001
    assert record["skipped"][0]["id"] == "i-0"


def test_a_retry_of_an_item_without_skips_or_execution_id() -> None:
    previous = _previous()
    del previous["skipped"], previous["skipped_count"], previous["execution_id"]
    fake = FakeEC2([_instance("i-2", "stopped")])
    record = _pair(fake, claims=_retry(previous)).record
    assert record["skipped"] == [
        {"id": "i-2", "reason": "in-target-state", "detail": "already stopped"}
    ]
    assert record["retry_of"] == ""


def test_an_item_of_exactly_the_budget_is_kept_whole() -> None:
    record = {"acted": ["x" * (run.ITEM_BUDGET - len('{"acted":[""]}'))]}
    assert run._size(record) == run.ITEM_BUDGET
    assert run._fit(dict(record)) == record
