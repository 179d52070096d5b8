"""Offline prices for every Claude model id form, and the per-request rules."""
from __future__ import annotations

import pytest

from ccledger.ledger import pricing

M = 1_000_000


@pytest.mark.parametrize("model,inp,out", [
    ("claude-opus-4-5-20251101", 5, 25), ("claude-opus-4-5", 5, 25), ("claude-opus-4-6", 5, 25),
    ("claude-opus-4-6[1m]", 5, 25), ("claude-opus-4-7", 5, 25), ("claude-opus-4-8", 5, 25), ("claude-opus-5", 5, 25),
    ("claude-opus-4-1-20250805", 15, 75), ("claude-opus-4-1", 15, 75), ("claude-opus-4-20250514", 15, 75),
    ("claude-sonnet-4-5-20250929", 3, 15), ("claude-sonnet-4-5", 3, 15), ("claude-sonnet-4-6", 3, 15),
    ("claude-sonnet-4-20250514", 3, 15), ("claude-haiku-4-5-20251001", 1, 5), ("claude-haiku-4-5", 1, 5),
    ("claude-3-5-haiku-20241022", 0.8, 4), ("claude-sonnet-5", 2, 10), ("claude-fable-5", 10, 50),
    ("claude-mythos-5", 10, 50), ("anthropic.claude-sonnet-4-5-20250929-v1:0", 3, 15),
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", 15, 75), ("claude-sonnet-4-5@20250929", 3, 15),
    ("claude-opus-4.6-1m", 5, 25),
])
def test_known_models(model, inp, out):
    price = pricing.lookup(model)
    assert price is not None and (price.base.input, price.base.output) == (inp, out)
    assert price.base.cache_write_5m == pytest.approx(inp * 1.25)
    assert price.base.cache_write_1h == pytest.approx(inp * 2)
    assert price.base.cache_read == pytest.approx(inp * 0.1)


@pytest.mark.parametrize("model", ["deepseek-v4-pro", "gpt-5", "<synthetic>", "", "claude-unknown-9"])
def test_unknown_models_have_no_price(model):
    assert pricing.lookup(model) is None


def cost(model, inp=0, cw5=0, cw1h=0, cr=0, out=0, **kw):
    return pricing.request_cost(pricing.lookup(model), model, inp, cw5, cw1h, cr, out, **kw)


def test_cache_write_durations_are_priced_apart():
    k = 100_000  # under the long-context threshold
    assert cost("claude-sonnet-4-5", cw5=k) == pytest.approx(3.75 / 10)
    assert cost("claude-sonnet-4-5", cw1h=k) == pytest.approx(6.0 / 10)
    assert cost("claude-sonnet-4-5", cr=k) == pytest.approx(0.30 / 10)


def test_long_context_premium_bills_the_whole_request_above_200k_input():
    below = cost("claude-sonnet-4-5", inp=100, cw5=50_000, cr=149_900, out=10_000)  # exactly 200,000 in
    assert below == pytest.approx((100 * 3 + 50_000 * 3.75 + 149_900 * 0.3 + 10_000 * 15) / M)
    above = cost("claude-sonnet-4-5", inp=101, cw5=50_000, cr=149_900, out=10_000)  # 200,001: all at premium
    assert above == pytest.approx((101 * 6 + 50_000 * 7.5 + 149_900 * 0.6 + 10_000 * 22.5) / M)
    # ccusage tiers each category separately: a 150k read + 60k write request gets no premium there.
    assert cost("claude-sonnet-4", cw5=60_000, cr=150_000) == pytest.approx((60_000 * 7.5 + 150_000 * 0.6) / M)


def test_no_long_context_premium_from_4_6_on():
    assert cost("claude-sonnet-4-6", cr=300_000) == pytest.approx(300_000 * 0.3 / M)
    assert cost("claude-opus-4-6", cr=300_000) == pytest.approx(300_000 * 0.5 / M)


def test_fast_mode_multiplies_the_request():
    assert cost("claude-opus-4-6", inp=M, speed="fast") == pytest.approx(30.0)
    assert cost("claude-opus-4-8", inp=M, out=M, speed="fast") == pytest.approx(10 + 50)
    assert cost("claude-opus-4.6-fast", inp=M) == pytest.approx(30.0)


def test_web_searches_and_us_inference():
    assert cost("claude-sonnet-4-6", web_searches=3) == pytest.approx(0.03)
    assert cost("claude-sonnet-4-6", inp=M, geo="us") == pytest.approx(3.3)


def test_config_overrides_win_and_change_the_fingerprint():
    overrides = pricing.overrides_from_config({"deepseek-v4-pro": {"input": 0.5, "output": 2.0}})
    price = pricing.lookup("deepseek-v4-pro", overrides)
    assert price.base.input == 0.5 and price.base.cache_read == pytest.approx(0.05)
    assert pricing.fingerprint(overrides) != pricing.fingerprint({})
