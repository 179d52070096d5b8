"""Claude Code status line entry (stub: the full line lands with the status line issue)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:
        sys.stdin.buffer.read()
    except Exception:
        pass
    print("ccledger")
    return 0

