"""Settings entries that name a file an upgrade moved, found by `ccledger doctor` and rewritten by `--fix`.

0.2 moved the entry Claude Code runs from `ccledger/hot/launch.py` to `ccledger/launch.py`. After `git pull`
and `python3 install.py` the installer replaces its own entries; an entry it did not write this time (a
project's settings, a copy made by hand) would still name the old file. The fix replaces the path inside
the file's text, so the user's formatting stays byte for byte, and keeps the usual backup.
"""
from __future__ import annotations

import json
import os
import shlex

from . import entries, settings

MOVED = {"ccledger/hot/launch.py": "ccledger/launch.py"}


def _words(data: dict) -> list[str]:
    """The interpreter and script paths our entries name: exec-form hooks and the shell-form statusLine."""
    words: list[str] = []
    for _, _, handler in entries.handlers(data.get("hooks")):
        if entries.is_ours(handler):
            words += [handler.get("command")] + list(handler.get("args") or [])
    line = data.get("statusLine")
    if entries.is_ours(line):
        try:
            words += shlex.split(line.get("command", ""))
        except ValueError:
            pass
    return [w for w in words if isinstance(w, str)]


def stale(data: dict) -> dict[str, str]:
    """{old path: the path it moved to} for every word of our entries naming a moved file."""
    found = {}
    for word in _words(data):
        for old, new in MOVED.items():
            if word.replace("\\", "/").endswith(old):  # gone, or a compatibility shim (ccledger/hot/)
                moved = word[: -len(old)] + new
                if os.path.exists(moved):
                    found[word] = moved
    return found


def fix(path: str) -> int:
    """Rewrite the moved paths in one settings file; returns how many distinct paths changed."""
    loaded = settings.load(path)
    moves = stale(loaded.data)
    if not moves:
        return 0
    text = loaded.raw.decode("utf-8-sig")
    for old, new in moves.items():
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    if stale(json.loads(text)):  # a spelling the text replace could not reach: leave the file as it was
        return 0
    settings.ensure_backup(loaded)
    settings.write(loaded, text.encode("utf-8"))
    return len(moves)
