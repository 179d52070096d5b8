"""`python -m ccledger.install`: the installer from an installed environment (no checkout)."""
import sys

from .cli import main

sys.exit(main(prog="python -m ccledger.install"))
