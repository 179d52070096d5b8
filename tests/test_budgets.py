"""Budgets: every limit kind below / crossing / staying above / next period, the exact hook outputs, override."""
from __future__ import annotations

import json
import threading
import time

import pytest

from ccledger.budgets import measure as budgets, gate
from ccledger.ledger import db
from ccledger.hooks import entry as hook
from ccledger.statusline import entry as statusline
from conftest import cli, ledger_rows
from hot_helpers import error_lines, run_entry

SESSION = "b0d9e7a2-0000-4000-8000-00000000000b"
HOUR = 3_600_000


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def write_session(claude_dir, requests: list[tuple[int, int, list]], session=SESSION):
    """requests: (ts_ms, context tokens, extra lines after it); each request outputs 100 tokens."""
    lines = [{"type": "user", "timestamp": iso(requests[0][0] - 1000), "sessionId": session,
              "message": {"role": "user", "content": "go"}}]
    for n, (ts, context, after) in enumerate(requests):
        lines.append({"type": "assistant", "timestamp": iso(ts), "sessionId": session, "requestId": f"r{session}{n}",
                      "message": {"id": f"m{session}{n}", "model": "claude-sonnet-4-6", "content": after[:1],
                                  "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0,
                                            "cache_read_input_tokens": context, "output_tokens": 100}}})
        lines += after[1:]
    path = claude_dir / "projects" / "-home-dev-proj" / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def configure(isolated, text: str) -> None:
    config = isolated / "ccledger" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)


def stop(path, session=SESSION) -> None:
    """The Stop hook measures; it is async, so it prints nothing: Claude Code would hand that to the model."""
    result = run_entry("hook", {"hook_event_name": "Stop", "session_id": session, "transcript_path": str(path),
                                "cwd": "/home/dev/proj"})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def pre_tool(session=SESSION) -> dict | None:
    result = run_entry("hook", {"hook_event_name": "PreToolUse", "session_id": session, "tool_name": "Bash",
                                "tool_use_id": f"toolu_{time.time_ns()}", "tool_input": {"command": "ls"}})
    assert result.returncode == 0 and result.stderr == b""
    return json.loads(result.stdout) if result.stdout else None


def prompt(session=SESSION) -> dict | None:
    result = run_entry("hook", {"hook_event_name": "UserPromptSubmit", "session_id": session, "prompt": "hi"})
    assert result.returncode == 0 and result.stderr == b""
    return json.loads(result.stdout) if result.stdout else None


NOW = int(time.time()) * 1000


def test_session_tokens_below_crossing_above_and_deny_exactly_as_claude_code_expects(isolated, claude_dir):
    configure(isolated, "[budgets.session]\ntokens = 10000\nwarn = [50, 80]\naction = \"deny\"\n")
    path = write_session(claude_dir, [(NOW - 60_000, 3000, [])])  # 3,100 tokens: 31%
    stop(path)
    assert prompt() is None and pre_tool() is None
    path = write_session(claude_dir, [(NOW - 60_000, 3000, []), (NOW - 30_000, 5000, [])])  # 8,200: 82%
    stop(path)
    # one warning, at the next synchronous hook, for the user only (systemMessage)
    assert prompt() == {"systemMessage": "ccledger: this session used 8.2k of 10k tokens (82% of the limit)."}
    assert prompt() is None
    stop(path)
    assert prompt() is None  # staying above: no repeat
    assert pre_tool() is None  # warned, not armed: the action applies at 100%
    path = write_session(claude_dir, [(NOW - 60_000, 3000, []), (NOW - 30_000, 5000, []),
                                      (NOW - 10_000, 7000, [])])  # 15,300: 153%
    stop(path)
    decision = pre_tool()
    assert set(decision) == {"hookSpecificOutput"}  # the crossing's warning is not said twice beside the deny
    out = decision["hookSpecificOutput"]
    assert (out["hookEventName"], out["permissionDecision"]) == ("PreToolUse", "deny")
    assert out["permissionDecisionReason"] == ("ccledger: session budget 10,000 tokens used 153% — "
                                               "`ccledger budget override --for 1h` to go on")
    assert pre_tool(session="another-session") is None  # a session limit gates its own session only
    assert prompt() is None  # deny acts on tool calls, not prompts


def test_override_lifts_the_gate_until_it_expires(isolated, claude_dir):
    configure(isolated, "[budgets.session]\ntokens = 1000\nwarn = []\naction = \"ask\"\n")
    stop(write_session(claude_dir, [(NOW - 1000, 5000, [])]))
    assert pre_tool()["hookSpecificOutput"]["permissionDecision"] == "ask"
    state = isolated / "ccledger" / "state"
    (state / "override.json").write_text(json.dumps({"until_ms": NOW + HOUR}))
    assert pre_tool() is None
    (state / "override.json").write_text(json.dumps({"until_ms": NOW - 1}))
    assert pre_tool()["hookSpecificOutput"]["permissionDecision"] == "ask"


def test_block_stops_the_next_prompt(isolated, claude_dir):
    configure(isolated, "[budgets.daily]\nusd = 0.001\naction = \"block\"\n")
    stop(write_session(claude_dir, [(NOW - 1000, 50_000, [])]))
    decision = prompt()
    assert set(decision) == {"decision", "reason"} and decision["decision"] == "block"
    assert decision["reason"].startswith("ccledger: daily budget $0.00 used ")
    assert pre_tool() is None


def call(path, tool_use_id: str, session=SESSION) -> str | None:
    """A PreToolUse as Claude Code sends it (with the transcript); the decision, or None."""
    result = run_entry("hook", {"hook_event_name": "PreToolUse", "session_id": session, "transcript_path": str(path),
                                "cwd": "/home/dev/proj", "tool_name": "Bash", "tool_use_id": tool_use_id,
                                "tool_input": {"command": "ls"}})
    assert result.returncode == 0 and result.stderr == b""
    return json.loads(result.stdout)["hookSpecificOutput"]["permissionDecision"] if result.stdout else None


def test_the_gate_waits_for_the_previous_request_claude_code_has_not_written_yet(isolated, claude_dir):
    """Claude Code writes its transcript from a queue flushed every 100 ms, so the PreToolUse hook of call 3
    can run while the request that made call 2 is still in memory, and the file's size is the one the gate
    was measured at. The hook knows call 2 (its own PreToolUse noted it), waits for its line, and denies
    call 3 on it, not call 4."""
    configure(isolated, '[budgets.session]\ntokens = 8000\nwarn = []\naction = "deny"\n')

    def tool(n):
        return [{"type": "tool_use", "id": f"toolu_c{n}", "name": "Bash", "input": {"command": "ls"}}]
    path = write_session(claude_dir, [(NOW - 3000, 3000, tool(1)), (NOW - 2000, 5000, tool(2)),
                                      (NOW - 1000, 1000, tool(3))])  # 3.1k, then 8.2k: over with request 2
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]))  # only request 1 is on disk yet
    assert call(path, "toolu_c1") is None
    assert call(path, "toolu_c2") is None  # request 2 made this very call: not written before its hook

    def flush():  # as Claude Code's write queue does, while the hook of call 3 runs
        with path.open("ab") as handle:
            handle.write(b"".join(lines[2:]))
    threading.Timer(0.2, flush).start()
    assert call(path, "toolu_c3") == "deny"
    assert call(path, "toolu_c4") == "deny"  # and it stays closed, without waiting: request 3 is there
    assert not [line for line in error_lines() if "was not in the transcript" in line]


def test_a_call_never_written_is_waited_for_once(isolated, claude_dir):
    """If the previous call never reaches the transcript (it should), the hook gives up after FLUSH_WAIT_S,
    says so in the error log, and no later hook waits for it again."""
    configure(isolated, '[budgets.session]\ntokens = 8000\nwarn = []\naction = "deny"\n')
    path = write_session(claude_dir, [(NOW - 3000, 3000, [])])

    def prompt_in() -> float:
        started = time.monotonic()
        result = run_entry("hook", {"hook_event_name": "UserPromptSubmit", "session_id": SESSION, "prompt": "hi",
                                    "transcript_path": str(path), "cwd": "/home/dev/proj"})
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        return time.monotonic() - started
    assert call(path, "toolu_lost") is None
    assert prompt_in() >= hook.FLUSH_WAIT_S
    stop(path)  # measures again: the call stays settled
    prompt_in()
    assert sum("toolu_lost was not in the transcript" in line for line in error_lines()) == 1  # one wait only


def test_a_changed_config_takes_effect_at_the_next_hook(isolated, claude_dir):
    path = write_session(claude_dir, [(NOW - 1000, 5000, [])])  # 5.1k
    configure(isolated, '[budgets.session]\ntokens = 8000\nwarn = []\naction = "deny"\n')
    stop(path)
    assert call(path, "toolu_1") is None
    configure(isolated, '[budgets.session]\ntokens = 4000\nwarn = []\naction = "deny"\n')
    assert call(path, "toolu_2") == "deny"  # nothing new in the transcript: the config alone makes it stale
    configure(isolated, '[budgets.session]\ntokens = 4000\nwarn = []\n')
    assert call(path, "toolu_3") is None  # no action left anywhere: the armed gate no longer counts


def _measure(conn, text, isolated, now_ms, status=None):
    """As a Stop hook measures: drain what the status line spooled (its readings), then evaluate."""
    from ccledger.ledger import events
    configure(isolated, text)
    events.drain(conn)
    return budgets.evaluate(conn, SESSION, "/home/dev/proj", now_ms, status)[0]


def test_window_and_week_warn_once_per_window_from_official_readings(isolated, claude_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = write_session(claude_dir, [(NOW - 60_000, 3000, [])])
    payload = {"session_id": SESSION, "transcript_path": str(path), "model": {"id": "claude-sonnet-4-6"}}
    text = "[budgets.window]\nwarn = [50, 80]\n[budgets.week]\nwarn = [90]\n"
    conn = db.connect()

    def reading(five, reset, now, week=10.0):
        raw = json.dumps({**payload, "rate_limits": {
            "five_hour": {"used_percentage": five, "resets_at": reset // 1000},
            "seven_day": {"used_percentage": week, "resets_at": (NOW + 5 * 24 * HOUR) // 1000}}}).encode()
        statusline.build(raw, now)
    reset = NOW + 2 * HOUR
    reading(40, reset, NOW)
    assert _measure(conn, text, isolated, NOW) == []                       # below
    reading(85, reset, NOW)
    messages = _measure(conn, text, isolated, NOW)
    assert len(messages) == 1 and messages[0].startswith("ccledger: 5-hour window at 85%, resets in 2h00m")
    assert _measure(conn, text, isolated, NOW) == []                       # staying above
    later = NOW + 3 * HOUR                                                 # the next window, an hour old
    reading(60, reset + 5 * HOUR, later)
    messages = _measure(conn, text, isolated, later)
    assert len(messages) == 1 and messages[0].startswith("ccledger: 5-hour window at 60%, resets in 4h00m")
    reading(60, reset + 5 * HOUR, later, week=95)
    assert _measure(conn, text, isolated, later)[0].startswith("ccledger: 7-day limit at 95%")


def test_cost_per_day_week_and_month_and_the_next_day(isolated, claude_dir):
    write_session(claude_dir, [(NOW - 1000, 100_000, [])])  # $0.0315
    assert cli("ingest", "--quiet").code == 0
    conn = db.connect()
    for kind in ("daily", "weekly", "monthly"):
        text = f"[budgets.{kind}]\nusd = 0.05\nwarn = [50]\n"
        messages = _measure(conn, text, isolated, NOW)
        assert len(messages) == 1 and "cost $0.03 of $0.05 (63% of the limit)" in messages[0], messages
        assert _measure(conn, text, isolated, NOW) == []
    # tomorrow the same spend is yesterday's: nothing to say, and tomorrow's own crossing is told afresh
    assert _measure(conn, "[budgets.daily]\nusd = 0.05\nwarn = [50]\n", isolated, NOW + 24 * HOUR) == []
    assert ledger_rows("SELECT COUNT(*) FROM budget_alerts WHERE limit_key='daily.usd'") == [(1,)]


def test_a_big_tool_result_and_an_mcp_server_over_its_daily_limit(isolated, claude_dir):
    big = [{"type": "tool_use", "id": "toolu_big", "name": "mcp__github__search_code", "input": {"q": "x"}},
           {"type": "user", "timestamp": iso(NOW - 50_000), "sessionId": SESSION, "message": {"role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_big", "content": "x" * 90_000}]}}]
    write_session(claude_dir, [(NOW - 60_000, 10_000, big), (NOW - 40_000, 33_100, []), (NOW - 20_000, 33_200, [])])
    assert cli("report", "tools", "--json").code == 0  # ingests and attributes
    # its result grew the context by 23,100 tokens (with the 100 output tokens that asked for it), re-read twice
    conn = db.connect()
    messages = _measure(conn, "[budgets.tool_result]\ntokens = 20000\naction = \"ask\"\n", isolated, NOW)
    assert messages == ["ccledger: mcp__github__search_code added 23.1k tokens (116% of the limit); re-read each "
                        "turn until the next compaction (46.2k carried so far)."]
    assert gate.decide("PreToolUse", SESSION, NOW)["hookSpecificOutput"]["permissionDecision"] == "ask"
    assert gate.decide("PreToolUse", SESSION, NOW) is None  # one oversized result asks once, for the next call
    budgets.evaluate(conn, SESSION, "/home/dev/proj", NOW)
    assert gate.decide("PreToolUse", SESSION, NOW) is None  # and re-evaluating does not re-arm it
    messages = _measure(conn, "[budgets.mcp]\ncarried_tokens = 100000\nwarn = [40]\n", isolated, NOW)
    assert messages == ["ccledger: MCP server github used 46.2k carried tokens of 100k today (46% of the limit)."]
    per_server = "[budgets.mcp]\ncarried_tokens = 1000000\n[budgets.mcp.servers.github]\ncarried_tokens = 50000\n"
    assert _measure(conn, per_server, isolated, NOW)[0].startswith("ccledger: MCP server github used 46.2k")


def test_project_overrides_by_cwd(isolated, claude_dir):
    write_session(claude_dir, [(NOW - 1000, 5000, [])])
    assert cli("ingest", "--quiet").code == 0
    configure(isolated, '[budgets.session]\ntokens = 1000000\n[projects."/home/dev/proj".budgets.session]\n'
                        'tokens = 6000\nwarn = [80]\n')
    conn = db.connect()
    assert budgets.evaluate(conn, SESSION, "/home/dev/proj/sub", NOW)[0] == [
        "ccledger: this session used 5.1k of 6k tokens (85% of the limit)."]
    assert budgets.evaluate(conn, "other", "/home/dev/elsewhere", NOW)[0] == []


def test_a_broken_config_means_no_budgets_and_one_logged_line(isolated, claude_dir):
    path = write_session(claude_dir, [(NOW - 1000, 5000, [])])
    configure(isolated, "[budgets.session\ntokens = = 3\n")
    stop(path)
    assert pre_tool() is None and prompt() is None
    stop(path)
    assert [line for line in error_lines() if "config" in line and "could not be read" in line].__len__() == 1
    configure(isolated, "[budgets.session]\ntokens = -5\n")
    stop(path)
    stop(path)
    assert prompt() is None
    assert sum("budgets are off" in line for line in error_lines()) == 1


def test_notify_model_adds_context_only_when_asked(isolated, claude_dir):
    path = write_session(claude_dir, [(NOW - 1000, 9000, [])])
    configure(isolated, "[budgets]\nnotify_model = true\n[budgets.session]\ntokens = 10000\nwarn = [90]\n")
    stop(path)
    out = prompt()
    assert out["systemMessage"] == out["hookSpecificOutput"]["additionalContext"]
    assert out["hookSpecificOutput"]["hookEventName"] == "UserPromptSubmit"


def test_status_line_shows_the_budget_mark(isolated, claude_dir, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    path = write_session(claude_dir, [(NOW - 1000, 9000, [])])
    configure(isolated, "[budgets.session]\ntokens = 10000\naction = \"deny\"\n[statusline]\n"
                        "segments = [\"session\", \"budget\"]\n")
    raw = json.dumps({"session_id": SESSION, "transcript_path": str(path), "cwd": "/home/dev/proj"}).encode()
    assert statusline.build(raw, NOW) == ["9.1k tok $0.00 │ ⚠ session 91%"]
    hook.handle  # noqa: B018 - the hook module is what Claude Code runs; gating reads the same state
    assert gate.decide("PreToolUse", SESSION, NOW) is None


def test_budget_status_and_check(isolated, claude_dir):
    write_session(claude_dir, [(NOW - 1000, 9000, [])])
    configure(isolated, "[budgets.session]\ntokens = 10000\naction = \"deny\"\n[budgets.daily]\nusd = 0.001\n"
                        "[budgets.window]\nwarn = [80]\n")
    body = cli("budget", "status", "--json", "--session", SESSION).json()
    rows = {r["limit"]: r for r in body["rows"]}
    assert rows["session.tokens"]["pct_of_limit"] == 91.0 and not rows["session.tokens"]["armed"]
    assert rows["daily.usd"]["pct_of_limit"] > 100 and rows["daily.usd"]["forecast_kind"] == "value_at_period_end"
    assert rows["window.limit"]["what"] == "nothing measured yet"
    result = cli("budget", "check", "--session", SESSION)
    assert result.code == 3 and result.out.startswith("over budget: daily.usd: today's cost")
    configure(isolated, "[budgets.session]\ntokens = 100000\n")
    assert cli("budget", "check", "--session", SESSION).code == 0
