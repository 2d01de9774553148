"""Region names against botocore's list per partition: in validate, in plan, and on their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import regions
from reconciler.cli import cli
from reconciler.commands.plan import load_desired
from reconciler.errors import FatalError

REPO = Path(__file__).resolve().parent.parent
VERSION = regions.botocore_version()

RULE = """\
version: 1
rules:
  - name: web
    accounts: ["123456789012"]
    regions: [eu-west-1, {region}]
    targets: {{tag:Env: dev}}
    start: cron(0 8 ? * MON-FRI *)
"""


def _other_partition(region: str, arn_partition: str) -> str:
    found = regions.partition_of_region(region)
    return (
        f"region '{region}' is in the {found} partition, but the settings' role ARNs are in "
        f"{arn_partition} (arn:{arn_partition}:...): a deployment acts in one partition; use a "
        f"region of {arn_partition}, or a separate settings file for {found}"
    )


def _unknown(region: str) -> str:
    return (
        f"region '{region}' is not in botocore {VERSION}'s list of EC2 regions: check the "
        "spelling (a region newer than botocore is fine; upgrading botocore silences this)"
    )


@pytest.mark.parametrize(
    ("region", "partition", "expected"),
    [
        ("eu-west-1", "aws", None),
        ("eu-west-1", None, None),
        ("cn-north-1", None, None),
        ("us-gov-west-1", "aws-us-gov", None),
        ("cn-north-1", "aws", ("error", _other_partition("cn-north-1", "aws"))),
        ("us-gov-west-1", "aws", ("error", _other_partition("us-gov-west-1", "aws"))),
        ("eu-west-1", "aws-cn", ("error", _other_partition("eu-west-1", "aws-cn"))),
        # Not listed, but its name says aws-cn: still another partition.
        ("cn-south-7", "aws", ("error", _other_partition("cn-south-7", "aws"))),
        ("eu-west-9", "aws", ("warning", _unknown("eu-west-9"))),
        ("eu-west-9", None, ("warning", _unknown("eu-west-9"))),
        ("xy-east-1", "aws", ("warning", _unknown("xy-east-1"))),
    ],
)
def test_region_problem(region: str, partition: str | None, expected: object) -> None:
    assert regions.region_problem(region, partition) == expected


def test_partitions_come_from_botocore_itself() -> None:
    import botocore.session

    session = botocore.session.Session()
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        for region in session.get_available_regions("ec2", partition_name=partition):
            assert regions.partition_of_region(region) == partition
            assert regions.region_problem(region, partition) is None


def test_partition_of_arn() -> None:
    assert regions.partition_of_arn("arn:aws:iam::111111111111:role/x") == "aws"
    assert regions.partition_of_arn("arn:aws-cn:iam::111111111111:role/x") == "aws-cn"
    assert regions.partition_of_arn("not an arn") is None


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schedules").mkdir()
    settings = (REPO / "ouroboros.yaml").read_text(encoding="utf-8")
    (tmp_path / "ouroboros.yaml").write_text(settings, encoding="utf-8")
    return tmp_path


def _rule(project: Path, region: str) -> None:
    (project / "schedules" / "web.yaml").write_text(RULE.format(region=region), encoding="utf-8")


def test_validate_refuses_a_region_of_another_partition(project: Path) -> None:
    _rule(project, "cn-north-1")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stdout == (
        f"schedules/web.yaml:5:26: error: {_other_partition('cn-north-1', 'aws')}\n"
    )
    assert result.stderr == "1 error in 1 of 2 files\n"


def test_validate_warns_about_an_unknown_region(project: Path) -> None:
    _rule(project, "eu-west-9")
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0
    assert result.stdout == f"schedules/web.yaml:5:26: warning: {_unknown('eu-west-9')}\n"


def test_validate_of_named_files_knows_no_partition_but_still_warns(project: Path) -> None:
    _rule(project, "cn-north-1")
    assert CliRunner().invoke(cli, ["validate", "schedules/web.yaml"]).exit_code == 0


def test_plan_refuses_a_region_of_another_partition_before_any_aws_call(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _rule(project, "us-gov-west-1")
    with pytest.raises(FatalError, match="the rules have 1 error"):
        load_desired("schedules", "ouroboros.yaml")
    assert capsys.readouterr().err.startswith(
        f"schedules/web.yaml:5:26: error: {_other_partition('us-gov-west-1', 'aws')}\n"
    )


def test_the_region_check_never_imports_botocore() -> None:
    code = (
        "import sys\n"
        "from reconciler import regions\n"
        "assert regions.region_problem('cn-north-1', 'aws') is not None\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.stdout == "[]\n", result.stderr
