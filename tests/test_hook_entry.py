"""The hook entry never breaks a session: bad input gives exit 0, no stdout, one error line, nothing lost."""
from __future__ import annotations

import json

import pytest

from conftest import cli, ledger_rows
from hot_helpers import error_lines, run_entry

PAYLOADS = "corpus/payloads/hook"


@pytest.fixture
def recorded(corpus):
    """A ledger that already holds the corpus, so we can check nothing is lost."""
    assert cli("ingest", "--quiet").code == 0
    return ledger_rows("SELECT COUNT(*), SUM(total_tokens) FROM api_calls")[0]


BAD = {
    "empty stdin": b"",
    "not JSON": b"this is not json {",
    "a JSON array": b"[1, 2, 3]",
    "missing session_id": {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_use_id": "toolu_x"},
    "missing tool_use_id": {"hook_event_name": "PostToolUse", "session_id": "s1", "tool_name": "Bash",
                            "tool_input": {}, "tool_response": {}},
    "nonexistent transcript": {"hook_event_name": "Stop", "session_id": "s2",
                               "transcript_path": "/nonexistent/projects/p/s2.jsonl"},
}


@pytest.mark.parametrize("name", BAD)
def test_bad_input_exits_0_silently_with_one_error_line(recorded, name):
    result = run_entry("hook", BAD[name])
    assert result.returncode == 0 and result.stdout == b"" and result.stderr == b"", result.stderr
    assert len(error_lines()) == 1, error_lines()
    assert cli("ingest", "--quiet").code == 0
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens) FROM api_calls")[0] == recorded


def test_unknown_events_are_ignored_quietly(recorded):
    result = run_entry("hook", {"hook_event_name": "SomethingNew", "session_id": "s"})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert error_lines() == []


def test_a_10_mb_tool_response_is_measured_not_stored(recorded):
    payload = {"hook_event_name": "PostToolUse", "session_id": "big", "tool_name": "mcp__github__search_code",
               "tool_use_id": "toolu_big", "tool_input": {"q": "x"}, "tool_response": [{"type": "text",
                                                                                    "text": "y" * 10_000_000}],
               "duration_ms": 1234, "transcript_path": "/h/.claude/projects/-proj/big.jsonl"}
    result = run_entry("hook", payload)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert cli("ingest", "--quiet").code == 0
    row = ledger_rows("SELECT tool_name, mcp_server, mcp_tool, status, duration_ms, result_bytes, project"
                      " FROM tool_calls WHERE tool_use_id='toolu_big'")[0]
    size = len(json.dumps(payload["tool_response"], separators=(",", ":")))
    assert row == ("mcp__github__search_code", "github", "search_code", "ok", 1234, size, "-proj")
    detail = ledger_rows("SELECT detail FROM hook_events WHERE tool_use_id='toolu_big'")[0][0]
    assert len(detail) < 100 and "yyy" not in detail
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens) FROM api_calls")[0] == recorded


@pytest.mark.parametrize("name", ["post_tool_use.bash.v2.1.332.json", "pre_tool_use.mcp_supabase.v1.x.json",
                                  "session_start.v1.x.json", "stop.v2.1.332.json"])
def test_real_payloads_are_recorded_silently(shared, name):
    result = run_entry("hook", (shared / PAYLOADS / name).read_bytes())
    assert (result.returncode, result.stdout) == (0, b"")
    assert cli("ingest", "--quiet").code == 0
    event = json.loads((shared / PAYLOADS / name).read_text())["hook_event_name"]
    kinds = {"PostToolUse": "post", "PreToolUse": "pre", "SessionStart": "session_start", "Stop": "stop"}
    assert ledger_rows("SELECT event FROM hook_events")[0][0] == kinds[event]


def test_failure_interrupt_and_denial_statuses(isolated):
    base = {"session_id": "s", "tool_name": "Bash", "tool_input": {"command": "x"}}
    run_entry("hook", {**base, "hook_event_name": "PreToolUse", "tool_use_id": "t1"})
    run_entry("hook", {**base, "hook_event_name": "PostToolUseFailure", "tool_use_id": "t1",
                       "error": "Exit code 3", "is_interrupt": False, "duration_ms": 40})
    run_entry("hook", {**base, "hook_event_name": "PostToolUseFailure", "tool_use_id": "t2", "is_interrupt": True})
    run_entry("hook", {**base, "hook_event_name": "PermissionDenied", "tool_use_id": "t3", "reason": "no"})
    cli("ingest", "--quiet")
    assert ledger_rows("SELECT tool_use_id, status, duration_ms FROM tool_calls ORDER BY 1") == [
        ("t1", "error", 40), ("t2", "interrupted", None), ("t3", "denied", None)]


def test_malformed_json_without_the_json_package_loaded_is_a_plain_decode_error(isolated):
    """The C scanner reports decode errors through json.decoder, which the hot path never imports."""
    result = run_entry("hook", b'{"hook_event_name": "Stop", "session_id": broken')
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert len(error_lines()) == 1 and "stdin is not JSON" in error_lines()[0]
    assert "SystemError" not in error_lines()[0]
