"""Incremental ingestion: idempotent, crash-safe, append-only reads, safe under concurrency."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO, cli, cli_process, generate, ledger_rows

TOTALS = "SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m + cache_write_1h)," \
         " SUM(cache_read_tokens), ROUND(SUM(cost_usd), 6) FROM api_calls"


def totals() -> tuple:
    return ledger_rows(TOTALS)[0]


def ingest() -> None:
    result = cli("ingest", "--quiet")
    assert result.code == 0, result.err


@pytest.fixture
def small(shared, isolated, monkeypatch):
    out = isolated / "gen"
    generate(shared, out, "small", "--now", "2026-11-30T16:00:00Z")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out))
    return out


@pytest.fixture
def session_file(corpus, claude_dir, monkeypatch):
    """A real 2.1.41 session (541 lines, streamed duplicates, compaction) copied where we can edit it."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    source = corpus / "projects" / "C--Users-emarquez-personal-claude-docs" / "21d5136b-c250-47d9-b1f9-912b1111f151.jsonl"
    target = claude_dir / "projects" / "C--Users-emarquez-personal-claude-docs" / source.name
    target.parent.mkdir(parents=True)
    return source, target


def reference(source, target) -> tuple:
    shutil.copyfile(source, target)
    ingest()
    full = totals()
    os.remove(os.environ["CCLEDGER_HOME"] + "/ledger.db")
    for suffix in ("-wal", "-shm"):
        path = os.environ["CCLEDGER_HOME"] + "/ledger.db" + suffix
        if os.path.exists(path):
            os.remove(path)
    return full


def test_ingesting_twice_changes_nothing(small):
    ingest()
    first = totals()
    ingest()
    assert totals() == first
    assert ledger_rows("SELECT SUM(lines) FROM files")[0][0] == sum(
        1 for p in small.rglob("*.jsonl") for _ in open(p, "rb"))


def test_appended_lines_add_exactly_their_usage(session_file):
    source, target = session_file
    full = reference(source, target)
    lines = source.read_bytes().splitlines(keepends=True)
    target.write_bytes(b"".join(lines[:200]))
    ingest()
    partial = totals()
    assert 0 < partial[0] < full[0]
    with open(target, "ab") as handle:
        handle.write(b"".join(lines[200:]))
    ingest()
    assert totals() == full


def test_a_half_written_last_line_waits_until_it_is_complete(session_file):
    source, target = session_file
    full = reference(source, target)
    data = source.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = sum(len(line) for line in lines[:300]) + len(lines[300]) // 2
    target.write_bytes(data[:cut])
    ingest()
    offset = ledger_rows("SELECT offset FROM files")[0][0]
    assert offset == sum(len(line) for line in lines[:300])  # not past the partial line
    assert ledger_rows("SELECT COUNT(*) FROM skipped")[0][0] == 0  # and not counted as malformed
    with open(target, "ab") as handle:
        handle.write(data[cut:])
    ingest()
    assert totals() == full


def test_a_replaced_or_shrunk_file_is_reread_without_double_counting(session_file):
    source, target = session_file
    shutil.copyfile(source, target)
    ingest()
    full = totals()
    replacement = target.with_suffix(".tmp")
    shutil.copyfile(source, replacement)
    os.replace(replacement, target)  # same content, new inode
    ingest()
    assert totals() == full
    assert ledger_rows("SELECT restarts FROM files")[0][0] == 1
    shrunk = b"".join(source.read_bytes().splitlines(keepends=True)[:50])
    target.write_bytes(shrunk)
    ingest()
    assert totals() == full  # what was recorded stays recorded
    assert ledger_rows("SELECT restarts, lines, offset FROM files")[0] == (2, 50, len(shrunk))
    ingest()  # and the shrunk file is now read incrementally again, not restarted every time
    assert ledger_rows("SELECT restarts FROM files")[0] == (2,)


@pytest.fixture
def medium(shared, isolated, monkeypatch):
    """~150 MB of history: big enough that an ingest is still running when we kill it."""
    out = isolated / "medium"
    expected = generate(shared, out, "large", "--sessions", "30", "--lines", "2000", "--projects", "3",
                        "--days", "5", "--now", "2026-11-30T16:00:00Z")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out))
    return expected


def expected_totals(expected: dict) -> tuple:
    t = expected["final"]["totals"]
    return t["entries"], t["totalTokens"], t["outputTokens"]


def ledger_totals() -> tuple:
    return ledger_rows("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls")[0]


def test_sigkill_half_way_then_rerun_gives_the_same_totals(medium):
    proc = subprocess.Popen([sys.executable, "-m", "ccledger.cli.main", "ingest", "--quiet"],
                            env=dict(os.environ, PYTHONPATH=str(REPO)), start_new_session=True)
    ledger = os.environ["CCLEDGER_HOME"] + "/ledger.db"
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        if os.path.exists(ledger):
            try:
                committed = ledger_rows("SELECT COUNT(*) FROM files WHERE offset > 0")[0][0]
            except Exception:
                continue
            if committed:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < committed < 30, "the kill should land half-way"
    ingest()
    assert ledger_totals() == expected_totals(medium)


def test_two_ingests_at_once_agree_and_never_see_a_locked_database(medium):
    env = {"PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "ccledger.cli.main", "ingest", "--json"],
                              env=dict(os.environ, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower()
    assert ledger_totals() == expected_totals(medium)
    result = cli_process("report", "daily", "--json")
    assert result.returncode == 0 and "locked" not in result.stderr


def test_reports_stay_exact_when_a_larger_copy_moves_a_response_to_another_quarter_hour(claude_dir):
    """The usage rollup is rebuilt for every quarter hour a response left or entered."""
    import json
    path = claude_dir / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)

    def block(ts, out):
        return json.dumps({"type": "assistant", "timestamp": ts, "sessionId": "s", "requestId": "r1",
                           "message": {"id": "m1", "model": "claude-sonnet-4-6", "content": [],
                                       "usage": {"input_tokens": 5, "output_tokens": out}}}) + "\n"
    path.write_text(block("2026-03-01T10:14:59.000Z", 1))
    ingest()
    with open(path, "a") as handle:
        handle.write(block("2026-03-01T10:15:01.000Z", 700))  # the final copy, one quarter hour later
    ingest()
    body = cli("report", "daily", "--json").json()
    assert (body["totals"]["output_tokens"], body["totals"]["requests"]) == (700, 1)
    assert ledger_rows("SELECT quarter % 4, requests, output_tokens FROM usage_rollup") == [(1, 1, 700)]


def test_rebuild_rereads_everything_to_the_same_totals_in_a_fresh_process(corpus):
    from conftest import cli_process
    ingest()
    before = totals()
    result = cli_process("rebuild", "--yes")  # a process that never imported the json package
    assert result.returncode == 0, result.stderr
    assert totals() == before
    assert ledger_rows("SELECT SUM(count) FROM skipped")[0][0] == 39
