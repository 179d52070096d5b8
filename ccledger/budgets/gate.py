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

A gate file says what it accounts for: the transcript bytes ingested when it
was measured, the config version, and which tool calls the ledger held. The
last of these is there because Claude Code writes its transcripts from a queue
it flushes every 100 ms: a PreToolUse hook can run before the request that
made the previous tool call has reached the file, and the file's size alone
then looks current. So each PreToolUse notes its tool_use_id (state/calls/
<session>/<thread>), and the next synchronous hook of that thread (the main
conversation or one subagent) counts the gate as current only if it holds
that call; if not, the hook measures first and waits for the line.
"""
from __future__ import annotations

import os

from ..base import fastjson, paths


def path(session: str | None) -> str:
    return paths.session_state("gate", session or "_global", ".json")


def _queue_path(session: str) -> str:
    return paths.session_state("warnings", session or "_global", ".jsonl")


def queue(session: str, messages: list[tuple[str, str]], notify_model: bool) -> None:
    """Keep warnings, (limit key, text), for the session's next synchronous hook (one appended line each)."""
    if not messages:
        return
    file = _queue_path(session)
    paths.ensure_dir(os.path.dirname(file))
    data = "".join(fastjson.dumps({"text": text, "limit": key, "model": notify_model}) + "\n"
                   for key, text in messages).encode()
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


def override_until(now_ms: int) -> int | None:
    """When the override `ccledger budget override` wrote ends, if one is in force."""
    found = read(os.path.join(paths.state_dir(), "override.json"))
    until = found.get("until_ms") if found else None
    return int(until) if type(until) in (int, float) and now_ms < until else None


def overridden(now_ms: int) -> bool:
    return override_until(now_ms) is not None


def actionable(config: dict) -> bool:
    """Does any limit (global or per project) ask, deny or block? Only then may a gate be stale."""
    def walk(value: object) -> bool:
        if type(value) is dict:
            return value.get("action") in ("ask", "deny", "block") or any(walk(v) for v in value.values())
        return False
    return walk(config.get("budgets")) or walk(config.get("projects"))


def _thread(payload: dict) -> str:
    """The thread of the session a hook belongs to: "" for the main conversation, else the subagent's id."""
    agent = payload.get("agent_id")
    return agent if type(agent) is str else ""


def _calls_dir(session: str) -> str:
    return paths.session_state("calls", session)


def _calls_path(session: str, thread: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in thread)
    return os.path.join(_calls_dir(session), f"agent-{safe}" if thread else "main")


def last_call(session: str, thread: str) -> str | None:
    """The tool call the last PreToolUse of this thread of the session was for."""
    try:
        with open(_calls_path(session, thread), "rb") as handle:
            return handle.read().decode("utf-8", "replace") or None
    except OSError:
        return None


def noted_calls(session: str) -> list[str]:
    """The last tool call of each thread of the session: what a measurement reports it holds (or not)."""
    folder = _calls_dir(session)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = []
    for name in names:
        if name.endswith(".tmp"):
            continue
        try:
            with open(os.path.join(folder, name), "rb") as handle:
                found.append(handle.read().decode("utf-8", "replace"))
        except OSError:
            continue
    return [call for call in found if call]


def thread_transcript(transcript: str, thread: str) -> str | None:
    """The file a thread's requests are written to: the session's transcript, or its subagent's."""
    if not thread:
        return transcript
    if not transcript.endswith(".jsonl"):
        return None
    return os.path.join(transcript[:-6], "subagents", f"agent-{thread}.jsonl")


def check(payload: dict) -> tuple[bool, str | None]:
    """(stale, expected) for a synchronous hook. Stale when armable limits exist and the session's gate
    does not account for the session yet: the transcript grew since it was measured, the config changed,
    or the transcript (once written) must hold a tool call the gate does not: `expected`, the previous
    PreToolUse's call in this thread, which the caller's measurement waits for (see the module doc).
    The caller measures first (synchronously), so the very next call is gated, not the one after. A
    PreToolUse also notes its own call here, for the next hook."""
    from ..config import read as userconfig
    if not actionable(userconfig.load()):
        return False, None
    session = payload.get("session_id")
    if type(session) is not str:
        return False, None
    thread = _thread(payload)
    expected = last_call(session, thread)
    current = payload.get("tool_use_id")
    if payload.get("hook_event_name") == "PreToolUse" and type(current) is str and current and current != expected:
        paths.write_atomic(_calls_path(session, thread), current)
    transcript = payload.get("transcript_path")
    transcript = transcript if type(transcript) is str and transcript else None
    try:
        size = os.path.getsize(transcript) if transcript else None
    except OSError:
        size = None
    if expected == current or size is None:
        expected = None  # nothing written yet (or never: no session persistence): nothing to wait for
    elif thread:
        own = thread_transcript(transcript, thread)  # type: ignore[arg-type]
        if not (own and os.path.isfile(own)):
            expected = None
    found = read(path(session))
    stale = found is None or found.get("config") != userconfig.stamp() or \
        (size is not None and size != found.get("transcript_size")) or \
        (expected is not None and expected not in (found.get("calls") or ()))
    return stale, expected if stale else None


def respond(event: str, session: str | None, now_ms: int, found: dict | None = None) -> dict | None:
    """The synchronous hooks' answer: queued warnings for the user, and for PreToolUse/UserPromptSubmit the
    gate decision (from `found`, the gate this hook just measured, else the gate file). None: print nothing.
    A warning about the limit the decision acts on is left out: the reason says it (2.1.332 would show it
    again as a `PreToolUse:Bash says:` line under the denied call)."""
    # Budgets never evaluated: one stat, and the queue is still read (the plugin queues its set-up notice).
    gated = found is not None or os.path.isdir(os.path.join(paths.state_dir(), "gate"))
    armed = applicable(event, session, now_ms, found) if gated and event in ("PreToolUse", "UserPromptSubmit") \
        else None
    body = answer(event, armed) if armed else None
    warnings = take(session) if session else []
    if armed:
        warnings = [w for w in warnings if w.get("limit") != armed.get("limit")]
    if warnings:
        body = dict(body or {})
        body["systemMessage"] = "\n".join(w["text"] for w in warnings)
        for_model = "\n".join(w["text"] for w in warnings if w.get("model"))
        if for_model:
            specific = body.setdefault("hookSpecificOutput", {"hookEventName": event})
            specific["additionalContext"] = for_model
    return body


def decide(event: str, session: str | None, now_ms: int, found: dict | None = None) -> dict | None:
    """PreToolUse: ask/deny; UserPromptSubmit: block. None lets the call or prompt through."""
    armed = applicable(event, session, now_ms, found)
    return answer(event, armed) if armed else None


def applicable(event: str, session: str | None, now_ms: int, found: dict | None = None) -> dict | None:
    """The armed decision (a gate entry: limit, action, reason...) this hook must apply, if any (a one-shot
    one is consumed). A gate measured under another version of the config says nothing (the limit may be
    gone or changed)."""
    from ..config.read import stamp
    if found is None:
        found = read(path(session)) if session else None
    if found is None:
        found = read(path(None)) or {}
    if not found.get("armed") or found.get("config") != stamp():
        return None
    wanted = ("ask", "deny") if event == "PreToolUse" else ("block",)
    live = [d for d in found.get("armed") or () if type(d) is dict and d.get("action") in wanted
            and (d.get("until_ms") is None or now_ms < d["until_ms"])]
    if not live or overridden(now_ms):
        return None
    first = max(live, key=lambda d: d["action"] == "deny")
    if first.get("once") and session:
        _consume(session, first)
    return first


def answer(event: str, armed: dict) -> dict:
    """The hook output Claude Code expects for an armed decision."""
    if event == "PreToolUse":
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": armed["action"],
                                       "permissionDecisionReason": armed["reason"]}}
    return {"decision": "block", "reason": armed["reason"]}


def _consume(session: str, decision: dict) -> None:
    """A one-shot decision (after one oversized tool result) applies to the next call only."""
    from ..base.paths import write_atomic
    file = path(session)
    found = read(file) or {}
    found["armed"] = [d for d in found.get("armed") or () if d != decision]
    found["consumed"] = list(found.get("consumed") or ()) + [decision.get("period")]
    write_atomic(file, fastjson.dumps(found))
