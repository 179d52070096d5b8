"""The [statusline] table: its defaults, and the per-key check the hot path applies.

The CLI validates the whole file with pydantic (config/model.py, built on these defaults); the status
line applies the same rule here with the standard library, key by key, because a mistake in one key
must cost that key, not the line.
"""
from __future__ import annotations

# The budget mark leads: Claude Code cuts the end of a line that does not fit, and it is the segment that
# tells a call or prompt may be refused (it is empty without budgets).
DEFAULT_SEGMENTS = ["budget", "model", "context", "window", "week", "session", "today", "top"]
DEFAULT_THRESHOLDS = {"context": [60, 85], "window": [50, 80], "week": [70, 90], "budget": [50, 80]}
DEFAULT_FORMATS = {
    "model": "{model}",
    "context": "ctx {pct}",
    "window": "5h {pct} ↻{left}{forecast}",
    "week": "7d {pct}{forecast}",
    "session": "{tokens} tok {cost}",
    "today": "today {cost}",
    "top": "top {name} {tokens} carried",  # the tool or MCP server whose results the session re-read most
    "budget": "{mark}",
}
DEFAULTS = {"segments": DEFAULT_SEGMENTS, "second_line": [], "separator": " │ ", "colors": True,
            "chain_timeout": 1.0, "thresholds": {}, "format": {}}

def _number(value: object, high: float = float("inf")) -> bool:
    return type(value) in (int, float) and 0 < value < float("inf") and value <= high


def _template(value: object) -> bool:
    if type(value) is not str:
        return False
    import string
    try:
        list(string.Formatter().parse(value))
    except ValueError:
        return False
    return True


def _entry_ok(table: str, value: object) -> bool:
    """One [statusline.thresholds] or [statusline.format] value: what config_model.Statusline accepts."""
    if table == "format":
        return _template(value)
    return type(value) is list and len(value) == 2 and all(_number(v) for v in value) and value[0] <= value[1]


def checked(config: object) -> tuple[dict, list[str]]:
    """The [statusline] table with every key of the wrong type or value left out (so its default applies) and
    the dotted names of those keys. The CLI validates with pydantic; this is the same rule in the stdlib,
    because a mistake in one key must cost that key, not the line."""
    if type(config) is not dict:
        return {}, ["statusline"]
    out, bad = dict(config), []
    for key in ("segments", "second_line"):
        value = config.get(key, [])
        if type(value) is not list or not all(type(v) is str and v in DEFAULT_SEGMENTS for v in value):
            bad.append(f"statusline.{key}")
            out[key] = [v for v in value if v in DEFAULT_SEGMENTS] if type(value) is list else DEFAULTS[key]
    for key, ok in (("separator", lambda v: type(v) is str), ("colors", lambda v: type(v) is bool),
                    ("chain_timeout", lambda v: _number(v, 60))):
        if key in config and not ok(config[key]):
            bad.append(f"statusline.{key}")
            out[key] = DEFAULTS[key]
    for table in ("thresholds", "format"):
        value = config.get(table, {})
        if type(value) is not dict:
            bad.append(f"statusline.{table}")
            out[table] = {}
            continue
        wrong = [k for k, v in value.items() if k not in DEFAULT_SEGMENTS or not _entry_ok(table, v)]
        bad += [f"statusline.{table}.{k}" for k in wrong]
        out[table] = {k: v for k, v in value.items() if k not in wrong}
    return out, bad
