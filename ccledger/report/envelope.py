"""The one JSON shape every `--json` report prints, versioned so scripts can rely on it."""
from __future__ import annotations

import datetime as dt
import json

SCHEMA_VERSION = 1


def build(report: str, rows: list, totals: dict, skipped: dict, **extra: object) -> dict:
    body = {"schema_version": SCHEMA_VERSION, "report": report,
            "generated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rows": rows, "totals": totals, "skipped": skipped}
    body.update(extra)
    return body


def dumps(body: dict) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)
