"""The plugin sets up the `ccledger` command itself, in the background, at the start of a session.

The plugin's hooks (and a status line added by /ccledger:statusline) need only the standard library:
they run the plugin's own copy of the package (plugin/ccledger) with the system python3, from the first
session on. The `ccledger` command needs its dependencies (pydantic, rich ...), so it runs from the
environment install.py makes in ccledger's data folder. So that `/plugin install` is the whole set-up,
the plugin's async SessionStart handler (hooks.spec.PLUGIN_SETUP) calls `session_start`: when that
environment does not hold this copy of the package (first use, or a plugin update), it starts `build`
(the installer's env-only step) in a process of its own and queues one line for the user, which the
session's next synchronous hook shows (budgets.gate's queue: an async hook's own output reaches the
model, not the user).

One build at a time, announced once: session_start takes the build lock and hands it to the build
process (an inherited flock), so a session starting meanwhile finds it held and says nothing. A build
that failed (offline, no venv module) is tried again at a session start RETRY_S later, or at once for
another copy of the package, not at every session start. Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

from ..base import errlog, locks, paths
from ..budgets import gate
from . import entries, environment, installer

RETRY_S = 3600
NOTICE_KEY = "plugin-env"  # the queue's limit key: no budget decision ever carries it


def lock_path() -> str:
    return os.path.join(paths.lock_dir(), "plugin-env.lock")


def state_path() -> str:
    return os.path.join(paths.state_dir(), "plugin-env.json")


def log_path() -> str:
    return os.path.join(paths.log_dir(), "install.log")


def link(root: str) -> None:
    """Point entries.plugin_link() at `root`, the plugin's folder of this session (it changes with every
    plugin update), so that a status line added by /ccledger:statusline runs the same copy as the hooks."""
    target = entries.plugin_link()
    try:
        if os.readlink(target) == root:
            return
    except OSError:
        pass
    paths.ensure_dir(os.path.dirname(target))
    tmp = f"{target}.{os.getpid()}.tmp"
    os.symlink(root, tmp)
    try:
        os.replace(tmp, target)  # a folder the user put there is left alone (IsADirectoryError)
    except OSError:
        os.unlink(tmp)
        raise


def _last_failure() -> dict:
    try:
        with open(state_path(), "rb") as f:
            found = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def code_hash(folder: str) -> str:
    """sha256 over the Python files of the `ccledger` package in `folder` (names and bytes): what pip copies
    into site-packages byte for byte, so a checkout, the plugin's copy and an environment built from either
    compare equal when they hold the same code, whichever route built it."""
    top = os.path.join(folder, "ccledger")
    digest = hashlib.sha256()
    for parent, dirs, files in os.walk(top):  # `top` may be a link (plugin/ccledger in a checkout)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(parent, name)
            with open(path, "rb") as f:
                digest.update(os.path.relpath(path, top).replace(os.sep, "/").encode() + b"\0" +
                              hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def needed(root: str) -> bool:
    """Should the environment be built from this copy? Not when it runs and holds the same code already,
    nor shortly after a build of this same code failed."""
    mine = code_hash(root)
    env = environment.existing(paths.venv_dir())
    if env is not None and code_hash(env.site_packages) == mine:
        return False
    failed = _last_failure()
    recent = time.time() - float(failed.get("failed_at") or 0) < RETRY_S
    return not (recent and failed.get("code_sha256") == mine)


def building() -> bool:
    """Is a build running (its process holds the build lock)?"""
    try:
        locks.FileLock(lock_path(), 0).__enter__().__exit__()
    except locks.LockTimeout:
        return True
    return False


def notice() -> str:
    return (f"ccledger: this session is recorded. The `ccledger` command (reports, doctor) is being set up "
            f"once, in the background, in {paths.venv_dir()} (about a minute; log: {log_path()}).")


def session_start(root: str, session: str | None, launcher: str) -> bool:
    """The plugin's SessionStart set-up: keep the link current, and start the build when it is needed and
    none is running. True when a build was started (and announced to `session`)."""
    try:
        link(root)
    except OSError as exc:  # the status line says its one line; the set-up goes on
        errlog.record("plugin", f"cannot point {entries.plugin_link()} at {root}: {exc}", False)
    if not needed(root):
        return False
    try:
        lock = locks.FileLock(lock_path(), 0).__enter__()
    except locks.LockTimeout:
        return False  # a build is running: it was announced when it started
    try:
        paths.ensure_dir(paths.log_dir())
        log = os.open(log_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # A process of its own (new session, no pipe of Claude Code's): it outlives this hook and the
            # session, and holds the lock (the inherited descriptor) until it ends.
            subprocess.Popen([sys.executable, "-S", launcher, "build-env", root, session or ""],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(lock.fd,),
                             start_new_session=True)
        finally:
            os.close(log)
    except BaseException:
        lock.__exit__()
        raise
    os.close(lock.fd)  # without unlocking: the build's copy of the descriptor keeps it
    if session:
        gate.queue(session, [(NOTICE_KEY, notice())], False)
    return True


def build(root: str, session: str | None) -> int:
    """The background build (stdout and stderr are install.log): the installer's env-only step from the
    plugin's folder. A failure is remembered, so it is not tried again at once, and told to the session."""
    print(f"\n==== the ccledger plugin sets up the `ccledger` command from {root} "
          f"at {time.strftime('%Y-%m-%dT%H:%M:%S')}", flush=True)
    try:
        installer.install(installer.Options(checkout=root, env_only=True, yes=True))
    except Exception as exc:  # noqa: BLE001 - whatever stops it is remembered and told, not left to a traceback
        print(f"failed: {exc}", flush=True)
        paths.write_atomic(state_path(), json.dumps({"code_sha256": code_hash(root),
                                                     "failed_at": time.time(), "error": str(exc)}))
        if session:
            gate.queue(session, [(NOTICE_KEY, f"ccledger: setting up the `ccledger` command failed: {exc}. "
                                  f"Recording is not affected; it is tried again at a session start in an hour "
                                  f"(log: {log_path()}).")], False)
        return 1
    try:
        os.remove(state_path())
    except OSError:
        pass
    return 0


def cli_status() -> str:
    """Why the `ccledger` command cannot run yet, and what happens next (for the plugin's slash commands)."""
    if building():
        return (f"The `ccledger` command is being set up in the background (log: {log_path()}); "
                "try again in a minute.")
    failed = _last_failure()
    if failed.get("error"):
        return (f"Setting up the `ccledger` command failed: {failed['error']}. It is tried again at a session "
                f"start in an hour (log: {log_path()}).")
    return ("The `ccledger` command is not set up yet: the plugin sets it up in the background when a session "
            "starts (restart Claude Code).")
