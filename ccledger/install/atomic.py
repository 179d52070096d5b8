"""Writing a file so that a crash or a full disk never leaves it half written.

The new bytes go to a temp file in the same folder, are flushed to disk, take the mode the
old file had, and replace it with one `os.replace` (pre-commit and pipx do the same).
Standard library only.
"""
from __future__ import annotations

import os
import stat
import tempfile


def default_mode() -> int:
    """The mode a new file would get from an editor: 0666 minus the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def write(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace `path` with `data` atomically; `mode` defaults to the current file's, else the umask's."""
    if mode is None:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = default_mode()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_only_reason(path: str) -> str | None:
    """Why `path` (a file, or the folder it would be created in) cannot be written, or None.

    A file or folder without any write bit counts as read-only even for root, who could write it
    anyway: a user who made it read-only meant it (editors ask first, too)."""
    target = path if os.path.exists(path) else os.path.dirname(os.path.abspath(path))
    while not os.path.exists(target):
        parent = os.path.dirname(target)
        if parent == target:
            return None
        target = parent
    kind = "file" if os.path.isfile(target) else "folder"
    try:
        mode = os.stat(target).st_mode
    except OSError as exc:
        return f"cannot inspect {target}: {exc.strerror}"
    if not mode & 0o222 or not os.access(target, os.W_OK):
        return f"the {kind} {target} is read-only"
    if kind == "file":
        folder = os.path.dirname(os.path.abspath(target))
        if not os.stat(folder).st_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
            return f"the folder {folder} is read-only (the file is replaced atomically, which needs it)"
    return None
