"""json.loads / json.dumps without importing the json package.

`import json` pulls in `re` and `enum` (about 8 ms with -S): a third of a
recording hook's whole run. The C scanner and encoder behind the json package
live in `_json` and need only a few settings, given here. Falls back to the
json package where `_json` is missing.

One quirk: on malformed input the C scanner raises json.decoder.JSONDecodeError,
which it looks up in sys.modules; when the json package was never imported it
fails with SystemError instead. Callers catch DECODE_ERRORS, which includes it.
"""
from __future__ import annotations

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]


class _DecodeSettings:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__
    memo: dict = {}


if _json is not None:
    _scan = _json.make_scanner(_DecodeSettings())
    _encode = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",", False, False, True)
else:  # pragma: no cover
    import json as _fallback
    _scan = None
    _encode = None

# The raw scanner: scan_once(text, index) -> (value, end); raises one of DECODE_ERRORS on bad input.
DECODE_ERRORS = (ValueError, StopIteration, SystemError, RecursionError)
scan_once = _scan if _scan is not None else _fallback.JSONDecoder().scan_once


def loads(text: str | bytes) -> object:
    """Parse one JSON document; ValueError when it is not one."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if _scan is None:  # pragma: no cover
        return _fallback.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        value, end = _scan(text, start)
    except (StopIteration, SystemError):
        raise ValueError("not valid JSON") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None
    finally:
        _DecodeSettings.memo.clear()
    if text[end:].strip():
        raise ValueError(f"extra data at character {end}")
    return value


def dumps(value: object) -> str:
    """Compact JSON, non-ASCII kept as is."""
    if _encode is None:  # pragma: no cover
        return _fallback.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "".join(_encode(value, 0))
