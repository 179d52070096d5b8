"""`ccledger doctor`: where everything is, whether the set-up works and the ledger is healthy, what was
skipped and why. Every problem comes with its fix; exit 1 when there is one.

The set-up checks (hooks and status line registered, their files present, the hooks runnable)
live in ccledger.install.verify, beside the installer that writes what they check.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time

from ..hot import paths, schema
from ..install import verify
from . import context

COUNTED = ("api_calls", "tool_calls", "context_items", "files")


def _size(path: str) -> int:
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def _ago(ms: int) -> str:
    seconds = max(0, time.time() - ms / 1000)
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return f"{int(seconds)} s ago"


def ledger_checks(conn: sqlite3.Connection, integrity: str, skipped: dict) -> list[verify.Check]:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    checks = [verify.Check("ledger", integrity == "ok" and version == schema.LATEST,
                           f"integrity {integrity}, schema {version} of {schema.LATEST}",
                           None if integrity == "ok" else "move the ledger aside and run `ccledger rebuild`: "
                           "it re-derives everything from the transcripts")]
    last = conn.execute("SELECT MAX(ts_ms) FROM readings").fetchone()[0]
    # Informational: -p sessions, the SDK and IDEs never run the status line, so no age is wrong.
    checks.append(verify.Check("status line readings", True,
                               f"last reading {_ago(last)}" if last else "no reading yet (the status line "
                               "records one each time Claude Code shows it)"))
    lines = sum(skipped.values())
    checks.append(verify.Check("skipped lines", True, f"{lines:,} transcript lines could not be used"
                               if lines else "none"))
    return checks


def facts(conn: sqlite3.Connection) -> dict:
    ledger = paths.ledger_path()
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED}
    skipped_files = [
        {"path": p, "reason": r, "count": n} for p, r, n in conn.execute(
            "SELECT f.path, s.reason, s.count FROM skipped s JOIN files f ON f.id = s.file_id "
            "ORDER BY s.count DESC, f.path")]
    integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
    skipped = {r: n for r, n in conn.execute("SELECT reason, SUM(count) FROM skipped GROUP BY reason")}
    checks = verify.setup_checks() + ledger_checks(conn, integrity, skipped)
    return {
        "paths": {"ledger": ledger, "config": paths.config_path(), "error_log": paths.error_log_path(),
                  "claude_dirs": paths.claude_dirs(), "claude_settings": os.path.join(
                      paths.claude_settings_dir(), "settings.json"), "venv": paths.venv_dir()},
        "ledger": {"bytes": _size(ledger), "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
                   "code_schema_version": schema.LATEST, "integrity": integrity, "rows": counts},
        "skipped": skipped,
        "skipped_by_file": skipped_files,
        "checks": [c.as_dict() for c in checks],
        "problems": ([] if integrity == "ok" else [f"integrity check failed: {integrity}"]) +
                    [f"{c.name}: {c.detail}" for c in checks if not c.ok and c.name != "ledger"],
    }


def print_checks(checks: list[dict]) -> None:
    for c in checks:
        print(f"{'ok' if c['ok'] else 'PROBLEM':<11} {c['name']}: {c['detail']}")
        if not c["ok"] and c["fix"]:
            print(f"{'':<11} fix: {c['fix']}")


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
    print(f"settings    {p['claude_settings']}")
    print("rows        " + ", ".join(f"{name} {n:,}" for name, n in led["rows"].items()))
    if report["skipped"]:
        print("skipped     " + ", ".join(f"{r} {n:,}" for r, n in sorted(report["skipped"].items())))
        for entry in report["skipped_by_file"][:10]:
            print(f"            {entry['count']:>6,} {entry['reason']:<16} {entry['path']}")
    else:
        print("skipped     none")
    print()
    print_checks(report["checks"])  # the "ledger" check carries an integrity failure
    return 1 if report["problems"] else 0
