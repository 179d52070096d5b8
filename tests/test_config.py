"""`ccledger config path|show|check` and the schema behind them, on real files in the temp CCLEDGER_HOME.

The schema is a contract with the hot path (which reads the same file as plain
dicts), so the documented example must validate cleanly, and every problem must
name its dotted key and its line.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from conftest import cli

from ccledger.config import model as config_model, toml_text
from ccledger.base import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOCUMENTED = '''\
[statusline]                       # read by the status line
segments = ["model", "context", "window", "week", "session", "today", "top", "budget"]
second_line = []                   # segments for an optional second line
separator = " │ "
colors = true
chain_timeout = 1.0                # seconds for a chained (pre-existing) statusLine command
[statusline.thresholds]            # [warn, danger] per segment, percent
context = [60, 85]
window = [50, 80]
[statusline.format]                # str.format templates per segment, e.g. context = "ctx {pct}"
context = "ctx {pct}"

[pricing."model-id"]               # USD per million tokens
input = 3.0
output = 15.0
cache_write_5m = 3.75              # optional, default 1.25 x input
cache_write_1h = 6.0               # optional, default 2 x input
cache_read = 0.3                   # optional, default 0.1 x input
fast_multiplier = 1.0              # optional

[budgets]
notify_model = false               # also tell Claude (additionalContext), off by default

[budgets.window]
limit = 100
warn = [50, 80, 95]
action = "none"
[budgets.week]
action = "ask"
[budgets.daily]
usd = 20.0
[budgets.weekly]
usd = 100
action = "block"
[budgets.monthly]
usd = 300
[budgets.session]
tokens = 2000000
action = "deny"
[budgets.tool_result]
tokens = 20000
[budgets.mcp]
usd = 5
carried_tokens = 200000
[budgets.mcp.servers.github]
carried_tokens = 50000
action = "deny"

[projects."/home/me/work/repo"]
[projects."/home/me/work/repo".budgets.session]
tokens = 500000
'''


def write(text: str) -> Path:
    path = Path(paths.config_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_path_is_in_ccledger_home(isolated):
    assert cli("config", "path").out.strip() == str(isolated / "ccledger" / "config.toml")
    body = cli("config", "path", "--json").json()
    assert body["exists"] is False and body["schema_version"] == 1


def test_check_without_a_file_is_ok():
    result = cli("config", "check")
    assert result.code == 0 and result.out.startswith("ok") and "defaults" in result.out


def test_the_documented_example_is_valid_and_warning_free():
    write(DOCUMENTED)
    result = cli("config", "check")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("ok")


def test_unknown_keys_are_warnings_with_key_and_line_not_errors():
    write('[statusline]\ncolorz = true\n\n[budgets.sesion]\ntokens = 5\n\n[budgets.daily]\nusd = 1\ncurrency = "EUR"\n')
    result = cli("config", "check")
    assert result.code == 0 and result.out.startswith("ok")
    lines = result.err.splitlines()
    assert lines == [
        "warning: statusline.colorz (line 2): unknown key, ignored (did you mean colors?)",
        "warning: budgets.sesion (line 4): unknown key, ignored (did you mean session?)",
        "warning: budgets.daily.currency (line 9): unknown key, ignored",
    ]


def test_a_syntax_error_is_one_line_with_its_position():
    write("[budgets.session]\ntokens = 5\naction = deny\n")
    result = cli("config", "check")
    assert result.code == 1 and result.out == ""
    (line,) = result.err.splitlines()
    assert "line 3" in line and "column" in line and paths.config_path() in line


def test_invalid_values_one_line_each_naming_key_and_line():
    write('[budgets.session]  # mine\ntokens = -5\naction = "kill"\nwarn = [50, 2000]\n\n'
          '[budgets.daily]\nusd = "3"\n\n[statusline]\ncolors = 1\nsegments = ["model", "bogus"]\n\n'
          '[pricing."claude-x"]\ninput = 3\n\n[projects."relative/repo".budgets.session]\ntokens = 5\n')
    result = cli("config", "check")
    assert result.code == 1
    errors = [line.split(": ", 2)[2] for line in result.err.splitlines()]
    assert errors[:5] == [
        "budgets.session.tokens (line 2): should be more than 0, got -5",
        "budgets.session.action (line 3): Input should be 'none', 'ask', 'deny' or 'block'",
        "budgets.session.warn (line 4): should be more than 0 and at most 1000, got 2000",
        "budgets.daily.usd (line 7): should be a number, got '3'",
        "statusline.colors (line 10): Input should be a valid boolean",
    ]
    assert "statusline.segments (line 11)" in errors[5]
    assert errors[6] == "pricing.claude-x.output (line 13): Field required"  # points at its table
    assert errors[7].startswith('projects."relative/repo" (line 16): should be an absolute path')
    assert len(errors) == 8


def test_check_json_lists_errors_and_warnings():
    write("[budgets.session]\ntokens = 0\nmystery = 1\n")
    result = cli("config", "check", "--json")
    body = result.json()
    assert result.code == 1 and body["ok"] is False
    assert body["errors"] == [{"key": "budgets.session.tokens", "line": 2, "message": "should be more than 0, got 0"}]


def test_show_json_is_the_effective_merged_config():
    write('# mine\n[statusline.thresholds]\ncontext = [70, 90]\n\n[pricing."m"]\ninput = 2\noutput = 10\n\n'
          '[budgets.session]\ntokens = 1000\nbogus = 1\n\n[projects."/p".budgets.daily]\nusd = 1.5\n')
    body = cli("config", "show", "--json").json()
    config = body["config"]
    assert body["report"] == "config" and body["exists"] is True
    assert config["statusline"]["thresholds"]["context"] == [70, 90]
    assert config["statusline"]["thresholds"]["window"] == [50, 80]  # built-in default kept
    assert config["statusline"]["separator"] == " │ "
    assert config["pricing"]["m"] == {"input": 2, "output": 10, "cache_write_5m": 2.5, "cache_write_1h": 4.0,
                                      "cache_read": 0.2, "fast_multiplier": 1.0}
    assert config["budgets"]["session"] == {"tokens": 1000, "warn": [50, 80, 95], "action": "none"}
    assert config["budgets"]["tool_result"]["warn"] == [100]
    assert "usd" not in config["budgets"]["daily"]  # inactive: no amount
    assert config["projects"] == {"/p": {"budgets": {"daily": {"usd": 1.5}}}}  # only what it overrides
    assert [w["key"] for w in body["warnings"]] == ["budgets.session.bogus"]


def test_show_toml_is_toml_with_the_same_values():
    write(DOCUMENTED)
    shown = cli("config", "show")
    assert shown.code == 0
    as_json = cli("config", "show", "--json").json()["config"]
    assert tomllib.loads(shown.out) == {k: v for k, v in as_json.items() if v}  # empty tables are left out


def test_show_refuses_an_invalid_file_in_one_line():
    write("[budgets.session]\ntokens = -1\n")
    result = cli("config", "show")
    assert result.code == 1 and result.err.count("\n") == 1 and "budgets.session.tokens (line 2)" in result.err


def test_types_are_strict_because_the_hot_path_trusts_them():
    for text, key in (('[budgets.session]\ntokens = "5"\n', "budgets.session.tokens"),
                      ("[budgets.session]\ntokens = 2.5\n", "budgets.session.tokens"),
                      ("[budgets.daily]\nusd = true\n", "budgets.daily.usd"),
                      ("[budgets.window]\nwarn = 80\n", "budgets.window.warn"),
                      ("[budgets.window]\nlimit = 120\n", "budgets.window.limit"),
                      ("[budgets.daily]\nusd = nan\n", "budgets.daily.usd"),
                      ('[statusline.format]\ncontext = "ctx {pct"\n', "statusline.format.context"),
                      ("[statusline.thresholds]\ncontext = [90, 60]\n", "statusline.thresholds.context")):
        with pytest.raises(config_model.ConfigError) as caught:
            config_model.validate(tomllib.loads(text), text)
        assert caught.value.issues[0].key == key and caught.value.issues[0].line == 2, text


def test_project_budgets_longest_prefix_wins_and_merge_key_by_key():
    text = ('[budgets.session]\ntokens = 100\naction = "deny"\n'
            '[projects."/w".budgets.session]\ntokens = 200\n'
            '[projects."/w/repo".budgets.session]\ntokens = 300\nwarn = [90]\n')
    config, _ = config_model.validate(tomllib.loads(text), text)
    assert config_model.budgets_for(config, "/elsewhere").session.tokens == 100
    assert config_model.budgets_for(config, "/w/other").session.tokens == 200
    deep = config_model.budgets_for(config, "/w/repo/src").session
    assert (deep.tokens, deep.warn, deep.action) == (300, [90], "deny")
    assert config_model.budgets_for(config, "/w/repository").session.tokens == 200  # a prefix of the name is not


def test_line_of_reads_toml_structure_not_just_lines():
    text = ('a = [\n  [1, 2],\n  "[b]",\n]\n'          # array lines that look like headers
            'x = """\n[budgets.session]\ntokens = 1\n"""\n'  # a multi-line string that looks like a table
            '[budgets.session]\ntokens = 5  # real\n'
            '[projects."/a.b".budgets]\n"quoted.key" = 1\n')
    assert toml_text.line_of(text, ["budgets", "session", "tokens"]) == 10
    assert toml_text.line_of(text, ["budgets", "session"]) == 9
    assert toml_text.line_of(text, ["projects", "/a.b", "budgets", "quoted.key"]) == 12
    assert toml_text.line_of(text, ["projects", "/a.b"]) == 11  # implied by its sub-table
    assert toml_text.line_of(text, ["nowhere"]) is None


def test_is_active_needs_an_amount(isolated):
    text = "[budgets.window]\nwarn = [80]\n[budgets.daily]\nwarn = [10]\n"
    config, _ = config_model.validate(tomllib.loads(text), text)
    assert config_model.is_active(config.budgets, "window")  # limit defaults to 100
    assert not config_model.is_active(config.budgets, "week")  # no table
    assert not config_model.is_active(config.budgets, "daily")  # no usd
    assert os.path.basename(paths.config_path()) == "config.toml"
