"""What an install will change, in words: the lines shown before the question and under the dry
run's diff, so that nobody has to read JSON to know what happens to their settings.json (which
events get ccledger's hook, which older entries of ours are replaced, where a status line the user
had goes). Standard library only.
"""
from __future__ import annotations

import json

from . import entries, settings, state


def _ours_by_event(data: dict) -> dict[str, list]:
    found: dict[str, list] = {}
    for event, _, handler in entries.handlers(data.get("hooks")):
        if entries.is_ours(handler):
            found.setdefault(event, []).append(handler)
    return found


def _names(events: list[str], limit: int = 6) -> str:
    shown = ", ".join(events[:limit])
    return shown + (f" and {len(events) - limit} more" if len(events) > limit else "")


def _short(line: object, width: int = 60) -> str:
    command = line.get("command") if isinstance(line, dict) else None
    text = command if isinstance(command, str) else json.dumps(line, ensure_ascii=False)
    return "`" + (text if len(text) <= width else text[:width - 1] + "…") + "`"


def hook_lines(before: dict, after: dict) -> list[str]:
    old, new = _ours_by_event(before), _ours_by_event(after)
    added = [e for e in new if e not in old]
    replaced = [e for e in new if e in old and not settings.same(old[e], new[e])]
    removed = [e for e in old if e not in new]
    lines = []
    if added:
        lines.append(f"  + hooks: ccledger's hook for {len(added)} events ({_names(added)})")
    if replaced:
        lines.append(f"  ~ hooks: ccledger's older entries replaced for {len(replaced)} events ({_names(replaced)})")
    if removed:
        lines.append(f"  - hooks: ccledger's entries removed from {_names(removed)} (no longer hooked)")
    if (added or replaced or removed) and any(not entries.is_ours(h) for _, _, h in entries.handlers(before.get("hooks"))):
        lines.append("    your own hooks stay as they are, in their order")
    return lines


def statusline_lines(loaded: settings.Loaded, merged: settings.Merged, undo: str) -> list[str]:
    """Where the status line goes: added, ours updated, or the user's replaced and chained (and kept where)."""
    before, after = loaded.data.get("statusLine"), merged.data.get("statusLine")
    if after is None or settings.same(before, after):
        prior = state.entry(state.load(), loaded.path)
        saved = prior.get("saved_statusline") if prior else None
        return [f"  = statusLine: ccledger's already (chaining yours, {_short(saved)})"] if saved else []
    if before is None:
        return ["  + statusLine: ccledger's status line"]
    if entries.is_ours(before):
        return ["  ~ statusLine: ccledger's, updated to this environment"]
    prior = state.entry(state.load(), loaded.path)
    backup = prior.get("backup") if prior else settings.backup_path(loaded.real)
    lines = [f"  ~ statusLine: yours, {_short(before)}, is replaced by ccledger's, which runs yours and",
             "    shows its output on the same line (chained). Where yours goes:",
             f"      saved in {state.state_path()} (what ccledger's line runs)"]
    if backup:
        lines.append(f"      and in {backup} (the file as it was, kept once)")
    return lines + [f"    `{undo}` puts it back."]


def describe(loaded: settings.Loaded, merged: settings.Merged, undo: str) -> list[str]:
    """The change to one settings file, one line per kind of change."""
    if loaded.exists and settings.same(loaded.data, merged.data):
        return [f"{loaded.path}: already up to date, nothing to change."] + statusline_lines(loaded, merged, undo)
    head = f"Changes to {loaded.path}" + ("" if loaded.exists else " (a new file)") + ":"
    lines = hook_lines(loaded.data, merged.data) + statusline_lines(loaded, merged, undo)
    if loaded.exists:
        lines.append("  Nothing else in the file changes.")
    return [head] + lines
