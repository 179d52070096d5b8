"""Budgets on the hot path: measure each configured limit, announce each threshold once, arm the gates.

Limits (config.toml, [budgets]): the 5-hour window and 7-day used % (official
when Claude Code has reported them, else the calibrated estimate), cost per
day / ISO week / month, tokens per session, tokens added by one tool result,
carried tokens or cost per MCP server per day. Each has warn thresholds
(percent of the limit) and an optional action at 100%: `ask` or `deny` the
next tool call (PreToolUse), `block` the next prompt (UserPromptSubmit).

Evaluation needs the ledger, so it runs where the ledger is open anyway
(PostToolUse and Stop, asynchronously; the status line refreshes the gates).
A crossing is recorded in budget_alerts so it is told once per window, day,
session or call. The gating hooks read only a small precomputed file
(state/gate/<session>.json, else _global.json): no SQLite before a tool call.
"""
from __future__ import annotations

import os
import time

from ..base import fastjson, paths, units
from ..config import read as userconfig
from ..ledger import windows
from . import gate

DEFAULT_WARN = [50, 80, 95]
ACTIONS = ("none", "warn", "ask", "deny", "block")
# kind -> (unit, config key of the amount, default amount)
KINDS = {
    "window": ("pct", "limit", 100.0), "week": ("pct", "limit", 100.0),
    "daily": ("usd", "usd", None), "weekly": ("usd", "usd", None), "monthly": ("usd", "usd", None),
    "session": ("tokens", "tokens", None), "tool_result": ("tokens", "tokens", None),
}
GLOBAL_KINDS = ("window", "week", "daily", "weekly", "monthly", "mcp")
DAY_MS = 86_400_000
TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3


class Limit:
    """One configured limit. For MCP: `server` None applies to every server not in `exclude`."""
    __slots__ = ("key", "kind", "unit", "amount", "warn", "action", "server", "exclude")

    def __init__(self, key: str, kind: str, unit: str, amount: float, warn: list, action: str,
                 server: str | None = None) -> None:
        self.key, self.kind, self.unit, self.amount = key, kind, unit, amount
        self.warn, self.action, self.server, self.exclude = warn, action, server, ()


class Measure:
    """One limit's value now. period: what a crossing is remembered for (window reset, day, session...);
    forecast: the value at the period's end at the average pace so far (costs), or when a window runs out
    (epoch ms), when known."""
    __slots__ = ("limit", "value", "period", "until_ms", "label", "note", "forecast")

    def __init__(self, limit: Limit, value: float, period: str, until_ms: int | None, label: str,
                 note: str = "", forecast: float | None = None) -> None:
        self.limit, self.value, self.period, self.until_ms, self.label, self.note = \
            limit, value, period, until_ms, label, note
        self.forecast = forecast

    @property
    def pct(self) -> float:
        return self.value / self.limit.amount * 100 if self.limit.amount else 0.0


# ---------------------------------------------------------------------------------- configuration

def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if type(value) is dict and type(out.get(key)) is dict else value
    return out


def effective(config: dict, cwd: str | None) -> tuple[dict, bool]:
    """The budgets for this cwd: [budgets] with the longest matching [projects."<path>"] merged in."""
    budgets = config.get("budgets") if type(config.get("budgets")) is dict else {}
    projects = config.get("projects") if type(config.get("projects")) is dict else {}
    if cwd:
        here = os.path.abspath(cwd)
        for path in sorted(projects, key=len, reverse=True):
            root = os.path.abspath(os.path.expanduser(path))
            extra = projects[path].get("budgets") if type(projects[path]) is dict else None
            if type(extra) is dict and (here == root or here.startswith(root.rstrip(os.sep) + os.sep)):
                return _merge(budgets, extra), True
    return budgets, False


def _limit(key: str, kind: str, spec: dict, amount_key: str, unit: str, default: float | None,
           server: str | None = None) -> Limit | None:
    amount = spec.get(amount_key, default)
    warn = spec.get("warn", [100] if kind == "tool_result" else DEFAULT_WARN)
    action = spec.get("action", "none")
    if amount is None:
        return None
    if type(amount) not in (int, float) or amount <= 0 or type(warn) is not list or action not in ACTIONS or \
            not all(type(w) in (int, float) and 0 < w <= 1000 for w in warn):
        raise ValueError(f"budgets.{key.rsplit('.', 1)[0]}: invalid value (see `ccledger config check`)")
    return Limit(key, kind, unit, float(amount), sorted(float(w) for w in warn), action, server)


def limits(budgets: dict) -> list[Limit]:
    """Every active limit; ValueError names the first invalid one."""
    found = []
    for kind, (unit, amount_key, default) in KINDS.items():
        spec = budgets.get(kind)
        if type(spec) is dict:
            limit = _limit(f"{kind}.{amount_key}", kind, spec, amount_key, unit, default)
            if limit:
                found.append(limit)
    mcp = budgets.get("mcp")
    if type(mcp) is dict:
        servers = mcp.get("servers") if type(mcp.get("servers")) is dict else {}
        base = {k: v for k, v in mcp.items() if k != "servers"}
        named = tuple(n for n, spec in servers.items() if type(spec) is dict)
        for name, spec in [(None, base)] + [(n, _merge(base, servers[n])) for n in named]:
            for amount_key, unit in (("usd", "usd"), ("carried_tokens", "tokens")):
                key = f"mcp.{amount_key}" if name is None else f"mcp.servers.{name}.{amount_key}"
                limit = _limit(key, "mcp", spec, amount_key, unit, None, name)
                if limit:
                    limit.exclude = named if name is None else ()
                    found.append(limit)
    return found


def load(cwd: str | None) -> tuple[list[Limit], bool, bool]:
    """(limits, notify_model, project-specific); no limits (and one logged line) if the config is invalid."""
    config = userconfig.load()
    budgets, scoped = effective(config, cwd)
    try:
        return limits(budgets), budgets.get("notify_model") is True, scoped
    except ValueError as exc:
        userconfig.note_once("budgets", f"{exc}; budgets are off until it is fixed")
        return [], False, scoped


def needs_attribution(cwd: str | None) -> bool:
    """Tool-result and MCP limits are measured from the attribution table: it must be current."""
    found, _, _ = load(cwd)
    return any(limit.kind in ("tool_result", "mcp") for limit in found)


# ---------------------------------------------------------------------------------- measuring

def _local_start(now_ms: int, kind: str) -> tuple[int, int, str]:
    """[start, end) of the local day / ISO week / month holding now, and its name."""
    t = time.localtime(now_ms / 1000)
    if kind == "monthly":
        start = (t.tm_year, t.tm_mon, 1)
        end = (t.tm_year + (t.tm_mon == 12), t.tm_mon % 12 + 1, 1)
        name = f"{t.tm_year}-{t.tm_mon:02d}"
    else:
        back = t.tm_wday if kind == "weekly" else 0
        day = time.localtime(time.mktime((t.tm_year, t.tm_mon, t.tm_mday - back, 12, 0, 0, 0, 0, -1)))
        start = (day.tm_year, day.tm_mon, day.tm_mday)
        end = (day.tm_year, day.tm_mon, day.tm_mday + (7 if kind == "weekly" else 1))
        name = time.strftime("%Y-%m-%d", day)

    def ms(ymd: tuple) -> int:
        return int(time.mktime((*ymd, 0, 0, 0, 0, 0, -1)) * 1000)
    return ms(start), ms(end), name


def _window(conn: sqlite3.Connection, kind: str, now_ms: int, status) -> windows.Window | None:
    pct_col, reset_col, length = (("five_hour_pct", "five_hour_reset_ms", windows.BLOCK_MS) if kind == "window"
                                  else ("seven_day_pct", "seven_day_reset_ms", windows.WEEK_MS))
    if status is not None:
        found = windows.official(getattr(status, pct_col), getattr(status, reset_col), length, now_ms)
        if found:
            return found
    row = conn.execute(f"SELECT {pct_col}, {reset_col} FROM readings WHERE {reset_col} > ? AND {pct_col} IS NOT NULL"
                       " ORDER BY ts_ms DESC LIMIT 1", (now_ms,)).fetchone()
    if row:
        return windows.official(row[0], row[1], length, now_ms)
    if kind == "window":
        return windows.estimate(conn, now_ms, windows.refresh_calibration(conn))
    return None


def measure(conn: sqlite3.Connection, found: list[Limit], session: str | None, now_ms: int,
            status=None) -> list[Measure]:
    out: list[Measure] = []
    for limit in found:
        kind = limit.kind
        if kind in ("window", "week"):
            w = _window(conn, kind, now_ms, status)
            if w is not None and w.pct is not None:
                name = "5-hour window" if kind == "window" else "7-day limit"
                note = (" (estimate)" if w.estimate else "") + (
                    f", resets in {units.duration(w.reset_ms - now_ms)}" if w.reset_ms else "") + (
                    f", at this pace it runs out at {units.clock(w.runs_out_ms, now_ms)}" if w.runs_out_ms else "")
                out.append(Measure(limit, w.pct, str(w.reset_ms or w.start_ms), w.reset_ms,
                                   f"{name} at {units.pct(w.pct)}", note, w.runs_out_ms))
        elif kind in ("daily", "weekly", "monthly"):
            start, end, name = _local_start(now_ms, kind)
            cost = conn.execute("SELECT SUM(cost_usd) FROM api_calls WHERE ts_ms >= ? AND ts_ms < ?",
                                (start, end)).fetchone()[0] or 0.0
            pace = cost / max(now_ms - start, 1) * (end - start)
            noun = {"daily": "today's", "weekly": "this week's", "monthly": "this month's"}[kind]
            out.append(Measure(limit, cost, name, end, f"{noun} cost {units.money(cost)} of "
                               f"{units.money(limit.amount)}", f", {units.money(pace)} at this pace", pace))
        elif kind == "session" and session:
            tokens = conn.execute("SELECT CAST(total(total_tokens) AS INTEGER) FROM api_calls WHERE session_id=?",
                                  (session,)).fetchone()[0] or 0
            out.append(Measure(limit, tokens, session, None, f"this session used {units.tokens(tokens)} of "
                               f"{units.tokens(limit.amount)} tokens"))
        elif kind == "tool_result" and session:
            out += _tool_results(conn, limit, session)
        elif kind == "mcp":
            out += _mcp(conn, limit, now_ms)
    return out


def _tool_results(conn: sqlite3.Connection, limit: Limit, session: str) -> list[Measure]:
    floor = limit.amount * (limit.warn[0] if limit.warn else 100) / 100
    return [Measure(limit, marginal, call, None, f"{name} added {units.tokens(marginal)} tokens",
                    f"; re-read each turn until the next compaction ({units.tokens(carried)} carried so far)")
            for call, name, marginal, carried in conn.execute(
                "SELECT a.owner, t.tool_name, CAST(total(a.marginal_tokens) AS INTEGER),"
                " CAST(total(a.carried_tokens) AS INTEGER) FROM attribution a"
                " JOIN tool_calls t ON t.tool_use_id = a.owner WHERE a.session_id=? GROUP BY 1"
                " HAVING total(a.marginal_tokens) >= ?", (session, floor))]


def _mcp(conn: sqlite3.Connection, limit: Limit, now_ms: int) -> list[Measure]:
    start, end, day = _local_start(now_ms, "daily")
    column = "SUM(a.carried_cost + a.output_cost)" if limit.unit == "usd" else \
        "CAST(total(a.carried_tokens) AS INTEGER)"
    if limit.server:
        where, params = "AND t.mcp_server = ?", [limit.server]
    else:
        where, params = f"AND t.mcp_server NOT IN ({','.join('?' * len(limit.exclude))})", list(limit.exclude)
    out = []
    for server, value in conn.execute(
            f"SELECT t.mcp_server, {column} FROM attribution a JOIN tool_calls t ON t.tool_use_id = a.owner"
            f" WHERE t.mcp_server IS NOT NULL AND a.ts_ms >= ? AND a.ts_ms < ? {where} GROUP BY 1",
            [start, end] + params):
        shown = units.money(value) if limit.unit == "usd" else units.tokens(value) + " carried tokens"
        cap = units.money(limit.amount) if limit.unit == "usd" else units.tokens(limit.amount)
        out.append(Measure(limit, value or 0, f"{server}:{day}", end,
                           f"MCP server {server} used {shown} of {cap} today"))
    return out


# ---------------------------------------------------------------------------------- acting

def _message(m: Measure) -> str:
    plain_pct = m.limit.kind in ("window", "week") and m.limit.amount == 100  # the label says it already
    share = "" if plain_pct else f" ({units.pct(m.pct)} of the limit)"
    return f"ccledger: {m.label}{share}{m.note}."


def announce(conn: sqlite3.Connection, measures: list[Measure], session: str | None,
             now_ms: int) -> list[tuple[str, str]]:
    """(limit key, message) for thresholds crossed since last time, each recorded so it is told once per
    period. The key lets a gating hook leave out the warning of a limit it denies or blocks on: the reason
    says it already (see gate.respond)."""
    messages = []
    for m in measures:
        crossed = [t for t in set(m.limit.warn) | {100.0} if m.pct >= t]  # reaching the limit is always told
        if not crossed:
            continue
        fresh = 0
        for t in crossed:
            fresh += conn.execute("INSERT OR IGNORE INTO budget_alerts VALUES (?,?,?,?,?,?)",
                                  (m.limit.key, m.period, t, now_ms, m.value, session)).rowcount
        if fresh:
            messages.append((m.limit.key, _message(m)))
    return messages


NAMES = {"window": "5-hour window", "week": "7-day window", "daily": "daily", "weekly": "weekly",
         "monthly": "monthly", "session": "session", "tool_result": "tool result"}


def _amount(limit: Limit) -> str:
    return units.money(limit.amount) if limit.unit == "usd" else f"{limit.amount:,.0f} tokens"


def _reason(m: Measure) -> str:
    """What Claude Code shows for a denied call or blocked prompt, short enough for its panel (2.1.332 shows a
    deny as `Reason: PreToolUse:Bash hook error: <reason>` and cuts it after three lines): which limit, how far
    past it, and the way on, in that order."""
    name = f"MCP {m.period.split(':')[0]}" if m.limit.kind == "mcp" else NAMES[m.limit.kind]
    what = (f"{name} at {units.pct(m.value)} (limit {m.limit.amount:g}%)" if m.limit.unit == "pct" else
            f"{name} budget {_amount(m.limit)} used {units.pct(m.pct)}")
    return f"ccledger: {what} — `ccledger budget override --for 1h` to go on"


def decisions(measures: list[Measure]) -> list[dict]:
    """Armed actions: a limit with ask/deny/block whose value reached 100%."""
    armed = []
    for m in measures:
        if m.limit.action in ("ask", "deny", "block") and m.pct >= 100:
            armed.append({"limit": m.limit.key, "kind": m.limit.kind, "action": m.limit.action, "reason": _reason(m),
                          "until_ms": m.until_ms, "once": m.limit.kind == "tool_result", "period": m.period})
    return armed


def accounted(conn: sqlite3.Connection, session: str | None, transcript: str | None, settled: tuple = ()) -> dict:
    """What a measurement made now accounts for, read before measuring (the ledger only grows): the
    transcript bytes ingested (not the file's size: it may have grown since), and which of the tool calls
    noted by the session's PreToolUse hooks the ledger holds, or are `settled` (a hook stopped waiting for
    them, now or before: not waited for again). See gate.py."""
    out: dict = {}
    if not session:
        return out
    # the size the ledger has read completely (-1 while a file is read half-way), not the file's: a gate
    # must not claim bytes an interrupted ingest left unread
    row = conn.execute("SELECT size FROM files WHERE path=?", (transcript,)).fetchone() if transcript else None
    out["transcript_size"] = row[0] if row else None
    noted = gate.noted_calls(session)
    ask = [c for c in noted if c not in settled]
    held = {r[0] for r in conn.execute(
        f"SELECT tool_use_id FROM tool_calls WHERE message_id IS NOT NULL AND tool_use_id IN "
        f"({','.join('?' * len(ask))})", ask)} if ask else set()
    out["calls"] = sorted(c for c in noted if c in held or c in settled)
    return out


def write_gates(session: str | None, armed: list[dict], scoped: bool, now_ms: int, consumed: tuple = (),
                account: dict | None = None) -> dict | None:
    """The precomputed rows the gating hooks read. Session-wide limits in the session's file (with what they
    account for, so a gating hook can tell they are stale: see accounted()); the cwd-independent ones also
    in _global.json (for sessions not yet evaluated) unless project-scoped. Returns the session's gate."""
    account = account or {}
    armed = [d for d in armed if not (d["once"] and d["period"] in consumed)]
    record = None
    if session:
        record = {"computed_ms": now_ms, "armed": armed, "consumed": list(consumed), **account}
        paths.write_atomic(gate.path(session), fastjson.dumps(record))
    if not scoped:
        shared = [d for d in armed if d["kind"] in GLOBAL_KINDS]
        paths.write_atomic(gate.path(None), fastjson.dumps({
            "computed_ms": now_ms, "armed": shared, "config": account.get("config")}))
    return record


def evaluate(conn: sqlite3.Connection, session: str | None, cwd: str | None, now_ms: int, status=None,
             announce_crossings: bool = True, transcript: str | None = None,
             settled: tuple = ()) -> tuple[list[str], list[Measure], dict | None]:
    """Measure the limits, refresh the gate files, and queue new crossings for the session's next
    synchronous hook (see gate.py). Returns (messages, measures, the session's gate); a no-op without
    budgets."""
    version = userconfig.stamp()  # before reading the config: a change after it makes this gate stale
    found, notify, scoped = load(cwd)
    if not found:
        return [], [], None
    before = (gate.read(gate.path(session)) or {}) if session else {}
    settled = tuple(settled) + tuple(before.get("calls") or ())  # held or settled stays so
    account = {"config": version, **accounted(conn, session, transcript, settled)}
    measures = measure(conn, found, session, now_ms, status)
    announced = announce(conn, measures, session, now_ms) if announce_crossings else []
    consumed = tuple((gate.read(gate.path(session)) or {}).get("consumed") or ()) if session else ()
    record = write_gates(session, decisions(measures), scoped, now_ms, consumed, account)
    if session:
        gate.queue(session, announced, notify)
    return [text for _, text in announced], measures, record


def status_mark(measures: list[Measure], now_ms: int) -> dict:
    """The status line's budget segment: the limit closest to (or past) its end; `⛔` when its action is
    armed, `⏸ … until 15:40` while `ccledger budget override` lifts the actions."""
    if not measures:
        return {}
    top = max(measures, key=lambda m: m.pct)
    name = top.limit.key.split(".")[0] if top.limit.kind != "mcp" else f"mcp {top.period.split(':')[0]}"
    text = f"{name} {units.pct(top.pct)}"
    until = gate.override_until(now_ms)
    if until is not None:
        return {"budget_mark": f"⏸ {text} until {units.clock(until, now_ms)}", "budget_level": top.pct,
                "budget_until_ms": until}
    armed = top.limit.action in ("ask", "deny", "block") and top.pct >= 100
    warned = bool(top.limit.warn) and top.pct >= top.limit.warn[0]
    mark = ("⛔ " if armed else "⚠ " if warned else "") + text
    return {"budget_mark": mark, "budget_level": top.pct}
