"""`ccledger budget set|unset|show|override` on a real config file in the temp CCLEDGER_HOME.

The file belongs to the user: a `budget set` may change the keys it names and
nothing else, comments included, byte for byte.
"""
from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

from conftest import cli

from ccledger.base import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MINE = '''\
# ccledger config, written by hand
[statusline]
separator = " | "   # pipes, not box drawing

[pricing."my-model"]
input = 1.0
output = 2.0

[budgets]
notify_model = false  # keep Claude out of it

# per session
[budgets.session]
tokens = 500000   # half a million
warn = [
  50,  # early
  80,
]

# money
[budgets.daily]
usd = 5.0
'''


def config_file() -> Path:
    return Path(paths.config_path())


def write(text: str, newline: str = "\n") -> Path:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline=newline) as handle:
        handle.write(text)
    return path


def read() -> str:
    with open(config_file(), encoding="utf-8", newline="") as handle:
        return handle.read()


def test_set_changes_only_the_named_keys_and_keeps_everything_else():
    write(MINE)
    result = cli("budget", "set", "session.tokens=2000000", "session.action=deny", "daily.warn=70",
                 "window.warn=50,80,95", "notify_model=true")
    assert result.code == 0, result.err
    assert read() == MINE.replace("notify_model = false", "notify_model = true").replace(
        "tokens = 500000", "tokens = 2000000").replace(
        "  80,\n]\n", '  80,\n]\naction = "deny"\n').replace(
        "usd = 5.0\n", "usd = 5.0\nwarn = [70]\n\n[budgets.window]\nwarn = [50, 80, 95]\n")
    assert "budgets.session.tokens = 2000000  (was 500000)" in result.out
    assert 'budgets.session.action = "deny"  (was (not set))' in result.out
    assert result.err == ""


def test_set_creates_the_file_and_folder_when_missing(isolated):
    result = cli("budget", "set", "session.tokens=2000000", "session.action=deny")
    assert result.code == 0, result.err
    assert read() == '[budgets.session]\ntokens = 2000000\naction = "deny"\n'
    assert stat.S_IMODE(os.stat(config_file()).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(config_file().parent).st_mode) == 0o700


def test_values_are_toml_scalars_comma_lists_and_bare_strings():
    result = cli("budget", "set", "window.warn=50,80,95", "week.warn=90", "notify_model=true", "daily.usd=2.5",
                 "monthly.usd=300", "session.action=deny", 'mcp.servers."my.server".carried_tokens=10_000',
                 "tool_result.warn=[100, 200]", 'mcp.action="ask"')
    assert result.code == 0, result.err
    budgets = tomllib.loads(read())["budgets"]
    assert budgets["window"]["warn"] == [50, 80, 95]
    assert budgets["week"]["warn"] == [90]  # one number still makes the list the schema wants
    assert budgets["notify_model"] is True
    assert budgets["daily"]["usd"] == 2.5 and type(budgets["monthly"]["usd"]) is int
    assert budgets["session"]["action"] == "deny" and budgets["mcp"]["action"] == "ask"
    assert budgets["mcp"]["servers"]["my.server"]["carried_tokens"] == 10000
    assert budgets["tool_result"]["warn"] == [100, 200]
    assert '[budgets.mcp.servers."my.server"]' in read()


def test_an_invalid_value_is_refused_as_a_bad_argument_and_the_file_is_untouched():
    path = write(MINE)
    before = os.stat(path).st_mtime_ns
    result = cli("budget", "set", "daily.usd=3", "session.tokens=-5")
    assert result.code == 2  # the value is the argument's mistake: exit 2, as for any bad argument
    assert "budgets.session.tokens: should be more than 0, got -5" in result.err
    assert "line" not in result.err  # the line would be one of a text that was never written
    assert "nothing was changed" in result.err and result.err.count("\n") == 1
    assert read() == MINE and os.stat(path).st_mtime_ns == before
    assert cli("budget", "set", "session.action=kill").code == 2
    assert cli("budget", "set", "session.tokens=lots").code == 2
    assert read() == MINE


def test_an_unknown_key_is_refused_with_a_suggestion():
    write(MINE)
    result = cli("budget", "set", "sesion.tokens=5")
    assert result.code == 2 and "budgets.sesion" in result.err and "did you mean session?" in result.err
    assert read() == MINE


def test_setting_the_same_value_does_not_rewrite_the_file():
    path = write(MINE)
    os.utime(path, ns=(1, 1))
    result = cli("budget", "set", "session.tokens=500000", "daily.usd=5.0")
    assert result.code == 0 and "(unchanged)" in result.out
    assert os.stat(path).st_mtime_ns == 1
    assert cli("budget", "set", "daily.usd=5").code == 0  # int 5 is not float 5.0: a change
    assert "usd = 5\n" in read()


def test_trailing_comments_crlf_and_a_missing_final_newline_survive():
    write("[budgets.session]\r\ntokens = 1 # small \"#\" test\r\n\r\n[budgets.daily]\r\nusd = 1", newline="")
    assert cli("budget", "set", "session.tokens=2", "daily.action=block").code == 0
    assert read() == ('[budgets.session]\r\ntokens = 2 # small "#" test\r\n\r\n'
                      '[budgets.daily]\r\nusd = 1\r\naction = "block"\r\n')


def test_an_inline_table_falls_back_to_a_full_rewrite_with_a_warning_and_a_backup():
    original = "# mine\n[budgets]\nsession = { tokens = 5 }\n"
    write(original)
    result = cli("budget", "set", "session.action=deny")
    assert result.code == 0
    assert "comments and layout were not kept" in result.err and "config.toml.bak" in result.err
    assert tomllib.loads(read()) == {"budgets": {"session": {"tokens": 5, "action": "deny"}}}
    assert Path(f"{config_file()}.bak").read_text() == original


def test_dotted_keys_elsewhere_are_edited_in_place_when_named_exactly():
    write("[budgets]\nsession.tokens = 5  # dotted\n")
    assert cli("budget", "set", "session.tokens=6").code == 0
    assert read() == "[budgets]\nsession.tokens = 6  # dotted\n"
    result = cli("budget", "set", "session.action=deny")  # cannot open [budgets.session]: full rewrite
    assert result.code == 0 and "not kept" in result.err
    assert tomllib.loads(read())["budgets"]["session"] == {"tokens": 6, "action": "deny"}


def test_unset_removes_keys_and_tables_and_keeps_the_rest():
    write(MINE + "\n[budgets.mcp.servers.github]\nusd = 1  # gh\n")
    result = cli("budget", "unset", "session.warn", "mcp", "weekly.usd")
    assert result.code == 0
    assert "removed budgets.session.warn (was [50, 80])" in result.out
    assert "warning: budgets.weekly.usd was not set" in result.err
    assert read() == MINE.replace("warn = [\n  50,  # early\n  80,\n]\n", "") + "\n"


def test_project_overrides_are_written_under_the_project_path(tmp_path):
    write(MINE)
    repo = tmp_path / "repo"
    assert cli("budget", "set", "--project", str(repo), "session.tokens=1000").code == 0
    assert read().startswith(MINE)
    assert tomllib.loads(read())["projects"][str(repo)]["budgets"]["session"]["tokens"] == 1000
    body = cli("budget", "show", "--json").json()
    (row,) = body["projects"][str(repo)]
    assert (row["limit"], row["values"]["tokens"], row["warn"]) == ("session", 1000, [50, 80])  # merged
    assert cli("budget", "unset", "--project", str(repo), "session").code == 0
    assert tomllib.loads(read()).get("projects", {}).get(str(repo), {}).get("budgets", {}) == {}


def test_show_lists_every_limit_and_which_are_armed():
    write(MINE + '[budgets.window]\naction = "block"\n')
    body = cli("budget", "show", "--json").json()
    rows = {r["limit"]: r for r in body["limits"]}
    assert list(rows) == ["window", "week", "daily", "weekly", "monthly", "session", "tool_result", "mcp"]
    assert rows["session"]["active"] and rows["session"]["amount"] == "500,000 tokens per session"
    assert rows["daily"]["amount"] == "$5.00 per local day"
    assert rows["window"]["active"] and rows["window"]["action"] == "block"
    assert not rows["weekly"]["active"] and not rows["week"]["active"]
    assert body["notify_model"] is False and body["override"] is None
    text = cli("budget", "show")
    assert text.code == 0 and "500,000 tokens" in text.out and "off (no amount)" in text.out


def test_override_writes_until_ms_and_clear_removes_it():
    start = int(time.time() * 1000)
    result = cli("budget", "override", "--for", "2h30m", "--reason", "release day")
    assert result.code == 0 and "lifted until" in result.out
    target = Path(paths.state_dir()) / "override.json"
    body = json.loads(target.read_text())
    assert set(body) == {"until_ms", "created_ms", "reason"} and body["reason"] == "release day"
    assert start <= body["created_ms"] <= int(time.time() * 1000)
    assert body["until_ms"] - body["created_ms"] == 9_000_000
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert cli("budget", "show", "--json").json()["override"]["until_ms"] == body["until_ms"]
    assert "in force" in cli("budget", "override").out
    assert cli("budget", "override", "--clear").code == 0 and not target.exists()
    assert "no override" in cli("budget", "override").out


def test_override_durations():
    for text, ms in (("1h", 3_600_000), ("30m", 1_800_000), ("1d", 86_400_000), ("90s", 90_000)):
        assert cli("budget", "override", "--for", text).code == 0
        body = json.loads((Path(paths.state_dir()) / "override.json").read_text())
        assert body["until_ms"] - body["created_ms"] == ms
    for bad in ("0m", "soon", "1x", ""):
        result = cli("budget", "override", "--for", bad)
        assert result.code == 2 and "duration" in result.err


def test_status_and_check_are_wired():
    assert cli("budget", "status", "--json").code == 0
    assert cli("budget", "check").code == 0
    assert cli("budget").code == 2  # an action is required
