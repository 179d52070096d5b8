"""`ccledger report daily|weekly|monthly|session|blocks|models|projects|windows` (and `ccledger daily` ...)."""
from __future__ import annotations

import argparse
import sqlite3

from ..report import envelope, periods, usage
from . import context
from .main import PERIODS

KEYS = {"daily": [("Date", "date")], "weekly": [("Week of", "week")], "monthly": [("Month", "month")],
        "session": [("Session", "session_id"), ("Project", "project"), ("Last active", "last_active")],
        "projects": [("Project", "project")], "models": [("Model", "model")]}


def filters(args: argparse.Namespace) -> usage.Filters:
    zone = periods.zone(args.timezone)
    since = args.since
    if getattr(args, "last", None) is not None:  # --last N: the first day of the last N periods
        since = periods.last_start(PERIODS.get(args.kind, "day"), args.last).isoformat()  # other reports: days
    since_ms, until_ms = periods.bounds(zone, since, args.until)
    return usage.Filters(zone, since_ms, until_ms, args.project, args.session)


def prepare(args: argparse.Namespace) -> tuple[sqlite3.Connection, usage.Filters]:
    """The filters and the ledger, caught up unless --no-ingest; a ledger that cannot be written (read-only,
    full disk, locked) is read as it is, and stderr says in one line why new data was not read in. With no
    Claude Code data folder to read, the report refuses (an empty table would read as "no usage")."""
    flt = filters(args)  # bad arguments fail before any work
    if not args.no_ingest:
        context.require_claude_data()
    conn, fault = context.open_for_reading(ingest=not args.no_ingest, quiet=args.json)
    if fault is not None and not args.no_ingest:
        context.say_not_read_in(fault)
    return conn, flt


def rows_for(conn: sqlite3.Connection, kind: str, flt: usage.Filters, breakdown: bool,
             instances: bool = False) -> list[dict]:
    """`instances` (-i): a period report split into one row per project within each period."""
    if kind in PERIODS:
        return usage.by_period(conn, flt, PERIODS[kind], breakdown, per_project=instances)
    if kind == "session":
        return usage.by_session(conn, flt, breakdown)
    if kind == "projects":
        return usage.by_project(conn, flt, breakdown)
    if kind == "models":
        return usage.by_model(conn, flt)
    if kind == "windows":
        from ..report import windowing  # each report imports only what it reads
        return windowing.rows(conn, flt)
    from ..report import blocks
    return blocks.blocks(conn, flt)


def run(args: argparse.Namespace) -> int:
    conn, flt = prepare(args)
    extra = {}
    if args.kind == "windows":  # first: the estimated window below uses it
        from ..ledger import windows
        try:
            extra["calibration"] = windows.refresh_calibration(conn, force=True)
        except OSError:  # its cache files cannot be written (read-only or full disk): computed all the same
            extra["calibration"] = windows.calibrate(conn, None)[0]
    rows = rows_for(conn, args.kind, flt, args.breakdown, getattr(args, "instances", False))
    rows = usage.arrange(rows, args.kind, getattr(args, "order", None))
    totals = {} if args.kind == "windows" else usage.totals([r for r in rows if not r.get("is_gap")])
    skipped = usage.skipped(conn, flt)
    unpriced = usage.unpriced_models(conn, flt)
    if args.json:
        print(envelope.dumps(envelope.build(args.kind, rows, totals, skipped, timezone=flt.zone.name,
                                            unpriced_models=unpriced, **extra)))
        return 0
    from ..render import tables
    out = tables.console(args)
    for row in rows:
        if row.get("last_activity"):
            row["last_active"] = tables.local_time(row["last_activity"], flt.zone, "%Y-%m-%d %H:%M")
    if args.kind == "blocks":
        out.print(tables.blocks_table(rows, flt.zone, getattr(args, "order", None)))
    elif args.kind == "windows":
        out.print(tables.windows_table(rows, flt.zone))
        tables.calibration_note(out, extra["calibration"])
    else:
        title = tables.usage_title(args.kind, flt.zone.name, getattr(args, "order", None))
        keys = KEYS[args.kind] + ([("Project", "project")] if getattr(args, "instances", False) else [])
        out.print(tables.usage_table(title, keys, rows, totals, args.breakdown,
                                     models=args.kind != "models", compact=getattr(args, "compact", False)))
    tables.footer_notes(out, skipped, unpriced)
    return 0
