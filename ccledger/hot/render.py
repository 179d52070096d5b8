"""Status line text: segments, colours by threshold, and fitting to the terminal width.

Segments are plain (name, text, level) triples built by statusline.py; this
module only decides how they look. Colours: green/yellow/red by the
configured thresholds, none with NO_COLOR or `colors = false`. When the line is
wider than COLUMNS, the lowest-priority segments are dropped (never wrapped).
"""
from __future__ import annotations

import os
import time

DEFAULT_SEGMENTS = ["model", "context", "window", "week", "session", "today", "top", "budget"]
PRIORITY = {"model": 1, "context": 1, "window": 1, "budget": 1, "session": 2, "week": 3, "today": 3, "top": 4,
            "chained": 0, "config": 1}
DEFAULT_THRESHOLDS = {"context": [60, 85], "window": [50, 80], "week": [70, 90], "budget": [50, 80]}
DEFAULT_FORMATS = {
    "model": "{model}",
    "context": "ctx {pct}",
    "window": "5h {pct} ↻{left}{forecast}",
    "week": "7d {pct}{forecast}",
    "session": "{tokens} tok {cost}",
    "today": "today {cost}",
    "top": "top {name} {tokens}",
    "budget": "{mark}",
}
DEFAULTS = {"segments": DEFAULT_SEGMENTS, "second_line": [], "separator": " │ ", "colors": True,
            "chain_timeout": 1.0, "thresholds": {}, "format": {}}
COLORS = {0: "\033[32m", 1: "\033[33m", 2: "\033[31m", None: ""}
DIM, RESET = "\033[2m", "\033[0m"


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


def tokens(n: int | float | None) -> str:
    n = int(n or 0)
    for size, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= size:
            value = n / size
            text = f"{value:.1f}".removesuffix(".0") if value < 100 else f"{value:.0f}"
            return text + unit
    return str(n)


def money(x: float | None) -> str:
    x = x or 0.0
    return f"${x:.2f}" if x < 100 else f"${x:,.0f}"


def duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return "?"
    minutes = int(ms // 60_000)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def clock(ms: int, now_ms: int) -> str:
    """15:40 today, 'Thu 09:00' within the week."""
    when = time.localtime(ms / 1000)
    if ms - now_ms < 20 * 3_600_000 and time.localtime(now_ms / 1000).tm_yday == when.tm_yday:
        return time.strftime("%H:%M", when)
    return time.strftime("%a %H:%M", when)


def pct(value: float) -> str:
    """Whole percent, halves rounded up (12.5 -> 13), as people read them."""
    return f"{int(value + 0.5)}%"


def level(value: float | None, thresholds: list) -> int | None:
    if value is None:
        return None
    warn, danger = (list(thresholds) + [101, 101])[:2]
    return 2 if value >= danger else 1 if value >= warn else 0


def use_color(config: dict) -> bool:
    return not os.environ.get("NO_COLOR") and config.get("colors", True) is not False


def paint(text: str, lvl: int | None, color: bool) -> str:
    return f"{COLORS[lvl]}{text}{RESET}" if color and lvl is not None else text


def visible_len(text: str) -> int:
    out, skip = 0, False
    for ch in text:
        if ch == "\033":
            skip = True
        elif skip:
            skip = ch != "m"
        else:
            out += 1
    return out


def fit(parts: list[tuple[str, str, int | None]], width: int | None, color: bool, separator: str) -> str:
    """Join segments; drop the lowest-priority ones (last first) until the line fits `width`."""
    parts = [p for p in parts if p[1]]
    sep = f"{DIM}{separator}{RESET}" if color else separator

    def joined(items: list) -> str:
        return sep.join(paint(text, lvl, color) for _, text, lvl in items)

    line = joined(parts)
    while width and visible_len(line) > width and len(parts) > 1:
        worst = max(range(len(parts)), key=lambda i: (PRIORITY.get(parts[i][0], 5), i))
        parts = parts[:worst] + parts[worst + 1:]
        line = joined(parts)
    return line


def columns() -> int | None:
    try:
        value = int(os.environ.get("COLUMNS", ""))
        return value if value > 0 else None
    except ValueError:
        return None
