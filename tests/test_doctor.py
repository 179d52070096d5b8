"""`ccledger doctor`: each set-up problem is found on real files and comes with its fix.

Installs go through install.py's own code with this interpreter and the checkout as the package
folder (as in test_install.py), so the hook commands doctor runs are the real ones.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, cli

from ccledger.install import cli as install_cli

KEYS = {"schema_version", "report", "paths", "ledger", "skipped", "skipped_by_file", "problems", "checks"}


def install(*args: str) -> None:
    code = install_cli.main(["--python", sys.executable, "--site-packages", str(REPO), "--no-ingest", *args],
                            checkout=str(REPO))
    assert code == 0


def doctor() -> tuple[int, dict]:
    result = cli("doctor", "--json")
    return result.code, result.json()


def check(body: dict, name: str) -> dict:
    (found,) = [c for c in body["checks"] if c["name"] == name]
    return found


def test_nothing_installed_is_a_problem_with_its_fix(claude_dir):
    code, body = doctor()
    assert code == 1 and KEYS <= set(body)
    assert all(set(c) == {"name", "ok", "detail", "fix"} for c in body["checks"])
    hooks = check(body, "hooks registered")
    assert not hooks["ok"] and "install.py" in hooks["fix"]
    assert not check(body, "status line")["ok"]
    assert check(body, "ledger")["ok"] and check(body, "skipped lines")["ok"]
    text = cli("doctor")
    assert text.code == 1 and "PROBLEM     hooks registered" in text.out and "fix: run `python3 install.py`" in text.out
    assert text.out.startswith("ledger      ")  # the existing lines come first, unchanged


def test_a_fresh_install_passes_every_check(claude_dir):
    install()
    code, body = doctor()
    assert code == 0 and body["problems"] == [], body["checks"]
    assert check(body, "hook runs")["ok"] and "launch.py hook" in check(body, "hook runs")["detail"]
    assert "14 events" in check(body, "hooks registered")["detail"]
    assert cli("doctor").code == 0


def test_an_interpreter_that_is_gone_is_found(claude_dir, tmp_path):
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    install_cli.main(["--python", str(python), "--site-packages", str(REPO), "--no-ingest"], checkout=str(REPO))
    shutil.rmtree(tmp_path / "venv")
    code, body = doctor()
    files = check(body, "hook files")
    assert code == 1 and not files["ok"] and str(python) in files["detail"] and "install.py" in files["fix"]
    assert "hook files: missing" in " ".join(body["problems"])


def test_a_hook_that_prints_or_fails_is_found(claude_dir, tmp_path):
    fake_site = tmp_path / "site"
    launch = fake_site / "ccledger" / "launch.py"
    launch.parent.mkdir(parents=True)
    shutil.copytree(REPO / "ccledger", fake_site / "ccledger", dirs_exist_ok=True)
    launch.write_text("import sys\nprint('leaks into the session')\nsys.exit(3)\n")
    install_cli.main(["--python", sys.executable, "--site-packages", str(fake_site), "--no-ingest"],
                     checkout=str(REPO))
    code, body = doctor()
    runs = check(body, "hook runs")
    assert code == 1 and not runs["ok"] and "exited 3" in runs["detail"] and runs["fix"]


def test_age_of_the_last_status_line_reading(claude_dir):
    install()
    _, body = doctor()
    assert check(body, "status line readings")["detail"].startswith("no reading yet")
    from ccledger.ledger import db
    with db.opened() as conn, conn:
        conn.execute("INSERT INTO readings (session_id, ts_ms) VALUES ('s', ?)", (int(time.time() * 1000) - 200_000,))
    _, body = doctor()
    assert check(body, "status line readings")["detail"] == "last reading 3 min ago"


def _plugin(claude_dir: Path, tmp_path: Path, package: bool = True) -> Path:
    """An installed copy of the plugin, recorded the way Claude Code records it; `package=False`: a copy
    from before the plugin shipped its own package (which finds it in install.py's environment)."""
    root = tmp_path / "plugins" / "cache" / "ccledger" / "ccledger" / "0.1.0"
    shutil.copytree(REPO / "plugin", root, symlinks=False)
    if not package:
        shutil.rmtree(root / "ccledger")
    (claude_dir / "plugins").mkdir(exist_ok=True)
    (claude_dir / "plugins" / "installed_plugins.json").write_text(json.dumps(
        {"version": 2, "plugins": {"ccledger@ccledger": [{"scope": "user", "installPath": str(root)}]}}))
    (claude_dir / "settings.json").write_text('{"enabledPlugins": {"ccledger@ccledger": true}}')
    return root


def test_plugin_without_the_package_is_found(claude_dir, tmp_path):
    _plugin(claude_dir, tmp_path, package=False)
    code, body = doctor()
    plugin = check(body, "plugin")
    assert code == 1 and not plugin["ok"] and "not installed" in plugin["detail"] and "--env-only" in plugin["fix"]
    assert not [c for c in body["checks"] if c["name"] == "hooks registered"]  # the plugin brings them


def test_plugin_with_the_package_and_statusline_passes(claude_dir, tmp_path):
    _plugin(claude_dir, tmp_path, package=False)
    site = Path(os.environ["CCLEDGER_HOME"]) / "venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "ccledger").symlink_to(REPO / "ccledger")
    install("--statusline-only")
    code, body = doctor()
    assert code == 0, body["checks"]
    assert check(body, "plugin")["ok"] and str(site) in check(body, "plugin")["detail"]


def test_plugin_and_settings_hooks_together_are_a_problem(claude_dir, tmp_path):
    install()
    settings = json.loads((claude_dir / "settings.json").read_text())
    _plugin(claude_dir, tmp_path)
    (claude_dir / "settings.json").write_text(json.dumps({**settings, "enabledPlugins": {"ccledger@ccledger": True}}))
    code, body = doctor()
    twice = check(body, "hooks once")
    assert code == 1 and not twice["ok"] and "twice" in twice["detail"] and "--uninstall" in twice["fix"]


@pytest.mark.parametrize("text", ['{"hooks": [1]}', "{oops"])
def test_unreadable_settings_are_reported(claude_dir, text):
    (claude_dir / "settings.json").write_text(text)
    code, body = doctor()
    assert code == 1 and not check(body, "settings")["ok"]


def test_entries_naming_the_pre_0_2_launcher_are_found_and_fixed_in_place(claude_dir, tmp_path):
    """An install from before the rooms (settings naming ccledger/hot/launch.py) after the package moved:
    doctor names the moved file, and `doctor --fix` rewrites only those paths, byte for byte."""
    fake_site = tmp_path / "site"
    shutil.copytree(REPO / "ccledger", fake_site / "ccledger")
    install_cli.main(["--python", sys.executable, "--site-packages", str(fake_site), "--no-ingest"],
                     checkout=str(REPO))
    settings = claude_dir / "settings.json"
    current = settings.read_bytes().replace(b'{\n  "hooks"', b'{\n\n  "hooks"')  # the user's own formatting
    old = current.replace(b"ccledger/launch.py", b"ccledger/hot/launch.py")
    assert old != current
    settings.write_bytes(old)
    code, body = doctor()
    moved = check(body, "moved files")
    assert code == 1 and not moved["ok"] and "ccledger/hot/launch.py" in moved["detail"] and "--fix" in moved["fix"]
    fixed = cli("doctor", "--fix")
    assert "moved path(s)" in fixed.out
    assert settings.read_bytes() == current
    _, body = doctor()
    assert not [c for c in body["checks"] if c["name"] == "moved files"]
    assert check(body, "hook runs")["ok"]


@pytest.mark.parametrize("which", ["hook", "statusline"])
def test_a_0_1_entry_still_runs_through_the_compatibility_launcher(isolated, which):
    """0.1 settings and plugin copies run ccledger/hot/launch.py: it still records, silently."""
    import subprocess
    payload = b'{"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t"}'
    result = subprocess.run([sys.executable, "-S", str(REPO / "ccledger" / "hot" / "launch.py"), which],
                            input=payload if which == "hook" else b'{"session_id": "s"}', capture_output=True,
                            timeout=60)
    assert result.returncode == 0 and not result.stderr
    if which == "hook":
        assert not result.stdout and list((isolated / "ccledger" / "spool").iterdir())
    else:
        assert result.stdout.strip()
