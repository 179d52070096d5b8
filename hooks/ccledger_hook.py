#!/usr/bin/env python3
"""What Claude Code runs for each of the plugin's hook events (and, with `statusline`, for a status line).

It finds the ccledger package and hands over to it: the plugin's own copy (plugin/ccledger, which
Claude Code copies into its plugin cache with the rest of the plugin), or the checkout this file lives
in (a directory marketplace, --plugin-dir, hooks wired by hand), else the environment install.py made
in ccledger's data folder. The hot path needs only the standard library, so the system python3 runs
it (3.10 or newer; an older one is named once, at SessionStart, and every other event stays silent).

Modes (the first argument):
  hook (default)        record the event on stdin (ccledger.hooks.entry)
  statusline            render the status line (ccledger.statusline.entry)
  setup-env             the async SessionStart handler: set up the environment the `ccledger` command
                        runs from, in the background, once per copy of the package (install.plugin_env)
  build-env ROOT SID    that background build itself (started by setup-env)
  statusline-setup ...  /ccledger:statusline: the installer, status line only, run from this copy
  cli ARGS              /ccledger:usage and /ccledger:tools: `ccledger ARGS` from that environment
Run with `python3 -S` for a fast start. Kept parseable by old Pythons, so that they can say so.
"""
import os
import sys

NOT_INSTALLED = ("ccledger is enabled but its package is not installed, so this session is not recorded. "
                 "From a ccledger checkout run `python3 install.py --env-only` (the plugin brings the hooks), "
                 "then restart Claude Code.")
TOO_OLD = ("ccledger needs Python 3.10 or newer to record this session; `python3` here is %d.%d (%s). "
           "Install a newer Python 3 and put it first on the PATH, then restart Claude Code.")


def _data_dir():
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


def locate():
    """The folder to put on sys.path so that `import ccledger` finds the package (None: nowhere)."""
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


def venv_python():
    venv = os.path.join(_data_dir(), "venv")
    return os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")


def silent(which, message, line):
    """No package to run (or one this Python cannot run): SessionStart says `message`, once per session,
    and so do the slash commands; the status line says `line`; every other event reads its payload and
    stays silent."""
    data = sys.stdin.read() if which in ("hook", "setup-env") else ""
    if which == "statusline":
        print(line)
    elif which in ("cli", "statusline-setup"):
        print(message)
    elif which == "hook" and '"SessionStart"' in data:
        sys.stdout.write('{"systemMessage": "%s"}' % message.replace("\\", "\\\\").replace('"', '\\"'))
    return 0


def run_cli(root, args):
    """`cli` mode: `ccledger ARGS` in the environment the plugin set up (exec, so its output is ours)."""
    python = venv_python()
    if not os.path.isfile(python):
        if root is None:
            print(NOT_INSTALLED.replace("this session is not recorded", "this command cannot run"))
        else:
            sys.path.insert(0, root)
            from ccledger.install import plugin_env
            print(plugin_env.cli_status())
        return 0
    command = [python, "-m", "ccledger.cli.main"] + args
    os.environ.setdefault("COLUMNS", "120")  # tables for a chat, not an 80-column pipe
    sys.stdout.flush()
    if os.name == "nt":
        import subprocess
        return subprocess.call(command)
    os.execv(python, command)
    return 1


def setup_env(root):
    """The async SessionStart handler: never a word on stdout (it would reach the model); faults to errors.log."""
    sys.path.insert(0, root)
    from ccledger.base import errlog, fastjson
    try:
        payload = fastjson.loads(sys.stdin.buffer.read() or b"{}")
        session = payload.get("session_id") if isinstance(payload, dict) else None
        from ccledger.install import plugin_env
        plugin_env.session_start(root, session if isinstance(session, str) else None, os.path.abspath(__file__))
    except BaseException as exc:  # noqa: BLE001 - a hook never breaks the session
        errlog.record("plugin", exc)
    return 0


def statusline_setup(root, args):
    """/ccledger:statusline: the installer (standard library) from this copy, status line only, registering
    this python3 with the data folder's link to the plugin's folder (kept current at each session start)."""
    sys.path.insert(0, root)
    from ccledger.install import cli, entries, plugin_env
    plugin_env.link(root)
    return cli.main(["--statusline-only", "--python", sys.executable, "--site-packages", entries.plugin_link()]
                    + args, prog="/ccledger:statusline")


def main(which, args=()):
    if sys.version_info < (3, 10):
        return silent(which, TOO_OLD % (sys.version_info[0], sys.version_info[1], sys.executable),
                      "ccledger: needs Python 3.10+ (python3 is %d.%d)" % sys.version_info[:2])
    root = locate()
    if which == "cli":
        return run_cli(root, list(args))
    if root is None:
        return silent(which, NOT_INSTALLED, "ccledger: not installed (run python3 install.py)")
    if which == "setup-env":
        return setup_env(root)
    if which == "build-env":
        sys.path.insert(0, root)
        from ccledger.install import plugin_env
        return plugin_env.build(args[0], args[1] or None)
    if which == "statusline-setup":
        return statusline_setup(root, list(args))
    sys.path.insert(0, root)
    if which == "statusline":
        from ccledger.statusline.entry import main as entry
    else:
        from ccledger.hooks.entry import main as entry
    return entry([])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "hook", sys.argv[2:]))
