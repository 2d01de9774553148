"""Executor benchmark: 5,000 matching instances in one account and region, on moto.

Counts, with a botocore event hook on the executor's own session, the DescribeInstances pages
and the Start/StopInstances calls (and the ids in each), and times each scenario:

1. stop, one pass: the processing function under the handler (handler.execute) with the cap
   raised to the fleet size, because a rule's max_instances stops at 1,000;
2. start, one pass: the same fleet back up;
3. stop through the real handler, as five rules of 1,000 instances each (max_instances 1000);
4. the same five occurrences delivered again: logged no-ops, no EC2 call at all.

Then, in the same (account, region), the other kinds (DESIGN.md §9), one pass each with the
cap raised to the count: 1,000 RDS DB instances stopped (resource: rds, a tag filter, which RDS
cannot apply: every page is read) and 500 Auto Scaling groups stopped and started again
(resource: asg, two calls per group: the saved-capacity tag and the resize).
Target: ceil(N / 100) Describe pages (MaxRecords' limit), one Stop call per DB instance, two
calls per group; the start adds the look that the restored capacity took (issue 12): one
DescribeAutoScalingGroups by name per 50 started groups.

Target: ceil(N / 1000) describe pages and ceil(N / 1000) start/stop calls of 1,000 ids.

moto pages DescribeInstances by reservation, AWS by item; the fleet is launched one instance
per reservation so that both readings give pages of 1,000 instances. Wall times are mostly
moto's (it filters the whole fleet for every page); the call counts are what carry to AWS.

Union check (issue 13, a separate section): the CPU the union of on-windows adds to a stop
firing, with 1,000 rules in the manifest and 5,000 described instances: which rules hold on
now (once per pair) and the filter match of every instance against those that do. Pure, no
AWS: it works on what the firing already described, so it adds no Describe call (the stop pass
above reads the manifest with one GetItem and its describe pages stay at the target). Goal:
under 10% of the firing's own executor time.

    python benchmarks/executor.py [--instances 5000] [--db-instances 1000] [--groups 500] [--rules 1000] [--union-only]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = "eu-west-1"
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"  # no AMI catalogue: setup is faster
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import boto3
from moto import mock_aws

from reconciler import runlog
from reconciler.executor import asg, credentials, decisions, handler, trust
from reconciler.executor.event import Occurrence
from reconciler.executor.manifest import Manifest, RuleEntry
from reconciler.executor.manifest import encode as encode_manifest
from reconciler.executor.selection import FireContext, Instance, select

if TYPE_CHECKING:  # boto3-stubs (the dev extra)
    from mypy_boto3_ec2.type_defs import TagTypeDef

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TABLE = "ouroboros-runs"
PAGE = 1000
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:ouroboros-executor"
SCHEDULER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ouroboros-scheduler"
GROUP = "ouroboros"
WHEN = "2026-11-27T19:00:00Z"
CONFIG = handler.Configuration(TABLE, 90, REGION, GROUP, "ouroboros-target")


@dataclass
class Counter:
    describe_pages: int = 0
    change_calls: list[tuple[str, int]] = field(default_factory=list)  # (operation, ids)
    in_calls_s: float = 0.0  # inside AWS calls (here: moto serving them), all services
    # RDS and Auto Scaling calls by operation (the other kinds' pages and calls).
    operations: collections.Counter[str] = field(default_factory=collections.Counter)

    def count_kind(self, event_name: str, **_: Any) -> None:
        self.operations[event_name.rsplit(".", 1)[-1]] += 1

    def count(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation == "DescribeInstances":
            self.describe_pages += 1
        elif operation in ("StartInstances", "StopInstances"):
            self.change_calls.append((operation, len(params.get("InstanceIds", []))))

    def call_started(self, context: dict[str, Any], **_: Any) -> None:
        context["benchmark_started"] = time.perf_counter()

    def call_ended(self, context: dict[str, Any], **_: Any) -> None:
        started = context.get("benchmark_started", time.perf_counter())
        self.in_calls_s += time.perf_counter() - started


@dataclass
class Context:
    invoked_function_arn: str = FUNCTION_ARN
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@contextmanager
def counted() -> Iterator[Counter]:
    """Every session the executor opens reports its EC2 calls to the counter."""
    counter = Counter()
    original = credentials.new_session

    def session() -> boto3.session.Session:
        made = original()
        made.events.register("provide-client-params.ec2", counter.count)
        made.events.register("provide-client-params.rds", counter.count_kind)
        made.events.register("provide-client-params.auto-scaling", counter.count_kind)
        made.events.register("before-call", counter.call_started)
        made.events.register("after-call", counter.call_ended)
        return made

    credentials.new_session = session
    try:
        yield counter
    finally:
        credentials.new_session = original


def occurrence(
    rule: str, action: str, targets: dict[str, str], cap: int, resource: str = "ec2"
) -> Occurrence:
    return Occurrence(
        rule=rule,
        action=action,
        hibernate=False,
        accounts=(ACCOUNT,),
        regions=(REGION,),
        targets=tuple((name, (value,)) for name, value in targets.items()),
        max_instances=cap,
        role_name="ouroboros-target",
        schedule_arn=f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/ouroboros/{rule}-{action}",
        scheduled_time=WHEN,
        execution_id=str(uuid.uuid4()),
        resource=resource,
    )


def deploy(event: dict[str, Any]) -> None:
    """The schedule that sends `event`, so the executor's trust check finds it."""
    scheduler = boto3.client("scheduler", region_name=REGION)
    name = event["schedule_arn"].rsplit("/", 1)[-1]
    template = {**event, **trust.PLACEHOLDERS}
    with contextlib.suppress(scheduler.exceptions.ConflictException):  # delivered again
        scheduler.create_schedule(
            Name=name,
            GroupName=GROUP,
            ScheduleExpression="cron(0 19 * * ? *)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": FUNCTION_ARN, "RoleArn": SCHEDULER_ROLE, "Input": json.dumps(template)},
        )


def event(occ: Occurrence) -> dict[str, Any]:
    """The §6 event of an occurrence, as Lambda hands it to the handler."""
    return {
        "version": 1,
        "rule": occ.rule,
        "action": occ.action,
        "hibernate": occ.hibernate,
        "accounts": list(occ.accounts),
        "regions": list(occ.regions),
        "targets": {name: list(values) for name, values in occ.targets},
        "max_instances": occ.max_instances,
        "role_name": occ.role_name,
        "schedule_arn": occ.schedule_arn,
        "scheduled_time": occ.scheduled_time,
        "execution_id": str(uuid.uuid4()),
    }


def launch(n: int) -> float:
    """n instances tagged Environment=bench and Shard=<k> (1,000 per shard), one per reservation."""
    ec2 = boto3.client("ec2", region_name=REGION)
    started = time.perf_counter()
    for i in range(n):
        tags: list[TagTypeDef] = [
            {"Key": "Environment", "Value": "bench"},
            {"Key": "Shard", "Value": str(i // PAGE)},
        ]
        ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        if (i + 1) % 1000 == 0:
            print(f"  launched {i + 1:,}", file=sys.stderr)
    return time.perf_counter() - started


def one_pass(action: str, n: int, resource: str = "ec2") -> tuple[Counter, float, dict[str, Any]]:
    rule = "bench" if resource == "ec2" else f"bench-{resource}"
    occ = occurrence(rule, action, {"tag:Environment": "bench"}, cap=n, resource=resource)
    with counted() as counter:
        started = time.perf_counter()
        env = handler.environment(occ, Context(), CONFIG)
        summary = handler.execute(occ, env)
        wall = time.perf_counter() - started
    return counter, wall, summary


def five_rules(n: int, again: bool = False) -> tuple[Counter, float, list[dict[str, Any]]]:
    shards = math.ceil(n / PAGE)
    events = [
        event(occurrence(f"bench-shard-{k}", "stop", {"tag:Shard": str(k)}, cap=PAGE))
        for k in range(shards)
    ]
    if again:
        for e in events:
            e["execution_id"] = str(uuid.uuid4())
    for e in events:
        deploy(e)
    # The trust check compares scheduled_time with the clock: play the occurrence's minute.
    tuning = dataclasses.replace(
        handler.TUNING, now=lambda: runlog.parse_instant(WHEN), emit=lambda _line: None
    )
    summaries = []
    with counted() as counter:
        started = time.perf_counter()
        for e in events:
            summaries.append(handler.handle(e, Context(), tuning))
        wall = time.perf_counter() - started
    return counter, wall, summaries


# --- the union check (issue 13) ------------------------------------------------------------


def manifest_rules(n: int, firing: str = "bench", hold_bench: bool = True) -> tuple[RuleEntry, ...]:
    """n rules like a big organisation's: the firing rule, most windows closed at WHEN (Friday
    19:00 UTC), a tenth holding on now with filters matching no bench instance, and one holding
    Shard 0 on (with `hold_bench`; else a shard no instance has); a spread of zones and
    expressions."""
    zones = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo")
    rules = [
        RuleEntry(
            firing,
            "ec2",
            (ACCOUNT,),
            (REGION,),
            (("tag:Environment", ("bench",)),),
            "UTC",
            "cron(0 8 ? * MON-FRI *)",
            "cron(0 19 ? * MON-FRI *)",
        ),
        RuleEntry(
            "late-shard-0",
            "ec2",
            (ACCOUNT,),
            (REGION,),
            (("tag:Environment", ("bench",)), ("tag:Shard", ("0" if hold_bench else "none",))),
            "UTC",
            "cron(0 18 ? * MON-FRI *)",
            "cron(0 23 ? * MON-FRI *)",
        ),
    ]
    for k in range(n - len(rules)):
        holding = k % 10 == 0
        start, stop = (
            ("cron(0 18 ? * MON-FRI *)", "cron(30 23 ? * MON-FRI *)")
            if holding
            else (
                f"cron({k % 60} {6 + k % 3} ? * MON-FRI *)",
                f"cron(0 {15 + k % 3} ? * MON-FRI *)",
            )
        )
        rules.append(
            RuleEntry(
                f"team-{k}",
                "ec2",
                (ACCOUNT,),
                (REGION,),
                (("tag:Team", (f"team-{k}", f"team-{k}-*")), ("instance-type", ("t3.*",))),
                "UTC" if holding else zones[k % len(zones)],
                start,
                stop,
            )
        )
    return tuple(rules)


def bench_instances(n: int) -> list[Instance]:
    return [
        Instance.from_api(
            {
                "InstanceId": f"i-{k:017x}",
                "State": {"Name": "running"},
                "InstanceType": "m6i.large",
                "PrivateIpAddress": f"10.0.{k // 250}.{k % 250}",
                "VpcId": "vpc-0a1b2c3d4e5f60718",
                "SubnetId": "subnet-0123456789abcdef0",
                "Placement": {"AvailabilityZone": "eu-west-1a"},
                "Tags": [
                    {"Key": "Environment", "Value": "bench"},
                    {"Key": "Shard", "Value": str(k // PAGE)},
                    {"Key": "Name", "Value": f"bench-{k}"},
                ],
            }
        )
        for k in range(n)
    ]


def union_check(n_rules: int, n_instances: int) -> tuple[float, float, int]:
    """(CPU s of the union check, CPU s of the selection without it, instances held on)."""
    manifest = Manifest("bench", manifest_rules(n_rules))
    instances = bench_instances(n_instances)
    at = runlog.parse_instant(WHEN)
    decisions.holds_until.cache_clear()  # a cold Lambda: nothing cached
    started = time.process_time()
    plain = select(instances, "stop", frozenset())
    baseline = time.process_time() - started
    started = time.process_time()
    holding = decisions.holders(manifest, "bench", "ec2", ACCOUNT, REGION, at)
    with_union = select(instances, "stop", frozenset(), None, FireContext(at, holding))
    total = time.process_time() - started
    assert len(plain.act) == n_instances
    return total, baseline, len(with_union.skipped)


def write_manifest(n_rules: int, shards: int) -> None:
    """The manifest the moto passes read: holding no bench instance on (the passes' targets
    count every instance), with the five shard rules so their firings find it fresh."""
    shard_rules = tuple(
        RuleEntry(
            f"bench-shard-{k}",
            "ec2",
            (ACCOUNT,),
            (REGION,),
            (("tag:Shard", (str(k),)),),
            "UTC",
            None,
            "cron(0 19 * * ? *)",
        )
        for k in range(shards)
    )
    rules = manifest_rules(n_rules - shards, hold_bench=False) + shard_rules
    item = encode_manifest(Manifest("bench", rules))
    boto3.client("dynamodb", region_name=REGION).put_item(TableName=TABLE, Item=item)


def print_union(n_rules: int, n_instances: int, executor_s: float | None) -> bool:
    union_s, select_s, held = union_check(n_rules, n_instances)
    print(
        f"union check: {n_rules:,} rules in the manifest x {n_instances:,} instances: "
        f"{union_s * 1000:.0f} ms CPU ({held:,} held on); the selection without it "
        f"{select_s * 1000:.0f} ms"
    )
    if executor_s is None:
        return True
    share = union_s / executor_s if executor_s else float("inf")
    print(
        f"  = {share:.1%} of the stop pass's own executor time ({executor_s:.2f} s): "
        f"goal under 10%: {'met' if share < 0.10 else 'MISSED'}"
    )
    return share < 0.10


def calls_text(counter: Counter) -> str:
    if not counter.change_calls:
        return "0"
    operation = counter.change_calls[0][0]
    sizes = sorted({ids for _, ids in counter.change_calls}, reverse=True)
    per_call = "/".join(f"{s:,}" for s in sizes)
    return f"{len(counter.change_calls)} {operation} ({per_call} ids each)"


KIND_PAGE = 100  # DescribeDBInstances' and DescribeAutoScalingGroups' MaxRecords limit
BENCH_TAG = {"Key": "Environment", "Value": "bench"}


def create_db_instances(n: int) -> float:
    rds = boto3.client("rds", region_name=REGION)
    started = time.perf_counter()
    for i in range(n):
        rds.create_db_instance(
            DBInstanceIdentifier=f"bench-db-{i:04d}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="benchmark1",
            Tags=[BENCH_TAG],
        )
    return time.perf_counter() - started


def create_groups(n: int) -> float:
    boto3.client("ec2", region_name=REGION).create_launch_template(
        LaunchTemplateName="bench",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"},
    )
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    started = time.perf_counter()
    for i in range(n):
        name = f"bench-asg-{i:04d}"
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": "bench"},
            MinSize=1,
            DesiredCapacity=1,
            MaxSize=2,
            AvailabilityZones=[f"{REGION}a"],
            Tags=[{**BENCH_TAG, "ResourceId": name, "ResourceType": "auto-scaling-group"}],
        )
    return time.perf_counter() - started


def kinds(db_instances: int, groups: int) -> bool:
    """The other kinds in the same (account, region); True when every target is met."""
    print(
        f"\nOther kinds in {ACCOUNT}/{REGION}: {db_instances:,} RDS DB instances, {groups:,} ASGs"
    )
    setup = create_db_instances(db_instances) + create_groups(groups)
    print(f"setup: created in {setup:.1f} s\n")
    runs = [
        (
            f"rds stop, one pass (cap {db_instances:,})",
            "rds",
            "stop",
            db_instances,
            "DescribeDBInstances",
            0,
            {"StopDBInstance": db_instances},
        ),
        (
            f"asg stop, one pass (cap {groups:,})",
            "asg",
            "stop",
            groups,
            "DescribeAutoScalingGroups",
            0,
            {"CreateOrUpdateTags": groups, "UpdateAutoScalingGroup": groups},
        ),
        (
            f"asg start, one pass (cap {groups:,})",
            "asg",
            "start",
            groups,
            "DescribeAutoScalingGroups",
            # the look that the restored capacity took (verify_kinds), by name, 50 a call
            math.ceil(groups / asg.NAMES_PER_CALL),
            {"UpdateAutoScalingGroup": groups, "DeleteTags": groups},
        ),
    ]
    header = f"{'scenario (per account and region)':<36}{'describe pages':>15}  {'calls':<52}{'wall':>8}  status"
    print(header)
    print("-" * len(header))
    met = True
    for name, resource, action, n, describe, look_pages, expected in runs:
        counter, wall, summary = one_pass(action, n, resource)
        pages = counter.operations[describe]
        calls = {op: c for op, c in counter.operations.items() if op != describe}
        text = ", ".join(f"{c:,} {op}" for op, c in sorted(calls.items()))
        print(f"{name:<36}{pages:>15}  {text:<52}{wall:>7.1f}s  {summary['status']}")
        met = met and pages == math.ceil(n / KIND_PAGE) + look_pages and calls == expected
        met = met and summary["status"] == "ok"
    print(
        f"\ntarget: one Describe page per {KIND_PAGE} resources, one Stop call per DB instance, "
        f"two calls per group: {'met' if met else 'MISSED'}"
    )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--db-instances", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--rules", type=int, default=1000, help="rules in the manifest")
    parser.add_argument("--union-only", action="store_true", help="only the union check (no moto)")
    args = parser.parse_args()
    n = args.instances
    target = math.ceil(n / PAGE)
    if args.union_only:
        print_union(args.rules, n, None)
        return 0
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE, **runlog.TABLE_DEFINITION
        )
        os.environ[runlog.TABLE_ENV] = TABLE
        os.environ[runlog.GROUP_ENV] = GROUP
        os.environ[runlog.TARGET_ROLE_ENV] = "ouroboros-target"
        boto3.client("scheduler", region_name=REGION).create_schedule_group(Name=GROUP)
        print(f"Executor benchmark: {n:,} matching instances in {ACCOUNT}/{REGION} on moto")
        setup = launch(n)
        print(f"setup: {n:,} instances launched in {setup:.1f} s (one per reservation)\n")

        rows: list[tuple[str, Counter, float, str]] = []
        write_manifest(args.rules, target)  # so the stop passes run the union check for real
        stop, wall, summary = one_pass("stop", n)
        rows.append((f"stop, one pass (cap {n:,})", stop, wall, summary["status"]))
        start, wall, summary = one_pass("start", n)
        rows.append((f"start, one pass (cap {n:,})", start, wall, summary["status"]))
        rules, wall, summaries = five_rules(n)
        statuses = ",".join(sorted({s["status"] for s in summaries}))
        rows.append((f"stop via handler, {target} rules x {PAGE:,}", rules, wall, statuses))
        repeat, wall, summaries = five_rules(n, again=True)
        statuses = ",".join(sorted({s["status"] for s in summaries}))
        rows.append((f"the same {target} occurrences delivered again", repeat, wall, statuses))

        header = (
            f"{'scenario':<42}{'describe pages':>15}  {'start/stop calls':<38}"
            f"{'wall':>8}{'in moto':>9}{'executor':>10}  status"
        )
        print(header)
        print("-" * len(header))
        for name, counter, seconds, status in rows:
            own = seconds - counter.in_calls_s
            print(
                f"{name:<42}{counter.describe_pages:>15}  {calls_text(counter):<38}"
                f"{seconds:>7.1f}s{counter.in_calls_s:>8.1f}s{own:>9.2f}s  {status}"
            )
        print(
            "\nwall = the scenario end to end; in moto = inside AWS calls (moto serving them, "
            "DynamoDB included);\nexecutor = the rest: the executor's own work and botocore's."
        )
        print()
        met = all(
            c.describe_pages == target
            and len(c.change_calls) == target
            and all(ids <= PAGE for _, ids in c.change_calls)
            for _, c, _, _ in rows[:3]
        )
        no_op = rows[3][1].describe_pages == 0 and not rows[3][1].change_calls
        print(
            f"target: {target} describe pages and {target} calls of at most {PAGE:,} ids per pass: "
            f"{'met' if met else 'MISSED'}; repeated delivery makes no EC2 call: "
            f"{'yes' if no_op else 'NO'}"
        )
        kinds_met = kinds(args.db_instances, args.groups)
        union_met = print_union(args.rules, n, rows[0][2] - rows[0][1].in_calls_s)
        return 0 if met and no_op and kinds_met and union_met else 1


if __name__ == "__main__":
    sys.exit(main())
