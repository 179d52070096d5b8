"""Read, merge, diff and write a Claude Code settings.json without losing anything of the user's.

Merge, never overwrite: every key, foreign hook and matcher group stays where it was, in its
order; only handlers that are ours (entries.is_ours) are replaced, in place, so re-running the
installer on an unchanged file changes nothing. The file is refused, untouched, when it is not
a JSON object (with line and column for a syntax error). Standard library only.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import os
import re
import stat

from ..base import paths
from ..base.errors import CcledgerError
from . import atomic, entries, jsonedit

BACKUP_SUFFIX = ".ccledger-backup"


def user_settings_path() -> str:
    """$CLAUDE_CONFIG_DIR/settings.json (first entry of a list), else ~/.claude/settings.json."""
    return os.path.join(paths.claude_settings_dir(), "settings.json")


def project_settings_path(cwd: str) -> str:
    """.claude/settings.json at the git root of `cwd` (cwd itself outside a repository)."""
    folder = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return os.path.join(folder, ".claude", "settings.json")
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.join(os.path.abspath(cwd), ".claude", "settings.json")
        folder = parent


@dataclasses.dataclass
class Loaded:
    path: str       # absolute, as the user names it (the state file's key)
    real: str       # symlinks resolved: where the bytes live (a dotfiles link stays a link)
    exists: bool
    raw: bytes
    data: dict
    indent: str | int = 2
    final_newline: bool = True


def _style(text: str) -> tuple[str | int, bool]:
    """The indent the file uses (2 when it cannot tell) and whether it ends with a newline."""
    match = re.search(r"^[{\[][ \t]*\r?\n([ \t]+)\S", text, re.M)
    indent: str | int = 2
    if match:
        ws = match.group(1)
        indent = ws if "\t" in ws else len(ws)
    return indent, text.endswith("\n") or not text


def _kind(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def load(path: str) -> Loaded:
    """Read and check a settings file; a missing one is an empty object."""
    path = os.path.abspath(path)
    real = os.path.realpath(path)
    try:
        with open(real, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return Loaded(path, real, False, b"", {})
    except IsADirectoryError:
        raise CcledgerError(f"{path} is a folder, not a settings file") from None
    except PermissionError:
        raise CcledgerError(f"cannot read {path}: permission denied") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CcledgerError(f"{path} is not UTF-8 text (byte {exc.start}); left untouched") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise CcledgerError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                            "fix it and run again (the file was left untouched)") from None
    if not isinstance(data, dict):
        raise CcledgerError(f"{path} holds {_kind(data)} at the top, not an object; ccledger edits only "
                            'settings of the form {"hooks": {...}, ...} (left untouched)')
    hooks = data.get("hooks")
    if "hooks" in data and not isinstance(hooks, dict):
        raise CcledgerError(f'{path}: "hooks" is {_kind(hooks)}, not an object of events; fix it as in '
                            '{"hooks": {"Stop": [{"hooks": [...]}]}} and run again (left untouched)')
    for event, groups in (hooks or {}).items():
        if not isinstance(groups, list):
            raise CcledgerError(f'{path}: "hooks"."{event}" is {_kind(groups)}, not an array of matcher '
                                "groups; fix it and run again (left untouched)")
    indent, newline = _style(text)
    return Loaded(path, real, True, raw, data, indent, newline)


def enabled_plugin(data: dict) -> str | None:
    """The id of an enabled ccledger plugin (`ccledger@<marketplace>`) in these settings, if any."""
    plugins = data.get("enabledPlugins")
    if isinstance(plugins, dict):
        for plugin_id, enabled in plugins.items():
            if isinstance(plugin_id, str) and plugin_id.split("@")[0] == "ccledger" and enabled is True:
                return plugin_id
    return None


def redump(data: dict, like: Loaded) -> bytes:
    """`data` as JSON in the style of the file it came from (indent, final newline): the whole file anew."""
    text = json.dumps(data, indent=like.indent, ensure_ascii=False)
    return (text + ("\n" if like.final_newline else "")).encode("utf-8")


def render_edit(data: dict, like: Loaded) -> tuple[bytes, bool]:
    """(the new file, whether it is a minimal edit of the old one). The user's text is edited only
    where ccledger's entries go, so every other byte stays as they wrote it; the edit counts only if
    parsing it gives exactly `data` (key order included); otherwise the whole file is written anew
    in its indent (False). A new or empty file is written whole: there is nothing of the user's to keep."""
    if not like.exists or not like.raw.strip():
        return redump(data, like), True  # nothing of the user's to keep
    bom = like.raw.startswith(b"\xef\xbb\xbf")
    text = like.raw.decode("utf-8-sig")
    unit = like.indent if isinstance(like.indent, str) else " " * like.indent
    try:
        edited = jsonedit.edit(text, like.data, data, unit)
        ok = same(json.loads(edited), data)
    except (jsonedit.Unsupported, ValueError, RecursionError):
        ok = False
    if not ok:
        return redump(data, like), False
    return (b"\xef\xbb\xbf" if bom else b"") + edited.encode("utf-8"), True


def render(data: dict, like: Loaded) -> bytes:
    """`data` as the new text of the file `like` came from, changed as little as possible."""
    return render_edit(data, like)[0]


@dataclasses.dataclass
class Merged:
    data: dict
    previous_statusline: object   # what statusLine held before, if it was not ours
    had_foreign_statusline: bool


def _without_ours(groups: list, replacement: dict | None) -> tuple[list, bool]:
    """The groups with our handlers removed; `replacement` takes the place of the first group that
    held only ours (appended when there was none). Returns (groups, whether anything of ours was there)."""
    out: list = []
    placed = found = False
    for group in groups:
        handlers = group.get("hooks") if isinstance(group, dict) else None
        if not isinstance(handlers, list) or not any(entries.is_ours(h) for h in handlers):
            out.append(group)
            continue
        found = True
        kept = [h for h in handlers if not entries.is_ours(h)]
        if kept:
            out.append({**group, "hooks": kept})
        elif replacement is not None and not placed:
            out.append(replacement)
            placed = True
    if replacement is not None and not placed:
        out.append(replacement)
    return out, found


def merge(data: dict, block: dict | None, statusline: dict | None) -> Merged:
    """`data` with our hook groups (from `block`) and statusLine in place of any older ones of ours;
    None leaves that part as it is."""
    new = copy.deepcopy(data)
    hooks = new.setdefault("hooks", {}) if block is not None else {}
    for event in list(hooks):
        if event not in block:
            groups, found = _without_ours(hooks[event], None)
            if found and not groups:
                del hooks[event]
            else:
                hooks[event] = groups
    for event, groups in (block or {}).items():
        hooks[event] = _without_ours(hooks.get(event, []), groups[0])[0]
    previous, foreign = None, False
    if statusline is not None:
        if "statusLine" in new and not entries.is_ours(new["statusLine"]):
            previous, foreign = new["statusLine"], True
        new["statusLine"] = statusline
    return Merged(new, previous, foreign)


@dataclasses.dataclass
class Stripped:
    data: dict
    removed_handlers: int
    statusline: str   # "restored", "removed", "foreign" (not ours: left alone) or "absent"


def strip(data: dict, saved_statusline: object) -> Stripped:
    """`data` without any entry of ours; a statusLine of ours gives way to `saved_statusline`."""
    new = copy.deepcopy(data)
    removed = 0
    hooks = new.get("hooks")
    if isinstance(hooks, dict):
        removed = sum(1 for _, _, h in entries.handlers(hooks) if entries.is_ours(h))
        for event in list(hooks):
            if isinstance(hooks[event], list):
                groups, found = _without_ours(hooks[event], None)
                if found and not groups:
                    del hooks[event]
                else:
                    hooks[event] = groups
        if removed and not hooks:
            del new["hooks"]
    if "statusLine" not in new:
        status = "absent"
    elif not entries.is_ours(new["statusLine"]):
        status = "foreign"
    elif saved_statusline is not None:
        new["statusLine"], status = saved_statusline, "restored"
    else:
        del new["statusLine"]
        status = "removed"
    return Stripped(new, removed, status)


def same(a: object, b: object) -> bool:
    """Equal as JSON, key order included (the order is part of what the user wrote)."""
    return json.dumps(a, ensure_ascii=False) == json.dumps(b, ensure_ascii=False)


def diff(old: bytes, new: bytes, path: str) -> str:
    """A unified diff of two versions of the file ("" when equal)."""
    a = old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(a, b, fromfile=f"{path} (now)", tofile=f"{path} (after)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


def backup_path(path: str) -> str:
    return path + BACKUP_SUFFIX


def ensure_backup(loaded: Loaded) -> str | None:
    """Copy the file as it is to `<path>.ccledger-backup`, once: an existing backup is kept, since
    it is older and so closer to the user's original. None when there is no file to back up."""
    if not loaded.exists:
        return None
    target = backup_path(loaded.real)
    if not os.path.exists(target):
        atomic.write(target, loaded.raw, stat.S_IMODE(os.stat(loaded.real).st_mode) | 0o600)
    return target


def unchanged_since(loaded: Loaded) -> bool:
    try:
        with open(loaded.real, "rb") as f:
            return loaded.exists and f.read() == loaded.raw
    except FileNotFoundError:
        return not loaded.exists


def write(loaded: Loaded, data: bytes) -> None:
    """Write the new bytes where the file lives (through a symlink), keeping its mode; refuse when
    someone else (Claude Code, an editor) changed the file since it was read."""
    reason = atomic.read_only_reason(loaded.real)
    if reason:
        raise CcledgerError(f"cannot write {loaded.path}: {reason}")
    if not unchanged_since(loaded):
        raise CcledgerError(f"{loaded.path} changed while ccledger was editing it; run the command again")
    try:
        os.makedirs(os.path.dirname(loaded.real), exist_ok=True)
        atomic.write(loaded.real, data)
    except OSError as exc:
        raise CcledgerError(f"cannot write {loaded.path}: {exc.strerror or exc}") from None
