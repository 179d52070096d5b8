"""`ccledger report tools|mcp|agents`: which tool, MCP server and subagent really consumed the tokens."""
from __future__ import annotations

import argparse

from ..report import envelope, owners, usage
from .report_cmd import prepare


def run(args: argparse.Namespace) -> int:
    conn, flt = prepare(args)
    if args.kind == "tools":
        rows = owners.tools(conn, flt)
    elif args.kind == "mcp":
        rows = owners.mcp(conn, flt, args.by_tool)
    else:
        rows = owners.agents(conn, flt)
    rows = usage.arrange(rows, args.kind, getattr(args, "order", None))
    totals = owners.totals(rows)
    if args.kind == "tools":
        totals["context_tokens"] = owners.context_tokens(conn, flt)
    skipped = usage.skipped(conn, flt)
    if args.json:
        print(envelope.dumps(envelope.build(args.kind, rows, totals, skipped, timezone=flt.zone.name)))
        return 0
    from ..render import tables
    out = tables.console(args)
    out.print(tables.owners_table(args.kind, rows, totals, getattr(args, "by_tool", False),
                                  compact=getattr(args, "compact", False), order=getattr(args, "order", None)))
    if args.kind == "tools" and totals.get("context_tokens"):
        out.print(f"Carried tokens add up to every input token of every request in scope "
                  f"({totals['carried_tokens']:,} of {totals['context_tokens']:,}). Carried = tokens a result "
                  f"added x later requests that re-read it.", style="dim", markup=False)
    tables.footer_notes(out, skipped, [])
    return 0
