"""Undo an install: remove only our entries, give the user's statusLine back, and leave the file
byte for byte as it was before the install when nothing else changed since.

"Nothing else changed" is decided on content, not on a hash: the file without our entries must
equal the backup, key order included. (A hash of what we wrote is not enough: after a second
install over a file the user had edited in between, it matches, yet the backup is older than
the user's edit.) When it differs, our entries are removed structurally and the user is told.
Standard library only.
"""
from __future__ import annotations

import json
import os

from ..base import paths
from ..base.errors import OK, CcledgerError
from . import atomic, installer, pathlink, settings, state
from .installer import Options, say


def _backup_data(backup: str | None) -> tuple[bytes, object] | None:
    if not backup:
        return None
    try:
        with open(backup, "rb") as f:
            raw = f.read()
        return raw, (json.loads(raw.decode("utf-8-sig")) if raw.strip() else {})
    except (OSError, ValueError):
        return None


def _outcome(loaded: settings.Loaded, entry: dict | None, stripped: settings.Stripped) -> tuple[bytes | None, str]:
    """(the bytes to write, or None to delete the file; how the result was reached)."""
    if entry is not None:
        found = _backup_data(entry.get("backup"))
        if found is not None and settings.same(found[1], stripped.data):
            return found[0], "restored exactly as it was before the install"
        if entry.get("backup") is None and stripped.data == {}:
            return None, "the file did not exist before the install, so it was deleted"
    changed = entry is not None and state.sha256(loaded.raw) != entry.get("written_sha256")
    why = "it changed since the install, so " if changed else ""
    return settings.render(stripped.data, loaded), why + "only ccledger's entries were removed"


def uninstall(opts: Options) -> int:
    path = installer.settings_path(opts)
    loaded = settings.load(path)
    st = state.load()
    entry = state.entry(st, loaded.path)
    stripped = settings.strip(loaded.data, entry.get("saved_statusline") if entry else None)
    ours = stripped.removed_handlers or stripped.statusline in ("restored", "removed")
    if not ours:
        if entry is not None and not opts.dry_run:
            state.drop(st, loaded.path)
            state.save(st)
        say(f"ccledger is not installed in {loaded.path}; nothing to do.")
        return OK
    data, how = _outcome(loaded, entry, stripped)
    if opts.dry_run:
        say(settings.diff(loaded.raw, data or b"", loaded.path).rstrip("\n"))
        say(f"(dry run: nothing was written; the outcome would be: {how})")
        return OK
    if not installer.confirm(f"Remove ccledger's entries from {loaded.path}?", opts):
        say("Nothing was changed.")
        return OK
    with installer.locked():
        _apply(loaded, data)
        _finish(opts, state.load(), loaded, entry, data, how, stripped)
    return OK


def _apply(loaded: settings.Loaded, data: bytes | None) -> None:
    if data is None:
        reason = atomic.read_only_reason(loaded.real)
        if reason:
            raise CcledgerError(f"cannot remove {loaded.path}: {reason}")
        if not settings.unchanged_since(loaded):
            raise CcledgerError(f"{loaded.path} changed while ccledger was editing it; run the command again")
        os.unlink(loaded.real)
    else:
        settings.write(loaded, data)


def _finish(opts: Options, st: dict, loaded: settings.Loaded, entry: dict | None, data: bytes | None, how: str,
            stripped: settings.Stripped) -> None:
    backup = entry.get("backup") if entry else None
    found = _backup_data(backup)
    exact = data is None or (found is not None and found[0] == data)
    if exact and backup and os.path.exists(backup):
        os.unlink(backup)  # the file is the backup again
    state.drop(st, loaded.path)
    note = None
    if not st["installs"]:
        note = pathlink.unlink(paths.venv_dir(), st.get("link"))
        st.pop("link", None)
        if paths.remove_completion_files(os.path.expanduser("~")):
            say("Shell completion removed.")
    state.save(st)
    say(f"Removed ccledger from {loaded.path}: {how}.")
    if stripped.statusline == "restored":
        say("Your own status line is back.")
    elif stripped.statusline == "foreign":
        say("The statusLine is not ccledger's any more, so it was left as it is.")
    if not exact and backup and os.path.exists(backup):
        say(f"The file as it was before the first install is still in {backup}.")
    if not st["installs"]:
        if note:
            say(note)
        if opts.managed:
            say(f"The ledger stays in {paths.data_dir()}; delete that folder to remove it too. The package "
                "is yours to remove: `pipx uninstall ccledger` or `uv tool uninstall ccledger`.")
        else:
            say(f"The ledger and ccledger's environment stay in {paths.data_dir()}; delete that folder to "
                "remove them too.")
