"""Safe YAML loading that remembers where every value was written.

Layers 1 and 2 of validation: bytes (size, UTF-8, BOM) and YAML (syntax, duplicate keys, tags,
aliases). libyaml composes the node graph with marks (its C composer where PyYAML was built with
it); we construct plain Python values from the nodes ourselves, so that

- every value's position is kept, by path, for messages like ``schedules/dev.yaml:11:11``;
- a duplicate key is an error naming both places, instead of the last one silently winning;
- only plain data comes out (str, int, float, bool, None, list, dict, and the YAML timestamp
  types, which the schema then rejects with a hint to quote): any other tag is an error;
- aliases are expanded with a budget, so an alias bomb fails fast in bounded memory, and a
  recursive alias is an error rather than an endless loop.

The raw text of every scalar that YAML did not read as a string is kept too, so a message can
say "YAML 1.1 reads an unquoted yes as true: quote it".
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

# Far above any real rule file (1,000 rules are about 300 kB, so about 7,000 rules), and low
# enough that validating it stays under 200 MB of memory: the node graph with its marks, the
# values and every value's position take about 60 MB per MiB of YAML (benchmarks/validate.py
# measures it: 10 MiB took 612 MB). More rules than that belong in several files.
MAX_FILE_BYTES = 2 * 1024 * 1024
# Aliases may copy values, but only so many: each character of a file can start at most one
# value of its own, so a file may build len(text) values plus this many copies (a copied
# scalar costs one more per SCALAR_COPY_CHARS characters). A real rule file uses a few
# hundred; a billion-laughs bomb would use hundreds of millions.
ALIAS_BUDGET = 100_000
SCALAR_COPY_CHARS = 10
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = SafeConstructor()
_ALIAS = re.compile(r"\*([^\s,\[\]{}]+)")
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)  # one per value of a file: slots halve their memory
class Pos:
    """A 1-based line and column, as editors show them."""

    line: int
    col: int


@dataclass(frozen=True)
class Issue:
    """A problem found while reading or loading a file."""

    pos: Pos
    message: str


@dataclass
class Document:
    """One loaded YAML document: its value and where each part of it was written."""

    value: object
    positions: dict[Path, Pos] = field(default_factory=dict)  # where each value starts
    key_positions: dict[Path, Pos] = field(default_factory=dict)  # where each mapping key starts
    sources: dict[Path, str] = field(default_factory=dict)  # raw text of non-string scalars

    def pos(self, path: Path) -> Pos:
        """Where the value at `path` starts, or its nearest known ancestor."""
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, Pos(1, 1))

    def key_pos(self, path: Path) -> Pos:
        """Where the key of the entry at `path` is written (the value's place for list items)."""
        return self.key_positions.get(path) or self.pos(path)


class LoadError(Exception):
    """The file cannot be loaded at all; `issue` says where and why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def read_text(path: str) -> str:
    """The file's text; raises LoadError for anything but a readable UTF-8 file of sane size."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise _file_error("is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise _file_error(
                f"file is {info.st_size:,} bytes; rule and settings files are limited to "
                f"{MAX_FILE_BYTES:,} bytes: split the rules into several files"
            )
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _file_error("no such file or directory") from None
    except IsADirectoryError:
        raise _file_error("is a directory, not a file") from None
    except PermissionError:
        raise _file_error("cannot read the file: permission denied") from None
    except OSError as exc:
        raise _file_error(f"cannot read the file: {exc.strerror or exc}") from None
    return decode(data)


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is tolerated); raises LoadError naming the first bad byte's place."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _file_error("file is encoded as UTF-16; save it as UTF-8")
    if b"\x00" in data:
        raise _file_error(
            "file contains NUL bytes (UTF-16 without a byte order mark, or not text at all); "
            "save it as UTF-8"
        )
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        raise LoadError(
            Issue(
                Pos(line, col),
                f"file is not valid UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded "
                "(saved as Latin-1 or Windows-1252?); save the file as UTF-8",
            )
        ) from None
    bom = text.find("\ufeff", len(text) - len(text.lstrip("\ufeff")))
    if bom >= 0:  # YAML allows one only at the start; libyaml reports a puzzling syntax error
        line = text.count("\n", 0, bom) + 1
        col = bom - (text.rfind("\n", 0, bom) + 1) + 1
        raise LoadError(
            Issue(
                Pos(line, col),
                "byte order mark (U+FEFF) inside the file (were two files joined?); remove it",
            )
        )
    return text


def load(text: str) -> tuple[Document | None, list[Issue]]:
    """Compose and construct one YAML document. None (with issues) when it cannot be built.

    An empty document (no content, or only comments) gives Document(None).
    """
    try:
        node = _compose(text)
    except LoadError as exc:
        return None, [exc.issue]
    if node is None:
        return Document(None), []
    builder = _Builder(max_values=len(text) + ALIAS_BUDGET)
    try:
        value = builder.build(node, ())
    except LoadError as exc:
        return None, [*builder.issues, exc.issue]
    doc = Document(value, builder.positions, builder.key_positions, builder.sources)
    return doc, builder.issues


def load_file(path: str) -> tuple[Document | None, list[Issue]]:
    try:
        text = read_text(path)
    except LoadError as exc:
        return None, [exc.issue]
    return load(text)


def _file_error(message: str) -> LoadError:
    return LoadError(Issue(Pos(1, 1), message))


def _compose(text: str) -> yaml.Node | None:
    loader = _Loader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.MarkedYAMLError as exc:
        raise LoadError(_syntax_issue(text, exc)) from None
    except yaml.reader.ReaderError as exc:
        raise LoadError(_reader_issue(text, exc)) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every libyaml error is one of the above
        raise LoadError(Issue(Pos(1, 1), f"YAML error: {exc}")) from None
    finally:
        loader.dispose()


def _syntax_issue(text: str, exc: yaml.MarkedYAMLError) -> Issue:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    tab = _first_indent_tab(text, line)
    if tab is not None:
        return Issue(tab, "tab character in indentation: YAML indents with spaces only")
    problem = exc.problem or exc.context or "syntax error"
    if exc.context == "expected a single document in the stream":
        return Issue(
            Pos(line, col),
            "a second YAML document starts here (---); a file holds one document",
        )
    if problem.startswith("found undefined alias"):
        name = _ALIAS.match(text.splitlines()[line - 1], col - 1) if mark else None
        alias = name.group(1) if name else "?"
        return Issue(
            Pos(line, col),
            f"alias *{alias} is used before any anchor &{alias} defines it",
        )
    message = f"YAML syntax error: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    if problem == "mapping values are not allowed in this context":
        message += "; a value containing ': ' must be quoted"
    return Issue(Pos(line, col), message)


def _reader_issue(text: str, exc: yaml.reader.ReaderError) -> Issue:
    position = max(0, min(exc.position, len(text)))
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return Issue(
        Pos(line, col),
        f"character U+{char:04X} is not allowed in YAML ({exc.reason}); remove it",
    )


def _first_indent_tab(text: str, up_to_line: int) -> Pos | None:
    """The first tab in a line's leading whitespace, on or before the line YAML stopped at."""
    for number, line in enumerate(text.splitlines()[:up_to_line], start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Pos(number, indent.index("\t") + 1)
    return None


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


def kind_of(value: object, source: str | None = None) -> str:
    """'a string', 'a number', ... for messages; names what YAML made of an unquoted scalar."""
    if value is None:
        return "empty (null)" if source in (None, "", "~", "null", "Null", "NULL") else "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def quote_hint(value: object, source: str | None) -> str:
    """Advice for a scalar that YAML read as something other than the string the user meant."""
    if source is None or isinstance(value, str | list | dict):
        return ""
    if value is None:
        return ""
    if isinstance(value, bool) and source.lower() not in ("true", "false"):
        return (
            f'; YAML 1.1 reads an unquoted {source} as {str(value).lower()}: quote it: "{source}"'
        )
    return f'; quote it: "{source}"'


class _Builder:
    """Builds plain values from a node graph, recording positions and counting every node."""

    def __init__(self, max_values: int) -> None:
        self._max_values = max_values
        self.positions: dict[Path, Pos] = {}
        self.key_positions: dict[Path, Pos] = {}
        self.sources: dict[Path, str] = {}
        self.issues: list[Issue] = []
        self._count = 0
        self._active: set[int] = set()  # the collections being built: a cycle check
        self._built: set[int] = set()  # every collection built once: a second time is a copy
        self._alias_use: Path | None = None

    def build(self, node: yaml.Node, path: Path) -> object:
        self._count += 1
        if isinstance(node, yaml.ScalarNode) and id(node) in self._built:
            # An alias copying a long scalar costs a value per 10 characters: references to a
            # megabyte string take no memory here, but every later check reads each copy.
            self._count += len(node.value) // SCALAR_COPY_CHARS
            if self._count > self._max_values and self._alias_use is None:
                self._alias_use = path
        if self._count > self._max_values:
            raise LoadError(Issue(self._expansion_place(node), self._bomb_message()))
        if len(path) > MAX_DEPTH:
            raise LoadError(Issue(_pos(node), f"nesting deeper than {MAX_DEPTH} levels"))
        self.positions[path] = _pos(node)
        if isinstance(node, yaml.ScalarNode):
            self._built.add(id(node))
            return self._scalar(node, path)
        if id(node) in self._active:
            raise LoadError(
                Issue(_pos(node), "an alias refers to a node that contains it (recursive YAML)")
            )
        # A collection built before is being copied by an alias: remember the outermost copy.
        outermost = id(node) in self._built and self._alias_use is None
        if outermost:
            self._alias_use = path
        self._built.add(id(node))
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self._check_tag(node, _SEQ)
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            self._check_tag(node, _MAP)
            return self._mapping(node, path)
        finally:
            self._active.discard(id(node))
            if outermost:
                self._alias_use = None

    def _expansion_place(self, node: yaml.Node) -> Pos:
        """Where the alias that copies too much is used: the key it is the value of, or the
        list it is an item of (an alias's own node carries only its anchor's place)."""
        path = self._alias_use
        if not path:
            return _pos(node)
        if isinstance(path[-1], str) and path in self.key_positions:
            return self.key_positions[path]
        return self.positions.get(path[:-1], _pos(node))

    def _bomb_message(self) -> str:
        return (
            f"aliases expand the document to more than {self._max_values:,} values "
            "(an alias bomb?); refusing to load it"
        )

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            self.issues.append(Issue(_pos(node), _unsupported_tag(node.tag)))

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> object:
        tag = node.tag
        # A bare << or = outside a key position is just text.
        if tag in (_STR, _MERGE, _VALUE):
            return node.value
        self.sources[path] = node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return SafeConstructor.bool_values[node.value.lower()]
        try:
            if tag == _INT:
                return _CONSTRUCTOR.construct_yaml_int(node)
            if tag == _FLOAT:
                return _CONSTRUCTOR.construct_yaml_float(node)
            if tag == _TIMESTAMP:
                return _CONSTRUCTOR.construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            # e.g. 2026-02-30 matches the timestamp pattern but is no date: keep the text.
            return node.value
        self.issues.append(Issue(_pos(node), _unsupported_tag(tag)))
        return node.value

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, object]:
        result: dict[str, object] = {}
        self._entries(node, path, result, merged=False)
        return result

    def _entries(
        self, node: yaml.MappingNode, path: Path, result: dict[str, object], *, merged: bool
    ) -> None:
        """Add node's entries to result; merged entries (<<) never override explicit ones."""
        first_seen: dict[str, Pos] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            key = self._key(key_node)
            if key is None:
                continue
            key_pos = _pos(key_node)
            if key in first_seen:
                first = first_seen[key]
                self.issues.append(
                    Issue(
                        key_pos,
                        f"duplicate key '{key}' (first at line {first.line}, column "
                        f"{first.col}); remove one of them",
                    )
                )
                continue
            first_seen[key] = key_pos
            if merged and key in result:
                continue
            self.key_positions[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key))
        for source in self._merge_sources(merges):
            self._active.add(id(source))
            try:
                self._entries(source, path, result, merged=True)
            finally:
                self._active.discard(id(source))

    def _merge_sources(self, merges: list[yaml.Node]) -> Iterator[yaml.MappingNode]:
        """The mappings a `<<:` key names: one mapping, or a list of them (earlier wins)."""
        for value_node in merges:
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if id(source) in self._active:
                    raise LoadError(
                        Issue(
                            _pos(source),
                            "a merge key (<<) refers to a mapping that contains it (recursive YAML)",
                        )
                    )
                if isinstance(source, yaml.MappingNode):
                    yield source
                else:
                    self.issues.append(
                        Issue(
                            _pos(source), "a merge key (<<) must name a mapping or a list of them"
                        )
                    )

    def _key(self, node: yaml.Node) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            value = self._scalar(node, ("<key>",))
            self.sources.pop(("<key>",), None)
            if isinstance(value, str):
                return value
            kind = kind_of(value, node.value)
            self.issues.append(
                Issue(
                    _pos(node),
                    f"key {node.value} is read as {kind}, not a string"
                    f"{quote_hint(value, node.value) or '; quote it'}",
                )
            )
            return None
        self.issues.append(Issue(_pos(node), "a mapping key must be a plain string"))
        return None


def _unsupported_tag(tag: str) -> str:
    return (
        f"unsupported YAML tag '{tag}': only plain strings, numbers, booleans, lists and "
        "mappings are allowed"
    )
