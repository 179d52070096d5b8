"""Numbers as people read them: tokens (12.3k), money ($1.20), durations (4h07m), clocks and percents."""
from __future__ import annotations

import time


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
