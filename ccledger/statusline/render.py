"""Status line text: segments, colours by threshold, and fitting to the terminal width.

Segments are plain (name, text, level) triples built by statusline.py; this
module only decides how they look. Colours: green/yellow/red by the
configured thresholds, none with NO_COLOR or `colors = false`. When the line is
wider than Claude Code shows (COLUMNS less its margin), the lowest-priority
segments are dropped (never wrapped); the budget mark and a config warning go last.
"""
from __future__ import annotations

import os

PRIORITY = {"budget": 0, "config": 0, "model": 1, "context": 1, "window": 1, "session": 2, "week": 3, "today": 3,
            "top": 4}
WIDE_SYMBOLS = frozenset("⛔⚡⌛⏳✅❌⭐⏩⏪⏰")  # East Asian Wide symbols below the emoji block
# Claude Code 2.1.332 indents the status line by 2 columns and cuts it (ending in "…") 2 columns before the
# right edge: at COLUMNS=80 a line of 76 columns shows whole, one of 77 does not (measured under tmux).
CLAUDE_CODE_MARGIN = 4
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


def _wide(ch: str) -> bool:
    """Takes two terminal columns: emoji shown as such (⛔, 🔥...) and CJK (East Asian Wide/Fullwidth)."""
    code = ord(ch)
    return (code >= 0x1100 and (code <= 0x115F or 0x2E80 <= code <= 0xA4CF or 0xAC00 <= code <= 0xD7A3 or
                                0xF900 <= code <= 0xFAFF or 0xFE30 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFF60 or
                                0xFFE0 <= code <= 0xFFE6 or 0x1F300 <= code <= 0x1FAFF or 0x20000 <= code <= 0x3FFFD)
            or ch in WIDE_SYMBOLS)


def visible_len(text: str) -> int:
    """Terminal columns: escape sequences take none, wide characters two."""
    out, skip = 0, False
    for ch in text:
        if ch == "\033":
            skip = True
        elif skip:
            skip = ch != "m"
        else:
            out += 2 if ch > "\u10ff" and _wide(ch) else 1
    return out


def styled(separator: str, color: bool) -> str:
    return f"{DIM}{separator}{RESET}" if color else separator


def fit(parts: list[tuple[str, str, int | None]], width: int | None, color: bool, separator: str) -> str:
    """Join segments; drop the lowest-priority ones (last first) until the line fits `width`."""
    parts = [p for p in parts if p[1]]
    sep = styled(separator, color)

    def joined(items: list) -> str:
        return sep.join(paint(text, lvl, color) for _, text, lvl in items)

    line = joined(parts)
    while width and visible_len(line) > width and len(parts) > 1:
        worst = max(range(len(parts)), key=lambda i: (PRIORITY.get(parts[i][0], 5), i))
        parts = parts[:worst] + parts[worst + 1:]
        line = joined(parts)
    return line


def columns() -> int | None:
    """The columns Claude Code shows of a status line (COLUMNS, which it sets, less its margin)."""
    try:
        value = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return None
    return max(value - CLAUDE_CODE_MARGIN, 20) if value > 0 else None
