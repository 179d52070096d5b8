"""What ccledger writes into a Claude Code settings file, and how it recognises its own entries later.

Claude Code validates settings, so our hook handlers carry no extra key to mark them: an entry is
ours when its command line names our entry point. `CURRENT_MARK` is what this version writes;
`PRIOR_MARKS` are what earlier versions (or hand-wired set-ups from a checkout) wrote, so that a
re-install replaces them instead of adding a second copy (pre-commit's CURRENT_HASH/PRIOR_HASHES).
Standard library only: install.py imports it from a checkout.
"""
from __future__ import annotations

import os

from ..hooks import spec as hookspec

CURRENT_MARK = "ccledger/launch.py"
PRIOR_MARKS = (
    "ccledger_hook.py",          # hooks/ccledger_hook.py of a checkout, wired by hand
    "ccledger_statusline.py",    # statusline/ccledger_statusline.py of a checkout
    "ccledger-hook",             # the console script of the package
    "ccledger-statusline",
    "ccledger.hooks.entry",      # python -m ccledger.hooks.entry
    "ccledger.statusline.entry",
    "ccledger/hot/launch.py",    # before 0.2 the entry lived in ccledger/hot/: doctor --fix and install rewrite it
    "ccledger.hot.hook",
    "ccledger.hot.statusline",
)
MARKS = (CURRENT_MARK,) + PRIOR_MARKS


def _command_line(entry: object) -> str:
    """The command and its args as one string, with Windows separators normalised."""
    if not isinstance(entry, dict) or entry.get("type", "command") != "command":
        return ""
    parts = [entry.get("command")]
    args = entry.get("args")
    if isinstance(args, list):
        parts += args
    return " ".join(p for p in parts if isinstance(p, str)).replace("\\", "/")


def is_ours(entry: object) -> bool:
    """True for a hook handler or a statusLine object that runs ccledger (any version's mark), or
    for a bare `ccledger statusline` (the CLI's own status line command, wired by hand)."""
    line = _command_line(entry)
    if any(mark in line for mark in MARKS):
        return True
    words = line.split()
    return len(words) == 2 and words[1] == "statusline" and os.path.basename(words[0]) == "ccledger"


def launch_script(site_packages: str) -> str:
    return os.path.join(site_packages, "ccledger", "launch.py")


def hooks_block(python: str, site_packages: str) -> dict:
    """The `hooks` object for settings.json: exec form, from the one hook spec."""
    return hookspec.hooks_block(command=python, args=["-S", launch_script(site_packages), "hook"])


def quote(arg: str) -> str:
    """Quote for the shell Claude Code runs the statusLine in (sh; cmd-like quoting on Windows)."""
    if os.name == "nt":
        return '"%s"' % arg if (" " in arg or not arg) else arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"  # always quoted, as shlex.quote does when needed


def statusline(python: str, site_packages: str) -> dict:
    """The statusLine object: shell form (the only form the statusLine has), every path quoted."""
    command = f"{quote(python)} -S {quote(launch_script(site_packages))} statusline"
    return {"type": "command", "command": command, "padding": 0}


def handlers(hooks: object):
    """Yield (event, group, handler) for every handler of a settings `hooks` object."""
    if not isinstance(hooks, dict):
        return
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            continue
        for group in groups:
            if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                for handler in group["hooks"]:
                    yield event, group, handler
