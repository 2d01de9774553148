"""`reconcile demo`: the whole loop on an embedded local AWS (moto), with no account at all.

It writes a small repository (rules + settings) to a temporary directory, starts moto in
process, bootstraps what the one-time CloudFormation template would (the IAM roles), seeds a
fleet in two accounts and two regions, then runs the real commands: validate, plan, apply,
plan again (no changes). Then it plays the next days: at every fire time the time engine
computes for each *deployed* schedule, it invokes the real executor handler with that
schedule's Input (placeholders substituted the way EventBridge Scheduler does) and prints a
timeline. One occurrence is delivered twice, as at-least-once delivery may, to show that the
second delivery acts on nothing. Last, the run log as `reconcile logs` reads it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reconciler import output, runlog, timeengine
from reconciler.aws import client_in
from reconciler.errors import FatalError

HUB = "123456789012"  # moto's default account: the home account
SPOKE = "222222222222"  # a second account, reached by assuming the target role
HOME_REGION = "eu-west-1"
DEMO_AMI = "ami-12c6146b"  # one of moto's built-in images
OTHER_REGION = "us-east-1"

SETTINGS = f"""\
# yaml-language-server: $schema=schemas/settings.schema.json
version: 1
region: {HOME_REGION}
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::{HUB}:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::{HUB}:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""

RULE_FILES = {
    "schedules/office-hours.yaml": f"""\
# yaml-language-server: $schema=../schemas/rules.schema.json
version: 1
rules:
  - name: dev-office-hours
    description: Dev boxes run 08:00-19:00 Berlin time on weekdays
    timezone: Europe/Berlin
    accounts: ["{HUB}", "{SPOKE}"]
    regions: [{HOME_REGION}]
    targets:
      tag:Environment: dev
    start: cron(0 8 ? * MON-FRI *)
    stop: cron(0 19 ? * MON-FRI *)
    calendar: office                # calendars/office.yaml: no start or stop on those days

  # Overlapping rules compose: at 19:00 office hours stop every dev box but this one, which
  # release-evenings holds on until its own stop at 22:00 (a union of on-windows).
  - name: release-evenings
    description: The release box stays up until 22:00 Berlin time on weekdays
    timezone: Europe/Berlin
    accounts: ["{HUB}"]
    regions: [{HOME_REGION}]
    targets:
      tag:Role: release
    start: cron(0 17 ? * MON-FRI *)
    stop: cron(0 22 ? * MON-FRI *)
""",
    "schedules/nightly.yaml": f"""\
# yaml-language-server: $schema=../schemas/rules.schema.json
version: 1
rules:
  - name: test-nightly
    description: Test boxes stop at 22:00 New York time; hibernate where configured
    timezone: America/New_York
    accounts: ["{HUB}"]
    regions: [{HOME_REGION}, {OTHER_REGION}]
    targets:
      tag:Environment: test
    stop: cron(0 22 * * ? *)
    hibernate: true

  - name: batch-weekend
    description: Batch workers off for the weekend, never more than 5 at once
    accounts: ["{HUB}"]
    regions: [{OTHER_REGION}]
    targets:
      tag:Team: batch
    stop: cron(0 20 ? * FRI *)
    start: cron(0 6 ? * MON *)
    max_instances: 5
""",
    "schedules/databases.yaml": f"""\
# yaml-language-server: $schema=../schemas/rules.schema.json
version: 1
rules:
  - name: dev-databases
    description: Dev RDS databases follow office hours (RDS restarts a stopped one after 7 days)
    resource: rds
    timezone: Europe/Berlin
    accounts: ["{HUB}"]
    regions: [{HOME_REGION}]
    targets:
      tag:Environment: dev
    start: cron(30 7 ? * MON-FRI *)
    stop: cron(30 19 ? * MON-FRI *)

  - name: dev-aurora
    description: The dev Aurora cluster, same hours
    resource: aurora
    timezone: Europe/Berlin
    accounts: ["{HUB}"]
    regions: [{HOME_REGION}]
    targets:
      db-cluster-id: "dev-*"
    start: cron(30 7 ? * MON-FRI *)
    stop: cron(30 19 ? * MON-FRI *)

  - name: dev-web-groups
    description: Dev Auto Scaling groups scale to 0 at night and back in the morning
    resource: asg
    timezone: Europe/Berlin
    accounts: ["{HUB}"]
    regions: [{HOME_REGION}]
    targets:
      tag:Environment: dev
    start: cron(30 7 ? * MON-FRI *)
    stop: cron(30 19 ? * MON-FRI *)
""",
}


@dataclass(frozen=True)
class Seed:
    """Instances to launch: a name, tags and state, in one account and region."""

    account: str
    region: str
    name: str
    tags: Mapping[str, str]
    stopped: bool = False
    hibernation: bool = False


CALENDAR = """\
# yaml-language-server: $schema=../schemas/calendar.schema.json
version: 1
description: Berlin's public holidays, and the office's closure day in the demo's week
country: DE
subdivision: BE
dates: [{closed}]
"""
OVERRIDDEN = "dev-web-2"  # tagged ouroboros:skip-until: kept running tonight, just this once

FLEET = (
    Seed(HUB, HOME_REGION, "dev-web-1", {"Environment": "dev"}),
    Seed(HUB, HOME_REGION, "dev-release", {"Environment": "dev", "Role": "release"}),
    Seed(HUB, HOME_REGION, "dev-web-2", {"Environment": "dev"}),
    Seed(HUB, HOME_REGION, "dev-db", {"Environment": "dev"}, stopped=True),
    Seed(HUB, HOME_REGION, "dev-asg-a", {"Environment": "dev", "aws:autoscaling:groupName": "web"}),
    Seed(HUB, HOME_REGION, "test-app", {"Environment": "test"}, hibernation=True),
    Seed(HUB, HOME_REGION, "test-worker", {"Environment": "test"}),
    Seed(HUB, OTHER_REGION, "test-etl", {"Environment": "test"}),
    Seed(SPOKE, HOME_REGION, "dev-api-1", {"Environment": "dev"}),
    Seed(SPOKE, HOME_REGION, "dev-api-2", {"Environment": "dev"}),
    *(Seed(HUB, OTHER_REGION, f"batch-{n}", {"Team": "batch"}) for n in range(1, 7)),
)


@dataclass(frozen=True)
class Firing:
    when: datetime  # UTC
    schedule_name: str
    schedule_arn: str
    timezone: str
    input: str  # the deployed Target.Input, placeholders unsubstituted


class _Context:
    """What Lambda passes as `context`, as much as the executor reads."""

    def __init__(self, function_arn: str) -> None:
        self.invoked_function_arn = function_arn
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function_arn.rsplit(":", 1)[-1]

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def run(*, days: int, rules_dir: str | None = None, start: str | None = None) -> int:
    if not 1 <= days <= 31:
        raise FatalError(f"--days {days}: give a number of days from 1 to 31")
    _require_moto()
    return _run_demo(days, rules_dir, _instant(start) if start else None)


def _require_moto() -> None:
    """moto is the [demo] extra, not a dependency: say how to get it, before anything runs."""
    try:
        import moto  # noqa: F401
    except ImportError as exc:
        raise FatalError(
            "reconcile demo needs moto, which a plain `pip install .` leaves out: "
            'pip install "ouroboros-reconciler[demo]" (or, in a checkout, pip install ".[demo]")'
        ) from exc


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FatalError(
            f"--start {text!r} is not an ISO 8601 instant, e.g. 2026-12-04T00:00:00Z"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _run_demo(days: int, rules_dir: str | None, start: datetime | None) -> int:
    """The demo; returns 0 when every step behaved as the loop promises, else 1."""
    started = time.monotonic()
    own_rules = Path(rules_dir).resolve() if rules_dir else None
    # Commands write results to stdout and summaries to stderr: piped (make demo | less),
    # a block-buffered stdout would print every summary before the text it follows.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    begin = start or datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="ouroboros-demo-") as workdir:
        _write_repository(Path(workdir), own_rules, begin)
        with _offline_aws(), _chdir(workdir):
            from moto import mock_aws

            with mock_aws():
                ok = _loop(days, begin, own_rules is not None)
    output.out(f"\nDemo finished in {time.monotonic() - started:.1f} s, with no AWS account.")
    return 0 if ok else 1


def _loop(days: int, start: datetime, own_rules: bool) -> bool:
    from reconciler.commands import apply as apply_command
    from reconciler.commands import plan as plan_command
    from reconciler.commands import validate as validate_command

    _heading("0. Bootstrap (what infra/bootstrap.yaml does once) and a sample fleet")
    _bootstrap_iam()
    ids = _seed_fleet()
    until = _override(ids[OVERRIDDEN], start)
    for seed in FLEET:
        state = "stopped" if seed.stopped else "running"
        extra = " (hibernation configured)" if seed.hibernation else ""
        tags = ", ".join(f"{k}={v}" for k, v in seed.tags.items())
        output.out(
            f"  {seed.account} {seed.region:<10} {ids[seed.name]}  {seed.name:<12} "
            f"{state:<8} {tags}{extra}"
        )
    output.out(
        f"  {OVERRIDDEN} is also tagged ouroboros:skip-until={until}: an override, every rule "
        "leaves it alone until then"
    )

    _seed_databases_and_groups()

    _heading("1. The rules (schedules/*.yaml, calendars/*.yaml), then reconcile validate")
    for name in [*sorted(RULE_FILES), "calendars/office.yaml"] if not own_rules else []:
        output.out(f"--- {name}")
        output.out(Path(name).read_text(encoding="utf-8"))
    if validate_command.run([], fmt="text", rules_dir="schedules", settings_path="ouroboros.yaml"):
        return False

    _heading("2. reconcile plan")
    plan_command.run(rules_dir="schedules", settings_path="ouroboros.yaml")

    _heading("3. reconcile apply --yes")
    applied_at = datetime.now(UTC)
    if apply_command.run(
        rules_dir="schedules",
        settings_path="ouroboros.yaml",
        planfile=None,
        yes=True,
        allow_delete_all=False,
        lock_timeout="30s",
    ):
        return False

    _heading("4. reconcile plan --detailed-exitcode (again: nothing left to do)")
    converged = plan_command.run(
        rules_dir="schedules", settings_path="ouroboros.yaml", detailed_exitcode=True
    )
    output.out(f"exit code {converged}")
    if converged != 0:
        output.err("error: the second plan should show no changes")
        return False

    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    end = start + timedelta(days=days)
    _heading(f"5. The next {days} days: each firing runs the real executor handler")
    _play(_firings(start, end), ids)

    _heading("6. reconcile logs (the run log in DynamoDB: the apply, then every run)")
    _print_log(min(applied_at, start) - timedelta(minutes=1), end)
    return True


def _heading(title: str) -> None:
    bar = "=" * len(title)
    output.out(f"\n{output.style(title, bold=True, enabled=output.use_color())}\n{bar}")


# --- Setting the stage -------------------------------------------------------------------------


def _write_repository(root: Path, own_rules: Path | None, start: datetime) -> None:
    (root / "ouroboros.yaml").write_text(SETTINGS, encoding="utf-8")
    schemas = Path(__file__).resolve().parent / "schemas"
    (root / "schemas").mkdir()
    for schema in schemas.glob("*.json"):
        (root / "schemas" / schema.name).write_bytes(schema.read_bytes())
    if own_rules is not None:
        import shutil

        shutil.copytree(own_rules, root / "schedules")
        calendars = own_rules.parent / "calendars"  # beside the rules, as the loader looks
        if calendars.is_dir():
            shutil.copytree(calendars, root / "calendars")
        return
    for name, text in RULE_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "calendars").mkdir()
    closed = _closure_day(start).isoformat()
    (root / "calendars" / "office.yaml").write_text(CALENDAR.format(closed=closed), "utf-8")


def _closure_day(start: datetime) -> date:
    """The demo's office closure: the second weekday whose 08:00 in Berlin is after `start`, so
    the first shows office hours (and the union at 19:00) and the second the skip."""
    berlin = ZoneInfo("Europe/Berlin")
    day = start.astimezone(berlin).date()
    weekdays: list[date] = []
    while len(weekdays) < 2:
        opening = datetime.combine(day, datetime.min.time(), berlin).replace(hour=8)
        if day.weekday() < 5 and opening > start:
            weekdays.append(day)
        day += timedelta(days=1)
    return weekdays[1]


def _override(instance_id: str, start: datetime) -> str:
    """Tag the instance ouroboros:skip-until one day after the demo starts."""
    until = runlog.iso_z((start + timedelta(days=1)).replace(second=0, microsecond=0))
    _ec2(HUB, HOME_REGION).create_tags(
        Resources=[instance_id], Tags=[{"Key": "ouroboros:skip-until", "Value": until}]
    )
    return until


@contextlib.contextmanager
def _offline_aws() -> Iterator[None]:
    """Fake credentials and no profile, endpoint or config: nothing can reach a real account."""
    saved = dict(os.environ)
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "MOTO_ACCOUNT_ID",
    ):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": HOME_REGION,
            "AWS_DEFAULT_REGION": HOME_REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _chdir(path: str) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _bootstrap_iam() -> None:
    iam = client_in(HOME_REGION, "iam")
    trust = {
        "ouroboros-executor": "lambda.amazonaws.com",
        "ouroboros-scheduler": "scheduler.amazonaws.com",
    }
    for role, service in trust.items():
        iam.create_role(
            RoleName=role,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": service},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )


def _ec2(account: str, region: str) -> Any:
    if account == HUB:
        return client_in(region, "ec2")
    creds = client_in(HOME_REGION, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/ouroboros-target", RoleSessionName="demo-seed"
    )["Credentials"]
    return client_in(region, "ec2", credentials=creds)


def _seed_fleet() -> dict[str, str]:
    """Launch FLEET; returns instance id by name."""
    ids: dict[str, str] = {}
    for seed in FLEET:
        ec2 = _ec2(seed.account, seed.region)
        tags = [{"Key": "Name", "Value": seed.name}] + [
            {"Key": k, "Value": v} for k, v in seed.tags.items()
        ]
        launched = ec2.run_instances(
            ImageId=DEMO_AMI,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
            HibernationOptions={"Configured": seed.hibernation},
        )
        instance_id = launched["Instances"][0]["InstanceId"]
        if seed.stopped:
            ec2.stop_instances(InstanceIds=[instance_id])
        ids[seed.name] = instance_id
    return ids


# --- Databases and Auto Scaling groups (DESIGN.md §9) ------------------------------------------


def _seed_databases_and_groups() -> None:
    """RDS DB instances, an Aurora cluster and Auto Scaling groups in the home account and
    region, some already stopped (by Ouroboros, for the group), so one day shows both ways."""
    rds = client_in(HOME_REGION, "rds")
    login = {"MasterUsername": "admin", "MasterUserPassword": "demo-password"}
    dev = [{"Key": "Environment", "Value": "dev"}]
    for name, engine, stopped in (
        ("dev-postgres", "postgres", False),
        ("dev-mysql", "mysql", True),
    ):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine=engine,
            AllocatedStorage=20,
            Tags=dev,
            **login,
        )
        if stopped:
            rds.stop_db_instance(DBInstanceIdentifier=name)
    rds.create_db_instance(
        DBInstanceIdentifier="reporting",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        **login,
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="dev-reporting-replica",
        SourceDBInstanceIdentifier="reporting",
        Tags=dev,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="dev-aurora", Engine="aurora-postgresql", Tags=dev, **login
    )
    rds.stop_db_cluster(DBClusterIdentifier="dev-aurora")
    _seed_groups()
    output.out(
        f"  {HUB} {HOME_REGION:<10} RDS dev-postgres (available), dev-mysql (stopped), "
        "dev-reporting-replica (read replica of reporting)"
    )
    output.out(f"  {HUB} {HOME_REGION:<10} Aurora dev-aurora (stopped)")
    output.out(
        f"  {HUB} {HOME_REGION:<10} Auto Scaling web (min 1, desired 2, max 4), dev-batch "
        "(scaled to 0 by Ouroboros: ouroboros:saved-capacity=min=1,desired=1,max=3)"
    )


def _seed_groups() -> None:
    client_in(HOME_REGION, "ec2").create_launch_template(
        LaunchTemplateName="demo-web",
        LaunchTemplateData={"ImageId": DEMO_AMI, "InstanceType": "t3.micro"},
    )
    autoscaling = client_in(HOME_REGION, "autoscaling")
    groups: tuple[tuple[str, tuple[int, int, int], dict[str, str]], ...] = (
        ("web", (1, 2, 4), {}),
        ("dev-batch", (0, 0, 3), {"ouroboros:saved-capacity": "min=1,desired=1,max=3"}),
    )
    for name, (low, desired, high), extra in groups:
        tags = {"Environment": "dev", **extra}
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": "demo-web"},
            MinSize=low,
            DesiredCapacity=desired,
            MaxSize=high,
            AvailabilityZones=[f"{HOME_REGION}a"],
            Tags=[
                {
                    "Key": k,
                    "Value": v,
                    "ResourceId": name,
                    "ResourceType": "auto-scaling-group",
                    "PropagateAtLaunch": False,
                }
                for k, v in tags.items()
            ],
        )


# --- Playing the schedules ---------------------------------------------------------------------


def _firings(start: datetime, end: datetime) -> list[Firing]:
    """Every fire time in [start, end) of every schedule deployed in the owned group."""
    scheduler = client_in(HOME_REGION, "scheduler")
    firings: list[Firing] = []
    pages = scheduler.get_paginator("list_schedules").paginate(GroupName="ouroboros")
    for page in pages:
        for summary in page["Schedules"]:
            got = scheduler.get_schedule(Name=summary["Name"], GroupName="ouroboros")
            if got.get("State", "ENABLED") != "ENABLED":
                continue
            tz = got.get("ScheduleExpressionTimezone") or "UTC"
            expr = timeengine.parse(got["ScheduleExpression"])
            for when in timeengine.iter_fires(expr, tz, start):
                if when >= end:
                    break
                firings.append(
                    Firing(
                        when.astimezone(UTC), got["Name"], got["Arn"], tz, got["Target"]["Input"]
                    )
                )
    return sorted(firings, key=lambda f: (f.when, f.schedule_name))


def _substitute(template: str, firing: Firing, execution_id: str) -> dict[str, Any]:
    """What EventBridge Scheduler does to the Input's context attributes at fire time."""
    text = (
        template.replace("<aws.scheduler.schedule-arn>", firing.schedule_arn)
        .replace("<aws.scheduler.scheduled-time>", runlog.iso_z(firing.when))
        .replace("<aws.scheduler.execution-id>", execution_id)
    )
    event: dict[str, Any] = json.loads(text)
    return event


def _play(firings: list[Firing], ids: Mapping[str, str]) -> None:
    from reconciler.executor import handler as executor

    function = client_in(HOME_REGION, "lambda").get_function_configuration(
        FunctionName="ouroboros-executor"
    )
    dynamodb = client_in(HOME_REGION, "dynamodb")
    names = {instance_id: name for name, instance_id in ids.items()}
    with _lambda_environment(function.get("Environment", {}).get("Variables", {})):
        for index, firing in enumerate(firings):
            # The executor refuses an occurrence that has not fired yet: play it at its time.
            # moto starts instances at once: no wait to see that a start stuck; the metric
            # lines are for CloudWatch, not for this transcript.
            tuning = dataclasses.replace(
                executor.TUNING,
                now=functools.partial(_at, firing.when),
                sleep=lambda _s: None,
                emit=lambda _line: None,
            )
            context = _Context(function["FunctionArn"])
            event = _substitute(firing.input, firing, context.aws_request_id)
            _print_firing(dynamodb, firing, executor.handle(event, context, tuning), names)
            if index == 0:
                # At-least-once delivery: the same occurrence again, with a new execution id.
                again = _Context(function["FunctionArn"])
                repeat = _substitute(firing.input, firing, again.aws_request_id)
                summary = executor.handle(repeat, again, tuning)
                _print_firing(dynamodb, firing, summary, names, redelivered=True)
    if not firings:
        output.out("  (no firings in this window)")


def _at(moment: datetime) -> datetime:
    return moment


@contextlib.contextmanager
def _lambda_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """The deployed function's environment, as Lambda would set it."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _print_firing(
    dynamodb: Any,
    firing: Firing,
    summary: Mapping[str, Any],
    names: Mapping[str, str],
    redelivered: bool = False,
) -> None:
    local = firing.when.astimezone(ZoneInfo(firing.timezone))
    when = f"{firing.when:%a %d %b %H:%M} UTC"
    if firing.timezone not in ("UTC", "Etc/UTC"):
        when += f" ({local:%H:%M} {firing.timezone})"
    label = "  (the same occurrence delivered again)" if redelivered else ""
    output.out(f"{when}  {firing.schedule_name}  {summary.get('status', '?')}{label}")
    records = _run_records(dynamodb, summary)
    for pair in summary.get("pairs", []):
        record = records.get((pair.get("account"), pair.get("region")), {})
        output.out(f"    {_describe_pair(pair, record, names, redelivered)}")
    for problem in summary.get("problems", []):
        output.out(f"    refused: {problem}")


def _run_records(
    dynamodb: Any, summary: Mapping[str, Any]
) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The run items the executor wrote for this occurrence, by (account, region)."""
    if "scheduled_time" not in summary:  # a refused event: nothing was written
        return {}
    moment = runlog.parse_instant(str(summary["scheduled_time"]))
    entries = runlog.query_rule(dynamodb, "ouroboros-runs", str(summary["rule"]), moment, moment)
    return {
        (e.get("account"), e.get("region")): e
        for e in entries
        if e.get("action") == summary.get("action") and e.get("status") != "duplicate"
    }


def _describe_pair(
    pair: Mapping[str, Any],
    record: Mapping[str, Any],
    names: Mapping[str, str],
    redelivered: bool,
) -> str:
    where = f"{pair.get('account')}/{pair.get('region')}"
    if redelivered:
        return f"{where}  {pair.get('status')}: nothing done again (the first delivery did it)"
    verb = "started" if record.get("action") == "start" else "stopped"
    parts = []
    hibernated = set(record.get("hibernated", []))
    acted = [
        names.get(i, i) + (" (hibernated)" if i in hibernated else "")
        for i in record.get("acted", [])
    ]
    if acted:
        parts.append(f"{verb} {', '.join(acted)}")
    by_reason: dict[str, list[str]] = {}
    for skip in record.get("skipped", []):
        by_reason.setdefault(str(skip.get("detail")), []).append(names.get(skip["id"], skip["id"]))
    for detail, skipped in by_reason.items():
        parts.append(f"skipped {', '.join(skipped)} ({detail})")
    for error in record.get("errors", []):
        who = names.get(error.get("id", ""), error.get("id", ""))
        parts.append(f"failed {who} ({error.get('code')}: {error.get('message')})")
    if pair.get("detail"):
        parts.append(str(pair["detail"]))
    if not parts:
        parts.append(f"matched {pair.get('matched', 0)} instances")
    return f"{where}  {pair.get('status')}: " + "; ".join(parts)


def _print_log(since: datetime, until: datetime) -> None:
    from reconciler.logview import render_text

    client = client_in(HOME_REGION, "dynamodb")
    entries = runlog.query_range(client, "ouroboros-runs", since, until)
    entries.sort(key=runlog.entry_time)
    output.out(render_text(entries), nl=False)
