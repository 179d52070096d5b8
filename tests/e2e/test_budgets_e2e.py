"""Budgets with the real Claude Code 2.1.332: a deny stops the next tool call with our reason; a warning
reaches the user on screen and never the model."""
from __future__ import annotations

import json
import re
import sys

import pytest

from ccledger.hooks import spec as hookspec
from conftest import REPO

from .harness import FakeApi, interactive, run_headless

pytestmark = pytest.mark.e2e

LAUNCH = REPO / "ccledger" / "launch.py"
PROMPT = "Work through the budget scenario."


def register(sandbox, config: str) -> None:
    sandbox.write_settings({"hooks": hookspec.hooks_block(sys.executable, ["-S", str(LAUNCH), "hook"])})
    sandbox.ccledger_home.mkdir(parents=True, exist_ok=True)
    (sandbox.ccledger_home / "config.toml").write_text(config)


def wait_until(predicate, timeout: float) -> None:
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.2)


def tool_results(sandbox) -> dict:
    """tool_use_id -> (content, is_error) from the main transcript."""
    found = {}
    for path in sandbox.transcripts():
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            content = (obj.get("message") or {}).get("content") if obj.get("type") == "user" else None
            for block in content if isinstance(content, list) else ():
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    text = block.get("content")
                    if isinstance(text, list):
                        text = " ".join(b.get("text", "") for b in text if isinstance(b, dict))
                    found[block["tool_use_id"]] = (text, bool(block.get("is_error")))
    return found


def test_a_tiny_session_limit_with_deny_refuses_the_next_tool_call(e2e_client, sandbox):
    """The scripted API reports ~5k tokens for request 1 and ~9k for request 2: the session crosses 8k with
    request 2. Claude Code writes that request to the transcript after it runs the PreToolUse hook of its own
    tool call (measured: the hook of call N sees requests up to N-1), so the gate closes on the next call,
    call 3, and stays closed; the transcript carries our reason."""
    register(sandbox, '[budgets.session]\ntokens = 8000\nwarn = []\naction = "deny"\n')
    turns = [{"text": f"Step {n}.", "tool": {"id": f"toolu_step{n}", "name": "Bash",
                                            "input": {"command": f"echo step {n}"}}} for n in range(1, 5)]
    with FakeApi(turns + [{"text": "Stopped."}]) as api:
        result = run_headless(e2e_client, sandbox, api, PROMPT, ["Bash"], mcp=False)
    assert result.returncode == 0, result.stderr
    results = tool_results(sandbox)
    assert results["toolu_step1"] == ("step 1", False)
    refused = [n for n in range(1, 5) if results[f"toolu_step{n}"][1]]
    assert refused and refused[0] <= 3 and refused == list(range(refused[0], 5)), results
    text = results[f"toolu_step{refused[0]}"][0]
    assert re.fullmatch(r"PreToolUse:Bash hook error: ccledger: session budget 8,000 tokens used \d+% — "
                        r"`ccledger budget override --for 1h` to go on", text), text  # what the model gets


def test_a_warning_is_shown_to_the_user_and_not_sent_to_the_model(e2e_client, sandbox):
    register(sandbox, "[budgets.session]\ntokens = 100000\nwarn = [1]\n")
    scenario = [{"text": "Listing.", "tool": {"id": "toolu_w1", "name": "Bash", "input": {"command": "ls"}}},
                {"text": "Listed."}, {"text": "Again."}]
    with FakeApi(scenario) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=("Bash",)) as session:
            session.send("run ls")
            session.wait_for("Listed.", timeout=60)
            # The async hooks measured the turn; the next prompt's (synchronous) hook shows the warning.
            wait_until(lambda: (sandbox.ccledger_home / "state" / "warnings").is_dir(), 30)
            session.send("again")
            screen = session.wait_for("this session used", timeout=60)
            session.wait_for("Again.", timeout=60)
        requests = api.requests()
    assert "ccledger: this session used" in screen and "of 100k tokens" in screen
    assert requests and not any("ccledger" in json.dumps(r["request"]) for r in requests)
