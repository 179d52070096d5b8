"""Opening the ledger the same way every time, and bringing its schema up to date.

WAL, synchronous=NORMAL and a busy timeout, so a status line, several hooks and
a report can share the file. Migrations run under a file lock with a
double-check, each in one transaction; a ledger written by a newer ccledger is
refused, never rewritten.
"""
from __future__ import annotations

import os

from . import locks, paths, schema
from .sqlite import sqlite3


class LedgerError(Exception):
    """The ledger cannot be used as it is (for example: its schema is newer than this code)."""


def _create_private(path: str) -> None:
    paths.ensure_dir(os.path.dirname(path))
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def connect(path: str | None = None, timeout: float = 10.0, migrate: bool = True) -> sqlite3.Connection:
    """Open (creating 0600 in a 0700 folder if needed) and migrate the ledger."""
    path = path or paths.ledger_path()
    if not os.path.exists(path):
        _create_private(path)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=NORMAL")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > schema.LATEST:
        conn.close()
        raise LedgerError(
            f"ledger {path} has schema {version}, newer than this ccledger understands "
            f"({schema.LATEST}); upgrade ccledger (the ledger was left untouched)")
    if version < schema.LATEST:
        if not migrate:
            conn.close()
            raise LedgerError(f"ledger {path} needs migration to schema {schema.LATEST}")
        _migrate(conn, timeout)
    return conn


def _migrate(conn: sqlite3.Connection, timeout: float) -> None:
    with locks.migration_lock(max(timeout, 30.0)):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute("PRAGMA journal_mode=WAL")
        for number in range(version + 1, schema.LATEST + 1):
            with transaction(conn):
                schema.MIGRATIONS[number - 1](conn)
                conn.execute(f"PRAGMA user_version = {number}")


class transaction:  # noqa: N801 - used like a function: `with transaction(conn):`
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error. (A class: contextlib costs import time.)"""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if kind is not None else "COMMIT")


class opened:  # noqa: N801
    """`with opened() as conn:` a connection that is closed afterwards."""

    def __init__(self, path: str | None = None, timeout: float = 10.0) -> None:
        self.conn = connect(path, timeout)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
