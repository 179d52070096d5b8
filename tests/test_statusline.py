"""The status line: pinned text for given payloads and ledger contents (time frozen), and robustness."""
from __future__ import annotations

import json
import os

import pytest

from ccledger.statusline import entry as statusline
from conftest import cli, ledger_rows
from hot_helpers import error_lines, run_entry
from test_attribution import _assistant, _line, _result

NOW = 1_796_050_000_000  # 2026-11-30T14:46:40Z
SESSION = "7a1b2c3d-0000-4000-8000-000000000001"


def iso(ms: int) -> str:
    import datetime as dt
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def quiet(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def session(claude_dir, quiet):
    """A session of 3 requests today: a Read result and an MCP result, 2026-11-30 around 14:00 UTC."""
    lines = [
        _line("user", 0, message={"role": "user", "content": "go"}),
        _assistant(1, 1, 20_000, 300, [{"type": "tool_use", "id": "tr", "name": "Read", "input": {"a": 1}}]),
        _result(2, "tr", 4000),
        _assistant(2, 3, 20_000 + 300 + 8_000, 200, [{"type": "tool_use", "id": "tm",
                                                       "name": "mcp__github__search_code", "input": {"q": 1}}]),
        _result(4, "tm", 30000),
        _assistant(3, 5, 28_300 + 200 + 40_000, 100, [{"type": "text", "text": "done"}]),
    ]
    for line in lines:
        line["timestamp"] = line["timestamp"].replace("2026-06-01T10", "2026-11-30T14")
        line["sessionId"] = SESSION
    path = claude_dir / "projects" / "-home-dev-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def payload(path, **extra) -> bytes:
    body = {"session_id": SESSION, "transcript_path": str(path), "cwd": "/home/dev/proj",
            "model": {"id": "claude-sonnet-4-6", "display_name": "Sonnet 4.6"}, "version": "2.1.332",
            "cost": {"total_cost_usd": 0.31, "total_duration_ms": 60000},
            "context_window": {"context_window_size": 200000, "used_percentage": 34,
                               "current_usage": {"input_tokens": 10, "output_tokens": 100,
                                                 "cache_creation_input_tokens": 40000,
                                                 "cache_read_input_tokens": 28490}}}
    body.update(extra)
    return json.dumps(body).encode()


def test_api_key_user_line_is_pinned(session):
    # 117,400 tokens at Sonnet 4.6 prices ($0.04404); no rate_limits: the 14:00-19:00 block, no known % ("?");
    # a session this small is attributed within the render, so `top` is there at once
    assert statusline.build(payload(session), NOW) == [
        "Sonnet 4.6 │ ctx 34% │ 5h ? ↻4h13m │ 117k tok $0.04 │ today $0.04 │ top mcp:github 40.2k carried"]


def test_subscriber_line_with_official_window_and_forecast(session):
    reset = NOW + 2 * 3_600_000 + 13 * 60_000  # 2h13m left: the window started 2h47m ago
    limits = {"five_hour": {"used_percentage": 70, "resets_at": reset // 1000},
              "seven_day": {"used_percentage": 12.5, "resets_at": (NOW + 5 * 86_400_000) // 1000}}
    # 70% in 2h47m: 100% about 1h12m later (15:58), before the reset at 17:00 -> shown
    assert statusline.build(payload(session, rate_limits=limits), NOW) == [
        "Sonnet 4.6 │ ctx 34% │ 5h 70% ↻2h13m ⚠ out 15:58 │ 7d 13% │ 117k tok $0.04 │ today $0.04 │ "
        "top mcp:github 40.2k carried"]
    assert ledger_rows("SELECT five_hour_pct, seven_day_pct, context_used_pct FROM readings") == [(70.0, 12.5, 34.0)]


def test_readings_are_throttled_unless_a_value_changes(session):
    statusline.build(payload(session), NOW)
    statusline.build(payload(session), NOW + 1000)
    assert ledger_rows("SELECT COUNT(*) FROM readings")[0][0] == 1
    changed = payload(session, context_window={"context_window_size": 200000, "used_percentage": 35})
    statusline.build(changed, NOW + 2000)
    statusline.build(payload(session), NOW + 9000)
    assert ledger_rows("SELECT COUNT(*) FROM readings")[0][0] == 3


@pytest.mark.parametrize("name", ["statusline.rate-limits.v2.1.80-shape.json", "statusline.session-start.v2.1.19.json",
                                  "statusline.v1.0.88.json", "statusline.v2.1.332.api-key-user.json"])
def test_every_real_payload_renders_without_noise(shared, quiet, name):
    result = run_entry("statusline", (shared / "corpus" / "payloads" / "statusline" / name).read_bytes())
    assert result.returncode == 0 and result.stderr == b""
    text = result.stdout.decode()
    assert text.endswith("\n") and len(text.splitlines()) == 1 and text.strip()
    model = json.loads((shared / "corpus" / "payloads" / "statusline" / name).read_text())["model"]["display_name"]
    assert text.startswith(model)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"model": 5, "context_window": "x"}',
                                 b'{"session_id": "s", "context_window": {"used_percentage": 1774020000}}'])
def test_broken_payloads_still_print_a_line_and_log_it(quiet, raw):
    result = run_entry("statusline", raw)
    assert result.returncode == 0 and result.stderr == b"" and result.stdout.strip()
    assert len(error_lines()) == 1, error_lines()


def test_narrow_terminal_drops_low_priority_segments(session, monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    line = statusline.build(payload(session), NOW)[0]
    assert line.startswith("Sonnet 4.6 │ ctx 34%") and len(line) <= 40 and "today" not in line


def test_config_picks_segments_formats_and_a_second_line(session, isolated):
    config = isolated / "ccledger" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[statusline]\nsegments = ["context", "model"]\nsecond_line = ["today"]\nseparator = " | "\n'
                      '[statusline.format]\ncontext = "{pct} of context"\n')
    assert statusline.build(payload(session), NOW) == ["34% of context | Sonnet 4.6", "today $0.04"]


def test_colours_follow_thresholds_unless_no_color(session, monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    hot = payload(session, context_window={"context_window_size": 200000, "used_percentage": 90})
    assert "\033[31mctx 90%" in statusline.build(hot, NOW)[0]
    assert "\033[32mctx 34%" in statusline.build(payload(session), NOW)[0]


def test_a_saved_statusline_runs_beside_ours(session, isolated):
    state = isolated / "ccledger" / "state"
    state.mkdir(parents=True, exist_ok=True)
    settings = os.path.join(os.environ["CLAUDE_CONFIG_DIR"], "settings.json")
    (state / "install.json").write_text(json.dumps({"version": 1, "installs": {settings: {
        "saved_statusline": {"type": "command", "command": "printf 'mine:%s' \"$(head -c 1)\""}}}}))
    line = statusline.build(payload(session), NOW)[0]
    assert line.startswith("Sonnet 4.6 │ ") and line.endswith(" │ mine:{")  # theirs after ours


def test_preview_renders_every_sample(isolated, quiet):
    result = cli("statusline", "--preview")
    assert result.code == 0
    assert result.out.count("\n  ") == 4 and "5h 42% ↻2h13m" in result.out
