"""`python3 install.py` for real: a venv made in a fresh CCLEDGER_HOME, the checkout pip-installed
into it (not editable), settings merged, history read, then `--uninstall` giving the file back.

The first test needs only Python and PyPI; the second drives the real Claude Code 2.1.332 (headless
and one interactive turn under tmux) through what install.py registered. pip's cache is kept in
the e2e cache dir (PIP_CACHE_DIR), so a second run installs in seconds instead of a minute.
"""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, cli, ledger_rows

from ccledger.install import entries

from .harness import FakeApi, cache_dir, interactive, run_headless

pytestmark = pytest.mark.e2e

THEIRS = {"type": "command", "command": "echo E2E-THEIRS", "padding": 1}


def user_settings(sandbox) -> bytes:
    """A settings file with the user's own things in it, formatted their way."""
    text = ('{\n\t"model": "sonnet",\n\t"statusLine": %s,\n\t"permissions": {"allow": ["Bash(ls:*)"]},\n'
            '\t"hooks": {"Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "true"}]}]}\n}'
            % json.dumps(THEIRS))
    sandbox.settings_path.write_text(text)
    return text.encode()


def install_py(sandbox, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run install.py as a user would (stdin not a terminal), with ~/.local/bin on the PATH."""
    env = sandbox.env(PIP_CACHE_DIR=str(cache_dir() / "pip"),
                      PATH=f"{sandbox.home / '.local' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([sys.executable, str(REPO / "install.py"), *args], cwd=sandbox.project, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"install.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def venv_of(sandbox) -> tuple[Path, Path]:
    venv = sandbox.ccledger_home / "venv"
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    return venv, site


def history(sandbox, requests: int = 3) -> None:
    """A small transcript written today, for the ingest and today's report."""
    session = str(uuid.uuid4())
    folder = sandbox.config_dir / "projects" / "-tmp-e2e-history"
    folder.mkdir(parents=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    lines = []
    for i in range(requests):
        ts = (now - datetime.timedelta(minutes=requests - i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines.append({"type": "assistant", "sessionId": session, "requestId": f"req_{i}", "timestamp": ts,
                      "version": "2.1.332", "cwd": "/tmp/e2e-history", "uuid": str(uuid.uuid4()),
                      "message": {"id": f"msg_{i}", "role": "assistant", "model": "claude-sonnet-4-6",
                                  "content": [{"type": "text", "text": "hi"}],
                                  "usage": {"input_tokens": 100, "output_tokens": 10,
                                            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1000}}})
    (folder / f"{session}.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_install_py_end_to_end_then_uninstall(sandbox):
    original = user_settings(sandbox)
    history(sandbox)
    started = time.monotonic()
    out = install_py(sandbox, "--yes").stdout
    took = time.monotonic() - started
    venv, site = venv_of(sandbox)
    launch = site / "ccledger" / "launch.py"
    data = sandbox.read_settings()
    assert data["model"] == "sonnet" and data["hooks"]["Stop"][0]["hooks"][0]["command"] == "true"
    handler = data["hooks"]["PostToolUse"][0]["hooks"][0]
    # the interpreter the venv was made from (the venv may be deleted), launch.py through the guard
    assert handler["command"] == entries.host_python(str(venv / "bin" / "python")) != str(venv / "bin" / "python")
    assert handler["args"] == entries.boot_args(str(site), "hook") and handler["args"][-2] == str(launch)
    assert str(REPO) not in json.dumps(data)  # the checkout may be deleted: nothing points into it
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import ccledger; print(ccledger.__file__)"],
                           capture_output=True, text=True, cwd=sandbox.project).stdout
    assert where.startswith(str(site)), where  # a copy, not an editable link
    link = sandbox.home / ".local" / "bin" / "ccledger"
    assert link.is_symlink() and Path(os.readlink(link)) == venv / "bin" / "ccledger"
    # ingest + today's report ran, and the ledger holds the history
    assert "3 API calls" in out and "Claude Code usage, daily" in out and "ccledger doctor" in out
    assert cli("report", "daily", "--json", "--no-ingest").json()["totals"]["total_tokens"] == 3 * 1110
    # what was registered really runs: a hook (quietly), the status line (chaining the user's)
    probe = subprocess.run([handler["command"], *handler["args"]], input=b'{"hook_event_name": "Unknown"}',
                           capture_output=True, timeout=30)
    assert (probe.returncode, probe.stdout) == (0, b"")
    line = subprocess.run(data["statusLine"]["command"], shell=True, capture_output=True, text=True, timeout=30,
                          env=sandbox.env(), input=json.dumps({"session_id": "e2e", "model": {"id": "x"}}))
    first = line.stdout.splitlines()[0]
    assert first.endswith("E2E-THEIRS") and first.index("today $") < first.index("E2E-THEIRS"), line  # theirs after
    doctor = subprocess.run([str(link), "doctor", "--json"], capture_output=True, text=True, env=sandbox.env())
    checks = {c["name"]: c["ok"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks["hooks registered"] and checks["hook runs"] and checks["status line"], doctor.stdout
    print(f"install.py took {took:.1f}s")

    out = install_py(sandbox, "--uninstall").stdout
    assert "restored exactly" in out
    assert sandbox.settings_path.read_bytes() == original
    assert not link.exists() and not Path(str(sandbox.settings_path) + ".ccledger-backup").exists()


def test_install_py_then_the_real_client_records_and_shows_the_status_line(e2e_client, sandbox):
    original = user_settings(sandbox)
    install_py(sandbox, "--yes")
    prompt = "Record this installed session."
    turns = [
        {"text": "Listing.", "tool": {"id": "toolu_i_ls", "name": "Bash", "input": {"command": "ls"}}},
        {"text": "Storing.", "tool": {"id": "toolu_i_mem1", "name": "mcp__memory__create_entities", "input": {
            "entities": [{"name": "ccledger", "entityType": "project", "observations": ["installed"]}]}}},
        {"text": "Recalling.", "tool": {"id": "toolu_i_mem2", "name": "mcp__memory__read_graph", "input": {}}},
        {"text": "All done."},
    ]
    with FakeApi({prompt: turns, "say hello": [{"text": "Hello from the fake API."}]}) as api:
        res = run_headless(e2e_client, sandbox, api, prompt,
                           ["Bash", "mcp__memory__create_entities", "mcp__memory__read_graph"])
        assert res.returncode == 0, res.stderr
        time.sleep(1.0)  # async hooks still finishing
        with interactive(e2e_client, sandbox, api, mcp=False) as tui:
            tui.send("say hello")
            tui.wait_for("Hello from the fake API.", timeout=60)
            screen = tui.wait_for(lambda s: any("E2E-THEIRS" in l and "today $" in l for l in s.splitlines()),
                                  timeout=30)
    (main,) = [p for p in sandbox.transcripts() if p.read_text().count(prompt)]
    session = main.stem
    assert cli("ingest", "--quiet").code == 0
    ours = ledger_rows("SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens)"
                       " FROM api_calls WHERE session_id=?", session)[0]
    assert ours == transcript_usage(main)
    mcp = {r["owner"]: r["calls"] for r in cli("report", "tools", "--json", "--session", session).json()["rows"]}
    assert mcp.get("mcp__memory__create_entities") == 1 and mcp.get("mcp__memory__read_graph") == 1, mcp
    assert {r[0] for r in ledger_rows("SELECT tool_use_id FROM tool_calls WHERE session_id=?", session)} == {
        "toolu_i_ls", "toolu_i_mem1", "toolu_i_mem2"}
    # the status line row: our line (today's cost), then the user's own, chained from install.json
    row = next(l for l in screen.splitlines() if "E2E-THEIRS" in l)
    assert row.index("today $") < row.index("E2E-THEIRS"), row
    assert ledger_rows("SELECT COUNT(*) FROM readings WHERE session_id != ?", session)[0][0] >= 1

    install_py(sandbox, "--uninstall")
    assert sandbox.settings_path.read_bytes() == original


def transcript_usage(path: Path) -> tuple:
    """(requests, input, output, cache read) of one transcript, deduplicated by (message.id, requestId)."""
    best: dict = {}
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        msg = obj.get("message") if obj.get("type") == "assistant" else None
        if isinstance(msg, dict) and isinstance(msg.get("usage"), dict) and msg.get("model") != "<synthetic>":
            u = msg["usage"]
            row = (u.get("input_tokens", 0), u.get("output_tokens", 0), u.get("cache_read_input_tokens", 0))
            key = (msg.get("id"), obj.get("requestId"))
            if key not in best or sum(row) > sum(best[key]):
                best[key] = row
    return (len(best),) + tuple(sum(r[i] for r in best.values()) for i in range(3))
