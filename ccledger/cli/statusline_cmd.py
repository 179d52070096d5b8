"""`ccledger statusline`: the status line itself (stdin -> one line), or `--preview` on real sample payloads."""
from __future__ import annotations

import argparse
import os
import time

from ..base.fastjson import loads
from ..statusline import entry as statusline
from ..statusline import payload as status_payload

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "samples", "statusline")
SHOWN_LEFT_MS = (2 * 60 + 13) * 60_000  # preview a window 2h13m before its reset


def preview() -> int:
    """Render every bundled payload (Claude Code 1.0.88 to 2.1.332) against your own ledger; records nothing."""
    for name in sorted(os.listdir(SAMPLES)):
        with open(os.path.join(SAMPLES, name), "rb") as handle:
            raw = handle.read()
        status = status_payload.parse(loads(raw))
        now = int(time.time() * 1000)
        if status.five_hour_reset_ms and status.five_hour_reset_ms < now:
            now = status.five_hour_reset_ms - SHOWN_LEFT_MS  # an old sample: look at it when it was live
        print(f"{name[:-5]}:")
        for line in statusline.build(raw, now, record=False):
            print(f"  {line}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.preview:
        return preview()
    return statusline.main([])
