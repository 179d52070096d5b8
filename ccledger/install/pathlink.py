"""Put `ccledger` on the PATH the way pipx does: a symlink to the one command in ~/.local/bin (the XDG
user bin folder, which pipx and pip --user use too, on Linux and macOS), never the environment's
scripts folder, whose `python` and `pip` would come before the user's own in a shell that searches
it first. When ~/.local/bin is not on the PATH, say so with the one line that adds it. Never replaces
a file that is not a link to a ccledger command. Standard library only.
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


def _ours(target: str, exe: str, venv: str | None) -> bool:
    """A link we may replace: it already leads to `exe`, or into the environment `exe` belongs to."""
    if not os.path.islink(target):
        return False
    return os.path.realpath(target) == os.path.realpath(exe) or bool(venv and _points_into(target, venv))


def path_line(folder: str) -> str:
    """The one line that puts `folder` at the end of the PATH, in the user's shell and its profile file."""
    shell = os.path.basename(os.environ.get("SHELL", ""))
    home = os.path.expanduser("~")
    shown = "$HOME" + folder[len(home):] if folder.startswith(home + os.sep) else folder
    if shell == "fish":
        return f"fish_add_path -a {shown.replace('$HOME', '~')}    (once, in fish)"
    profile = {"zsh": "~/.zshrc", "bash": "~/.bashrc"}.get(shell, "~/.profile")
    return f'export PATH="$PATH:{shown}"    (in {profile})'


def link(exe: str, scripts: str, venv: str | None) -> tuple[str, bool]:
    """Make `ccledger` runnable from a shell. Returns what was done and, if needed, what to do; and
    whether a link was made now (a link pipx made, or one already there, is not ours to remove later)."""
    if not os.path.isfile(exe):
        return f"(no ccledger command in {scripts}: run the CLI as `{exe}`)", False
    found = shutil.which("ccledger")
    if found and os.path.realpath(found) == os.path.realpath(exe):
        return f"`ccledger` is on your PATH ({found}).", False
    if os.name == "nt":
        return f"`ccledger` is not on your PATH; run it as {exe}", False
    folder = user_bin()
    target = os.path.join(folder, "ccledger")
    if os.path.lexists(target) and not _ours(target, exe, venv):
        return (f"{target} exists and is not a link to this ccledger, so it was left alone; run ccledger as {exe}, "
                "or move that file away and run the installer again."), False
    os.makedirs(folder, exist_ok=True)
    made = not (os.path.islink(target) and os.readlink(target) == exe)
    if made:
        if os.path.lexists(target):
            os.unlink(target)
        os.symlink(exe, target)
    said = (f"Linked {target} -> {exe} (only the `ccledger` command: the environment's python and pip "
            "stay off your PATH).")
    if not _on_path(folder):
        return said + f"\n{folder} is not on your PATH; add it with this line:\n    {path_line(folder)}", made
    if found:  # another ccledger comes first on the PATH
        return said + f"\nNote: `ccledger` on your PATH is {found}, which comes before {folder}.", made
    return said, made


def unlink(venv: str, made: str | None = None) -> str | None:
    """Remove our ~/.local/bin/ccledger link: the one recorded at install (`made`, if it still leads
    where it did), or one pointing into `venv`. Say so, or None."""
    target = os.path.join(user_bin(), "ccledger")
    if _points_into(target, venv) or (made and os.path.islink(target) and os.readlink(target) == made):
        os.unlink(target)
        return f"Removed the link {target}."
    return None


def script(scripts: str) -> str:
    return os.path.join(scripts, "ccledger.exe" if os.name == "nt" else "ccledger")
