"""5-hour blocks estimated from the ledger, the way ccusage does it (and labelled as an estimate).

A block opens at its first request floored to the UTC hour and lasts 5 hours;
a request more than 5 hours after the block start or after the previous
request opens a new one, and a silence longer than 5 hours is shown as a gap.
This is only an estimate of Anthropic's window: when the status line has
reported official `rate_limits`, those win (see report windows).
"""
from __future__ import annotations

import sqlite3
import time

from . import periods, usage

BLOCK_MS = 5 * 3600 * 1000
HOUR_MS = 3600 * 1000


def _new(start: int, gap: bool = False) -> dict:
    return {"start_ms": start, "end_ms": start + BLOCK_MS, "first_ms": None, "last_ms": None, "is_gap": gap,
            "tokens": usage.empty(), "models": [], "limit_reset_ms": None}


def blocks(conn: sqlite3.Connection, flt: usage.Filters, now_ms: int | None = None) -> list[dict]:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    where, params = flt.where()
    found: list[dict] = []
    current = None
    for ts, model, inp, out, cw, cr, cost in conn.execute(
            "SELECT ts_ms, model, input_tokens, output_tokens, cache_write_5m + cache_write_1h, cache_read_tokens,"
            f" cost_usd FROM api_calls WHERE {where} ORDER BY ts_ms", params):
        if current is None or ts - current["start_ms"] > BLOCK_MS or ts - current["last_ms"] > BLOCK_MS:
            if current is not None and ts - current["last_ms"] > BLOCK_MS:
                gap = _new(current["last_ms"] + BLOCK_MS, gap=True)
                gap["end_ms"] = ts
                found.append(gap)
            current = _new(ts - ts % HOUR_MS)
            found.append(current)
        if current["first_ms"] is None:
            current["first_ms"] = ts
        current["last_ms"] = ts
        usage.add(current["tokens"], inp, out, cw, cr, cost, 1)
        if model != usage.SYNTHETIC and model not in current["models"]:
            current["models"].append(model)
    _limits(conn, found)
    return [_row(b, now_ms) for b in found]


def _limits(conn: sqlite3.Connection, found: list[dict]) -> None:
    resets = conn.execute("SELECT ts_ms, reset_ms FROM limit_events ORDER BY ts_ms").fetchall()
    for block in found:
        for ts, reset in resets:
            if block["start_ms"] <= ts < block["end_ms"] and not block["is_gap"]:
                block["limit_reset_ms"] = reset


def _row(block: dict, now_ms: int) -> dict:
    tokens = block["tokens"]
    tokens["cost_usd"] = round(tokens["cost_usd"], 6)
    active = (not block["is_gap"] and block["last_ms"] is not None
              and now_ms - block["last_ms"] < BLOCK_MS and now_ms < block["end_ms"])
    row = {"start": periods.iso_ms(block["start_ms"]), "end": periods.iso_ms(block["end_ms"]),
           "actual_end": periods.iso_ms(block["last_ms"]), "is_active": active, "is_gap": block["is_gap"],
           "estimate": True, "models": block["models"], **tokens,
           "limit_reset": periods.iso_ms(block["limit_reset_ms"]), "burn_rate": None, "projection": None}
    if active:
        minutes = (block["last_ms"] - block["first_ms"]) / 60000
        if minutes > 0:
            per_minute = tokens["total_tokens"] / minutes
            per_hour = tokens["cost_usd"] / minutes * 60
            remaining = max(0, round((block["end_ms"] - now_ms) / 60000))
            row["burn_rate"] = {"tokens_per_minute": round(per_minute, 1), "cost_per_hour": round(per_hour, 4)}
            row["projection"] = {"total_tokens": round(tokens["total_tokens"] + per_minute * remaining),
                                 "cost_usd": round(tokens["cost_usd"] + per_hour / 60 * remaining, 2),
                                 "remaining_minutes": remaining}
    return row
