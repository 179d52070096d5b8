"""The user's config.toml as the hot path sees it: parsed once per change, then read from a JSON cache.

Parsing TOML costs more than a status line render may spend, so the parsed
file is cached in state/config.json keyed by the file's size and mtime. A file
that does not parse is logged once and treated as empty (no budgets, default
status line): a broken config never breaks a session. The CLI validates it
properly (`ccledger config check`).
"""
from __future__ import annotations

import os
import sys

from . import errlog, fastjson, paths


def _cache_path() -> str:
    return os.path.join(paths.state_dir(), "config.json")


def _parse(path: str) -> tuple[dict, str | None]:
    try:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        with open(path, "rb") as handle:
            value = tomllib.load(handle)
        return value, None
    except Exception as exc:  # noqa: BLE001 - any failure means "no config", logged
        return {}, f"{type(exc).__name__}: {exc}"


def write_atomic(path: str, text: str) -> None:
    paths.ensure_dir(os.path.dirname(path))
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load() -> dict:
    """The config as a dict ({} when absent or broken)."""
    path = paths.config_path()
    try:
        st = os.stat(path)
    except OSError:
        return {}
    stamp = [st.st_size, st.st_mtime_ns]
    try:
        with open(_cache_path(), "rb") as handle:
            cached = fastjson.loads(handle.read())
        if type(cached) is dict and cached.get("stamp") == stamp and cached.get("path") == path:
            return cached.get("config") or {}
    except (OSError, ValueError):
        pass
    config, error = _parse(path)
    if error:
        errlog.record("config", f"{path} could not be read ({error}); using defaults: no budgets", False)
    try:
        write_atomic(_cache_path(), fastjson.dumps({"path": path, "stamp": stamp, "config": config, "error": error}))
    except (OSError, TypeError, ValueError):  # e.g. a TOML date, which JSON cannot hold: parse again next time
        pass
    return config


def has_budgets(config: dict) -> bool:
    """Whether any budget is configured: without one, the hot path never imports the budgets module."""
    return bool(config.get("budgets") or config.get("projects"))


def note_once(key: str, message: str) -> None:
    """Log a problem with the config once per version of the file, not on every hook call."""
    try:
        with open(_cache_path(), "rb") as handle:
            cached = fastjson.loads(handle.read())
    except (OSError, ValueError):
        cached = None
    if type(cached) is not dict:
        errlog.record("config", message, False)
        return
    noted = cached.setdefault("noted", [])
    if key in noted:
        return
    errlog.record("config", message, False)
    noted.append(key)
    try:
        write_atomic(_cache_path(), fastjson.dumps(cached))
    except (OSError, TypeError, ValueError):
        pass
