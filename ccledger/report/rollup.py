"""Keeping usage_rollup current: rebuild the quarter hours ingest marked dirty, then report from it."""
from __future__ import annotations

import sqlite3

from ..ledger import db
from ..ledger.schema import QUARTER_MS

FULL_REBUILD = 2000  # beyond this many dirty quarters one scan of api_calls beats per-quarter lookups


def total(expr: str) -> str:
    """A SUM of integers that cannot fail: SQLite's SUM raises `integer overflow` past 2**63, which one
    poisoned row in an old ledger reaches. total() adds in floating point (exact below 2**53, far above
    any real history) and CAST brings it back to an integer, clamped to the 64-bit range."""
    return f"CAST(total({expr}) AS INTEGER)"


_SUMS = (f"COUNT(*), {total('input_tokens')}, {total('output_tokens')}, {total('cache_write_5m')},"
         f" {total('cache_write_1h')}, {total('cache_read_tokens')}, SUM(cost_usd), MIN(ts_ms), MAX(ts_ms),"
         " SUM(priced = 0 AND total_tokens > 0)")


def refresh(conn: sqlite3.Connection) -> int:
    """Rebuild dirty quarters; returns how many."""
    dirty = conn.execute("SELECT COUNT(*) FROM dirty_quarters").fetchone()[0]
    if not dirty:
        return 0
    with db.transaction(conn):
        if dirty > FULL_REBUILD:
            conn.execute("DELETE FROM usage_rollup")
            conn.execute(f"INSERT INTO usage_rollup SELECT ts_ms / {QUARTER_MS}, session_id, project, model, {_SUMS}"
                         " FROM api_calls GROUP BY 1, 2, 3, 4")
        else:
            conn.execute("DELETE FROM usage_rollup WHERE quarter IN (SELECT quarter FROM dirty_quarters)")
            conn.execute(f"INSERT INTO usage_rollup SELECT d.quarter, session_id, project, model, {_SUMS}"
                         f" FROM dirty_quarters d JOIN api_calls a ON a.ts_ms >= d.quarter * {QUARTER_MS}"
                         f" AND a.ts_ms < (d.quarter + 1) * {QUARTER_MS} GROUP BY 1, 2, 3, 4")
        conn.execute("DELETE FROM dirty_quarters")
    return dirty
