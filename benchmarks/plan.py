"""How fast are `reconcile apply` and `reconcile plan` at 1,000 rules (2,000 schedules)?

Starts a moto server on 127.0.0.1 (its own process, as a real endpoint would be), generates
1,000 rules in 10 files, loads them with the real loader, applies them (timed), then times, in
the same run and against the same 2,000 schedules:

- plan: reading the live state (group, ListSchedules pages, one GetSchedule per schedule
  concurrently, the executor, the log table) and diffing it with the desired state;
- a bare sequential boto3 loop: ListSchedules (100 a page) + one GetSchedule per schedule.

Targets: plan <= 1.0x the bare loop; API requests per plan <= ceil(N/100) + N + 10, counted
with a botocore event hook on every request sent (retries included). The converged plan must
show no changes.

Then the target preview (DESIGN.md §10): the rules name 20 accounts and 2 regions, a fleet of
5,000 instances is seeded over those 40 pairs, and the converged plan is previewed with
`--targets all` (every rule read). Target: at most one DescribeInstances request per
(account, region, filter set) the rules name, read concurrently; the extra wall time is
reported, beside the same reads made one at a time.

Run: `python benchmarks/plan.py` (or `make bench`); exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "eu-west-1"
GROUP = "ouroboros"
ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC")
TEAMS = ("payments", "checkout", "search", "platform", "data", "mobile")
ENVIRONMENTS = ("dev", "test", "staging")
# The preview's scale: rules over 20 accounts (the home one first) and 2 regions.
ACCOUNTS = (ACCOUNT, *(f"{200000000000 + i:012d}" for i in range(1, 20)))
REGIONS = (REGION, "eu-central-1")
INSTANCES = 5000
SCHEDULES = (
    ("cron(0 8 ? * MON-FRI *)", "cron(0 19 ? * MON-FRI *)"),
    ("cron(30 7 ? * 2-6 *)", "cron(30 18 ? * 2-6 *)"),
    ("cron(0 18 ? * 6L *)", "cron(0 23 ? * 6L *)"),
    ("rate(12 hours)", "cron(0 20 ? * FRI *)"),
)
SETTINGS = f"""\
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


def rule_yaml(n: int) -> str:
    start, stop = SCHEDULES[n % len(SCHEDULES)]
    team = TEAMS[n % len(TEAMS)]
    return "\n".join(
        [
            f"  - name: {team}-env-{n:04d}",
            f"    description: {team} environment {n}",
            f"    timezone: {ZONES[n % len(ZONES)]}",
            f'    accounts: ["{ACCOUNTS[n % len(ACCOUNTS)]}", "{ACCOUNTS[(n + 7) % len(ACCOUNTS)]}"]',
            f"    regions: [{', '.join(REGIONS)}]",
            "    targets:",
            f"      tag:Environment: {ENVIRONMENTS[n % 3]}",
            f"      tag:Team: [{team}, shared]",
            f"    start: {start}",
            f"    stop: {stop}",
            "",
        ]
    )


def write_project(root: Path, rules: int, per_file: int = 100) -> None:
    (root / "ouroboros.yaml").write_text(SETTINGS)
    schedules = root / "schedules"
    schedules.mkdir()
    for first in range(0, rules, per_file):
        body = "".join(rule_yaml(n) for n in range(first, min(first + per_file, rules)))
        (schedules / f"team-{first // per_file:02d}.yaml").write_text(f"version: 1\nrules:\n{body}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def create_roles(endpoint: str) -> None:
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    for name in ("ouroboros-executor", "ouroboros-scheduler"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def count_requests(*clients: Any) -> Callable[[], int]:
    """Every HTTP request the clients send (retries included), via a botocore event hook."""
    sent = [0]

    def hook(**_: Any) -> None:
        sent[0] += 1

    for client in clients:
        client.meta.events.register("request-created", hook)
    return lambda: sent[0]


def bare_loop(endpoint: str) -> int:
    """The simplest correct read: sequential list pages, then one get per schedule."""
    client = boto3.client("scheduler", region_name=REGION, endpoint_url=endpoint)
    count = 0
    for page in client.get_paginator("list_schedules").paginate(
        GroupName=GROUP, PaginationConfig={"PageSize": 100}
    ):
        for summary in page["Schedules"]:
            client.get_schedule(Name=summary["Name"], GroupName=GROUP)
            count += 1
    return count


def ec2_in(endpoint: str, account: str, region: str) -> Any:
    """An EC2 client in `account` (moto hands each assumed role its account's keys)."""
    if account == ACCOUNT:
        return boto3.client("ec2", region_name=region, endpoint_url=endpoint)
    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint)
    keys = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seed", RoleSessionName="seed")
    credentials = keys["Credentials"]
    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def seed_fleet(endpoint: str, total: int) -> None:
    """`total` instances spread over every (account, region), tagged like the rules' filters."""
    pairs = [(a, r) for a in ACCOUNTS for r in REGIONS]
    per_pair = total // len(pairs)
    for account, region in pairs:
        ec2 = ec2_in(endpoint, account, region)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        for k, team in enumerate(TEAMS):
            count = per_pair // len(TEAMS) + (1 if k < per_pair % len(TEAMS) else 0)
            tags = [
                {"Key": "Environment", "Value": ENVIRONMENTS[k % 3]},
                {"Key": "Team", "Value": team},
            ]
            ec2.run_instances(
                ImageId=image,
                MinCount=count,
                MaxCount=count,
                TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
            )


def preview_run(desired: Any, live: Any, plan: Any, workers: int) -> tuple[float, int, int]:
    """Seconds, DescribeInstances requests and distinct (account, region, filter set) reads of
    one `--targets all` preview."""
    from reconciler import preview
    from reconciler.aws import ClientFactory
    from reconciler.review import build_review, rule_states_of

    sent = [0]
    hooked: set[int] = set()
    real = ClientFactory.client

    def counted(self: ClientFactory, service: str, region: str, *args: Any) -> Any:
        client = real(self, service, region, *args)
        if id(client) not in hooked:  # clients are kept: one hook each

            def hook(**_: Any) -> None:
                sent[0] += 1

            # One per call (a page), not per HTTP attempt: botocore's retries of a 5xx from a
            # loaded moto server are not extra pages.
            client.meta.events.register("before-call.ec2.DescribeInstances", hook)
            hooked.add(id(client))
        return client

    ClientFactory.client = counted  # type: ignore[method-assign, assignment]
    try:
        started = time.perf_counter()
        states = rule_states_of(plan, desired.rules, desired.schedules, live.schedules)
        keys = states.reads("all")
        s = desired.settings
        reader = preview.Reader(ACCOUNT, s.region, s.reader_role_name)
        found = preview.read_targets(keys, reader, workers=workers)
        build_review(states, found, now=datetime.now(UTC), mode="all")
        elapsed = time.perf_counter() - started
    finally:
        ClientFactory.client = real  # type: ignore[method-assign]
    failed = [f.error for f in found.values() if f.error]
    if failed:
        raise SystemExit(f"the preview could not read: {failed[0]}")
    return elapsed, sent[0], len(keys)


def preview_only(endpoint: str, desired: Any, instances: int) -> int:
    from reconciler.plan import make_plan
    from reconciler.resources import LiveState

    live = LiveState(desired.group, desired.schedules, desired.function, desired.table)
    converged = make_plan(desired, live)
    seed_fleet(endpoint, instances)
    preview_s, describes, reads = preview_run(desired, live, converged, workers=16)
    serial_s, _, _ = preview_run(desired, live, converged, workers=1)
    print(
        f"preview (--targets all) of {instances} instances in {len(ACCOUNTS)} accounts x "
        f"{len(REGIONS)} regions: {preview_s:.2f} s extra, {describes} DescribeInstances "
        f"requests for {reads} (account, region, filter set) reads (target <= 1 each); "
        f"the same reads one at a time: {serial_s:.2f} s"
    )
    return 0 if describes <= reads else 1


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each read")
    parser.add_argument("--instances", type=int, default=INSTANCES, help="the preview's fleet")
    parser.add_argument(
        "--preview-only",
        action="store_true",
        help="only the preview part, against the rules as if deployed (no apply, no plan timing)",
    )
    args = parser.parse_args(argv)

    os.environ.update(
        AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark", AWS_REGION=REGION
    )
    os.environ.pop("AWS_PROFILE", None)
    from reconciler.apply import apply_changes
    from reconciler.aws import make_clients
    from reconciler.commands.plan import load_desired
    from reconciler.live import read_live
    from reconciler.plan import make_plan

    with tempfile.TemporaryDirectory() as tmp, moto_server() as endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        root = Path(tmp)
        write_project(root, args.rules)
        create_roles(endpoint)
        started = time.perf_counter()
        desired, package = load_desired(str(root / "schedules"), str(root / "ouroboros.yaml"))
        load_s = time.perf_counter() - started
        n = len(desired.schedules)
        clients = make_clients(REGION)
        if args.preview_only:
            return preview_only(endpoint, desired, args.instances)

        started = time.perf_counter()
        first = make_plan(desired, read_live(clients, desired.settings))
        result = apply_changes(clients, first.changes, group=GROUP, package=package)
        apply_s = time.perf_counter() - started
        if result.outcome != "ok":
            print(f"apply failed: {result.first_error}", file=sys.stderr)
            return 1

        def plan() -> Any:
            return make_plan(desired, read_live(clients, desired.settings))

        plan()  # warm both paths (connections, caches) before timing either
        bare_loop(endpoint)
        sent = count_requests(clients.scheduler, clients.lambda_, clients.dynamodb)
        plan()
        requests_per_plan = sent()
        plan_s, converged = timed(plan, args.runs)
        loop_s, listed = timed(lambda: bare_loop(endpoint), args.runs)

        seed_fleet(endpoint, args.instances)
        live = read_live(clients, desired.settings)
        preview_s, describes, reads = preview_run(desired, live, converged, workers=16)
        serial_s, _, _ = preview_run(desired, live, converged, workers=1)

    budget = math.ceil(n / 100) + n + 10
    ratio = plan_s / loop_s
    print(f"rules: {args.rules}, schedules: {n} (loaded and validated in {load_s:.2f} s)")
    print(
        f"apply (from nothing): {apply_s:.2f} s, {len(first.changes)} changes, {result.summary()}"
    )
    print(f"plan after apply: {len(converged.changes)} changes")
    print(f"plan (read live + diff), median of {args.runs}: {plan_s:.2f} s")
    print(
        f"bare sequential list+get loop ({listed} schedules), median of {args.runs}: {loop_s:.2f} s"
    )
    print(f"plan / loop: {ratio:.2f}x (target <= 1.0x)")
    print(f"API requests per plan: {requests_per_plan} (target <= ceil(N/100) + N + 10 = {budget})")
    print(
        f"preview (--targets all) of {args.instances} instances in {len(ACCOUNTS)} accounts x "
        f"{len(REGIONS)} regions: {preview_s:.2f} s extra, {describes} DescribeInstances "
        f"requests for {reads} (account, region, filter set) reads (target <= 1 each); "
        f"the same reads one at a time: {serial_s:.2f} s"
    )
    ok = (
        converged.changes == ()
        and ratio <= 1.0
        and requests_per_plan <= budget
        and describes <= reads
    )
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
