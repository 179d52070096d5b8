"""The plugin route with the real Claude Code 2.1.332: the repository is a marketplace, the plugin
installs offline, its hooks record into the ledger without install.py writing any setting, and
its slash commands answer from the ledger.

Two marketplaces are used. The checkout itself (`claude plugin marketplace add <checkout>`): a
directory marketplace runs the plugin from the checkout, whose launcher finds the package beside
it. And a copy holding only the marketplace manifest and plugin/ (symlinks dereferenced): what a
plugin cache holds after an install from GitHub, with the plugin's own copy of the package (the
plugin's background set-up of the `ccledger` command: tests/e2e/test_resilience_e2e.py).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, cli, ledger_rows

from .harness import FakeApi, cache_dir, run_headless
from .test_install_e2e import install_py, transcript_usage

pytestmark = pytest.mark.e2e

DEAD = "http://127.0.0.1:9"  # nothing listens: any attempt to reach the network fails at once
PROMPT = "Record this plugin session."
TOOLS = ["Bash", "mcp__memory__create_entities", "mcp__memory__read_graph"]


def claude(client, sandbox, *args: str) -> subprocess.CompletedProcess:
    """`claude ARGS` offline: the API and any proxy point at a closed port. (With an API key and the
    default API URL, `claude plugin ...` waits ~18 s on the network here before going on.)"""
    env = sandbox.env(ANTHROPIC_BASE_URL=DEAD, HTTPS_PROXY=DEAD, HTTP_PROXY=DEAD, https_proxy=DEAD,
                      http_proxy=DEAD)
    return subprocess.run([str(client.claude), *args], env=env, cwd=sandbox.project, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def add_plugin(client, sandbox, marketplace: Path) -> None:
    for args in (("plugin", "marketplace", "add", str(marketplace)),
                 ("plugin", "install", "ccledger@ccledger", "--scope", "user")):
        done = claude(client, sandbox, *args)
        assert done.returncode == 0, f"claude {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


def plugin_only_marketplace(tmp_path: Path) -> Path:
    root = tmp_path / "marketplace"
    (root / ".claude-plugin").mkdir(parents=True)
    shutil.copy(REPO / ".claude-plugin" / "marketplace.json", root / ".claude-plugin")
    shutil.copytree(REPO / "plugin", root / "plugin", symlinks=False)
    return root


def scenario() -> list:
    return [
        {"text": "Listing.", "tool": {"id": "toolu_p_ls", "name": "Bash", "input": {"command": "ls"}}},
        {"text": "Storing.", "tool": {"id": "toolu_p_mem1", "name": "mcp__memory__create_entities", "input": {
            "entities": [{"name": "ccledger", "entityType": "project", "observations": ["plugin"]}]}}},
        {"text": "Recalling.", "tool": {"id": "toolu_p_mem2", "name": "mcp__memory__read_graph", "input": {}}},
        {"text": "All done."},
    ]


def session_of(sandbox, prompt: str) -> Path:
    (found,) = [p for p in sandbox.transcripts() if p.parent.name != "subagents" and prompt in p.read_text()]
    return found


def user_texts(api: FakeApi) -> str:
    """Every text the client sent as the user, in all requests (slash command expansions included)."""
    texts = []
    for row in api.requests():
        for message in row["request"].get("messages", []):
            content = message.get("content")
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
            texts += [b.get("text", "") for b in blocks if isinstance(b, dict) and message.get("role") == "user"]
    return "\n".join(texts)


def test_the_plugin_validates_for_the_plugin_directory(e2e_client, sandbox):
    done = claude(e2e_client, sandbox, "plugin", "validate", str(REPO / "plugin"), "--profile", "directory")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation passed" in done.stdout
    for command in ("ccledger:usage", "ccledger:tools", "ccledger:statusline"):
        assert f"commands: {command}" in done.stdout


def test_marketplace_add_and_install_offline_then_the_plugin_records(e2e_client, sandbox):
    add_plugin(e2e_client, sandbox, REPO)
    settings = sandbox.read_settings()
    assert settings["enabledPlugins"] == {"ccledger@ccledger": True}
    assert "hooks" not in settings and "statusLine" not in settings
    listed = claude(e2e_client, sandbox, "plugin", "list")
    assert "ccledger@ccledger" in listed.stdout
    with FakeApi({PROMPT: scenario()}) as api:
        res = run_headless(e2e_client, sandbox, api, PROMPT, TOOLS)
    assert res.returncode == 0, res.stderr
    time.sleep(1.0)
    session = session_of(sandbox, PROMPT).stem
    hooked = ledger_rows("SELECT tool_use_id FROM tool_calls WHERE session_id=? AND from_hook=1", session)
    assert {r[0] for r in hooked} == {"toolu_p_ls", "toolu_p_mem1", "toolu_p_mem2"}


def test_plugin_route_records_at_once_and_slash_commands_answer_from_its_cli(e2e_client, sandbox, tmp_path):
    add_plugin(e2e_client, sandbox, plugin_only_marketplace(tmp_path))
    root = Path(json.loads((sandbox.config_dir / "plugins" / "installed_plugins.json").read_text())
                ["plugins"]["ccledger@ccledger"][0]["installPath"])
    # One fake API for every session: its message ids are unique only within one server run.
    with FakeApi({"hello": [{"text": "Hi."}], PROMPT: scenario()}) as api:
        # 1. nothing installed: the plugin's own package records the first session; SessionStart says nothing
        res = run_headless(e2e_client, sandbox, api, "hello", [], mcp=False,
                           extra_args=["--output-format", "stream-json", "--verbose"])
        starts = [json.loads(line) for line in res.stdout.splitlines()
                  if '"hook_response"' in line and '"SessionStart"' in line]
        assert starts and not [e for e in starts if e["stdout"]]
        hello = session_of(sandbox, "hello").stem
        assert ledger_rows("SELECT COUNT(*) FROM hook_events WHERE session_id=?", hello)[0][0] >= 2

        # 2. the `ccledger` command's environment, set up from the plugin's copy as its SessionStart does in
        # the background (run here in the foreground: the harness ends what a headless session leaves running)
        before = sandbox.settings_path.read_bytes()
        done = subprocess.run([sys.executable, "-S", str(root / "scripts" / "ccledger_hook.py"), "build-env",
                               str(root), ""], env=sandbox.env(PIP_CACHE_DIR=str(cache_dir() / "pip")),
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        assert sandbox.settings_path.read_bytes() == before
        assert (sandbox.ccledger_home / "venv" / "bin" / "python").exists()

        # 3. a scripted session records through the plugin's hooks; slash commands read the ledger
        res = run_headless(e2e_client, sandbox, api, PROMPT, TOOLS)
        assert res.returncode == 0, res.stderr
        time.sleep(1.0)
        main = session_of(sandbox, PROMPT)
        shown = {}
        for command in ("/ccledger:usage", "/ccledger:tools", "/ccledger:statusline"):
            done = run_headless(e2e_client, sandbox, api, command, [], mcp=False, extra_args=["--continue"])
            assert done.returncode == 0, done.stdout + done.stderr
            shown[command] = done.stdout
        sent = user_texts(api)
    session = main.stem
    assert {r[0] for r in ledger_rows("SELECT tool_use_id FROM tool_calls WHERE session_id=? AND from_hook=1",
                                      session)} == {"toolu_p_ls", "toolu_p_mem1", "toolu_p_mem2"}
    assert cli("ingest", "--quiet").code == 0
    ledger = ledger_rows("SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens)"
                         " FROM api_calls WHERE session_id=?", session)[0]
    assert ledger == transcript_usage(main)
    # /ccledger:usage and /ccledger:tools: answered by the plugin's UserPromptSubmit hook, shown to the user
    # (-p prints the block's reason) and never sent to the model (ccledger/hooks/commands.py)
    assert "ccledger: this session" not in sent and "ccledger: tools of this session" not in sent
    usage = shown["/ccledger:usage"]
    assert usage.startswith("UserPromptSubmit operation blocked by hook:\nccledger: this session")
    assert session[:8] in usage and "Claude Code usage, daily" in usage.split("ccledger: today", 1)[1]
    tools_part = shown["/ccledger:tools"].split("ccledger: tools of this session", 1)[1]
    assert "Bash" in tools_part and "memory" in tools_part.split("ccledger: MCP servers of this session")[1]
    # /ccledger:statusline: the status line in the user settings, run from the plugin's folder (through the
    # data folder's link to it); no hooks
    settings = sandbox.read_settings()
    link = sandbox.ccledger_home / "plugin"
    assert f"'{link}/ccledger/launch.py' statusline" in settings["statusLine"]["command"] and "hooks" not in settings
    assert "Status line written to" in sent

    install_py(sandbox, "--uninstall")
    assert sandbox.settings_path.read_bytes() == before
