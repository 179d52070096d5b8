"""`ccledger report daily|weekly|monthly|session|blocks|models|projects`."""
from __future__ import annotations

import argparse
import sqlite3

from ..ledger import windows
from ..report import blocks, envelope, periods, usage, windowing
from . import context

KEYS = {"daily": [("Date", "date")], "weekly": [("Week of", "week")], "monthly": [("Month", "month")],
        "session": [("Session", "session_id"), ("Project", "project"), ("Last active", "last_active")],
        "projects": [("Project", "project")], "models": [("Model", "model")]}


def filters(args: argparse.Namespace) -> usage.Filters:
    zone = periods.zone(args.timezone)
    since, until = periods.bounds(zone, args.since, args.until)
    return usage.Filters(zone, since, until, args.project, args.session)


def prepare(args: argparse.Namespace) -> tuple[sqlite3.Connection, usage.Filters]:
    """The filters and the ledger, caught up unless --no-ingest; a ledger that cannot be written (read-only,
    full disk, locked) is read as it is, and stderr says in one line why new data was not read in."""
    flt = filters(args)  # bad arguments fail before any work
    conn, fault = context.open_for_reading(ingest=not args.no_ingest, quiet=args.json)
    if fault is not None and not args.no_ingest:
        context.say_not_read_in(fault)
    return conn, flt


def rows_for(conn: sqlite3.Connection, kind: str, flt: usage.Filters, breakdown: bool) -> list[dict]:
    if kind in ("daily", "weekly", "monthly"):
        return usage.by_period(conn, flt, {"daily": "day", "weekly": "week", "monthly": "month"}[kind], breakdown)
    if kind == "session":
        return usage.by_session(conn, flt, breakdown)
    if kind == "projects":
        return usage.by_project(conn, flt, breakdown)
    if kind == "models":
        return usage.by_model(conn, flt)
    if kind == "windows":
        return windowing.rows(conn, flt)
    return blocks.blocks(conn, flt)


def run(args: argparse.Namespace) -> int:
    conn, flt = prepare(args)
    extra = {}
    if args.kind == "windows":  # first: the estimated window below uses it
        try:
            extra["calibration"] = windows.refresh_calibration(conn, force=True)
        except OSError:  # its cache files cannot be written (read-only or full disk): computed all the same
            extra["calibration"] = windows.calibrate(conn, None)[0]
    rows = rows_for(conn, args.kind, flt, args.breakdown)
    totals = {} if args.kind == "windows" else usage.totals([r for r in rows if not r.get("is_gap")])
    skipped = usage.skipped(conn)
    unpriced = usage.unpriced_models(conn, flt)
    if args.json:
        print(envelope.dumps(envelope.build(args.kind, rows, totals, skipped, timezone=flt.zone.name,
                                            unpriced_models=unpriced, **extra)))
        return 0
    from ..render import tables
    out = tables.console()
    for row in rows:
        if row.get("last_activity"):
            row["last_active"] = tables.local_time(row["last_activity"], flt.zone, "%Y-%m-%d %H:%M")
    if args.kind == "blocks":
        out.print(tables.blocks_table(rows, flt.zone))
    elif args.kind == "windows":
        out.print(tables.windows_table(rows, flt.zone))
        tables.calibration_note(out, extra["calibration"])
    else:
        title = f"Claude Code usage, {args.kind}" + (f" ({flt.zone.name} time)" if args.kind != "models" else "")
        out.print(tables.usage_table(title, KEYS[args.kind], rows, totals, args.breakdown,
                                     models=args.kind != "models", width=out.width))
    tables.footer_notes(out, skipped, unpriced)
    return 0
