"""Running the hot-path entries exactly as Claude Code does: a fresh process, payload on stdin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LAUNCH = REPO / "ccledger" / "launch.py"


def run_entry(which: str, payload: bytes | str | dict, env: dict | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess:
    data = json.dumps(payload).encode() if isinstance(payload, dict) else (
        payload.encode() if isinstance(payload, str) else payload)
    return subprocess.run([sys.executable, "-S", str(LAUNCH), which], input=data, capture_output=True,
                          env=dict(os.environ, **(env or {})), timeout=timeout)


def error_lines() -> list[str]:
    log = Path(os.environ["CCLEDGER_HOME"]) / "logs" / "errors.log"
    if not log.exists():
        return []
    return [line for line in log.read_text().splitlines() if line and not line.startswith("    ")]
