"""What install.py remembers about each settings file it edited: `<state dir>/install.json`.

The format is a contract with the status line, which runs the `saved_statusline` of the entry
for the settings file it was started from (the user's own status line, chained beside ours):

    {"version": 1,
     "installs": {"<absolute settings path>": {
         "saved_statusline": <the user's original statusLine object, or null>,
         "backup": "<path of the pristine copy, or null when there was no file>",
         "written_sha256": "<sha256 of the bytes install.py wrote>",
         "scope": "user" | "project",
         "installed_at": "<ISO 8601 time>"}},
     "package": {"venv": "<the environment install.py made>", "version": "0.1.0",
                 "source_sha256": "<sha256 of the build inputs pip installed>", "installed_at": "..."},
     "link": "<the command ~/.local/bin/ccledger was made to point at, or absent>"}

`package` lets a re-run skip pip when the checkout has not changed since it was installed; `link`
lets uninstall remove only a link it made (never one pipx made).

Reading is lenient (a broken file counts as empty, with a warning); a newer version is refused
so that an older installer never rewrites what it does not understand. Standard library only.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os

from ..base import paths
from ..base.errors import CcledgerError
from . import atomic

VERSION = 1
FILENAME = "install.json"


def state_path() -> str:
    return os.path.join(paths.state_dir(), FILENAME)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def load() -> dict:
    """The whole state; an empty one when the file is missing or unreadable."""
    try:
        with open(state_path(), "rb") as f:
            state = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return {"version": VERSION, "installs": {}}
    except (OSError, ValueError):
        return {"version": VERSION, "installs": {}, "unreadable": True}
    if not isinstance(state, dict) or not isinstance(state.get("installs"), dict):
        return {"version": VERSION, "installs": {}, "unreadable": True}
    if isinstance(state.get("version"), int) and state["version"] > VERSION:
        raise CcledgerError(f"{state_path()} was written by a newer ccledger (format {state['version']}); "
                            "run that version's installer")
    return state


def entry(state: dict, settings_path: str) -> dict | None:
    found = state["installs"].get(os.path.abspath(settings_path))
    return found if isinstance(found, dict) else None


def put(state: dict, settings_path: str, *, saved_statusline: object, backup: str | None,
        written: bytes, scope: str) -> None:
    state["installs"][os.path.abspath(settings_path)] = {
        "saved_statusline": saved_statusline,
        "backup": backup,
        "written_sha256": sha256(written),
        "scope": scope,
        "installed_at": now_iso(),
    }


def drop(state: dict, settings_path: str) -> None:
    state["installs"].pop(os.path.abspath(settings_path), None)


def package(state: dict, venv: str) -> dict | None:
    """What was pip installed into `venv` last time, if this state recorded it."""
    found = state.get("package")
    return found if isinstance(found, dict) and found.get("venv") == os.path.abspath(venv) else None


def put_package(state: dict, venv: str, version: str | None, source_sha256: str) -> None:
    state["package"] = {"venv": os.path.abspath(venv), "version": version, "source_sha256": source_sha256,
                        "installed_at": now_iso()}


def save(state: dict) -> None:
    body = {"version": VERSION, "installs": state["installs"]}
    body.update({k: state[k] for k in ("package", "link") if state.get(k) is not None})
    paths.ensure_dir(paths.state_dir())
    atomic.write(state_path(), (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), 0o600)
