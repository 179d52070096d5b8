"""Hostile inputs, issue 9 items 2 and 7: a poisoned transcript line is one counted skip and the rest is
exact; a ledger an older version filled with absurd values still answers every report; a hostile hook or
status line payload exits 0 in time, prints nothing but hook JSON and writes nothing outside the data folder.

The whole matrix (every registered hook event x every hostile payload) is marked `faults`; the fast tests
run a representative slice of it on every run. Each campaign prints its tried / survived / lost figures.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, cli, cli_process, ledger_rows
from hot_helpers import error_lines, run_entry

from ccledger.hooks.spec import EVENTS
from ccledger.ledger.transcript import MAX_TOKENS

SESSION = "11111111-2222-3333-4444-555555555555"
ZONES = ("UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Etc/GMT+12")
REPORTS = ("daily", "weekly", "monthly", "blocks", "session", "tools", "projects", "models", "agents", "mcp")
USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000}


def assistant(n: int, ts: str | None = None, **usage) -> bytes:
    ts = ts or f"2026-03-01T10:{n // 60:02d}:{n % 60:02d}.000Z"
    line = {"type": "assistant", "sessionId": SESSION, "timestamp": ts,
            "requestId": f"req_{n}", "message": {"id": f"msg_{n}", "model": "claude-sonnet-4-5-20250929",
                                                 "content": [{"type": "text", "text": "hi"}],
                                                 "usage": {**USAGE, **usage}}}
    return json.dumps(line).encode()


def raw_usage(n: int, text: str) -> bytes:
    """An assistant line whose usage object is written verbatim (numbers json.dumps cannot spell)."""
    head = assistant(n)
    cut = head.index(b'"usage": ') + len(b'"usage": ')
    return head[:cut] + text.encode() + b"}}"


# name -> (the poisoned line, the reason it is counted under)
POISON = {
    "int 10**30": (assistant(101, input_tokens=10**30), "out_of_range"),
    "float 1e30": (assistant(102, output_tokens=1e30), "out_of_range"),
    "int 2**63": (assistant(103, cache_read_input_tokens=2**63), "out_of_range"),
    "int 2**63-1": (assistant(104, cache_creation_input_tokens=2**63 - 1), "out_of_range"),
    "just over the bound": (assistant(105, input_tokens=MAX_TOKENS + 1), "out_of_range"),
    "1e400 (infinity)": (raw_usage(106, '{"input_tokens": 1e400, "output_tokens": 1}'), "out_of_range"),
    "Infinity literal": (raw_usage(107, '{"input_tokens": Infinity, "output_tokens": 1}'), "out_of_range"),
    "NaN literal": (raw_usage(108, '{"input_tokens": NaN, "output_tokens": 1}'), "bad_usage"),
    "huge 5m split": (raw_usage(109, '{"input_tokens": 1, "cache_creation_input_tokens": 5, "cache_creation":'
                                     ' {"ephemeral_5m_input_tokens": 100000000000000000000000000}}'), "out_of_range"),
    "huge web searches": (raw_usage(110, '{"input_tokens": 1, "server_tool_use": {"web_search_requests":'
                                         ' 9223372036854775808}}'), "out_of_range"),
    "negative count": (assistant(111, input_tokens=-3), "bad_usage"),
    "string count": (assistant(112, output_tokens="12"), "bad_usage"),
    "fractional float": (assistant(113, output_tokens=2.5), "bad_usage"),
    "year 9999": (assistant(114, ts="9999-12-31T23:59:59.999Z"), "out_of_range"),
    "year 1": (assistant(115, ts="0001-01-01T00:00:00.000Z"), "out_of_range"),
    "year 1 ahead of UTC": (assistant(116, ts="0001-01-01T00:00:00+14:00"), "out_of_range"),
    "year 9999 behind UTC": (assistant(117, ts="9999-12-31T23:00:00-12:00"), "out_of_range"),
    "year 1999": (assistant(118, ts="1999-12-31T23:59:59.000Z"), "out_of_range"),
    "100,000-deep nesting": (b'{"type":"assistant","message":{"content":' + b"[" * 100_000 + b"]" * 100_000
                             + b"}}", "invalid_json"),
    "100,000-deep object": (b'{"type":"user","x":' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}",
                            "invalid_json"),
    "invalid UTF-8 line": (b"\xff\xfe\x80 " + assistant(119)[:40], "not_json"),
    "invalid UTF-8 in the structure": (assistant(120).replace(b'"usage"', b'"us\xffage"'), "assistant_without_usage"),
    "NUL bytes": (b"\x00" * 4096, "not_json"),
    "NUL inside a line": (assistant(121).replace(b'"hi"', b'"h\x00i"'), "invalid_json"),
}


def write(claude_dir: Path, lines: list[bytes]) -> Path:
    path = claude_dir / "projects" / "-home-dev-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def valid(count: int = 6) -> list[bytes]:
    return [assistant(n) for n in range(1, count + 1)]


def expected_totals(lines: int) -> dict:
    return {"requests": lines, "input_tokens": 10 * lines, "output_tokens": 5 * lines,
            "cache_creation_tokens": 100 * lines, "cache_read_tokens": 1000 * lines, "total_tokens": 1115 * lines}


def totals_of(body: dict) -> dict:
    return {k: body["totals"][k] for k in expected_totals(0)}


def reports_answer(zones=ZONES, reports=REPORTS) -> list[str]:
    """Every report in every zone, as JSON and as a table: the ones that failed."""
    failed = []
    for zone in zones:
        for kind in reports:
            for extra in (("--json",), ()):
                result = cli("report", kind, "--timezone", zone, *extra)
                if result.code != 0 or (extra and "rows" not in result.json()):
                    failed.append(f"{kind} {zone} {extra}: {result.code} {result.err.strip()[:200]}")
    return failed


@pytest.mark.parametrize("name", POISON)
def test_a_poisoned_line_is_one_counted_skip_and_the_rest_exact(claude_dir, name):
    line, reason = POISON[name]
    good = valid()
    write(claude_dir, good[:3] + [line] + good[3:])
    ingest = cli("ingest", "--quiet")
    assert ingest.code == 0, ingest.err
    body = cli("report", "daily", "--json").json()
    assert body["skipped"] == {reason: 1}
    assert totals_of(body) == expected_totals(len(good))


def test_values_at_the_bound_are_kept_and_sums_stay_exact(claude_dir):
    """MAX_TOKENS per field is allowed; many such requests sum exactly, in the ledger and in every report."""
    count = 50
    lines = [assistant(n, input_tokens=MAX_TOKENS, output_tokens=MAX_TOKENS, cache_creation_input_tokens=MAX_TOKENS,
                       cache_read_input_tokens=MAX_TOKENS) for n in range(count)]
    write(claude_dir, lines)
    assert cli("ingest", "--quiet").code == 0
    body = cli("report", "monthly", "--json").json()
    assert body["skipped"] == {}
    assert body["totals"]["total_tokens"] == 4 * MAX_TOKENS * count
    assert body["totals"]["input_tokens"] == MAX_TOKENS * count


def test_invalid_utf8_inside_a_string_keeps_the_line(claude_dir):
    """Bytes that are not UTF-8 inside the text (never stored) do not make the usage beside them invalid."""
    write(claude_dir, valid(2) + [assistant(3).replace(b'"hi"', b'"h\xff\xfe\xc3i"')])
    assert cli("ingest", "--quiet").code == 0
    body = cli("report", "daily", "--json").json()
    assert body["skipped"] == {} and totals_of(body) == expected_totals(3)


def test_every_poison_at_once_then_every_report_in_every_zone(claude_dir):
    good = valid(len(POISON))
    lines = [x for pair in zip(good, (p[0] for p in POISON.values())) for x in pair]
    path = write(claude_dir, lines)
    assert cli("ingest", "--quiet").code == 0
    body = cli("report", "daily", "--json").json()
    wanted: dict[str, int] = {}
    for _, reason in POISON.values():
        wanted[reason] = wanted.get(reason, 0) + 1
    assert body["skipped"] == wanted
    assert totals_of(body) == expected_totals(len(good))
    assert reports_answer() == []
    # the file keeps growing after the poison: a later ingest (the next Stop hook, say) reads on
    with path.open("ab") as handle:
        handle.write(assistant(999) + b"\n")
    assert cli("ingest", "--quiet").code == 0
    assert totals_of(cli("report", "daily", "--json").json()) == expected_totals(len(good) + 1)


def test_a_stop_hook_on_a_poisoned_transcript_records_the_rest(claude_dir):
    good = valid()
    path = write(claude_dir, good[:2] + [POISON["int 2**63"][0], POISON["year 9999"][0]] + good[2:])
    result = run_entry("hook", {"hook_event_name": "Stop", "session_id": SESSION, "transcript_path": str(path)})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens) FROM api_calls") == [(len(good), 1115 * len(good))]
    assert ledger_rows("SELECT reason, count FROM skipped") == [("out_of_range", 2)]


# ------------------------------------------------------------------ what an older version may have stored

def poison_ledger() -> int:
    """Rows an older ccledger could store (it checked no range): huge and negative counts, sums past 2**63,
    times in year 1 and 9999 and beyond the calendar. Returns how many rows were added."""
    from ccledger.base import paths
    conn = sqlite3.connect(paths.ledger_path())
    columns = [r[1] for r in conn.execute("PRAGMA table_info(api_calls)")]
    template = dict(zip(columns, conn.execute("SELECT * FROM api_calls LIMIT 1").fetchone()))
    cases = [(2**62, None), (2**62, None), (2**63 - 1, None), (-5, None), (10, 253402300799999),
             (10, -62135596800000), (10, 2**62), (10, -2**62), (2**63 - 1, 2**63 - 1)]
    for i, (tokens, ts) in enumerate(cases):
        row = dict(template, message_id=f"old_{i}", input_tokens=tokens, cache_read_tokens=tokens,
                   total_tokens=tokens, web_searches=tokens)
        if ts is not None:
            row["ts_ms"] = ts
        conn.execute(f"INSERT INTO api_calls ({','.join(row)}) VALUES ({','.join('?' * len(row))})",
                     list(row.values()))
        conn.execute("INSERT OR IGNORE INTO dirty_quarters VALUES (?)", (row["ts_ms"] // 900_000,))
    conn.execute("INSERT INTO tool_calls (tool_use_id, session_id, tool_name, started_ms, ended_ms, duration_ms)"
                 " VALUES ('toolu_old', ?, 'Bash', ?, ?, ?)", (SESSION, -2**63, 2**63 - 1, 2**63 - 1))
    conn.execute("INSERT INTO limit_events VALUES (?, ?, ?)", (SESSION, 2**62, 2**63 - 1))
    conn.execute("INSERT OR IGNORE INTO dirty_sessions VALUES (?)", (SESSION,))
    conn.commit()
    conn.close()
    return len(cases)


def test_reports_answer_whatever_an_older_ledger_holds(claude_dir, monkeypatch):
    write(claude_dir, valid())
    assert cli("ingest", "--quiet").code == 0
    poison_ledger()
    failed = reports_answer()
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):  # the machine's own zone ('local'), ahead and behind
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        failed += reports_answer(("local",), ("daily", "weekly", "monthly", "blocks", "session"))
    assert failed == []
    for since, until in (("0001-01-01", "9999-12-31"), ("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01")):
        result = cli("report", "daily", "--json", "--since", since, "--until", until, "--timezone", ZONES[3])
        assert result.code == 0, result.err
    budget = cli("budget", "status", "--json")
    assert budget.code in (0, 1) and "Traceback" not in budget.err and "unexpected" not in budget.err


def test_the_status_line_answers_over_an_older_ledger(claude_dir):
    path = write(claude_dir, valid())
    assert cli("ingest", "--quiet").code == 0
    poison_ledger()
    result = run_entry("statusline", {"session_id": SESSION, "transcript_path": str(path),
                                      "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"}})
    assert result.returncode == 0 and result.stderr == b""
    assert b"\n" not in result.stdout.strip() and b"ccledger" not in result.stdout, result.stdout
    assert error_lines() == []


def test_a_spool_an_older_hook_poisoned_still_drains(isolated):
    """Older hooks spooled duration_ms and status readings unchecked: 10**30 made every drain fail."""
    spool = Path(os.environ["CCLEDGER_HOME"]) / "spool"
    spool.mkdir(parents=True)
    huge = 10**30
    lines = [{"id": "1-1-1", "t": 1772359200000, "e": "post", "s": SESSION, "tu": "toolu_huge", "n": "Bash",
              "d": {"in": huge, "out": 2, "ms": huge}},
             {"id": "1-1-2", "t": 1772359200000, "e": "reading", "s": SESSION,
              "d": [SESSION, 1772359200000, None, None, None, 5.0, huge, None, None, None, None, None, None, huge,
                    None]},
             {"id": "1-1-3", "t": 1772359201000, "e": "post", "s": SESSION, "tu": "toolu_fine", "n": "Bash",
              "d": {"in": 1, "out": 2, "ms": 30}}]
    (spool / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert cli("ingest", "--quiet").code == 0
    assert ledger_rows("SELECT tool_use_id, input_bytes, result_bytes, duration_ms FROM tool_calls ORDER BY 1") == [
        ("toolu_fine", 1, 2, 30), ("toolu_huge", None, 2, None)]
    assert ledger_rows("SELECT COUNT(*) FROM hook_events")[0][0] == 2
    assert ledger_rows("SELECT COUNT(*) FROM readings")[0][0] == 0  # a reading SQLite cannot hold is dropped
    assert list(spool.iterdir()) == []


# ------------------------------------------------------------------ hostile hook and status line payloads

PLUGIN_HOOK = REPO / "plugin" / "scripts" / "ccledger_hook.py"
STATUSLINE = REPO / "statusline" / "ccledger_statusline.py"


@pytest.mark.parametrize("session", ["../../x", "..", ".", "", "/etc/passwd", "a/../../b", "\x00", "\ud800",
                                     "\u00e9" * 300, "a" * 5000, "x" * 129])
def test_session_state_names_stay_in_their_folder(isolated, session):
    from ccledger.base import paths
    path = paths.session_state("gate", session, ".json")
    assert os.path.dirname(path) == os.path.join(paths.state_dir(), "gate")
    name = os.path.basename(path)
    assert os.path.normpath(path) == path and name not in (".", "..")
    assert len(name.encode()) <= 255 and "/" not in name and "\x00" not in name


def hostile_targets(root: Path) -> dict[str, str]:
    """transcript_path values: a FIFO and a folder where a transcript would be, a missing file, a system file
    (also reached through a `projects/..` detour), and a real transcript."""
    projects = root / "home" / ".claude" / "projects" / "-proj"
    projects.mkdir(parents=True, exist_ok=True)
    fifo = projects / "fifo-session.jsonl"
    if not fifo.exists():
        os.mkfifo(fifo)
    folder = projects / "folder-session.jsonl"
    folder.mkdir(exist_ok=True)
    (folder / "subagents").mkdir(exist_ok=True)
    sub_fifo = projects / "fifo-session" / "subagents"
    sub_fifo.mkdir(parents=True, exist_ok=True)
    if not (sub_fifo / "agent-a1.jsonl").exists():
        os.mkfifo(sub_fifo / "agent-a1.jsonl")
        os.mkfifo(sub_fifo / "agent-a1.meta.json")
    real = projects / f"{SESSION}.jsonl"
    real.write_bytes(b"".join(line + b"\n" for line in valid(3)))
    return {"fifo": str(fifo), "folder": str(folder), "missing": str(projects / "missing.jsonl"),
            "/etc/passwd": "/etc/passwd", "projects detour": str(projects) + "/.." * 30 + "/etc/passwd",
            "/dev/zero": "/dev/zero", "real": str(real)}


def hostile_payloads(event: str, targets: dict[str, str]) -> dict[str, bytes]:
    base = {"hook_event_name": event, "session_id": SESSION, "transcript_path": targets["real"], "cwd": "/tmp",
            "tool_name": "Bash", "tool_use_id": "toolu_hostile", "tool_input": {"command": "ls"},
            "tool_response": {"stdout": ""}, "prompt": "hi", "source": "startup", "reason": "exit"}
    out = {}
    for name, target in targets.items():
        if name != "real":
            out[f"transcript_path {name}"] = json.dumps({**base, "transcript_path": target,
                                                         "agent_transcript_path": target}).encode()
    for session in ("../../x", "/etc/passwd", "..", "", "a" * 5000, "x/../../../../escape", "\u00e9\u0000nul"):
        out[f"session_id {session[:20]!r}"] = json.dumps({**base, "session_id": session}).encode()
    out["10 MB tool response"] = json.dumps({**base, "tool_response": {"stdout": "y" * (10 << 20)},
                                             "prompt": "p" * (10 << 20)}).encode()
    out["10 MB of garbage"] = os.urandom(1 << 20) * 10
    out["non-UTF-8 JSON"] = json.dumps(base).encode().replace(b'"ls"', b'"l\xff\xfes"')
    out["non-UTF-8 session_id"] = json.dumps(base).encode().replace(SESSION.encode(), b"\xff\xfe../x")
    out["100,000-deep tool_input"] = json.dumps(base).encode().replace(
        b'{"command": "ls"}', b"[" * 100_000 + b"]" * 100_000)
    out["900-deep tool_input"] = json.dumps(base).encode().replace(b'{"command": "ls"}', b"[" * 900 + b"]" * 900)
    out["duration 1e400"] = json.dumps({**base, "duration_ms": 10**30}).encode().replace(
        b"1000000000000000000000000000000", b"1e400")
    for duration in (10**30, 2**63, -(2**63) - 1, -5):  # spooled, it must not stop the drains after it
        out[f"duration {duration}"] = json.dumps({**base, "duration_ms": duration}).encode()
    out["tool_use_id a number"] = json.dumps({**base, "tool_use_id": 10**30, "agent_id": [1], "prompt_id": {}}).encode()
    return out


def snapshot(root: Path, skip: Path) -> dict[str, tuple]:
    """Every path under root except the data folder: kind, size and mtime."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            seen[path] = (st.st_mode, st.st_mtime_ns, 0 if name in dirs else st.st_size)
    return seen


class Campaign:
    """Runs entries as Claude Code would and keeps the tally."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = Path(os.environ["CCLEDGER_HOME"])
        self.cwd = root / "cwd"
        self.cwd.mkdir(exist_ok=True)
        self.tried = self.survived = 0
        self.lost: list[str] = []

    def log_size(self) -> int:
        try:
            return (self.home / "logs" / "errors.log").stat().st_size
        except OSError:
            return 0

    def run(self, label: str, script: Path, args: list[str], stdin: bytes, timeout: float, statusline: bool) -> None:
        self.tried += 1
        before = snapshot(self.root, self.home)
        logged = self.log_size()
        started = time.monotonic()
        try:
            result = subprocess.run([sys.executable, "-S", str(script), *args], input=stdin, capture_output=True,
                                    timeout=timeout, cwd=self.cwd)
        except subprocess.TimeoutExpired:
            self.lost.append(f"{label}: still running after {timeout} s")
            return
        problems = []
        if result.returncode != 0:
            problems.append(f"exit {result.returncode}")
        if result.stderr:
            problems.append(f"stderr {result.stderr[:200]!r}")
        out = result.stdout.decode("utf-8", "replace").strip()
        if statusline:
            if not out or "\n" in out or "Traceback" in out:
                problems.append(f"status line {out[:200]!r}")
        elif out:
            try:
                if type(json.loads(out)) is not dict:
                    raise ValueError
            except ValueError:
                problems.append(f"stdout is not hook JSON: {out[:200]!r}")
        after = snapshot(self.root, self.home)
        changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        if changed:
            problems.append(f"wrote outside the data folder: {changed[:5]}")
        if self.log_size() > logged:  # an expected fault is one plain line; a traceback is an unforeseen one
            with (self.home / "logs" / "errors.log").open("rb") as log:
                log.seek(logged)
                new = log.read().decode("utf-8", "replace")
            if "    Traceback" in new:
                problems.append(f"failed inside: {new.splitlines()[0][:200]}")
        if problems:
            self.lost.append(f"{label} ({time.monotonic() - started:.1f} s): {'; '.join(problems)}")
        else:
            self.survived += 1

    def report(self, name: str) -> None:
        print(f"\n{name}: tried {self.tried}, survived {self.survived}, lost {len(self.lost)}")
        assert self.lost == [], "\n".join(self.lost)


def hook_campaign(root: Path, events: list[str]) -> Campaign:
    targets = hostile_targets(root)
    campaign = Campaign(root)
    for event in events:
        timeout = EVENTS[event][1]
        for name, stdin in hostile_payloads(event, targets).items():
            campaign.run(f"{event} / {name}", PLUGIN_HOOK, [], stdin, timeout, statusline=False)
    return campaign


def status_payloads(targets: dict[str, str]) -> dict[str, bytes]:
    base = {"session_id": SESSION, "transcript_path": targets["real"], "cwd": "/tmp",
            "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"},
            "context_window": {"context_window_size": 200000, "used_percentage": 12,
                               "current_usage": {"input_tokens": 10, "cache_read_input_tokens": 1000}},
            "rate_limits": {"five_hour": {"used_percentage": 40, "resets_at": 1790000000}},
            "cost": {"total_cost_usd": 0.5, "total_duration_ms": 1000}}
    out = {f"transcript_path {name}": json.dumps({**base, "transcript_path": t}).encode()
           for name, t in targets.items() if name != "real"}
    for session in ("../../x", "..", "a" * 5000, "x/../../../../escape"):
        out[f"session_id {session[:20]!r}"] = json.dumps({**base, "session_id": session}).encode()
    out["10 MB"] = json.dumps({**base, "padding": "z" * (10 << 20)}).encode()
    out["10 MB of garbage"] = os.urandom(1 << 20) * 10
    out["non-UTF-8"] = json.dumps(base).encode().replace(b"Sonnet", b"So\xff\xfenet")
    out["100,000-deep"] = json.dumps(base).encode()[:-1] + b', "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    huge = json.dumps(base).encode()
    for key in (b"200000", b"12", b"1000", b"40", b"1790000000", b"0.5"):
        huge = huge.replace(b": " + key, b": 1e400", 1)
    out["numbers out of range"] = huge
    out["integers out of range"] = json.dumps(base).encode().replace(b"200000", str(10**30).encode()).replace(
        b"1790000000", str(2**64).encode()).replace(b'"input_tokens": 10', b'"input_tokens": ' + str(2**63).encode())
    return out


def status_campaign(root: Path) -> Campaign:
    campaign = Campaign(root)
    for name, stdin in status_payloads(hostile_targets(root)).items():
        campaign.run(f"status line / {name}", STATUSLINE, [], stdin, 10, statusline=True)
    return campaign


def nothing_lost() -> None:
    """After the campaign a plain ingest finishes in time (FIFOs and folders named *.jsonl included), the
    ledger holds the real transcript exactly, and an ordinary event sent last is drained (the spool was not
    stopped by anything the campaign spooled)."""
    last = {"hook_event_name": "PostToolUse", "session_id": SESSION, "tool_name": "Bash", "tool_use_id": "toolu_last",
            "tool_input": {}, "tool_response": {}, "duration_ms": 7}
    assert run_entry("hook", last).returncode == 0
    result = cli_process("ingest", "--quiet", timeout=60)
    assert result.returncode == 0, result.stderr
    assert ledger_rows("SELECT COUNT(*), SUM(total_tokens) FROM api_calls WHERE session_id=?", SESSION) == [(3, 3345)]
    assert ledger_rows("SELECT duration_ms FROM tool_calls WHERE tool_use_id='toolu_last'") == [(7,)]
    assert not list(Path(os.environ["CCLEDGER_HOME"], "spool").glob("*.draining"))
    read = [path for (path,) in ledger_rows("SELECT path FROM files")]
    assert read == [os.path.normpath(p) for p in read] and all("/.claude/projects/" in p for p in read), read


def test_hostile_hook_payloads_on_the_gating_and_catch_up_events(isolated):
    hook_campaign(isolated, ["PreToolUse", "Stop", "SessionEnd"]).report("hook payloads (3 events)")
    nothing_lost()
    assert ledger_rows("SELECT COUNT(*) FROM hook_events WHERE session_id=?", SESSION)[0][0] > 0


def test_hostile_status_line_payloads(isolated):
    status_campaign(isolated).report("status line payloads")
    nothing_lost()


@pytest.mark.faults
def test_hostile_hook_payloads_on_every_registered_event(isolated):
    registered = json.loads((REPO / "plugin" / "hooks" / "hooks.json").read_text())["hooks"]
    assert sorted(registered) == sorted(EVENTS)
    hook_campaign(isolated, sorted(registered)).report(f"hook payloads ({len(registered)} events)")
    nothing_lost()
