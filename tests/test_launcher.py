"""The commands Claude Code runs survive what they run from: a deleted environment, a plugin folder that
moved, a Python too old. And the plugin sets itself up: it ships the package, keeps a link to its folder
for the status line, and sets up the `ccledger` command in the background, announcing it once.

Everything runs for real: the installer writes real settings files in a temp home, the registered
commands run as Claude Code runs them (exec form for hooks, sh for the status line), and the plugin's
launcher runs as a separate python3 -S process.
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

from conftest import REPO

from ccledger.base import locks, paths
from ccledger.hooks import spec as hookspec
from ccledger.install import cli, entries, plugin_env

SESSION = "0b7e1c2a-5f8e-4e7a-9d55-2d3c4b5a6f70"


def payload(event: str, **extra) -> bytes:
    return json.dumps({"hook_event_name": event, "session_id": SESSION, "cwd": "/tmp",
                       "transcript_path": "/nonexistent/t.jsonl", **extra}).encode()


def install_from(site: Path, settings: Path) -> dict:
    """install.py's settings step with this interpreter and `site` as the package folder."""
    code = cli.main(["--python", sys.executable, "--site-packages", str(site), "--no-ingest", "--yes"],
                    checkout=str(REPO))
    assert code == 0
    return json.loads(settings.read_text())


@pytest.fixture
def site(tmp_path) -> Path:
    """A package folder that can be deleted, as install.py's venv can."""
    folder = tmp_path / "venv-site"
    shutil.copytree(REPO / "ccledger", folder / "ccledger", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def run_handler(handler: dict, data: bytes) -> subprocess.CompletedProcess:
    """A hook handler as Claude Code runs it (exec form); writing all of stdin fails (EPIPE) if the
    command exits without reading it, which Claude Code would report as a failed hook."""
    proc = subprocess.Popen([handler["command"], *handler["args"]], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(data)
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    return subprocess.CompletedProcess(handler["args"], proc.wait(30), out, err)


def run_statusline(command: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, shell=True, input=json.dumps({"session_id": SESSION, "model": {
        "display_name": "Opus"}}), capture_output=True, text=True, timeout=60, env=env or os.environ)


# -- registered commands without their environment ----------------------------------------------

def test_registered_hooks_run_the_package_then_are_silent_no_ops_once_it_is_gone(claude_dir, site):
    data = install_from(site, claude_dir / "settings.json")
    handler = data["hooks"]["PostToolUse"][0]["hooks"][0]
    assert handler["args"][-2:] == [str(site / "ccledger" / "launch.py"), "hook"]
    done = run_handler(handler, payload("PostToolUse", tool_name="Bash", tool_use_id="toolu_1", duration_ms=5))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert list(Path(paths.data_dir(), "spool").iterdir())  # recorded through launch.py

    shutil.rmtree(site)
    big = b" " * (1 << 20)  # more than a pipe holds: the payload must be read, not left unread
    for event in ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"):
        handler = data["hooks"][event][0]["hooks"][0]
        done = run_handler(handler, payload(event, tool_name="Bash", tool_use_id="toolu_2")[:-1] + big + b"}")
        assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), event


def test_the_status_line_says_what_to_run_once_the_package_is_gone(claude_dir, site):
    command = install_from(site, claude_dir / "settings.json")["statusLine"]["command"]
    assert "Opus" in run_statusline(command).stdout
    shutil.rmtree(site)
    done = run_statusline(command)
    assert (done.returncode, done.stdout, done.stderr) == (0, entries.ENV_GONE + "\n", "")
    assert "python3 install.py" in entries.ENV_GONE and len(entries.ENV_GONE) <= 80


def test_the_registered_interpreter_outlives_a_virtual_environment(tmp_path):
    """A venv's python is a link to the interpreter it was made from: that one is registered."""
    base = os.path.realpath(sys.executable)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {os.path.dirname(base)}\n")
    (venv / "bin" / "python").symlink_to(base)
    assert entries.host_python(str(venv / "bin" / "python")) in (base, sys.executable)
    assert not entries.host_python(str(venv / "bin" / "python")).startswith(str(venv))
    plain = tmp_path / "bin" / "python3"  # no pyvenv.cfg: kept as named, even a link
    plain.parent.mkdir()
    plain.symlink_to(base)
    assert entries.host_python(str(plain)) == str(plain)
    block = entries.hooks_block(str(venv / "bin" / "python"), str(REPO))
    assert all(not g[0]["hooks"][0]["command"].startswith(str(venv)) for g in block.values())


def test_install_py_doctor_runs_without_the_environment_and_names_it(claude_dir, site):
    install_from(site, claude_dir / "settings.json")
    shutil.rmtree(site)
    # -I -S: this python3 alone, without any site-packages (pydantic, rich): what is left once the venv is gone
    done = subprocess.run([sys.executable, "-I", "-S", str(REPO / "install.py"), "--doctor"], capture_output=True,
                          text=True, timeout=120, env=os.environ, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and not done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"PROBLEM     environment: {paths.venv_dir()} is missing or does not run: the hooks do " \
                       "nothing, the status line says so, and the `ccledger` command is gone with it"
    assert lines[1].strip() == f"fix: run `python3 {REPO / 'install.py'}`: it makes the environment again and " \
                               "keeps your settings, ledger and config"
    assert any(line.startswith("PROBLEM     hook files: missing:") and str(site / "ccledger" / "launch.py") in line
               for line in lines), done.stdout


def test_install_py_help_names_doctor_and_the_installer_refuses_it_elsewhere():
    done = subprocess.run([sys.executable, str(REPO / "install.py"), "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "--doctor" in done.stdout
    assert cli.main(["--doctor"], prog="python -m ccledger.install") == 2


# -- the plugin ---------------------------------------------------------------------------------

def test_plugin_hooks_json_is_the_spec_s_plugin_block():
    registered = json.loads((REPO / "plugin" / "hooks" / "hooks.json").read_text())
    assert registered["hooks"] == hookspec.plugin_block("python3", "${CLAUDE_PLUGIN_ROOT}/scripts/ccledger_hook.py")
    (setup,) = registered["hooks"]["SessionStart"][1]["hooks"]
    assert setup["async"] is True and setup["args"][-1] == "setup-env"


@pytest.fixture
def plugin_copy(tmp_path) -> Path:
    """The plugin as Claude Code's cache holds it after an install from a git marketplace: plugin/ with
    its links copied as files."""
    root = tmp_path / "cache" / "ccledger" / "ccledger" / "0.1.0"
    shutil.copytree(REPO / "plugin", root, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def launcher(root: Path, *args: str, data: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-S", str(root / "scripts" / "ccledger_hook.py"), *args], input=data,
                          capture_output=True, timeout=120, env=env or os.environ)


def test_the_plugin_ships_the_package_and_records_with_no_environment(plugin_copy):
    assert (plugin_copy / "ccledger" / "launch.py").is_file() and (plugin_copy / "pyproject.toml").is_file()
    done = launcher(plugin_copy, data=payload("PostToolUse", tool_name="Bash", tool_use_id="toolu_p"))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert list(Path(paths.data_dir(), "spool").iterdir())
    assert not os.path.exists(paths.venv_dir())


def test_plugin_set_up_is_announced_once_shown_by_the_next_sync_hook_and_not_retried_at_once(plugin_copy):
    """A build that fails at once (a folder that is not a Python environment stands where the venv goes):
    the start is announced once, the failure is told, and the next session start does not try again."""
    Path(paths.venv_dir()).mkdir(parents=True)
    (Path(paths.venv_dir()) / "mine.txt").write_text("not an environment")
    done = launcher(plugin_copy, "setup-env", data=payload("SessionStart", source="startup"))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert os.readlink(entries.plugin_link()) == str(plugin_copy)
    deadline = time.monotonic() + 60
    while plugin_env.building() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not plugin_env.building()
    shown = launcher(plugin_copy, data=payload("UserPromptSubmit", prompt="hi"))
    message = json.loads(shown.stdout)["systemMessage"]
    assert message.count("is being set up once, in the background") == 1
    assert "failed" in message and "is not a Python environment" in message
    assert launcher(plugin_copy, data=payload("UserPromptSubmit", prompt="again")).stdout == b""  # shown once
    again = launcher(plugin_copy, "setup-env", data=payload("SessionStart", source="startup", session_id="s2"))
    assert again.returncode == 0
    log = Path(paths.log_dir(), "install.log").read_text()
    assert log.count("the ccledger plugin sets up the `ccledger` command") == 1
    assert not os.path.exists(paths.session_state("warnings", "s2", ".jsonl"))
    status = launcher(plugin_copy, "cli", "report", "daily").stdout.decode()
    assert "failed" in status and "tried again at a session start" in status


def test_the_cli_mode_says_when_the_set_up_is_running(plugin_copy):
    with locks.FileLock(plugin_env.lock_path(), 0):
        done = launcher(plugin_copy, "cli", "report", "daily")
    assert done.returncode == 0 and b"being set up in the background" in done.stdout


def test_plugin_status_line_runs_the_plugin_folder_through_the_link(claude_dir, plugin_copy, tmp_path):
    (claude_dir / "settings.json").write_text('{"enabledPlugins": {"ccledger@ccledger": true}}')
    done = launcher(plugin_copy, "statusline-setup", "--yes", "--no-ingest")
    assert done.returncode == 0 and b"Status line written to" in done.stdout, done.stdout + done.stderr
    data = json.loads((claude_dir / "settings.json").read_text())
    command = data["statusLine"]["command"]
    assert "hooks" not in data and f"'{entries.plugin_link()}/ccledger/launch.py' statusline" in command
    assert "Opus" in run_statusline(command).stdout
    # a plugin update: a new folder, and the next session start points the link at it
    updated = tmp_path / "cache" / "ccledger" / "ccledger" / "0.2.0"
    shutil.move(str(plugin_copy), str(updated))
    assert run_statusline(command).stdout == entries.PLUGIN_GONE + "\n"
    plugin_env.link(str(updated))
    assert "Opus" in run_statusline(command).stdout


@pytest.mark.skipif(not os.path.isfile(os.path.expanduser("~root/.pyenv/versions/3.8.18/bin/python3.8")),
                    reason="needs a Python older than 3.10")
def test_a_python_too_old_is_named_at_session_start_and_silent_otherwise(plugin_copy):
    old = os.path.expanduser("~root/.pyenv/versions/3.8.18/bin/python3.8")
    script = str(plugin_copy / "scripts" / "ccledger_hook.py")
    start = subprocess.run([old, "-S", script], input=payload("SessionStart"), capture_output=True, timeout=60)
    assert start.returncode == 0 and "needs Python 3.10 or newer" in json.loads(start.stdout)["systemMessage"]
    other = subprocess.run([old, "-S", script], input=payload("PreToolUse"), capture_output=True, timeout=60)
    assert (other.returncode, other.stdout, other.stderr) == (0, b"", b"")
