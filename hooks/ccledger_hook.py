#!/usr/bin/env python3
"""What Claude Code runs for each hook event (and, with `statusline`, for the status line).

It finds the ccledger package and hands over: a checkout this file lives in
(`--plugin-dir`, or hooks wired by hand), else the environment `install.py`
made in ccledger's data folder. If neither exists, SessionStart tells the
user, once per session, how to install it; every other event stays silent.

The plugin's slash commands use two more modes, which run the installed
environment's own interpreter (the CLI needs its dependencies):
`cli ARGS` runs `ccledger ARGS`, and `setup ARGS` runs the installer
(`python -m ccledger.install ARGS`).
Standard library only; run with `python3 -S` for a fast start.
"""
import os
import sys

NOT_INSTALLED = ("ccledger is enabled but its package is not installed, so this session is not recorded. "
                 "From a ccledger checkout run `python3 install.py --env-only` (the plugin brings the hooks), "
                 "then restart Claude Code.")


def _data_dir() -> str:
    """ccledger.base.paths.data_dir(), which cannot be imported before the package is found."""
    if os.environ.get("CCLEDGER_HOME"):
        return os.path.abspath(os.path.expanduser(os.environ["CCLEDGER_HOME"]))
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "ccledger")
    if os.name == "nt":
        return os.path.join(os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local"), "ccledger")
    return os.path.join(os.environ.get("XDG_DATA_HOME", "").strip() or os.path.join(home, ".local", "share"),
                        "ccledger")


def locate() -> str | None:
    """The folder to put on sys.path so that `import ccledger` finds the package."""
    marker = os.path.join("ccledger", "launch.py")
    here = os.path.dirname(os.path.realpath(__file__))
    for candidate in (os.path.dirname(here), os.path.dirname(os.path.dirname(here))):
        if os.path.isfile(os.path.join(candidate, marker)):
            return candidate
    venv = os.path.join(_data_dir(), "venv")
    found = [os.path.join(venv, "Lib", "site-packages")]
    try:
        found += [os.path.join(venv, "lib", v, "site-packages") for v in sorted(os.listdir(os.path.join(venv, "lib")))]
    except OSError:
        pass
    for candidate in found:
        if os.path.isfile(os.path.join(candidate, marker)):
            return candidate
    return None


def venv_python() -> str:
    venv = os.path.join(_data_dir(), "venv")
    return os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")


def run_installed(which: str, args: list) -> int:
    """`cli`/`setup` modes: hand over to the installed environment (exec, so its output is ours)."""
    python = venv_python()
    if not os.path.isfile(python):
        print(NOT_INSTALLED.replace("this session is not recorded", "this command cannot run"))
        return 0
    command = [python, "-m", "ccledger.install" if which == "setup" else "ccledger.cli.main"] + args
    os.environ.setdefault("COLUMNS", "120")  # tables for a chat, not an 80-column pipe
    sys.stdout.flush()
    if os.name == "nt":
        import subprocess
        return subprocess.call(command)
    os.execv(python, command)
    return 1


def main(which: str) -> int:
    root = locate()
    if root is None:
        data = sys.stdin.read() if which == "hook" else ""
        if which == "statusline":
            print("ccledger: not installed (run python3 install.py)")
        elif '"SessionStart"' in data:
            sys.stdout.write('{"systemMessage": "%s"}' % NOT_INSTALLED)
        return 0
    sys.path.insert(0, root)
    if which == "statusline":
        from ccledger.statusline.entry import main as entry
    else:
        from ccledger.hooks.entry import main as entry
    return entry([])


if __name__ == "__main__":
    if sys.argv[1:2] in (["cli"], ["setup"]):
        sys.exit(run_installed(sys.argv[1], sys.argv[2:]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "hook"))
