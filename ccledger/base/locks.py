"""Advisory file locks for the ledger (migration, ingesting one transcript).

This is the stdlib twin of the `filelock` package: `flock` on POSIX, byte-range
locking on Windows. The hot path may not import `filelock`, and on POSIX both
take `flock` on the same lock file, so the CLI and the hooks exclude each other
either way.
"""
from __future__ import annotations

import binascii
import os
import time

from . import paths

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


class LockTimeout(Exception):
    """The lock is held by another process and the caller does not want to wait longer."""


class FileLock:
    """`with FileLock(path, timeout):` — timeout 0 means try once."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self.fd: int | None = None

    def _try(self, fd: int) -> bool:
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def __enter__(self) -> "FileLock":
        paths.ensure_dir(os.path.dirname(self.path))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while not self._try(fd):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockTimeout(self.path)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is None:
            return
        if fcntl is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        else:
            try:
                os.lseek(self.fd, 0, os.SEEK_SET)
                msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)
            except OSError:
                pass
        os.close(self.fd)
        self.fd = None


def migration_lock(timeout: float = 30.0) -> FileLock:
    return FileLock(os.path.join(paths.lock_dir(), "migrate.lock"), timeout)


def file_lock(transcript: str, timeout: float = 10.0) -> FileLock:
    """One lock per transcript file, named by a checksum of its path."""
    name = "%08x.lock" % (binascii.crc32(os.fsencode(transcript)) & 0xFFFFFFFF)
    return FileLock(os.path.join(paths.lock_dir(), name), timeout)
