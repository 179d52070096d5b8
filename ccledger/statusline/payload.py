"""Claude Code's status line JSON (wire format) -> a `Status` record, tolerating every known shape.

Seen in the wild: 1.0.88 without context_window; 2.1.19 with nulls before the
first response; rate_limits from 2.1.80 (only for subscribers, after the first
response); 2.1.332 with prompt_cache. `used_percentage` has been seen holding
an epoch instead of a percentage: anything outside 0..100 is treated as
unknown and reported, never shown.
"""
from __future__ import annotations

from ..base.records import record


class Status(record("Status", "session_id transcript_path cwd model_id model_name version cost_usd duration_ms context_pct context_tokens context_size context_official five_hour_pct five_hour_reset_ms seven_day_pct seven_day_reset_ms prompt_cache faults")):
    """One status line payload. context_pct: official used_percentage, else computed from current_usage
    (context_official says which); *_reset_ms: epoch ms; faults: what was wrong, for the error log."""
    __slots__ = ()


def _dict(value: object) -> dict:
    return value if type(value) is dict else {}


_BOUND = 2.0 ** 53  # past any real count, cost, duration or epoch ms; what is stored stays in SQLite's integers


def _number(value: object) -> float | None:
    """A finite JSON number within +-2**53, else None (1e400 parses as infinity, NaN as NaN)."""
    return float(value) if type(value) in (int, float) and -_BOUND <= value <= _BOUND else None  # type: ignore


def _pct(value: object, faults: list, name: str) -> float | None:
    number = _number(value)
    if number is None:
        return None
    if not 0 <= number <= 100:
        faults.append(f"{name} {value!r} is not a percentage")
        return None
    return number


def _reset_ms(value: object) -> int | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    return int(number * 1000) if number < 1e11 else int(number)  # seconds (documented) or milliseconds


def _str(value: object) -> str | None:
    return value if type(value) is str and value else None


def parse(obj: object) -> Status:
    faults: list[str] = []
    if type(obj) is not dict:
        faults.append("status payload is not a JSON object")
        obj = {}
    for key in ("model", "cost", "context_window", "rate_limits", "workspace"):
        if key in obj and obj[key] is not None and type(obj[key]) is not dict:
            faults.append(f"{key} is {type(obj[key]).__name__}, not an object")
    model = _dict(obj.get("model"))
    cost = _dict(obj.get("cost"))
    window = _dict(obj.get("context_window"))
    usage = _dict(window.get("current_usage"))
    size = _number(window.get("context_window_size"))
    tokens = None
    if usage:
        tokens = sum(int(_number(usage.get(k)) or 0) for k in
                     ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
    pct = _pct(window.get("used_percentage"), faults, "context_window.used_percentage")
    official = pct is not None
    if pct is None and tokens is not None and size:
        pct = min(100.0, tokens / size * 100)
    limits = _dict(obj.get("rate_limits"))
    five, seven = _dict(limits.get("five_hour")), _dict(limits.get("seven_day"))
    duration = _number(cost.get("total_duration_ms"))
    return Status(
        session_id=_str(obj.get("session_id")), transcript_path=_str(obj.get("transcript_path")),
        cwd=_str(obj.get("cwd")) or _str(_dict(obj.get("workspace")).get("current_dir")),
        model_id=_str(model.get("id")), model_name=_str(model.get("display_name")), version=_str(obj.get("version")),
        cost_usd=_number(cost.get("total_cost_usd")), duration_ms=int(duration) if duration is not None else None,
        context_pct=pct, context_tokens=tokens, context_size=int(size) if size else None, context_official=official,
        five_hour_pct=_pct(five.get("used_percentage"), faults, "rate_limits.five_hour.used_percentage"),
        five_hour_reset_ms=_reset_ms(five.get("resets_at")),
        seven_day_pct=_pct(seven.get("used_percentage"), faults, "rate_limits.seven_day.used_percentage"),
        seven_day_reset_ms=_reset_ms(seven.get("resets_at")),
        prompt_cache=obj.get("prompt_cache") if type(obj.get("prompt_cache")) is dict else None,
        faults=tuple(faults),
    )
