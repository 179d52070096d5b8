"""`ccledger setup`: what `python3 install.py` does, for a ccledger installed with pipx or `uv tool
install` (or into any environment the user manages). Same installer, same options; the hooks and the
status line run this interpreter with this package, since the environment already exists."""
from __future__ import annotations

import argparse

from ..install import cli as install_cli


def run(args: argparse.Namespace) -> int:
    return install_cli.run(args, checkout=None, prog="ccledger setup", managed=True)
