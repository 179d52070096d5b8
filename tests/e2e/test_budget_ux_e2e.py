"""What a user sees of budgets, the status line and the slash commands in the real Claude Code 2.1.332, under
tmux (issue 11, items 3, 4, 10 and 12).

Seen with this client (and what the code relies on):
- a PreToolUse deny shows under the refused call as `Reason: PreToolUse:Bash hook error: <reason>`, wrapped,
  at most three lines; a systemMessage of the same hook adds a `PreToolUse:Bash says: ...` line under it;
- a UserPromptSubmit block shows `UserPromptSubmit operation blocked by hook:` and the reason, every line of it,
  then `Original prompt: ...` (left out, and the input box left empty, with suppressOriginalPrompt);
- a typed `/ccledger:usage` reaches UserPromptSubmit as that text, before the command is expanded;
- the status line is indented by 2 and cut with "…" 2 columns before the right edge.
"""
from __future__ import annotations

import json
import shlex
import sys
import time

import pytest

from ccledger.hooks import spec as hookspec
from conftest import REPO, cli

from .harness import FakeApi, interactive
from .test_install_e2e import install_py
from .test_plugin_e2e import add_plugin

pytestmark = pytest.mark.e2e

LAUNCH = REPO / "ccledger" / "launch.py"


def register(sandbox, config: str = "", statusline: bool = True) -> None:
    """ccledger's hooks (and status line) in the sandbox's settings, run from this checkout."""
    settings: dict = {"hooks": hookspec.hooks_block(sys.executable, ["-S", str(LAUNCH), "hook"])}
    if statusline:
        settings["statusLine"] = {"type": "command", "padding": 0,
                                  "command": f"{shlex.quote(sys.executable)} -S {shlex.quote(str(LAUNCH))} statusline"}
    sandbox.write_settings(settings)
    sandbox.ccledger_home.mkdir(parents=True, exist_ok=True)
    if config:
        (sandbox.ccledger_home / "config.toml").write_text(config)


def status_rows(screen: str) -> list[str]:
    """The rows under the input box: ccledger's status line first (Claude Code's mode line follows)."""
    lines = screen.rstrip("\n").splitlines()
    rules = [i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"─"}]
    return [line for line in lines[rules[-1] + 1:] if line.strip()] if rules else []


def flat(screen: str) -> str:
    """The screen's text with the panels' wrapping undone: rows joined, their margins and bars dropped."""
    rows = [line.strip().lstrip("│⎿").strip() for line in screen.splitlines()]
    return " ".join(row for row in rows if row)


def prompts_sent(api: FakeApi, text: str) -> int:
    """How many requests carried `text` as (part of) a user message: a prompt the model was asked about."""
    return sum(text in json.dumps(row["request"].get("messages", [])) for row in api.requests())


# ------------------------------------------------------------------ item 3: a new limit applies at once

def test_a_limit_set_while_over_it_blocks_the_very_next_prompt(e2e_client, sandbox):
    register(sandbox, statusline=False)
    spend = {"text": "Spent.", "usage": {"cache_creation_input_tokens": 200_000}}  # $0.75 at Sonnet 4.6 prices
    with FakeApi({"spend it": [spend, {"text": "Went through."}]}) as api:  # a lane: the first prompt picks it
        with interactive(e2e_client, sandbox, api, mcp=False) as tui:
            tui.send("spend it")
            tui.wait_for("Spent.", timeout=60)
            assert cli("budget", "set", "daily.usd=0.5", "daily.action=block").code == 0
            tui.send("and now")
            screen = tui.wait_for("UserPromptSubmit operation blocked by hook", timeout=60)
            time.sleep(1.0)
            screen = tui.capture()
        assert prompts_sent(api, "and now") == 0, "the blocked prompt reached the API"
    text = flat(screen)
    assert "ccledger: daily budget $0.50 used 1" in text  # 150% or so: the day's cost over $0.50
    assert "`ccledger budget override --for 1h` to go on" in text
    assert "Went through." not in screen


# ------------------------------------------------------------------ item 4: a deny that reads well, said once

SESSION_DENY = '[budgets.session]\ntokens = 8000\nwarn = []\naction = "deny"\n'  # 100% is told all the same


def test_a_deny_shows_its_whole_short_reason_once_and_an_override_shows_in_the_line(e2e_client, sandbox):
    """Request 1 reports ~5k tokens, request 2 ~9k: the gate closes at the third call (see test_budgets_e2e)."""
    register(sandbox, SESSION_DENY)
    steps = [{"text": f"Step {n}.", "tool": {"id": f"toolu_ux{n}", "name": "Bash",
                                            "input": {"command": f"echo step {n}"}}} for n in range(1, 4)]
    # one lane: a lane is chosen by the conversation's first prompt
    with FakeApi({"work on": steps + [{"text": "Stopped here."}, {"text": "Carrying on."}]}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=("Bash",), width=100) as tui:
            tui.send("work on it")
            tui.wait_for("Stopped here.", timeout=90)
            screen = tui.wait_for(lambda s: any(r.lstrip().startswith("⛔ session") for r in status_rows(s)), 30)
            text = flat(screen)
            assert ("Reason: PreToolUse:Bash hook error: ccledger: session budget 8,000 tokens used" in text
                    and "`ccledger budget override --for 1h` to go on" in text), screen
            assert "says:" not in screen and "this session used" not in screen  # no second line for it
            assert "…" not in screen.split("Reason:", 1)[1].split("Stopped here.")[0]  # nothing cut

            assert cli("budget", "override", "--for", "1h").code == 0
            tui.send("again")
            tui.wait_for("Carrying on.", timeout=60)
            screen = tui.wait_for(lambda s: any(r.lstrip().startswith("⏸ session") for r in status_rows(s)), 30)
    until = json.loads((sandbox.ccledger_home / "state" / "override.json").read_text())["until_ms"]
    clock = time.strftime("%H:%M", time.localtime(until / 1000))
    (row, *_) = status_rows(screen)
    assert row.strip().startswith("⏸ session ") and f"% until {clock} │ Sonnet 4.6" in row, row


# ------------------------------------------------------------------ item 10: the status line's segments

def test_top_is_current_within_the_turn_and_a_chained_line_comes_after_ours(e2e_client, sandbox):
    register(sandbox)
    state = sandbox.ccledger_home / "state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "install.json").write_text(json.dumps({"version": 1, "installs": {str(sandbox.settings_path): {
        "saved_statusline": {"type": "command", "command": "echo MY-OWN-LINE"}}}}))
    scenario = [{"text": "Listing.", "tool": {"id": "toolu_top1", "name": "Bash",
                                             "input": {"command": "seq 1 3000"}}}, {"text": "Listed."}]
    with FakeApi({"list it": scenario}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=("Bash",), width=160) as tui:
            tui.send("list it")
            tui.wait_for("Listed.", timeout=60)
            # the render after the turn's last response already shows the Bash result carried by it
            screen = tui.wait_for(lambda s: "top Bash" in " ".join(status_rows(s)), timeout=20)
    (row, *_) = status_rows(screen)
    assert " │ top Bash " in row and row.rstrip().endswith(" carried │ MY-OWN-LINE"), row
    assert " │ 5h ? ↻" in row and "5h ~ " not in row  # an API-key user: no share of the window known


def test_on_a_narrow_pane_the_budget_mark_leads_and_nothing_is_cut(e2e_client, sandbox):
    register(sandbox, '[budgets.session]\ntokens = 2000\nwarn = [50]\n')
    with FakeApi({"hello": [{"text": "Hi there."}]}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, width=60) as tui:
            tui.send("hello")
            tui.wait_for("Hi there.", timeout=60)
            screen = tui.wait_for(lambda s: any(r.lstrip().startswith("⚠ session") for r in status_rows(s)), 30)
    (row, *_) = status_rows(screen)
    assert row.lstrip().startswith("⚠ session") and not row.rstrip().endswith("…"), row


# ------------------------------------------------------------------ item 12: reports without a model request

def test_slash_commands_show_their_reports_without_a_model_request(e2e_client, sandbox):
    """The plugin (this checkout as its marketplace) with the environment install.py makes for the CLI."""
    add_plugin(e2e_client, sandbox, REPO)
    install_py(sandbox, "--env-only")
    scenario = [{"text": "Listing.", "tool": {"id": "toolu_sc1", "name": "Bash", "input": {"command": "ls"}}},
                {"text": "Listed."}]
    with FakeApi({"list the files": scenario}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=("Bash",), width=140) as tui:
            tui.send("list the files")
            tui.wait_for("Listed.", timeout=60)
            before = len(api.requests())
            tui.send("/ccledger:usage")
            usage = tui.wait_for("ccledger: today", timeout=60)
            tui.send("/ccledger:tools")
            tools = tui.wait_for("ccledger: MCP servers of this session", timeout=60)
            time.sleep(2.0)  # a request, if one were made, would be logged by now
            after = api.requests()
            box = tui.capture().rstrip().splitlines()
    assert len(after) == before, [r["request"].get("messages", [])[-1:] for r in after[before:]]
    assert "UserPromptSubmit operation blocked by hook:" in usage and "ccledger: this session" in usage
    assert "Claude Code usage, session" in usage and "Claude Code usage, daily" in usage
    assert "Original prompt" not in usage
    header = next(line for line in usage.splitlines() if "Session" in line and "Last active" in line)
    assert header.rstrip().endswith("Cost"), "the table was wider than the panel and wrapped"
    assert "Tokens by owner" in tools and "Bash" in tools.split("ccledger: tools of this session", 1)[1]
    prompt_row = next(line for line in reversed(box) if line.lstrip().startswith("❯"))
    assert prompt_row.strip() == "❯", "the command was put back into the input box"
