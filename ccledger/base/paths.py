"""Every path ccledger reads or writes, resolved in one place.

`CCLEDGER_HOME` moves all of ccledger's own state (ledger, config, logs, spool)
under one folder, for tests and for users who want that. Without it the
locations are platformdirs' user dirs for the app "ccledger"; they are computed
here with the stdlib because the hot path may not import platformdirs, and a
test checks that both agree.

Claude Code's own files: `CLAUDE_CONFIG_DIR` (a comma-separated list is
allowed), else `~/.config/claude` and `~/.claude`, whichever exist.
Getters never create folders; `ensure_dir` does, with mode 0700 (files are created 0600).
"""
from __future__ import annotations

import os
import sys

APP = "ccledger"


def _home() -> str | None:
    value = os.environ.get("CCLEDGER_HOME")
    return os.path.abspath(os.path.expanduser(value)) if value else None


def _platform_dir(kind: str) -> str:
    """platformdirs' user_{data,config,log}_dir(APP, appauthor=False) for this OS."""
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        if kind == "log":
            return os.path.join(home, "Library", "Logs", APP)
        if kind == "config":
            return os.path.join(home, "Library", "Application Support", APP)
        return os.path.join(home, "Library", "Application Support", APP)
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        path = os.path.join(base, APP)
        return os.path.join(path, "Logs") if kind == "log" else path
    xdg = {"data": ("XDG_DATA_HOME", ".local/share"), "config": ("XDG_CONFIG_HOME", ".config"),
           "log": ("XDG_STATE_HOME", ".local/state")}[kind]
    base = os.environ.get(xdg[0], "").strip() or os.path.join(home, xdg[1])
    path = os.path.join(base, APP)
    return os.path.join(path, "log") if kind == "log" else path


def data_dir() -> str:
    return _home() or _platform_dir("data")


def config_dir() -> str:
    return _home() or _platform_dir("config")


def log_dir() -> str:
    home = _home()
    return os.path.join(home, "logs") if home else _platform_dir("log")


def ledger_path() -> str:
    return os.path.join(data_dir(), "ledger.db")


def config_path() -> str:
    return os.path.join(config_dir(), "config.toml")


def error_log_path() -> str:
    return os.path.join(log_dir(), "errors.log")


def spool_dir() -> str:
    return os.path.join(data_dir(), "spool")


def lock_dir() -> str:
    return os.path.join(data_dir(), "locks")


def state_dir() -> str:
    """Small precomputed files the gating hooks read instead of opening SQLite."""
    return os.path.join(data_dir(), "state")


def venv_dir() -> str:
    return os.path.join(data_dir(), "venv")


def session_state(folder: str, session: str, suffix: str = "") -> str:
    """state/<folder>/<session><suffix>, the session id made safe as a file name (Claude Code's are UUIDs;
    anything else must not escape the folder, nor exceed the 255 bytes a file name may hold)."""
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in session)
    if len(name.encode("utf-8")) > 128:
        import binascii  # only for overlong ids: a quarter of a millisecond off every hook and render
        name = "%s-%08x" % (name[:32], binascii.crc32(session.encode("utf-8", "surrogatepass")))
    return os.path.join(state_dir(), folder, name + suffix)


def ensure_dir(path: str) -> str:
    """Create `path` and every missing parent 0700 (os.makedirs gives parents 0777 minus the umask; the XDG
    spec asks for 0700 too): what ccledger writes is the user's alone."""
    if not os.path.isdir(path):
        parent = os.path.dirname(path)
        if parent and parent != path:
            ensure_dir(parent)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path):
                raise
    return path


def claude_dirs() -> list[str]:
    """Claude Code config folders that hold a `projects/` folder, deduplicated, in order."""
    seen: list[str] = []
    for path in claude_dir_candidates():
        real = os.path.realpath(path)
        if os.path.isdir(os.path.join(path, "projects")) and real not in seen:
            seen.append(real)
    return seen


def claude_dir_candidates() -> list[str]:
    """Every folder looked at for Claude Code's data (`CLAUDE_CONFIG_DIR`'s entries, else the two defaults),
    found or not: what a "no data folder" error lists."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        candidates = []
        for part in env.split(","):
            part = os.path.abspath(os.path.expanduser(part.strip()))
            if part and os.path.basename(part) == "projects":
                part = os.path.dirname(part)
            if part:
                candidates.append(part)
    else:
        home = os.path.expanduser("~")
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.join(home, ".config")
        candidates = [os.path.join(xdg, "claude"), os.path.join(home, ".claude")]
    return candidates


def claude_settings_dir() -> str:
    """Where Claude Code keeps user settings: first CLAUDE_CONFIG_DIR entry, else ~/.claude."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return os.path.abspath(os.path.expanduser(env.split(",")[0].strip()))
    return os.path.join(os.path.expanduser("~"), ".claude")


def write_atomic(path: str, text: str) -> None:
    """Replace a private (0600) file whole: a reader sees the old or the new contents, never half."""
    ensure_dir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def completion_files(home: str) -> dict[str, str]:
    """Where each shell looks for a user's completions without any set-up (zsh: once its folder is in fpath);
    `ccledger completion --install` writes them, uninstall removes them."""
    data = os.path.join(home, ".local", "share")
    return {"bash": os.path.join(data, "bash-completion", "completions", "ccledger"),
            "zsh": os.path.join(data, "zsh", "site-functions", "_ccledger"),
            "fish": os.path.join(home, ".config", "fish", "completions", "ccledger.fish")}


def remove_completion_files(home: str) -> list[str]:
    """Take back what `ccledger completion --install` wrote; returns the paths removed."""
    removed = []
    for path in completion_files(home).values():
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed
