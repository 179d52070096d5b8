"""The set-up checks `ccledger doctor` runs: are the hooks and the status line registered, do they
point at files that exist, and do the hooks actually run. Each check says how to fix what it finds.

Settings files looked at: the user settings, every file install.py recorded in its state (project
scopes included), and the plugin route (an enabled `ccledger@...` plugin brings the hooks).
Standard library only.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shlex
import subprocess

from ..base import paths
from ..base.errors import CcledgerError
from ..hooks import spec as hookspec
from . import entries, relocate, settings, state

REINSTALL = "run `python3 install.py` from a ccledger checkout (it replaces only ccledger's own entries)"
PROBE_EVENT = {"hook_event_name": "CcledgerDoctorProbe", "session_id": "ccledger-doctor"}
HOOK_TIMEOUT_S = 5.0


@dataclasses.dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def settings_files() -> list[str]:
    found = [settings.user_settings_path()]
    found += [p for p in state.load()["installs"] if p not in found]
    return found


def _ours(path: str) -> tuple[dict | None, list[dict], str | None]:
    """(the settings, our hook handlers in it, an error reading it)."""
    try:
        data = settings.load(path).data
    except CcledgerError as exc:
        return None, [], str(exc)
    return data, [h for _, _, h in entries.handlers(data.get("hooks")) if entries.is_ours(h)], None


def plugin_launcher() -> tuple[str | None, str | None]:
    """(id of an enabled ccledger plugin, path of its installed launcher) from Claude Code's records."""
    plugin = settings.enabled_plugin(_ours(settings.user_settings_path())[0] or {})
    if not plugin:
        return None, None
    try:
        with open(os.path.join(paths.claude_settings_dir(), "plugins", "installed_plugins.json"), "rb") as f:
            records = json.load(f).get("plugins", {}).get(plugin) or []
        root = records[0]["installPath"]
    except (OSError, ValueError, AttributeError, LookupError, TypeError):
        return plugin, None
    return plugin, os.path.join(root, "scripts", "ccledger_hook.py")


def run_hook(command: str, args: list[str]) -> Check:
    """Run a registered hook with an event it does not know: it must exit 0, quietly and quickly."""
    what = entries.shown([command] + args)
    try:
        done = subprocess.run([command] + args, input=json.dumps(PROBE_EVENT).encode(), capture_output=True,
                              timeout=HOOK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Check("hook runs", False, f"{what} took over {HOOK_TIMEOUT_S:.0f}s", REINSTALL)
    except OSError as exc:
        return Check("hook runs", False, f"{what} cannot start: {exc.strerror or exc}", REINSTALL)
    if done.returncode != 0 or done.stdout.strip():
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        return Check("hook runs", False, f"{what} exited {done.returncode}" + (f": {said[-1]}" if said else ""),
                     REINSTALL)
    return Check("hook runs", True, f"{what} ran cleanly")


def _files_of(handler: dict) -> list[str]:
    """The interpreter and the script a handler of ours names (exec form)."""
    command = handler.get("command")
    files = [command] if isinstance(command, str) else []
    args = handler.get("args") if isinstance(handler.get("args"), list) else []
    files += [a for a in args if isinstance(a, str) and a.replace("\\", "/").endswith(".py")]
    return files


def hook_checks(path: str, data: dict, handlers: list[dict]) -> list[Check]:
    events = {e for e, _, h in entries.handlers(data.get("hooks")) if entries.is_ours(h)}
    missing = sorted(set(hookspec.EVENTS) - events)
    checks = [Check("hooks registered", not missing, f"{len(events)} events in {path}" +
                    (f"; missing: {', '.join(missing)}" if missing else ""), None if not missing else REINSTALL)]
    gone = sorted({f for h in handlers for f in _files_of(h) if not os.path.exists(f)})
    checks.append(Check("hook files", not gone, "missing: " + ", ".join(gone) if gone else
                        "interpreter and launch.py exist", REINSTALL if gone else None))
    seen = set()
    for h in handlers:
        key = (h.get("command"), tuple(h.get("args") or ()))
        if key not in seen and not gone:
            seen.add(key)
            checks.append(run_hook(h["command"], list(h.get("args") or [])))
    return checks


def statusline_check(path: str, data: dict) -> Check:
    line = data.get("statusLine")
    if entries.is_ours(line):
        return Check("status line", True, f"registered in {path}")
    fix = "run `python3 install.py` (or /ccledger:statusline with the plugin); your own line is kept and chained"
    if line is None:
        return Check("status line", False, f"not registered in {path}", fix)
    return Check("status line", False, f"{path} runs another status line: {json.dumps(line)[:80]}", fix)


def _statusline_files(line: dict) -> list[str]:
    """The interpreter and script a statusLine of ours names (its command is shell form)."""
    try:
        words = shlex.split(line.get("command", "")) if os.name != "nt" else line.get("command", "").split('"')
    except ValueError:
        return []
    return [w for i, w in enumerate(words) if w.strip() and (i == 0 or w.endswith(".py"))]


def plugin_check(plugin: str, launcher: str | None) -> Check:
    """The plugin's launcher must find the package (the checkout it lives in, or install.py's venv)."""
    fix = "run `python3 install.py --env-only` from a ccledger checkout, then restart Claude Code"
    if not launcher or not os.path.isfile(launcher):
        return Check("plugin", False, f"{plugin} is enabled but its files are not where Claude Code recorded "
                     "them", "run `claude plugin install " + plugin + "` again")
    spec = importlib.util.spec_from_file_location("_ccledger_plugin_launcher", launcher)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        root = module.locate()
    except Exception as exc:  # noqa: BLE001 - whatever the installed copy does, report it
        return Check("plugin", False, f"{launcher} fails: {exc}", fix)
    if root is None:
        return Check("plugin", False, f"{plugin} is enabled but the ccledger package is not installed, so "
                     "nothing is recorded", fix)
    return Check("plugin", True, f"{plugin} hooks use the package in {root}")


def setup_checks() -> list[Check]:
    """Every set-up check, in the order a user would fix them."""
    checks: list[Check] = []
    plugin, launcher = plugin_launcher()
    hooks_found = statusline_found = False
    user_path = settings.user_settings_path()
    for path in settings_files():
        data, handlers, error = _ours(path)
        if error:
            checks.append(Check("settings", False, error, "fix the file; ccledger edits only a valid JSON object"))
            continue
        moved = relocate.stale(data)
        if moved:
            checks.append(Check("moved files", False, f"{len(moved)} path(s) in {path} name a file this version "
                                f"moved ({', '.join(sorted(moved))})", "run `ccledger doctor --fix` (rewrites them "
                                "in place, with a backup) or `python3 install.py`"))
        if handlers:
            hooks_found = True
            checks += hook_checks(path, data, handlers)
        if entries.is_ours(data.get("statusLine")):
            statusline_found = True
            gone = [f for f in _statusline_files(data["statusLine"]) if not os.path.exists(f)]
            checks.append(Check("status line", not gone, f"registered in {path}" +
                                (f"; missing: {', '.join(gone)}" if gone else ""), REINSTALL if gone else None))
    if plugin:
        checks.append(plugin_check(plugin, launcher))
        if hooks_found:
            checks.append(Check("hooks once", False, f"both {plugin} and settings.json register ccledger's hooks, "
                                "so every event runs twice", "keep one: `python3 install.py --uninstall` then "
                                "/ccledger:statusline, or `claude plugin uninstall " + plugin + "`"))
    elif not hooks_found:
        checks.append(Check("hooks registered", False, f"no ccledger hooks in {user_path} and no ccledger plugin "
                            "enabled: nothing is recorded while Claude Code runs", REINSTALL))
    if not statusline_found:
        checks.append(statusline_check(user_path, _ours(user_path)[0] or {}))
    return checks
