"""The installer's command line, shared by the top-level install.py (from a checkout) and
`python -m ccledger.install` (from an installed environment, e.g. the plugin's /ccledger:statusline).

Errors are one line on stderr with a named exit code (ccledger.base.errors); --debug shows the traceback.
Standard library only.
"""
from __future__ import annotations

import argparse
import sys

from ..base.errors import ERROR, INTERRUPTED, CcledgerError
from . import installer, uninstaller


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, description="Install ccledger: an environment in ccledger's data folder, its hooks and "
        "status line in the Claude Code settings, and the history read into the ledger.")
    p.add_argument("--scope", choices=("user", "project"), default="user",
                   help="user: $CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json (default); "
                        "project: .claude/settings.json at the git root of the current folder")
    p.add_argument("--settings", metavar="PATH", help="edit this settings file instead")
    p.add_argument("--dry-run", action="store_true", help="print the change to the settings file; write nothing")
    p.add_argument("--uninstall", action="store_true",
                   help="remove ccledger's entries and give back the status line it replaced")
    p.add_argument("--yes", "-y", action="store_true", help="ask nothing (also the case when stdin is not a terminal)")
    p.add_argument("--no-ingest", action="store_true", help="do not read the existing history now")
    p.add_argument("--env-only", action="store_true",
                   help="only create or upgrade the environment and install the package (the plugin route)")
    p.add_argument("--statusline-only", action="store_true",
                   help="only add the status line (hooks come from the plugin)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--python", help=argparse.SUPPRESS)         # tests: an existing interpreter ...
    p.add_argument("--site-packages", help=argparse.SUPPRESS)  # ... and where it finds ccledger
    return p


def main(argv: list[str] | None = None, checkout: str | None = None, prog: str = "install.py") -> int:
    args = build_parser(prog).parse_args(argv)
    opts = installer.Options(
        checkout=checkout, scope=args.scope, settings=args.settings, dry_run=args.dry_run, yes=args.yes,
        no_ingest=args.no_ingest, env_only=args.env_only, statusline_only=args.statusline_only,
        python=args.python, site_packages=args.site_packages)
    try:
        return uninstaller.uninstall(opts) if args.uninstall else installer.install(opts)
    except CcledgerError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # stdout closed early (`| head`): what was done is done; say nothing more
        return ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {exc} (--debug shows the traceback)",
              file=sys.stderr)
        return ERROR
