"""What the user sees from budgets, the status line and the slash commands (issue 11, items 2, 4, 10, 12):
a broken config.toml named by line everywhere, short gate reasons said once, an override in the line, a line
that keeps its most important segments when Claude Code cuts it, and reports answered without the model.
The real client's side of these is in tests/e2e/test_budget_ux_e2e.py."""
from __future__ import annotations

import json
import os
import time

import pytest

from ccledger.budgets import gate
from ccledger.budgets import measure as budgets
from ccledger.config import read as userconfig
from ccledger.hooks import commands
from ccledger.statusline import entry as statusline
from ccledger.statusline import render
from conftest import cli, ledger_rows
from hot_helpers import run_entry
from test_statusline import NOW, SESSION, payload, session  # noqa: F401 - fixtures

BROKEN = '[budgets.session]\ntokens = 1000\naction = "deny\nwarn = [50]\n'  # line 3: the string never ends


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "204")  # 200 columns shown


def write_config(isolated, text: str) -> None:
    config = isolated / "ccledger" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)


def override_until(isolated, until_ms: int) -> None:
    state = isolated / "ccledger" / "state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "override.json").write_text(json.dumps({"until_ms": until_ms}))


# ------------------------------------------------------------------ item 2: a config.toml that does not parse

def test_a_broken_config_leads_the_line_with_budgets_off_and_its_line(session, isolated, quiet):
    write_config(isolated, BROKEN)
    line = statusline.build(payload(session), NOW)[0]
    assert line.startswith("⚠ budgets off: config.toml line 3 │ Sonnet 4.6 │ ")


def test_doctor_points_at_the_line_and_still_checks_the_ledger(isolated):
    write_config(isolated, BROKEN)
    result = cli("doctor")
    assert result.code == 1
    config = next(line for line in result.out.splitlines() if line.startswith("PROBLEM     config:"))
    assert "config.toml line 3:" in config and "budgets are off" in config
    assert "fix: edit line 3 of" in result.out
    assert "ok          ledger: integrity ok" in result.out  # the config is not blamed on the ledger
    checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
    assert not checks["config"]["ok"] and checks["ledger"]["ok"] and checks["recording"]["ok"]


def test_reports_run_with_one_warning_line(isolated, claude_dir):
    write_config(isolated, BROKEN)
    result = cli("report", "daily")
    assert result.code == 0 and "Claude Code usage, daily" in result.out
    (warning,) = result.err.strip().splitlines()
    assert warning.startswith("ccledger: warning: ") and "line 3" in warning and "budgets off" in warning


def test_budget_status_says_budgets_are_off_and_why(isolated):
    write_config(isolated, BROKEN)
    result = cli("budget", "status")
    assert result.code == 1 and result.out.startswith("budgets off until it is fixed: ") and "line 3" in result.out
    body = cli("budget", "status", "--json").json()
    assert body["rows"] == [] and "line 3" in body["budgets_off"]


def test_a_valid_config_is_said_to_be_valid(isolated):
    write_config(isolated, "[budgets.session]\ntokens = 1000\n")
    checks = {c["name"]: c for c in cli("doctor", "--json").json()["checks"]}
    assert checks["config"]["ok"] and "is valid" in checks["config"]["detail"]


# ------------------------------------------------------------------ item 4: reasons that fit, said once; override

def test_the_reason_is_short_and_starts_with_what_is_over(isolated, claude_dir):
    limit = budgets.Limit("session.tokens", "session", "tokens", 8000.0, [50.0], "deny")
    measure = budgets.Measure(limit, 8960, SESSION, None, "this session used 9k of 8k tokens")
    (armed,) = budgets.decisions([measure])
    assert armed["reason"] == ("ccledger: session budget 8,000 tokens used 112% — "
                               "`ccledger budget override --for 1h` to go on")
    daily = budgets.Measure(budgets.Limit("daily.usd", "daily", "usd", 0.5, [], "block"), 0.67, "d", None, "x")
    assert budgets.decisions([daily])[0]["reason"].startswith("ccledger: daily budget $0.50 used 134% — ")


def test_a_window_limit_reason_says_the_share_and_the_limit():
    limit = budgets.Limit("window.limit", "window", "pct", 90.0, [80.0], "deny")
    measure = budgets.Measure(limit, 94.0, "p", None, "5-hour window at 94%")
    assert budgets.decisions([measure])[0]["reason"] == (
        "ccledger: 5-hour window at 94% (limit 90%) — `ccledger budget override --for 1h` to go on")


def test_the_line_shows_an_override_instead_of_the_stop_mark(session, isolated, quiet):
    write_config(isolated, '[budgets.session]\ntokens = 35000\naction = "deny"\n')
    assert statusline.build(payload(session), NOW)[0].startswith("⛔ session 335% │ Sonnet 4.6")
    until = NOW + 2 * 3_600_000
    override_until(isolated, until)
    clock = time.strftime("%H:%M", time.localtime(until / 1000))
    assert statusline.build(payload(session), NOW + 1000)[0].startswith(f"⏸ session 335% until {clock} │ ")
    # the render after the override ended needs no new data to show the stop mark again
    assert statusline.build(payload(session), until + 1000)[0].startswith("⛔ session 335% │ ")


def test_a_deny_carries_no_warning_of_the_same_limit_but_keeps_others(isolated, claude_dir):
    write_config(isolated, "[budgets.session]\ntokens = 1000\nwarn = []\naction = \"deny\"\n")
    gate.queue(SESSION, [("session.tokens", "ccledger: this session used 2k of 1k tokens."),
                         ("daily.usd", "ccledger: today's cost $4 of $5 (80% of the limit).")], False)
    found = {"armed": [{"limit": "session.tokens", "kind": "session", "action": "deny", "reason": "r",
                        "until_ms": None, "once": False, "period": SESSION}],
             "config": userconfig.stamp()}
    out = gate.respond("PreToolUse", SESSION, NOW, found)
    assert out["systemMessage"] == "ccledger: today's cost $4 of $5 (80% of the limit)."
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"


# ------------------------------------------------------------------ item 10: the status line's segments

def test_an_unknown_window_share_is_a_question_mark_not_a_bare_tilde(session, quiet):
    line = statusline.build(payload(session), NOW)[0]
    assert " │ 5h ? ↻4h13m │ " in line and "5h ~ " not in line


def test_top_says_its_unit_and_is_current_after_each_new_request(session, quiet, claude_dir):
    assert statusline.build(payload(session), NOW)[0].endswith(" │ top mcp:github 40.2k carried")
    # one more request re-reads the MCP result: its carried tokens grow at the very next render
    from test_attribution import _assistant
    line = _assistant(4, 7, 68_600 + 100, 50, [{"type": "text", "text": "more"}])
    line["timestamp"] = line["timestamp"].replace("2026-06-01T10", "2026-11-30T14")
    line["sessionId"] = SESSION
    with open(session, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    shown = statusline.build(payload(session), NOW + 10_000)[0].rsplit(" │ ", 1)[1]
    carried = ledger_rows("SELECT carried_tokens FROM attribution_top WHERE session_id=?", SESSION)[0][0]
    assert carried > 40_200 and shown == f"top mcp:github {carried / 1000:.1f}k carried"


def test_stop_hooks_attribute_every_turn_of_a_short_session(session, claude_dir):
    """The hooks' refresh is paced by what it costs (hooks/entry.py), no longer once a minute: two turns a
    second apart are both attributed by their Stop hooks."""
    from test_attribution import _assistant

    def stop() -> int:
        result = run_entry("hook", {"hook_event_name": "Stop", "session_id": SESSION,
                                    "transcript_path": str(session), "cwd": "/home/dev/proj"})
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
        return ledger_rows("SELECT carried_tokens FROM attribution_top WHERE session_id=?", SESSION)[0][0]

    first = stop()
    line = _assistant(4, 7, 68_600 + 100, 50, [{"type": "text", "text": "more"}])
    line["timestamp"] = line["timestamp"].replace("2026-06-01T10", "2026-11-30T14")
    line["sessionId"] = SESSION
    with open(session, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    assert stop() > first


def test_the_budget_mark_survives_a_narrow_pane(session, isolated, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    write_config(isolated, '[budgets.session]\ntokens = 35000\naction = "deny"\n')
    monkeypatch.setenv("COLUMNS", "44")
    line = statusline.build(payload(session), NOW)[0]
    assert line.startswith("⛔ session 335%") and render.visible_len(line) <= 40
    monkeypatch.setenv("COLUMNS", "24")  # narrower than two segments: the mark alone
    assert statusline.build(payload(session), NOW + 1)[0] == "⛔ session 335%"


def test_the_line_fits_what_claude_code_shows_counting_wide_characters(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert render.columns() == 76  # 2.1.332 indents by 2 and cuts 2 before the edge
    assert render.visible_len("⛔ a") == 4 and render.visible_len("⚠ a │ ↻") == 7
    assert render.visible_len("\033[31mab\033[0m") == 2


def test_a_chained_line_goes_after_ours_or_below_it(session, isolated, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    state = isolated / "ccledger" / "state"
    state.mkdir(parents=True, exist_ok=True)
    settings = os.path.join(os.environ["CLAUDE_CONFIG_DIR"], "settings.json")
    theirs = "x" * 60
    (state / "install.json").write_text(json.dumps({"version": 1, "installs": {settings: {
        "saved_statusline": {"type": "command", "command": f"echo {theirs}"}}}}))
    monkeypatch.setenv("COLUMNS", "204")
    (line,) = statusline.build(payload(session), NOW)
    assert line.startswith("Sonnet 4.6 │ ") and line.endswith(f" │ {theirs}")
    monkeypatch.setenv("COLUMNS", "104")  # ours fills the line: theirs gets its own, ours is not cut for it
    ours, below = statusline.build(payload(session), NOW + 1)
    assert ours.startswith("Sonnet 4.6 │ ctx 34% │ 5h ? ↻4h13m") and below == theirs
    assert render.visible_len(ours) <= 100


# ------------------------------------------------------------------ item 12: slash commands without the model

def test_only_ccledgers_own_commands_are_recognised():
    assert commands.wanted("/ccledger:usage") == "usage" and commands.wanted("  /ccledger:tools  ") == "tools"
    assert commands.wanted("/ccledger:statusline") is None  # that one needs the model to run the set-up
    for prompt in ("/ccledger:", "/usage", "tell me about /ccledger:usage", None, 5):
        assert commands.wanted(prompt) is None


def test_usage_is_answered_by_blocking_the_prompt_with_the_reports(session, monkeypatch):
    monkeypatch.setenv("COLUMNS", "124")
    result = run_entry("hook", {"hook_event_name": "UserPromptSubmit", "session_id": SESSION,
                                "transcript_path": str(session), "cwd": "/home/dev/proj", "prompt": "/ccledger:usage"},
                       env={"PYTHONPATH": ""})
    assert result.returncode == 0 and result.stderr == b""
    out = json.loads(result.stdout)
    assert out["decision"] == "block" and out["hookSpecificOutput"] == {
        "hookEventName": "UserPromptSubmit", "suppressOriginalPrompt": True}
    reason = out["reason"]
    assert reason.startswith("ccledger: this session\n\nClaude Code usage, session")
    assert SESSION[:8] in reason and "\n\nccledger: today\n\nClaude Code usage, daily" in reason
    assert "\033" not in reason and max(len(line) for line in reason.splitlines()) <= 114
    assert all(line == line.rstrip() for line in reason.splitlines())


def test_a_normal_prompt_is_not_touched(session):
    result = run_entry("hook", {"hook_event_name": "UserPromptSubmit", "session_id": SESSION,
                                "transcript_path": str(session), "prompt": "explain /ccledger:usage to me"})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
