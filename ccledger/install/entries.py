"""What ccledger writes into a Claude Code settings file, and how it recognises its own entries later.

Claude Code validates settings, so our hook handlers carry no extra key to mark them: an entry is
ours when its command line names our entry point. `CURRENT_MARK` is what this version writes;
`PRIOR_MARKS` are what earlier versions (or hand-wired set-ups from a checkout) wrote, so that a
re-install replaces them instead of adding a second copy (pre-commit's CURRENT_HASH/PRIOR_HASHES).
The commands survive their environment: they run the interpreter the environment was made from
(not the venv's own, deleted with it) with `-S -c BOOT <.../ccledger/launch.py> hook|statusline`,
where BOOT runs launch.py when it is there and otherwise does nothing (a hook: no output, exit 0)
or prints one line saying what to run (the status line). A missing script or interpreter would
make every hook fail (Claude Code reads exit 2 from `python missing.py` as "block").
Standard library only: install.py imports it from a checkout.
"""
from __future__ import annotations

import os
import sys

from ..base import paths
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


# What the status line says when the package it runs is gone (the hooks say nothing). No single quote:
# the statusLine is a shell command, BOOT is single-quoted in it.
ENV_GONE = "ccledger: environment missing; run python3 install.py from your ccledger clone"
PLUGIN_GONE = "ccledger: its plugin is not installed; /plugin install ccledger@ccledger"
# Run launch.py as a script would run (its __file__, argv and __name__), or, when it is gone, read stdin
# (Claude Code is writing the payload) and exit 0; the status line prints its one line. -c code is compiled
# on every run, as a script is: keep it short.
BOOT = ('import os,sys;f=sys.argv[1];sys.argv[:2]=[f];__file__=f;'
        'exec(compile(open(f,"rb").read(),f,"exec"))if os.path.isfile(f)else'
        '[sys.stdin.buffer.read(),sys.argv[1:]==["statusline"]and print("%s")]')


def launch_script(site_packages: str) -> str:
    return os.path.join(site_packages, "ccledger", "launch.py")


def plugin_link() -> str:
    """A link in ccledger's data folder to the plugin's current folder (which changes with every plugin
    update): what a status line added by /ccledger:statusline runs, kept current by the plugin's hook."""
    return os.path.join(paths.data_dir(), "plugin")


def _venv_root(python: str) -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    return root if os.path.isfile(os.path.join(root, "pyvenv.cfg")) else None


def host_python(python: str) -> str:
    """The interpreter to register for `python`: itself, unless it belongs to a virtual environment
    (deleted with it); then the interpreter that ran the installer when it is the same one (the
    `python3` the user typed), else the one the environment was made from. The hot path needs only
    the standard library, so the environment's site-packages are never needed (-S skips them anyway)."""
    root = _venv_root(python)
    if root is None:
        return python
    runner = sys.executable
    if runner and _venv_root(runner) is None and os.path.realpath(runner) == os.path.realpath(python):
        return runner
    path = os.path.abspath(python)
    for _ in range(8):  # the first link target outside the environment, as venv wrote it (a stable name such
        if not path.startswith(root + os.sep):  # as /opt/homebrew/opt/python@3.12/..., not the Cellar path
            return path                         # that the next upgrade removes)
        if not os.path.islink(path):
            break
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
    try:  # made with --copies: pyvenv.cfg names the base interpreter (Python 3.11+)
        with open(os.path.join(root, "pyvenv.cfg"), encoding="utf-8") as f:
            found = [line.partition("=")[2].strip() for line in f if line.partition("=")[0].strip() == "executable"]
    except OSError:
        found = []
    return found[0] if found and os.path.isfile(found[0]) else python


def boot_args(site_packages: str, mode: str) -> list[str]:
    """The arguments after the interpreter: launch.py through BOOT, in `hook` or `statusline` mode."""
    gone = PLUGIN_GONE if os.path.abspath(site_packages) == plugin_link() else ENV_GONE
    return ["-S", "-c", BOOT % gone, launch_script(site_packages), mode]


def shown(words: list[str]) -> str:
    """A registered command line as doctor prints it: the guard's code as `-c <guard>`."""
    return " ".join("<guard>" if word.startswith(BOOT[:30]) else word for word in words)


def hooks_block(python: str, site_packages: str) -> dict:
    """The `hooks` object for settings.json: exec form, from the one hook spec."""
    return hookspec.hooks_block(command=host_python(python), args=boot_args(site_packages, "hook"))


def quote(arg: str) -> str:
    """Quote for the shell Claude Code runs the statusLine in (sh; cmd-like quoting on Windows)."""
    if os.name == "nt":
        return '"%s"' % arg if (" " in arg or not arg) else arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"  # always quoted, as shlex.quote does when needed


def statusline(python: str, site_packages: str) -> dict:
    """The statusLine object: shell form (the only form the statusLine has), every path quoted."""
    flag_s, flag_c, code, launch, mode = boot_args(site_packages, "statusline")
    command = f"{quote(host_python(python))} {flag_s} {flag_c} {quote(code)} {quote(launch)} {mode}"
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
