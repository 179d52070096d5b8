"""What every CLI command shares: opening the ledger, publishing config to it, catching up on transcripts."""
from __future__ import annotations

import sqlite3
import sys
from typing import Any

from .. import config
from ..errors import CcledgerError
from ..hot import db, events, ingest, pricing

PROGRESS_MIN_BYTES = 32 << 20  # show a progress bar only when there is this much to read


def open_ledger() -> sqlite3.Connection:
    try:
        conn = db.connect()
    except db.LedgerError as exc:
        raise CcledgerError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CcledgerError(f"cannot open the ledger: {exc}") from None
    try:
        overrides = pricing.overrides_from_config(load_config().get("pricing", {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        conn.close()
        raise CcledgerError(f"the [pricing] tables in the config are invalid ({exc!r}); "
                            "`ccledger config check` shows where") from None
    pricing.publish(conn, overrides)
    return conn


_config: dict | None = None


def load_config() -> dict:
    global _config
    if _config is None:
        _config = config.load()
    return _config


def catch_up(conn: sqlite3.Connection, quiet: bool = False, roots: Any = None) -> ingest.Summary:
    """Drain the hook spool and ingest whatever is new; a progress bar on a terminal for a large backlog."""
    events.drain(conn)
    overrides = pricing.stored_overrides(conn)
    if quiet or not sys.stderr.isatty():
        return ingest.ingest(conn, roots, overrides)
    bar: list = []

    def on_plan(backlog: int) -> None:
        if backlog >= PROGRESS_MIN_BYTES:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
            progress = Progress(TextColumn("reading transcripts"), BarColumn(), DownloadColumn(),
                                TimeRemainingColumn(), transient=True)
            progress.start()
            bar.extend([progress, progress.add_task("ingest", total=backlog)])

    try:
        return ingest.ingest(conn, roots, overrides, on_plan=on_plan,
                             progress=lambda n: bar and bar[0].advance(bar[1], n))
    finally:
        if bar:
            bar[0].stop()
