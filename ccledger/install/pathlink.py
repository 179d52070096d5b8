"""Put `ccledger` on the PATH: a symlink in ~/.local/bin (the XDG user bin folder, which pipx and
pip --user use too, on Linux and macOS) when that folder is on the PATH; otherwise the one line
that adds the environment's scripts folder. Never replaces a file that is not our link.
Standard library only.
"""
from __future__ import annotations

import os
import shutil


def user_bin() -> str:
    return os.path.join(os.path.expanduser("~"), ".local", "bin")


def _on_path(folder: str) -> bool:
    real = os.path.realpath(folder)
    return any(os.path.realpath(os.path.expanduser(p)) == real
               for p in os.environ.get("PATH", "").split(os.pathsep) if p)


def _points_into(link: str, folder: str) -> bool:
    """True when `link` is a symlink whose target lies in `folder` (even a target that is gone)."""
    if not os.path.islink(link):
        return False
    target = os.path.join(os.path.dirname(link), os.readlink(link))
    return os.path.abspath(target).startswith(os.path.abspath(folder) + os.sep)


def link(exe: str, scripts: str, venv: str | None) -> str:
    """Make `ccledger` runnable from a shell; return one line saying what was done or what to do."""
    if not os.path.isfile(exe):
        return f"(no ccledger command in {scripts}: run the CLI as `{exe}`)"
    found = shutil.which("ccledger")
    if found and os.path.realpath(found) == os.path.realpath(exe):
        return f"`ccledger` is on your PATH ({found})."
    folder = user_bin()
    target = os.path.join(folder, "ccledger")
    if os.name == "nt":
        return f"`ccledger` is not on your PATH; add it with:\n    setx PATH \"%PATH%;{scripts}\""
    hint = ("`ccledger` is not on your PATH; add it with this line in your shell profile:\n"
            f"    export PATH=\"$PATH:{scripts}\"")
    if not _on_path(folder):
        return hint
    if os.path.lexists(target) and not (venv and _points_into(target, venv)):
        return f"{target} exists and is not ccledger's link, so it was left alone; " + hint
    os.makedirs(folder, exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(exe, target)
    return f"`ccledger` is on your PATH: {target} -> {exe}"


def unlink(venv: str) -> str | None:
    """Remove our ~/.local/bin/ccledger link (only if it points into `venv`); say so, or None."""
    target = os.path.join(user_bin(), "ccledger")
    if _points_into(target, venv):
        os.unlink(target)
        return f"Removed the link {target}."
    return None


def script(scripts: str) -> str:
    return os.path.join(scripts, "ccledger.exe" if os.name == "nt" else "ccledger")

