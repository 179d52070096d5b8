"""Budget state for the hot path (the budgets issue fills this in)."""
from __future__ import annotations


def status_mark(now_ms: int) -> dict:
    """{'budget_mark': text, 'budget_level': percent} for the status line; empty when no budgets exist."""
    return {}
