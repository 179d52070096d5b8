"""The hot path imports only the standard library (asserted from sys.modules of a real run).

The rule is measured, not implied by a folder: whatever a hook, the gate or the status line loads,
every top-level module must be ccledger's own or in `sys.stdlib_module_names`."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO

FORBIDDEN = {"pydantic", "rich", "click", "platformdirs", "filelock", "tomli_w", "tomli"}
PROBE = """
import sys, io
sys.path[0] = {repo!r}
sys.stdin = io.TextIOWrapper(io.BytesIO({payload!r}))
from ccledger.{module} import main
main([])
sys.stdout = sys.__stdout__
print("MODULES", " ".join(sorted(sys.modules)))
"""


def modules_after(module: str, payload: dict) -> set[str]:
    code = PROBE.format(repo=str(REPO), payload=json.dumps(payload).encode(), module=module)
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=os.environ,
                         timeout=60).stdout
    line = next(line for line in out.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def tops(modules: set[str]) -> set[str]:
    found = {m.split(".")[0] for m in modules}
    foreign = found - set(sys.stdlib_module_names) - {"ccledger", "__main__"}
    assert not foreign, f"the hot path loaded modules outside the standard library: {sorted(foreign)}"
    return found


@pytest.fixture
def transcript(corpus, claude_dir, monkeypatch):
    source = corpus / "projects" / "-Users-dev-git-ai" / "example-claude-code.jsonl"
    target = claude_dir / "projects" / "-Users-dev-git-ai" / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    return target


def test_recording_hook_imports_neither_third_party_nor_sqlite_nor_json(isolated):
    payload = {"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t",
               "tool_input": {"command": "ls"}, "tool_response": {"stdout": "x"}, "duration_ms": 3}
    loaded = tops(modules_after("hooks.entry", payload))
    assert not loaded & FORBIDDEN
    assert not loaded & {"sqlite3", "_sqlite3", "json", "re"}, "a recording hook only appends to the spool"


def test_stop_hook_that_ingests_imports_no_third_party(transcript):
    payload = {"hook_event_name": "Stop", "session_id": "example-claude-code", "transcript_path": str(transcript)}
    modules = modules_after("hooks.entry", payload)
    loaded = tops(modules)
    assert "_sqlite3" in loaded and "sqlite3" not in loaded  # it ingested, without sqlite3.dbapi2
    assert not loaded & FORBIDDEN
    assert "ccledger.budgets.measure" not in modules and "datetime" not in modules  # no budgets; own ISO parser


def test_status_line_imports_no_third_party(transcript):
    payload = {"session_id": "example-claude-code", "transcript_path": str(transcript),
               "model": {"id": "claude-sonnet-4-20250514", "display_name": "Sonnet 4"}}
    modules = modules_after("statusline.entry", payload)
    loaded = tops(modules)
    assert "_sqlite3" in loaded and "sqlite3" not in loaded  # it read the ledger, without sqlite3.dbapi2
    assert not loaded & FORBIDDEN
    assert "ccledger.budgets.measure" not in modules  # none configured


def test_status_line_with_a_budget_measures_it(transcript, isolated):
    (isolated / "ccledger").mkdir(exist_ok=True)
    (isolated / "ccledger" / "config.toml").write_text('[budgets.session]\ntokens = 1000\n')
    payload = {"session_id": "example-claude-code", "transcript_path": str(transcript),
               "model": {"id": "claude-sonnet-4-20250514", "display_name": "Sonnet 4"}}
    assert "ccledger.budgets.measure" in modules_after("statusline.entry", payload)


def test_a_gating_hook_with_a_current_gate_opens_no_ledger(transcript, isolated):
    """A deny-able limit (not reached: the hook prints nothing) measured by the Stop hook: the next PreToolUse
    reads the gate file and decides without SQLite; once the transcript grows, it measures first."""
    (isolated / "ccledger").mkdir(exist_ok=True)
    (isolated / "ccledger" / "config.toml").write_text('[budgets.session]\ntokens = 1e12\naction = "deny"\n')
    base = {"session_id": "example-claude-code", "transcript_path": str(transcript), "cwd": "/Users/dev/git/ai"}
    assert "_sqlite3" in tops(modules_after("hooks.entry", {**base, "hook_event_name": "Stop"}))
    pre = {**base, "hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_use_id": "toolu_gated",
           "tool_input": {"command": "ls"}}
    assert not tops(modules_after("hooks.entry", pre)) & {"sqlite3", "_sqlite3"}
    with transcript.open("a") as handle:
        handle.write("\n")
    assert "_sqlite3" in tops(modules_after("hooks.entry", pre))
