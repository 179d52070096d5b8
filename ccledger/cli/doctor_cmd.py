"""`ccledger doctor`: where everything is, whether the ledger is healthy, what was skipped and why."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3

from ..hot import paths, schema
from . import context

COUNTED = ("api_calls", "tool_calls", "context_items", "files")


def _size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def facts(conn: sqlite3.Connection) -> dict:
    ledger = paths.ledger_path()
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED}
    skipped_files = [
        {"path": p, "reason": r, "count": n} for p, r, n in conn.execute(
            "SELECT f.path, s.reason, s.count FROM skipped s JOIN files f ON f.id = s.file_id "
            "ORDER BY s.count DESC, f.path")]
    integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
    return {
        "paths": {"ledger": ledger, "config": paths.config_path(), "error_log": paths.error_log_path(),
                  "claude_dirs": paths.claude_dirs(), "claude_settings": os.path.join(
                      paths.claude_settings_dir(), "settings.json")},
        "ledger": {"bytes": _size(ledger), "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
                   "code_schema_version": schema.LATEST, "integrity": integrity, "rows": counts},
        "skipped": {r: n for r, n in conn.execute("SELECT reason, SUM(count) FROM skipped GROUP BY reason")},
        "skipped_by_file": skipped_files,
        "problems": [] if integrity == "ok" else [f"integrity check failed: {integrity}"],
    }


def run(args: argparse.Namespace) -> int:
    conn = context.open_ledger()
    context.catch_up(conn, quiet=True)
    report = facts(conn)
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "doctor", **report}, indent=2))
        return 1 if report["problems"] else 0
    p, led = report["paths"], report["ledger"]
    print(f"ledger      {p['ledger']} ({led['bytes'] / 1e6:.1f} MB, schema {led['schema_version']}, "
          f"integrity {led['integrity']})")
    print(f"config      {p['config']}{'' if os.path.exists(p['config']) else ' (not created yet)'}")
    print(f"error log   {p['error_log']}")
    print(f"transcripts {', '.join(p['claude_dirs']) or 'none found (set CLAUDE_CONFIG_DIR?)'}")
    print("rows        " + ", ".join(f"{name} {n:,}" for name, n in led["rows"].items()))
    if report["skipped"]:
        print("skipped     " + ", ".join(f"{r} {n:,}" for r, n in sorted(report["skipped"].items())))
        for entry in report["skipped_by_file"][:10]:
            print(f"            {entry['count']:>6,} {entry['reason']:<16} {entry['path']}")
    else:
        print("skipped     none")
    for problem in report["problems"]:
        print(f"PROBLEM     {problem}")
    return 1 if report["problems"] else 0
