"""Projects named by their folder path rather than Claude Code's dash-encoded folder name.

Claude Code files a session under `projects/<cwd with every non-alphanumeric character as '-'>`, which
cannot be decoded (`-home-me-my-app` may be /home/me/my-app or /home/me/my/app). Ingest keeps the first
`cwd` each transcript names (files.cwd); files read before that column existed (marked '' by the
migration) get it here, from the head of the transcript, the first time a report needs it.
"""
from __future__ import annotations

import json
import re
import sqlite3

from ..ledger import db

HEAD = 1 << 20         # bytes of a transcript searched for its first cwd when the ledger does not have it
BLOCK = 64 << 10       # read a block at a time: the first user line is usually within the first one
_CWD = b'"cwd":"'      # inside a JSON string this would read \"cwd\":\" : no false match


def slug(path: str) -> str:
    """Claude Code's folder name for a working directory."""
    return re.sub(r"[^A-Za-z0-9]", "-", path)


def first_cwd(path: str) -> str | None:
    """The first `cwd` field in the head of a transcript (its first user line names it), or None."""
    head = b""
    try:
        with open(path, "rb") as handle:
            while len(head) < HEAD and _CWD not in head:
                block = handle.read(BLOCK)
                if not block:
                    break
                head += block
            head += handle.read(BLOCK)  # the rest of a value that began at the block's end
    except OSError:
        return None
    at = head.find(_CWD)
    if at < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(head[at + len(_CWD) - 1:].decode("utf-8", "replace"))
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


def backfill(conn: sqlite3.Connection) -> None:
    """Look up files.cwd for the transcripts read before ingest kept it (once per file: when the head names
    none, or the file is gone, NULL lets ingest take the next one it reads). A ledger that cannot be written
    (read-only, locked) is left as it is: the report then shows the folder names."""
    missing = conn.execute("SELECT id, path FROM files WHERE cwd = '' AND agent_id = ''").fetchall()
    if not missing:  # a session's own transcript names its folder; its subagents' may be elsewhere (worktrees)
        return
    found = [(first_cwd(path), file_id) for file_id, path in missing]
    try:
        with db.transaction(conn):
            conn.executemany("UPDATE files SET cwd=? WHERE id=? AND cwd = ''", found)
    except sqlite3.Error:
        pass


def _choose(project: str, cwds: list[str]) -> str | None:
    """The cwd the folder was named after (its slug matches; a Windows drive letter in either case), else the
    first one Claude Code was started in."""
    want = project.lower()
    for cwd in cwds:
        if slug(cwd).lower() == want:
            return cwd
    return cwds[0] if cwds else None


def paths(conn: sqlite3.Connection) -> tuple[dict[str, str], dict[str, str]]:
    """(project folder -> path, session -> the path it was started in), from the main session transcripts
    first (a subagent may run in a worktree), earliest first."""
    backfill(conn)
    by_project: dict[str, list[str]] = {}
    by_session: dict[str, str] = {}
    for project, session, cwd in conn.execute(
            "SELECT project, session_id, cwd FROM files WHERE cwd IS NOT NULL AND cwd != ''"
            " ORDER BY agent_id != '', first_ts_ms IS NULL, first_ts_ms, id"):
        cwds = by_project.setdefault(project, [])
        if cwd not in cwds:
            cwds.append(cwd)
        if session:
            by_session.setdefault(session, cwd)
    chosen = {project: _choose(project, cwds) for project, cwds in by_project.items()}
    return {k: v for k, v in chosen.items() if v}, by_session


def name_rows(conn: sqlite3.Connection, rows: list[dict]) -> list[dict]:
    """Add `project_path` to every row with a `project` (a session row: where that session was started),
    or None when no transcript of it named its folder."""
    if not any("project" in row for row in rows):
        return rows
    projects, sessions = paths(conn)
    for row in rows:
        if "project" in row:
            row["project_path"] = sessions.get(row.get("session_id") or "") or projects.get(row["project"])
    return rows

