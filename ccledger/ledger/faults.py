"""Naming what the surroundings break: a read-only or full disk, a file-size limit, a damaged or
foreign file at the ledger's path, a lock held past the wait.

Each becomes a db.LedgerError with a kind (the CLI's exit code), a cause and a fix, so the
user reads "the disk holding X is full; free some space" instead of "unexpected error: disk
I/O error". Anything else is left alone: an unnamed exception is a bug. Standard library only,
and imported only once something went wrong (or by the CLI before it writes).
"""
from __future__ import annotations

import errno
import os

from ..base import locks, paths
from ..base.errors import LEDGER_CODES, CcledgerError
from .db import DAMAGED, DISK_FULL, LOCKED, READ_ONLY, UNAVAILABLE, LedgerError
from .sqlite import sqlite3

MIN_FREE = 1 << 20  # below this much free space a ledger's disk counts as full (SQLite needs room for its WAL)
# SQLite's primary result codes: BUSY, LOCKED, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB
_SQLITE_KINDS = {5: LOCKED, 6: LOCKED, 8: READ_ONLY, 10: "io", 11: DAMAGED, 13: DISK_FULL, 14: UNAVAILABLE,
                 26: DAMAGED}
_SQLITE_TEXTS = (("database is locked", LOCKED), ("readonly database", READ_ONLY), ("disk is full", DISK_FULL),
                 ("malformed", DAMAGED), ("not a database", DAMAGED), ("disk I/O error", "io"),
                 ("unable to open database file", UNAVAILABLE))  # exceptions from a worker lose their code


def _existing(path: str) -> str:
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def free_bytes(path: str) -> int | None:
    try:
        st = os.statvfs(_existing(path))
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    return st.f_bavail * st.f_frsize


def _full(path: str, free: int | None) -> LedgerError:
    folder = os.path.dirname(path)
    left = "" if free is None else f" ({free // 1024:,} KB free)"
    return LedgerError(f"the disk holding {folder} is full{left}", DISK_FULL,
                       f"free some space (df -h {folder}), then run `ccledger ingest`; what was recorded is kept")


def _size_limit() -> int | None:
    """The file size limit of this process (ulimit -f), if it has one. A write past it fails with EFBIG,
    which SQLite reports as a bare I/O error; a write may start past it, so file sizes cannot tell."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):  # no such limit on Windows
        return None
    return None if limit == resource.RLIM_INFINITY else limit


def _limited(path: str, limit: int | None) -> LedgerError:
    return LedgerError(f"writing {path} went past the file size limit of this process "
                       f"({'?' if limit is None else f'{limit:,}'} bytes)", DISK_FULL,
                       "raise it (ulimit -f unlimited), then run `ccledger ingest`; what was recorded is kept")


def _not_writable(target: str) -> LedgerError:
    """Why `target` (the ledger, its folder or a file beside it) cannot be written, and the fix."""
    where = _existing(target)
    name = f"the ledger {where}" if where == paths.ledger_path() else where
    try:
        read_only_fs = bool(os.statvfs(where).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only_fs = False
    if read_only_fs:
        return LedgerError(f"{name} cannot be written: its file system is mounted read-only", READ_ONLY,
                           "remount it read-write, or set CCLEDGER_HOME to a writable folder")
    if os.path.isfile(where):
        try:
            os.close(os.open(where, os.O_WRONLY))  # no O_TRUNC: opening changes nothing
        except OSError as exc:
            if exc.errno == errno.EPERM:  # where permissions allow: an immutable or append-only file
                return LedgerError(f"{name} cannot be written: it is marked immutable", READ_ONLY,
                                   f"chattr -i {where}")
    user = os.environ.get("USER") or str(os.geteuid() if hasattr(os, "geteuid") else "you")
    return LedgerError(f"{name} cannot be written: no write permission for {user}", READ_ONLY,
                       f"chmod u+w {where} (or chown it to {user}), or set CCLEDGER_HOME to a writable folder")


def unwritable(path: str | None = None) -> LedgerError | None:
    """Why the ledger cannot be written now (read-only, full disk), or None. Asked before writing, because SQLite
    opens a read-only file without a word and fails only at the first write, half-way through a command."""
    path = path or paths.ledger_path()
    for target in (path, path + "-wal", path + "-shm", _existing(os.path.dirname(path))):
        if os.path.exists(target) and not os.access(target, os.W_OK):
            return _not_writable(target)
    free = free_bytes(path)
    return _full(path, free) if free is not None and free < MIN_FREE else None


def _truncated(path: str) -> str | None:
    """'N of M bytes' when the file is shorter than its own header says (and no WAL holds the rest)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(100)
        size = os.path.getsize(path)
        if os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0:
            return None
    except OSError:
        return None
    if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
        return None
    page = int.from_bytes(head[16:18], "big")
    expected = (65536 if page == 1 else page) * int.from_bytes(head[28:32], "big")
    return f"{size:,} of {expected:,} bytes" if size < expected else None


def damaged(path: str, detail: str) -> LedgerError:
    return LedgerError(f"the ledger {path} is damaged ({detail})", DAMAGED,
                       f"move it aside and read the transcripts again: mv {path} {path}.broken && ccledger rebuild")


def explain(exc: BaseException, path: str | None = None) -> LedgerError | None:
    """Name a fault the surroundings caused (permissions, space, a damaged or foreign file, a lock held past the
    wait), with its fix; None when `exc` is none of these (a bug)."""
    path = path or paths.ledger_path()
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, locks.LockTimeout):
        return locked(path, str(exc))
    if isinstance(exc, OSError):
        return _os_fault(exc, os.fsdecode(exc.filename) if exc.filename else path)
    if isinstance(exc, sqlite3.Error):
        return _sqlite_fault(exc, path)
    return None


def _os_fault(exc: OSError, target: str) -> LedgerError | None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(target, free_bytes(target))
    if exc.errno == errno.EFBIG:
        return _limited(target, _size_limit())
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and os.path.isfile(target):
        return LedgerError(f"{target} is a file where ccledger keeps a folder", UNAVAILABLE,
                           f"move it aside (mv {target} {target}.aside), or set CCLEDGER_HOME to a folder")
    if exc.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        if exc.errno != errno.EROFS and os.access(_existing(target), os.W_OK):  # not about writing it
            return LedgerError(f"cannot use {target}: {exc.strerror}", READ_ONLY,
                               f"check its permissions (ls -ld {target})")
        return _not_writable(target)
    return None


def _sqlite_fault(exc: sqlite3.Error, path: str) -> LedgerError | None:
    code, text = getattr(exc, "sqlite_errorcode", None), str(exc)
    kind = _SQLITE_KINDS.get(code & 0xFF) if code is not None else next(
        (k for t, k in _SQLITE_TEXTS if t in text), None)
    if kind == "io":  # all SQLite says when a write fails for want of room
        free, limit = free_bytes(path), _size_limit()
        if free is not None and free < MIN_FREE:
            return _full(path, free)
        if limit:
            return _limited(path, limit)
        return LedgerError(f"reading or writing the ledger {path} failed ({text})", UNAVAILABLE,
                           "check the disk (dmesg shows I/O errors), then run `ccledger doctor`")
    if kind == DISK_FULL:
        return _full(path, free_bytes(path))
    if kind == READ_ONLY:
        return unwritable(path) or _not_writable(path)
    if kind == LOCKED:
        return locked(path, None)
    if kind == DAMAGED:
        cut = _truncated(path)
        return damaged(path, f"truncated: {cut}" if cut else "not a SQLite database" if "not a database" in text
                       else f"SQLite: {text}")
    if kind == UNAVAILABLE:
        if os.path.isdir(path):
            return LedgerError(f"{path} is a folder, not a ledger", DAMAGED,
                               f"move it aside: mv {path} {path}.aside && ccledger rebuild")
        return unwritable(path) or LedgerError(f"cannot open the ledger {path} ({text})", UNAVAILABLE,
                                               "check that its folder exists and can be read, then run "
                                               "`ccledger doctor`")
    return None


def locked(path: str, lock: str | None) -> LedgerError:
    holder = f"the lock {lock}" if lock else path
    return LedgerError(f"the ledger {path} is busy: another process held {holder} past the wait", LOCKED,
                       f"try again when it finishes (fuser -v {lock or path} shows which process)")


def named(exc: BaseException) -> CcledgerError | None:
    """A fault from outside (permissions, space, a damaged file, a lock) as the CcledgerError that names it;
    None for anything else, which is a bug."""
    fault = explain(exc)
    return None if fault is None else CcledgerError(fault.cause, LEDGER_CODES[fault.kind], fault.fix)
