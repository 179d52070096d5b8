"""When the context shrinks without a compaction, the owners whose content left stop being carried; none is negative.

Claude Code 2.1.3xx writes each request's content into the transcript (`api-request` lines that reference
content-addressed `api-request-blob` lines): a cleared tool result is a blob holding a placeholder. Older
transcripts only show the context getting smaller; then whatever left is taken from the owners still in the
context in proportion to what each has there. Either way the carried tokens add up to the input tokens.
"""
from __future__ import annotations

import hashlib
import json

import pytest

from ccledger.ledger import attribution
from conftest import cli, ledger_rows
from test_attribution import _assistant, _line, _result

CLEARED = "[Old tool result content cleared]"


def _blob(message: dict) -> tuple[dict, str]:
    digest = hashlib.sha256(json.dumps(message, sort_keys=True).encode()).hexdigest()
    return {"type": "api-request-blob", "sessionId": "s", "hash": digest, "message": message}, digest


def _request(n: int, ts: int, base: int | None, keep: int, tail: list[str]) -> dict:
    """An `api-request` line as 2.1.332 writes it: the messages of request `base` up to `keep`, then `tail`."""
    line = {"type": "api-request", "sessionId": "s", "id": f"ar{n}", "timestamp": f"2026-06-01T10:00:{ts:02d}.000Z",
            "version": "2.1.332", "querySource": "sdk", "params": {"model": "claude-sonnet-4-6"},
            "keep": keep, "tail": tail}
    if base is not None:
        line["base"] = f"ar{base}"
    return line


def _call(n: int, ts: int, context: int, output: int, blocks: list) -> dict:
    line = _assistant(n, ts, context, output, blocks)
    line["requestRef"] = f"ar{n}"
    return line


def _write(claude_dir, lines: list[dict]) -> None:
    path = claude_dir / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def _owners() -> dict[str, dict]:
    return {r["owner"]: r for r in cli("report", "tools", "--json").json()["rows"]}


def _contexts() -> int:
    return ledger_rows("SELECT SUM(input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens) FROM api_calls")[0][0]


READ = {"type": "tool_use", "id": "tr", "name": "Read", "input": {"a": 1}}
GREP = {"type": "tool_use", "id": "tg", "name": "Grep", "input": {"b": 2}}
BASH = {"type": "tool_use", "id": "tb", "name": "Bash", "input": {"command": "ls"}}


def test_a_cleared_tool_result_stops_being_carried_from_the_request_that_no_longer_holds_it(claude_dir):
    """10k base; Read (3000 bytes) and Grep (1000) return together, then Bash (500); request 4's content holds
    a placeholder in place of the Read result, and the context is 3017 tokens smaller than it would have been."""
    prompt, p_hash = _blob({"role": "user", "content": "go"})
    first, f_hash = _blob({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tr", "content": "x" * 3000},
        {"type": "tool_result", "tool_use_id": "tg", "content": "x" * 1000}]})
    second, s_hash = _blob({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tb", "content": "x" * 500}]})
    # microcompaction rewrote the first results' message: the Read result is a placeholder from now on
    cleared, c_hash = _blob({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tr", "content": CLEARED},
        {"type": "tool_result", "tool_use_id": "tg", "content": "x" * 1000}]})
    more, m_hash = _blob({"role": "user", "content": "more please"})
    lines = [
        _line("user", 0, message={"role": "user", "content": "go"}),
        prompt, _request(1, 1, None, 0, [p_hash]),
        _call(1, 1, 10_000, 100, [READ, GREP]),
        _result(2, "tr", 3000), _result(2, "tg", 1000),
        first, _request(2, 3, 1, 1, ["a1", f_hash]),
        _call(2, 3, 14_100, 50, [BASH]),
        _result(4, "tb", 500),
        second, _request(3, 5, 2, 3, ["a2", s_hash]),
        _call(3, 5, 14_750, 20, [{"type": "text", "text": "ok"}]),
        _line("user", 6, message={"role": "user", "content": "more please"}),
        cleared, more, _request(4, 7, 3, 2, [c_hash, "a2", s_hash, "a3", m_hash]),
        _call(4, 7, 14_750 - 3017 + 20 + 30, 10, [{"type": "text", "text": "done"}]),
        _line("user", 8, message={"role": "user", "content": "and now?"}),
        _call(5, 9, 11_783 + 10 + 12, 10, [{"type": "text", "text": "now"}]),
    ]
    _write(claude_dir, lines)
    rows = _owners()
    read, grep, bash = rows["Read"], rows["Grep"], rows["Bash"]
    assert read["marginal_tokens"] == 3000 + 50
    # re-read by requests 2 and 3; from request 4 on only the placeholder's share stays (33 of 3000 bytes)
    kept = 3050 * len(CLEARED) // 3000
    assert read["carried_tokens"] == 3050 * 2 + kept * 2
    assert grep["carried_tokens"] == 1050 * 4   # the Grep result stays: carried by requests 2 to 5
    assert bash["carried_tokens"] == 650 * 3    # and so does the Bash result: requests 3 to 5
    assert rows["base"]["carried_tokens"] == 10_000 * 5
    assert rows["user"]["marginal_tokens"] == 30 + 12 and "other" not in rows
    assert sum(r["carried_tokens"] for r in rows.values()) == _contexts()
    assert all(r[k] >= 0 for r in rows.values() for k in ("marginal_tokens", "carried_tokens", "cost_usd"))


def test_the_cleared_result_is_timed_by_the_request_line_after_its_blob(claude_dir):
    """The blob has no time of its own: the request line that follows it gives it; a blob at the end of what was
    written so far takes the last time seen (+1 ms), so the next request still finds it."""
    cleared, c_hash = _blob({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tr", "content": CLEARED}]})
    lines = [_line("user", 0, message={"role": "user", "content": "go"}), _call(1, 1, 10_000, 100, [READ]),
             _result(2, "tr", 3000), cleared, _request(2, 5, 1, 1, [c_hash]), _call(2, 5, 10_100, 10, [])]
    _write(claude_dir, lines)
    cli("report", "tools", "--json")
    assert ledger_rows("SELECT kind, bytes, owner, ts_ms % 60000 FROM context_items WHERE kind='cleared'") == [
        ("cleared", len(CLEARED), "tr", 5000)]
    cut = claude_dir / "projects" / "-p" / "cut.jsonl"
    cut.write_text("".join(json.dumps(x) + "\n" for x in lines[:4]))  # written up to the blob so far
    cli("report", "tools", "--json")
    assert ledger_rows("SELECT owner, ts_ms % 60000 FROM context_items WHERE kind='cleared' AND session_id='cut'"
                       ) == [("tr", 2001)]


def test_a_result_saved_to_a_file_from_the_start_is_owned_as_sent(claude_dir):
    """A large result Claude Code saves to a file reaches the request as a `<persisted-output>` preview at once:
    the blob names it, but nothing of it was in the context before, so it keeps what the API measured."""
    preview = "<persisted-output>Tool result saved to: /tmp/r.txt\n\nPreview: 1 2 3</persisted-output>"
    saved, s_hash = _blob({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "tr", "content": preview}]})
    lines = [_line("user", 0, message={"role": "user", "content": "go"}), _call(1, 1, 10_000, 100, [READ]),
             _line("user", 2, message={"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "tr", "content": preview}]}),
             saved, _request(2, 3, 1, 1, ["a1", s_hash]), _call(2, 3, 10_130, 10, []),
             _call(3, 5, 10_140, 10, [])]
    _write(claude_dir, lines)
    rows = _owners()
    assert rows["Read"]["marginal_tokens"] == 130 and rows["Read"]["carried_tokens"] == 130 * 2


def test_a_shrink_the_transcript_does_not_explain_leaves_every_owner_in_proportion(claude_dir):
    """Without request content (older versions) the context just gets smaller: what left is taken from every
    owner still in it by its share, integer-exact, so nobody goes negative and the sums still hold."""
    lines = [
        _line("user", 0, message={"role": "user", "content": "go"}),
        _call(1, 1, 10_000, 100, [READ, GREP]),
        _result(2, "tr", 3000), _result(2, "tg", 1000),
        _call(2, 3, 14_100, 0, [{"type": "text", "text": "thinking about it"}]),
        _call(3, 5, 14_100 - 2_820, 10, [{"type": "text", "text": "shorter"}]),  # a fifth of it left
        _call(4, 7, 11_280 + 10, 10, [{"type": "text", "text": "same"}]),
    ]
    _write(claude_dir, lines)
    rows = _owners()
    # before the shrink: base 10000, Read 3050 and Grep 1050 (the call's 100 output tokens by input size, the
    # results by size); from request 3 on each has four fifths of that
    assert rows["base"]["carried_tokens"] == 10_000 * 2 + 8_000 * 2
    assert rows["Read"]["carried_tokens"] == 3050 + 2440 * 2 and rows["Read"]["marginal_tokens"] == 3050
    assert rows["Grep"]["carried_tokens"] == 1050 + 840 * 2
    assert rows["assistant"]["carried_tokens"] == 10
    assert sum(r["carried_tokens"] for r in rows.values()) == _contexts()
    assert "other" not in rows


def _shrinking_sessions() -> dict[str, int]:
    """Sessions whose context shrank between two requests of one chain with no compaction between them, with
    how many times it did."""
    compactions: dict[tuple, list[int]] = {}
    for session, agent, ts in ledger_rows("SELECT session_id, agent_id, ts_ms FROM context_items WHERE kind='compact'"):
        compactions.setdefault((session, agent), []).append(ts)
    shrinks: dict[str, int] = {}
    previous = None
    for session, agent, ts, context in ledger_rows(
            "SELECT session_id, agent_id, ts_ms, input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens"
            " FROM api_calls WHERE model != '<synthetic>' ORDER BY session_id, agent_id, ts_ms, offset"):
        if previous and previous[:2] == (session, agent) and context < previous[3] and not any(
                previous[2] <= t <= ts for t in compactions.get((session, agent), ())):
            shrinks[session] = shrinks.get(session, 0) + 1
        previous = (session, agent, ts, context)
    return shrinks


def test_no_owner_is_negative_on_the_corpus_sessions_that_shrink(corpus):
    body = cli("report", "tools", "--json").json()
    shrinking = _shrinking_sessions()
    # context that left mid-session (2.1.5, lines around it damaged by redaction) and a resumed session (2.1.14)
    assert {"3af9b1a7-6512-4883-ad18-320658ced099", "general-tool-calls"} <= set(shrinking)
    for row in body["rows"]:
        assert row["marginal_tokens"] >= 0 and row["carried_tokens"] >= 0 and row["cost_usd"] >= 0, row["owner"]
    assert body["totals"]["carried_tokens"] == body["totals"]["context_tokens"]
    for session in shrinking:
        owners = ledger_rows("SELECT owner, marginal_tokens, carried_tokens, output_tokens, marginal_cost, carried_cost,"
                             " output_cost FROM attribution WHERE session_id=?", session)
        for owner, *measures in owners:
            assert all(m >= -1e-9 for m in measures), (session, owner, measures)
        carried = sum(o[2] for o in owners)
        total = ledger_rows("SELECT SUM(input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens)"
                            " FROM api_calls WHERE session_id=? AND model != '<synthetic>'", session)[0][0]
        assert carried == total, session


@pytest.mark.parametrize("total,weights", [(0, [1, 2]), (7, [3, 0, 4]), (2 * 10**9 - 5, [10**9, 3, 10**9 - 1]),
                                           (5, [1, 1, 1, 1, 1, 1]), (99, [100])])
def test_proportional_shares_are_exact_and_never_exceed_what_an_owner_has(total, weights):
    parts = attribution.shares(total, weights)
    assert sum(parts) == total
    assert all(0 <= p <= w for p, w in zip(parts, weights))
    assert all(abs(p - total * w / sum(weights)) < 1 for p, w in zip(parts, weights))


def test_parallel_inline_subagents_of_1_0_x_are_separate_chains_started_by_their_task_calls(corpus):
    """Claude Code 1.0.98 wrote five parallel subagents into the session file with no agent id; read as one
    chain their contexts alternate (40k, 25k, 40k ...) and looked like content leaving 43 times. Each follows
    its own parentUuid thread from its Task prompt: five chains that never shrink, each rolled up to its call."""
    session = "fe5e1c67-53e7-4862-81ae-d0e013e3270b"
    agents = {r["agent_id"]: r for r in cli("report", "agents", "--json", "--session", session).json()["rows"]}
    assert len(agents) == 5 and all(a.startswith("sidechain-") for a in agents)
    assert {r["parent_tool"] for r in agents.values()} == {"Task"}
    assert len({r["parent_tool_use_id"] for r in agents.values()}) == 5
    assert session not in _shrinking_sessions()
    calls = ledger_rows("SELECT COUNT(*) FROM api_calls WHERE session_id=? AND agent_id LIKE 'sidechain-%'", session)
    assert calls == [(161,)]  # every inline subagent request found its thread
