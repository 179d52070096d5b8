"""The status line: tokens, context, the 5-hour window and cost, in one fast line.

Claude Code runs this after every assistant message with its JSON on stdin.
It records the reading (the only place the official window numbers exist),
ingests the new bytes of the session transcript, reads a few precomputed rows
and prints the line. Anything that goes wrong still prints a minimal line and
is logged; nothing reaches stderr.
"""
from __future__ import annotations

import os
import sys
import time

from ..base import errlog, fastjson, paths, units
from ..config import read as userconfig
from ..config import statusline_keys
from ..ledger import windows
from . import payload as status_payload
from . import render
from .payload import Status

TYPE_CHECKING = False  # annotations only: the hot path avoids importing sqlite3.dbapi2
if TYPE_CHECKING:
    import sqlite3

READING_MIN_INTERVAL_MS = 5_000
CACHE_MAX_AGE_MS = 60_000  # a render may reuse the ledger's numbers this long if nothing was written since
CHAIN_TIMEOUT_S = 1.0
LEDGER_TIMEOUT_S = 1.0  # how long a render waits for the ledger (a refresh of attribution: not at all)
INLINE_ATTRIBUTION_REQUESTS = 200  # a session up to this many requests is attributed within a render (~3 ms, a
                                   # fifth of one); a longer one by its Stop hooks, every turn (hooks/entry.py)
INGEST_BUDGET_S = 2.0  # a render reads at most about this long (the chunk that passes it is the last): the next
                       # render continues, so a long backlog never stalls the line nor gets it killed half-way
DAY_MS = 86_400_000


def _local_midnight_ms(now_ms: int) -> int:
    t = time.localtime(now_ms / 1000)
    return int(time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1)) * 1000)


def reading_row(s: Status, project: str | None, now_ms: int) -> list:
    """A row of the readings table (the order of its columns)."""
    return [s.session_id, now_ms, project, s.model_id, s.version, s.context_pct, s.context_tokens,
            s.context_size, s.five_hour_pct, s.five_hour_reset_ms, s.seven_day_pct, s.seven_day_reset_ms,
            s.cost_usd, s.duration_ms, fastjson.dumps(s.prompt_cache) if s.prompt_cache else None]


def _reading_key(s: Status) -> list:
    return [s.model_id, s.context_pct, s.five_hour_pct, s.seven_day_pct, s.cost_usd]


def record_reading(conn: sqlite3.Connection, s: Status, project: str | None, now_ms: int) -> bool:
    """One row per session per few seconds, unless a value changed."""
    last = conn.execute("SELECT ts_ms, model, context_used_pct, five_hour_pct, seven_day_pct, cost_usd FROM readings"
                        " WHERE session_id=? ORDER BY ts_ms DESC LIMIT 1", (s.session_id,)).fetchone()
    if last and now_ms - last[0] < READING_MIN_INTERVAL_MS and list(last[1:]) == _reading_key(s):
        return False
    conn.execute("INSERT OR REPLACE INTO readings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                 reading_row(s, project, now_ms))
    return True


# ------------------------------------------------------------------------- the no-SQLite fast path

def _cache_path(session: str) -> str:
    from ..base import paths
    return paths.session_state("status", session, ".json")


def _stamp(path: str | None) -> list | None:
    try:
        st = os.stat(path) if path else None
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino] if st else None


def _stamps(s: Status) -> list:
    """What must be unchanged for cached numbers to hold: the session transcript, the ledger itself (any
    commit by any process changes its WAL file), and what the budget mark depends on besides (the config,
    and `ccledger budget override`)."""
    from ..base import paths
    ledger = paths.ledger_path()
    return [_stamp(s.transcript_path), _stamp(ledger), _stamp(ledger + "-wal"), _stamp(paths.config_path()),
            _stamp(os.path.join(paths.state_dir(), "override.json"))]


def cached(s: Status, now_ms: int) -> dict | None:
    """The ledger's numbers from the last render of this session, if nothing was written since (same
    transcript bytes, same ledger files, empty spool) and they are under a minute old. Then the render
    needs no SQLite at all: status lines also run on timers, mode changes and in parallel sessions."""
    if not s.session_id:
        return None
    from ..ledger import spool
    try:
        with open(_cache_path(s.session_id), "rb") as handle:
            found = fastjson.loads(handle.read())
    except (OSError, ValueError):
        return None
    try:
        if os.path.getsize(spool._spool_path()) > 0:
            return None  # hook events to drain: take the ledger path
    except OSError:
        pass
    if type(found) is not dict or not 0 <= now_ms - found.get("ms", 0) < CACHE_MAX_AGE_MS:
        return None
    if found.get("stamp") != _stamps(s):
        return None
    values = found.get("values") or {}
    if values.get("budget_until_ms") and now_ms >= values["budget_until_ms"]:
        return None  # the override shown has ended
    if values.get("window"):
        values["window"] = windows.Window(*values["window"])
    return found


def remember(s: Status, values: dict, reading: list | None, now_ms: int) -> None:
    if s.session_id:
        body = {"ms": now_ms, "stamp": _stamps(s), "values": values, "reading": reading}
        paths.write_atomic(_cache_path(s.session_id), fastjson.dumps(body))


def spool_reading(s: Status, found: dict, now_ms: int) -> bool:
    """Record the reading through the spool (drained into the ledger later), throttled like record_reading.
    True if it did (the cache must then remember when)."""
    from ..ledger import spool
    last = found.get("reading") or [0, None]
    if now_ms - last[0] < READING_MIN_INTERVAL_MS and last[1] == _reading_key(s):
        return False
    project = os.path.basename(os.path.dirname(s.transcript_path)) if s.transcript_path else None
    spool.append({"e": "reading", "s": s.session_id, "t": now_ms, "d": reading_row(s, project, now_ms)})
    found["reading"] = [now_ms, _reading_key(s)]
    return True


def has_new_bytes(conn: sqlite3.Connection, path: str) -> bool:
    """Cheaper than an ingest attempt: the file's size, mtime and inode against what the ledger read."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    row = conn.execute("SELECT size, mtime_ns, inode, offset FROM files WHERE path=?", (path,)).fetchone()
    return row is None or row[:3] != (st.st_size, st.st_mtime_ns, st.st_ino) or row[3] != st.st_size


def gather(s: Status, now_ms: int, record: bool = True, budgeted: bool = True) -> dict:
    """Everything the line needs from the ledger (after recording and catching up)."""
    from ..ledger import db, spool
    values: dict = {}
    conn = db.connect(timeout=LEDGER_TIMEOUT_S)
    try:
        if os.path.exists(spool._spool_path()):
            from ..ledger import events
            events.drain(conn)
        project = None
        if s.transcript_path and os.path.isfile(s.transcript_path):
            project = os.path.basename(os.path.dirname(s.transcript_path))
            if has_new_bytes(conn, s.transcript_path):
                from ..ledger import ingest, pricing  # only when there is something to read
                done = ingest.ingest_file(conn, s.transcript_path, pricing.stored_overrides(conn), lock_timeout=0.0,
                                          deadline=time.monotonic() + INGEST_BUDGET_S)
                if done.stopped or done.busy:
                    values["_partial"] = True  # bytes left unread: these numbers must not be cached
        if s.session_id:
            if record:
                record_reading(conn, s, project, now_ms)
                values["_reading"] = [now_ms, _reading_key(s)]
            row = conn.execute("SELECT CAST(total(total_tokens) AS INTEGER), SUM(cost_usd), COUNT(*) FROM api_calls"
                               " WHERE session_id=?",
                               (s.session_id,)).fetchone()
            values.update(session_tokens=row[0], session_cost=row[1], session_requests=row[2])
            if row[2] <= INLINE_ATTRIBUTION_REQUESTS:
                refresh_attribution(conn, s.session_id)
            top = conn.execute("SELECT name, carried_tokens FROM attribution_top WHERE session_id=?",
                               (s.session_id,)).fetchone()
            if top and top[1]:
                values.update(top_name=top[0], top_tokens=top[1])
            if s.context_pct is None:
                last = conn.execute("SELECT input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens"
                                    " FROM api_calls WHERE session_id=? AND agent_id='' AND model != '<synthetic>'"
                                    " ORDER BY ts_ms DESC LIMIT 1", (s.session_id,)).fetchone()
                if last:
                    values["context_tokens"] = last[0]
        midnight = _local_midnight_ms(now_ms)
        values["today_cost"] = conn.execute("SELECT SUM(cost_usd) FROM api_calls WHERE ts_ms >= ? AND ts_ms < ?",
                                            (midnight, midnight + DAY_MS)).fetchone()[0] or 0.0
        if windows.official(s.five_hour_pct, s.five_hour_reset_ms, windows.BLOCK_MS, now_ms) is None:
            values["window"] = windows.estimate(conn, now_ms, windows.refresh_calibration(conn))
        if budgeted:
            from ..budgets import measure as budgets
            _, measures, _ = budgets.evaluate(conn, s.session_id, s.cwd, now_ms, s, announce_crossings=False,
                                           transcript=s.transcript_path)
            values.update(budgets.status_mark(measures, now_ms))
    finally:
        conn.close()
    return values


def refresh_attribution(conn: sqlite3.Connection, session: str) -> None:
    """Attribute a small session's new requests now, so that `top` is current after every response (the Stop
    hooks refresh larger ones, once a turn). Never waits for another writer: the next render tries again."""
    if conn.execute("SELECT 1 FROM dirty_sessions WHERE session_id=?", (session,)).fetchone() is None:
        return
    from ..ledger import attribution
    from ..ledger.sqlite import sqlite3 as sqlite
    conn.execute("PRAGMA busy_timeout=0")
    try:
        attribution.refresh(conn, [session])
    except sqlite.OperationalError as exc:  # busy: another writer holds the ledger
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(LEDGER_TIMEOUT_S * 1000)}")


def context_segment(s: Status, values: dict) -> tuple[str | None, float | None]:
    """(text of the percentage, value for colouring): official, computed from usage ('~'), or from the ledger."""
    if s.context_pct is not None:
        return ("" if s.context_official else "~") + units.pct(s.context_pct), s.context_pct
    tokens = values.get("context_tokens")
    if tokens:
        size = s.context_size or (1_000_000 if s.model_id and "[1m]" in s.model_id else 200_000)
        pct = min(100.0, tokens / size * 100)
        return "~" + units.pct(pct), pct
    return None, None


def window_text(w: windows.Window | None, now_ms: int) -> tuple[dict, float | None]:
    if w is None:
        return {}, None
    # no percentage known (an API-key user before any calibration): "?", never a bare "~" (doctor says why)
    pct = ("~" if w.estimate else "") + units.pct(w.pct) if w.pct is not None else "?"
    left = units.duration(w.reset_ms - now_ms) if w.reset_ms else "?"
    forecast = f" ⚠ out {units.clock(w.runs_out_ms, now_ms)}" if w.runs_out_ms else ""
    return {"pct": pct, "left": left, "forecast": forecast}, w.pct


def segments(s: Status, values: dict, config: dict, now_ms: int) -> dict[str, tuple[str, float | None]]:
    formats = dict(statusline_keys.DEFAULT_FORMATS, **(config.get("format") or {}))
    out: dict[str, tuple[str, float | None]] = {}

    def put(name: str, fields: dict, value: float | None = None) -> None:
        try:
            out[name] = (formats[name].format(**fields), value)
        except (KeyError, IndexError, ValueError):
            out[name] = (statusline_keys.DEFAULT_FORMATS[name].format(**fields), value)

    model = s.model_name or (s.model_id or "").removeprefix("claude-")
    if model:
        put("model", {"model": model, "id": s.model_id or ""})
    pct, value = context_segment(s, values)
    if pct:
        put("context", {"pct": pct, "tokens": units.tokens(s.context_tokens or values.get("context_tokens"))}, value)
    window = windows.official(s.five_hour_pct, s.five_hour_reset_ms, windows.BLOCK_MS, now_ms) or values.get("window")
    fields, value = window_text(window, now_ms)
    if fields:
        put("window", fields, value)
    fields, value = window_text(windows.official(s.seven_day_pct, s.seven_day_reset_ms, windows.WEEK_MS, now_ms),
                                now_ms)
    if fields:
        put("week", fields, value)
    if values.get("session_tokens"):
        put("session", {"tokens": units.tokens(values["session_tokens"]), "cost": units.money(values["session_cost"])})
    elif s.cost_usd:  # not in the ledger (yet): Claude Code's own estimate
        out["session"] = (f"session {units.money(s.cost_usd)}", None)
    if values.get("today_cost") is not None:
        put("today", {"cost": units.money(values["today_cost"])})
    if values.get("top_name"):
        put("top", {"name": values["top_name"], "tokens": units.tokens(values["top_tokens"])})
    if values.get("budget_mark"):
        put("budget", {"mark": values["budget_mark"]}, values.get("budget_level"))
    return out


def compose(s: Status, values: dict, config: dict, now_ms: int, warning: str | None = None) -> list[str]:
    """The lines; `warning` (a config mistake, named) leads the first one: Claude Code cuts a line's end."""
    made = segments(s, values, config, now_ms)
    thresholds = dict(statusline_keys.DEFAULT_THRESHOLDS, **(config.get("thresholds") or {}))
    color = render.use_color(config)
    separator = config.get("separator", " │ ")
    lines = []
    for names in (config.get("segments") or statusline_keys.DEFAULT_SEGMENTS, config.get("second_line") or []):
        parts = [(n, made[n][0], render.level(made[n][1], thresholds.get(n, [101, 101])))
                 for n in names if n in made]
        if warning and not lines:
            parts.insert(0, ("config", warning, 1))
        if parts:
            lines.append(render.fit(parts, render.columns(), color, separator))
    return lines


def with_chained(ours: list[str], theirs: list[str], separator: str) -> list[str]:
    """The user's own status line after ours: on our first line if it fits there whole, else on a line of its
    own. Ours is fitted first, so theirs never pushes ccledger's segments out."""
    if not theirs:
        return ours
    width = render.columns()
    joined = ours[0] + separator + theirs[0]
    if width is None or render.visible_len(joined) <= width:
        return [joined] + ours[1:] + theirs[1:]
    return ours + theirs


def chained_command(config: dict) -> str | None:
    """The statusLine the user had before installing ccledger (saved by the installer), if any."""
    try:
        from ..base import paths
        with open(os.path.join(paths.state_dir(), "install.json"), "rb") as handle:
            installs = (fastjson.loads(handle.read()) or {}).get("installs") or {}
    except (OSError, ValueError, AttributeError):
        return None
    settings = os.path.join(os.environ.get("CLAUDE_CONFIG_DIR", "").split(",")[0].strip()
                            or os.path.join(os.path.expanduser("~"), ".claude"), "settings.json")
    entry = installs.get(os.path.abspath(os.path.expanduser(settings)))
    if entry is None and len(installs) == 1:
        entry = next(iter(installs.values()))
    saved = (entry or {}).get("saved_statusline")
    command = saved.get("command") if type(saved) is dict else None
    return command if type(command) is str and command.strip() else None


def run_chained(command: str, raw: bytes, timeout: float) -> list[str]:
    import subprocess
    try:
        result = subprocess.run(command, shell=True, input=raw, capture_output=True, timeout=timeout,
                                env=dict(os.environ, CCLEDGER_CHAINED="1"))
    except subprocess.TimeoutExpired:
        errlog.record("statusline", f"chained status line timed out after {timeout}s: {command}", False)
        return []
    except OSError as exc:
        errlog.record("statusline", f"chained status line failed: {exc}", False)
        return []
    return [line for line in result.stdout.decode("utf-8", "replace").splitlines() if line.strip()]


def build(raw: bytes, now_ms: int, record: bool = True) -> list[str]:
    try:
        obj = fastjson.loads(raw) if raw.strip() else None
    except ValueError as exc:
        errlog.record("statusline", f"stdin is not JSON ({exc}): showing a minimal line", False)
        obj = None
    s = status_payload.parse(obj)
    if not raw.strip():
        errlog.record("statusline", "stdin is empty: showing a minimal line", False)
    elif obj is not None and s.faults:
        errlog.record("statusline", "; ".join(s.faults), False)
    everything, broken, line = userconfig.load_checked()
    config, warning = userconfig.statusline(everything, broken, line)
    values: dict = {}
    try:
        found = cached(s, now_ms) if record else None
        if found is not None:
            values = found["values"]
            if spool_reading(s, found, now_ms):
                remember(s, dict(values), found["reading"], found["ms"])
        else:
            values = gather(s, now_ms, record, userconfig.has_budgets(everything))
            reading = values.pop("_reading", None)
            partial = values.pop("_partial", False)
            if record and not partial:
                remember(s, dict(values), reading, now_ms)
    except Exception as exc:  # noqa: BLE001 - the ledger is optional for a line
        errlog.record("statusline", exc)
    lines = compose(s, values, config, now_ms, warning) or ["ccledger"]
    command = None if os.environ.get("CCLEDGER_CHAINED") else chained_command(config)
    if command:
        theirs = run_chained(command, raw, float(config.get("chain_timeout", CHAIN_TIMEOUT_S)))
        lines = with_chained(lines, theirs, render.styled(config.get("separator", " │ "), render.use_color(config)))
    return lines


def main(argv: list[str] | None = None) -> int:
    try:
        raw = sys.stdin.buffer.read()
    except Exception:  # noqa: BLE001
        raw = b""
    try:
        lines = build(raw, int(time.time() * 1000))
    except BaseException as exc:  # noqa: BLE001 - never break the status bar
        errlog.record("statusline", exc)
        lines = ["ccledger"]
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except Exception:  # noqa: BLE001
        pass
    return 0
