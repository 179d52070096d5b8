"""The shared generator's small history: ccledger's totals equal its independent ground truth."""
from __future__ import annotations

import pytest

from conftest import cli, generate

NOW = "2026-11-30T16:00:00Z"


@pytest.fixture
def small(shared, isolated, monkeypatch):
    out = isolated / "gen"
    expected = generate(shared, out, "small", "--now", NOW)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out))
    return expected


def picked(row: dict) -> dict:
    return {"inputTokens": row["input_tokens"], "outputTokens": row["output_tokens"],
            "cacheCreationTokens": row["cache_creation_tokens"], "cacheReadTokens": row["cache_read_tokens"],
            "totalTokens": row["total_tokens"]}


def truth(row: dict) -> dict:
    return {k: row[k] for k in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens",
                                "totalTokens")}


def test_per_day_totals_equal_expected(small):
    body = cli("report", "daily", "--json", "--timezone", "UTC").json()
    ours = {r["date"]: picked(r) for r in body["rows"]}
    assert ours == {d: truth(r) for d, r in small["final"]["byDateUTC"].items()}
    assert picked(body["totals"]) == truth(small["final"]["totals"])


def test_per_session_totals_equal_expected(small):
    body = cli("report", "session", "--json").json()
    ours = {r["session_id"]: picked(r) for r in body["rows"]}
    assert ours == {s: truth(r) for s, r in small["final"]["bySession"].items()}


def test_costs_match_list_prices_and_the_long_context_rule(small):
    """expected.json's costCalculate ignores the >200k tier; the one 250k-input Sonnet 4.5 request in the
    set is billed whole at the long-context rate by Anthropic, so ours is higher by exactly that."""
    body = cli("report", "daily", "--json").json()
    calc = small["final"]["totals"]["costCalculate"]
    # 4 input + 1,000 cache write (5m) + 250,000 cache read + 2,200 output, at $6/$7.50/$0.60/$22.50 per M
    # instead of $3/$3.75/$0.30/$15 per M.
    premium = (4 * 3 + 1000 * 3.75 + 250_000 * 0.30 + 2200 * 7.5) / 1e6
    assert body["totals"]["cost_usd"] == pytest.approx(calc + premium, abs=2e-6)


def test_generator_edge_cases_are_counted(small):
    body = cli("report", "daily", "--json").json()
    assert body["skipped"] == {"invalid_json": 1}  # the truncated write in the resumed session
    blocks = cli("report", "blocks", "--json").json()
    active = [b for b in blocks["rows"] if b["limit_reset"]]
    assert active and active[-1]["limit_reset"].endswith(":00:00.000Z")
