"""Tool calls from transcripts and from hooks are the same rows, merged by tool_use_id."""
from __future__ import annotations

import json

from conftest import cli, ledger_rows
from hot_helpers import run_entry
from test_attribution import _assistant, _line, _result


def write(claude_dir, lines, name="s.jsonl", sub=None):
    folder = claude_dir / "projects" / "-p" / ("s/subagents" if sub else "")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_transcript_and_hook_facts_merge_into_one_row(claude_dir):
    path = write(claude_dir, [
        _assistant(1, 1, 1000, 10, [{"type": "tool_use", "id": "t1", "name": "mcp__memory__read_graph",
                                     "input": {}}]),
        _line("user", 2, promptId="p1", message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "Error: boom", "is_error": True}]}),
        _assistant(2, 3, 1100, 10, [{"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "x"}}]),
        _line("user", 4, message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t2", "content": "[Request interrupted by user for tool use]",
             "is_error": True}]}),
        _assistant(3, 5, 1200, 10, [{"type": "tool_use", "id": "t3", "name": "Write", "input": {"f": 1}}]),
        _line("user", 6, message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t3", "is_error": True,
             "content": "The user doesn't want to proceed with this tool use."}]}),
    ])
    base = {"session_id": "s", "transcript_path": str(path)}
    run_entry("hook", {**base, "hook_event_name": "PreToolUse", "tool_name": "mcp__memory__read_graph",
                       "tool_use_id": "t1", "tool_input": {}, "prompt_id": "p1"})
    run_entry("hook", {**base, "hook_event_name": "PostToolUseFailure", "tool_name": "mcp__memory__read_graph",
                       "tool_use_id": "t1", "tool_input": {}, "error": "boom", "duration_ms": 77})
    assert cli("ingest", "--quiet").code == 0
    rows = ledger_rows("SELECT tool_use_id, tool_name, mcp_server, mcp_tool, status, duration_ms, result_bytes,"
                       " prompt_id, from_hook, from_transcript FROM tool_calls ORDER BY 1")
    assert rows == [("t1", "mcp__memory__read_graph", "memory", "read_graph", "error", 77, 11, "p1", 1, 1),
                    ("t2", "Bash", None, None, "interrupted", None, 42, None, 0, 1),
                    ("t3", "Write", None, None, "denied", None, 52, None, 0, 1)]


def test_subagent_links_from_meta_json_and_tool_result(claude_dir):
    write(claude_dir, [
        _assistant(1, 1, 1000, 10, [{"type": "tool_use", "id": "ta", "name": "Agent",
                                     "input": {"prompt": "look", "subagent_type": "Explore"}}]),
        _line("user", 9, message={"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "ta", "content": "found"}]},
            toolUseResult={"status": "completed", "agentId": "abc"}),
        _assistant(2, 10, 1100, 10, [{"type": "text", "text": "done"}]),
    ])
    sub = write(claude_dir, [
        _line("user", 2, isSidechain=True, agentId="abc", message={"role": "user", "content": "look"}),
        _assistant(9, 3, 500, 5, [{"type": "tool_use", "id": "tx", "name": "Glob", "input": {"p": "*"}}]),
        _result(4, "tx", 100),
        _assistant(10, 5, 700, 5, [{"type": "text", "text": "found"}]),
    ], "agent-abc.jsonl", sub=True)
    (sub.parent / "agent-abc.meta.json").write_text(json.dumps(
        {"agentType": "Explore", "description": "look", "toolUseId": "ta"}))
    rows = cli("report", "agents", "--json").json()["rows"]
    assert [(r["agent_id"], r["agent_type"], r["parent_tool_use_id"], r["parent_tool"], r["calls"],
             r["input_tokens"] + r["cache_read_tokens"]) for r in rows] == [("abc", "Explore", "ta", "Agent", 1, 1200)]
    tools = {r["owner"]: r for r in cli("report", "tools", "--json").json()["rows"]}
    assert tools["Glob"]["carried_tokens"] > 0      # the subagent's own tool keeps its name
    # the subagent's base (500 x 2 requests) rolls up to its Agent call, plus its own result (100) in the parent
    assert tools["Agent"]["carried_tokens"] == 1000 + 100
    assert tools["Glob"]["carried_tokens"] == 200
