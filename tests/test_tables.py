"""Tables people can read (issue 11, item 7), on the real corpus.

A pipe keeps every column; a narrow terminal (a real pseudo-terminal of a given width) hides the least
important columns and says which; dates and tool names stay whole on one line; rows come by cost and the
title says so; projects are named by their folder path and subagents by their type; the skipped-lines
footer follows the report's filters; NO_COLOR means no escape sequence at all.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import sqlite3
import struct
import subprocess
import sys
import termios
import pytest

from conftest import REPO, cli, cli_process, ledger_rows
from test_faults_config import SECRET, subagent, write_config

from ccledger.ledger import schema
from ccledger.report import projects

ESC = "\x1b["
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
RULE = "━"


@pytest.fixture
def ingested(corpus):
    assert cli("ingest", "--quiet").code == 0
    return corpus


def on_terminal(width: int, *args: str, env: dict | None = None, color: bool = False) -> str:
    """`ccledger ARGS` with stdout on a pseudo-terminal `width` columns wide: what it printed there (without
    colours unless `color`: the layout is easier to read)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    full = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm-256color", **({} if color else {"NO_COLOR": "1"}),
                **(env or {}))
    full.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "ccledger.cli.main", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=subprocess.PIPE, env=full)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def header(text: str) -> str:
    """The line of column labels: the one just above the first rule."""
    lines = text.splitlines()
    return next(lines[n - 1] for n, line in enumerate(lines) if line.strip().startswith(RULE))


def body(text: str) -> list[str]:
    """The lines between the table's two rules (one per row when nothing wraps)."""
    lines = text.splitlines()
    rules = [n for n, line in enumerate(lines) if line.strip().startswith(RULE)]
    return lines[rules[0] + 1:rules[1]]


def hidden_by_notice(text: str) -> list[str]:
    match = re.search(r"Columns hidden to fit \d+ columns: ([^;—]+)", " ".join(text.split()))
    return [label.strip() for label in match.group(1).split(",")] if match else []


# -- a pipe keeps every column, a terminal says what it hid ----------------------------------------------

def test_piped_output_keeps_every_column_and_full_session_ids(ingested):
    result = cli_process("report", "session", env={"COLUMNS": "60"})  # a width for a terminal, not a pipe
    assert result.returncode == 0, result.stderr
    labels = header(result.stdout).split()
    for label in ("Session", "Project", "Models", "Input", "Output", "Cache", "write", "read", "Total", "Cost"):
        assert label in labels
    assert "Columns hidden" not in result.stdout and "…" not in result.stdout and ESC not in result.stdout
    for row in cli("report", "session", "--json").json()["rows"]:
        assert row["session_id"] in result.stdout


@pytest.mark.parametrize("kind", ["daily", "session", "tools", "agents"])
def test_a_narrow_terminal_hides_columns_and_names_them(ingested, kind):
    wide, narrow = on_terminal(250, "report", kind), on_terminal(80, "report", kind)
    assert hidden_by_notice(wide) == [] and "Columns hidden" not in wide
    hidden = hidden_by_notice(narrow)
    assert hidden, narrow
    shown = header(narrow)
    for label in hidden:
        assert label in header(wide) and label not in shown, (label, shown)
    assert "widen the terminal or use --json" in " ".join(narrow.split())
    assert max(len(line) for line in narrow.splitlines() if RULE in line) <= 80


def test_compact_hides_what_ccusage_hides_and_says_so(ingested):
    result = cli("report", "daily", "--compact")
    assert result.code == 0, result.err
    labels = header(result.out)
    assert "Cache" not in labels and "Total" not in labels
    assert all(label in labels for label in ("Date", "Models", "Input", "Output", "Cost"))
    assert "Compact view (--compact): Cache write, Cache read, Total not shown" in result.out


@pytest.mark.parametrize("width", [80, 40, 24])
def test_dates_are_never_cut_or_wrapped(ingested, width):
    days = [r["date"] for r in cli("report", "daily", "--json").json()["rows"]]
    text = on_terminal(width, "report", "daily")
    rows = body(text)
    assert len(rows) >= len(days)  # a day's models may take more lines, never fewer than one per day
    assert [DATE.search(line).group(0) for line in rows if DATE.search(line)] == days
    sessions = on_terminal(width, "report", "session")
    stamps = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", sessions)
    assert len(stamps) in (0, len(cli("report", "session", "--json").json()["rows"]))  # whole, or hidden


def test_tool_names_are_never_wrapped(ingested):
    owners = [r["owner"] for r in cli("report", "tools", "--json").json()["rows"]]
    for width in (80, 120):
        rows = body(on_terminal(width, "report", "tools"))
        assert len(rows) == len(owners)  # one line per tool: nothing folded onto a second line
        for owner, line in zip(owners, rows):
            cell = line.split()[0]
            if "…" in cell:  # a very long MCP name keeps both ends, in one piece
                head, tail = cell.split("…")
                assert owner.startswith(head) and owner.endswith(tail) and len(owner) > len(cell), (owner, cell)
            else:
                assert cell == owner
    piped = body(cli("report", "tools").out)
    assert [line.split()[0] for line in piped] == owners


def test_session_ids_are_full_where_there_is_room_and_always_in_json(ingested):
    ids = [r["session_id"] for r in cli("report", "session", "--json").json()["rows"]]
    assert {i for i in ids if len(i) == 36} == {p.stem for p in ingested.rglob("*.jsonl")
                                               if "subagents" not in p.parts and len(p.stem) == 36}
    wide = on_terminal(250, "report", "session")
    assert all(i in wide for i in ids)
    narrow = on_terminal(80, "report", "session")
    cells = [line.split()[0] for line in body(narrow)]
    assert all(i.startswith(c.rstrip("…")) and len(c.rstrip("…")) >= 7 for i, c in zip(ids, cells))
    assert [r["session_id"] for r in json.loads(on_terminal(40, "report", "session", "--json"))["rows"]] == ids


# -- ordered by the column that matters, and said so -------------------------------------------------------

@pytest.mark.parametrize("kind", ["session", "projects", "models", "tools", "mcp", "agents"])
def test_rows_come_by_cost_and_the_title_says_so(ingested, kind):
    costs = [r["cost_usd"] for r in cli("report", kind, "--json").json()["rows"]]
    assert len(costs) > 1 and costs == sorted(costs, reverse=True)
    assert ", by cost" in cli("report", kind).out.splitlines()[0]
    cheapest = [r["cost_usd"] for r in cli("report", kind, "--json", "--order", "asc").json()["rows"]]
    assert cheapest == sorted(costs)
    assert "by cost, lowest first" in cli("report", kind, "-o", "asc").out.splitlines()[0]


def test_periods_stay_chronological_unless_asked(ingested):
    days = [r["date"] for r in cli("report", "daily", "--json").json()["rows"]]
    assert days == sorted(days)
    assert [r["date"] for r in cli("report", "daily", "--json", "-o", "desc").json()["rows"]] == days[::-1]
    assert "oldest first" in cli("report", "daily").out.splitlines()[0]
    assert "newest first" in cli("report", "daily", "-o", "desc").out.splitlines()[0]
    starts = [r["start"] for r in cli("report", "blocks", "--json", "-o", "desc").json()["rows"]]
    assert starts == sorted(starts, reverse=True)


# -- names a person recognises ------------------------------------------------------------------------------

PATHS = {"-Users-liuhanwen-Desktop-project-webtech-monorepo": "/Users/liuhanwen/Desktop/project/webtech-monorepo",
         "C--Users-emarquez-personal-claude-docs": "C:\\Users\\emarquez\\personal-claude-docs",
         "-tmp-tmpqwh7888i": "/tmp/tmpqwh7888i",
         "-Users-dev-git-ai": "/Users/aidancunniffe/Desktop/ghq"}  # a folder its publisher renamed: the cwd wins


def test_projects_are_named_by_the_folder_they_ran_in(ingested):
    rows = {r["project"]: r for r in cli("report", "projects", "--json").json()["rows"]}
    for folder, path in PATHS.items():
        assert rows[folder]["project_path"] == path
    table = cli("report", "projects").out
    for folder, path in PATHS.items():
        assert path in table and folder not in table
    sessions = {r["session_id"]: r["project_path"] for r in cli("report", "session", "--json").json()["rows"]}
    assert sessions["images-in-tool-results"] == "/Users/pete/git/moredip/session-share/session-viewer"
    assert sessions["general-tool-calls"] == "/Users/pete/git/moredip/session-share"
    by_path = cli("report", "session", "--json", "--project", "/Users/aidancunniffe/Desktop/ghq").json()["rows"]
    assert [r["session_id"] for r in by_path] == ["example-claude-code"]


def test_a_ledger_from_before_the_cwd_column_learns_it_from_the_transcripts(ingested):
    ledger = ledger_rows("PRAGMA database_list")[0][2]
    before = schema.MIGRATIONS.index(schema.m010_file_cwd)
    with sqlite3.connect(ledger) as conn:  # the ledger as 0.1 left it: schema 9, none of the later columns
        conn.execute("ALTER TABLE files DROP COLUMN cwd")
        conn.execute("ALTER TABLE context_items DROP COLUMN owner")
        conn.execute(f"PRAGMA user_version = {before}")
    rows = {r["project"]: r["project_path"] for r in cli("report", "projects", "--json", "--no-ingest").json()["rows"]}
    assert all(rows[folder] == path for folder, path in PATHS.items())
    assert ledger_rows("PRAGMA user_version") == [(schema.LATEST,)]
    assert ledger_rows("SELECT COUNT(*) FROM files WHERE agent_id = '' AND path LIKE '%.jsonl'"
                       " AND coalesce(cwd, '') = ''") == [(0,)]  # looked up once, kept
    assert projects.slug("C:\\Users\\emarquez\\personal-claude-docs") == "C--Users-emarquez-personal-claude-docs"


def test_subagents_are_named_by_type_not_by_their_call(ingested):
    rows = cli("report", "agents", "--json").json()["rows"]
    names = {r["agent_id"]: r["name"] for r in rows}
    assert names["a4ca7529859c158c2"] == "general-purpose a4ca7529"  # from the Agent call's subagent_type
    assert names["aed85ac"] == "Explore aed85ac"  # from the Task call's subagent_type
    assert names["acompact-30e1f5"] == "compaction 30e1f5"
    table = cli("report", "agents").out
    assert all(name in table for name in names.values())
    assert not re.search(r"\b(Agent|Task) \w{8}\b", table)  # no "Agent 6W5X9UUy": a call is not a name


def test_without_its_description_a_subagent_is_its_type_and_short_id(claude_dir):
    subagent(claude_dir)
    (row,) = cli("report", "agents", "--json").json()["rows"]
    assert row["name"] == "Explore abc"
    assert "Explore abc" in cli("report", "agents").out and SECRET not in cli("report", "agents").out


def test_a_stored_description_names_the_subagent(claude_dir):
    write_config("[privacy]\nstore_descriptions = true\n")
    subagent(claude_dir)
    (row,) = cli("report", "agents", "--json").json()["rows"]
    assert row["name"] == f"Explore: {SECRET}"
    assert f"Explore: {SECRET}" in cli("report", "agents").out


# -- the footer follows the filters ---------------------------------------------------------------------

def test_skipped_lines_are_told_only_for_the_files_the_report_reads(ingested):
    assert cli("report", "daily", "--json").json()["skipped"] == {"comment": 4, "invalid_json": 35}
    clean = cli("report", "session", "--session", "12887f5b")
    assert "skipped" not in clean.out
    assert cli("report", "session", "--json", "--session", "12887f5b").json()["skipped"] == {}
    damaged = cli("report", "session", "--json", "--session", "3af9b1a7").json()
    assert damaged["skipped"] == {"invalid_json": 35}
    day = cli("report", "daily", "--json", "--since", "2026-01-21", "--until", "2026-01-21").json()
    assert day["skipped"] == {"comment": 2}  # general-tool-calls ran that day; the damaged file did not
    assert "2 transcript lines skipped (comment 2)" in cli("report", "daily", "-s", "20260121", "-u", "20260121").out
    assert cli("report", "tools", "--json", "--project", "-Users-dev-session-share").json()["skipped"] == {"comment": 4}


# -- NO_COLOR ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["daily", "tools", "blocks"])
def test_no_color_means_no_escape_sequence_at_all(ingested, kind):
    assert ESC in on_terminal(100, "report", kind, color=True)  # bold headers, dim notes: the test can fail
    assert ESC not in on_terminal(100, "report", kind, env={"NO_COLOR": "1"}, color=True)
    assert ESC not in on_terminal(100, "report", kind, "--no-color", color=True)
    assert ESC in on_terminal(100, "report", kind, env={"NO_COLOR": ""}, color=True)  # only a non-empty value
    assert ESC in cli_process("report", kind, "--color").stdout  # asked for in a pipe
