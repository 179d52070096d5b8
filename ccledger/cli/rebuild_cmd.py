"""`ccledger rebuild`: read every transcript again from the start, after a parser upgrade.

Rows of transcripts that still exist are re-derived; rows whose transcript is
gone (Claude Code deletes old ones) are kept, as are hook events, status line
readings and budget alerts, which no transcript holds. Natural keys make the
re-read free of double counting.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..base.errors import USAGE, CcledgerError
from ..ledger import db
from . import context


def confirmed(count: int) -> bool:
    """Ask on a terminal; anything but y/yes (an empty line, end of input) is no. Without a terminal nobody
    can answer, so the question is a usage error naming --yes rather than a silent yes or a bare EOFError."""
    if not sys.stdin.isatty():
        raise CcledgerError(f"rebuild re-reads {count:,} transcript files and asks first, but stdin is not a "
                            "terminal: pass --yes", USAGE)
    try:
        answer = input(f"Re-read {count:,} transcript files from the start? [y/N] ")
    except EOFError:  # Ctrl-D
        print()
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    context.require_claude_data()
    conn = context.open_ledger()
    present = [(file_id,) for file_id, path in conn.execute("SELECT id, path FROM files WHERE path LIKE '%.jsonl'")
               if os.path.exists(path)]
    if present and not args.yes and not confirmed(len(present)):  # a new ledger (the old one moved aside) has none
        print("Nothing changed.")
        return 0
    with db.transaction(conn):
        for table in ("api_calls", "context_items", "skipped"):
            conn.executemany(f"DELETE FROM {table} WHERE file_id=?", present)
        conn.executemany("UPDATE files SET offset=0, lines=0, size=0, inode=0, mtime_ns=0, head_crc=0,"
                         " first_ts_ms=NULL WHERE id=?", present)
        conn.execute("INSERT OR IGNORE INTO dirty_sessions SELECT DISTINCT session_id FROM tool_calls")
        conn.execute("DELETE FROM usage_rollup")
        conn.execute("DELETE FROM dirty_quarters")
    summary = context.catch_up(conn, quiet=False)
    conn.execute("INSERT OR IGNORE INTO dirty_quarters SELECT DISTINCT ts_ms / 900000 FROM api_calls")
    print(f"Rebuilt from {summary.files_read:,} transcript files: {summary.api_calls:,} API calls, "
          f"{summary.tool_calls:,} tool calls.")
    return 0
