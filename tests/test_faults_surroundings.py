"""Broken surroundings (issue 9, item 6), made for real: a read-only ledger file or data folder, a full
disk (a small tmpfs), a file-size limit, garbage bytes, a text file, a truncated file or another
program's database at the ledger's path, a newer schema, a lock held past the wait.

In each state: `report daily --json` answers from what the ledger holds (saying in one stderr line that
new data could not be read in) or fails with its named code and one line; `ingest` names the cause with
its code; `doctor` runs and names cause and fix; a Stop hook and a status line render exit 0 and print
nothing unintended; nothing recorded is lost (row counts before == after), and the fix works.

Read-only: as root, permission bits stop nothing, so a read-only bind mount is used (the permission
bits otherwise). A full disk needs `mount -t tmpfs` (root); the file-size limit (RLIMIT_FSIZE) runs
everywhere.
"""
from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli, cli_process, generate
from hot_helpers import error_lines, run_entry

from ccledger.base import errors
from ccledger.base import paths
from ccledger.ledger import schema

BEFORE = ("-experiments-worktrees", "-Users-dev-git-ai")  # in the ledger before the fault
NEW = "-tmp-tmpqwh7888i"  # written while the fault holds: the data that cannot be read in
STEADY_REPORTS = ("daily", "weekly", "monthly", "session", "models", "projects", "tools", "mcp", "agents")
TABLES = ("api_calls", "tool_calls", "context_items", "hook_events", "readings", "files", "skipped")
STATUS_SAMPLE = Path(__file__).resolve().parents[1] / "ccledger" / "samples" / "statusline" / \
    "statusline.v2.1.332.api-key-user.json"


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def read_only(path: Path):
    """`path` (a file or a folder) made read-only for real: a read-only bind mount as root, whom permission
    bits do not stop; the permission bits for anyone else."""
    if os.geteuid() == 0:
        if not _mount("--bind", str(path), str(path)):
            pytest.skip("as root only a read-only bind mount makes a file read-only, and mount is refused here")
        undo = lambda: _umount(path)  # noqa: E731
        _mount("-o", "remount,bind,ro", str(path))
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        undo = lambda: path.chmod(mode)  # noqa: E731
    try:
        if os.access(path, os.W_OK):
            pytest.skip(f"{path} stays writable here (no read-only mount, no permission bits that hold)")
        yield
    finally:
        undo()


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)):
        pytest.skip("a full disk needs a small tmpfs (`mount -t tmpfs`, root); test_file_size_limit covers "
                    "running out of room without it")
    try:
        yield path
    finally:
        _umount(path)


def fill(folder: Path) -> Path:
    """Write zeros until the disk holding `folder` is full."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    with contextlib.suppress(OSError):
        with open(filler, "ab") as handle:  # the last partial block
            while True:
                handle.write(b"\0" * 512)
                handle.flush()
    return filler


HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextlib.contextmanager
def held(ledger: Path):
    """Another process holding an exclusive transaction on the ledger."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(ledger)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.stdin.close()
        holder.wait(30)


def counts(ledger: Path) -> dict:
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def tokens(ledger: Path) -> int:
    conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT SUM(total_tokens) FROM api_calls").fetchone()[0]
    finally:
        conn.close()


def make_world(shared: Path, claude_dir: Path, tmp_path: Path) -> dict:
    """A ledger filled from part of the corpus (its rollups left dirty, so a read-only report must
    recompute them), then a new transcript written; returns the facts to compare with."""
    corpus = shared / "corpus" / "projects"
    for name in BEFORE:
        shutil.copytree(corpus / name, claude_dir / "projects" / name)
    assert cli("ingest", "-q").code == 0
    ledger = Path(paths.ledger_path())
    held_tokens = tokens(ledger)
    conn = sqlite3.connect(ledger)
    for queue in ("dirty_quarters", "dirty_sessions"):  # a report has rollups and attribution to refresh
        assert conn.execute(f"SELECT COUNT(*) FROM {queue}").fetchone()[0] > 0
    conn.close()
    shutil.copytree(corpus / NEW, claude_dir / "projects" / NEW)
    ref = cli_process("ingest", "-q", env={"CCLEDGER_HOME": str(tmp_path / "reference")})
    assert ref.returncode == 0, ref.stderr
    transcript = claude_dir / "projects" / NEW / "transcript.jsonl"
    return {"ledger": ledger, "counts": counts(ledger), "held_tokens": held_tokens, "transcript": transcript,
            "all_tokens": tokens(tmp_path / "reference" / "ledger.db")}


@pytest.fixture
def world(shared, claude_dir, tmp_path) -> dict:
    return make_world(shared, claude_dir, tmp_path)


def stop_hook(transcript: Path) -> subprocess.CompletedProcess:
    return run_entry("hook", {"hook_event_name": "Stop", "session_id": "c7d3d95c-57f0-4359-8f4b-926a9bef5a3f",
                              "transcript_path": str(transcript), "cwd": "/tmp/tmpqwh7888i"})


def status_render(transcript: Path) -> subprocess.CompletedProcess:
    payload = json.loads(STATUS_SAMPLE.read_text())
    payload.update(session_id="c7d3d95c-57f0-4359-8f4b-926a9bef5a3f", transcript_path=str(transcript))
    return run_entry("statusline", payload)


def one_line(stderr: str) -> str:
    """The single named line a command printed: no traceback, no 'unexpected error'."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccledger: ") and "unexpected" not in lines[0], stderr
    return lines[0]


def hooks_stay_silent(transcript: Path, logged: bool = True) -> None:
    errors_before = len(error_lines())
    stop, status = stop_hook(transcript), status_render(transcript)
    assert stop.returncode == 0 and stop.stdout == b"" and stop.stderr == b"", stop
    assert status.returncode == 0 and status.stderr == b"", status
    line = status.stdout.decode()
    assert line.strip() and "error" not in line.lower() and line.count("\n") == 1, line
    if logged:  # where the log folder can be written
        assert len(error_lines()) > errors_before


def reports_what_it_holds(world: dict, why: str) -> None:
    report = cli("report", "daily", "--json")
    assert report.code == 0, report.err
    assert report.json()["totals"]["total_tokens"] == world["held_tokens"]
    note = one_line(report.err)
    assert "new data could not be read in" in note and why in note, note


def doctor_names(cause: str, fix: str, check: str) -> None:
    result = cli("doctor")
    assert result.code == 1 and "Traceback" not in result.err and result.err == "", result.err
    lines = result.out.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"PROBLEM     {check}: ")]
    assert cause in lines[at] and lines[at + 1].strip().startswith("fix: ") and fix in lines[at + 1], lines[at:]


def catches_up_exactly(world: dict, spooled: bool) -> None:
    """Nothing recorded was lost, and one ingest brings the rest: the new transcript and, where the spool
    could be written (`spooled`), the Stop hook's event."""
    before = world["counts"]
    assert counts(world["ledger"]) == before
    result = cli("ingest", "-q")
    assert result.code == 0, result.err
    assert tokens(world["ledger"]) == world["all_tokens"]
    after = counts(world["ledger"])
    assert all(after[t] >= before[t] for t in TABLES)
    assert (after["hook_events"] > before["hook_events"]) == spooled


def answers(kinds: tuple, *extra: str) -> dict:
    """Each report's --json body (its generation time aside)."""
    out = {}
    for kind in kinds:
        result = cli("report", kind, "--json", *extra)
        assert result.code == 0, (kind, result.err)
        out[kind] = {k: v for k, v in result.json().items() if k != "generated_at"}
    return out


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_ledger_is_read_as_it_is(world, what):
    ledger = world["ledger"]
    target = ledger if what == "file" else ledger.parent
    with read_only(target):
        reports_what_it_holds(world, "cannot be written")
        for kind in ("blocks", "windows"):  # answer too (their numbers move with the clock)
            assert cli("report", kind, "--json").code == 0
        held = answers(STEADY_REPORTS)  # rollups and attribution recomputed in TEMP copies
        assert held["tools"]["rows"] and held["daily"]["rows"]
        ingest = cli("ingest")
        assert ingest.code == errors.READ_ONLY and "cannot be written" in one_line(ingest.err)
        doctor_names("cannot be written", "CCLEDGER_HOME", "recording")
        hooks_stay_silent(world["transcript"], logged=what == "file")
        assert counts(ledger) == world["counts"]
    assert answers(STEADY_REPORTS, "--no-ingest") == held  # what the writable ledger answers, refreshed in place
    catches_up_exactly(world, spooled=what == "file")


def test_a_full_disk_is_named_and_what_was_recorded_is_kept(shared, claude_dir, tmp_path):
    with tmpfs(Path(paths.data_dir()), "2m") as home:
        world = make_world(shared, claude_dir, tmp_path)
        filler = fill(home)
        reports_what_it_holds(world, f"the disk holding {home} is full")
        ingest = cli("ingest")
        assert ingest.code == errors.DISK_FULL and f"the disk holding {home} is full" in one_line(ingest.err)
        doctor_names("is full", "free some space", "recording")
        hooks_stay_silent(world["transcript"], logged=False)
        filler.unlink()
        catches_up_exactly(world, spooled=False)



def big_history(shared: Path, claude_dir: Path, tmp_path: Path) -> None:
    """~25 MB of generated transcripts (about 3 MB of ledger) added to the Claude folder."""
    gen = tmp_path / "gen"
    generate(shared, gen, "large", "--sessions", "4", "--lines", "2500", "--projects", "1", "--days", "2")
    shutil.copytree(gen / "projects", claude_dir / "projects", dirs_exist_ok=True)


def filled_before(shared: Path, claude_dir: Path) -> tuple[Path, dict]:
    for name in BEFORE:
        shutil.copytree(shared / "corpus" / "projects" / name, claude_dir / "projects" / name)
    assert cli("ingest", "-q").code == 0
    ledger = Path(paths.ledger_path())
    return ledger, counts(ledger)


def reference_tokens(tmp_path: Path) -> int:
    ref = cli_process("ingest", "-q", env={"CCLEDGER_HOME": str(tmp_path / "reference")})
    assert ref.returncode == 0, ref.stderr
    return tokens(tmp_path / "reference" / "ledger.db")


def kept(ledger: Path, before: dict) -> dict:
    """Every row recorded before is still there and the file is sound."""
    conn = sqlite3.connect(ledger)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
    after = counts(ledger)
    assert all(after[t] >= before[t] for t in TABLES), (before, after)
    return after


def test_a_disk_that_fills_during_an_ingest_keeps_what_was_committed(shared, claude_dir, tmp_path):
    with tmpfs(Path(paths.data_dir()), "3m") as home:
        ledger, before = filled_before(shared, claude_dir)
        big_history(shared, claude_dir, tmp_path)
        ingest = cli("ingest")
        assert ingest.code == errors.DISK_FULL and f"the disk holding {home} is full" in one_line(ingest.err)
        assert _mount("-o", "remount,size=64m", str(home))
        kept(ledger, before)
        assert cli("ingest", "-q").code == 0
        assert tokens(ledger) == reference_tokens(tmp_path)


def test_a_file_size_limit_is_named_and_what_was_committed_is_kept(shared, claude_dir, tmp_path):
    ledger, before = filled_before(shared, claude_dir)
    big_history(shared, claude_dir, tmp_path)
    limit = ledger.stat().st_size + (512 << 10)

    def limited() -> None:  # in the child: ulimit -f, and SIGXFSZ ignored so the write fails with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    ingest = cli_process("ingest", preexec_fn=limited)
    assert ingest.returncode == errors.DISK_FULL, ingest.stderr
    assert "file size limit" in one_line(ingest.stderr) and "ulimit -f" in ingest.stderr
    report = cli_process("report", "daily", "--json", preexec_fn=limited)
    assert report.returncode == 0 and "file size limit" in report.stderr, report.stderr
    assert json.loads(report.stdout)["totals"]["total_tokens"] == tokens(ledger)  # what it holds
    kept(ledger, before)
    assert cli("ingest", "-q").code == 0
    assert tokens(ledger) == reference_tokens(tmp_path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def _foreign(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('shopping list')")
    conn.commit()
    conn.close()


DAMAGE = {
    "garbage": (lambda p: p.write_bytes(os.urandom(256 << 10)), "not a SQLite database"),
    "text": (lambda p: p.write_text("this is not a ledger\n" * 200), "not a SQLite database"),
    "truncated": (_truncate, "truncated"),
    "foreign": (_foreign, "another program"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_or_foreign_file_is_named_left_alone_and_the_fix_works(world, damage):
    ledger = world["ledger"]
    for extra in (Path(f"{ledger}-wal"), Path(f"{ledger}-shm")):
        extra.unlink(missing_ok=True)
    spoil, cause = DAMAGE[damage]
    spoil(ledger)
    spoiled = ledger.read_bytes()
    for args in (("report", "daily", "--json"), ("ingest",)):
        result = cli(*args)
        assert result.code == errors.LEDGER_DAMAGED and result.out == "" and cause in one_line(result.err), result
    doctor_names(cause, f"mv {ledger} {ledger}.", "ledger")
    hooks_stay_silent(world["transcript"])
    assert ledger.read_bytes() == spoiled  # refused, never rewritten
    ledger.rename(f"{ledger}.broken")  # the fix doctor gave
    assert cli("rebuild", "--yes").code == 0
    assert tokens(ledger) == world["all_tokens"]


def test_a_newer_schema_is_refused_and_left_untouched(world):
    ledger = world["ledger"]
    conn = sqlite3.connect(ledger)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    newer = ledger.read_bytes()
    for args in (("report", "daily", "--json"), ("ingest",)):
        result = cli(*args)
        assert result.code == errors.LEDGER_TOO_NEW and "newer than this ccledger" in one_line(result.err), result
    doctor_names("newer than this ccledger", "upgrade ccledger", "ledger")
    hooks_stay_silent(world["transcript"])
    assert ledger.read_bytes() == newer and counts(ledger) == world["counts"]


@pytest.mark.faults  # each command waits out the busy timeout (10 s for the CLI, 5 s for a hook)
def test_a_ledger_locked_past_the_wait_is_read_as_it_is(world):
    with held(world["ledger"]):
        reports_what_it_holds(world, "is busy")
        ingest = cli("ingest")
        assert ingest.code == errors.LEDGER_LOCKED and "is busy" in one_line(ingest.err)
        doctor_names("is busy", "try again", "recording")
        hooks_stay_silent(world["transcript"])
        assert counts(world["ledger"]) == world["counts"]
    catches_up_exactly(world, spooled=True)


@pytest.mark.parametrize("where", ["ledger path is a folder", "data folder is a file"])
def test_a_folder_or_file_in_the_wrong_place_is_named(world, where):
    ledger = world["ledger"]
    if where == "ledger path is a folder":
        ledger.rename(f"{ledger}.kept")
        ledger.mkdir()
        code, cause = errors.LEDGER_DAMAGED, "is a folder, not a ledger"
    else:
        shutil.rmtree(ledger.parent)
        ledger.parent.write_text("not a folder\n")
        code, cause = errors.LEDGER_UNAVAILABLE, "is a file where ccledger keeps a folder"
    for args in (("report", "daily", "--json"), ("ingest",)):
        result = cli(*args)
        assert result.code == code and cause in one_line(result.err), result
    doctor_names(cause, "move it aside", "ledger")
    hooks_stay_silent(world["transcript"], logged=False)
