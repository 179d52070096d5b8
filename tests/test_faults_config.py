"""Config mistakes are named instead of silently degrading, and what ccledger writes is the user's alone
(issue 9, items 4 and 5): real files in the temp CCLEDGER_HOME, the real entries and CLI."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conftest import cli, ledger_rows
from hot_helpers import error_lines, run_entry
from test_attribution import _assistant, _line
from test_statusline import NOW, payload, quiet, session  # noqa: F401 - quiet and session are fixtures

from ccledger.ledger import db, schema
from ccledger.base import paths
from ccledger.statusline import entry as statusline


def write_config(text: str | bytes) -> Path:
    path = Path(paths.config_path())
    paths.ensure_dir(str(path.parent))
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# -- item 4: a mistake costs its own key, and is named ------------------------------------------------

BAD_STATUSLINE = [
    ("separator = 5", "statusline.separator"),
    ('segments = "model"', "statusline.segments"),
    ("[statusline.format]\nmodel = 5", "statusline.format.model"),
    ('[statusline.thresholds]\ncontext = "hot"', "statusline.thresholds.context"),
    ('chain_timeout = "1s"', "statusline.chain_timeout"),
    ('colors = "no"', "statusline.colors"),
    ('second_line = ["today", "tomorrow"]', "statusline.second_line"),
    ('[statusline.format]\ncontext = "{pct"', "statusline.format.context"),
]


@pytest.mark.parametrize("text, key", BAD_STATUSLINE)
def test_a_mistyped_statusline_key_costs_only_that_key_and_is_named(session, text, key):
    clean = statusline.build(payload(session), NOW)
    assert "ctx 34%" in clean[0] and "today" in clean[0]
    write_config(f"[statusline]\n{text}\n")
    for _ in range(3):
        lines = statusline.build(payload(session), NOW)
        assert lines[0] == f"⚠ config: {key} │ {clean[0]}"  # first: Claude Code cuts a line's end
    logged = [line for line in error_lines() if key in line]
    assert len(logged) == 1 and "config check" in logged[0], error_lines()  # once per version of the file
    check = cli("config", "check")
    assert check.code == 1 and key in check.err  # the strict reader agrees on the key


def test_the_valid_keys_beside_bad_ones_still_apply(session):
    write_config('[statusline]\nsegments = ["context", "model", "nope"]\nseparator = 5\n'
                 '[statusline.format]\ncontext = "{pct} of context"\nmodel = 7\n')
    assert statusline.build(payload(session), NOW) == [
        "⚠ config: statusline.segments +2 │ 34% of context │ Sonnet 4.6"]


def test_a_statusline_that_is_not_a_table_is_named(session):
    write_config("statusline = 5\n")
    assert statusline.build(payload(session), NOW)[0].startswith("⚠ config: statusline │ ")


def test_a_config_that_does_not_parse_is_named_in_the_real_status_line(session):
    write_config("[statusline\nseparator = 1\n")
    done = run_entry("statusline", payload(session))
    text = done.stdout.decode()
    assert (done.returncode, done.stderr) == (0, b"") and text.count("\n") == 1
    assert text.startswith("⚠ budgets off: config.toml line 1 │ Sonnet 4.6 │ ctx 34%")  # issue 11, item 2


def latin1_config() -> tuple[Path, int]:
    """A 4 KB file whose third line is a comment with a Latin-1 é, then binary bytes."""
    head = b"[budgets.session]\ntokens = 5000\n# r"
    return write_config(head + "ésumé".encode("latin-1") + b"\n" + bytes(range(256)) * 16), len(head)


@pytest.mark.parametrize("args", [("report", "daily"), ("ingest",), ("budget", "status"), ("budget", "show"),
                                  ("budget", "set", "daily.usd=5"), ("config", "check"), ("config", "show")])
def test_a_config_that_is_not_utf8_is_one_short_line_naming_file_offset_and_cause(args):
    """Commands that read or edit the config stop on it; reports and ingest run on the defaults with the line as
    a warning, and `budget status` says the budgets are off (issue 11, item 2)."""
    path, offset = latin1_config()
    before = path.read_bytes()
    result = cli(*args)
    if args[0] in ("report", "ingest"):
        assert result.code == 0 and result.out and result.err.startswith("ccledger: warning: "), result
    elif args == ("budget", "status"):
        assert result.code == 1 and result.err == "", result
        assert result.out.startswith("budgets off until it is fixed: "), result
        result.err = result.out
    else:
        assert result.code == 1 and result.out == "", result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result
    assert str(path) in lines[0] and f"byte 0xe9 at offset {offset} (line 3)" in lines[0], lines[0]
    assert "not UTF-8" in lines[0] and len(lines[0]) < 250
    assert "[pricing]" not in lines[0] and "\\x" not in lines[0]
    assert path.read_bytes() == before


def test_the_hooks_name_a_config_that_is_not_utf8_once(session):
    _, offset = latin1_config()
    for _ in range(2):
        assert run_entry("statusline", payload(session)).returncode == 0
    logged = [line for line in error_lines() if "not UTF-8" in line]
    assert len(logged) == 1 and f"offset {offset}" in logged[0] and len(logged[0]) < 400


def test_invalid_prices_name_the_pricing_key_not_another_table():
    write_config('[budgets.daily]\nusd = "x"\n\n[pricing."m"]\ninput = "cheap"\noutput = 1\n')
    result = cli("report", "daily")
    assert result.code == 1 and "pricing.m.input (line 5)" in result.err and "budgets" not in result.err


@pytest.mark.parametrize("action", ["status", "check"])
def test_budget_status_and_check_say_the_budgets_are_invalid_not_absent(action):
    write_config("# mine\n[budgets.session]\ntokens = -5\naction = \"deny\"\n")
    result = cli("budget", action)
    assert result.code == 1 and "No budgets" not in result.out and "within every budget" not in result.out
    assert "budgets are invalid" in result.err and "budgets.session.tokens (line 3)" in result.err


def test_no_budgets_is_still_said_when_none_are_written():
    write_config("[statusline]\ncolors = true\n")
    result = cli("budget", "status")
    assert result.code == 0 and "No budgets configured" in result.out


# -- item 5: tool input text is kept only on request ---------------------------------------------------

SECRET = "summarise the acquisition memo for Project Nightjar"


def subagent(claude_dir: Path) -> None:
    """A session whose Agent call started subagent `abc`, described (in the call's input) by SECRET."""
    folder = claude_dir / "projects" / "-p"
    (folder / "s" / "subagents").mkdir(parents=True, exist_ok=True)
    main = [_assistant(1, 1, 1000, 10, [{"type": "tool_use", "id": "ta", "name": "Agent", "input": {}}]),
            _line("user", 9, message={"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "ta", "content": "found"}]},
                toolUseResult={"status": "completed", "agentId": "abc"})]
    sub = [_line("user", 2, isSidechain=True, agentId="abc", message={"role": "user", "content": "look"}),
           _assistant(9, 3, 500, 5, [{"type": "text", "text": "found"}])]
    (folder / "s.jsonl").write_text("".join(json.dumps(x) + "\n" for x in main))
    (folder / "s" / "subagents" / "agent-abc.jsonl").write_text("".join(json.dumps(x) + "\n" for x in sub))
    (folder / "s" / "subagents" / "agent-abc.meta.json").write_text(json.dumps(
        {"agentType": "Explore", "description": SECRET, "toolUseId": "ta"}))


def files_holding(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_subagent_description_is_not_stored_unless_the_user_opts_in(claude_dir, isolated):
    subagent(claude_dir)
    assert cli("ingest", "--quiet").code == 0
    assert ledger_rows("SELECT agent_type, description, parent_tool_use_id FROM agents") == [("Explore", None, "ta")]
    (row,) = cli("report", "agents", "--json").json()["rows"]
    assert row["agent_type"] == "Explore" and row["description"] is None
    assert files_holding(isolated / "ccledger", SECRET) == []


def test_opting_in_stores_it_and_the_key_is_checked(claude_dir):
    write_config("[privacy]\nstore_descriptions = true\n")
    assert cli("config", "check").code == 0
    subagent(claude_dir)
    assert cli("ingest", "--quiet").code == 0
    assert ledger_rows("SELECT description FROM agents") == [(SECRET,)]
    write_config('[privacy]\nstore_descriptions = "yes"\n')
    check = cli("config", "check")
    assert check.code == 1 and "privacy.store_descriptions (line 2)" in check.err
    assert cli("config", "show", "--json").code == 1


def test_descriptions_stored_by_older_versions_are_forgotten_by_the_migration(monkeypatch):
    before = schema.MIGRATIONS.index(schema.m009_forget_descriptions)
    with monkeypatch.context() as patch:
        patch.setattr(schema, "LATEST", before)  # a ledger as the previous version left it
        conn = db.connect()
        conn.execute("INSERT INTO agents VALUES ('s', 'abc', 'Explore', ?, 'ta')", (SECRET,))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == before
        conn.close()
    assert ledger_rows("SELECT agent_type, description, parent_tool_use_id FROM agents") == [("Explore", None, "ta")]
    assert ledger_rows("PRAGMA user_version") == [(schema.LATEST,)]


# -- item 5: every file 0600, every folder 0700 -------------------------------------------------------

def modes(root: Path) -> dict[str, str]:
    """Relative path -> octal mode of everything under root (the root included); links are not followed."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_everything_ccledger_writes_is_0600_in_0700_folders(isolated, claude_dir):
    from ccledger.install import environment
    from test_install import run as install

    home = isolated / "ccledger"
    old = os.umask(0o022)  # the usual umask: 0644 files and 0755 folders unless ccledger says otherwise
    try:
        for name in ("logs/install.log", "config.toml.lock", "state/attributed/old"):  # as older versions left them
            os.makedirs(home / os.path.dirname(name), mode=0o755, exist_ok=True)
            (home / name).write_text("")
            os.chmod(home / name, 0o644)
        assert install()[0] == 0  # tightens those
        subagent(claude_dir)
        transcript = str(claude_dir / "projects" / "-p" / "s.jsonl")
        assert cli("ingest", "--quiet").code == 0
        for event in ("SessionStart", "PreToolUse", "PostToolUse", "Stop"):
            run_entry("hook", {"hook_event_name": event, "session_id": "s", "transcript_path": transcript,
                               "tool_name": "Bash", "tool_use_id": "tb", "tool_input": {}, "tool_response": {}})
        run_entry("statusline", {"session_id": "s", "transcript_path": transcript, "model": {"id": "claude-x"}})
        run_entry("statusline", b"not json")  # an error, logged
        assert cli("report", "daily").code == 0
        assert cli("budget", "set", "session.tokens=100000").code == 0
        assert cli("budget", "override", "--for", "1h").code == 0
        assert cli("budget", "status").code == 0
        (home / "logs" / "install.log").unlink()
        environment._run([sys.executable, "-c", "print('ok')"], str(home / "logs" / "install.log"), "a step")
    finally:
        os.umask(old)
    found = modes(home)
    for name in ("ledger.db", "config.toml", "config.toml.lock", "logs/install.log", "logs/errors.log",
                 "state/attributed/s", "state/override.json", "state/install.json", "locks"):
        assert name in found, sorted(found)
    wrong = {name: mode for name, mode in found.items()
             if mode != ("0o700" if (home / name).is_dir() else "0o600")}
    assert wrong == {}


def test_an_install_step_that_fails_quotes_its_own_output_not_an_earlier_run(isolated):
    from ccledger.base.errors import CcledgerError
    from ccledger.install import environment

    log = Path(paths.log_dir()) / "install.log"
    paths.ensure_dir(str(log.parent))
    log.write_text("$ pip install ...\nERROR: File exists: 'build/bdist.linux-x86_64' (another run)\n")
    for code, said in (("print('mine'); sys.exit(3)", "mine"), ("sys.exit(3)", "no output")):
        with pytest.raises(CcledgerError) as caught:
            environment._run([sys.executable, "-c", f"import sys; {code}"], str(log), "a step")
        assert f"a step failed (exit 3): {said} (full log: {log})" == str(caught.value)
    assert "another run" in log.read_text()  # appended, not replaced
