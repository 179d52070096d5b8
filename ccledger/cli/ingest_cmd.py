"""`ccledger ingest`: catch up on every transcript and say what was read and what was skipped."""
from __future__ import annotations

import argparse
import json
import time

from ..report import usage
from . import context


def run(args: argparse.Namespace) -> int:
    conn = context.open_ledger()
    started = time.monotonic()
    summary = context.catch_up(conn, quiet=args.quiet or args.json)
    elapsed = time.monotonic() - started
    body = {"files": summary.files, "files_read": summary.files_read, "bytes": summary.bytes,
            "lines": summary.lines, "api_calls": summary.api_calls, "tool_calls": summary.tool_calls,
            "restarted_files": summary.restarts, "busy_files": summary.busy, "skipped": summary.skipped,
            "seconds": round(elapsed, 3)}
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "ingest", **body}, indent=2))
    elif not args.quiet:
        print(f"{summary.files:,} transcript files, {summary.files_read:,} with new data: "
              f"{summary.bytes / 1e6:,.1f} MB, {summary.lines:,} lines, {summary.api_calls:,} API calls, "
              f"{summary.tool_calls:,} tool calls in {elapsed:.1f}s.")
        if summary.skipped:
            detail = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.skipped.items(), key=lambda kv: -kv[1]))
            print(f"Skipped {sum(summary.skipped.values()):,} lines: {detail}.")
        if summary.busy:
            print(f"{len(summary.busy)} file(s) were being read by another ccledger process; they are left to it.")
        total = usage.skipped(conn)
        if total and total != summary.skipped:
            print(f"Ledger total skipped lines: {sum(total.values()):,} (ccledger doctor lists them).")
    return 0
