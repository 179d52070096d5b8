"""The 5-hour and 7-day windows: official numbers when Claude Code sends them, labelled estimates otherwise.

Official: the status line's `rate_limits` (subscribers, after the first
response). Estimate: the 5-hour block from the ledger (first request floored to
the hour, 5 hours long), its used share from the user's own calibration.
Calibration pairs each official reading with the tokens the ledger saw in that
window: tokens per 1% of the window, per model family. Forecasts use the
average pace since the window started, not the last minute, and are shown only
when they come before the reset.
"""
from __future__ import annotations

import os
import time

from ..base import fastjson, paths
from ..base.records import record

TYPE_CHECKING = False  # annotations only: the hot path avoids importing sqlite3.dbapi2
if TYPE_CHECKING:
    import sqlite3

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS
WEEK_MS = 7 * 24 * HOUR_MS
MIN_CALIBRATION_PCT = 5.0       # readings below this say too little about capacity
CALIBRATION_MAX_AGE_S = 600
RESAMPLE_MS = 24 * 3_600_000   # windows with a reading this recent are measured again at each refresh
FAMILIES = ("opus", "sonnet", "haiku", "fable", "mythos")


class Window(record("Window", "pct start_ms reset_ms estimate runs_out_ms")):
    """pct: used share 0..100 or None; estimate: a local estimate ('~'), not Anthropic's number;
    runs_out_ms: 100% at the average pace so far, if that comes before the reset."""
    __slots__ = ()


def family(model: str) -> str:
    name = (model or "").lower()
    return next((f for f in FAMILIES if f in name), "other")


def runs_out(pct: float | None, start_ms: int | None, reset_ms: int | None, now_ms: int) -> int | None:
    """When the window reaches 100% at the average pace since it started; None if not before the reset."""
    if pct is None or start_ms is None or reset_ms is None or pct <= 0 or now_ms <= start_ms:
        return None
    if pct >= 100:
        return now_ms
    pace = pct / (now_ms - start_ms)
    when = now_ms + int((100 - pct) / pace)
    return when if when < reset_ms else None


def official(pct: float | None, reset_ms: int | None, length_ms: int, now_ms: int) -> Window | None:
    """The window Claude Code reported, unless it has already reset (then that number is history)."""
    if pct is None or (reset_ms is not None and reset_ms <= now_ms):
        return None
    start = reset_ms - length_ms if reset_ms else None
    return Window(pct, start, reset_ms, False, runs_out(pct, start, reset_ms, now_ms))


def active_block(conn: sqlite3.Connection, now_ms: int) -> tuple[int, int, dict[str, int]] | None:
    """(start, end, tokens by model family) of the block holding `now`.

    Blocks are walked from the first request of the last 10 hours, one indexed MIN() per block (a
    request more than 5 hours after its block's start opens the next one), instead of reading every
    request in Python: a busy session has thousands in 10 hours.
    """
    first = conn.execute("SELECT MIN(ts_ms) FROM api_calls WHERE ts_ms > ? AND ts_ms <= ?",
                         (now_ms - 2 * BLOCK_MS, now_ms)).fetchone()[0]
    if first is None:
        return None
    start = first - first % HOUR_MS
    while True:
        later = conn.execute("SELECT MIN(ts_ms) FROM api_calls WHERE ts_ms > ? AND ts_ms <= ?",
                             (start + BLOCK_MS, now_ms)).fetchone()[0]
        if later is None:
            break
        start = later - later % HOUR_MS
    if now_ms >= start + BLOCK_MS:
        return None
    tokens: dict[str, int] = {}
    for model, total in conn.execute("SELECT model, CAST(total(total_tokens) AS INTEGER) FROM api_calls"
                                     " WHERE ts_ms >= ? AND ts_ms <= ? GROUP BY model", (start, now_ms)):
        tokens[family(model)] = tokens.get(family(model), 0) + (total or 0)
    return start, start + BLOCK_MS, tokens


def estimate(conn: sqlite3.Connection, now_ms: int, calibration: dict) -> Window | None:
    """The local 5-hour block; its share used only when calibration knows every family in it."""
    block = active_block(conn, now_ms)
    if block is None:
        return None
    start, end, tokens = block
    capacity = calibration.get("tokens_per_pct") or {}
    pct = None
    if tokens and all(capacity.get(f) for f in tokens):
        pct = min(100.0, sum(n / capacity[f] for f, n in tokens.items()))
    return Window(pct, start, end, True, runs_out(pct, start, end, now_ms))


def calibrate(conn: sqlite3.Connection, samples: dict | None = None, now_ms: int | None = None) -> tuple[dict, dict]:
    """Tokens per 1% of the 5-hour window, per model family, from official readings: (calibration, samples).

    For each window (one reset time) the highest reading is paired with the
    tokens the ledger saw from the window's start to that reading. A window
    counts for a family when that family made up 90% of its tokens; the median
    over windows is kept. `samples` (window -> [family, tokens per 1%]) from the
    last computation are reused for every window without a reading in the last
    day: a year of readings is not re-measured every few minutes.
    """
    query = ("SELECT five_hour_reset_ms, MAX(five_hour_pct), MAX(ts_ms) FROM readings WHERE five_hour_pct >= ?"
             " AND five_hour_reset_ms IS NOT NULL")
    if samples is None:
        samples, found = {}, conn.execute(query + " GROUP BY five_hour_reset_ms", (MIN_CALIBRATION_PCT,))
    else:
        since = (now_ms if now_ms is not None else int(time.time() * 1000)) - RESAMPLE_MS
        samples = dict(samples)
        found = conn.execute(query + " AND ts_ms >= ? AND five_hour_reset_ms IN (SELECT five_hour_reset_ms FROM"
                             " readings WHERE ts_ms >= ?) GROUP BY five_hour_reset_ms",
                             (MIN_CALIBRATION_PCT, since - 2 * BLOCK_MS, since))
    for reset, pct, ts in found.fetchall():
        by_family: dict[str, int] = {}
        for model, total in conn.execute("SELECT model, CAST(total(total_tokens) AS INTEGER) FROM api_calls"
                                         " WHERE ts_ms >= ? AND ts_ms <= ? GROUP BY model", (reset - BLOCK_MS, ts)):
            by_family[family(model)] = by_family.get(family(model), 0) + (total or 0)
        whole = sum(by_family.values())
        samples[str(reset)] = next(([name, whole / pct] for name, total in by_family.items()
                                    if whole and total >= 0.9 * whole), None)
    per_family: dict[str, list[float]] = {}
    for sample in samples.values():
        if sample:
            per_family.setdefault(sample[0], []).append(sample[1])
    per_pct = {name: sorted(values)[len(values) // 2] for name, values in per_family.items()}
    return ({"tokens_per_pct": per_pct, "windows": {k: len(v) for k, v in per_family.items()},
             "computed_at": int(time.time() * 1000)}, samples)


def _calibration_path() -> str:
    return os.path.join(paths.state_dir(), "calibration.json")


def _samples_path() -> str:
    return os.path.join(paths.state_dir(), "calibration-samples.json")


def cached_calibration() -> dict:
    try:
        with open(_calibration_path(), "rb") as handle:
            value = fastjson.loads(handle.read())
        return value if type(value) is dict else {}
    except (OSError, ValueError):
        return {}


def refresh_calibration(conn: sqlite3.Connection, force: bool = False) -> dict:
    """The calibration, recomputed when older than a few minutes: incrementally (recent windows only),
    or from every reading when forced (`report windows`, which also catches readings drained late)."""
    from ..base.paths import write_atomic
    try:
        fresh = time.time() - os.path.getmtime(_calibration_path()) < CALIBRATION_MAX_AGE_S
    except OSError:
        fresh = False
    if fresh and not force:
        return cached_calibration()
    samples = None
    if not force:
        try:
            with open(_samples_path(), "rb") as handle:
                samples = fastjson.loads(handle.read())
        except (OSError, ValueError):
            pass
    value, samples = calibrate(conn, samples if type(samples) is dict else None)
    write_atomic(_samples_path(), fastjson.dumps(samples))
    write_atomic(_calibration_path(), fastjson.dumps(value))
    return value
