#!/usr/bin/env python3
"""One-command set-up of ccledger for Claude Code, from a checkout.

    python3 install.py              # environment + hooks + status line + history, then today's report
    python3 install.py --dry-run    # show the change to settings.json, write nothing
    python3 install.py --uninstall  # remove ccledger's entries, give back your own status line

Standard library only: it runs before anything is installed. The logic lives in
ccledger/install/ (shared with `ccledger doctor`); `--help` lists every option.
"""
import os
import sys

if sys.version_info < (3, 10):
    sys.exit("install.py: ccledger needs Python 3.10 or newer; this is %d.%d (%s)"
             % (sys.version_info[0], sys.version_info[1], sys.executable))

CHECKOUT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, CHECKOUT)

from ccledger.install.cli import main  # noqa: E402  (needs the checkout on sys.path)

if __name__ == "__main__":
    sys.exit(main(checkout=CHECKOUT))
