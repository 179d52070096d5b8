"""Smoke tests for the e2e harness itself: the real client, headless and interactive,
against the fake API, with a recording hook and a marker status line. They check the
harness (and the client behaviour the ledger relies on), not ccledger."""
from __future__ import annotations

import json
import sys

import pytest

from .harness import FakeApi, interactive, processes_of, run_headless

pytestmark = pytest.mark.e2e

HOOK_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure",
               "SubagentStart", "SubagentStop", "Stop")
# Appends each payload (stdin) as one line to the file named by argv[1].
RECORDER = "import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read().strip() + '\\n')\n"

PROMPT = "Run the e2e smoke scenario."
SUB_PROMPT = "List the files and report."


def _recording_hooks(sandbox) -> tuple[dict, object]:
    """Settings registering RECORDER for every event of HOOK_EVENTS (exec form: no
    shell, no quoting), and the path of the file it writes."""
    script = sandbox.root / "record.py"
    script.write_text(RECORDER)
    log = sandbox.root / "hooks.jsonl"
    handler = {"type": "command", "command": sys.executable, "args": [str(script), str(log)]}
    hooks = {event: [{"matcher": "*", "hooks": [handler]}] for event in HOOK_EVENTS}
    return {"hooks": hooks}, log


def _scenario(sandbox) -> dict:
    notes = sandbox.project / "notes.txt"
    notes.write_text("ccledger e2e notes\n")
    main = [
        {"text": "Listing.", "tool": {"id": "toolu_main_ls", "name": "Bash",
                                      "input": {"command": "ls", "description": "List files"}},
         "usage": {"output_tokens": 40}},
        # No "id": the server picks toolu_e2e<n>, which FakeApi.tool_use_ids() must derive.
        {"text": "Reading.", "tool": {"name": "Read", "input": {"file_path": str(notes)}}},
        {"text": "Storing.", "tool": {"id": "toolu_main_mem1", "name": "mcp__memory__create_entities",
                                      "input": {"entities": [{"name": "ccledger", "entityType": "project",
                                                              "observations": ["records tokens"]}]}}},
        {"text": "Recalling.", "tool": {"id": "toolu_main_mem2", "name": "mcp__memory__read_graph",
                                        "input": {}}},
        {"text": "Failing.", "tool": {"id": "toolu_main_fail", "name": "Bash",
                                      "input": {"command": "exit 3", "description": "Fail on purpose"}}},
        {"text": "Delegating.", "tool": {"id": "toolu_main_agent", "name": "Agent", "input": {
            "description": "look", "prompt": SUB_PROMPT, "subagent_type": "general-purpose",
            "run_in_background": False}}},
        {"text": "All done."},
    ]
    sub = [
        {"text": "Looking.", "tool": {"id": "toolu_sub_ls", "name": "Bash",
                                      "input": {"command": "ls", "description": "List files"}}},
        {"text": "Found notes.txt."},
    ]
    return {PROMPT: main, SUB_PROMPT: sub}


def test_headless_session_reaches_hooks_and_transcripts(e2e_client, sandbox):
    settings, hook_log = _recording_hooks(sandbox)
    sandbox.write_settings(settings)
    with FakeApi(_scenario(sandbox), workdir=sandbox.root / "api") as api:
        res = run_headless(e2e_client, sandbox, api, PROMPT, allowed_tools=[
            "Bash", "Read", "Agent", "mcp__memory__create_entities", "mcp__memory__read_graph"])
    assert res.returncode == 0, f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    assert not processes_of(sandbox), "claude or its MCP server outlived run_headless"

    issued = api.tool_use_ids()
    assert len(issued) == 7 and len(set(issued)) == 7, issued
    assert {"toolu_main_ls", "toolu_main_mem1", "toolu_main_mem2", "toolu_main_fail",
            "toolu_main_agent", "toolu_sub_ls"} < set(issued)

    events = [json.loads(line) for line in hook_log.read_text().splitlines() if line.strip()]
    post = {e["tool_use_id"]: e["hook_event_name"] for e in events
            if e["hook_event_name"] in ("PostToolUse", "PostToolUseFailure")}
    expected = {i: "PostToolUse" for i in issued} | {"toolu_main_fail": "PostToolUseFailure"}
    assert post == expected
    pre = {e["tool_use_id"] for e in events if e["hook_event_name"] == "PreToolUse"}
    assert pre == set(issued)
    names = [e["hook_event_name"] for e in events]
    assert {"SubagentStart", "SubagentStop", "Stop"} <= set(names)

    agent_ids = {e["agent_id"] for e in events if e["hook_event_name"] == "SubagentStart"}
    sub_post = [e for e in events if e.get("tool_use_id") == "toolu_sub_ls"
                and e["hook_event_name"] == "PostToolUse"]
    assert len(agent_ids) == 1 and sub_post[0].get("agent_id") in agent_ids

    subagent = [p for p in sandbox.transcripts() if p.parent.name == "subagents"]
    assert len(subagent) == 1 and subagent[0].name.startswith("agent-"), sandbox.transcripts()
    meta = json.loads(subagent[0].with_name(subagent[0].stem + ".meta.json").read_text())
    assert meta["toolUseId"] == "toolu_main_agent"
    main = [p for p in sandbox.transcripts() if p.parent.name != "subagents"]
    assert len(main) == 1 and main[0].parent.parent == sandbox.config_dir / "projects"


def test_interactive_session_shows_status_line(e2e_client, sandbox):
    script = sandbox.root / "status.py"
    script.write_text(RECORDER + "print('E2E-STATUS-MARK')\n")
    status_log = sandbox.root / "status.jsonl"
    sandbox.write_settings({"statusLine": {
        "type": "command", "command": f"{sys.executable} {script} {status_log}"}})
    with FakeApi({"say hello": [{"text": "Hello from the fake API."}]}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False) as tui:
            assert tui.dialogs_seen == []  # .claude.json pre-seeding avoids them all
            tui.send("say hello")
            screen = tui.wait_for("Hello from the fake API.", timeout=60)
            screen = tui.wait_for("E2E-STATUS-MARK", timeout=30)
            assert tui.exit(), "claude did not quit on /exit"
        assert not processes_of(sandbox), "claude or its status line outlived the session"
    lines = screen.splitlines()
    mark = next(i for i, l in enumerate(lines) if "E2E-STATUS-MARK" in l)
    assert any(l.lstrip().startswith("❯") for l in lines[:mark]), "status line not under the prompt"
    payloads = [json.loads(l) for l in status_log.read_text().splitlines() if l.strip()]
    assert payloads and payloads[-1]["model"]["id"] == "claude-sonnet-4-6"
    assert payloads[-1]["workspace"]["current_dir"] == str(sandbox.project)
