"""Incremental ingestion: only the bytes of a transcript that are new since last time.

Per file the ledger keeps inode, size, mtime and the offset after the last
complete line. A partial last line is left for next time; a file that shrank,
was replaced, or whose first line changed is re-read from the start, and the
natural keys make that free of double counting. Each range of lines is
written in one transaction together with its new offset, after checking that
the offset is still the one the range was read from: two ingesting processes
can never both apply the same bytes. Size and mtime are stored only by the
commit that read a file up to the size the plan saw (earlier chunks store size
-1): a process killed or stopped at its deadline after some chunks leaves a
file that the next ingest continues from its offset. Large backlogs are parsed
by a pool of worker processes while this process writes.

Reading costs time and memory linear in the bytes read. A line longer than
MAX_LINE (64 MiB: no API response comes near it; such a line is a huge tool
result or file copy) is skipped and counted as `too_long` without being held in
memory: only its end is searched for.
"""
from __future__ import annotations

import binascii
import os
import time
from collections import namedtuple

from ..base import fastjson, locks, paths
from . import db, pricing, schema
from .transcript import C_CR, C_CW1H, C_CW5, C_GEO, C_IN, C_MODEL, C_OUT, C_SIDE, C_SPEED, C_WEB, FileInfo, Scan, scan

TYPE_CHECKING = False  # annotations only: typing and sqlite3.dbapi2 cost import time on the hot path
if TYPE_CHECKING:
    import sqlite3
    from typing import Callable, Iterable

CHUNK = 8 << 20             # bytes of transcript per unit of work
POOL_THRESHOLD = 24 << 20   # below this much new data, parse in-process
BATCH = 48 << 20            # bytes of transcript per write transaction in a bulk ingest; a worker holds one
                            # batch of rows: 64 MB put the 3-process tree at ~153 MB, 48 MB at ~140 MB, no slower
HEAD = 4096                 # the first line (up to this many bytes) identifies a file
MAX_LINE = 64 << 20         # a longer line is skipped (`too_long`); at least CHUNK, so it is always a range's last
BLOCK = 1 << 20             # bytes per read while looking for the end of a line
BULK_CACHE = -32768         # SQLite page cache of a bulk writer, KiB: the key B-trees stay in memory (default 2 MB)


class Task(namedtuple("Task", "path info start expected restart size inode mtime_ns")):
    """A file with unread bytes: read from `start`; `expected` is the stored offset the plan saw."""
    __slots__ = ()


class Summary:
    """What one ingest run did: shown by `ccledger ingest` and returned to callers."""

    def __init__(self) -> None:
        self.files = 0
        self.files_read = 0
        self.bytes = 0
        self.lines = 0
        self.api_calls = 0
        self.tool_calls = 0
        self.restarts = 0
        self.busy: list[str] = []
        self.stopped = False  # the deadline passed with bytes left: the next ingest continues
        self.skipped: dict[str, int] = {}

    def add(self, rows: "Rows") -> None:
        self.bytes += max(0, rows.end - rows.start)
        self.lines += rows.lines
        self.api_calls += len(rows.calls)
        self.tool_calls += len(rows.tools)
        for reason, count in rows.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    def merge(self, other: "Summary") -> None:
        for name in ("files_read", "bytes", "lines", "api_calls", "tool_calls", "restarts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.busy += other.busy
        self.stopped = self.stopped or other.stopped
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


# ---------------------------------------------------------------------------------- discovery

def identify(root: str, path: str) -> tuple[str, str, str]:
    """(project, session, agent) from a path under <root>/projects."""
    parts = os.path.relpath(path, os.path.join(root, "projects")).split(os.sep)
    stem = parts[-1][:-6]
    agent = stem[6:] if stem.startswith("agent-") else ""
    if len(parts) == 2:
        return parts[0], "" if agent else stem, agent
    return parts[0], parts[1], agent


def discover(roots: Iterable[str], metas: list | None = None) -> list[tuple[str, str, str, str]]:
    """Every *.jsonl under <root>/projects, subagent folders included: (path, project, session, agent).

    Subagent `agent-<id>.meta.json` sidecars found on the way are appended to `metas` when given.
    """
    found = []
    for root in roots:
        stack = [os.path.join(root, "projects")]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                name = entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif not entry.is_file():  # a FIFO or device named *.jsonl would block the first read
                    continue
                elif name.endswith(".jsonl"):
                    found.append((entry.path, *identify(root, entry.path)))
                elif metas is not None and name.endswith(".meta.json") and name.startswith("agent-"):
                    metas.append((entry.path, *identify(root, entry.path[:-10] + ".jsonl")))
    found.sort()
    return found


def ingest_metas(conn: sqlite3.Connection, metas: list[tuple[str, str, str, str]]) -> int:
    """Read changed agent-<id>.meta.json sidecars: which Agent/Task call started each subagent. Its description
    is text from that call's input, so it is kept only with `[privacy] store_descriptions = true`."""
    known = {row[0]: row[1:] for row in conn.execute("SELECT path, size, mtime_ns FROM files WHERE path LIKE '%.meta.json'")}
    changed = 0
    keep: bool | None = None  # whether descriptions may be stored: read from the config once, when first needed
    for path, project, session, agent in metas:
        try:
            st = os.stat(path)
            if known.get(path) == (st.st_size, st.st_mtime_ns):
                continue
            with open(path, "rb") as handle:
                meta = fastjson.loads(handle.read(1 << 20))
        except (OSError, ValueError):
            continue
        if type(meta) is not dict:
            continue
        parent = meta.get("toolUseId") if type(meta.get("toolUseId")) is str else None
        if keep is None:
            from ..config import read as userconfig
            keep = userconfig.stores_descriptions()
        description = meta.get("description") if keep and type(meta.get("description")) is str else None
        with db.transaction(conn):
            conn.execute(
                "INSERT INTO agents VALUES (?,?,?,?,?) ON CONFLICT (session_id, agent_id) DO UPDATE SET"
                " agent_type=coalesce(excluded.agent_type, agents.agent_type),"
                " description=excluded.description,"
                " parent_tool_use_id=coalesce(excluded.parent_tool_use_id, agents.parent_tool_use_id)",
                (session, agent, meta.get("agentType"), description, parent))
            if parent:
                conn.execute("INSERT INTO tool_calls (tool_use_id, session_id, project, subagent_id) VALUES (?,?,?,?)"
                             " ON CONFLICT (tool_use_id) DO UPDATE SET subagent_id=excluded.subagent_id",
                             (parent, session, project, agent))
            conn.execute("INSERT INTO dirty_sessions VALUES (?) ON CONFLICT DO NOTHING", (session,))
            conn.execute("INSERT INTO files (path, project, session_id, agent_id, size, mtime_ns, offset) "
                         "VALUES (?,?,?,?,?,?,?) ON CONFLICT (path) DO UPDATE SET size=excluded.size, "
                         "mtime_ns=excluded.mtime_ns, offset=excluded.offset",
                         (path, project, session, agent, st.st_size, st.st_mtime_ns, st.st_size))
        changed += 1
    return changed


def _head_crc(path: str) -> int:
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD)
    except OSError:
        return 0
    nl = head.find(b"\n")
    return binascii.crc32(head[: nl + 1] if nl >= 0 else head) if nl >= 0 else 0


def plan(conn: sqlite3.Connection, found: list[tuple[str, str, str, str]]) -> list[Task]:
    """Files with bytes we have not read, and where to start reading each."""
    columns = "SELECT path, id, inode, size, mtime_ns, offset, head_crc FROM files"
    if len(found) == 1:  # the hot path: one transcript, one indexed lookup
        known = {row[0]: row[1:] for row in conn.execute(columns + " WHERE path=?", (found[0][0],))}
    else:
        known = {row[0]: row[1:] for row in conn.execute(columns)}
    tasks, new = [], []
    for path, project, session, agent in found:
        try:
            st = os.stat(path)
        except OSError:
            continue
        row = known.get(path)
        if row is None:
            new.append((path, project, session, agent, st))
            continue
        file_id, inode, size, mtime_ns, offset, head_crc = row
        if inode == st.st_ino and size == st.st_size and mtime_ns == st.st_mtime_ns:
            continue
        restart = inode != st.st_ino or st.st_size < offset or (offset > 0 and _head_crc(path) != head_crc)
        if not restart and st.st_size == offset:
            conn.execute("UPDATE files SET size=?, mtime_ns=? WHERE id=?", (st.st_size, st.st_mtime_ns, file_id))
            continue
        info = FileInfo(file_id, project, session, agent)
        tasks.append(Task(path, info, 0 if restart else offset, offset, restart, st.st_size, st.st_ino,
                          st.st_mtime_ns))
    if new:
        with db.transaction(conn):
            for path, project, session, agent, st in new:
                conn.execute("INSERT OR IGNORE INTO files (path, project, session_id, agent_id) VALUES (?,?,?,?)",
                             (path, project, session, agent))
                # by path: another process may have inserted the row since, and read some of the file
                file_id = conn.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()[0]
                info = FileInfo(file_id, project, session, agent)
                tasks.append(Task(path, info, 0, 0, False, st.st_size, st.st_ino, st.st_mtime_ns))
    return tasks


# ---------------------------------------------------------------------------------- reading

def _newline_within(handle, limit: int) -> int:
    """Bytes from the current position through the next newline if it comes within `limit` bytes, else -1.
    Holds one block at a time, whatever the distance."""
    seen = 0
    while seen < limit:
        block = handle.read(min(BLOCK, limit - seen))
        if not block:
            return -1
        nl = block.find(b"\n")
        if nl >= 0:
            return seen + nl + 1
        seen += len(block)
    return -1


def read_range(path: str, a: int, b: int, file_start: int) -> tuple[bytes, int, int]:
    """The bytes of the lines that start in [a, b), the offset they begin at, and `long_end`.

    Lines are split among ranges by where they start, so adjacent ranges
    partition a file exactly and can be parsed in parallel. Offset -1 means
    no line starts in the range. A last line longer than MAX_LINE is left out
    of the bytes: `long_end` is then the offset after it (0 otherwise; a long
    line still being written is left for next time). Time and memory are
    linear in the range and its last line, never in the lines around it.
    """
    with open(path, "rb") as handle:
        start = a
        if a > file_start:  # a line starts in [a, b) only after a newline in [a-1, b-1)
            handle.seek(a - 1)
            found = _newline_within(handle, b - a)
            if found < 0:
                return b"", -1, 0
            start = a - 1 + found
        handle.seek(start)
        data = handle.read(b - start)
        if len(data) < b - start or data[-1:] == b"\n":
            return data, start, 0
        tail = data.rfind(b"\n") + 1  # the last line runs on past b: read it through its newline
        parts, size, pos = [data], len(data) - tail, start + len(data)
        while size <= MAX_LINE:
            block = handle.read(BLOCK)
            nl = block.find(b"\n")
            if nl >= 0:
                block = block[: nl + 1]
            parts.append(block)
            size += len(block)
            pos += len(block)
            if (nl >= 0 or not block) and size <= MAX_LINE:
                return b"".join(parts), start, 0
            if nl >= 0:
                return data[:tail], start, pos
        del parts
        found = _newline_within(handle, 1 << 62)
        return data[:tail], start, (pos + found if found >= 0 else 0)


class Rows(namedtuple("Rows", "calls tools items skipped limits lines end first_ts start cwd agent_types")):
    """One scanned range as SQL parameter tuples: built by a worker, applied by the writer."""
    __slots__ = ()


def split_mcp(name: str) -> tuple[str | None, str | None]:
    """mcp__<server>__<tool> -> (server, tool); a plugin's server mcp__plugin_<plugin>_<server>__<tool>
    -> ('plugin:<plugin>:<server>', tool), as Claude Code names it in mcp_tool hooks (plugin names are
    kebab-case, so the first '_' ends the plugin name)."""
    if not name.startswith("mcp__"):
        return None, None
    server, sep, tool = name[5:].partition("__")
    if server.startswith("plugin_") and "_" in server[7:]:
        plugin, _, inner = server[7:].partition("_")
        server = f"plugin:{plugin}:{inner}"
    return (server or None), (tool if sep else None)


class Pricer:
    """Cost of a call record with the effective price table, one lookup per model."""

    def __init__(self, overrides: dict | None = None) -> None:
        self.overrides = overrides
        self.cache: dict[str, pricing.Price | None] = {}

    def __call__(self, call: list) -> tuple[float, int]:
        model = call[C_MODEL]
        try:
            price = self.cache[model]
        except KeyError:
            price = self.cache[model] = pricing.lookup(model, self.overrides)
        if price is None:
            return 0.0, 0
        return pricing.request_cost(price, model, call[C_IN], call[C_CW5], call[C_CW1H], call[C_CR],
                                    call[C_OUT], call[C_SPEED], call[C_GEO], call[C_WEB]), 1


def rows_of(result: Scan, info: FileInfo, price: Pricer, start: int) -> Rows:
    calls = []
    for call in result.calls.values():
        cost, priced = price(call)
        call[C_SIDE] = int(call[C_SIDE])
        calls.append((*call[:3], info.project, *call[3:], cost, priced, info.file_id, info.file_id))
    tools = []
    for tid, t in result.tools.items():
        server, tool = split_mcp(t[4]) if t[4] else (None, None)
        tools.append((tid, t[0], info.project, t[1], t[2], t[3], t[4], server, tool, *t[5:]))
    return Rows(calls, tools, result.items, result.skipped, result.limits, result.lines, result.end,
                result.first_ts, start, result.cwd, result.agent_types)


_fast_loads = None  # orjson.loads in a bulk ingest's worker processes (never on the hot path): see _work


def scan_job(job: tuple) -> Rows:
    path, info, a, b, file_start, overrides = job
    data, start, long_end = read_range(path, a, b, file_start)
    result = scan(data, start, info, fast_loads=_fast_loads)
    if long_end:
        result.lines += 1
        result.skip("too_long")
        result.end = long_end
    return rows_of(result, info, Pricer(overrides), a)


def _jobs(task: Task, chunk: int, overrides: dict | None) -> list[tuple]:
    bounds = list(range(task.start, task.size, chunk)) + [task.size]
    return [(task.path, task.info, a, b, task.start, overrides) for a, b in zip(bounds, bounds[1:])]


# ---------------------------------------------------------------------------------- writing

_CALL_SQL = """
INSERT INTO api_calls (message_id, request_id, session_id, project, agent_id, is_sidechain, model, ts_ms,
    input_tokens, cache_write_5m, cache_write_1h, cache_read_tokens, output_tokens, total_tokens, speed, geo,
    web_searches, source, offset, text_bytes, cost_usd, priced, file_id, session_start_ms)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (message_id, request_id) DO UPDATE SET
    session_id=excluded.session_id, project=excluded.project, agent_id=excluded.agent_id,
    is_sidechain=excluded.is_sidechain, model=excluded.model, ts_ms=excluded.ts_ms,
    input_tokens=excluded.input_tokens, cache_write_5m=excluded.cache_write_5m,
    cache_write_1h=excluded.cache_write_1h, cache_read_tokens=excluded.cache_read_tokens,
    output_tokens=excluded.output_tokens, total_tokens=excluded.total_tokens, speed=excluded.speed,
    geo=excluded.geo, web_searches=excluded.web_searches, source=excluded.source, offset=excluded.offset,
    text_bytes=max(api_calls.text_bytes, excluded.text_bytes), cost_usd=excluded.cost_usd,
    priced=excluded.priced, file_id=excluded.file_id, session_start_ms=excluded.session_start_ms
WHERE excluded.total_tokens > api_calls.total_tokens
   OR (excluded.total_tokens = api_calls.total_tokens
       AND (excluded.is_sidechain < api_calls.is_sidechain
            OR (excluded.is_sidechain = api_calls.is_sidechain
                AND excluded.session_start_ms < api_calls.session_start_ms)))
"""

# A range may hold a call's tool_use, its result, or both: NULL means "not said here".
_TOOL_SQL = """
INSERT INTO tool_calls (tool_use_id, session_id, project, agent_id, message_id, request_id, tool_name,
    mcp_server, mcp_tool, input_bytes, started_ms, result_bytes, status, ended_ms, prompt_id, subagent_id,
    from_transcript)
VALUES (?,?,?,?,?,?,coalesce(?, ''),?,?,?,?,?,?,?,?,?,1)
ON CONFLICT (tool_use_id) DO UPDATE SET
    session_id=excluded.session_id, project=excluded.project, agent_id=excluded.agent_id,
    message_id=coalesce(excluded.message_id, tool_calls.message_id),
    request_id=coalesce(excluded.request_id, tool_calls.request_id),
    tool_name=CASE WHEN excluded.tool_name != '' THEN excluded.tool_name ELSE tool_calls.tool_name END,
    mcp_server=coalesce(excluded.mcp_server, tool_calls.mcp_server),
    mcp_tool=coalesce(excluded.mcp_tool, tool_calls.mcp_tool),
    input_bytes=coalesce(excluded.input_bytes, tool_calls.input_bytes),
    started_ms=coalesce(excluded.started_ms, tool_calls.started_ms),
    result_bytes=coalesce(excluded.result_bytes, tool_calls.result_bytes),
    status=CASE WHEN tool_calls.from_hook THEN coalesce(tool_calls.status, excluded.status)
                ELSE coalesce(excluded.status, tool_calls.status) END,
    ended_ms=coalesce(excluded.ended_ms, tool_calls.ended_ms),
    prompt_id=coalesce(tool_calls.prompt_id, excluded.prompt_id),
    subagent_id=coalesce(excluded.subagent_id, tool_calls.subagent_id),
    from_transcript=1
"""


_AGENT_TYPE_SQL = """
INSERT INTO agents (session_id, agent_id, agent_type, parent_tool_use_id)
SELECT session_id, subagent_id, ?, tool_use_id FROM tool_calls WHERE tool_use_id = ? AND subagent_id IS NOT NULL
ON CONFLICT (session_id, agent_id) DO UPDATE SET agent_type=coalesce(agents.agent_type, excluded.agent_type),
    parent_tool_use_id=coalesce(agents.parent_tool_use_id, excluded.parent_tool_use_id)
"""


def _drop_replays(conn: sqlite3.Connection, calls: list) -> list:
    """A sidechain copy of a message.id already seen outside the sidechain is a replay: drop it."""
    main = {c[0]: c[1] for c in calls if not c[5]}
    kept = []
    for c in calls:
        if c[5] and ((c[0] in main and main[c[0]] != c[1]) or conn.execute(
                "SELECT 1 FROM api_calls WHERE message_id=? AND is_sidechain=0 AND request_id!=?",
                (c[0], c[1])).fetchone()):
            continue
        kept.append(c)
    if main and conn.execute("SELECT 1 FROM api_calls WHERE is_sidechain=1 LIMIT 1").fetchone():
        conn.executemany("INSERT OR IGNORE INTO dirty_quarters SELECT ts_ms / ? FROM api_calls"
                         " WHERE message_id=? AND is_sidechain=1 AND request_id!=?",
                         [(schema.QUARTER_MS, mid, rid) for mid, rid in main.items()])
        conn.executemany("DELETE FROM api_calls WHERE message_id=? AND is_sidechain=1 AND request_id!=?",
                         main.items())
    return kept


def _mark_quarters(conn: sqlite3.Connection, calls: list) -> None:
    """The quarter hours whose usage rollup must be rebuilt. A call lands in its own quarter; a larger
    copy that replaces an earlier one (the streamed blocks of one response) may move it from one of the
    two quarters before, so those are rebuilt too; replayed copies carry the same timestamp."""
    quarters = set()
    for c in calls:
        q = c[7] // schema.QUARTER_MS
        quarters.update((q, q - 1, q - 2))
    conn.executemany("INSERT OR IGNORE INTO dirty_quarters VALUES (?)", [(q,) for q in quarters])


def _advance(expected: int, rows: Rows) -> int:
    """The offset after a range: where its last complete line ended, or unchanged if it held none
    (end -1). Never max(): after a restart of a shrunk file the new offset is smaller than the old."""
    return rows.end if rows.end >= 0 else expected


def apply(conn: sqlite3.Connection, task: Task, rows: Rows, expected: int, first: bool, done: bool) -> bool:
    """Write one scanned range inside the caller's transaction; False if the offset moved.

    `done`: the range reached the size the plan saw, so that size and mtime are stored and the file is
    skipped until it changes. Before that, size -1: a process that dies between chunks leaves the file
    to be continued, never looking read."""
    file_id = task.info.file_id
    row = conn.execute("SELECT offset, first_ts_ms FROM files WHERE id=?", (file_id,)).fetchone()
    if row is None or row[0] != expected:
        return False
    restart = first and task.restart
    first_ts = None if restart else row[1]
    if restart:
        conn.execute("DELETE FROM context_items WHERE file_id=?", (file_id,))
        conn.execute("DELETE FROM skipped WHERE file_id=?", (file_id,))
    if rows.first_ts is not None and (first_ts is None or rows.first_ts < first_ts):
        first_ts = rows.first_ts
    head = _head_crc(task.path) if task.start == 0 and first else None
    conn.execute(
        "UPDATE files SET offset=?, lines=CASE WHEN ? THEN ? ELSE lines+? END, size=?, inode=?, mtime_ns=?,"
        " first_ts_ms=?, head_crc=coalesce(?, head_crc), restarts=restarts+?,"
        " cwd=CASE WHEN ? THEN ? ELSE coalesce(cwd, ?) END WHERE id=?",  # the first cwd in the file stays
        (_advance(expected, rows), restart, rows.lines, rows.lines, task.size if done else -1, task.inode,
         task.mtime_ns if done else -1, first_ts, head, int(restart), restart, rows.cwd, rows.cwd, file_id))
    start = first_ts or 0  # the file's first activity: the tie-break between two copies of a response
    calls = [c[:-1] + (start,) for c in _drop_replays(conn, rows.calls)]
    _mark_quarters(conn, calls)
    conn.executemany(_CALL_SQL, calls)
    conn.executemany(_TOOL_SQL, rows.tools)
    if rows.agent_types:  # a subagent's type, from the call that started it (hooks and meta.json say it too)
        conn.executemany(_AGENT_TYPE_SQL, [(kind, tool_id) for tool_id, kind in rows.agent_types.items()])
    conn.executemany("INSERT OR REPLACE INTO context_items VALUES (?,?,?,?,?,?,?,?,?)",
                     [(file_id, *item) for item in rows.items])
    conn.executemany(
        "INSERT INTO skipped VALUES (?,?,?) ON CONFLICT (file_id, reason) DO UPDATE SET count=count+excluded.count",
        [(file_id, reason, count) for reason, count in rows.skipped.items()])
    conn.executemany("INSERT OR IGNORE INTO limit_events VALUES (?,?,?)", rows.limits)
    sessions = {c[2] for c in rows.calls} | {t[1] for t in rows.tools} | {i[2] for i in rows.items}
    conn.executemany("INSERT OR IGNORE INTO dirty_sessions VALUES (?)", [(s,) for s in sessions if s])
    return True


# ---------------------------------------------------------------------------------- running

def _run_inline(conn: sqlite3.Connection, task: Task, overrides: dict | None, summary: Summary,
                lock_timeout: float, deadline: float | None = None) -> None:
    """Read one file a chunk per transaction; after the chunk that passes `deadline` (time.monotonic()),
    stop: what was committed stays, the next ingest continues from there."""
    try:
        with locks.file_lock(task.path, lock_timeout):
            row = conn.execute("SELECT offset FROM files WHERE id=?", (task.info.file_id,)).fetchone()
            if row is None:
                return
            if row[0] != task.expected:  # someone else moved it: re-plan this file
                fresh = plan(conn, [(task.path, task.info.project, task.info.session_id, task.info.agent_id)])
                if not fresh:
                    return
                task = fresh[0]
            expected, first = task.expected, True
            jobs = _jobs(task, CHUNK, overrides)
            for number, job in enumerate(jobs, 1):
                rows = scan_job(job)
                with db.transaction(conn):
                    if not apply(conn, task, rows, expected, first, number == len(jobs)):
                        return
                summary.add(rows)
                expected, first = _advance(expected, rows), False
                if deadline is not None and number < len(jobs) and time.monotonic() >= deadline:
                    summary.stopped = True
                    return
            summary.files_read += 1
            summary.restarts += int(task.restart)
    except locks.LockTimeout:
        summary.busy.append(task.path)


def _batches(tasks: list[Task]) -> list[list[Task]]:
    batches: list[list[Task]] = [[]]
    size = 0
    for task in sorted(tasks, key=lambda t: t.start - t.size):
        if size >= BATCH:
            batches.append([])
            size = 0
        batches[-1].append(task)
        size += task.size - task.start
    return [b for b in batches if b]


_worker_conn: sqlite3.Connection | None = None


def _work(args: tuple) -> tuple[Summary, list[Task]]:
    """In a worker: parse a batch of files, then write it in one transaction under the write lock."""
    global _worker_conn, _fast_loads
    ledger, batch, overrides = args
    if _worker_conn is None:
        try:  # decoding is most of a bulk ingest's parsing; orjson halves it (the CLI's dependency, not the hot path's)
            from orjson import loads as _fast_loads
        except ImportError:
            pass
        _worker_conn = db.connect(ledger, timeout=60.0)
        # one checkpoint per ~40 MB of WAL instead of one per 4 MB: fewer fsyncs in a bulk load
        _worker_conn.execute("PRAGMA wal_autocheckpoint=10000")
        _worker_conn.execute(f"PRAGMA cache_size={BULK_CACHE}")
    conn = _worker_conn
    parsed = [(task, [scan_job(job) for job in _jobs(task, CHUNK, overrides)]) for task in batch]
    summary, redo = Summary(), []
    with locks.FileLock(os.path.join(paths.lock_dir(), "write.lock"), 120.0), db.transaction(conn):
        for task, chunks in parsed:
            expected, first = task.expected, True
            for number, rows in enumerate(chunks, 1):
                if not apply(conn, task, rows, expected, first, number == len(chunks)):
                    redo.append(task)
                    break
                summary.add(rows)
                expected, first = _advance(expected, rows), False
            else:
                summary.files_read += 1
                summary.restarts += int(task.restart)
    return summary, redo


def _run_pool(conn: sqlite3.Connection, tasks: list[Task], overrides: dict | None, summary: Summary,
              workers: int, progress: Callable[[int], None] | None) -> list[Task]:
    """Parse and write in worker processes, a batch of files per transaction.

    Writers take one write lock around each transaction so none of them sleeps
    in SQLite's busy handler; the offset check inside the transaction keeps two
    ingesters from applying the same bytes. Returns tasks to redo inline.
    """
    import multiprocessing

    method = "fork" if os.name == "posix" and "fork" in multiprocessing.get_all_start_methods() else None
    ledger = conn.execute("PRAGMA database_list").fetchone()[2]
    redo: list[Task] = []
    if conn.execute("SELECT 1 FROM api_calls LIMIT 1").fetchone() is None:  # a first load: index at the end
        with db.transaction(conn):
            for name in schema.SECONDARY_INDEXES:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
    try:
        with multiprocessing.get_context(method).Pool(workers) as pool:
            batches = _batches(tasks)
            for part, later in pool.imap_unordered(_work, [(ledger, b, overrides) for b in batches]):
                summary.merge(part)
                redo.extend(later)
                if progress:
                    progress(part.bytes)
    finally:
        with db.transaction(conn):
            schema.ensure_indexes(conn)
    return redo


def ingest(conn: sqlite3.Connection, roots: Iterable[str] | None = None, overrides: dict | None = None,
           workers: int | None = None, progress: Callable[[int], None] | None = None,
           on_plan: Callable[[int], None] | None = None, lock_timeout: float = 10.0) -> Summary:
    """Bring the ledger up to date with every transcript under the Claude config folders."""
    with db.transaction(conn):
        schema.ensure_indexes(conn)  # in case a bulk ingest was killed before it rebuilt them
    metas: list = []
    found = discover(paths.claude_dirs() if roots is None else roots, metas)
    summary = Summary()
    summary.files = len(found)
    run(conn, plan(conn, found), summary, overrides, workers, progress, on_plan, lock_timeout)
    ingest_metas(conn, metas)
    return summary


def run(conn: sqlite3.Connection, tasks: list[Task], summary: Summary, overrides: dict | None = None,
        workers: int | None = None, progress: Callable[[int], None] | None = None,
        on_plan: Callable[[int], None] | None = None, lock_timeout: float = 10.0,
        deadline: float | None = None) -> Summary:
    """Read the planned files: in worker processes for a large backlog, else here. With a `deadline`
    (time.monotonic(); a hook's budget) reading stops after the chunk that passes it, the first chunk
    always read: a caller that is always late still makes progress."""
    backlog = sum(t.size - t.start for t in tasks)
    if on_plan:
        on_plan(backlog)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers > 1 and backlog >= POOL_THRESHOLD:
        tasks = _run_pool(conn, tasks, overrides, summary, workers, progress)
    for number, task in enumerate(tasks):
        if number and deadline is not None and time.monotonic() >= deadline:  # one chunk at least: progress
            summary.stopped = True
            break
        _run_inline(conn, task, overrides, summary, lock_timeout, deadline)
        if progress:
            progress(task.size - task.start)
    return summary


def _root_of(path: str) -> str | None:
    """The Claude config folder holding this transcript (the parent of its `projects` ancestor). Normalised
    first: a hook payload's `<root>/projects/p/../../../../etc/passwd` is not a transcript."""
    folder = os.path.dirname(os.path.normpath(path))
    while os.path.basename(folder) != "projects":
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return os.path.dirname(folder)


def session_files(targets: Iterable[str]) -> list[str]:
    """The given transcripts, and for a session transcript every file of its subagents folder."""
    files: list[str] = []
    for target in targets:
        if target not in files and os.path.isfile(target):
            files.append(target)
        sub = os.path.join(target[:-6], "subagents") if target.endswith(".jsonl") else ""
        if sub and os.path.isdir(sub):
            for folder, _, names in os.walk(sub):
                files += sorted(os.path.join(folder, n) for n in names
                                if n.endswith(".jsonl") and os.path.join(folder, n) not in files)
    return files


def session_metas(conn: sqlite3.Connection, files: list[str]) -> int:
    """Ingest the agent-<id>.meta.json sidecars next to these subagent transcripts."""
    metas = []
    for path in files:
        meta = path[:-6] + ".meta.json"
        root = _root_of(path)
        if root and os.path.basename(path).startswith("agent-") and os.path.isfile(meta):
            metas.append((meta, *identify(root, path)))
    return ingest_metas(conn, metas) if metas else 0


def pending_bytes(conn: sqlite3.Connection, path: str) -> int:
    row = conn.execute("SELECT offset FROM files WHERE path=?", (path,)).fetchone()
    try:
        return os.path.getsize(path) - (row[0] if row else 0)
    except OSError:
        return 0


def ingest_file(conn: sqlite3.Connection, path: str, overrides: dict | None = None,
                lock_timeout: float = 0.0, deadline: float | None = None) -> Summary:
    """The hot-path form: one transcript (a session or subagent file), never waiting long for a lock,
    stopping after the chunk that passes `deadline` (time.monotonic())."""
    summary = Summary()
    root = _root_of(path)
    if root is None or not os.path.isfile(path):
        return summary
    summary.files = 1
    tasks = plan(conn, [(path, *identify(root, path))])
    return run(conn, tasks, summary, overrides, workers=1, lock_timeout=lock_timeout, deadline=deadline)
