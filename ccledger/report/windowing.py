"""`report windows`: the 5-hour and 7-day windows as Claude Code reported them, with forecasts and calibration."""
from __future__ import annotations

import sqlite3
import time

from ..ledger import windows
from . import periods, usage
from .rollup import total

_TOKENS = (f"SELECT {total('input_tokens')}, {total('output_tokens')}, {total('cache_write_5m + cache_write_1h')},"
           f" {total('cache_read_tokens')}, SUM(cost_usd), COUNT(*) FROM api_calls WHERE ts_ms >= ? AND ts_ms < ?")


def _tokens(conn: sqlite3.Connection, start: int, end: int) -> dict:
    row = usage.empty()
    inp, out, cw, cr, cost, n = conn.execute(_TOKENS, (start, end)).fetchone()
    usage.add(row, inp or 0, out or 0, cw or 0, cr or 0, cost or 0.0, n)
    row["cost_usd"] = round(row["cost_usd"], 6)
    return row


def rows(conn: sqlite3.Connection, flt: usage.Filters, now_ms: int | None = None) -> list[dict]:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    out = []
    for kind, pct_col, reset_col, length in (("five_hour", "five_hour_pct", "five_hour_reset_ms", windows.BLOCK_MS),
                                             ("seven_day", "seven_day_pct", "seven_day_reset_ms", windows.WEEK_MS)):
        where, params = flt.where()
        for reset, pct, last, readings in conn.execute(
                f"SELECT {reset_col}, MAX({pct_col}), MAX(ts_ms), COUNT(*) FROM readings WHERE {pct_col} IS NOT NULL"
                f" AND {reset_col} IS NOT NULL AND {where}"
                f" GROUP BY {reset_col} ORDER BY {reset_col}", params):
            start = reset - length
            live = reset > now_ms
            forecast = windows.runs_out(pct, start, reset, now_ms) if live else None
            out.append({"window": kind, "start": periods.iso_ms(start), "reset": periods.iso_ms(reset),
                        "used_pct": pct, "estimate": False, "active": live, "readings": readings,
                        "last_reading": periods.iso_ms(last), "runs_out": periods.iso_ms(forecast),
                        **_tokens(conn, start, min(reset, now_ms))})
    if not any(r["active"] and r["window"] == "five_hour" for r in out):
        block = windows.estimate(conn, now_ms, windows.cached_calibration())
        if block is not None:
            out.append({"window": "five_hour", "start": periods.iso_ms(block.start_ms),
                        "reset": periods.iso_ms(block.reset_ms), "used_pct": block.pct, "estimate": True,
                        "active": True, "readings": 0, "last_reading": None,
                        "runs_out": periods.iso_ms(block.runs_out_ms), **_tokens(conn, block.start_ms, now_ms)})
    return out
