"""The user's config.toml as the hot path sees it: parsed once per change, then read from a JSON cache.

Parsing TOML costs more than a status line render may spend, so the parsed
file is cached in state/config.json keyed by the file's size and mtime. A file
that does not parse is logged once and treated as empty (no budgets, default
status line, which ends with a warning): a broken config never breaks a session.
A bad [statusline] key costs only that key, named the same way. Every reader of
the file, hot or CLI, reads it through `read_text`, so its problems are worded
once. The CLI validates it properly (`ccledger config check`).
"""
from __future__ import annotations

import os
import sys

from ..base import errlog, fastjson, paths
from . import statusline_keys


def _cache_path() -> str:
    return os.path.join(paths.state_dir(), "config.json")


class FileProblem(ValueError):
    """config.toml cannot be used at all; `what` says why in a few words (never the file's bytes)."""

    def __init__(self, path: str, what: str, line: int | None = None) -> None:
        super().__init__(f"{path}: {what}")
        self.path, self.what, self.line = path, what, line


def read_text(path: str) -> str:
    """The config file's text, for every reader of it (hot path and CLI alike), so that a file that cannot be
    read is named the same way everywhere: FileNotFoundError passes through; any other problem is a
    FileProblem naming the cause and, for bytes that are not UTF-8, their offset and line."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise FileProblem(path, f"cannot read it ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(path, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                                f"(line {line}): {exc.reason}; save the file as UTF-8", line) from None


def parse(path: str) -> dict:
    """The TOML document ({} when there is no file); FileProblem for a file that cannot be read or parsed."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        return {}  # before importing tomllib: it costs a report ~3 ms
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        import re
        found = re.search(r"at line (\d+)", str(exc))
        raise FileProblem(path, str(exc), int(found.group(1)) if found else None) from None


def load_strict(path: str | None = None) -> dict:
    """The parsed file for the CLI, {} when there is none; a broken file is a one-line CcledgerError."""
    from ..base.errors import CcledgerError
    try:
        return parse(path or paths.config_path())
    except FileProblem as exc:
        raise CcledgerError(str(exc)) from None


def _parse(path: str) -> tuple[dict, str | None, int | None]:
    """(the document, why it could not be used, the line that says so): the hot path's never-raising parse."""
    try:
        return parse(path), None, None
    except FileProblem as exc:
        return {}, str(exc), exc.line
    except Exception as exc:  # noqa: BLE001 - any failure means "no config", logged
        return {}, f"{path}: {type(exc).__name__}: {exc}", None


def stamp() -> list | None:
    """Which version of config.toml this is (size, mtime): None when there is none. A gate file records the
    version it was measured under, so a changed config takes effect at the next hook."""
    try:
        st = os.stat(paths.config_path())
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def load() -> dict:
    """The config as a dict ({} when absent or broken)."""
    return load_checked()[0]


def load_checked() -> tuple[dict, str | None, int | None]:
    """(the config as a dict, why the file could not be used or None, the line at fault if known): {} and the
    reason when it is broken."""
    path = paths.config_path()
    version = stamp()
    if version is None:
        return {}, None, None
    try:
        with open(_cache_path(), "rb") as handle:
            cached = fastjson.loads(handle.read())
        if type(cached) is dict and cached.get("stamp") == version and cached.get("path") == path:
            return cached.get("config") or {}, cached.get("error"), cached.get("line")
    except (OSError, ValueError):
        pass
    config, error, line = _parse(path)
    if error:
        errlog.record("config", f"{error}; the file could not be read, so until it is fixed the defaults "
                                "apply (no budgets, the default status line)", False)
    try:
        paths.write_atomic(_cache_path(), fastjson.dumps({"path": path, "stamp": version, "config": config,
                                                          "error": error, "line": line}))
    except (OSError, TypeError, ValueError):  # e.g. a TOML date, which JSON cannot hold: parse again next time
        pass
    return config, error, line


def statusline(config: dict, error: str | None, line: int | None = None) -> tuple[dict, str | None]:
    """The [statusline] table with each invalid key at its default, and the short warning the line ends with:
    a mistake costs its own key only, and is named (in the line, and once in errors.log)."""
    table, bad = statusline_keys.checked(config.get("statusline", {}))
    if bad:
        note_once("statusline:" + ",".join(bad), f"{paths.config_path()}: invalid value for {', '.join(bad)}; the "
                                                  "status line uses the default there (`ccledger config check` says why)")
    if error:  # the defaults apply, so no budget is in force: the line says so, and where the mistake is
        return table, "⚠ budgets off: config.toml " + (f"line {line}" if line else "invalid")
    if not bad:
        return table, None
    return table, f"⚠ config: {bad[0]}" + (f" +{len(bad) - 1}" if len(bad) > 1 else "")


def has_budgets(config: dict) -> bool:
    """Whether any budget is configured: without one, the hot path never imports the budgets module."""
    return bool(config.get("budgets") or config.get("projects"))


def stores_descriptions() -> bool:
    """`[privacy] store_descriptions = true`: the user agreed to keep subagent descriptions (tool input text)."""
    privacy = load().get("privacy")
    return type(privacy) is dict and privacy.get("store_descriptions") is True


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
        paths.write_atomic(_cache_path(), fastjson.dumps(cached))
    except (OSError, TypeError, ValueError):
        pass
