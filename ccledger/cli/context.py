"""What every CLI command shares: opening the ledger, publishing config to it, catching up on transcripts."""
from __future__ import annotations

import sqlite3
import sys
from typing import Any

from .. import config
from ..errors import CcledgerError
from ..hot import db, ingest, pricing

PROGRESS_MIN_BYTES = 32 << 20  # show a progress bar only when there is this much to read


def open_ledger() -> sqlite3.Connection:
    try:
        conn = db.connect()
    except db.LedgerError as exc:
        raise CcledgerError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CcledgerError(f"cannot open the ledger: {exc}") from None
    overrides = pricing.overrides_from_config(load_config().get("pricing", {}))
    pricing.publish(conn, overrides)
    return conn


_config: dict | None = None


def load_config() -> dict:
    global _config
    if _config is None:
        _config = config.load()
    return _config


def catch_up(conn: sqlite3.Connection, quiet: bool = False, roots: Any = None) -> ingest.Summary:
    """Ingest whatever is new; a progress bar on a terminal when the backlog is large."""
    overrides = pricing.stored_overrides(conn)
    if quiet or not sys.stderr.isatty():
        return ingest.ingest(conn, roots, overrides)
    found = ingest.discover(ingest.paths.claude_dirs() if roots is None else roots)
    summary = ingest.Summary()
    summary.files = len(found)
    tasks = ingest.plan(conn, found)
    backlog = sum(t.size - t.start for t in tasks)
    if backlog < PROGRESS_MIN_BYTES:
        return ingest.run(conn, tasks, summary, overrides)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
    with Progress(TextColumn("reading transcripts"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  transient=True) as bar:
        job = bar.add_task("ingest", total=backlog)
        return ingest.run(conn, tasks, summary, overrides, progress=lambda n: bar.advance(job, n))
