"""Where things sit in config.toml's text: statements, keys and their lines, without a TOML library.

Shared by the model (to name the line of a mistake) and by the surgical edits (to change only the
statements named), so neither imports the other.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Iterable, Sequence

import tomli_w

from ..base.errors import USAGE, CcledgerError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

BARE = re.compile(r"[A-Za-z0-9_-]+")
LIST_KEYS = {"warn"}  # always lists in the schema: `warn=80` is stored as [80]
Lines = list[str]


@dataclass
class Stmt:
    kind: str                  # "table", "array" (of tables), "kv" or "other" (blank, comment)
    start: int                 # first line index
    end: int                   # one past the last line
    table: tuple[str, ...]     # the table it belongs to; for headers, the table they open
    key: tuple[str, ...] = ()  # kv only: the key parts, relative to `table`

    @property
    def path(self) -> tuple[str, ...]:
        return self.table + self.key


def split_key(text: str, pos: int = 0) -> tuple[list[str], int]:
    """The TOML key at text[pos:] (bare, "basic" or 'literal' parts joined by dots) and where it ends."""
    parts: list[str] = []
    while True:
        pos = len(text) - len(text[pos:].lstrip(" \t"))
        if text[pos:pos + 1] in ("'", '"'):
            quote, end = text[pos], pos + 1
            while end < len(text) and text[end] != quote:
                end += 2 if quote == '"' and text[end] == "\\" else 1
            if end >= len(text):
                raise ValueError("unterminated quoted key")
            parts.append(tomllib.loads(f"k = {text[pos:end + 1]}")["k"])
            pos = end + 1
        else:
            match = BARE.match(text, pos)
            if not match:
                raise ValueError(f"expected a key at column {pos + 1}")
            parts.append(match.group())
            pos = match.end()
        pos = len(text) - len(text[pos:].lstrip(" \t"))
        if text[pos:pos + 1] != ".":
            return parts, pos
        pos += 1


def parse_key(key: str) -> tuple[str, ...]:
    """A whole dotted key from the command line, e.g. `mcp.servers."my.server".usd`."""
    try:
        parts, end = split_key(key)
    except ValueError as exc:
        raise CcledgerError(f"bad key {key!r}: {exc}", USAGE) from None  # a bad argument: exit 2
    if end != len(key):
        raise CcledgerError(f"bad key {key!r}: unexpected {key[end:]!r}", USAGE)
    return tuple(parts)


def render_key(part: str) -> str:
    return part if BARE.fullmatch(part) else tomli_w.dumps({part: 0}).rpartition(" = ")[0]


def dotted(parts: Iterable[object]) -> str:
    return ".".join(render_key(str(p)) for p in parts)


def render_value(value: object) -> str:
    """tomli-w's rendering of one value; a list of scalars on one line, as people write `warn = [50, 80]`."""
    if isinstance(value, list) and not any(isinstance(v, (list, dict)) for v in value):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).partition(" = ")[2].rstrip("\n")


def split_lines(text: str) -> Lines:
    """Lines with their own endings, so joining them gives the text back byte for byte."""
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _header(line: str, i: int) -> Stmt | None:
    s = line.strip()
    if not s.startswith("["):
        return None
    double = s.startswith("[[")
    try:
        parts, pos = split_key(s, 2 if double else 1)
    except ValueError:
        return None
    if not s.startswith("]]" if double else "]", pos):
        return None
    return Stmt("array" if double else "table", i, i + 1, tuple(parts))


def _key_value(lines: Lines, i: int, table: tuple[str, ...]) -> Stmt | None:
    """A `key = value` statement: it ends at the first line where it parses on its own."""
    try:
        parts, pos = split_key(lines[i])
    except ValueError:
        return None
    if not lines[i].startswith("=", pos):
        return None
    for j in range(i + 1, len(lines) + 1):
        try:
            tomllib.loads("".join(lines[i:j]))
        except tomllib.TOMLDecodeError:
            continue
        return Stmt("kv", i, j, table, tuple(parts))
    return None


def statements(lines: Lines) -> list[Stmt]:
    out: list[Stmt] = []
    table: tuple[str, ...] = ()
    i = 0
    while i < len(lines):
        stmt = _header(lines[i], i) or _key_value(lines, i, table) or Stmt("other", i, i + 1, table)
        if stmt.kind in ("table", "array"):
            table = stmt.table
        out.append(stmt)
        i = stmt.end
    return out


def line_of(text: str, path: Sequence[str]) -> int | None:
    """1-based line where `path` is set or its table opens; else the line of an inline value holding it,
    or of the first sub-table that implies it (`[a.b.c]` for `a.b`); None if it is not in the text."""
    path, near = tuple(path), None
    for s in statements(split_lines(text)):
        if (s.kind == "kv" and s.path == path) or (s.kind in ("table", "array") and s.table == path):
            return s.start + 1
        n = min(len(s.path), len(path))
        related = s.kind == "kv" or (s.kind != "other" and len(s.table) > len(path))
        if near is None and path and related and s.path[:n] == path[:n]:
            near = s.start + 1
    return near
