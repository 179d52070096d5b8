"""Status line text: segments, colours by threshold, and fitting to the terminal width.

Segments are plain (name, text, level) triples built by statusline.py; this
module only decides how they look. Colours: green/yellow/red by the
configured thresholds, none with NO_COLOR or `colors = false`. When the line is
wider than COLUMNS, the lowest-priority segments are dropped (never wrapped).
"""
from __future__ import annotations

import os

PRIORITY = {"model": 1, "context": 1, "window": 1, "budget": 1, "session": 2, "week": 3, "today": 3, "top": 4,
            "chained": 0, "config": 1}
COLORS = {0: "\033[32m", 1: "\033[33m", 2: "\033[31m", None: ""}
DIM, RESET = "\033[2m", "\033[0m"


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
