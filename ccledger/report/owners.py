"""Reports on who consumed the tokens: tools, MCP servers, subagents (from the attribution table).

cost_usd of a row = the cost of its carried tokens (each re-read priced at the
request that re-read it) + the cost of the output tokens that produced it.
"""
from __future__ import annotations

import sqlite3

from ..ledger import attribution
from . import usage
from .rollup import total as _total

ERRORS = "status IN ('error', 'interrupted', 'denied')"
_SUMS = (f"{_total('a.marginal_tokens')}, {_total('a.carried_tokens')}, {_total('a.output_tokens')},"
         " SUM(a.marginal_cost), SUM(a.carried_cost), SUM(a.output_cost)")


def _where(flt: usage.Filters, alias: str, ts: str) -> tuple[str, list]:
    """Session, project and date filters on a table with session_id, project and a time column."""
    plain = usage.Filters(flt.zone, flt.since_ms, flt.until_ms, flt.project, flt.session)
    where, params = plain.where(alias)
    return where.replace(f"{alias}.ts_ms", f"{alias}.{ts}"), params


def _measures(row: dict, marginal: int, carried: int, output: int, m_cost: float, c_cost: float,
              o_cost: float) -> dict:
    row.update(marginal_tokens=marginal or 0, carried_tokens=carried or 0, output_tokens=output or 0,
               marginal_cost_usd=round(m_cost or 0, 6), carried_cost_usd=round(c_cost or 0, 6),
               output_cost_usd=round(o_cost or 0, 6), cost_usd=round((c_cost or 0) + (o_cost or 0), 6))
    return row


def _call_stats(conn: sqlite3.Connection, flt: usage.Filters, key: str, extra: str = "") -> dict:
    where, params = _where(flt, "t", "started_ms")
    stats = {}
    for name, server, calls, errors, interrupted, denied, mean in conn.execute(
            f"SELECT {key}, mcp_server, COUNT(*), SUM(status = 'error'), SUM(status = 'interrupted'),"
            " SUM(status = 'denied'), AVG(CASE WHEN coalesce(duration_ms, ended_ms - started_ms) >= 0"
            " THEN coalesce(duration_ms, ended_ms - started_ms) END)"
            f" FROM tool_calls t WHERE {where} AND tool_name != '' {extra} GROUP BY 1, 2", params):
        stats[(name, server)] = {"calls": calls, "errors": errors or 0, "interrupted": interrupted or 0,
                                 "denied": denied or 0, "mean_duration_ms": None if mean is None else round(mean)}
    return stats


def _no_calls() -> dict:
    return {"calls": 0, "errors": 0, "interrupted": 0, "denied": 0, "mean_duration_ms": None}


def tools(conn: sqlite3.Connection, flt: usage.Filters) -> list[dict]:
    """One row per owner: each tool by name, and base/user/assistant/other, so the rows add up."""
    attribution.refresh(conn)
    where, params = _where(flt, "a", "ts_ms")
    stats = _call_stats(conn, flt, "tool_name")
    rows = []
    for owner, server, *sums in conn.execute(
            "SELECT CASE WHEN t.tool_name IS NULL OR t.tool_name = '' THEN"
            f" CASE WHEN a.owner IN {attribution.NON_TOOL} THEN a.owner ELSE 'other' END"
            " ELSE t.tool_name END, t.mcp_server,"
            f" {_SUMS} FROM attribution a LEFT JOIN tool_calls t ON t.tool_use_id = a.call_id"
            f" WHERE {where} GROUP BY 1, 2", params):
        row = {"owner": owner, "mcp_server": server, **stats.pop((owner, server), _no_calls())}
        rows.append(_measures(row, *sums))
    for (owner, server), calls in stats.items():  # calls seen by hooks or transcripts without usage
        rows.append(_measures({"owner": owner, "mcp_server": server, **calls}, 0, 0, 0, 0, 0, 0))
    rows.sort(key=lambda r: (-r["cost_usd"], -r["carried_tokens"], r["owner"]))
    return rows


def mcp(conn: sqlite3.Connection, flt: usage.Filters, by_tool: bool) -> list[dict]:
    attribution.refresh(conn)
    where, params = _where(flt, "a", "ts_ms")
    key = "t.mcp_server, t.mcp_tool" if by_tool else "t.mcp_server, NULL"
    stats = _call_stats(conn, flt, "mcp_tool" if by_tool else "NULL", "AND mcp_server IS NOT NULL")
    rows = []
    for server, tool, *sums in conn.execute(
            f"SELECT {key}, {_SUMS} FROM attribution a JOIN tool_calls t ON t.tool_use_id = a.owner"
            f" WHERE {where} AND t.mcp_server IS NOT NULL GROUP BY 1, 2", params):
        row = {"mcp_server": server, **({"mcp_tool": tool} if by_tool else {}),
               **stats.pop((tool, server), _no_calls())}
        rows.append(_measures(row, *sums))
    for (tool, server), calls in stats.items():
        rows.append(_measures({"mcp_server": server, **({"mcp_tool": tool} if by_tool else {}), **calls},
                              0, 0, 0, 0, 0, 0))
    rows.sort(key=lambda r: (-r["cost_usd"], -r["carried_tokens"], r["mcp_server"] or "", r.get("mcp_tool") or ""))
    return rows


def agents(conn: sqlite3.Connection, flt: usage.Filters) -> list[dict]:
    """One row per subagent: its whole spend, rolled up to the Agent/Task call that started it."""
    attribution.refresh(conn)
    where, params = usage.Filters(flt.zone, flt.since_ms, flt.until_ms, flt.project, flt.session).where("c")
    rows = []
    for session, agent, project, inp, out, cw, cr, cost, n, first, last in conn.execute(
            f"SELECT c.session_id, c.agent_id, c.project, {_total('input_tokens')}, {_total('output_tokens')},"
            f" {_total('cache_write_5m + cache_write_1h')}, {_total('cache_read_tokens')}, SUM(cost_usd), COUNT(*),"
            f" MIN(ts_ms), MAX(ts_ms) FROM api_calls c WHERE {where} AND c.agent_id != '' AND model != '<synthetic>'"
            " GROUP BY 1, 2", params):
        meta = conn.execute("SELECT agent_type, description, parent_tool_use_id FROM agents"
                            " WHERE session_id=? AND agent_id=?", (session, agent)).fetchone() or (None, None, None)
        parent = conn.execute("SELECT tool_use_id, tool_name, duration_ms, status FROM tool_calls"
                              " WHERE subagent_id=? AND session_id=?", (agent, session)).fetchone()
        parent_id = parent[0] if parent else meta[2]
        inside = conn.execute(f"SELECT COUNT(*), SUM({ERRORS}) FROM tool_calls WHERE session_id=? AND agent_id=?",
                              (session, agent)).fetchone()
        own = conn.execute(f"SELECT {_SUMS} FROM attribution a WHERE session_id=? AND agent_id=?",
                           (session, agent)).fetchone()
        result = conn.execute(f"SELECT {_SUMS} FROM attribution a WHERE session_id=? AND owner=?",
                              (session, parent_id or "")).fetchone()
        row = usage.empty()
        usage.add(row, inp or 0, out or 0, cw or 0, cr or 0, cost or 0.0, n)
        spend = round(row.pop("cost_usd"), 6)
        measures = [sum(v or 0 for v in pair) for pair in zip(own, result)]
        kind = meta[0] or ("compaction" if agent.startswith("acompact") else None)
        rows.append(_measures({
            "session_id": session, "project": project, "agent_id": agent, "name": agent_name(agent, kind, meta[1]),
            "agent_type": kind, "description": meta[1], "parent_tool_use_id": parent_id,
            "parent_tool": parent[1] if parent else None, "calls": inside[0], "errors": inside[1] or 0,
            "mean_duration_ms": parent[2] if parent else None, "spend_cost_usd": spend, **row,
            "first_activity": usage.periods.iso_ms(first), "last_activity": usage.periods.iso_ms(last),
        }, *measures))
    rows.sort(key=lambda r: (-r["cost_usd"], -r["carried_tokens"], r["agent_id"]))
    return rows


def agent_name(agent_id: str, agent_type: str | None, description: str | None) -> str:
    """What a person recognises a subagent by: its type and the description it was started with (stored only
    with `[privacy] store_descriptions`), else its type and a short id."""
    if agent_id == "sidechain":  # Claude Code 1.0.x wrote subagent lines into the session without an id
        return "subagents (inline, 1.0.x)"
    kind = agent_type or "subagent"
    if description and description.strip():
        return f"{kind}: {' '.join(description.split())}"
    short = agent_id.split("-", 1)[1] if agent_id.startswith(("acompact-", "sidechain-")) else agent_id[:8]
    return f"{kind} {short}"


def context_tokens(conn: sqlite3.Connection, flt: usage.Filters) -> int:
    """input + cache writes + cache reads over every request in scope: what carried tokens add up to."""
    where, params = flt.where()
    return conn.execute(f"SELECT {_total('input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens')}"
                        f" FROM api_calls WHERE {where} AND model != '<synthetic>'", params).fetchone()[0] or 0


def totals(rows: list[dict]) -> dict:
    keys = ("calls", "errors", "marginal_tokens", "carried_tokens", "output_tokens", "marginal_cost_usd",
            "carried_cost_usd", "output_cost_usd", "cost_usd")
    total = {k: sum(r.get(k) or 0 for r in rows) for k in keys}
    for k in keys:
        if k.endswith("usd"):
            total[k] = round(total[k], 6)
    return total
