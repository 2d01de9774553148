"""ouroboros.yaml: load_settings, check_settings, and a message for every way it can be wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.diagnostics import Diagnostic
from reconciler.errors import FatalError
from reconciler.model import Location, Settings
from reconciler.settings import SettingsError, check_settings, load_settings

REPO = Path(__file__).resolve().parent.parent

MINIMAL = """\
version: 1
region: eu-west-1
schedule_group: ouroboros
executor:
  function_name: ouroboros-executor
  role_arn: arn:aws:iam::111111111111:role/ouroboros-executor
scheduler_role_arn: arn:aws:iam::111111111111:role/ouroboros-scheduler
target_role_name: ouroboros-target
log_table: ouroboros-runs
"""


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "ouroboros.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


def test_the_repository_example_loads() -> None:
    # A team edits ouroboros.yaml (its own accounts and names): only that it loads is pinned.
    settings = load_settings(str(REPO / "ouroboros.yaml"))
    assert isinstance(settings, Settings)
    assert settings.schedule_group != "default"


def test_optional_keys_default(settings_file: Path) -> None:
    settings = load_settings("ouroboros.yaml")
    assert (settings.executor_memory_mb, settings.executor_timeout_s) == (256, 300)
    assert settings.log_retention_days == 90
    assert (settings.max_delete_count, settings.max_delete_fraction) == (10, 0.25)
    assert settings.location == Location("ouroboros.yaml", 1, 1)


def test_optional_keys_are_read(settings_file: Path) -> None:
    text = MINIMAL.replace(
        "  function_name:", "  memory_mb: 512\n  timeout_seconds: 60\n  function_name:"
    )
    settings_file.write_text(
        text + "log_retention_days: 30\nmax_delete_count: 0\nmax_delete_fraction: 1\n"
    )
    settings = load_settings("ouroboros.yaml")
    assert (settings.executor_memory_mb, settings.executor_timeout_s) == (512, 60)
    assert settings.log_retention_days == 30
    assert (settings.max_delete_count, settings.max_delete_fraction) == (0, 1.0)
    assert isinstance(settings.max_delete_fraction, float)


def test_role_arns_with_paths_and_other_partitions(settings_file: Path) -> None:
    text = MINIMAL.replace(
        "arn:aws:iam::111111111111:role/ouroboros-executor",
        "arn:aws-cn:iam::111111111111:role/service-role/ouroboros-executor",
    ).replace("eu-west-1", "cn-north-1")
    settings_file.write_text(text)
    assert load_settings("ouroboros.yaml").region == "cn-north-1"


# Each case: a replacement in MINIMAL (or an appended line) and the one diagnostic it causes.
BAD = [
    (
        "region: eu-west-1",
        "region: Ireland",
        "2:9: error: 'Ireland' is not an AWS region name such as eu-west-1",
    ),
    (
        "schedule_group: ouroboros",
        "schedule_group: default",
        "3:17: error: schedule_group must not be 'default': that group is shared with "
        "everything else in the account, and this tool deletes schedules it does not know in "
        "its group; name a group of its own, e.g. ouroboros",
    ),
    (
        "schedule_group: ouroboros",
        "schedule_group: team/ouroboros",
        "3:17: error: 'team/ouroboros' is not a schedule group name: 1-64 letters, digits, "
        "hyphens, underscores and dots",
    ),
    (
        "schedule_group: ouroboros",
        "schedule_group: " + "g" * 65,
        "3:17: error: '"
        + "g" * 65
        + "' is not a schedule group name: 1-64 letters, digits, hyphens, underscores and dots",
    ),
    (
        "function_name: ouroboros-executor",
        "function_name: arn:aws:lambda:eu-west-1:111111111111:function:x",
        "5:18: error: 'arn:aws:lambda:eu-west-1:111111111111:function:x' is not a Lambda "
        "function name: 1-64 letters, digits, hyphens and underscores",
    ),
    (
        "role_arn: arn:aws:iam::111111111111:role/ouroboros-executor",
        "role_arn: ouroboros-executor",
        "6:13: error: 'ouroboros-executor' is not an IAM role ARN such as "
        "arn:aws:iam::111111111111:role/ouroboros-executor",
    ),
    (
        "arn:aws:iam::111111111111:role/ouroboros-scheduler",
        "arn:aws:iam::1111:role/ouroboros-scheduler",
        "7:21: error: 'arn:aws:iam::1111:role/ouroboros-scheduler' is not an IAM role ARN such "
        "as arn:aws:iam::111111111111:role/ouroboros-executor",
    ),
    (
        "target_role_name: ouroboros-target",
        "target_role_name: arn:aws:iam::111111111111:role/ouroboros-target",
        "8:19: error: 'arn:aws:iam::111111111111:role/ouroboros-target' is not an IAM role "
        "name: 1-64 letters, digits and any of + = , . @ _ -",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ou",
        "9:12: error: 'ou' is not a DynamoDB table name: 3-255 letters, digits, underscores, "
        "dots and hyphens",
    ),
    ("version: 1", "version: 2", "1:10: error: version must be 1, not 2"),
    (
        "log_table: ouroboros-runs\n",
        "",
        "1:1: error: the settings file is missing required key: log_table",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nlog_retention: 30",
        "10:1: error: unknown key 'log_retention' in the settings file (did you mean "
        "'log_retention_days'?)",
    ),
    (
        "  function_name:",
        "  memory: 512\n  function_name:",
        "5:3: error: unknown key 'memory' in executor (did you mean 'memory_mb'?)",
    ),
    (
        "  function_name: ouroboros-executor\n",
        "",
        "5:3: error: executor is missing required key: function_name",
    ),
    (  # a typo is one problem: not also a missing key
        "  function_name:",
        "  functon_name:",
        "5:3: error: unknown key 'functon_name' in executor (did you mean 'function_name'?)",
    ),
    (
        "schedule_group:",
        "schedule_grup:",
        "3:1: error: unknown key 'schedule_grup' in the settings file (did you mean "
        "'schedule_group'?)",
    ),
    (
        "  function_name:",
        "  memory_mb: 64\n  function_name:",
        "5:14: error: executor.memory_mb is 64; it must be from 128 to 10240",
    ),
    (
        "  function_name:",
        "  timeout_seconds: 15m\n  function_name:",
        "5:20: error: executor.timeout_seconds must be a whole number, not a string",
    ),
    (
        "  function_name:",
        "  memory_mb: 256.0\n  function_name:",
        "5:14: error: executor.memory_mb must be a whole number, not 256.0",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nlog_retention_days: 0",
        "10:21: error: log_retention_days is 0; it must be from 1 to 3650",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nmax_delete_fraction: 1.5",
        "10:22: error: max_delete_fraction is 1.5; it must be from 0 to 1",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nmax_delete_count: -1",
        "10:19: error: max_delete_count is -1; it must be at least 0",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nmax_delete_count: 2.0",
        "10:19: error: max_delete_count must be a whole number, not 2.0",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: ouroboros-runs\nmax_delete_fraction: 25%",
        "10:22: error: max_delete_fraction must be a number, not a string",
    ),
    (
        "executor:\n  function_name: ouroboros-executor\n  role_arn: arn:aws:iam::111111111111:role/ouroboros-executor\n",
        "executor: ouroboros-executor\n",
        "4:11: error: executor must be a mapping, not a string",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: 2026",
        '9:12: error: log_table must be a string, not a number; quote it: "2026"',
    ),
    # JSON Schema's `$` is the end of the string: a trailing newline is not a name.
    (
        "schedule_group: ouroboros",
        'schedule_group: "ouroboros\\n"',
        "3:17: error: 'ouroboros\\n' is not a schedule group name: 1-64 letters, digits, "
        "hyphens, underscores and dots",
    ),
    (
        "log_table: ouroboros-runs",
        "log_table: |\n  ouroboros-runs",
        "9:12: error: 'ouroboros-runs\\n' is not a DynamoDB table name: 3-255 letters, digits, "
        "underscores, dots and hyphens",
    ),
    (
        "region: eu-west-1\n",
        "region: eu-west-1\nregion: us-east-1\n",
        "3:1: error: duplicate key 'region' (first at line 2, column 1); remove one of them",
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_settings(settings_file: Path, old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    settings_file.write_text(MINIMAL.replace(old, new, 1), encoding="utf-8")
    result = check_settings("ouroboros.yaml")
    assert result.settings is None
    assert not result.ok
    assert [d.text() for d in result.diagnostics] == [f"ouroboros.yaml:{expected}"]
    with pytest.raises(SettingsError) as caught:
        load_settings("ouroboros.yaml")
    assert str(caught.value) == f"ouroboros.yaml has 1 problem:\nouroboros.yaml:{expected}"
    assert caught.value.diagnostics == result.diagnostics


def test_every_problem_is_listed(settings_file: Path) -> None:
    settings_file.write_text(
        MINIMAL.replace("eu-west-1", "eu-west")
        .replace("ouroboros-runs", "x")
        .replace("version: 1", "version: 1\nextra: true")
    )
    with pytest.raises(SettingsError) as caught:
        load_settings("ouroboros.yaml")
    assert str(caught.value) == (
        "ouroboros.yaml has 3 problems:\n"
        "ouroboros.yaml:2:1: error: unknown key 'extra' in the settings file; allowed: version, "
        "region, schedule_group, executor, scheduler_role_arn, target_role_name, log_table, "
        "log_retention_days, max_delete_count, max_delete_fraction, allowed_accounts, "
        "dead_letter_queue, organization_id, reader_role_name\n"
        "ouroboros.yaml:3:9: error: 'eu-west' is not an AWS region name such as eu-west-1\n"
        "ouroboros.yaml:10:12: error: 'x' is not a DynamoDB table name: 3-255 letters, digits, "
        "underscores, dots and hyphens"
    )
    assert isinstance(caught.value, FatalError)


def test_roles_in_different_accounts_are_a_warning(settings_file: Path) -> None:
    settings_file.write_text(
        MINIMAL.replace(
            "111111111111:role/ouroboros-scheduler", "222222222222:role/ouroboros-scheduler"
        )
    )
    result = check_settings("ouroboros.yaml")
    assert result.ok
    assert result.diagnostics == (
        Diagnostic(
            "ouroboros.yaml",
            7,
            21,
            "warning",
            "scheduler_role_arn is in account 222222222222 but executor.role_arn in "
            "111111111111; both roles belong in the home account",
        ),
    )
    assert load_settings("ouroboros.yaml").scheduler_role_arn.startswith("arn:aws:iam::2222")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"",
            "1:1: error: file is empty: the settings file needs version, region, schedule_group, "
            "executor, scheduler_role_arn, target_role_name and log_table",
        ),
        (
            b"- region: eu-west-1\n",
            "1:1: error: the settings file must be a mapping of settings, not a list",
        ),
        (
            b"region: \xe9u-west-1\n",
            "1:9: error: file is not valid UTF-8: byte 0xe9 cannot be decoded (saved as Latin-1 or "
            "Windows-1252?); save the file as UTF-8",
        ),
        (
            b"region: [eu-west-1\n",
            "2:1: error: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1)",
        ),
    ],
)
def test_unusable_files(settings_file: Path, content: bytes, expected: str) -> None:
    settings_file.write_bytes(content)
    with pytest.raises(SettingsError) as caught:
        load_settings("ouroboros.yaml")
    assert str(caught.value) == f"ouroboros.yaml has 1 problem:\nouroboros.yaml:{expected}"


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(str(tmp_path / "ouroboros.yaml"))
    assert str(caught.value) == (
        f"settings file {tmp_path / 'ouroboros.yaml'} not found: create it "
        "(docs/reference/settings.md has an example to copy) or point --settings at it"
    )


def test_a_directory_is_not_a_settings_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(str(tmp_path))
    assert str(caught.value) == (
        f"settings file {tmp_path} is a directory; --settings expects a file"
    )


def test_dead_letter_queue_defaults_to_the_group_name(settings_file: Path) -> None:
    settings_file.write_text(MINIMAL)
    assert load_settings("ouroboros.yaml").dead_letter_queue == "ouroboros-dead-letters"


def test_dead_letter_queue_can_be_named(settings_file: Path) -> None:
    settings_file.write_text(MINIMAL + "dead_letter_queue: lost-firings\n")
    assert load_settings("ouroboros.yaml").dead_letter_queue == "lost-firings"


def test_dead_letter_queue_must_be_an_sqs_name(settings_file: Path) -> None:
    settings_file.write_text(MINIMAL + "dead_letter_queue: lost.fifo\n")
    with pytest.raises(SettingsError) as caught:
        load_settings("ouroboros.yaml")
    assert str(caught.value).endswith(
        "error: 'lost.fifo' is not an SQS queue name: 1-80 letters, digits, hyphens and underscores"
    )


def test_reader_role_name_defaults_to_ouroboros_reader_and_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings_file = tmp_path / "ouroboros.yaml"
    settings_file.write_text(MINIMAL)
    assert load_settings("ouroboros.yaml").reader_role_name == "ouroboros-reader"
    settings_file.write_text(MINIMAL + "reader_role_name: plan-preview\n")
    assert load_settings("ouroboros.yaml").reader_role_name == "plan-preview"
    settings_file.write_text(MINIMAL + "reader_role_name: no spaces\n")
    with pytest.raises(SettingsError) as caught:
        load_settings("ouroboros.yaml")
    assert str(caught.value).endswith(
        "error: 'no spaces' is not an IAM role name: 1-64 letters, digits and any of + = , . @ _ -"
    )
