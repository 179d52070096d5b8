"""The Claude Code hook entry: record every event, never break the session.

Claude Code runs this on every hook event with the payload on stdin. Recording
events append one line to the spool and exit (no SQLite: see spool.py); Stop,
SubagentStop, PreCompact and SessionEnd also drain the spool and ingest the
session's new transcript bytes, so the ledger is current within a turn.
Whatever happens: exit 0, nothing on stdout unless it is a decision or a
message meant for Claude Code, and faults go to the error log.
"""
from __future__ import annotations

import os
import sys
import time

from ..base import errlog, fastjson
from ..ledger import spool

_dumps = fastjson.dumps
SESSION_END_BUDGET_S = 1.2   # Claude Code gives all SessionEnd hooks 1.5 s together
SESSION_END_MAX_BYTES = 4 << 20
MAX_DURATION_MS = 10**12     # ~31 years: a larger (or negative, or non-finite) duration_ms is not kept
BUDGET_SHARE = 0.5  # of an event's timeout (hookspec) spent ingesting: a hook ends on its own, never killed
# Claude Code appends to its transcripts from a queue flushed every 100 ms (FLUSH_INTERVAL_MS in 2.1.332),
# later on a busy machine: how long a gating hook waits for the previous tool call's request to be written.
FLUSH_WAIT_S = 0.5
ATTRIBUTION_S_PER_REQUEST = 15e-6  # attributing a session costs about this per request (342 in 4.6 ms)
ATTRIBUTION_PACE = 10              # so a hook refreshes it at most once per ten times what that costs,
ATTRIBUTION_FLOOR_S = 5.0          # and a long one not twice within a few seconds (Stop fires once a turn)
ATTRIBUTION_SHORT = 200            # requests: a session this short is cheap (~3 ms) and attributed every Stop


def _size(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is str:
        return len(value.encode("utf-8", "replace"))
    return len(_dumps(value).encode("utf-8", "replace"))


def _base(payload: dict, kind: str) -> dict:
    record = {"e": kind, "s": payload.get("session_id")}
    for key, field in (("a", "agent_id"), ("p", "prompt_id"), ("tu", "tool_use_id"), ("n", "tool_name")):
        value = payload.get(field)
        if type(value) is str and value:
            record[key] = value
    project = os.path.basename(os.path.dirname(payload.get("transcript_path") or "")) or None
    if project:
        record["pj"] = project
    return record


def _tool_event(payload: dict, kind: str) -> dict:
    record = _base(payload, kind)
    detail: dict = {}
    if "tool_input" in payload:
        detail["in"] = _size(payload["tool_input"])
    if kind == "post":
        response = payload.get("tool_response")
        detail["out"] = _size(response)
        if type(response) is dict and type(response.get("agentId")) is str:
            detail["sub"] = response["agentId"]
            if type(response.get("agentType")) is str:
                detail["subtype"] = response["agentType"]
    elif kind == "fail":
        detail["st"] = "interrupted" if payload.get("is_interrupt") else "error"
    duration = payload.get("duration_ms")
    if type(duration) in (int, float) and 0 <= duration <= MAX_DURATION_MS:  # a spooled 10**30 would stop
        detail["ms"] = int(duration)                                          # every later drain
    record["d"] = detail
    if "tu" not in record:
        errlog.record("hook", f"{payload.get('hook_event_name')} without tool_use_id "
                              f"(tool {payload.get('tool_name')!r}): recorded without a call id", False)
    return record


def _simple(kind: str, *fields: str):
    def build(payload: dict) -> dict:
        record = _base(payload, kind)
        detail = {f: payload[f] for f in fields if type(payload.get(f)) in (str, int, float, bool)}
        if kind == "prompt" and type(payload.get("prompt")) is str:
            detail = {"len": len(payload["prompt"])}  # the size only: prompt text is never stored
        if kind == "batch" and type(payload.get("tool_calls")) is list:
            detail = {"ids": [c.get("tool_use_id") for c in payload["tool_calls"] if type(c) is dict]}
        if kind in ("subagent_start", "subagent_stop") and type(payload.get("agent_type")) is str:
            detail["type"] = payload["agent_type"]
        if detail:
            record["d"] = detail
        return record
    return build


RECORDERS = {
    "PreToolUse": lambda p: _tool_event(p, "pre"),
    "PostToolUse": lambda p: _tool_event(p, "post"),
    "PostToolUseFailure": lambda p: _tool_event(p, "fail"),
    "PermissionDenied": lambda p: _tool_event(p, "denied"),
    "PostToolBatch": _simple("batch"),
    "SessionStart": _simple("session_start", "source", "model"),
    "UserPromptSubmit": _simple("prompt"),
    "SubagentStart": _simple("subagent_start"),
    "SubagentStop": _simple("subagent_stop"),
    "PreCompact": _simple("pre_compact", "trigger"),
    "PostCompact": _simple("post_compact", "trigger"),
    "Stop": _simple("stop"),
    "StopFailure": _simple("stop_failure", "error"),
    "SessionEnd": _simple("session_end", "reason"),
}
CATCH_UP = {"Stop", "SubagentStop", "PreCompact", "SessionEnd"}
SYNC = {"PreToolUse", "UserPromptSubmit", "SessionStart"}  # registered synchronously: they may speak
AFTER_TOOL = {"PostToolUse", "PostToolUseFailure"}


def budgets_configured() -> bool:
    from ..config import read as userconfig
    return userconfig.has_budgets(userconfig.load())


def catch_up(payload: dict, budget_s: float | None = None, expected: str | None = None) -> dict | None:
    """Drain the spool, ingest this session's new transcript bytes (and its subagents'), and measure the
    budgets (new warnings are queued for the next synchronous hook: an async hook's output would reach
    the model, not the user). `expected`: a tool call the transcript must hold before measuring (see
    gate.check); waited for up to FLUSH_WAIT_S. Returns the session's gate as measured, if it was.

    Ingesting stops after the chunk that passes the budget (`budget_s`, else BUDGET_SHARE of the event's
    timeout), and attribution and budgets are left for later when it did: Claude Code kills a hook at its
    timeout, and the next hook or ingest continues from what was committed."""
    from ..ledger import attribution, db, events, ingest, pricing  # sqlite3 only where needed
    from .spec import EVENTS
    budgets = None
    if budgets_configured():
        from ..budgets import measure as budgets
    started = time.monotonic()
    timeout = EVENTS.get(payload.get("hook_event_name"), (False, 10))[1]  # type: ignore[arg-type]
    deadline = started + (budget_s if budget_s is not None else timeout * BUDGET_SHARE)
    targets = [payload.get(k) for k in ("transcript_path", "agent_transcript_path")]
    targets = [t for t in targets if type(t) is str and t]
    for target in targets:
        if not os.path.isfile(target):  # only regular files are read: a FIFO or device would block or never end
            problem = "is not a regular file" if os.path.exists(target) else "does not exist"
            errlog.record("hook", f"{payload.get('hook_event_name')}: transcript {target} {problem}", False)
    conn = db.connect(timeout=5.0)
    try:
        events.drain(conn)
        overrides = pricing.stored_overrides(conn)
        files = ingest.session_files(targets)
        for number, path in enumerate(files):
            if number and time.monotonic() >= deadline:  # the first file gets a chunk at least: progress
                return None
            if budget_s is not None and ingest.pending_bytes(conn, path) > SESSION_END_MAX_BYTES:
                continue  # too much for SessionEnd's budget: the next ingest takes it
            if ingest.ingest_file(conn, path, overrides, 0.0 if budget_s else 2.0, deadline).stopped:
                return None
        settled: tuple = ()
        if expected and budget_s is None and not _await_call(conn, expected, targets, overrides):
            errlog.record("hook", f"{payload.get('hook_event_name')}: tool call {expected} was not in the transcript "
                                  f"after {FLUSH_WAIT_S} s; measured without it", False)
            settled = (expected,)  # not waited for again
        ingest.session_metas(conn, files)
        session = payload.get("session_id")
        if type(session) is str and (budget_s is None or time.monotonic() - started < budget_s / 2):
            if budgets and budgets.needs_attribution(payload.get("cwd")):
                attribution.refresh(conn, [session])  # a tool-result or MCP limit is measured from it
            else:
                attribution.refresh_now_and_then(conn, session, lambda: attribution_interval_s(conn, session))
        if budget_s is None and budgets:
            transcript = payload.get("transcript_path")
            return budgets.evaluate(conn, session if type(session) is str else None, payload.get("cwd"),
                                    int(time.time() * 1000), transcript=transcript if type(transcript) is str else None,
                                    settled=settled)[2]
        return None
    finally:
        conn.close()


def attribution_interval_s(conn, session: str) -> float:
    """How long after its last refresh a session's attribution is refreshed again: the status line's `top`
    must be current after each turn, but a long session costs tens of ms to attribute, so at most a tenth of
    the time goes to it, and a long one never twice within ATTRIBUTION_FLOOR_S (20,000 requests: every 3 s)."""
    requests = conn.execute("SELECT COUNT(*) FROM api_calls WHERE session_id=?", (session,)).fetchone()[0]
    pace = requests * ATTRIBUTION_S_PER_REQUEST * ATTRIBUTION_PACE
    return pace if requests <= ATTRIBUTION_SHORT else max(ATTRIBUTION_FLOOR_S, pace)


def _holds(conn, call: str) -> bool:
    """Has the line of the request that made this tool call been ingested?"""
    return conn.execute("SELECT 1 FROM tool_calls WHERE tool_use_id=? AND message_id IS NOT NULL",
                        (call,)).fetchone() is not None


def _await_call(conn, call: str, targets: list[str], overrides: dict) -> bool:
    """Wait for Claude Code to write the request that made `call` (the previous tool call of the hook's
    thread): ingest whatever the session's transcripts gain, up to FLUSH_WAIT_S. True once it is in."""
    from ..ledger import ingest
    deadline = time.monotonic() + FLUSH_WAIT_S

    def sizes(files: list[str]) -> list:
        out = []
        for path in files:
            try:
                out.append(os.path.getsize(path))
            except OSError:
                out.append(None)
        return out
    files = ingest.session_files(targets)
    seen = (files, sizes(files))
    while not _holds(conn, call):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
        files = ingest.session_files(targets)
        now = (files, sizes(files))
        if now != seen:
            seen = now
            for path in files:
                ingest.ingest_file(conn, path, overrides, lock_timeout=2.0)
    return True


def handle(payload: dict) -> dict | None:
    event = payload.get("hook_event_name")
    recorder = RECORDERS.get(event)  # type: ignore[arg-type]
    if recorder is None:
        return None  # an event this version does not know: ignored quietly
    if type(payload.get("session_id")) is not str:
        errlog.record("hook", f"{event} payload without session_id: ignored", False)
        return None
    spool.append(recorder(payload))
    if event == "UserPromptSubmit" and type(payload.get("prompt")) is str and "/ccledger:" in payload["prompt"]:
        from . import commands  # /ccledger:usage and :tools, answered on screen (no model request)
        answered = commands.answer(payload)
        if answered is not None:
            return answered
    if event in SYNC:
        from ..budgets import gate
        found = None
        if event != "SessionStart":
            stale, expected = gate.check(payload)
            if stale:
                found = catch_up(payload, expected=expected)
        return gate.respond(event, payload["session_id"], int(time.time() * 1000), found)
    if event in CATCH_UP or (event in AFTER_TOOL and budgets_configured()):
        catch_up(payload, SESSION_END_BUDGET_S if event == "SessionEnd" else None)
    return None


def main(argv: list[str] | None = None) -> int:
    try:
        raw = sys.stdin.buffer.read()
        try:
            payload = fastjson.loads(raw) if raw.strip() else None
        except ValueError as exc:
            errlog.record("hook", f"stdin is not JSON ({exc}); {len(raw)} bytes ignored", False)
            return 0
        if type(payload) is not dict:
            errlog.record("hook", "stdin is empty or not a JSON object: ignored", False)
            return 0
        output = handle(payload)
        if output:
            sys.stdout.write(_dumps(output))
            sys.stdout.flush()
    except BaseException as exc:  # noqa: BLE001 - a hook must never break the session
        errlog.record("hook", exc)
    return 0

