"""`ccledger doctor`: where everything is, whether the set-up works and the ledger is healthy, what was
skipped and why. Every problem comes with its fix; exit 1 when there is one.

It runs in every broken state, which is what it is for: a ledger that cannot be written (read-only,
full disk, locked) is read as it is, and one that cannot be read at all (damaged, another program's
file, a newer schema) is named with its fix while every other check still runs.

The set-up checks (hooks and status line registered, their files present, the hooks runnable)
live in ccledger.install.verify, beside the installer that writes what they check.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time

from ..base import paths
from ..base.errors import CcledgerError
from ..install import verify
from ..ledger import faults, schema
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


def recording_check(fault: CcledgerError | None) -> verify.Check:
    """Can new data be written? (Reports still answer from what the ledger holds when not.)"""
    if fault is not None:
        return verify.Check("recording", False, f"new data cannot be recorded: {fault.cause}", fault.fix)
    free = faults.free_bytes(paths.ledger_path())
    return verify.Check("recording", True, "the ledger can be written" +
                        ("" if free is None else f" ({free / 1e9:,.1f} GB free)"))


def config_check() -> verify.Check:
    """Does config.toml parse and validate? When it does not, the hooks run on the defaults (no budgets):
    say where the mistake is, by line."""
    from ..config import model as config_model
    path = paths.config_path()
    if not os.path.exists(path):
        return verify.Check("config", True, f"no {path}: the defaults apply")
    try:
        config_model.load(path)
    except config_model.ConfigError as exc:
        issue = exc.issues[0]
        where = f"line {issue.line}" if issue.line else "the file"
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        return verify.Check("config", False, f"{path} {where}: {issue}{more}; until it is fixed budgets are off "
                            "and the defaults apply", f"edit {where} of {path}, then `ccledger config check`")
    return verify.Check("config", True, f"{path} is valid")


def window_check(conn: sqlite3.Connection) -> verify.Check:
    """Informational: why the status line shows `5h ?` (no share of the 5-hour window is known yet)."""
    from ..ledger import windows
    if conn.execute("SELECT 1 FROM readings WHERE five_hour_pct IS NOT NULL LIMIT 1").fetchone():
        return verify.Check("5-hour window", True, "calibrated from Claude Code's rate limits" if
                            windows.cached_calibration() else "Claude Code reports its rate limits")
    return verify.Check("5-hour window", True, "no share known yet, so the status line shows `5h ?` and the time "
                        "left: Claude Code sends rate limits to subscribers only (API-key use has no 5-hour "
                        "limit), and ccledger estimates the share once a reading with them has calibrated it")


def ledger_checks(conn: sqlite3.Connection, integrity: str, skipped: dict) -> list[verify.Check]:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    checks = [verify.Check("ledger", integrity == "ok" and version == schema.LATEST,
                           f"integrity {integrity}, schema {version} of {schema.LATEST}",
                           None if integrity == "ok" else faults.damaged(paths.ledger_path(), integrity).fix +
                           " (it re-derives everything from the transcripts)")]
    last = conn.execute("SELECT MAX(ts_ms) FROM readings").fetchone()[0]
    # Informational: -p sessions, the SDK and IDEs never run the status line, so no age is wrong.
    checks.append(verify.Check("status line readings", True,
                               f"last reading {_ago(last)}" if last else "no reading yet (the status line "
                               "records one each time Claude Code shows it)"))
    checks.append(window_check(conn))
    lines = sum(skipped.values())
    checks.append(verify.Check("skipped lines", True, f"{lines:,} transcript lines could not be used"
                               if lines else "none"))
    return checks


def ledger_facts(conn: sqlite3.Connection) -> dict:
    """What the ledger holds; raises (named by context.named) when it turns out unreadable half-way."""
    return {
        "schema_version": conn.execute("PRAGMA user_version").fetchone()[0],
        "integrity": conn.execute("PRAGMA quick_check").fetchone()[0],
        "rows": {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in COUNTED},
        "skipped": {r: n for r, n in conn.execute("SELECT reason, SUM(count) FROM skipped GROUP BY reason")},
        "skipped_by_file": [{"path": p, "reason": r, "count": n} for p, r, n in conn.execute(
            "SELECT f.path, s.reason, s.count FROM skipped s JOIN files f ON f.id = s.file_id "
            "ORDER BY s.count DESC, f.path")],
    }


def facts(conn: sqlite3.Connection | None, fault: CcledgerError | None = None) -> dict:
    """Everything doctor reports. `conn` None: the ledger cannot be read, and `fault` says why;
    `conn` with a `fault`: it was read as it is, without new data."""
    ledger = paths.ledger_path()
    held = None
    broken = fault if conn is None else None  # what makes the ledger unreadable
    if conn is not None:
        try:
            held = ledger_facts(conn)
        except Exception as exc:
            broken = context.named(exc)
            if not isinstance(broken, CcledgerError):
                raise
    if held is not None:
        checks = ledger_checks(conn, held["integrity"], held["skipped"])
        checks.insert(1, recording_check(fault))
    else:
        checks = [verify.Check("ledger", False, broken.cause, broken.fix),
                  verify.Check("recording", False, "nothing new is recorded until the ledger above is fixed")]
    checks = verify.setup_checks() + [config_check()] + checks
    held = held or {"schema_version": None, "integrity": None, "rows": None, "skipped": {}, "skipped_by_file": []}
    return {
        "paths": {"ledger": ledger, "config": paths.config_path(), "error_log": paths.error_log_path(),
                  "claude_dirs": paths.claude_dirs(), "claude_settings": os.path.join(
                      paths.claude_settings_dir(), "settings.json"), "venv": paths.venv_dir()},
        "ledger": {"bytes": _size(ledger), "schema_version": held["schema_version"],
                   "code_schema_version": schema.LATEST, "integrity": held["integrity"], "rows": held["rows"],
                   "writable": fault is None and broken is None},
        "skipped": held["skipped"],
        "skipped_by_file": held["skipped_by_file"],
        "checks": [c.as_dict() for c in checks],
        "problems": ([] if held["integrity"] in ("ok", None) else [f"integrity check failed: {held['integrity']}"]) +
                    [f"{c.name}: {c.detail}" for c in checks if not c.ok and (c.name != "ledger" or broken)],
    }


def print_checks(checks: list[dict]) -> None:
    for c in checks:
        print(f"{'ok' if c['ok'] else 'PROBLEM':<11} {c['name']}: {c['detail']}")
        if not c["ok"] and c["fix"]:
            print(f"{'':<11} fix: {c['fix']}")


def run(args: argparse.Namespace) -> int:
    if args.fix:
        from ..install import relocate
        for path in verify.settings_files():
            try:
                fixed = relocate.fix(path)
            except CcledgerError as exc:
                print(f"ccledger: {exc}", file=sys.stderr)
                continue
            if fixed:
                print(f"fixed       {fixed} moved path(s) in {path} (the file before is kept as .ccledger-backup)")
    conn, fault = None, None
    try:
        conn, fault = context.open_for_reading(quiet=True)
    except CcledgerError as exc:  # not readable at all: every other check still runs
        fault = exc
    try:
        report = facts(conn, fault)
    finally:
        if conn is not None:
            conn.close()
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "doctor", **report}, indent=2))
        return 1 if report["problems"] else 0
    p, led = report["paths"], report["ledger"]
    print(f"ledger      {p['ledger']} ({led['bytes'] / 1e6:.1f} MB, " + (
        f"schema {led['schema_version']}, integrity {led['integrity']})" if led["rows"] is not None
        else "cannot be read)"))
    print(f"config      {p['config']}{'' if os.path.exists(p['config']) else ' (not created yet)'}")
    print(f"error log   {p['error_log']}")
    print(f"transcripts {', '.join(p['claude_dirs']) or 'none found (set CLAUDE_CONFIG_DIR?)'}")
    print(f"settings    {p['claude_settings']}")
    print("rows        " + (", ".join(f"{name} {n:,}" for name, n in led["rows"].items()) if led["rows"] is not None
                             else "unknown"))
    if report["skipped"]:
        print("skipped     " + ", ".join(f"{r} {n:,}" for r, n in sorted(report["skipped"].items())))
        for entry in report["skipped_by_file"][:10]:
            print(f"            {entry['count']:>6,} {entry['reason']:<16} {entry['path']}")
    else:
        print("skipped     none")
    print()
    print_checks(report["checks"])  # the "ledger" check carries an integrity failure
    return 1 if report["problems"] else 0
