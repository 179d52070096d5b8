"""`ccledger` argument parsing and dispatch.

Command modules are imported only when their command runs, so `report --json`
never pays for rich. Errors become one line on stderr and a named exit code;
`--debug` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..base.errors import ERROR, INTERRUPTED, CcledgerError

USAGE_REPORTS = ("daily", "weekly", "monthly", "session", "blocks", "models", "projects", "windows")
ATTRIBUTION_REPORTS = ("tools", "mcp", "agents")


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the versioned JSON envelope")
    p.add_argument("--since", metavar="DATE", help="first day to include (YYYY-MM-DD, inclusive)")
    p.add_argument("--until", metavar="DATE", help="last day to include (YYYY-MM-DD, inclusive)")
    p.add_argument("--timezone", "-z", metavar="TZ", help="IANA zone for dates (default: local)")
    p.add_argument("--project", metavar="NAME", help="only this project (folder name, path or part of it)")
    p.add_argument("--session", metavar="ID", help="only this session (id or its prefix)")
    p.add_argument("--no-ingest", action="store_true", help="do not read new transcript lines first")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccledger", description="A local ledger of every token Claude Code spends.")
    parser.add_argument("--version", action="version", version=f"ccledger {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ingest", help="read new transcript lines into the ledger")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    p.set_defaults(module="ingest_cmd")

    p = sub.add_parser("report", help="usage reports (tables or --json)")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind in USAGE_REPORTS:
        k = kinds.add_parser(kind, help=f"{kind} report")
        _report_options(k)
        k.add_argument("--breakdown", "-b", action="store_true", help="per-model rows")
        k.set_defaults(module="report_cmd")
    for kind in ATTRIBUTION_REPORTS:
        k = kinds.add_parser(kind, help=f"token attribution by {kind}")
        _report_options(k)
        if kind == "mcp":
            k.add_argument("--by-tool", action="store_true", help="one row per MCP tool, not per server")
        k.set_defaults(module="attribution_cmd")

    p = sub.add_parser("doctor", help="paths, ledger health, skipped lines")
    p.add_argument("--json", action="store_true")
    p.add_argument("--fix", action="store_true", help="rewrite settings entries that name a file an upgrade moved")
    p.set_defaults(module="doctor_cmd")

    p = sub.add_parser("statusline", help="render the status line from Claude Code's JSON on stdin")
    p.add_argument("--preview", action="store_true", help="render the bundled sample payloads")
    p.set_defaults(module="statusline_cmd")

    p = sub.add_parser("config", help="the config file: where it is, its effective values, whether it is valid")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, text in (("path", "print the config file's path"),
                         ("show", "the effective config (defaults + file) as TOML"),
                         ("check", "validate the file: exit 1 with one line per problem")):
        a = actions.add_parser(action, help=text)
        a.add_argument("--json", action="store_true")
        a.set_defaults(module="config_cmd")

    p = sub.add_parser("budget", help="limits and warnings: set, show, override")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = actions.add_parser("set", help="set limits, e.g. session.tokens=2000000 session.action=deny")
    a.add_argument("assignments", nargs="+", metavar="KEY=VALUE", help="dotted keys under [budgets]")
    a.add_argument("--project", metavar="PATH", help="set the override for this project folder instead")
    a = actions.add_parser("unset", help="remove keys or whole limits, e.g. session.action or session")
    a.add_argument("keys", nargs="+", metavar="KEY", help="dotted keys under [budgets]")
    a.add_argument("--project", metavar="PATH", help="unset in this project folder's override instead")
    a = actions.add_parser("show", help="the configured limits as a table")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("override", help="lift ask/deny/block for a while (--for 1h) or end that (--clear)")
    which = a.add_mutually_exclusive_group()
    which.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 30m, 1h, 2h30m, 1d")
    which.add_argument("--clear", action="store_true", help="end the override now")
    a.add_argument("--reason", metavar="TEXT", help="recorded with the override")
    for action, text in (("status", "each limit now, its forecast, which actions are armed"),
                         ("check", "exit 3 when a limit is crossed (for scripts)")):
        a = actions.add_parser(action, help=text)
        a.add_argument("--json", action="store_true")
        a.add_argument("--session", metavar="ID", help="for session limits (default: the latest session)")
        a.add_argument("--cwd", metavar="PATH", help="whose project overrides apply (default: here)")
    p.set_defaults(module="budget_cmd")

    p = sub.add_parser("rebuild", help="re-derive the ledger from the transcripts (after a parser upgrade)")
    p.add_argument("--yes", action="store_true")
    p.set_defaults(module="rebuild_cmd")
    return parser


VALUE_OPTIONS = ("--project", "--session")


def _join_dash_values(argv: list[str]) -> list[str]:
    """`--project -home-me-repo`: Claude Code's project folders start with '-', which argparse would
    take for an option (ccusage has this bug); bind such a value to its option."""
    out: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg in VALUE_OPTIONS:
            value = next(it, None)
            out.append(arg if value is None else f"{arg}={value}")
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(sys.argv[1:] if argv is None else argv))
    if not getattr(args, "module", None):
        parser.print_help()
        return 0
    try:
        module = importlib.import_module(f"ccledger.cli.{args.module}")
        return int(module.run(args) or 0)
    except CcledgerError as exc:
        print(f"ccledger: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        from ..base import errlog
        from ..ledger import faults
        named = faults.named(exc)  # a fault from outside (permissions, space, damage, a lock): not a bug
        if named is not None:
            errlog.record("cli", str(named), False)
            print(f"ccledger: {named}", file=sys.stderr)
            return named.code
        where = errlog.record("cli", exc)
        print(f"ccledger: unexpected error: {exc} (details in {where}; --debug shows the traceback)",
              file=sys.stderr)
        return ERROR
    finally:
        context = sys.modules.get("ccledger.cli.context")  # loaded by the commands that open the ledger
        if context is not None:
            context.close_opened()


if __name__ == "__main__":
    sys.exit(main())
