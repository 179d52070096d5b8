"""What the synchronous hooks say: gate decisions and queued warnings, from small precomputed files.

budgets.py writes state/gate/<session>.json (and _global.json for sessions not
yet evaluated) whenever it measures the limits; this module turns it into the
decision Claude Code expects, unless `ccledger budget override` is in force.

Warnings are measured by asynchronous hooks (PostToolUse, Stop), but Claude
Code hands an async hook's output to the model on the next turn, and our
warnings are for the user only. So they are queued in state/warnings/ and
printed as `systemMessage` by the next synchronous hook of the session
(UserPromptSubmit, PreToolUse, SessionStart), which Claude Code shows to the
user. No SQLite here: a tool call should not wait for the ledger.
"""
from __future__ import annotations

import os

from . import fastjson, paths


def path(session: str | None) -> str:
    return paths.session_state("gate", session or "_global", ".json")


def _queue_path(session: str) -> str:
    return paths.session_state("warnings", session or "_global", ".jsonl")


def queue(session: str, messages: list[str], notify_model: bool) -> None:
    """Keep warnings for the session's next synchronous hook (one appended line each)."""
    if not messages:
        return
    file = _queue_path(session)
    paths.ensure_dir(os.path.dirname(file))
    data = "".join(fastjson.dumps({"text": m, "model": notify_model}) + "\n" for m in messages).encode()
    fd = os.open(file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def take(session: str) -> list[dict]:
    """The queued warnings, removed (renamed away first, so two hooks never show them twice)."""
    file = _queue_path(session)
    taken = f"{file}.{os.getpid()}.taken"
    try:
        os.rename(file, taken)
    except OSError:
        return []
    try:
        with open(taken, "rb") as handle:
            lines = handle.read().splitlines()
    finally:
        os.remove(taken)
    out = []
    for line in lines:
        try:
            item = fastjson.loads(line)
        except ValueError:
            continue
        if type(item) is dict and type(item.get("text")) is str:
            out.append(item)
    return out


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


def actionable(config: dict) -> bool:
    """Does any limit (global or per project) ask, deny or block? Only then may a gate be stale."""
    def walk(value: object) -> bool:
        if type(value) is dict:
            return value.get("action") in ("ask", "deny", "block") or any(walk(v) for v in value.values())
        return False
    return walk(config.get("budgets")) or walk(config.get("projects"))


def stale(payload: dict) -> bool:
    """True when armed-able limits exist and the session's gate does not account for its transcript yet:
    the caller measures first (synchronously), so the very next call is gated, not the one after."""
    from . import userconfig
    if not actionable(userconfig.load()):
        return False
    transcript = payload.get("transcript_path")
    try:
        size = os.path.getsize(transcript) if type(transcript) is str else None
    except OSError:
        size = None
    found = read(path(payload.get("session_id")))
    return found is None or (size is not None and size != found.get("transcript_size"))


def respond(event: str, session: str | None, now_ms: int) -> dict | None:
    """The synchronous hooks' answer: queued warnings for the user, and for PreToolUse/UserPromptSubmit the
    gate decision. None: print nothing."""
    if not os.path.isdir(os.path.join(paths.state_dir(), "gate")):
        return None  # budgets were never evaluated: one stat and done
    body = decide(event, session, now_ms) if event in ("PreToolUse", "UserPromptSubmit") else None
    warnings = take(session) if session else []
    if warnings:
        body = dict(body or {})
        body["systemMessage"] = "\n".join(w["text"] for w in warnings)
        for_model = "\n".join(w["text"] for w in warnings if w.get("model"))
        if for_model:
            specific = body.setdefault("hookSpecificOutput", {"hookEventName": event})
            specific["additionalContext"] = for_model
    return body


def decide(event: str, session: str | None, now_ms: int) -> dict | None:
    """PreToolUse: ask/deny; UserPromptSubmit: block. None lets the call or prompt through."""
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
