"""Errors of hooks, the status line and the CLI go to a log file in the data dir, never to Claude Code.

Each entry is one line (time, component, message) followed by the traceback
indented, so `tail` and `grep` work and one fault is one line at a glance.
"""
from __future__ import annotations

import os
import time

from . import paths

MAX_BYTES = 1 << 20  # rotate to errors.log.1 beyond this


def record(component: str, error: BaseException | str, detail: bool = True) -> str:
    """Append one entry; return the log path. Never raises."""
    path = paths.error_log_path()
    try:
        paths.ensure_dir(os.path.dirname(path))
        try:
            if os.path.getsize(path) > MAX_BYTES:
                os.replace(path, path + ".1")
        except OSError:
            pass
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {component} {' '.join(str(message).split())}\n"
        if detail and isinstance(error, BaseException) and error.__traceback__ is not None:
            import traceback
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            line += "".join("    " + t + "\n" for t in trace.rstrip().splitlines())
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except Exception:
        pass
    return path
