"""What a Claude Code user sees when ccledger's surroundings are missing, with the real client 2.1.332.

1. An install.py set-up whose environment was deleted: the session runs with no "hook failed" on screen,
   the status line says in one line what to run, and `python3 install.py --doctor` still runs and names
   the missing environment.
2. The plugin alone, added from a git marketplace (this repository's snapshot at an https URL, served
   offline through git's url.insteadOf): the first session is recorded with no install.py at all, the
   environment for the `ccledger` command is set up in the background once and announced once, and the
   status line added by /ccledger:statusline runs from the plugin's folder.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, ledger_rows

from ccledger.install import entries

from .harness import FakeApi, cache_dir, interactive, run_headless
from .test_install_e2e import install_py
from .test_plugin_e2e import add_plugin

pytestmark = pytest.mark.e2e

HOOK_TROUBLE = ("hook failed", "hook error", "ENOENT", "posix_spawn", "Traceback")
NOTICE = "is being set up once, in the background"


def flat(screen: str) -> str:
    """The screen as one line of words: Claude Code wraps long messages itself, at any word."""
    return re.sub(r"\s+", " ", screen)


class Watch:
    """Every screen a wait looked at, so that a message shown for a moment is not missed."""

    def __init__(self) -> None:
        self.screens: list[str] = []

    def until(self, what):
        def seen(screen: str) -> bool:
            self.screens.append(screen)
            return what(screen) if callable(what) else what in screen
        return seen

    def trouble(self) -> list[str]:
        return sorted({word for s in self.screens for word in HOOK_TROUBLE if word in s})


def test_an_install_py_set_up_survives_its_environment_going_away(e2e_client, sandbox):
    install_py(sandbox, "--yes", "--no-ingest")
    venv = sandbox.ccledger_home / "venv"
    assert json.dumps(sandbox.read_settings()).count(str(venv / "bin" / "python")) == 0  # not the venv's python
    shutil.rmtree(venv)
    prompt = "List the files now that the environment is gone."
    turns = [{"text": "Listing.", "tool": {"id": "toolu_gone_ls", "name": "Bash", "input": {"command": "ls"}}},
             {"text": "All listed without it."}]
    watch = Watch()
    with FakeApi({prompt: turns}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=["Bash"]) as tui:
            tui.wait_for(watch.until(entries.ENV_GONE), timeout=30)  # the status line, from the first render
            tui.send(prompt)
            tui.wait_for(watch.until("All listed without it."), timeout=90)
            time.sleep(2)  # Stop and the status line after the answer
            screen = tui.wait_for(watch.until(entries.ENV_GONE), timeout=30)
    assert not watch.trouble(), screen
    row = next(line for line in screen.splitlines() if entries.ENV_GONE in line)
    assert row.strip() == entries.ENV_GONE, row
    assert api.tool_use_ids() == ["toolu_gone_ls"]  # the tool call went through its PreToolUse hook

    doctor = subprocess.run([sys.executable, "-I", "-S", str(REPO / "install.py"), "--doctor"], capture_output=True,
                            text=True, timeout=120, env=sandbox.env(), cwd=sandbox.project, stdin=subprocess.DEVNULL)
    assert doctor.returncode == 1 and not doctor.stderr, doctor.stderr
    first, fix = doctor.stdout.splitlines()[:2]
    assert first.startswith(f"PROBLEM     environment: {venv} is missing") and "install.py`" in fix, doctor.stdout
    assert "PROBLEM     hook files: missing:" in doctor.stdout


def git_marketplace(sandbox, tmp_path: Path) -> str:
    """A snapshot of this repository as a git repository, added as users add it (an https URL); git's
    url.insteadOf in the sandbox's ~/.gitconfig serves it from disk, so Claude Code clones it and copies
    the plugin into its cache exactly as from GitHub (links inside plugin/ become files), offline."""
    repo = tmp_path / "ccledger-git"
    for name in (".claude-plugin", "plugin", "ccledger", "hooks", "statusline", "pyproject.toml", "README.md",
                 "LICENSE", "install.py"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, repo / name, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(source, repo / name)
    env = sandbox.env()
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid",
                                                  "commit", "-qm", "snapshot"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    url = "https://example.invalid/ccledger.git"
    subprocess.run(["git", "config", "--global", f"url.{repo.as_uri()}.insteadOf", url], env=env, check=True)
    return url


def set_up_log(sandbox) -> str:
    log = sandbox.ccledger_home / "logs" / "install.log"
    return log.read_text() if log.exists() else ""


def test_the_plugin_alone_records_at_once_and_sets_up_its_cli_in_the_background_once(e2e_client, sandbox, tmp_path):
    add_plugin(e2e_client, sandbox, git_marketplace(sandbox, tmp_path))
    records = json.loads((sandbox.config_dir / "plugins" / "installed_plugins.json").read_text())
    root = Path(records["plugins"]["ccledger@ccledger"][0]["installPath"])
    assert (root / "ccledger" / "launch.py").is_file() and not (root / "ccledger").is_symlink()  # shipped, copied
    venv = sandbox.ccledger_home / "venv"
    assert not venv.exists() and "hooks" not in sandbox.read_settings()

    prompt = "Record the very first plugin session."
    turns = [{"text": "Listing.", "tool": {"id": "toolu_first_ls", "name": "Bash", "input": {"command": "ls"}}},
             {"text": "First session done."}]
    extra = {"PIP_CACHE_DIR": str(cache_dir() / "pip")}
    watch = Watch()
    with FakeApi({prompt: turns, "hello again": [{"text": "Hi again."}],
                  "/ccledger:statusline": [{"text": "Added."}], "show the line": [{"text": "Here it is."}]}) as api:
        with interactive(e2e_client, sandbox, api, mcp=False, allowed_tools=["Bash"], env=extra) as tui:
            tui.send(prompt)
            tui.wait_for(watch.until("First session done."), timeout=90)
            screen = tui.wait_for(watch.until(lambda s: NOTICE in flat(s)), timeout=30)
            deadline = time.monotonic() + 600  # the set-up runs on while the session goes on
            while not ("ccledger is installed in" in set_up_log(sandbox) or "failed:" in set_up_log(sandbox)):
                assert time.monotonic() < deadline, set_up_log(sandbox)[-3000:]
                watch.screens.append(tui.capture())
                time.sleep(2)
        assert flat(screen).count(NOTICE) == 1 and not watch.trouble(), screen
        log = set_up_log(sandbox)
        assert log.count("the ccledger plugin sets up the `ccledger` command") == 1 and "failed:" not in log, log
        session = next(p for p in sandbox.transcripts() if prompt in p.read_text()).stem
        assert ledger_rows("SELECT tool_use_id FROM tool_calls WHERE session_id=? AND from_hook=1", session) == [
            ("toolu_first_ls",)]
        report = subprocess.run([str(venv / "bin" / "ccledger"), "report", "daily", "--json"], capture_output=True,
                                text=True, env=sandbox.env(), timeout=120)
        assert report.returncode == 0 and json.loads(report.stdout)["totals"]["total_tokens"] > 0, report.stderr

        # the next session: nothing to set up, nothing said
        again = run_headless(e2e_client, sandbox, api, "hello again", [], mcp=False,
                             extra_args=["--output-format", "stream-json", "--verbose"], env=extra)
        assert again.returncode == 0 and NOTICE not in again.stdout, again.stdout[-2000:]
        assert set_up_log(sandbox).count("the ccledger plugin sets up the `ccledger` command") == 1

        # the status line: added by the plugin's command, run from the plugin's folder through the data link
        added = run_headless(e2e_client, sandbox, api, "/ccledger:statusline", [], mcp=False, env=extra)
        assert added.returncode == 0, added.stdout + added.stderr
        line = sandbox.read_settings()["statusLine"]["command"]
        link = sandbox.ccledger_home / "plugin"
        assert f"'{link}/ccledger/launch.py' statusline" in line and os.readlink(link) == str(root), line
        with interactive(e2e_client, sandbox, api, mcp=False) as tui:
            tui.send("show the line")
            tui.wait_for("Here it is.", timeout=60)
            shown = tui.wait_for(lambda s: "today $" in s, timeout=30)
    assert not [w for w in HOOK_TROUBLE if w in shown], shown
