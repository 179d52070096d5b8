"""The hook spool: one appended line per hook event, drained into the ledger later.

A recording hook must cost almost nothing, and `import sqlite3` alone costs
more than starting Python with -S. So PreToolUse/PostToolUse and friends
append one compact JSON line to `spool/events.jsonl` (O_APPEND, one write,
under a shared lock) and exit; whoever next opens the ledger (a Stop hook, the
status line, any report) drains the spool in one transaction. Every line has a
unique id, so a drain that crashes half-way is simply repeated.

Drain protocol: rename the spool aside (new writers start a fresh file), take
an exclusive lock on the renamed file (this waits for writers that opened it
before the rename), apply, delete. A writer re-checks after locking that the
path is still the file it opened, so no event can land in a drained file.
"""
from __future__ import annotations

import os
import time

from ..base import fastjson, paths

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; renaming an open file fails there anyway
    fcntl = None  # type: ignore[assignment]

_counter = 0


def _spool_path() -> str:
    return os.path.join(paths.spool_dir(), "events.jsonl")


def event_id(ts_ms: int) -> str:
    global _counter
    _counter += 1
    return f"{ts_ms}-{os.getpid()}-{_counter}"


def append(record: dict) -> None:
    """Append one event; `id` and `t` are filled in when missing."""
    now = int(time.time() * 1000)
    record.setdefault("t", now)
    record.setdefault("id", event_id(now))
    data = (fastjson.dumps(record) + "\n").encode("utf-8", "replace")
    path = _spool_path()
    for _ in range(3):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:
            paths.ensure_dir(os.path.dirname(path))
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_SH)
                try:
                    if os.fstat(fd).st_ino != os.stat(path).st_ino:
                        continue  # drained between open and lock: write to the new file
                except FileNotFoundError:
                    continue
            os.write(fd, data)
            return
        finally:
            os.close(fd)
    raise OSError(f"could not append to {path}")


def _claim(path: str) -> int | None:
    """An fd holding the exclusive lock on a renamed spool file, or None if another drainer has it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    if fcntl is None:
        return fd
    deadline = time.monotonic() + 0.5  # writers hold their shared lock for microseconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.002)
    if not os.path.exists(path):  # another drainer finished it while we waited
        os.close(fd)
        return None
    return fd


def drain(apply) -> int:
    """Hand every spooled event to `apply(records)` (which must be idempotent); return how many."""
    live = _spool_path()
    try:
        if os.path.getsize(live) > 0:
            os.rename(live, f"{live}.{int(time.time() * 1000)}.{os.getpid()}.draining")
    except FileNotFoundError:
        pass
    total = 0
    folder, prefix = os.path.split(live)
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    for path in sorted(os.path.join(folder, n) for n in names if n.startswith(prefix + ".") and
                       n.endswith(".draining")):  # no glob: it imports re, a tenth of a Stop hook
        fd = _claim(path)
        if fd is None:
            continue
        try:
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
            records, bad = [], 0
            for line in data.splitlines():
                try:
                    record = fastjson.loads(line)
                    if type(record) is dict and "id" in record:
                        records.append(record)
                        continue
                except ValueError:
                    pass
                bad += 1
            apply(records)
            if bad:
                from ..base import errlog
                errlog.record("spool", f"{bad} unreadable line(s) in {os.path.basename(path)} ignored", False)
            os.remove(path)
            total += len(records)
        finally:
            os.close(fd)
    return total
