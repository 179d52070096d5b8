"""The gating hooks' only read: a small precomputed file, so PreToolUse and UserPromptSubmit stay cheap.

budgets.py writes state/gate/<session>.json (and _global.json for sessions not
yet evaluated) whenever it measures the limits; this module turns it into the
decision Claude Code expects, unless `ccledger budget override` is in force.
No SQLite here: a tool call should not wait for the ledger.
"""
from __future__ import annotations

import os

from . import fastjson, paths


def path(session: str | None) -> str:
    name = "_global" if not session else "".join(c if c.isalnum() or c in "-_" else "_" for c in session)
    return os.path.join(paths.state_dir(), "gate", f"{name}.json")


def read(file: str) -> dict | None:
    try:
        with open(file, "rb") as handle:
            value = fastjson.loads(handle.read())
        return value if type(value) is dict else None
    except (OSError, ValueError):
        return None


def overridden(now_ms: int) -> bool:
    found = read(os.path.join(paths.state_dir(), "override.json"))
    return bool(found) and type(found.get("until_ms")) in (int, float) and now_ms < found["until_ms"]


def decide(event: str, session: str | None, now_ms: int) -> dict | None:
    """PreToolUse: ask/deny; UserPromptSubmit: block. None lets the call or prompt through."""
    if not os.path.isdir(os.path.join(paths.state_dir(), "gate")):
        return None  # budgets were never evaluated: one stat and done
    found = read(path(session)) if session else None
    if found is None:
        found = read(path(None)) or {}
    wanted = ("ask", "deny") if event == "PreToolUse" else ("block",)
    live = [d for d in found.get("armed") or () if type(d) is dict and d.get("action") in wanted
            and (d.get("until_ms") is None or now_ms < d["until_ms"])]
    if not live or overridden(now_ms):
        return None
    first = max(live, key=lambda d: d["action"] == "deny")
    if first.get("once") and session:
        _consume(session, first)
    if event == "PreToolUse":
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": first["action"],
                                       "permissionDecisionReason": first["reason"]}}
    return {"decision": "block", "reason": first["reason"]}


def _consume(session: str, decision: dict) -> None:
    """A one-shot decision (after one oversized tool result) applies to the next call only."""
    from .userconfig import write_atomic
    file = path(session)
    found = read(file) or {}
    found["armed"] = [d for d in found.get("armed") or () if d != decision]
    found["consumed"] = list(found.get("consumed") or ()) + [decision.get("period")]
    write_atomic(file, fastjson.dumps(found))
