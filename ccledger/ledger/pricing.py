"""Offline list prices for every Claude model, and the cost of one API request.

Source: platform.claude.com pricing (see shared/reference/claude-code-interfaces.md
section 8). Cache writes cost 1.25x (5 minutes) or 2x (1 hour) the input price,
cache reads 0.1x. Sonnet 4 and 4.5 bill a whole request at the long-context
rate when its input (input + cache writes + cache reads) exceeds 200k tokens:
every token of that request, output included, at the premium. Fast mode
multiplies the whole request. A model we do not know costs nothing and is
reported by name, never guessed.
"""
from __future__ import annotations

from collections import namedtuple

from ..base import fastjson

MILLION = 1_000_000
LONG_CONTEXT_THRESHOLD = 200_000
WEB_SEARCH_USD = 10.0 / 1000  # per search request
US_INFERENCE_MULTIPLIER = 1.1
TABLE_VERSION = 1  # bump when PRICES changes, so stored costs are recomputed


class Rates(namedtuple("Rates", "input output cache_write_5m cache_write_1h cache_read")):
    """USD per million tokens."""
    __slots__ = ()


def _rates(inp: float, out: float) -> Rates:
    return Rates(inp, out, inp * 1.25, inp * 2.0, inp * 0.1)


class Price(namedtuple("Price", "base long fast_multiplier fast_name", defaults=(None, 1.0, False))):
    """base Rates; `long` Rates when the request's input exceeds 200k; fast mode's multiplier;
    fast_name when the model id itself says fast ("claude-opus-4.6-fast")."""
    __slots__ = ()


_OPUS_NEW = _rates(5.0, 25.0)
_OPUS_OLD = _rates(15.0, 75.0)
_SONNET = _rates(3.0, 15.0)
_SONNET_LONG = _rates(6.0, 22.5)

# Normalised model id prefix -> price. Matched longest first on a '-' boundary.
PRICES: dict[str, Price] = {
    "claude-opus-5": Price(_OPUS_NEW, fast_multiplier=2.0),
    "claude-opus-4-8": Price(_OPUS_NEW, fast_multiplier=2.0),
    "claude-opus-4-7": Price(_OPUS_NEW, fast_multiplier=6.0),
    "claude-opus-4-6": Price(_OPUS_NEW, fast_multiplier=6.0),
    "claude-opus-4-5": Price(_OPUS_NEW),
    "claude-opus-4-1": Price(_OPUS_OLD),
    "claude-opus-4": Price(_OPUS_OLD),
    "claude-sonnet-5": Price(_rates(2.0, 10.0)),
    "claude-sonnet-4-6": Price(_SONNET),
    "claude-sonnet-4-5": Price(_SONNET, long=_SONNET_LONG),
    "claude-sonnet-4": Price(_SONNET, long=_SONNET_LONG),
    "claude-haiku-4-5": Price(_rates(1.0, 5.0)),
    "claude-fable-5": Price(_rates(10.0, 50.0)),
    "claude-mythos-5": Price(_rates(10.0, 50.0)),
    "claude-3-7-sonnet": Price(_SONNET),
    "claude-3-5-sonnet": Price(_SONNET),
    "claude-3-5-haiku": Price(_rates(0.8, 4.0)),
    "claude-3-opus": Price(_OPUS_OLD),
    "claude-3-haiku": Price(Rates(0.25, 1.25, 0.30, 0.50, 0.03)),
}
_KEYS = sorted(PRICES, key=len, reverse=True)


def normalise(model: str) -> str:
    """'us.anthropic.claude-opus-4.6[1m]@2026' -> 'claude-opus-4-6-2026'."""
    name = model.lower().split("[", 1)[0].strip()
    for sep in ".@_:/":
        name = name.replace(sep, "-")
    start = name.find("claude-")
    return name[start:] if start > 0 else name


def lookup(model: str, overrides: dict[str, Price] | None = None) -> Price | None:
    if overrides and model in overrides:
        return overrides[model]
    name = normalise(model)
    if overrides:
        for key in sorted(overrides, key=len, reverse=True):
            if name == normalise(key) or name.startswith(normalise(key) + "-"):
                return overrides[key]
    for key in _KEYS:
        if name == key or name.startswith(key + "-"):
            price = PRICES[key]
            return price._replace(fast_name=True) if name.endswith("-fast") else price
    return None


def request_cost(price: Price, model: str, inp: int, cw5: int, cw1h: int, cr: int, out: int,
                 speed: str = "standard", geo: str = "", web_searches: int = 0) -> float:
    """USD for one request, with the long-context, fast-mode and US-inference rules."""
    long_context = price.long is not None and inp + cw5 + cw1h + cr > LONG_CONTEXT_THRESHOLD
    r = price.long if long_context and price.long is not None else price.base
    cost = (inp * r.input + cw5 * r.cache_write_5m + cw1h * r.cache_write_1h + cr * r.cache_read
            + out * r.output) / MILLION
    if speed == "fast" or price.fast_name:
        cost *= price.fast_multiplier
    if geo.lower() == "us":
        cost *= US_INFERENCE_MULTIPLIER
    return cost + web_searches * WEB_SEARCH_USD


def overrides_from_config(table: dict) -> dict[str, Price]:
    """`[pricing."model"]` tables (USD per million tokens) -> Price overrides."""
    result: dict[str, Price] = {}
    for model, spec in (table or {}).items():
        inp = float(spec["input"])
        out = float(spec["output"])
        rates = Rates(inp, out, float(spec.get("cache_write_5m", inp * 1.25)),
                      float(spec.get("cache_write_1h", inp * 2.0)), float(spec.get("cache_read", inp * 0.1)))
        result[model] = Price(rates, fast_multiplier=float(spec.get("fast_multiplier", 1.0)))
    return result


def fingerprint(overrides: dict[str, Price] | None) -> str:
    """Changes whenever the effective price table changes, so stored costs can be redone."""
    table = {k: [list(v.base), v.fast_multiplier] for k, v in sorted((overrides or {}).items())}
    return fastjson.dumps([TABLE_VERSION, table])


def stored_overrides(conn) -> dict[str, Price]:
    """The user's price overrides as last published to the ledger by the CLI (no TOML on the hot path)."""
    row = conn.execute("SELECT value FROM meta WHERE key='pricing_overrides'").fetchone()
    if not row:
        return {}
    return {model: Price(Rates(*rates), fast_multiplier=fast) for model, (rates, fast) in fastjson.loads(row[0]).items()}


def publish(conn, overrides: dict[str, Price]) -> bool:
    """Store overrides and recompute every stored cost if the effective table changed. True if it did."""
    mark = fingerprint(overrides)
    row = conn.execute("SELECT value FROM meta WHERE key='pricing_fingerprint'").fetchone()
    if row and row[0] == mark:
        return False
    table = fastjson.dumps({m: [list(p.base), p.fast_multiplier] for m, p in overrides.items()})
    cache: dict[str, Price | None] = {}

    def cost(model: str, inp: int, cw5: int, cw1h: int, cr: int, out: int, speed: str, geo: str, web: int) -> float:
        if model not in cache:
            cache[model] = lookup(model, overrides)
        price = cache[model]
        return 0.0 if price is None else request_cost(price, model, inp, cw5, cw1h, cr, out, speed, geo, web)

    conn.create_function("ccledger_cost", 9, cost, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE api_calls SET cost_usd = ccledger_cost(model, input_tokens, cache_write_5m,"
                     " cache_write_1h, cache_read_tokens, output_tokens, speed, geo, web_searches)")
        models = [r[0] for r in conn.execute("SELECT DISTINCT model FROM api_calls")]
        conn.executemany("UPDATE api_calls SET priced=? WHERE model=?",
                         [(int(lookup(m, overrides) is not None), m) for m in models])
        conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         [("pricing_overrides", table), ("pricing_fingerprint", mark)])
        conn.execute("INSERT OR IGNORE INTO dirty_quarters SELECT DISTINCT ts_ms / 900000 FROM api_calls")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def split_cost(price: Price | None, model: str, inp: int, cw5: int, cw1h: int, cr: int, out: int,
               speed: str = "standard", geo: str = "", web_searches: int = 0) -> tuple[float, float]:
    """(cost of the request's input side, cost of its output), adding up to request_cost().

    The long-context decision depends on input only, so pricing the input alone keeps it; web
    searches are counted on the input side.
    """
    if price is None:
        return 0.0, 0.0
    total = request_cost(price, model, inp, cw5, cw1h, cr, out, speed, geo, web_searches)
    input_side = request_cost(price, model, inp, cw5, cw1h, cr, 0, speed, geo, web_searches)
    return input_side, total - input_side
