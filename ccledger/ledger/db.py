"""Opening the ledger the same way every time, and bringing its schema up to date.

WAL, synchronous=NORMAL and a busy timeout, so a status line, several hooks and
a report can share the file. Migrations run under a file lock with a
double-check, each in one transaction; a ledger written by a newer ccledger, or
a file that is not a ledger, is refused, never rewritten.

A ledger that cannot be written (read-only, full disk, locked) can still be
read as it is (`open_read_only`); ccledger.base.faults names what went wrong.
"""
from __future__ import annotations

import os

from ..base import locks, paths
from . import schema
from .sqlite import sqlite3

# kinds of LedgerError (named by ccledger.base.faults): the CLI maps each to its exit code (errors.LEDGER_CODES)
LOCKED, READ_ONLY, DISK_FULL, DAMAGED, TOO_NEW, UNAVAILABLE = (
    "locked", "read_only", "disk_full", "damaged", "too_new", "unavailable")


class LedgerError(Exception):
    """The ledger cannot be used as it is: `kind` says why (a constant above), `fix` what to do."""

    def __init__(self, cause: str, kind: str = DAMAGED, fix: str | None = None) -> None:
        super().__init__(f"{cause}; {fix}" if fix else cause)
        self.cause, self.kind, self.fix = cause, kind, fix


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
    try:
        conn.execute("PRAGMA synchronous=NORMAL")
        version = _version(conn, path)
        if version < schema.LATEST:
            if not migrate:
                raise LedgerError(f"the ledger {path} needs migration to schema {schema.LATEST}", UNAVAILABLE,
                                  "run any ccledger command that writes, e.g. `ccledger ingest`")
            _migrate(conn, timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def _version(conn: sqlite3.Connection, path: str) -> int:
    """The schema version, once the file is known to be a ledger this code may use (else LedgerError)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > schema.LATEST:
        raise LedgerError(f"the ledger {path} has schema {version}, newer than this ccledger understands "
                          f"({schema.LATEST})", TOO_NEW, "upgrade ccledger (`python3 install.py` from a newer "
                          "checkout); the ledger was left untouched")
    if version == 0:  # ours carry a version from their first migration on: tables without one are another's
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' LIMIT 4")]
        if tables:
            raise LedgerError(f"{path} is a SQLite database of another program (tables {', '.join(tables)}), "
                              "not a ccledger ledger", DAMAGED,
                              f"move it aside: mv {path} {path}.foreign && ccledger rebuild")
    return version


SHADOWED = {"dirty_quarters": ("usage_rollup",), "dirty_sessions": ("attribution", "attribution_top")}


def open_read_only(path: str | None = None, unchanging: bool = False) -> sqlite3.Connection:
    """The ledger as it is, for answering when it cannot be written (read-only, full disk, locked).

    `mode=ro`, or `immutable=1` when no WAL holds changes and either nobody can write the file now
    (`unchanging`: a read-only mount or permissions; a `mode=ro` connection would leave -wal and -shm
    files behind, read-only like the ledger, still in the way once it is fixed) or SQLite cannot even
    make its shared-memory file. What a report refreshes from a queue (rollups, attribution) goes to
    TEMP copies that shadow the stored tables, so the answer is current and the file untouched.
    """
    path = path or paths.ledger_path()
    if not os.path.isfile(path):
        raise LedgerError(f"there is no ledger at {path} yet", UNAVAILABLE, "run `ccledger ingest`")
    uri = "file:" + path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    pending = os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0
    try:
        conn = _open_uri(uri + ("?mode=ro" if pending or not unchanging else "?immutable=1"))
    except sqlite3.OperationalError:
        if pending:
            raise
        conn = _open_uri(uri + "?immutable=1")
    try:
        if _version(conn, path) < schema.LATEST:
            raise LedgerError(f"the ledger {path} needs migration to schema {schema.LATEST}, which needs it "
                              "writable", READ_ONLY, "make it writable, then run `ccledger ingest`")
        conn.execute("PRAGMA temp_store=MEMORY")
        for queue, tables in SHADOWED.items():
            if conn.execute(f"SELECT 1 FROM main.{queue} LIMIT 1").fetchone():
                for name in (queue, *tables):
                    (sql,) = conn.execute("SELECT sql FROM main.sqlite_master WHERE name=?", (name,)).fetchone()
                    conn.execute(sql.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
                    conn.execute(f"INSERT INTO temp.{name} SELECT * FROM main.{name}")
    except BaseException:
        conn.close()
        raise
    return conn


def _open_uri(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA user_version").fetchone()  # opening is lazy: fail here, not in a query
    except BaseException:
        conn.close()
        raise
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
