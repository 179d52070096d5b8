"""Issue 9, items 1 and 3: a process killed (or stopped at its deadline) half-way through a file loses
nothing, one more ingest makes the totals exact; a line of any length costs time and memory linear in
its length (over ingest.MAX_LINE: a counted `too_long` skip held nowhere in memory); a transcript that
another process inserted and read while we planned does not break the plan. The same "done up to X
before X is committed" pattern is checked where it was found: the status line's cache, the gate files'
transcript size and attribution's dirty marks.

The campaign kills real processes (`ccledger ingest`, a Stop hook, a status line render, each as
Claude Code or a user runs it) at random points of a ~40 MB session, five 8 MB chunks, against the
ground truth of the shared history generator. `tried` counts kills of a running process, `mid` those
that left the file read half-way (the case that lost data), `survived` those after which one more
ingest gave exact totals, `lost` the others.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, cli, generate, ledger_rows, shared_dir

NOW = "2026-11-30T16:00:00Z"
LINES = 16_000           # assistant lines of the one session: ~40 MB
TRIALS = 20              # kills per entry point
SEED = 9


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, Path, dict]:
    """(CLAUDE_CONFIG_DIR, the session transcript, expected.json) of one long generated session."""
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared (the history generator) not found; set CCLEDGER_SHARED")
    out = tmp_path_factory.mktemp("history") / "claude"
    expected = generate(shared, out, "large", "--sessions", "1", "--lines", str(LINES), "--projects", "1",
                        "--days", "1", "--now", NOW)
    transcript = next(out.glob("projects/*/*.jsonl"))
    assert transcript.stat().st_size > 4 * (8 << 20)
    return out, transcript, expected


def truth(expected: dict) -> tuple:
    t = expected["final"]["totals"]
    return t["entries"], t["totalTokens"], t["outputTokens"]


def ledger_path() -> str:
    return os.path.join(os.environ["CCLEDGER_HOME"], "ledger.db")


def peek_offset() -> int | None:
    """The transcript's committed offset, read without creating or migrating the ledger (None: not yet)."""
    try:
        conn = sqlite3.connect(f"file:{ledger_path()}?mode=ro", uri=True, timeout=0.05)
        try:
            row = conn.execute("SELECT offset FROM files WHERE path LIKE '%.jsonl'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def kill_at_random(command: list[str], stdin: bytes, rng: random.Random, size: int, full_s: float) -> str:
    """Run `command`, SIGKILL it (and its children) at a random point: half of the time after a random
    delay, half of the time once its committed offset passed a random byte of the file. Returns where
    it landed: 'finished' (it was done first), 'before' (nothing read), 'mid' or 'end'."""
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), start_new_session=True)
    proc.stdin.write(stdin)
    proc.stdin.close()
    if rng.random() < 0.5:
        time.sleep(rng.uniform(0, full_s))
    else:
        target, give_up = rng.uniform(1, size), time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < give_up and (peek_offset() or 0) < target:
            time.sleep(0.002)
    finished = proc.poll() is not None
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    offset = peek_offset() or 0
    if finished:
        return "finished"
    return "before" if offset == 0 else "mid" if offset < size else "end"


def exact_after_one_more_ingest(expected: dict) -> bool:
    result = cli("ingest", "--quiet")
    assert result.code == 0, result.err
    if ledger_rows("PRAGMA integrity_check") != [("ok",)]:
        return False
    ours = ledger_rows("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls")[0]
    daily = cli("report", "daily", "--json", "--timezone", "UTC").json()["totals"]  # through the rollups
    return ours == truth(expected) and daily["total_tokens"] == truth(expected)[1]


ENTRIES = {
    # CHUNK 1 MB and no worker pool: forty commits per run, so most kills land between two of them
    "ingest": ([sys.executable, "-c", "import sys; from ccledger.ledger import ingest; ingest.CHUNK = 1 << 20; "
                "ingest.POOL_THRESHOLD = 1 << 62; from ccledger.cli.main import main; "
                "sys.exit(main(['ingest', '--quiet']))"], None),
    "stop hook": ([sys.executable, "-S", str(REPO / "hooks" / "ccledger_hook.py")], "Stop"),
    "status line": ([sys.executable, "-S", str(REPO / "statusline" / "ccledger_statusline.py")], "status"),
}


def payload(kind: str | None, transcript: Path) -> bytes:
    session = transcript.stem
    if kind == "Stop":
        body = {"hook_event_name": "Stop", "session_id": session, "transcript_path": str(transcript),
                "cwd": "/home/dev/work/project-000", "stop_hook_active": False}
    elif kind == "status":
        body = {"session_id": session, "transcript_path": str(transcript),
                "model": {"id": "claude-sonnet-4-5-20250929", "display_name": "Sonnet 4.5"}}
    else:
        return b""
    return json.dumps(body).encode()


@pytest.mark.faults
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_a_kill_at_any_point_is_made_good_by_one_more_ingest(entry, history, isolated, monkeypatch):
    claude, transcript, expected = history
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    command, kind = ENTRIES[entry]
    stdin, size = payload(kind, transcript), transcript.stat().st_size
    rng = random.Random(f"{SEED}-{entry}")
    monkeypatch.setenv("CCLEDGER_HOME", str(isolated / "timing"))
    started = time.monotonic()
    subprocess.run(command, input=stdin, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                   timeout=120, check=True)
    full_s = time.monotonic() - started
    assert peek_offset() == size, f"an uninterrupted {entry} reads the whole session"
    counts = {"tried": 0, "finished": 0, "before": 0, "mid": 0, "end": 0, "survived": 0, "lost": 0}
    for trial in range(TRIALS):
        monkeypatch.setenv("CCLEDGER_HOME", str(isolated / f"trial-{trial}"))
        landed = kill_at_random(command, stdin, rng, size, full_s)
        counts[landed] += 1
        counts["tried"] += landed != "finished"
        counts["survived" if exact_after_one_more_ingest(expected) else "lost"] += 1
    print(f"\n{entry}: {counts}")
    assert counts["lost"] == 0, counts
    assert counts["mid"] >= TRIALS // 4, f"too few kills landed half-way through the file: {counts}"


# ------------------------------------------------------------------------ stopping at a deadline

def test_an_ingest_stopped_at_its_deadline_keeps_its_chunks_and_the_next_one_finishes(history, isolated,
                                                                                        monkeypatch):
    """What a hook does before its Claude Code timeout: stop after the chunk that passed the deadline,
    committed. The file is not taken as read (size -1 until a read reaches the planned size)."""
    from ccledger.ledger import db, ingest
    claude, transcript, expected = history
    size = transcript.stat().st_size
    with db.opened() as conn:
        first = ingest.ingest_file(conn, str(transcript), deadline=time.monotonic())
        assert first.stopped and first.files_read == 0
        offset, stored = conn.execute("SELECT offset, size FROM files").fetchone()
        assert stored == -1 and offset == first.bytes
        assert ingest.CHUNK <= offset < 2 * ingest.CHUNK < size  # the first chunk, then it stopped
        second = ingest.ingest_file(conn, str(transcript))
        assert not second.stopped and second.files_read == 1
        assert conn.execute("SELECT offset, size FROM files").fetchone() == (size, size)
        assert conn.execute("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls").fetchone() \
            == truth(expected)
        assert ingest.ingest_file(conn, str(transcript)).bytes == 0  # and now it is skipped


def test_stop_hooks_out_of_time_each_read_a_chunk_and_together_the_whole_session(history, isolated, monkeypatch):
    """A Stop hook's ingest stops at BUDGET_SHARE of its timeout (here: none at all), after one chunk; the
    hooks that follow continue where it stopped, to the exact totals."""
    from ccledger.hooks import entry as hook
    from ccledger.ledger import ingest
    claude, transcript, expected = history
    monkeypatch.setattr(hook, "BUDGET_SHARE", 0.0)
    body = json.loads(payload("Stop", transcript))
    offsets = []
    while not offsets or offsets[-1] < transcript.stat().st_size:
        assert len(offsets) < 10, offsets
        hook.handle(body)
        offsets.append(ledger_rows("SELECT offset FROM files WHERE path LIKE '%.jsonl'")[0][0])
    steps = [b - a for a, b in zip([0] + offsets, offsets)]
    assert len(steps) > 3 and all(ingest.CHUNK <= step < 2 * ingest.CHUNK for step in steps[:-1]), steps
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls")[0] == truth(expected)


def test_a_render_that_stopped_early_is_not_cached_and_the_next_render_continues(history, isolated,
                                                                                 monkeypatch):
    """The status line's cache must not claim bytes its ingest left unread; with no time at all, each render
    still reads one chunk, so renders alone converge to the exact totals."""
    from ccledger.statusline import entry as statusline
    claude, transcript, expected = history
    monkeypatch.setattr(statusline, "INGEST_BUDGET_S", 0.0)
    raw = payload("status", transcript)
    now = int(time.time() * 1000)
    cache = Path(os.environ["CCLEDGER_HOME"]) / "state" / "status"
    offsets = []
    for render in range(8):
        statusline.build(raw, now + render)
        offsets.append(ledger_rows("SELECT offset FROM files")[0][0])
        if offsets[-1] < transcript.stat().st_size:
            assert not cache.exists() or not list(cache.iterdir()), "a partial render was cached"
    assert offsets == sorted(offsets) and offsets[0] < offsets[-1] == transcript.stat().st_size
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls")[0] == truth(expected)
    assert list(cache.iterdir()), "the render that finished was cached"


def test_a_gate_accounts_only_for_the_bytes_the_ledger_read(history, isolated):
    """budgets write the transcript size their numbers cover into the gate file; after an ingest stopped
    half-way that is not the file's size, so the next synchronous hook measures again (gate.check)."""
    from ccledger.budgets import measure as budgets, gate
    from ccledger.ledger import db, ingest
    claude, transcript, expected = history
    config = isolated / "ccledger" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[budgets.session]\ntokens = 1000000000000\naction = "deny"\n')
    hook = {"session_id": transcript.stem, "transcript_path": str(transcript)}
    with db.opened() as conn:
        ingest.ingest_file(conn, str(transcript), deadline=time.monotonic())
        budgets.evaluate(conn, transcript.stem, "/home/dev/work/project-000", int(time.time() * 1000),
                         transcript=str(transcript))
        assert gate.check(hook)[0]
        ingest.ingest_file(conn, str(transcript))
        budgets.evaluate(conn, transcript.stem, "/home/dev/work/project-000", int(time.time() * 1000),
                         transcript=str(transcript))
        assert not gate.check(hook)[0]


# ------------------------------------------------------------------------ a file appearing mid-plan

def test_plan_survives_a_file_another_process_inserted_and_read_meanwhile(history, isolated, monkeypatch):
    """A transcript new to our plan, which another `ccledger ingest` inserts and reads completely
    between our look-up of known files and our insert: the plan still finds its row (by path), and the
    run that follows adds nothing twice."""
    from ccledger.ledger import db, ingest
    claude, transcript, expected = history
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    found = ingest.discover([str(claude)])
    conn = db.connect()
    others = []

    def meanwhile(statement: str) -> None:
        if statement.startswith("BEGIN IMMEDIATE") and not others:  # our plan, about to insert new files
            others.append(subprocess.run([sys.executable, "-m", "ccledger.cli.main", "ingest", "--quiet"],
                                         env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                                         text=True, timeout=120))
    try:
        conn.set_trace_callback(meanwhile)
        tasks = ingest.plan(conn, found)
        conn.set_trace_callback(None)
        assert others and others[0].returncode == 0, others and others[0].stderr
        assert conn.execute("SELECT offset FROM files").fetchone()[0] == transcript.stat().st_size
        assert [t.path for t in tasks] == [str(transcript)]
        ingest.run(conn, tasks, ingest.Summary(), workers=1)
        assert conn.execute("SELECT COUNT(*), SUM(total_tokens), SUM(output_tokens) FROM api_calls").fetchone() \
            == truth(expected)
    finally:
        conn.close()


def test_attribution_does_not_clear_a_session_that_changed_while_it_was_computed(history, claude_dir, monkeypatch):
    """Attribution is computed outside the write lock; when another process committed new calls of the
    session meanwhile, the rows written with the cleared dirty mark must include them."""
    from ccledger.ledger import attribution, db
    _, source, _ = history
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude_dir))
    lines = source.read_bytes()[: 3 << 20].splitlines(keepends=True)[:-1]
    target = claude_dir / "projects" / source.parent.name / source.name
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join(lines[: len(lines) // 2]))
    assert cli("ingest", "--quiet").code == 0
    conn = db.connect()
    others = []

    def meanwhile(statement: str) -> None:
        if statement.startswith("BEGIN IMMEDIATE") and not others:  # attribute() done, about to write
            with open(target, "ab") as out:
                out.write(b"".join(lines[len(lines) // 2:]))
            others.append(subprocess.run([sys.executable, "-m", "ccledger.cli.main", "ingest", "--quiet"],
                                         env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                                         text=True, timeout=120))
    try:
        conn.set_trace_callback(meanwhile)
        assert attribution.refresh(conn, [source.stem]) == 1
        conn.set_trace_callback(None)
        assert others and others[0].returncode == 0, others and others[0].stderr
        context = conn.execute("SELECT SUM(input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens)"
                               " FROM api_calls WHERE model != '<synthetic>'").fetchone()[0]
        carried = conn.execute("SELECT SUM(carried_tokens) FROM attribution").fetchone()[0]
        dirty = conn.execute("SELECT COUNT(*) FROM dirty_sessions").fetchone()[0]
        assert carried == context or dirty, "new calls neither attributed nor left dirty"
    finally:
        conn.close()


# ------------------------------------------------------------------------ long lines

PROBE = """
import json, os, resource, sys, time
sys.path.insert(0, {repo!r})
from ccledger.ledger import db, ingest
conn = db.connect()
started = time.perf_counter()
summary = ingest.ingest(conn, [{root!r}], workers=1)
print(json.dumps({{"seconds": time.perf_counter() - started, "skipped": summary.skipped, "calls": summary.api_calls,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "offset": conn.execute("SELECT offset FROM files").fetchone()[0]}}))
"""

MB = 1 << 20


def write_session(root: Path, line_mb: int) -> int:
    """A session whose middle line is a tool result of `line_mb` MB between two assistant lines; its size."""
    folder = root / "projects" / "p"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.jsonl"

    def assistant(n: int) -> bytes:
        return json.dumps({"type": "assistant", "timestamp": f"2026-11-30T10:00:0{n}.000Z", "sessionId": "s",
                           "requestId": f"req_{n}", "message": {
                               "id": f"msg_{n}", "model": "claude-sonnet-4-5-20250929",
                               "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}]
                               if n == 1 else [{"type": "text", "text": "ok"}],
                               "usage": {"input_tokens": 10 * n, "output_tokens": n, "cache_read_input_tokens": 0,
                                         "cache_creation_input_tokens": 0}}}).encode() + b"\n"
    with open(path, "wb") as out:
        out.write(assistant(1))
        out.write(b'{"type":"user","timestamp":"2026-11-30T10:00:02.000Z","sessionId":"s","message":{"role":"user",'
                  b'"content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"')
        block = b"QUJD" * (MB // 4)  # base64-looking, like an image or a PDF
        for _ in range(line_mb):
            out.write(block)
        out.write(b'"}]}}\n')
        out.write(assistant(3))
    return path.stat().st_size


def ingest_in_fresh_process(tmp: Path, line_mb: int, runs: int = 1) -> dict:
    """Ingest a session with one `line_mb` MB line in a fresh process (into a fresh ledger) `runs` times:
    the fastest run's time, and its skips and peak RSS."""
    root = tmp / f"claude-{line_mb}"
    size = write_session(root, line_mb)
    found = []
    for run in range(runs):
        code = PROBE.format(repo=str(REPO), root=str(root))
        done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, CCLEDGER_HOME=str(tmp / f"home-{line_mb}-{run}")))
        assert done.returncode == 0, done.stderr
        found.append(json.loads(done.stdout))
        assert found[-1]["offset"] == size and found[-1]["calls"] == 2  # both assistant lines, around it
    (root / "projects" / "p" / "s.jsonl").unlink()
    return min(found, key=lambda r: r["seconds"])


@pytest.mark.faults
def test_a_200_mb_line_costs_time_and_memory_linear_in_its_size(isolated):
    from ccledger.ledger import ingest
    base = ingest_in_fresh_process(isolated, 0)
    small = ingest_in_fresh_process(isolated, 25, runs=3)
    parsed = ingest_in_fresh_process(isolated, 60, runs=2)
    huge = ingest_in_fresh_process(isolated, 200, runs=2)
    assert small["skipped"] == parsed["skipped"] == {}  # under MAX_LINE: parsed
    assert huge["skipped"] == {"too_long": 1}
    # Linear: 8x the bytes may cost 8x the time, twice that for a noisy machine (before: 130 s against
    # 0.78 s, 166x); 2.4x the bytes parsed, 2.4x the time, four times that.
    assert huge["seconds"] < 16 * small["seconds"], (small, huge)
    assert parsed["seconds"] < 4 * 2.4 * small["seconds"], (small, parsed)
    # Memory: a parsed line is held about 3 times (bytes, text, value); one over MAX_LINE never whole.
    assert small["rss"] - base["rss"] < 4 * 25 * MB, (base, small)
    assert parsed["rss"] - base["rss"] < 4 * 60 * MB, (base, parsed)
    assert huge["rss"] - base["rss"] < 1.5 * ingest.MAX_LINE, (base, huge)


def test_a_long_line_over_many_ranges_belongs_to_the_one_it_starts_in(isolated):
    """Ranges inside a long line look for a newline within themselves only (not on to the line's end, which
    made a long line cost its length times its ranges): a 4 MB line over 64 KB ranges is read by the range
    it starts in, once, and the ranges still partition the file exactly."""
    from ccledger.ledger import ingest
    from ccledger.ledger.transcript import FileInfo
    root = isolated / "claude"
    size = write_session(root, 4)
    path = str(root / "projects" / "p" / "s.jsonl")
    task = ingest.Task(path, FileInfo(1, "p", "s", ""), 0, 0, False, size, 0, 0)
    ranges = [ingest.read_range(path, a, b, 0) for _, _, a, b, _, _ in ingest._jobs(task, 64 << 10, None)]
    starts = [start for _, start, _ in ranges if start >= 0]
    assert len(ranges) > 60 and len(starts) == 2  # the first range holds lines 1-2, the one holding line 3's start
    data, start, long_end = ranges[0]
    assert long_end == 0 and len(data) > 4 * MB  # under MAX_LINE: the whole line, once
    lines = b"".join(data for data, start, _ in ranges if start >= 0)
    assert lines == Path(path).read_bytes()
