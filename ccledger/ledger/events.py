"""Spooled hook events -> ledger rows (hook_events, tool_calls, agents).

Hooks know what transcripts lack or write late: when a tool really started and
how long it ran, whether it failed, was interrupted or denied, which subagent
it started, the prompt id. They carry no token usage; transcripts do. Both
describe a tool call by the same tool_use_id, so their facts merge into one
row. Hook status wins over the status read from a transcript.
"""
from __future__ import annotations

from ..base import fastjson
from . import db, spool
from .ingest import split_mcp

TYPE_CHECKING = False  # annotations only: the hot path avoids importing sqlite3.dbapi2
if TYPE_CHECKING:
    import sqlite3

_STATUS = {"post": "ok", "denied": "denied"}


def _fits(value: object) -> bool:
    """Can SQLite store it? A spool line written by an older hook may hold a duration of 10**30, which would
    stop this drain and every later one."""
    return type(value) is not int or -(1 << 63) <= value < 1 << 63  # type: ignore[operator]

_TOOL_SQL = """
INSERT INTO tool_calls (tool_use_id, session_id, project, agent_id, tool_name, mcp_server, mcp_tool, input_bytes,
    result_bytes, status, started_ms, ended_ms, duration_ms, prompt_id, subagent_id, from_hook)
VALUES (?,?,?,?,coalesce(?, ''),?,?,?,?,?,?,?,?,?,?,1)
ON CONFLICT (tool_use_id) DO UPDATE SET
    tool_name=CASE WHEN tool_calls.tool_name = '' THEN excluded.tool_name ELSE tool_calls.tool_name END,
    mcp_server=coalesce(tool_calls.mcp_server, excluded.mcp_server),
    mcp_tool=coalesce(tool_calls.mcp_tool, excluded.mcp_tool),
    agent_id=CASE WHEN tool_calls.from_transcript THEN tool_calls.agent_id ELSE excluded.agent_id END,
    input_bytes=coalesce(tool_calls.input_bytes, excluded.input_bytes),
    result_bytes=coalesce(tool_calls.result_bytes, excluded.result_bytes),
    status=coalesce(excluded.status, tool_calls.status),
    started_ms=coalesce(tool_calls.started_ms, excluded.started_ms),
    ended_ms=coalesce(excluded.ended_ms, tool_calls.ended_ms),
    duration_ms=coalesce(excluded.duration_ms, tool_calls.duration_ms),
    prompt_id=coalesce(excluded.prompt_id, tool_calls.prompt_id),
    subagent_id=coalesce(excluded.subagent_id, tool_calls.subagent_id),
    from_hook=1
"""


def _tool_row(r: dict) -> tuple | None:
    kind, tool_id = r.get("e"), r.get("tu")
    if not tool_id or kind not in ("pre", "post", "fail", "denied"):
        return None
    detail = r.get("d") or {}
    name = r.get("n") or None
    server, tool = split_mcp(name) if name else (None, None)
    status = _STATUS.get(kind) or (detail.get("st") if kind == "fail" else None)
    start = r["t"] if kind == "pre" else None
    end = r["t"] if kind in ("post", "fail") else None
    sizes = [v if _fits(v) else None for v in (detail.get("in"), detail.get("out"), detail.get("ms"))]
    return (tool_id, r.get("s") or "", r.get("pj") or "", r.get("a") or "", name, server, tool, sizes[0],
            sizes[1], status, start, end, sizes[2], r.get("p"), detail.get("sub"))


def apply(conn: sqlite3.Connection, records: list[dict]) -> None:
    """Idempotent: events are keyed by their spool id, tool facts merge by tool_use_id; status line
    readings (spooled when a render did not open the ledger) go to the readings table."""
    readings = [r["d"] for r in records if r.get("e") == "reading" and type(r.get("d")) is list and len(r["d"]) == 15
                and all(map(_fits, r["d"]))]
    records = [r for r in records if r.get("e") != "reading"]
    with db.transaction(conn):
        conn.executemany("INSERT OR REPLACE INTO readings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", readings)
        conn.executemany(
            "INSERT OR IGNORE INTO hook_events VALUES (?,?,?,?,?,?,?,?,?)",
            [(r["id"], r.get("t") or 0, r.get("s") or "", r.get("e") or "", r.get("tu"), r.get("a"), r.get("p"),
              r.get("n"), fastjson.dumps(r["d"]) if r.get("d") else None) for r in records])
        rows = [row for row in map(_tool_row, records) if row]
        conn.executemany(_TOOL_SQL, rows)
        agents = []
        for r in records:
            detail = r.get("d") or {}
            if r.get("e") in ("subagent_start", "subagent_stop") and r.get("a"):
                agents.append((r.get("s") or "", r["a"], detail.get("type"), None, None))
            elif r.get("e") == "post" and detail.get("sub"):
                agents.append((r.get("s") or "", detail["sub"], detail.get("subtype"), None, r.get("tu")))
        conn.executemany(
            "INSERT INTO agents VALUES (?,?,?,?,?) ON CONFLICT (session_id, agent_id) DO UPDATE SET"
            " agent_type=coalesce(excluded.agent_type, agents.agent_type),"
            " parent_tool_use_id=coalesce(excluded.parent_tool_use_id, agents.parent_tool_use_id)", agents)
        conn.executemany("INSERT OR IGNORE INTO dirty_sessions VALUES (?)",
                         {(r.get("s"),) for r in records if r.get("s")})


def drain(conn: sqlite3.Connection) -> int:
    return spool.drain(lambda records: apply(conn, records))
