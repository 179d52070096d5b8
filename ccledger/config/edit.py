"""Surgical edits of the user's config.toml, for `ccledger budget set/unset`.

The file is the user's: comments, order and spacing must survive a `budget set`.
So the text is cut into statements (table headers, `key = value` statements
that may span lines, comments), and only the statements named change: a value
is replaced in place (key spelling and trailing comment kept), a missing key is
inserted after the last key of its table, a missing table is appended at the
end. Every edit is then checked by parsing the new text and comparing it with
the intended document; if they differ (a table defined inline or through dotted
keys elsewhere), the whole file is rewritten with tomli-w, the original kept as
`config.toml.bak`, and a warning says so. Nothing is written unless
config_model accepts the result.
"""
from __future__ import annotations

import contextlib
import copy
import os
import re
import sys
from typing import Callable, Iterable, Iterator, Sequence

import tomli_w

from ..base import locks
from ..base.errors import USAGE, CcledgerError
from ..base.paths import write_atomic
from . import model as config_model
from .toml_text import (LIST_KEYS, Lines, Stmt, dotted, parse_key, render_key, render_value, split_key, split_lines,
                        statements)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip(" \t"))]


def _section_end(lines: Lines, stmts: list[Stmt], table: tuple[str, ...]) -> tuple[int, str] | None:
    """Where a new key goes in `table` (after its last key) and that key's indent; None if no [table] header."""
    opened = not table
    at, indent = (0, "") if opened else (None, "")
    for s in stmts:
        if s.kind in ("table", "array"):
            if opened:
                break
            opened = s.kind == "table" and s.table == table
            at = s.end if opened else at
        elif opened and s.kind == "kv":
            at, indent = s.end, _indent(lines[s.start])
    return None if at is None else (at, indent)


def _eol(lines: Lines) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _terminated(lines: Lines) -> Lines:
    """The lines with a final line ending, so that something can follow the last one."""
    return lines[:-1] + [lines[-1] + _eol(lines)] if lines and not lines[-1].endswith("\n") else lines


def _replace_value(block: Lines, value: object) -> Lines:
    """One `key = value` statement with a new value; the key as written and a trailing comment are kept."""
    first, last = block[0], block[-1]
    _, pos = split_key(first)
    start = pos + 1 + len(first[pos + 1:]) - len(first[pos + 1:].lstrip(" \t"))
    body = last.rstrip("\r\n")
    ending, comment = last[len(body):], ""
    whole = tomllib.loads("".join(block))
    head = "".join(block[:-1])
    for hit in re.finditer("#", body):
        try:
            unchanged = tomllib.loads(head + body[:hit.start()]) == whole
        except tomllib.TOMLDecodeError:
            continue
        if unchanged:
            kept = body[:hit.start()]
            comment = kept[len(kept.rstrip(" \t")):] + body[hit.start():]
            break
    return [first[:start] + render_value(value) + comment + ending]


def _set_one(lines: Lines, path: tuple[str, ...], value: object) -> Lines:
    stmts = statements(lines)
    for s in stmts:
        if s.kind == "kv" and s.path == path:
            return lines[:s.start] + _replace_value(lines[s.start:s.end], value) + lines[s.end:]
    table, key, eol = path[:-1], path[-1], _eol(lines)
    new = f"{render_key(key)} = {render_value(value)}{eol}"
    place = _section_end(lines, stmts, table)
    if place is not None:
        at, indent = place
        return _terminated(lines[:at]) + [indent + new] + lines[at:]
    gap = [eol] if lines and lines[-1].strip() else []
    return _terminated(lines) + gap + [f"[{dotted(table)}]{eol}", new]


def _unset_one(lines: Lines, path: tuple[str, ...]) -> Lines:
    """Drop the statement, or each [path...] table from its header to its last key (later comments stay)."""
    drop: list[range] = []
    for s in statements(lines):
        if s.kind == "kv" and s.path == path:
            return lines[:s.start] + lines[s.end:]
        if s.kind in ("table", "array"):
            drop.append(range(s.start, s.end) if s.table[:len(path)] == path else range(0))
        elif drop and drop[-1] and s.kind == "kv":
            drop[-1] = range(drop[-1].start, s.end)
    gone = {n for r in drop for n in r}
    return [line for n, line in enumerate(lines) if n not in gone]


def _read(path: str) -> str:
    try:
        return config_model.read_text(path)
    except FileNotFoundError:
        return ""


MISSING = object()


def get(doc: dict, path: Sequence[str]) -> object:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return MISSING
        doc = doc[part]
    return doc


def same(a: object, b: object) -> bool:
    """Equal and of the same TOML types (Python says 1 == 1.0 == True; TOML and the schema do not)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _deep_set(doc: dict, path: tuple[str, ...], value: object) -> None:
    for n, part in enumerate(path[:-1]):
        if value is MISSING and part not in doc:
            return
        doc = doc.setdefault(part, {})
        if not isinstance(doc, dict):
            raise CcledgerError(f"{dotted(path[:n + 1])} is a value in the config file, not a table")
    if value is MISSING:
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = value


def _pruned(doc: object) -> object:
    """The document without empty tables: `[budgets]` with nothing in it means the same as no [budgets]."""
    if not isinstance(doc, dict):
        return doc
    kept = {k: _pruned(v) for k, v in doc.items()}
    return {k: v for k, v in kept.items() if v != {}}


def _edited(text: str, expected: dict, edits: list[Callable[[Lines], Lines]]) -> str | None:
    """The text after the surgical edits, or None when that is not exactly `expected` (an unusual layout)."""
    lines = split_lines(text)
    for edit in edits:
        lines = edit(lines)
    new = "".join(lines)
    try:
        return new if same(_pruned(tomllib.loads(new)), _pruned(expected)) else None
    except tomllib.TOMLDecodeError:
        return None


def _checked(path: str, old: tuple[dict, str], new: tuple[dict, str], keys: list[tuple[str, ...]]) -> list[str]:
    """Refuse new errors and unknown keys among those being set; problems the file already had stay warnings."""
    before: set[tuple[str | None, str]] = set()
    try:
        config_model.validate(*old)
    except config_model.ConfigError as exc:
        before = {(i.key, i.message) for i in exc.issues}
    try:
        _, warnings = config_model.validate(*new)
    except config_model.ConfigError as exc:
        fresh = [i for i in exc.issues if (i.key, i.message) not in before]
        if fresh:
            raise _refused(path, fresh) from None
        return [f"{path} still has {len(exc.issues)} problem(s) it had before; see `ccledger config check`"]
    named = {dotted(k) for k in keys}
    unknown = [config_model.Issue(w.key, w.line, w.message.replace(", ignored", ""))
               for w in warnings if any(k == w.key or k.startswith(f"{w.key}.") for k in named)]
    if unknown:
        raise _refused(path, unknown)
    return []


def _refused(path: str, issues: list[config_model.Issue]) -> CcledgerError:
    """The values asked for are invalid: a usage error (exit 2) naming each key and no line, since the lines
    would be those of a text that was never written (before the first `budget set`, of a file that is not)."""
    what = "; ".join(f"{i.key}: {i.message}" for i in issues)
    return CcledgerError(f"{what}; nothing was changed in {path}", USAGE)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    """The config lock (0600, like every file ccledger writes): one `budget set` at a time."""
    try:
        with locks.FileLock(os.path.abspath(path) + ".lock", 10.0):
            yield
    except locks.LockTimeout:
        raise CcledgerError(f"another ccledger is editing {path} (waited 10 s); try again") from None


def _commit(path: str, targets: dict[tuple[str, ...], object], edit: Callable) -> list[str]:
    """Read, edit, validate and write under the config lock; nothing is written when no value changes."""
    with _locked(path):
        text = _read(path)
        doc = config_model.parse(text, path)
        expected = copy.deepcopy(doc)
        for key, value in targets.items():
            _deep_set(expected, key, value)
        changed = [k for k, v in targets.items() if not same(get(doc, k), v)]
        if not changed:
            return []
        ordered = sorted(changed, key=len)  # [budgets] keys before [budgets.x] tables, when both are new
        new_text = _edited(text, expected, [lambda ls, k=k: edit(ls, k, targets[k]) for k in ordered])
        lossy = new_text is None  # a table defined inline or through dotted keys: rewrite the file whole
        warnings = [f"{path} defines these tables inline or through dotted keys, so it was rewritten whole with "
                    f"tomli-w: its comments and layout were not kept (the original is in {path}.bak)"] if lossy else []
        new_text = tomli_w.dumps(expected) if lossy else new_text
        warnings += _checked(path, (doc, text), (expected, new_text), changed)
        if lossy:
            write_atomic(path + ".bak", text)
        write_atomic(path, new_text)
        return warnings


def set_keys(path: str, assignments: dict[str, object], prefix: Sequence[str] = ("budgets",)) -> list[str]:
    """Set dotted keys relative to `prefix` ([budgets] by default); returns warnings.

    Only the keys named change, and only if their value does; a `warn` given as one number becomes a list.
    """
    targets: dict[tuple[str, ...], object] = {}
    for key, value in assignments.items():
        full = tuple(prefix) + parse_key(key)
        targets[full] = [value] if full[-1] in LIST_KEYS and not isinstance(value, list) else value
    return _commit(path, targets, _set_one)


def unset_keys(path: str, keys: Iterable[str], prefix: Sequence[str] = ("budgets",)) -> list[str]:
    """Remove dotted keys or whole tables relative to `prefix`; keys that were not set are warned about."""
    if not os.path.exists(path):
        return [f"{dotted(tuple(prefix) + parse_key(k))} was not set" for k in keys]
    targets = {tuple(prefix) + parse_key(k): MISSING for k in keys}
    doc = config_model.parse(_read(path), path)
    warnings = [f"{dotted(k)} was not set" for k in targets if get(doc, k) is MISSING]
    return warnings + _commit(path, targets, lambda lines, key, _value: _unset_one(lines, key))
