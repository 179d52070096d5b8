"""Edit a JSON document's text as little as possible: a settings.json the user formatted by hand
must show, after the install, only the lines that carry ccledger's entries.

`edit(text, old, new)` walks the old and the new document together over the text's own spans:
what is equal keeps its bytes (spacing, key order, escapes, blank lines), a changed member or
element is edited inside, and only what is new is rendered, in the indentation of the place it goes
to. The caller checks the result by parsing it (settings.render_edit) and re-dumps the whole file
only when that check fails. Standard library only.
"""
from __future__ import annotations

import dataclasses
import difflib
import json

WHITESPACE = " \t\r\n"
FLAT_WIDTH = 200  # a new value this long or shorter is written on one line
_DECODER = json.JSONDecoder()


class Unsupported(ValueError):
    """The text cannot be edited in place (duplicate keys, a shape the walk does not know)."""


@dataclasses.dataclass
class Node:
    start: int
    end: int                        # one past the last character of the value
    members: list | None = None     # objects: [(key, key_start, Node)]
    items: list | None = None       # arrays: [Node]


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in WHITESPACE:
        i += 1
    return i


def parse(text: str, i: int = 0) -> Node:
    """The spans of the value starting at (or after whitespace from) `i`."""
    i = _skip(text, i)
    if i >= len(text):
        raise Unsupported("unexpected end of the text")
    if text[i] == "{":
        return _container(text, i, "}", True)
    if text[i] == "[":
        return _container(text, i, "]", False)
    try:
        _, end = _DECODER.raw_decode(text, i)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None
    return Node(i, end)


def _container(text: str, start: int, close: str, is_object: bool) -> Node:
    children: list = []
    keys: set = set()
    i = _skip(text, start + 1)
    if i < len(text) and text[i] == close:
        return Node(start, i + 1, [] if is_object else None, None if is_object else [])
    while True:
        if is_object:
            try:
                key, after = _DECODER.raw_decode(text, i)
            except ValueError as exc:
                raise Unsupported(str(exc)) from None
            if not isinstance(key, str) or key in keys:
                raise Unsupported(f"duplicate or invalid key at offset {i}")
            keys.add(key)
            colon = _skip(text, after)
            if colon >= len(text) or text[colon] != ":":
                raise Unsupported(f"expected ':' at offset {colon}")
            value = parse(text, colon + 1)
            children.append((key, i, value))
        else:
            value = parse(text, i)
            children.append(value)
        i = _skip(text, value.end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == close:
            return Node(start, i + 1, children if is_object else None, None if is_object else children)
        raise Unsupported(f"expected ',' or '{close}' at offset {i}")


def _dump(value: object) -> str:
    """Equality as the settings file sees it: key order included."""
    return json.dumps(value, ensure_ascii=False)


@dataclasses.dataclass
class Style:
    unit: str          # one level of indentation in this file
    newline: str       # "\n" or "\r\n"
    multiline: bool    # whether the document spreads over lines (a one-line file stays one line)


def _line_indent(text: str, pos: int) -> str:
    """The leading whitespace of the line `pos` is on."""
    begin = text.rfind("\n", 0, pos) + 1
    end = begin
    while end < pos and text[end] in " \t":
        end += 1
    return text[begin:end]


def _render(value: object, indent: str, style: Style, multiline: bool) -> str:
    """A new value for the place it goes to: on one line when it is short (or the file is written on
    one line), else one line per member or element, each of those on one line (a hook group reads as
    one line, and the diff stays as short as the change)."""
    flat = json.dumps(value, ensure_ascii=False)
    if not multiline or not isinstance(value, (dict, list)) or not value or len(flat) <= FLAT_WIDTH:
        return flat
    inner = indent + style.unit
    if isinstance(value, dict):
        lines = [json.dumps(k, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False) for k, v in value.items()]
    else:
        lines = [json.dumps(v, ensure_ascii=False) for v in value]
    brackets = "{}" if isinstance(value, dict) else "[]"
    body = ("," + style.newline + inner).join(lines)
    return brackets[0] + style.newline + inner + body + style.newline + indent + brackets[1]


def _layout(text: str, node: Node, children: list, style: Style) -> tuple[str, list[str], str, str, bool]:
    """(whitespace after the opening bracket, separators between children, whitespace before the
    closing one, the children's indentation, whether the container is laid out over lines)."""
    spans = [(c[1] if node.members is not None else c.start, (c[2] if node.members is not None else c).end)
             for c in children]
    outer = _line_indent(text, node.start)
    if not spans:
        inner = outer + style.unit
        if style.multiline:
            return style.newline + inner, [], style.newline + outer, inner, True
        return "", [], "", inner, False
    lead = text[node.start + 1:spans[0][0]]
    seps = [text[spans[k][1]:spans[k + 1][0]] for k in range(len(spans) - 1)]
    trail = text[spans[-1][1]:node.end - 1]
    multiline = "\n" in lead or any("\n" in s for s in seps)
    inner = _line_indent(text, spans[0][0]) if multiline else outer + style.unit
    return lead, seps, trail, inner, multiline


def _grows_flat(multiline: bool, style: Style, added: list) -> bool:
    """A one-line container of a file laid out over lines, receiving a new object or array: written
    out over lines as a whole (a 2,000-character line would be minimal, but not readable)."""
    return not multiline and style.multiline and any(isinstance(v, (dict, list)) and v for v in added)


def _join(open_: str, close: str, lead: str, seps: list[str], trail: str, parts: list[str],
          inner: str, multiline: bool, style: Style) -> str:
    if not parts:
        return open_ + close
    # a new separator is the container's plainest one (not the one before a blank line the user left)
    default = min(seps, key=lambda sep: (sep.count("\n"), len(sep))) if seps else (
        "," + style.newline + inner if multiline else ", ")
    seps = (seps + [default] * len(parts))[:len(parts) - 1]
    out = open_ + lead + parts[0]
    for sep, part in zip(seps, parts[1:]):
        out += sep + part
    return out + trail + close


def _edit_object(text: str, node: Node, old: dict, new: dict, style: Style) -> str:
    common_old = [k for k in old if k in new]
    common_new = [k for k in new if k in old]
    if common_old != common_new:
        raise Unsupported("keys were reordered")
    lead, seps, trail, inner, multiline = _layout(text, node, node.members, style)
    if _grows_flat(multiline, style, [v for k, v in new.items() if k not in old]):
        raise Unsupported("a one-line object receives a block")
    by_key = {key: (key_start, child) for key, key_start, child in node.members}
    colons = [text[_DECODER.raw_decode(text, key_start)[1]:child.start] for _, key_start, child in node.members]
    colon = max(dict.fromkeys([": "] + colons), key=colons.count)  # the usual one here; ": " on a tie
    parts = []
    for key, value in new.items():
        if key in by_key:
            key_start, child = by_key[key]
            parts.append(text[key_start:child.start] + _edit(text, child, old[key], value, style))
        else:
            parts.append(json.dumps(key, ensure_ascii=False) + colon + _render(value, inner, style, multiline))
    return _join("{", "}", lead, seps, trail, parts, inner, multiline, style)


def _edit_array(text: str, node: Node, old: list, new: list, style: Style) -> str:
    lead, seps, trail, inner, multiline = _layout(text, node, node.items, style)
    matcher = difflib.SequenceMatcher(None, [_dump(v) for v in old], [_dump(v) for v in new], autojunk=False)
    parts = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts += [text[child.start:child.end] for child in node.items[i1:i2]]
            continue
        paired = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(paired):  # an element changed inside: edit it in place
            parts.append(_edit(text, node.items[i1 + k], old[i1 + k], new[j1 + k], style))
        added = new[j1 + paired:j2]
        if _grows_flat(multiline, style, added):
            return _render(new, _line_indent(text, node.start), style, True)
        parts += [_render(value, inner, style, multiline) for value in added]
    return _join("[", "]", lead, seps, trail, parts, inner, multiline, style)


def _edit(text: str, node: Node, old: object, new: object, style: Style, root: bool = False) -> str:
    if _dump(old) == _dump(new):
        return text[node.start:node.end]
    if isinstance(old, dict) and isinstance(new, dict) and node.members is not None:
        try:
            return _edit_object(text, node, old, new, style)
        except Unsupported:
            if root:  # the whole document anew is the caller's fallback, in the file's own indent
                raise
            # else: this value alone is rendered anew
    if isinstance(old, list) and isinstance(new, list) and node.items is not None:
        return _edit_array(text, node, old, new, style)
    return _render(new, _line_indent(text, node.start), style, style.multiline)


def edit(text: str, old: object, new: object, unit: str) -> str:
    """`text` (whose value is `old`) changed into a text whose value is `new`, touching only what
    differs. `unit` is the file's indentation step, for what is rendered anew."""
    root = parse(text)
    if _skip(text, root.end) != len(text):
        raise Unsupported("text after the document")
    newline = "\r\n" if "\r\n" in text else "\n"
    style = Style(unit, newline, "\n" in text[root.start:root.end])
    return text[:root.start] + _edit(text, root, old, new, style, root=True) + text[root.end:]
