"""Every input token has an owner: the base context, prompts, the model's own output, or a tool call.

Per conversation chain (the main loop, or one subagent), request k reads a
context C_k = input + cache writes + cache reads. Between requests k-1 and k
the context grows by what was appended: request k-1's output (owned by its
tool_use blocks by input size and by 'assistant' by text size), then the tool
results, prompts and attachments that came back (owned in proportion to their
size). That share is the owner's *marginal* tokens, measured by the API, not
guessed from bytes; re-read by every later request while it stays in the
context, it costs *carried* tokens (marginal x requests that re-read it, until
the next compaction). The first request of a segment (the session start, or a
compaction summary) is 'base'.

Content also leaves without a compaction (cleared tool results, dropped
thinking, a rewritten history): C_k is then smaller than what came before plus
what was appended. The owners whose content left stop being carried from that
request on: a tool whose result the request content shows cleared (a 2.1.3xx
`api-request-blob` holding a placeholder; a 'cleared' context item) loses what
its result held; whatever else left is taken from the owners still in the
context in proportion to what each has there, and what was appended at such a
step is owned at the chain's own measured tokens per byte. So no owner is ever
negative, and at every request the owners' tokens in the context add up to C_k.

Splits are done in whole tokens, so the carried tokens of all owners add up
exactly to the sum of C_k over the chain; costs use each request's own input
price per token, so they add up to the input cost too.

A subagent's own tools keep their names; its base, prompts and text roll up to
the Agent/Task call that started it (`call_id`), so `report tools` rows still
add up and `report agents` can show each subagent's whole spend.
"""
from __future__ import annotations

from collections import defaultdict

from . import db, pricing
from .transcript import MAX_TOKENS

TYPE_CHECKING = False  # annotations only: the hot path avoids importing sqlite3.dbapi2
if TYPE_CHECKING:
    import sqlite3

BASE, USER, ASSISTANT, OTHER = "base", "user", "assistant", "other"
NON_TOOL = (BASE, USER, ASSISTANT, OTHER)
TOKENS_PER_BYTE = 0.25  # appended text in tokens per byte (~4 bytes a token) until a chain has measured its own
_ITEM_OWNER = {"user": USER, "other": OTHER, "summary": BASE}


def split(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` in proportion to weights (equal if all zero), summing exactly to total."""
    if len(weights) < 2:
        return [total] if weights else []
    if not any(w > 0 for w in weights):
        weights = [1.0] * len(weights)
    weights = [max(w, 0.0) for w in weights]
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    shares = [int(r // 1) for r in raw]
    rest = total - sum(shares)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - shares[i], reverse=True)
    for i in order[:rest]:
        shares[i] += 1
    return shares


class _Owner:
    __slots__ = ("marginal", "carried", "output", "m_cost", "c_cost", "o_cost", "ts")

    def __init__(self) -> None:
        self.marginal = self.carried = self.output = 0
        self.m_cost = self.c_cost = self.o_cost = 0.0
        self.ts = 0


class _Request:
    __slots__ = ("key", "ts", "offset", "context", "output", "in_rate", "out_rate", "text", "tools")

    def __init__(self, row: tuple, prices: dict) -> None:
        (_, self.ts, self.offset, mid, rid, inp, cw5, cw1h, cr, out, model, speed, geo, web, self.text) = row
        self.key = (mid, rid)
        self.context = inp + cw5 + cw1h + cr
        self.output = out
        if model not in prices:
            prices[model] = pricing.lookup(model)
        in_cost, out_cost = pricing.split_cost(prices[model], model, inp, cw5, cw1h, cr, out, speed, geo, web)
        self.in_rate = in_cost / self.context if self.context else 0.0
        self.out_rate = out_cost / out if out else 0.0
        self.tools: list[tuple[str, int]] = []


def _chain(owners: dict, requests: list[_Request], events: list[tuple], results: dict[str, int]) -> None:
    """Attribute one chain. events: (ts, offset, kind, owner, size); kind 'compact' starts a segment, kind
    'cleared' says a tool's result left the context before the next request (size: the bytes it kept there).
    results: the bytes of each tool's result as it came back."""
    timeline = [(r.ts, 1, r.offset, "request", r) for r in requests]
    timeline += [(ts, 0, offset, kind, (owner, size)) for ts, offset, kind, owner, size in events]
    timeline.sort(key=lambda e: e[:3])
    segments: list[list] = [[]]   # each: [(request, items appended just before it, results cleared just before it)]
    pending: list[tuple[str, int]] = []
    cleared: list[tuple[str, int]] = []
    for _, _, _, kind, value in timeline:
        if kind == "compact":
            if segments[-1]:
                segments.append([])
            pending, cleared = [], []
        elif kind == "request":
            segments[-1].append((value, pending, cleared))
            pending, cleared = [], []
        elif kind == "cleared":
            cleared.append(value)
        else:
            pending.append(value)
    ratio = _tokens_per_byte(segments)
    for segment in segments:
        _segment(owners, segment, ratio, results)


def _tokens_per_byte(segments: list[list]) -> float:
    """Tokens per byte of appended items, as this chain's requests measured them where the context grew: at a
    step where it shrank the API tells only the net change, and this says how much the new items hold."""
    tokens = size = 0
    for segment in segments:
        for k in range(1, len(segment)):
            req, appended, _ = segment[k]
            prev = segment[k - 1][0]
            grown = req.context - prev.context - prev.output
            added = sum(s for _, s in appended)
            if grown > 0 and added > 0:
                tokens += grown
                size += added
    return min(max(tokens / size, 0.1), 1.0) if size else TOKENS_PER_BYTE


def shares(total: int, weights: list[int]) -> list[int]:
    """Integer shares of `total` in proportion to integer weights, computed exactly (no floats, whatever the
    size); each share is at most its weight when total <= sum(weights)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    rest = total - sum(parts)
    if rest:
        order = sorted(range(len(weights)), key=lambda i: (total * weights[i]) % whole, reverse=True)
        for i in order[:rest]:
            parts[i] += 1
    return parts


def _add(owners: dict, owner: str, share: int, count: int, rate: float, later_rate: float, ts: int) -> None:
    o = owners.get(owner)
    if o is None:
        o = owners[owner] = _Owner()
        o.ts = ts
    o.marginal += share
    o.carried += share * count
    o.m_cost += share * rate
    o.c_cost += share * later_rate


def _segment(owners: dict, segment: list, ratio: float, results: dict[str, int]) -> None:
    """One stretch between compactions. Each owner's tokens in the context (`live`) are carried by every later
    request until they leave it; the live tokens always add up to the request's context, so the carried tokens
    add up to the segment's input tokens, and no owner goes below zero."""
    n = len(segment)
    if not n:
        return
    later = [0.0] * (n + 1)  # later[k]: sum of input price per token of requests k..n-1
    for k in range(n - 1, -1, -1):
        later[k] = later[k + 1] + segment[k][0].in_rate
    live: dict[str, int] = {}    # tokens each owner has in the context now
    gained: dict[str, int] = {}  # tokens each owner added in this segment

    def add(owner: str, share: int, k: int, req: _Request) -> None:
        if share:
            _add(owners, owner, share, n - k, req.in_rate, later[k], req.ts)
            live[owner] = live.get(owner, 0) + share
            gained[owner] = gained.get(owner, 0) + share

    def drop(owner: str, share: int, k: int) -> None:
        """`share` of the owner's tokens left the context before request k: requests k..n-1 do not carry them."""
        o = owners[owner]
        o.carried -= share * (n - k)
        o.c_cost -= share * later[k]
        live[owner] -= share

    first = segment[0][0]
    add(BASE, first.context, 0, first)
    held = first.context  # the sum of live
    for k in range(1, n):
        req, appended, cleared = segment[k]
        prev = segment[k - 1][0]
        for tool, kept in cleared:  # the request content says this result left (all but `kept` bytes of it)
            have = live.get(tool, 0)
            whole = results.get(tool) or 0
            keep = gained.get(tool, 0) * kept // whole if kept < whole else have
            if keep < have:
                drop(tool, have - keep, k)
                held -= have - keep
        delta = req.context - held
        if delta >= 0:
            echo = min(prev.output, delta)
            fresh = delta - echo
        else:  # more left than the transcript named: the owners still in the context lose it by their share
            echo = min(prev.output, req.context)
            fresh = min(int(ratio * sum(size for _, size in appended)), req.context - echo) if appended else 0
            holders = [(owner, have) for owner, have in live.items() if have > 0]
            for (owner, _), share in zip(holders, shares(held - req.context + echo + fresh,
                                                         [have for _, have in holders])):
                if share:
                    drop(owner, share, k)
        names = [t for t, _ in prev.tools] + [ASSISTANT]
        for owner, share in zip(names, split(echo, [size for _, size in prev.tools] + [prev.text])):
            add(owner, share, k, req)
        if fresh > 0 and appended:
            for (owner, _), share in zip(appended, split(fresh, [size for _, size in appended])):
                add(owner, share, k, req)
        elif fresh > 0:
            add(OTHER, fresh, k, req)
        held = req.context
    for req, _, _ in segment:
        names = [t for t, _ in req.tools] + [ASSISTANT]
        for owner, share in zip(names, split(req.output, [size for _, size in req.tools] + [req.text])):
            if share:
                o = owners.get(owner)
                if o is None:
                    o = owners[owner] = _Owner()
                    o.ts = req.ts
                o.output += share
                o.o_cost += share * req.out_rate


# Token counts as ingest admits them (0..MAX_TOKENS): a poisoned row in an older ledger cannot push a
# carried sum past SQLite's 64-bit integers, nor make an owner negative.
_TOKENS = ", ".join(f"max(0, min({c}, {MAX_TOKENS}))" for c in (
    "input_tokens", "cache_write_5m", "cache_write_1h", "cache_read_tokens", "output_tokens"))


def attribute(conn: sqlite3.Connection, session: str) -> list[tuple]:
    """Attribution rows for one session (see the attribution table in schema.py)."""
    prices: dict = {}
    chains: dict[str, list[_Request]] = defaultdict(list)
    project = ""
    for row in conn.execute(
            f"SELECT agent_id, ts_ms, offset, message_id, request_id, {_TOKENS}, model, speed, geo, web_searches,"
            " text_bytes, project"
            " FROM api_calls WHERE session_id=? AND model != '<synthetic>' ORDER BY agent_id, ts_ms, offset",
            (session,)):
        chains[row[0]].append(_Request(row[:15], prices))
        project = row[15]
    events: dict[str, list[tuple]] = defaultdict(list)
    by_key = {(agent, r.key): r for agent, reqs in chains.items() for r in reqs}
    parents: dict[str, str] = {}
    results: dict[str, int] = {}  # tool_use_id -> bytes of its result
    for tid, agent, mid, rid, size_in, size_out, ended, sub in conn.execute(
            "SELECT tool_use_id, agent_id, message_id, request_id, input_bytes, result_bytes, ended_ms, subagent_id"
            " FROM tool_calls WHERE session_id=?", (session,)):
        req = by_key.get((agent, (mid, rid)))
        if req is not None:
            req.tools.append((tid, size_in or 0))
        if ended is not None and tid not in results:
            results[tid] = size_out or 0
            events[agent].append((ended, 0, "tool", tid, size_out or 0))
        if sub:
            parents[sub] = tid
    for agent, parent in conn.execute(
            "SELECT agent_id, parent_tool_use_id FROM agents WHERE session_id=? AND parent_tool_use_id IS NOT NULL",
            (session,)):
        parents.setdefault(agent, parent)
    seen_items: set[tuple] = set()
    for agent, ts, offset, kind, size, tool in conn.execute(
            "SELECT agent_id, ts_ms, offset, kind, bytes, owner FROM context_items WHERE session_id=?", (session,)):
        if (agent, ts, kind, size, tool) in seen_items:  # a progress-line copy of a subagent's own line
            continue
        seen_items.add((agent, ts, kind, size, tool))
        events[agent].append((ts, offset, kind, tool if kind == "cleared" else _ITEM_OWNER.get(kind, OTHER), size))
    rows = []
    for agent, requests in chains.items():
        owners: dict[str, _Owner] = {}
        _chain(owners, requests, events.get(agent, []), results)
        parent = parents.get(agent) if agent else None
        for owner, o in owners.items():
            call = parent if owner in NON_TOOL else owner
            rows.append((session, agent, owner, call, project, o.ts, o.marginal, o.carried, o.output,
                         o.m_cost, o.c_cost, o.o_cost))
    return rows


def refresh_now_and_then(conn: sqlite3.Connection, session: str, interval_s=None) -> bool:
    """The hooks' form: attribution of a long session costs tens of ms, so a hook recomputes it only when
    the interval its last refresh chose has passed (`interval_s()`, asked after a refresh and kept in the
    stamp file, so a hook that skips pays one open, not a query; 60 s without it). True if it ran."""
    import os
    import time

    from ..base import paths
    if not session:  # no session has no attribution, and no stamp file: the name would be the folder's
        return False
    stamp = paths.session_state("attributed", session)
    try:
        with open(stamp, "rb") as handle:
            wait = float(handle.read(32) or 60.0)
        if time.time() - os.path.getmtime(stamp) < wait:
            return False
    except (OSError, ValueError):
        pass
    refresh(conn, [session])
    paths.write_atomic(stamp, repr(interval_s() if interval_s else 60.0))  # a new mtime; 0600 like every file
    return True


def refresh(conn: sqlite3.Connection, sessions: list[str] | None = None) -> int:
    """Recompute attribution for sessions whose facts changed (all dirty ones when None)."""
    dirty = [r[0] for r in conn.execute("SELECT session_id FROM dirty_sessions")]
    todo = dirty if sessions is None else sorted(set(sessions) & set(dirty))
    for session in todo:
        seen = conn.execute("PRAGMA data_version").fetchone()[0]
        rows = attribute(conn, session)  # outside the write lock: other writers are not held up meanwhile
        with db.transaction(conn):
            if conn.execute("PRAGMA data_version").fetchone()[0] != seen:
                # another process committed since, maybe to this session: its dirty mark is cleared below, so
                # the rows must include what it wrote (computed again, under the lock)
                rows = attribute(conn, session)
            conn.execute("DELETE FROM attribution WHERE session_id=?", (session,))
            conn.executemany("INSERT INTO attribution VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.execute("DELETE FROM dirty_sessions WHERE session_id=?", (session,))
            conn.execute("DELETE FROM attribution_top WHERE session_id=?", (session,))
            conn.execute(
                "INSERT INTO attribution_top SELECT a.session_id, CASE WHEN t.mcp_server IS NOT NULL"
                " THEN 'mcp:' || t.mcp_server ELSE t.tool_name END, SUM(a.carried_tokens) FROM attribution a"
                " JOIN tool_calls t ON t.tool_use_id = a.owner WHERE a.session_id=? AND t.tool_name != ''"
                " GROUP BY 2 ORDER BY 3 DESC LIMIT 1", (session,))
    return len(todo)
