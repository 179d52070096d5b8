"""install.py as a specification, on real files in temp homes (tests/conftest.py `isolated`).

The settings step runs with this interpreter and the checkout as its package folder (the hidden
`--python`/`--site-packages` options), so no venv is made here; the hook commands it registers
really run. The one test that makes the venv and pip installs is marked e2e (test_real_install_*).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO

from ccledger.hooks import spec as hookspec
from ccledger.base import paths
from ccledger.install import cli, entries, state

LAUNCH = str(REPO / "ccledger" / "launch.py")
# What install.py registers: the interpreter behind this one (a venv's is deleted with it), launch.py through BOOT.
HOST = entries.host_python(sys.executable)
OURS = {"type": "command", "command": HOST, "args": entries.boot_args(str(REPO), "hook")}
OUR_STATUSLINE = entries.statusline(sys.executable, str(REPO))["command"]


def run(*args: str, python: bool = True, cwd: str | None = None) -> tuple[int, str, str]:
    """install.py's main in-process (stdin is not a terminal under pytest, so it asks nothing)."""
    argv = list(args)
    if python:
        argv += ["--python", sys.executable, "--site-packages", str(REPO), "--no-ingest"]
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv, checkout=str(REPO))
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def settings_file(claude_dir) -> Path:
    return claude_dir / "settings.json"


def ours_in(data: dict) -> list[tuple[str, dict]]:
    return [(event, h) for event, _, h in entries.handlers(data.get("hooks")) if entries.is_ours(h)]


def snapshot(root: Path) -> dict:
    return {str(p): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def install_state() -> dict:
    return json.loads(Path(state.state_path()).read_text())


# -- install --------------------------------------------------------------------------------------

def test_fresh_install_writes_every_hook_and_the_statusline(settings_file):
    code, out, err = run()
    assert (code, err) == (0, "")
    data = json.loads(settings_file.read_text())
    assert data["hooks"] == hookspec.hooks_block(HOST, entries.boot_args(str(REPO), "hook"))
    assert data["statusLine"] == {"type": "command", "command": OUR_STATUSLINE, "padding": 0}
    for event, (run_async, timeout) in hookspec.EVENTS.items():
        (group,) = data["hooks"][event]
        assert group["hooks"] == [{**OURS, "timeout": timeout, **({"async": True} if run_async else {})}]
    entry = install_state()["installs"][str(settings_file)]
    assert entry["saved_statusline"] is None and entry["backup"] is None and entry["scope"] == "user"
    assert entry["written_sha256"] == state.sha256(settings_file.read_bytes())
    assert "written to" in out and not Path(str(settings_file) + ".ccledger-backup").exists()


def test_registered_hook_command_really_runs(settings_file):
    run()
    handler = json.loads(settings_file.read_text())["hooks"]["PostToolUse"][0]["hooks"][0]
    done = subprocess.run([handler["command"], *handler["args"]], input=b'{"hook_event_name": "Nope"}',
                          capture_output=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, b"")


def test_reinstall_adds_no_duplicates_and_changes_no_byte(settings_file):
    run()
    first = settings_file.read_bytes()
    code, out, _ = run()
    assert code == 0 and "already in" in out
    assert settings_file.read_bytes() == first
    assert len(ours_in(json.loads(first))) == len(hookspec.EVENTS)


def test_foreign_hooks_of_the_same_event_are_kept_in_place(settings_file):
    foreign_stop = {"matcher": "", "hooks": [{"type": "command", "command": "say done", "timeout": 5}]}
    foreign_pre = {"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/local/bin/guard"}]}
    settings_file.write_text(json.dumps({"hooks": {"Stop": [foreign_stop], "PreToolUse": [foreign_pre],
                                                   "Notification": [foreign_stop]}}, indent=2))
    original = settings_file.read_bytes()
    assert run()[0] == 0
    hooks = json.loads(settings_file.read_text())["hooks"]
    assert list(hooks)[:3] == ["Stop", "PreToolUse", "Notification"]
    assert hooks["Stop"][0] == foreign_stop and hooks["PreToolUse"][0] == foreign_pre
    assert hooks["Notification"] == [foreign_stop]
    assert len(hooks["Stop"]) == 2 and entries.is_ours(hooks["Stop"][1]["hooks"][0])
    assert run("--uninstall", python=False)[0] == 0
    assert settings_file.read_bytes() == original


def test_a_statusline_the_user_had_is_saved_and_chained(settings_file):
    theirs = {"type": "command", "command": "~/.claude/my-line.sh", "padding": 2, "refreshInterval": 5}
    settings_file.write_text(json.dumps({"model": "opus", "statusLine": theirs, "theme": "dark"}, indent=2))
    assert run()[0] == 0
    data = json.loads(settings_file.read_text())
    assert list(data) == ["model", "statusLine", "theme", "hooks"]  # replaced in place
    assert data["statusLine"]["command"] == OUR_STATUSLINE
    assert install_state()["installs"][str(settings_file)]["saved_statusline"] == theirs
    run()  # ours is there now: it must not be saved over theirs (never chain ourselves)
    assert install_state()["installs"][str(settings_file)]["saved_statusline"] == theirs
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "status line is back" in out
    assert json.loads(settings_file.read_text())["statusLine"] == theirs


def test_unusual_key_order_and_nesting_survive(settings_file):
    original = {"zzz": {"b": 2, "a": 1}, "hooks": {"SessionEnd": [], "Stop": []}, "env": {"Z": "1", "A": "2"},
                "permissions": {"deny": ["Read(.env)"], "allow": ["Bash(ls:*)"]}, "aaa": [3, 1, 2]}
    settings_file.write_text(json.dumps(original, indent=4))
    assert run()[0] == 0
    data = json.loads(settings_file.read_text())
    assert list(data) == list(original) + ["statusLine"]
    assert list(data["zzz"]) == ["b", "a"] and list(data["env"]) == ["Z", "A"]
    assert list(data["hooks"])[:2] == ["SessionEnd", "Stop"]
    assert data["permissions"] == original["permissions"] and data["aaa"] == [3, 1, 2]
    assert settings_file.read_text().startswith('{\n    "zzz"')  # the file's own indent is kept


def test_file_mode_is_kept_and_a_symlinked_file_stays_a_link(claude_dir, tmp_path):
    dotfiles = tmp_path / "dotfiles" / "claude-settings.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text('{"model": "sonnet"}\n')
    dotfiles.chmod(0o600)
    (claude_dir / "settings.json").symlink_to(dotfiles)
    assert run()[0] == 0
    assert (claude_dir / "settings.json").is_symlink()
    assert stat.S_IMODE(dotfiles.stat().st_mode) == 0o600
    assert "hooks" in json.loads(dotfiles.read_text())
    assert run("--uninstall", python=False)[0] == 0
    assert dotfiles.read_text() == '{"model": "sonnet"}\n' and (claude_dir / "settings.json").is_symlink()


def test_claude_config_dir_is_honoured_first_entry_of_a_list(tmp_path, monkeypatch):
    first, second = tmp_path / "cfg-a", tmp_path / "cfg-b"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{first},{second}")
    assert run()[0] == 0
    assert "hooks" in json.loads((first / "settings.json").read_text())
    assert not (second / "settings.json").exists()
    assert not (tmp_path / "home" / ".claude" / "settings.json").exists()


def test_project_scope_writes_the_git_root_settings(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src" / "deep").mkdir(parents=True)
    assert run("--scope", "project", cwd=str(repo / "src" / "deep"))[0] == 0
    target = repo / ".claude" / "settings.json"
    assert "statusLine" in json.loads(target.read_text())
    assert install_state()["installs"][str(target)]["scope"] == "project"
    assert not (tmp_path / "home" / ".claude" / "settings.json").exists()


def test_explicit_settings_path(tmp_path):
    target = tmp_path / "elsewhere" / "my-settings.json"
    assert run("--settings", str(target))[0] == 0
    assert "hooks" in json.loads(target.read_text())


# -- marks ----------------------------------------------------------------------------------------

def test_entries_of_older_versions_are_replaced_not_duplicated(settings_file):
    old_hook = {"type": "command", "command": "python3 /old/checkout/hooks/ccledger_hook.py", "timeout": 30}
    old_cli = {"type": "command", "command": "/home/me/.local/bin/ccledger-hook"}
    foreign = {"type": "command", "command": "notify-send done"}
    settings_file.write_text(json.dumps({
        "hooks": {"Stop": [{"matcher": "*", "hooks": [old_hook]}, {"hooks": [foreign]}],
                  "PreToolUse": [{"hooks": [foreign, old_cli]}],
                  "Notification": [{"hooks": [old_cli]}]},
        "statusLine": {"type": "command", "command": "python3 /old/checkout/statusline/ccledger_statusline.py"},
    }))
    assert run()[0] == 0
    data = json.loads(settings_file.read_text())
    hooks = data["hooks"]
    assert [h for _, h in ours_in(data)] == [
        {**OURS, "timeout": hookspec.EVENTS[e][1], **({"async": True} if hookspec.EVENTS[e][0] else {})}
        for e, _ in ours_in(data)]
    assert len(ours_in(data)) == len(hookspec.EVENTS)
    assert hooks["Stop"][0]["hooks"][0]["args"][-2] == LAUNCH  # took the old group's place
    assert hooks["Stop"][1] == {"hooks": [foreign]}
    assert hooks["PreToolUse"][0] == {"hooks": [foreign]}  # mixed group: only the old handler left it
    assert "Notification" not in hooks  # an event we no longer hook: our old group is gone
    assert install_state()["installs"][str(settings_file)]["saved_statusline"] is None


def test_marks_recognise_every_prior_form_and_nothing_foreign():
    for mark in entries.MARKS:
        assert entries.is_ours({"type": "command", "command": f"python3 /x/{mark}"})
    assert entries.is_ours({"type": "command", "command": "C:\\venv\\python.exe",
                            "args": ["-S", "C:\\sp\\ccledger\\hot\\launch.py", "hook"]})
    assert entries.is_ours({"type": "command", "command": "ccledger statusline"})
    for foreign in ("ccusage statusline", "my-ccledger-wrapper.sh", "ccledger report daily; echo"):
        assert not entries.is_ours({"type": "command", "command": foreign})
    assert not entries.is_ours({"type": "http", "url": "http://x/ccledger/launch.py"})


# -- dry run --------------------------------------------------------------------------------------

@pytest.mark.parametrize("existing", [None, '{"model": "opus"}\n'])
def test_dry_run_prints_the_diff_and_writes_nothing(isolated, settings_file, existing):
    if existing:
        settings_file.write_text(existing)
    before = snapshot(isolated)
    code, out, _ = run("--dry-run", python=False)  # no --python: plans the venv without making it
    assert code == 0
    assert snapshot(isolated) == before
    assert not Path(paths.venv_dir()).exists() and not Path(state.state_path()).exists()
    added = [line for line in out.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert any('"statusLine"' in line for line in added) and any('"PostToolUse"' in line for line in added)
    assert os.path.join(paths.venv_dir(), "bin", "python") in out and "dry run" in out


def test_dry_run_uninstall_writes_nothing(isolated, settings_file):
    run()
    before = snapshot(isolated)
    code, out, _ = run("--uninstall", "--dry-run", python=False)
    removed = [line for line in out.splitlines() if line.startswith("-") and not line.startswith("---")]
    assert code == 0 and any('"statusLine"' in line for line in removed)
    assert snapshot(isolated) == before


# -- uninstall ------------------------------------------------------------------------------------

def test_uninstall_restores_the_file_byte_for_byte(settings_file):
    original = b'{\t"model":"opus",  "hooks" : {"Stop":[{"hooks":[{"type":"command","command":"x"}]}]},\n' \
               b'\t"statusLine": {"type": "command", "command": "mine"}}'
    settings_file.write_bytes(original)
    assert run()[0] == 0
    backup = Path(str(settings_file) + ".ccledger-backup")
    assert backup.read_bytes() == original
    run()  # a second install changes nothing about what uninstall restores
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "restored exactly" in out
    assert settings_file.read_bytes() == original
    assert not backup.exists() and str(settings_file) not in install_state()["installs"]


def test_uninstall_removes_a_file_the_install_created(settings_file):
    run()
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and not settings_file.exists() and "did not exist" in out


def test_uninstall_after_user_edits_removes_only_ours(settings_file):
    theirs = {"type": "command", "command": "mine.sh"}
    settings_file.write_text(json.dumps({"statusLine": theirs}))
    run()
    data = json.loads(settings_file.read_text())
    data["model"] = "opus"
    data["hooks"]["Stop"].append({"hooks": [{"type": "command", "command": "their-stop"}]})
    settings_file.write_text(json.dumps(data, indent=2))
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "changed since the install" in out
    assert json.loads(settings_file.read_text()) == {
        "statusLine": theirs, "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "their-stop"}]}]},
        "model": "opus"}


def test_uninstall_leaves_a_statusline_the_user_set_after_the_install(settings_file):
    run()
    data = json.loads(settings_file.read_text())
    data["statusLine"] = {"type": "command", "command": "newer-line.sh"}
    settings_file.write_text(json.dumps(data))
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "left as it is" in out
    assert json.loads(settings_file.read_text()) == {"statusLine": {"type": "command", "command": "newer-line.sh"}}


def test_uninstall_when_not_installed_is_a_noop(settings_file):
    settings_file.write_text('{"model": "opus"}')
    code, out, err = run("--uninstall", python=False)
    assert (code, err) == (0, "") and "not installed" in out
    assert settings_file.read_text() == '{"model": "opus"}'
    assert run("--uninstall", "--settings", str(settings_file.parent / "absent.json"), python=False)[0] == 0


# -- refusals -------------------------------------------------------------------------------------

def test_malformed_settings_are_refused_with_line_and_column(isolated, settings_file):
    broken = b'{\n  "model": "opus",\n  "hooks": {,}\n}\n'
    settings_file.write_bytes(broken)
    before = snapshot(isolated)
    code, out, err = run()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "line 3, column 13" in err and str(settings_file) in err
    assert snapshot(isolated) == before  # untouched: no backup, no state, no venv


@pytest.mark.parametrize("text, words", [
    ('["not", "an", "object"]', "an array at the top"),
    ('{"hooks": ["Stop"]}', '"hooks" is an array'),
    ('{"hooks": {"Stop": {"hooks": []}}}', '"hooks"."Stop" is an object'),
    (b'{"model": "\xff"}', "not UTF-8"),
])
def test_settings_of_the_wrong_shape_are_refused_with_a_hint(settings_file, text, words):
    settings_file.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, out, err = run()
    assert code == 1 and words in err and err.count("\n") == 1
    assert settings_file.read_bytes() == (text if isinstance(text, bytes) else text.encode())


def test_a_read_only_settings_file_gives_a_clear_error(settings_file):
    # Tests run as root here, and root may write any file: the installer treats a file without
    # any write bit as read-only (as editors do), which is what this checks. The test below checks
    # the real EACCES path as an unprivileged user.
    settings_file.write_text('{"model": "opus"}')
    settings_file.chmod(0o444)
    code, _, err = run()
    assert code == 1 and "read-only" in err and err.count("\n") == 1
    assert settings_file.read_text() == '{"model": "opus"}' and not Path(state.state_path()).exists()


def test_a_read_only_folder_gives_a_clear_error(claude_dir):
    claude_dir.chmod(0o555)
    try:
        code, _, err = run()
    finally:
        claude_dir.chmod(0o755)
    assert code == 1 and "read-only" in err and not (claude_dir / "settings.json").exists()


@pytest.mark.skipif(getattr(os, "geteuid", lambda: 1)() != 0 or not Path("/usr/bin/python3").exists(),
                    reason="needs root to run the installer as an unprivileged user")
def test_settings_owned_by_someone_else_give_a_clear_error_as_an_ordinary_user():
    root = Path(tempfile.mkdtemp(prefix="ccledger-ro-"))
    try:
        root.chmod(0o755)
        target = root / "settings.json"
        target.write_text('{"model": "opus"}')  # owned by root, 0644: not writable by nobody
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "CCLEDGER_HOME": str(root / "ccl"),
               "CLAUDE_CONFIG_DIR": str(root)}
        done = subprocess.run(["/usr/bin/python3", str(REPO / "install.py"), "--settings", str(target),
                               "--python", "/usr/bin/python3", "--site-packages", str(REPO), "--no-ingest"],
                              user=65534, group=65534, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "read-only" in done.stderr and done.stderr.count("\n") == 1
        assert target.read_text() == '{"model": "opus"}'
    finally:
        shutil.rmtree(root)


def test_bad_arguments_exit_2():
    code, _, err = run("--scope", "everywhere", python=False)
    assert code == 2 and "invalid choice" in err


# -- other routes ---------------------------------------------------------------------------------

def test_statusline_only_adds_no_hooks(settings_file):
    settings_file.write_text('{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}')
    assert run("--statusline-only")[0] == 0
    data = json.loads(settings_file.read_text())
    assert data["hooks"] == {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}
    assert data["statusLine"]["command"] == OUR_STATUSLINE


def test_with_the_plugin_enabled_only_the_statusline_is_added(settings_file):
    settings_file.write_text('{"enabledPlugins": {"ccledger@ccledger": true}}')
    code, out, _ = run()
    assert code == 0 and "brings the hooks" in out
    data = json.loads(settings_file.read_text())
    assert "hooks" not in data and data["statusLine"]["command"] == OUR_STATUSLINE


def test_env_only_dry_run_touches_nothing(isolated):
    before = snapshot(isolated)
    assert run("--env-only", "--dry-run", python=False)[0] == 0
    assert snapshot(isolated) == before


def test_install_py_runs_on_the_standard_library_alone(tmp_path):
    """-I -S: no site-packages at all, so any third-party import would fail."""
    target = tmp_path / "s.json"
    done = subprocess.run([sys.executable, "-I", "-S", str(REPO / "install.py"), "--settings", str(target),
                           "--dry-run"], capture_output=True, text=True, timeout=60, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "launch.py" in done.stdout and not target.exists()


def test_plugin_hooks_json_follows_the_hook_spec():
    plugin = json.loads((REPO / "plugin" / "hooks" / "hooks.json").read_text())["hooks"]
    ours = entries.hooks_block("python3", str(REPO))
    assert list(plugin) == list(ours)
    for event, groups in plugin.items():
        (handler,) = groups[0]["hooks"]
        expected = ours[event][0]["hooks"][0]
        assert (handler.get("async"), handler["timeout"]) == (expected.get("async"), expected["timeout"])


def install_answering_no() -> subprocess.CompletedProcess:
    """install.py run with a terminal as stdin, answering "n" to its question."""
    import pty
    master, slave = pty.openpty()
    try:
        os.write(master, b"n\n")
        return subprocess.run([sys.executable, str(REPO / "install.py"), "--python", sys.executable,
                               "--site-packages", str(REPO), "--no-ingest"], stdin=slave, capture_output=True,
                              text=True, timeout=60, env=os.environ)
    finally:
        os.close(master)
        os.close(slave)


def test_on_a_terminal_it_asks_once_and_no_means_nothing_changes(isolated, settings_file):
    settings_file.write_text('{"model": "opus"}')
    before = snapshot(isolated)
    done = install_answering_no()
    assert done.returncode == 0 and done.stdout.count("[Y/n]") == 1 and "Nothing was changed" in done.stdout
    assert snapshot(isolated) == before


def test_a_file_changed_while_installing_is_read_again(settings_file, tmp_path):
    """Making the venv takes a minute, and Claude Code may write settings.json meanwhile. Here the
    interpreter install.py asks for its paths is a wrapper that edits the file first."""
    settings_file.write_text('{"model": "opus"}')
    wrapper = tmp_path / "python-that-edits"
    wrapper.write_text(f"#!/bin/sh\nprintf '{{\"model\": \"haiku\"}}' > '{settings_file}'\n"
                       f"exec '{sys.executable}' \"$@\"\n")
    wrapper.chmod(0o755)
    code = cli.main(["--python", str(wrapper), "--site-packages", str(REPO), "--no-ingest"], checkout=str(REPO))
    assert code == 0
    data = json.loads(settings_file.read_text())
    assert data["model"] == "haiku" and "hooks" in data  # the edit is kept, ours merged into it


def launcher(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-S", str(REPO / "hooks" / "ccledger_hook.py"), *args],
                          capture_output=True, text=True, timeout=60, env=os.environ, stdin=subprocess.DEVNULL)


def test_the_plugin_launcher_cli_mode_says_when_nothing_is_installed():
    done = launcher("cli", "report", "daily")
    assert done.returncode == 0 and "is not set up yet" in done.stdout and "in the background" in done.stdout


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs this interpreter to run from a venv")
def test_the_plugin_launcher_cli_mode_runs_the_installed_ccledger(claude_dir):
    os.makedirs(paths.data_dir(), exist_ok=True)
    os.symlink(sys.prefix, paths.venv_dir())  # this test's venv stands in for install.py's
    done = launcher("cli", "report", "daily", "--since", "today", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["report"] == "daily"


# -- two installs at once (a real venv and pip install each: ~20 s) ------------------------------

@pytest.mark.faults
def test_two_installs_at_once_take_turns_and_build_outside_the_checkout(isolated, settings_file, tmp_path):
    """Both wait while the install lock is held, then run one after the other: both succeed, the
    checkout is only read (no build/ or *.egg-info from pip), the second finds the first's install of
    the same checkout and does not run pip again, and the settings hold one set of entries."""
    from ccledger.base import locks

    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("install.py", "pyproject.toml", "README.md", "LICENSE", "ccledger", "hooks", "statusline", "plugin"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, checkout / name)
    before = sorted(str(p.relative_to(checkout)) for p in checkout.rglob("*"))
    env = dict(os.environ, PIP_CACHE_DIR=str(Path(os.environ.get("CCLEDGER_E2E_CACHE") or REPO / ".e2e-cache") / "pip"))
    outs = [tmp_path / f"install{n}.out" for n in range(2)]
    with locks.FileLock(os.path.join(paths.lock_dir(), "install.lock"), 0):
        runs = [subprocess.Popen([sys.executable, str(checkout / "install.py"), "--yes", "--no-ingest"], env=env,
                                 stdin=subprocess.DEVNULL, stdout=out.open("w"), stderr=subprocess.STDOUT)
                for out in outs]
        for _ in range(600):  # both reach the lock, and wait
            if all("waiting for it to finish" in out.read_text() for out in outs):
                break
            time.sleep(0.1)
    codes = [run.wait(timeout=900) for run in runs]
    texts = [out.read_text() for out in outs]
    assert codes == [0, 0], texts
    assert all("waiting for it to finish" in text for text in texts)
    assert sorted(str(p.relative_to(checkout)) for p in checkout.rglob("*")) == before
    log = (Path(paths.log_dir()) / "install.log").read_text()
    pips = [part for part in log.split("\n$ ") if " -m pip install " in part.partition("\n")[0]]
    # the second finds the environment holding this very checkout and skips pip (issue 11, item 13)
    assert len(pips) == 1 and "Successfully installed" in pips[0], log[-3000:]
    assert sum("not reinstalled" in text for text in texts) == 1
    assert len(ours_in(json.loads(settings_file.read_text()))) == len(hookspec.EVENTS)
    home = Path(paths.data_dir())
    for path in [home, *home.rglob("*")]:
        if "venv" not in path.relative_to(home).parts[:1] or path.name == "venv":
            assert stat.S_IMODE(path.lstat().st_mode) == (0o700 if path.is_dir() else 0o600), path


# -- issue 11, item 13: a minimal change, the command alone on the PATH, a summary first, no needless pip

from ccledger.install import environment, jsonedit, pathlink, settings  # noqa: E402

HAND_FORMATTED = (
    '{\n'
    '    "model":"opus",\n'
    '    "env" : { "A": "1",  "B": "caf\\u00e9" },\n'
    '\n'
    '    "permissions": {\n'
    '        "allow": [ "Bash(ls:*)", "Read(//tmp/**)" ]\n'
    '    }\n'
    '}\n')


def diff_lines(out: str, sign: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(sign) and not line.startswith(sign * 3)]


def intended(data: dict) -> dict:
    """The document install.py means to write (this interpreter, the checkout as package folder)."""
    return settings.merge(data, entries.hooks_block(sys.executable, str(REPO)),
                          entries.statusline(sys.executable, str(REPO))).data


def test_dry_run_diff_shows_only_our_lines_and_the_install_keeps_every_other_byte(settings_file):
    """A small hand-formatted settings.json gave a 265-line diff that re-indented everything."""
    settings_file.write_text(HAND_FORMATTED)
    code, out, _ = run("--dry-run")
    assert code == 0 and "written whole" not in out
    assert set(diff_lines(out, "-")) <= {"-    }"}  # at most the last member's line, for its comma
    assert len(diff_lines(out, "+")) <= len(hookspec.EVENTS) + 9  # a line per event, the statusLine, brackets
    assert run()[0] == 0
    text = settings_file.read_text()
    assert text.startswith(HAND_FORMATTED[:HAND_FORMATTED.rindex("    }\n}")] + "    },\n")
    assert text.endswith("\n}\n") and "\\u00e9" in text and '"model":"opus"' in text
    assert settings.same(json.loads(text), intended(json.loads(HAND_FORMATTED)))  # key order included
    assert run()[1].count("already") >= 1 and settings_file.read_text() == text  # a re-run changes nothing


def test_uninstall_after_user_edits_removes_our_lines_in_place(settings_file):
    settings_file.write_text(HAND_FORMATTED)
    run()
    settings_file.write_text(settings_file.read_text().replace('"model":"opus"', '"model":"sonnet"'))
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "changed since the install" in out
    assert settings_file.read_text() == HAND_FORMATTED.replace('"model":"opus"', '"model":"sonnet"')


def test_crlf_tabs_and_a_one_line_file_keep_their_style(settings_file):
    crlf = '{\r\n\t"model": "opus",\r\n\t"hooks": {\r\n\t\t"Stop": [\r\n\t\t\t{"hooks": [{"type": "command", ' \
           '"command": "x"}]}\r\n\t\t]\r\n\t}\r\n}\r\n'
    settings_file.write_bytes(crlf.encode())
    assert run()[0] == 0
    raw = settings_file.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") and raw.startswith(b'{\r\n\t"model": "opus",\r\n\t"hooks": {')
    assert b'\t\t\t{"hooks": [{"type": "command", "command": "x"}]},\r\n' in raw
    assert settings.same(json.loads(raw), intended(json.loads(crlf)))
    settings_file.write_text('{"model":"opus"}')
    run("--uninstall", python=False)
    settings_file.write_text('{"model":"opus"}')
    assert run()[0] == 0
    one = settings_file.read_text()
    assert one.startswith('{"model":"opus", "hooks":') and "\n" not in one  # a one-line file stays one line


def test_a_file_that_cannot_be_edited_in_place_is_written_whole_and_says_so(settings_file):
    settings_file.write_text('{"model": "opus",\n "model": "sonnet"}\n')  # duplicate keys: no safe in-place edit
    code, out, _ = run("--dry-run")
    assert code == 0 and "written whole again" in out
    code, out, _ = run()
    assert code == 0 and "written whole again" in out
    data = json.loads(settings_file.read_text())
    assert data["model"] == "sonnet" and len(ours_in(data)) == len(hookspec.EVENTS)
    with pytest.raises(jsonedit.Unsupported):  # the top object's keys reordered: the whole file is the fallback
        jsonedit.edit('{"a": 1, "b": 2}', {"a": 1, "b": 2}, {"b": 2, "a": 1}, "  ")


EDITS = [  # (old document, new document): every kind of change the merge and the strip make, and more
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"a": 1, "b": [1, 2, 3], "c": {"d": "e"}, "z": {"y": [1]}}),
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"a": 1, "b": [0, 1, 3, 4], "c": {"d": "f", "g": None}}),
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"b": [1, 2, 3], "c": {"d": "e"}}),
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"a": 1, "b": [1, 2, 3]}),
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"a": 1, "b": [], "c": {}}),
    ({"a": 1, "b": [1, 2, 3], "c": {"d": "e"}}, {"a": [1], "b": {"x": 1}, "c": "flat"}),
    ({"a": {}, "b": []}, {"a": {"k": [1, {"m": 2}]}, "b": [{"n": True}]}),
    ({"h": {"Stop": [{"hooks": [{"c": "x"}, {"c": "ours"}]}]}}, {"h": {"Stop": [{"hooks": [{"c": "x"}]}]}}),
    ({"x": {"a": 1, "b": 2}, "y": 3}, {"x": {"b": 2, "a": 1}, "y": 3}),  # reordered: that object is written anew
]
STYLES = [lambda d: json.dumps(d, indent=2), lambda d: json.dumps(d, indent="\t"),
          lambda d: json.dumps(d, separators=(",", ":")), lambda d: json.dumps(d, indent=4).replace("\n", "\r\n")]


@pytest.mark.parametrize("old, new", EDITS)
@pytest.mark.parametrize("style", range(len(STYLES)))
def test_text_edits_parse_to_the_intended_document_and_keep_unchanged_members(old, new, style):
    text = STYLES[style](old)
    edited = jsonedit.edit(text, old, new, "  ")
    assert json.dumps(json.loads(edited)) == json.dumps(new)  # what is written is exactly what is meant
    root = jsonedit.parse(text)
    for key, key_start, node in root.members:  # a member equal before and after keeps its bytes
        if key in new and json.dumps(new[key]) == json.dumps(old[key]) and list(new) == list(old):
            assert text[key_start:node.end] in edited


def test_dry_run_says_where_a_replaced_statusline_goes(settings_file):
    theirs = {"type": "command", "command": "~/.claude/my-line.sh", "padding": 1}
    settings_file.write_text(json.dumps({"statusLine": theirs}, indent=2))
    code, out, _ = run("--dry-run")
    assert code == 0 and not Path(state.state_path()).exists()
    said = out[out.index("~ statusLine"):]
    assert "`~/.claude/my-line.sh`" in said and "chained" in said
    assert f"saved in {state.state_path()}" in said and f"{settings_file}.ccledger-backup" in said
    assert "`python3 install.py --uninstall` puts it back" in said
    run()
    code, out, _ = run("--dry-run")  # once chained, the dry run says it stays so
    assert "already up to date" in out and "chaining yours, `~/.claude/my-line.sh`" in out


def test_on_a_terminal_the_change_is_summarised_before_the_question(isolated, settings_file):
    settings_file.write_text(json.dumps({"model": "opus", "statusLine": {"type": "command", "command": "mine"}}))
    done = install_answering_no()
    out = done.stdout
    assert done.returncode == 0 and out.count("[Y/n]") == 1 and "Nothing was changed" in out
    asked = out.index("[Y/n]")
    assert out.index(f"Changes to {settings_file}:") < asked
    assert out.index(f"+ hooks: ccledger's hook for {len(hookspec.EVENTS)} events") < asked
    assert out.index("~ statusLine: yours, `mine`") < out.index("Nothing else in the file changes.") < asked


SCRIPT = Path(sys.executable).parent / "ccledger"
needs_script = pytest.mark.skipif(not SCRIPT.is_file(), reason="needs this environment's ccledger console script")


@needs_script
@pytest.mark.parametrize("shell, line", [("/bin/zsh", 'export PATH="$PATH:$HOME/.local/bin"    (in ~/.zshrc)'),
                                         ("/usr/bin/fish", "fish_add_path -a ~/.local/bin")])
def test_only_the_ccledger_command_is_linked_and_a_missing_path_entry_is_one_line(monkeypatch, shell, line):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("SHELL", shell)
    code, out, _ = run()
    link = Path(pathlink.user_bin()) / "ccledger"
    assert code == 0 and link.is_symlink() and os.readlink(link) == str(SCRIPT)
    assert sorted(Path(pathlink.user_bin()).iterdir()) == [link]  # no python, no pip
    assert "python and pip stay off your PATH" in out and line in out
    assert str(SCRIPT.parent) not in out.partition("not on your PATH")[2]  # never the environment's bin folder
    assert install_state()["link"] == str(SCRIPT)


@needs_script
def test_with_local_bin_on_the_path_nothing_more_is_asked(monkeypatch):
    monkeypatch.setenv("PATH", f"{pathlink.user_bin()}:/usr/bin:/bin")
    code, out, _ = run()
    assert code == 0 and "Linked" in out and "export PATH" not in out
    code, out, _ = run()  # the second time the link is found on the PATH
    assert "`ccledger` is on your PATH" in out


@needs_script
def test_a_foreign_ccledger_in_local_bin_is_left_alone():
    folder = Path(pathlink.user_bin())
    folder.mkdir(parents=True)
    (folder / "ccledger").write_text("#!/bin/sh\necho mine\n")
    code, out, _ = run()
    assert code == 0 and "left alone" in out and f"run ccledger as {SCRIPT}" in out
    assert (folder / "ccledger").read_text() == "#!/bin/sh\necho mine\n"


@needs_script
def test_uninstall_removes_the_link_it_made_and_not_one_it_found(monkeypatch):
    monkeypatch.setenv("PATH", f"{pathlink.user_bin()}:/usr/bin:/bin")
    link = Path(pathlink.user_bin()) / "ccledger"
    run()
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and f"Removed the link {link}" in out and not link.exists()
    link.symlink_to(SCRIPT)  # made by someone else (pipx links its apps there)
    assert "is on your PATH" in run()[1]
    code, out, _ = run("--uninstall", python=False)
    assert code == 0 and "Removed the link" not in out and link.is_symlink()


def test_a_changed_checkout_is_not_up_to_date(tmp_path):
    """The build inputs' hash decides whether pip runs again (the 20 s re-run)."""
    checkout = tmp_path / "co"
    for name in ("pyproject.toml", "README.md", "ccledger"):
        source = REPO / name
        (shutil.copytree(source, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
         if source.is_dir() else (checkout.mkdir(exist_ok=True), shutil.copy(source, checkout / name)))
    first = environment.source_hash(str(checkout))
    (checkout / "ccledger" / "__pycache__").mkdir(exist_ok=True)
    (checkout / "ccledger" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert environment.source_hash(str(checkout)) == first  # bytecode is not a change
    with (checkout / "ccledger" / "launch.py").open("a") as f:
        f.write("\n# changed\n")
    assert environment.source_hash(str(checkout)) != first
    assert environment.package_version(str(checkout)) == environment.package_version(str(REPO))
    assert environment.up_to_date(str(checkout), str(tmp_path / "no-venv")) is None


# -- issue 11, item 14: `ccledger setup`, for pipx and `uv tool install` ------------------------------

def test_ccledger_setup_registers_this_interpreter_and_this_package(settings_file):
    """`ccledger setup` is install.py's installer with the running environment: sys.executable (not
    resolved) and the folder holding the package (here the checkout, an editable install)."""
    from conftest import cli as ccledger
    settings_file.write_text(HAND_FORMATTED)
    done = ccledger("setup", "--dry-run")
    assert done.code == 0 and "no environment is made" in done.out and settings_file.read_text() == HAND_FORMATTED
    done = ccledger("setup", "--yes", "--no-ingest")
    assert done.code == 0, done.err
    data = json.loads(settings_file.read_text())
    assert settings.same(data, intended(json.loads(HAND_FORMATTED)))  # as install.py --python <this one>
    assert str(REPO / "ccledger" / "launch.py") in [h for _, h in ours_in(data)][0]["args"]
    assert "ccledger setup --uninstall" in done.out and "venv" not in install_state().get("package", {})
    done = ccledger("setup", "--uninstall")
    assert done.code == 0 and "restored exactly" in done.out and "pipx uninstall ccledger" in done.out
    assert settings_file.read_text() == HAND_FORMATTED


def test_ccledger_setup_takes_the_installer_options():
    from conftest import cli as ccledger
    shown = ccledger("setup", "--help").out
    options = {o for a in cli.build_parser("install.py")._actions if a.help != argparse.SUPPRESS
               for o in a.option_strings if o.startswith("--")}
    missing = {o for o in options if o not in shown}
    # no environment to make or to reinstall (pipx or uv owns it); install.py --doctor is `ccledger doctor` there
    assert missing - {"--doctor"} == {"--env-only", "--force"}


# -- real environments: a venv + pip, pipx, uv (each makes an environment and pip installs: ~10 s) ------

TOOL_CACHE = Path(os.environ.get("CCLEDGER_E2E_CACHE") or REPO / ".e2e-cache")


def copy_checkout(into: Path) -> Path:
    """A copy of the checkout: pipx and pip build a local folder in place (build/, *.egg-info)."""
    into.mkdir()
    for name in ("install.py", "pyproject.toml", "README.md", "LICENSE", "ccledger", "hooks", "statusline", "plugin"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy(source, into / name)
    return into


def tool(name: str) -> str:
    """pipx or uv: on the PATH, else pip installed once into the test cache (skip when that fails)."""
    found = shutil.which(name)
    if found:
        return found
    venv = TOOL_CACHE / "python-tools"
    exe = venv / "bin" / name
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", name], capture_output=True, timeout=300,
                       env=dict(os.environ, PIP_CACHE_DIR=str(TOOL_CACHE / "pip")))
    if not exe.exists():
        pytest.skip(f"{name} is not installed and could not be pip installed")
    return str(exe)


def sandbox_env(isolated: Path, **extra: str) -> dict:
    return dict(os.environ, PIP_CACHE_DIR=str(TOOL_CACHE / "pip"), PATH="/usr/bin:/bin", SHELL="/bin/bash",
                PIPX_HOME=str(isolated / "pipx"), PIPX_BIN_DIR=str(isolated / "home" / ".local" / "bin"),
                UV_TOOL_DIR=str(isolated / "uv-tools"), UV_TOOL_BIN_DIR=str(isolated / "home" / ".local" / "bin"),
                UV_CACHE_DIR=str(TOOL_CACHE / "uv"), **extra)


@pytest.mark.faults
@pytest.mark.parametrize("route", ["venv", "pipx", "uv"])
def test_ccledger_setup_from_a_real_environment(isolated, settings_file, tmp_path, route):
    """pipx install / uv tool install / python -m venv + pip install of a clone, then `ccledger setup`:
    the hooks and the status line run that environment's interpreter (not resolved) and its copy of the
    package; they really run; doctor is happy; `ccledger setup --uninstall` gives the file back. The venv
    route is what pipx does, by hand, and leaves ~/.local/bin off the PATH (the one line to add it)."""
    checkout = copy_checkout(tmp_path / "clone")
    env = sandbox_env(isolated)
    local_bin = isolated / "home" / ".local" / "bin"
    if route == "venv":
        venv = tmp_path / "tools" / "ccledger"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(checkout)], check=True, capture_output=True,
                       timeout=600, env=env)
    elif route == "pipx":
        subprocess.run([tool("pipx"), "install", str(checkout)], check=True, capture_output=True, timeout=600, env=env)
        venv = isolated / "pipx" / "venvs" / "ccledger"
        env["PATH"] = f"{local_bin}:/usr/bin:/bin"
    else:
        done = subprocess.run([tool("uv"), "tool", "install", str(checkout)], capture_output=True, text=True,
                              timeout=600, env=env)
        if done.returncode != 0 and any(w in done.stderr.lower() for w in ("network", "connect", "dns", "fetch")):
            pytest.skip(f"uv cannot reach its package index (it does not read pip's config): {done.stderr[-200:]}")
        assert done.returncode == 0, done.stderr
        venv = isolated / "uv-tools" / "ccledger"
        env["PATH"] = f"{local_bin}:/usr/bin:/bin"
    original = b'{\n  "model": "opus",\n  "statusLine": {"type": "command", "command": "echo MINE"}\n}\n'
    settings_file.write_bytes(original)
    command = str(venv / "bin" / "ccledger") if route == "venv" else "ccledger"
    done = subprocess.run([command, "setup", "--yes"], capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    data = json.loads(settings_file.read_text())
    handler = data["hooks"]["PostToolUse"][0]["hooks"][0]
    assert os.path.join(site, "ccledger", "launch.py") in handler["args"]  # the environment's copy of the package
    assert str(checkout) not in json.dumps(data) and str(REPO) not in json.dumps(data)
    probe = subprocess.run([handler["command"], *handler["args"]], input=b'{"hook_event_name": "Unknown"}',
                           capture_output=True, timeout=30, env=env)
    assert (probe.returncode, probe.stdout) == (0, b"")
    line = subprocess.run(data["statusLine"]["command"], shell=True, capture_output=True, text=True, timeout=30,
                          env=env, input=json.dumps({"session_id": "s", "model": {"id": "x"}}))
    assert "MINE" in line.stdout, line
    assert "Claude Code usage, daily" in done.stdout  # the history was read and today's report shown
    doctor = subprocess.run([command, "doctor", "--json"], capture_output=True, text=True, env=env, timeout=120)
    checks = {c["name"]: c["ok"] for c in json.loads(doctor.stdout)["checks"]}
    assert checks["hooks registered"] and checks["hook runs"] and checks["status line"], doctor.stdout
    link = local_bin / "ccledger"
    if route == "venv":
        assert os.readlink(link) == str(venv / "bin" / "ccledger") and sorted(local_bin.iterdir()) == [link]
        assert 'export PATH="$PATH:$HOME/.local/bin"' in done.stdout
    else:
        assert f"`ccledger` is on your PATH ({link})" in done.stdout
    done = subprocess.run([command, "setup", "--uninstall"], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "restored exactly" in done.stdout, done.stdout + done.stderr
    assert settings_file.read_bytes() == original
    assert link.is_symlink() == (route != "venv")  # pipx's and uv's own link stays theirs


@pytest.mark.faults
def test_a_rerun_with_nothing_new_does_not_pip_install_again(isolated, settings_file, tmp_path):
    checkout = copy_checkout(tmp_path / "clone")
    env = sandbox_env(isolated)
    log = Path(paths.log_dir()) / "install.log"

    def install_py(*args: str) -> str:
        done = subprocess.run([sys.executable, str(checkout / "install.py"), "--no-ingest", *args], env=env,
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def pips() -> int:
        return sum(1 for line in log.read_text().splitlines() if line.startswith("$ ") and " -m pip install " in line)

    install_py("--yes")
    assert pips() == 1 and install_state()["package"]["version"] == environment.package_version(str(REPO))
    assert "pip is skipped" in install_py("--dry-run")
    out = install_py("--yes")
    assert "not reinstalled (--force reinstalls)" in out and pips() == 1
    with (checkout / "ccledger" / "launch.py").open("a") as f:
        f.write("\n# a change pulled from upstream\n")
    assert "Would upgrade the environment" in install_py("--dry-run")
    assert "not reinstalled" not in install_py("--yes") and pips() == 2
    assert "not reinstalled" not in install_py("--yes", "--force") and pips() == 3
    args = json.loads(settings_file.read_text())["hooks"]["Stop"][0]["hooks"][0]["args"]
    launch = Path(next(a for a in args if a.endswith("launch.py")))
    assert launch.read_text().endswith("# a change pulled from upstream\n")  # the change was installed


def test_install_adds_shell_completion_and_uninstall_takes_it_back(settings_file):
    home = Path(os.environ["HOME"])
    scripts = [home / ".local/share/bash-completion/completions/ccledger",
               home / ".local/share/zsh/site-functions/_ccledger", home / ".config/fish/completions/ccledger.fish"]
    code, out, _ = run()
    assert code == 0 and "Shell completion for bash, zsh and fish is installed" in out
    assert all(p.is_file() for p in scripts) and "complete" in scripts[0].read_text()
    code, out, _ = run("--uninstall")
    assert code == 0 and "Shell completion removed." in out and not any(p.exists() for p in scripts)
