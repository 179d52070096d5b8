"""The command line's shape (issue 11, items 5, 6 and 8): failures that speak, ccusage's spellings, shell
completion and --help. Real ledgers from the corpus and the history generator, real processes where a pipe,
a terminal or stdin matters, real shells for the completion scripts."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ccledger.base import errors, paths
from ccledger.cli import budget_keys, completion
from ccledger.cli import main as cli_main
from conftest import REPO, cli, generate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def process(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ccledger.cli.main", *args],
                            env=dict(os.environ, PYTHONPATH=str(REPO)), **kw)


@pytest.fixture
def today(shared, isolated, monkeypatch) -> dict:
    """A generated history whose last day is today (UTC, as every test runs)."""
    out = isolated / "gen"
    expected = generate(shared, out, "small", "--now", f"{dt.date.today().isoformat()}T23:00:00Z")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out))
    return expected


def tree() -> list[completion.Node]:
    return completion.tree(cli_main.build_parser())


def leaves() -> list[tuple[str, ...]]:
    return [node.path for node in tree() if node.path and not node.subs]


# ---- item 5: failures that speak ---------------------------------------------------------------------

def test_no_claude_data_folder_is_named_with_the_folders_looked_at(isolated, monkeypatch):
    missing = isolated / "nonexistent"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(missing))
    for args in (("report", "daily"), ("daily",), (), ("report", "tools", "--json")):
        result = cli(*args)
        assert result.code == errors.NO_CLAUDE_DATA == 10, args
        assert result.out == "" and result.err.count("\n") == 1, args
        assert f"no Claude Code data folder found (looked in {missing / 'projects'})" in result.err
    assert cli("report", "daily", "--no-ingest").code == 0  # what the ledger holds can still be shown
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(isolated / "empty-home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    result = cli("report", "daily")
    home = isolated / "empty-home"
    assert result.code == 10
    assert f"{home / '.config' / 'claude' / 'projects'}, {home / '.claude' / 'projects'}" in result.err


@pytest.mark.parametrize("args", [("report", "session"), ("report", "session", "--json"), ("report", "tools"),
                                  ("--help",), ("completion", "bash")])
def test_a_reader_that_leaves_early_ends_the_command_quietly(corpus, args):
    assert cli("ingest", "-q").code == 0  # the ledger first, so the command is only writing when the pipe shuts
    child = process(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.stdout.close()  # `| head` that has read enough
    err = child.stderr.read().decode()
    code = child.wait(60)
    assert code == cli_main.BROKEN_PIPE == 141 or (args == ("--help",) and code == 0)  # argparse ignores it itself
    assert err == ""  # never `unexpected error: [Errno 32] Broken pipe`, never an "Exception ignored" line


def test_rebuild_without_a_terminal_says_to_pass_yes(corpus):
    assert cli("ingest", "-q").code == 0
    done = subprocess.run([sys.executable, "-m", "ccledger.cli.main", "rebuild"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert done.returncode == 2 and "stdin is not a terminal: pass --yes" in done.stderr
    assert "unexpected" not in done.stderr and done.stdout == ""


def test_rebuild_answered_with_end_of_input_on_a_terminal_changes_nothing(corpus):
    assert cli("ingest", "-q").code == 0
    from conftest import ledger_rows
    before = ledger_rows("SELECT COUNT(*), MAX(offset) FROM files")
    controller, terminal = os.openpty()
    child = process("rebuild", stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(terminal)
    os.write(controller, b"\x04")  # Ctrl-D at the question
    out, err = child.communicate(timeout=120)
    os.close(controller)
    assert child.returncode == 0 and b"Nothing changed." in out and err == b""
    assert ledger_rows("SELECT COUNT(*), MAX(offset) FROM files") == before


def test_a_config_error_never_cites_a_line_of_a_file_that_is_not_there():
    config = Path(paths.config_path())
    assert not config.exists()
    for assignment in ("session.tokens=lots", "sesion.tokens=5", "session.action=kill"):
        result = cli("budget", "set", assignment)
        assert result.code == 2 and "line" not in result.err and "nothing was changed" in result.err, assignment
    assert not config.exists()
    config.write_text("[budgets.daily]\nusd = 1\n")
    result = cli("budget", "set", "daily.usd=-1")  # the file exists, but the refused text was never written
    assert result.code == 2 and "line" not in result.err and config.read_text() == "[budgets.daily]\nusd = 1\n"


REQUIRED = {("budget", "set"): ["session.tokens=1"], ("budget", "unset"): ["session"]}  # positionals it needs


@pytest.mark.parametrize("path", leaves(), ids=" ".join)
def test_every_command_refuses_a_bad_option_with_exit_2_and_its_own_usage(path):
    result = cli(*path, *REQUIRED.get(path, []), "--no-such-option")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"usage: ccledger {' '.join(path)} ")
    assert f"ccledger {' '.join(path)}: error: unrecognized arguments: --no-such-option" in result.err


@pytest.mark.parametrize("args", [
    ("budget", "set", "nokey"), ("budget", "set", "session..tokens=5"), ("budget", "unset", "session..x"),
    ("budget", "set", "session.tokens=2Q"), ("budget", "override", "--for", "soon"),
    ("report", "daily", "--since", "2026-13-01"), ("daily", "--timezone", "Mars/Base"), ("daily", "--last", "0"),
    ("daily", "--last", "2", "--since", "7d"), ("daily", "-o", "sideways"), ("report",), ("budget",),
    ("completion",), ("completion", "tcsh")])
def test_bad_values_exit_2_everywhere(args):
    result = cli(*args)
    assert result.code == 2 and result.out == "", (args, result)
    assert "unexpected" not in result.err


# ---- item 6: ccusage's spellings -----------------------------------------------------------------

@pytest.mark.parametrize("kind", cli_main.SHORT_FORMS)
def test_ccusage_commands_are_short_forms_of_report(corpus, kind):
    ours = cli("report", kind, "--json").json()
    assert ours["rows"] and cli(kind, "-j", "--no-ingest").json() == ours


def test_ccledger_alone_is_todays_daily_report(today):
    every_day = cli("daily", "-j").json()["rows"]
    assert len(every_day) >= 3
    alone = cli()
    assert alone.code == 0 and dt.date.today().isoformat() in alone.out
    assert every_day[0]["date"] not in alone.out
    assert cli("-j").json()["rows"] == [r for r in every_day if r["date"] == dt.date.today().isoformat()]
    since = every_day[0]["date"].replace("-", "")
    assert cli("-j", "-s", since).json()["rows"] == every_day  # options without a command are the daily report's


def test_dates_in_ccusage_form_relative_and_last_n(today):
    every_day = cli("daily", "-j").json()["rows"]
    first, last = every_day[1]["date"], every_day[-1]["date"]
    ours = cli("daily", "--json", "--since", first, "--until", last).json()["rows"]
    assert cli("daily", "-j", "-s", first.replace("-", ""), "-u", last.replace("-", "")).json()["rows"] == ours
    two_days = [r for r in every_day if r["date"] >= (dt.date.today() - dt.timedelta(days=1)).isoformat()]
    assert 1 <= len(two_days) < len(every_day)
    assert cli("daily", "-j", "--last", "2").json()["rows"] == two_days
    assert cli("daily", "-j", "--since", "2d").json()["rows"] == two_days
    monday = (dt.date.today() - dt.timedelta(days=dt.date.today().weekday())).isoformat()
    assert [r["week"] for r in cli("weekly", "-j", "--last", "1").json()["rows"]] == [monday]
    assert [r["month"] for r in cli("monthly", "-j", "--last", "1").json()["rows"]] == [dt.date.today().isoformat()[:7]]


def test_order_desc_turns_the_periods_round(corpus):
    asc = cli("daily", "-j").json()["rows"]
    assert len(asc) > 2 and [r["date"] for r in asc] == sorted(r["date"] for r in asc)
    assert cli("daily", "-j", "-o", "desc", "--no-ingest").json()["rows"] == asc[::-1]
    assert cli("daily", "-j", "--order", "asc", "--no-ingest").json()["rows"] == asc


def test_instances_split_each_period_by_project(corpus):
    days = {r["date"]: r for r in cli("daily", "-j").json()["rows"]}
    split = cli("daily", "-j", "-i", "--no-ingest").json()["rows"]
    by_day: dict[str, list[dict]] = {}
    for row in split:
        by_day.setdefault(row["date"], []).append(row)
    assert set(by_day) == set(days)
    assert any(len(rows) > 1 for rows in by_day.values())  # the corpus has days with several projects
    for day, rows in by_day.items():
        assert all(r["project"] for r in rows) and len({r["project"] for r in rows}) == len(rows)
        assert sum(r["total_tokens"] for r in rows) == days[day]["total_tokens"]
        assert [r["cost_usd"] for r in rows] == sorted((r["cost_usd"] for r in rows), reverse=True)
    table = cli("daily", "--instances", "--no-ingest")
    assert table.code == 0 and "Project" in table.out


def test_compact_color_and_version(corpus):
    def header(text: str) -> str:
        return next(line for line in text.splitlines() if "Date" in line)
    wide = cli("daily", "--no-color")
    assert wide.code == 0 and "Cache write" in header(wide.out) and "\x1b[" not in wide.out
    compact = cli("daily", "--compact", "--no-ingest")
    assert compact.code == 0 and "Cache write" not in header(compact.out)
    assert "\x1b[" in cli("daily", "--color", "--no-ingest").out  # colours although the output is not a terminal
    assert "NO_COLOR" not in os.environ and "FORCE_COLOR" not in os.environ  # the choice lasted one command
    for flag in ("-v", "--version"):
        assert cli(flag).out.strip() == f"ccledger {cli_main.__version__}"


def test_errors_show_the_commands_usage_and_the_nearest_spelling():
    result = cli("report", "daily", "--sinse", "7d")
    assert result.code == 2 and result.err.startswith("usage: ccledger report daily ")
    assert "(did you mean --since?)" in result.err
    result = cli("budget", "set", "--projct", "/tmp", "session.tokens=1")
    assert result.err.startswith("usage: ccledger budget set ") and "did you mean --project?" in result.err
    for args, near in ((("reprot",), "report"), (("report", "dialy"), "daily"), (("budget", "sett"), "set")):
        result = cli(*args)
        assert result.code == 2 and f"did you mean {near}?" in result.err, args


def test_debug_works_after_the_command_too():
    parser = cli_main.build_parser()
    assert cli_main.parse(parser, ["report", "daily", "--json", "--debug"]).debug is True
    assert cli_main.parse(parser, ["--debug", "report", "daily"]).debug is True  # not reset by the subcommand
    assert cli_main.parse(parser, ["budget", "status", "--debug"]).debug is True
    assert cli_main.parse(parser, ["report", "daily"]).debug is False
    assert cli("budget", "override", "--for", "soon", "--debug").code == 2  # a named error stays one line


def test_budget_set_takes_units():
    result = cli("budget", "set", "session.tokens=2M", "daily.usd=$5", "weekly.usd=$0.50", "mcp.carried_tokens=500k",
                 "tool_result.tokens=1.5k", "monthly.usd=1k")
    assert result.code == 0, result.err
    budgets = tomllib.loads(Path(paths.config_path()).read_text())["budgets"]
    assert budgets["session"]["tokens"] == 2_000_000 and type(budgets["session"]["tokens"]) is int
    assert budgets["daily"]["usd"] == 5 and budgets["weekly"]["usd"] == 0.5
    assert budgets["mcp"]["carried_tokens"] == 500_000 and budgets["tool_result"]["tokens"] == 1500
    assert budgets["monthly"]["usd"] == 1000
    assert cli("budget", "set", "session.tokens=1.2345k").code == 2  # 1234.5 tokens: refused, not rounded


def test_budget_set_help_lists_every_key_of_the_config_model():
    from ccledger.config import model as config_model
    text = cli("budget", "set", "--help").out
    assert "examples:" in text
    keys = [k.key for k in budget_keys.keys()]
    for key in keys:
        assert f"  {key} " in text, key
    for name in config_model.Budgets.model_fields:  # every limit of the model, whatever its fields
        assert any(k == name or k.startswith(f"{name}.") for k in keys), name
    for field in ("usd", "warn", "action"):
        assert field in config_model.CostLimit.model_fields and "daily." + field in keys
    assert {"session.tokens", "window.limit", "tool_result.tokens", "notify_model", 'mcp.servers."NAME".usd'} <= set(keys)


# ---- item 8: --help and completion -------------------------------------------------------------------

@pytest.mark.parametrize("node", tree(), ids=lambda n: " ".join(n.path) or "ccledger")
def test_every_command_has_a_man_page_quality_help(node):
    parser = cli_main.build_parser()
    for name in node.path:
        parser = next(a for a in parser._actions if isinstance(a, cli_main.argparse._SubParsersAction)).choices[name]
    assert parser.description and len(parser.description) > 30, node.path
    undocumented = [a.dest for a in parser._actions if not a.help or not a.help.strip()]
    assert not undocumented, (node.path, undocumented)
    result = cli(*node.path, "--help")
    assert result.code == 0 and "\nexamples:\n  " in result.out, node.path
    for option in node.options:
        assert any(s in result.out for s in option.strings), option.strings


def bash_complete(script: Path, words: list[str]) -> list[str]:
    """What bash offers for the last word, the way bash calls the function."""
    done = subprocess.run(["bash", "-c", 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ccledger; '
                           'printf "%s\\n" "${COMPREPLY[@]}"', "_", str(script), *words],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def bash_script(tmp_path) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    path = tmp_path / "ccledger.bash"
    result = cli("completion", "bash")
    assert result.code == 0
    path.write_text(result.out)
    return path


def test_bash_completion_offers_real_candidates(bash_script, tmp_path):
    (tmp_path / "projdir").mkdir()
    assert bash_complete(bash_script, ["ccledger", "rep"]) == ["report"]
    assert bash_complete(bash_script, ["ccledger", "report", "d"]) == ["daily"]
    assert bash_complete(bash_script, ["ccledger", "d"]) == ["daily", "doctor"]
    assert bash_complete(bash_script, ["ccledger", "--debug", "bud"]) == ["budget"]
    assert set(bash_complete(bash_script, ["ccledger", "report", "daily", "--s"])) == {"--since", "--session"}
    assert bash_complete(bash_script, ["ccledger", "daily", "-o", ""]) == ["asc", "desc"]
    assert bash_complete(bash_script, ["ccledger", "daily", "--order", "=", "d"]) == ["desc"]  # bash splits at =
    assert bash_complete(bash_script, ["ccledger", "completion", ""]) == ["bash", "zsh", "fish"]
    assert bash_complete(bash_script, ["ccledger", "budget", "set", "session.t"]) == ["session.tokens="]
    assert "session" in bash_complete(bash_script, ["ccledger", "budget", "unset", "sess"])
    assert bash_complete(bash_script, ["ccledger", "daily", "--project", str(tmp_path / "proj")]) == [
        str(tmp_path / "projdir")]
    # a value that is also a command name is not taken for one
    assert "--instances" in bash_complete(bash_script, ["ccledger", "report", "daily", "--project", "daily", "--i"])


def test_bash_completion_matches_the_parser_everywhere(bash_script):
    """The generated script and the parser agree on every command path: nothing drifts."""
    for node in tree():
        words = ["ccledger", *node.path]
        if node.subs:
            assert bash_complete(bash_script, words + [""]) == list(node.subs), node.path
        assert set(bash_complete(bash_script, words + ["-"])) == {s for o in node.options for s in o.strings}


def test_zsh_completion_parses_and_completes(tmp_path):
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (apt-get install zsh)")
    script = tmp_path / "_ccledger"
    script.write_text(cli("completion", "zsh").out)
    assert subprocess.run(["zsh", "-n", str(script)], capture_output=True, timeout=30).returncode == 0
    # compsys's own functions stubbed to print what they are given: the script's own logic runs for real
    stubs = ('compdef() { :; }; compset() { :; }; _files() { print -r -- FILES; }; _message() { :; }; '
             '_describe() { local n=${@[-1]}; print -rl -- "${(@)${(P)n}%%:*}"; }; '
             'compadd() { local n=${@[-1]}; print -rl -- "${(@P)n}"; }; ')

    def offered(*words: str) -> list[str]:
        done = subprocess.run(["zsh", "-c", stubs + 'source "$1"; shift; words=("$@"); CURRENT=$#; _ccledger',
                               "_", str(script), *words], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return done.stdout.split()

    assert offered("ccledger", "") == list(cli_main.build_parser()._subparsers._group_actions[0].choices)
    assert offered("ccledger", "report", "") == list(next(n for n in tree() if n.path == ("report",)).subs)
    assert offered("ccledger", "daily", "-o", "") == ["asc", "desc"]
    assert offered("ccledger", "daily", "--order=d") == ["asc", "desc"]
    assert offered("ccledger", "budget", "set", "--project", "") == ["FILES"]
    assert "session.tokens=" in offered("ccledger", "budget", "set", "")
    assert "--instances" in offered("ccledger", "report", "daily", "--since", "7d", "-")


def test_fish_completion_parses_and_completes(tmp_path):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (apt-get install fish)")
    script = tmp_path / "ccledger.fish"
    script.write_text(cli("completion", "fish").out)
    assert subprocess.run(["fish", "-n", str(script)], capture_output=True, timeout=30).returncode == 0

    def offered(line: str) -> list[str]:
        done = subprocess.run(["fish", "-c", 'source $argv[1]; complete -C $argv[2]', str(script), line],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        return [row.split("\t")[0] for row in done.stdout.splitlines()]

    assert offered("ccledger rep") == ["report"]
    assert offered("ccledger report d") == ["daily"]
    assert offered("ccledger daily -o ") == ["asc", "desc"]
    assert set(offered("ccledger report daily --s")) == {"--since", "--session"}
    assert offered("ccledger budget set session.t") == ["session.tokens="]
    assert offered("ccledger completion ") == ["bash", "fish", "zsh"]


def test_install_files_puts_each_script_where_its_shell_looks(isolated, bash_script):
    home = isolated / "somebody"
    written = completion.install_files(str(home))
    assert written == [str(home / ".local/share/bash-completion/completions/ccledger"),
                       str(home / ".local/share/zsh/site-functions/_ccledger"),
                       str(home / ".config/fish/completions/ccledger.fish")]
    assert Path(written[0]).read_text() == bash_script.read_text()
    assert bash_complete(Path(written[0]), ["ccledger", "rep"]) == ["report"]
    assert Path(written[1]).read_text().startswith("#compdef ccledger\n")
    assert paths.remove_completion_files(str(home)) == written and not any(Path(p).exists() for p in written)
