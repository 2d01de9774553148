"""The mark-keeping safe YAML loader: values, positions, and every way a file can be wrong."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from reconciler import yamlload
from reconciler.yamlload import Document, Issue, LoadError, Pos, decode, load, load_file


def loaded(text: str) -> Document:
    doc, issues = load(text)
    assert issues == []
    assert doc is not None
    return doc


def problems(text: str) -> list[tuple[int, int, str]]:
    _, issues = load(text)
    return [(i.pos.line, i.pos.col, i.message) for i in issues]


# --------------------------------------------------------------------------------------------
# Values: plain data, as YAML 1.1 (PyYAML's resolver) reads it


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: text", "text"),
        ('a: "123456789012"', "123456789012"),
        ("a: 123456789012", 123456789012),
        ("a: 012345670123", 0o12345670123),  # YAML 1.1 octal: why account ids need quotes
        ("a: 012345678901", "012345678901"),  # an 8 or 9 makes it no octal number: a string
        ("a: 0x1F", 31),
        ("a: 1_000", 1000),
        ("a: 1.5", 1.5),
        ("a: yes", True),
        ("a: Off", False),
        ("a: true", True),
        ("a: ~", None),
        ("a:", None),
        ("a: 2026-12-24", dt.date(2026, 12, 24)),
        ("a: 2026-02-30", "2026-02-30"),  # looks like a date, is none: kept as written
        ("a: !!str 8", "8"),
        ("a: <<", "<<"),  # YAML's merge and value indicators are plain text as values
        ("a: =", "="),
        ("a: [1, b]", [1, "b"]),
        ("a: {b: c}", {"b": "c"}),
        ("a: cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * MON-FRI *)"),
    ],
)
def test_values(text: str, value: object) -> None:
    assert loaded(text).value == {"a": value}


def test_positions_of_values_and_keys_are_one_based() -> None:
    doc = loaded("version: 1\nrules:\n  - name: web\n    regions: [eu-west-1, us-east-1]\n")
    assert doc.positions[("version",)] == Pos(1, 10)
    assert doc.positions[("rules", 0)] == Pos(3, 5)
    assert doc.positions[("rules", 0, "name")] == Pos(3, 11)
    assert doc.positions[("rules", 0, "regions", 1)] == Pos(4, 26)
    assert doc.key_positions[("rules", 0, "regions")] == Pos(4, 5)
    # Unknown paths fall back to the nearest ancestor; list items have no key.
    assert doc.pos(("rules", 0, "regions", 7)) == Pos(4, 14)
    assert doc.key_pos(("rules", 0, "regions", 1)) == Pos(4, 26)


def test_sources_keep_the_text_of_scalars_that_are_not_strings() -> None:
    doc = loaded("a: yes\nb: 0012\nc: text\nd: ~\n")
    assert doc.sources == {("a",): "yes", ("b",): "0012", ("d",): "~"}


def test_aliases_share_values_and_point_at_the_anchor() -> None:
    doc = loaded("a: &t {tag:Env: dev}\nb: *t\n")
    assert doc.value == {"a": {"tag:Env": "dev"}, "b": {"tag:Env": "dev"}}
    assert doc.positions[("b", "tag:Env")] == Pos(1, 17)


def test_merge_keys_fill_in_without_overriding() -> None:
    doc = loaded(
        "base: &b {timezone: UTC, stop: x, hibernate: false}\n"
        "more: &m {enabled: true}\n"
        "rule:\n  <<: [*b, *m]\n  stop: y\n"
    )
    assert doc.value["rule"] == {  # type: ignore[index]
        "stop": "y",
        "timezone": "UTC",
        "hibernate": False,
        "enabled": True,
    }
    assert doc.positions[("rule", "stop")] == Pos(5, 9)  # the explicit one's place
    assert doc.positions[("rule", "timezone")] == Pos(1, 21)


def test_empty_and_comment_only_documents() -> None:
    assert loaded("").value is None
    assert loaded("# nothing here\n\n").value is None


# --------------------------------------------------------------------------------------------
# Problems that still give a document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: 2\na: 3\n",
            [(3, 1, "duplicate key 'a' (first at line 1, column 1); remove one of them")],
        ),
        (
            "x:\n  - n: 1\n    n: 2\n    n: 3\n",
            [
                (3, 5, "duplicate key 'n' (first at line 2, column 5); remove one of them"),
                (4, 5, "duplicate key 'n' (first at line 2, column 5); remove one of them"),
            ],
        ),
        (
            "yes: 1\n",
            [
                (
                    1,
                    1,
                    "key yes is read as a boolean, not a string; YAML 1.1 reads an unquoted yes "
                    'as true: quote it: "yes"',
                )
            ],
        ),
        ("1: x\n", [(1, 1, 'key 1 is read as a number, not a string; quote it: "1"')]),
        ("~: x\n", [(1, 1, "key ~ is read as empty (null), not a string; quote it")]),
        ("? [a]\n: x\n", [(1, 3, "a mapping key must be a plain string")]),
        (
            "a: !Ref Foo\n",
            [
                (
                    1,
                    4,
                    "unsupported YAML tag '!Ref': only plain strings, numbers, booleans, lists "
                    "and mappings are allowed",
                )
            ],
        ),
        (
            "a: !!binary aGk=\n",
            [
                (
                    1,
                    4,
                    "unsupported YAML tag 'tag:yaml.org,2002:binary': only plain strings, "
                    "numbers, booleans, lists and mappings are allowed",
                )
            ],
        ),
        (
            "a: !!set {x}\n",
            [
                (
                    1,
                    4,
                    "unsupported YAML tag 'tag:yaml.org,2002:set': only plain strings, numbers, "
                    "booleans, lists and mappings are allowed",
                )
            ],
        ),
        ("a:\n  <<: [x]\n", [(2, 8, "a merge key (<<) must name a mapping or a list of them")]),
    ],
)
def test_recoverable_problems(text: str, expected: list[tuple[int, int, str]]) -> None:
    doc, issues = load(text)
    assert doc is not None
    assert [(i.pos.line, i.pos.col, i.message) for i in issues] == expected


# --------------------------------------------------------------------------------------------
# Problems that stop loading


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1, 2\nb: 3\n", (2, 2, "YAML syntax error: did not find expected ',' or ']'")),
        (
            "description: Dev: office hours\n",
            (
                1,
                17,
                "YAML syntax error: mapping values are not allowed in this context; a value "
                "containing ': ' must be quoted",
            ),
        ),
        ("a:\n\tb: 1\n", (2, 1, "tab character in indentation: YAML indents with spaces only")),
        (
            "a:\n  b: 1\n  \tc: 2\n",
            (3, 3, "tab character in indentation: YAML indents with spaces only"),
        ),
        (
            "a: 1\n---\nb: 2\n",
            (2, 1, "a second YAML document starts here (---); a file holds one document"),
        ),
        ("a: *nope\n", (1, 4, "alias *nope is used before any anchor &nope defines it")),
        ("a: &x [1, *x]\n", (1, 4, "an alias refers to a node that contains it (recursive YAML)")),
        (
            "a: &x\n  <<: *x\n",
            (1, 4, "a merge key (<<) refers to a mapping that contains it (recursive YAML)"),
        ),
        (
            "a: b\x07c\n",
            (
                1,
                5,
                "character U+0007 is not allowed in YAML (control characters are not allowed); "
                "remove it",
            ),
        ),
        ("a: " + "[" * 70 + "]" * 70 + "\n", (1, 68, "nesting deeper than 64 levels")),
    ],
)
def test_fatal_problems(text: str, expected: tuple[int, int, str]) -> None:
    doc, issues = load(text)
    assert doc is None
    line, col, message = expected
    assert [(i.pos.line, i.pos.col) for i in issues] == [(line, col)]
    assert issues[0].message.startswith(message)


def test_a_tab_after_the_indentation_is_fine() -> None:
    assert loaded("a:\n  b:\t1\n").value == {"a": {"b": 1}}


def billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_fails_fast_within_the_node_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    built = 0
    real_build = yamlload._Builder.build

    def counting_build(self: yamlload._Builder, node: object, path: yamlload.Path) -> object:
        nonlocal built
        built += 1
        return real_build(self, node, path)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlload._Builder, "build", counting_build)
    text = billion_laughs(9)  # 9**9 = 387 million values if expanded
    doc, issues = load(text)
    assert doc is None
    budget = len(text) + yamlload.ALIAS_BUDGET
    assert issues == [
        Issue(
            Pos(6, 5),  # a5's list: the first value whose aliases copy too much
            f"aliases expand the document to more than {budget:,} values (an alias bomb?); "
            "refusing to load it",
        )
    ]
    assert built == budget + 1


def test_the_bomb_is_reported_where_the_alias_is_used() -> None:
    text = billion_laughs(5) + "rules:\n  - name: x\n    targets: *a4\n"
    _, issues = load(text)
    assert [i.pos for i in issues] == [Pos(8, 5)]  # the targets key, not the anchor


def test_copies_of_a_long_string_count_by_their_length() -> None:
    # 20,000 references to a 10 kB string cost nothing to build but 200 MB to check.
    text = 's: &s "' + "x" * 10_000 + '"\nrules: [' + ", ".join(["*s"] * 20_000) + "]\n"
    doc, issues = load(text)
    assert doc is None
    assert [i.pos for i in issues] == [Pos(2, 8)]  # the list that holds the copies
    assert issues[0].message.startswith("aliases expand the document to more than")


def test_copies_of_short_strings_cost_little() -> None:
    doc = loaded('id: &id "123456789012"\nids: [' + ", ".join(["*id"] * 40_000) + "]\n")
    assert len(doc.value["ids"]) == 40_000  # type: ignore[index]


def test_a_big_file_without_aliases_is_not_a_bomb() -> None:
    count = yamlload.ALIAS_BUDGET + 50_000
    doc = loaded("a: [" + ",".join(["1"] * count) + "]\n")
    assert len(doc.value["a"]) == count  # type: ignore[index]


def test_legitimate_alias_use_is_within_budget() -> None:
    doc = loaded(billion_laughs(5))  # 9**4 * 9 = 59,049 values: big, but allowed
    assert len(doc.value["a4"]) == 9  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# Bytes and files


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"a: 1\n", "a: 1\n"),
        (b"\xef\xbb\xbfa: 1\n", "a: 1\n"),  # a UTF-8 byte order mark is tolerated
        (b"\xef\xbb\xbf" * 2 + b"a: 1\n", "\ufeffa: 1\n"),  # libyaml skips a second one
        ("a: Müller — 東京\n".encode(), "a: Müller — 東京\n"),
    ],
)
def test_decode(data: bytes, text: str) -> None:
    assert decode(data) == text


@pytest.mark.parametrize(
    ("data", "pos", "message"),
    [
        (
            b"a: caf\xe9\n",
            Pos(1, 7),
            "file is not valid UTF-8: byte 0xe9 cannot be decoded (saved as Latin-1 or "
            "Windows-1252?); save the file as UTF-8",
        ),
        (
            "x: é\ny: ü".encode() + b"\x93quoted\x94\n",
            Pos(2, 5),  # columns count characters, not bytes
            "file is not valid UTF-8: byte 0x93 cannot be decoded (saved as Latin-1 or "
            "Windows-1252?); save the file as UTF-8",
        ),
        ("a: 1\n".encode("utf-16"), Pos(1, 1), "file is encoded as UTF-16; save it as UTF-8"),
        (
            "\ufeffa: 1\n\ufeffb: é\n".encode(),
            Pos(2, 1),
            "byte order mark (U+FEFF) inside the file (were two files joined?); remove it",
        ),
        (
            "a: 1\n".encode("utf-16-be"),  # no byte order mark
            Pos(1, 1),
            "file contains NUL bytes (UTF-16 without a byte order mark, or not text at all); "
            "save it as UTF-8",
        ),
    ],
)
def test_decode_errors(data: bytes, pos: Pos, message: str) -> None:
    with pytest.raises(LoadError) as caught:
        decode(data)
    assert caught.value.issue.pos == pos
    assert caught.value.issue.message.startswith(message)


def test_load_file_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def message(path: Path) -> str:
        doc, issues = load_file(str(path))
        assert doc is None
        assert [i.pos for i in issues] == [Pos(1, 1)]
        return issues[0].message

    assert message(tmp_path / "missing.yaml") == "no such file or directory"
    assert message(tmp_path) == "is a directory, not a file"
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 10)
    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 49)
    assert message(big) == (
        "file is 50 bytes; rule and settings files are limited to 49 bytes: split the rules "
        "into several files"
    )

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(yamlload, "open", refuse, raising=False)
    assert message(big) == "cannot read the file: permission denied"

    def broken(*args: object, **kwargs: object) -> object:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(yamlload, "open", broken, raising=False)
    assert message(big) == "cannot read the file: Input/output error"


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    assert load_file(str(fifo)) == (None, [Issue(Pos(1, 1), "is not a regular file")])
    assert load_file("/dev/zero") == (None, [Issue(Pos(1, 1), "is not a regular file")])


def test_load_file_reads_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    doc, issues = load_file(str(path))
    assert issues == []
    assert doc is not None
    assert doc.value == {"version": 1}
    assert doc.positions[("version",)] == Pos(1, 10)


@pytest.mark.parametrize(
    ("value", "source", "kind", "hint"),
    [
        (True, "yes", "a boolean", '; YAML 1.1 reads an unquoted yes as true: quote it: "yes"'),
        (False, "OFF", "a boolean", '; YAML 1.1 reads an unquoted OFF as false: quote it: "OFF"'),
        (True, "true", "a boolean", '; quote it: "true"'),
        (42, "0o52", "a number", '; quote it: "0o52"'),
        (None, "~", "empty (null)", ""),
        (None, "null", "empty (null)", ""),
        (dt.date(2026, 1, 1), "2026-01-01", "a date", '; quote it: "2026-01-01"'),
        (
            dt.datetime(2026, 1, 1, 8),
            "2026-01-01 08:00",
            "a date and time",
            '; quote it: "2026-01-01 08:00"',
        ),
        ("text", None, "a string", ""),
        ([1], None, "a list", ""),
        ({}, None, "a mapping", ""),
    ],
)
def test_kind_and_quote_hint(value: object, source: str | None, kind: str, hint: str) -> None:
    assert yamlload.kind_of(value, source) == kind
    assert yamlload.quote_hint(value, source) == hint


def test_a_file_over_the_default_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # 2 MiB keeps validation under 200 MB of memory (benchmarks/validate.py measures it).
    assert yamlload.MAX_FILE_BYTES == 2 * 1024 * 1024
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (yamlload.MAX_FILE_BYTES + 1))
    doc, issues = yamlload.load_file(str(big))
    assert doc is None
    assert [i.message for i in issues] == [
        "file is 2,097,153 bytes; rule and settings files are limited to 2,097,152 bytes: split "
        "the rules into several files"
    ]
