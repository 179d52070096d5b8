"""ccledger against ccusage 20.0.24's own output for the real corpus (TZ=UTC).

Token totals per day and overall must equal ccusage's exactly, costs within
0.1%, except where ccusage is wrong; each such deviation is named below with
its reason and checked to be exactly that, no more.
"""
from __future__ import annotations

import json

import pytest

from conftest import cli

FIELDS = {"input_tokens": "inputTokens", "output_tokens": "outputTokens",
          "cache_creation_tokens": "cacheCreationTokens", "cache_read_tokens": "cacheReadTokens"}

# ccusage 20.0.24's daily path does not deduplicate responses without a requestId: the DeepSeek session
# (Claude Code pointed at DeepSeek's endpoint) is counted once per content block. Its session report does
# deduplicate; ccledger keys on message.id alone when requestId is missing, as the session report does.
# ccusage also prices deepseek-v4-pro from models.dev; ccledger prices Claude models only and names
# unknown models instead of guessing.
DEEPSEEK_DAY = "2026-05-08"
DEEPSEEK_SESSION = "ff243317-aa34-40d9-935e-e0c174a2dfad"
# ccusage's session report ignores `progress` (agent_progress) lines, which hold the only copy of 16
# subagent responses (agent ac20874, whose own file is not in the corpus). Its daily report counts them,
# and so does ccledger, in every report.
PROGRESS_SESSION = "12887f5b-b06c-45fe-94fa-66c16aa09eac"


def oracle(shared, name: str) -> dict:
    return json.loads((shared / "corpus" / "oracle" / "ccusage-20.0.24" / f"{name}.json").read_text())


def tokens(row: dict, names=FIELDS) -> dict:
    return {ours: row[ours] for ours in names}


def expected(row: dict) -> dict:
    return {ours: row[theirs] for ours, theirs in FIELDS.items()}


@pytest.fixture
def daily(corpus):
    result = cli("report", "daily", "--json", "--timezone", "UTC")
    assert result.code == 0, result.err
    return result.json()


def test_daily_tokens_equal_ccusage_except_the_named_day(daily, shared):
    ours = {r["date"]: r for r in daily["rows"]}
    theirs = {r["date"]: r for r in oracle(shared, "daily")["daily"]}
    assert sorted(ours) == sorted(theirs)
    for date, row in theirs.items():
        if date == DEEPSEEK_DAY:
            continue
        assert tokens(ours[date]) == expected(row), date
        assert ours[date]["cost_usd"] == pytest.approx(row["totalCost"], rel=1e-3), date


def test_deepseek_day_is_deduplicated_like_ccusage_session_report(daily, shared):
    session = next(s for s in oracle(shared, "session")["sessions"] if s["sessionId"] == DEEPSEEK_SESSION)
    day = next(r for r in daily["rows"] if r["date"] == DEEPSEEK_DAY)
    assert tokens(day) == expected(session)
    ccusage_day = next(r for r in oracle(shared, "daily")["daily"] if r["date"] == DEEPSEEK_DAY)
    assert ccusage_day["inputTokens"] > day["input_tokens"]  # ccusage daily counts every content block
    assert day["cost_usd"] == 0 and daily["unpriced_models"] == ["deepseek-v4-pro"]


def test_grand_totals_equal_ccusage_minus_the_named_deviation(daily, shared):
    theirs = oracle(shared, "daily")
    day_ours = next(r for r in daily["rows"] if r["date"] == DEEPSEEK_DAY)
    day_theirs = next(r for r in theirs["daily"] if r["date"] == DEEPSEEK_DAY)
    for ours, key in FIELDS.items():
        assert daily["totals"][ours] == theirs["totals"][key] - day_theirs[key] + day_ours[ours], ours
    assert daily["totals"]["cost_usd"] == pytest.approx(
        theirs["totals"]["totalCost"] - day_theirs["totalCost"], rel=1e-3)


def test_sessions_equal_ccusage_except_the_named_progress_session(corpus, shared):
    result = cli("report", "session", "--json")
    ours = {r["session_id"]: r for r in result.json()["rows"]}
    for row in oracle(shared, "session")["sessions"]:
        session = row["sessionId"]
        if session == PROGRESS_SESSION:
            continue
        assert tokens(ours[session]) == expected(row), session
        if session != DEEPSEEK_SESSION:
            assert ours[session]["cost_usd"] == pytest.approx(row["totalCost"], rel=1e-3), session


def test_progress_session_equals_ccusage_daily_for_its_days(corpus, shared):
    """Session 12887f5b has 2026-02-02 and -03 to itself: ccusage's daily numbers (which count progress
    copies) are its true total, and ccledger's session row equals them."""
    row = cli("report", "session", "--json", "--session", PROGRESS_SESSION).json()["rows"][0]
    days = [r for r in oracle(shared, "daily")["daily"] if r["date"] in ("2026-02-02", "2026-02-03")]
    assert tokens(row) == {ours: sum(d[theirs] for d in days) for ours, theirs in FIELDS.items()}
    session = next(s for s in oracle(shared, "session")["sessions"] if s["sessionId"] == PROGRESS_SESSION)
    assert row["input_tokens"] > session["inputTokens"]
    others = cli("report", "session", "--json", "--since", "2026-02-02", "--until", "2026-02-03").json()
    assert [r["session_id"] for r in others["rows"]] == [PROGRESS_SESSION]


def test_malformed_corpus_lines_are_counted_by_reason(daily):
    # 35 lines damaged by a publisher's redaction, 4 `//` comment lines added by fixture authors.
    assert daily["skipped"] == {"comment": 4, "invalid_json": 35}
