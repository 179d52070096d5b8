"""Keeping usage_rollup current: rebuild the quarter hours ingest marked dirty, then report from it."""
from __future__ import annotations

import sqlite3

from ..hot import db
from ..hot.schema import QUARTER_MS

FULL_REBUILD = 2000  # beyond this many dirty quarters one scan of api_calls beats per-quarter lookups

_SUMS = ("COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h),"
         " SUM(cache_read_tokens), SUM(cost_usd), MIN(ts_ms), MAX(ts_ms), SUM(priced = 0 AND total_tokens > 0)")


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
