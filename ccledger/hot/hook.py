"""Claude Code hook entry (stub: the full recorder lands with the hooks issue)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    try:
        sys.stdin.buffer.read()
    except Exception:
        pass
    return 0


if __name__ == "__main__":  # run as `python -S .../ccledger/hot/hook.py`: make the package importable
    import os
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from ccledger.hot.hook import main as _main
    sys.exit(_main())
