"""The installer's command line, shared by the top-level install.py (from a checkout),
`python -m ccledger.install` (from an installed environment, e.g. the plugin's /ccledger:statusline)
and `ccledger setup` (a package installed with pipx or `uv tool install`: the same options, the same
installer, with the running interpreter and the package's own folder instead of a venv it makes).

Errors are one line on stderr with a named exit code (ccledger.base.errors); --debug shows the traceback.
Standard library only.
"""
from __future__ import annotations

import argparse
import os
import sys

from ..base.errors import ERROR, INTERRUPTED, USAGE, CcledgerError

DESCRIPTION = ("Install ccledger: an environment in ccledger's data folder, its hooks and status line in the "
               "Claude Code settings, and the history read into the ledger.")
SETUP_DESCRIPTION = ("Register ccledger's hooks and status line in the Claude Code settings, run by this "
                     "installed package (pipx, uv tool, a venv), and read the history into the ledger. "
                     "What `python3 install.py` does from a checkout, without making an environment.")


def add_options(p: argparse.ArgumentParser, managed: bool = False) -> None:
    """The installer's options, on install.py's parser or on `ccledger setup`'s (`managed`: no venv to make)."""
    p.add_argument("--scope", choices=("user", "project"), default="user",
                   help="user: $CLAUDE_CONFIG_DIR/settings.json or ~/.claude/settings.json (default); "
                        "project: .claude/settings.json at the git root of the current folder")
    p.add_argument("--settings", metavar="PATH", help="edit this settings file instead")
    p.add_argument("--dry-run", action="store_true", help="print the change to the settings file; write nothing")
    p.add_argument("--uninstall", action="store_true",
                   help="remove ccledger's entries and give back the status line it replaced")
    p.add_argument("--yes", "-y", action="store_true", help="ask nothing (also the case when stdin is not a terminal)")
    p.add_argument("--no-ingest", action="store_true", help="do not read the existing history now")
    if not managed:
        p.add_argument("--env-only", action="store_true",
                       help="only create or upgrade the environment and install the package (the plugin route)")
        p.add_argument("--force", action="store_true",
                       help="pip install again even when the environment already holds this checkout")
    p.add_argument("--statusline-only", action="store_true",
                   help="only add the status line (hooks come from the plugin)")
    p.add_argument("--python", help=argparse.SUPPRESS)         # tests: an existing interpreter ...
    p.add_argument("--site-packages", help=argparse.SUPPRESS)  # ... and where it finds ccledger


def build_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_options(p)
    p.add_argument("--doctor", action="store_true",
                   help="check the set-up (`ccledger doctor`) from this checkout, also when the environment is "
                        "gone and `ccledger` with it; names what is missing and how to rebuild it")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def package_folder() -> str:
    """The folder that holds the running `ccledger` package (site-packages, or a checkout for an editable install)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str] | None = None, checkout: str | None = None, prog: str = "install.py") -> int:
    args = build_parser(prog).parse_args(argv)
    if args.doctor:  # install.py runs it before this parser: the doctor is the CLI's, which this room may not import
        print(f"{prog}: --doctor runs from a checkout: python3 install.py --doctor", file=sys.stderr)
        return USAGE
    return run(args, checkout, prog)


def run(args: argparse.Namespace, checkout: str | None, prog: str, managed: bool = False) -> int:
    """Install or uninstall with parsed options; errors are one line and a named exit code.
    `managed` (`ccledger setup`): no venv is made; the installer is given this interpreter (sys.executable)
    and the folder holding this package, as pipx or uv installed them (entries.py names what the hooks run)."""
    from . import installer, uninstaller  # here, not at import: `ccledger` builds this parser on every run

    python, site_packages = args.python, args.site_packages
    if managed and python is None:
        python, site_packages = sys.executable, site_packages or package_folder()
    opts = installer.Options(
        checkout=checkout, scope=args.scope, settings=args.settings, dry_run=args.dry_run, yes=args.yes,
        no_ingest=args.no_ingest, env_only=getattr(args, "env_only", False), statusline_only=args.statusline_only,
        python=python, site_packages=site_packages, force=getattr(args, "force", False), prog=prog,
        managed=managed)
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
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {exc} (--debug shows the traceback)",
              file=sys.stderr)
        return ERROR
