"""Attribution: every input token has exactly one owner; subagents roll up to the call that started them."""
from __future__ import annotations

import json

import pytest

from ccledger.ledger import attribution
from conftest import cli, ledger_rows


def test_split_is_exact_and_proportional():
    assert attribution.split(10, [1, 1, 2]) == [3, 2, 5]
    assert attribution.split(7, [0, 0]) == [4, 3]  # no sizes: equal shares
    for total, weights in ((0, [1, 2]), (1, [5, 5, 5]), (-5, [1, 1]), (123457, [3, 0.5, 7, 0])):
        shares = attribution.split(total, weights)
        assert sum(shares) == total
        for share, weight in zip(shares, weights):
            assert abs(share - total * weight / sum(weights)) < 1


def test_carried_tokens_add_up_to_every_sessions_input_on_the_whole_corpus(corpus):
    body = cli("report", "tools", "--json").json()
    assert body["totals"]["carried_tokens"] == body["totals"]["context_tokens"] > 0
    per_session = ledger_rows(
        "SELECT c.session_id, c.total, a.carried, c.cost, a.cost FROM"
        " (SELECT session_id, SUM(input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens) AS total,"
        "  SUM(cost_usd) AS cost FROM api_calls WHERE model != '<synthetic>' GROUP BY 1) c"
        " JOIN (SELECT session_id, SUM(carried_tokens) AS carried, SUM(carried_cost + output_cost) AS cost"
        "  FROM attribution GROUP BY 1) a USING (session_id)")
    assert len(per_session) == 11
    for session, total, carried, cost, attributed in per_session:
        assert carried == total, session
        assert attributed == pytest.approx(cost, abs=1e-9), session


def test_report_rows_add_up_and_name_tools_as_claude_code_does(corpus):
    rows = cli("report", "tools", "--json").json()["rows"]
    owners = {r["owner"]: r for r in rows}
    assert {"base", "user", "assistant", "Bash", "mcp__acp__Read", "Task", "Agent"} <= set(owners)
    assert owners["mcp__acp__Read"]["mcp_server"] == "acp" and owners["Bash"]["mcp_server"] is None
    assert owners["base"]["calls"] == 0
    for row in rows:
        assert {"owner", "mcp_server", "calls", "errors", "marginal_tokens", "carried_tokens", "output_tokens",
                "cost_usd"} <= set(row)
    costs = [r["cost_usd"] for r in rows]  # by the Cost column, as the table says
    assert costs == sorted(costs, reverse=True)


def test_mcp_report_by_server_and_by_tool(corpus):
    servers = cli("report", "mcp", "--json").json()["rows"]
    names = {r["mcp_server"] for r in servers}
    assert {"acp", "chrome-devtools", "plugin:serena:serena", "plugin:playwright:playwright"} <= names
    tools = cli("report", "mcp", "--json", "--by-tool").json()["rows"]
    acp = [r for r in tools if r["mcp_server"] == "acp"]
    assert {r["mcp_tool"] for r in acp} == {"Read", "Write", "Edit", "Bash"}
    assert sum(r["carried_tokens"] for r in acp) == next(r for r in servers if r["mcp_server"] == "acp")[
        "carried_tokens"]


def test_subagents_roll_up_to_the_call_that_started_them(corpus):
    rows = {r["agent_id"]: r for r in cli("report", "agents", "--json").json()["rows"]}
    # linked three ways: a meta.json sidecar is absent here; toolUseResult.agentId and progress lines
    assert rows["a4ca7529859c158c2"]["parent_tool"] == "Agent"
    assert rows["aed85ac"]["parent_tool"] == "Task"
    assert rows["ac20874"]["parent_tool"] == "Task"  # known only from progress lines
    assert rows["acompact-30e1f5"]["agent_type"] == "compaction"
    sub = rows["aed85ac"]
    spend = ledger_rows("SELECT SUM(input_tokens + cache_write_5m + cache_write_1h + cache_read_tokens)"
                        " FROM api_calls WHERE agent_id='aed85ac'")[0][0]
    assert sub["carried_tokens"] >= spend  # its whole context, plus its result re-read in the parent
    # inside the subagent, its own tools are owners too: the tools report counts them under their names
    inside = ledger_rows("SELECT COUNT(*) FROM attribution a JOIN tool_calls t ON t.tool_use_id = a.owner"
                         " WHERE a.agent_id='aed85ac'")[0][0]
    assert inside > 0
    rolled = ledger_rows("SELECT DISTINCT call_id FROM attribution WHERE agent_id='aed85ac' AND owner='base'")
    assert rolled == [(sub["parent_tool_use_id"],)]


def _line(kind, ts, **body):
    return {"type": kind, "timestamp": f"2026-06-01T10:00:{ts:02d}.000Z", "sessionId": "s", **body}


def _assistant(n, ts, context, output, blocks):
    return _line("assistant", ts, requestId=f"r{n}", message={
        "id": f"m{n}", "model": "claude-sonnet-4-6", "content": blocks,
        "usage": {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": context,
                  "output_tokens": output}})


def _result(ts, tool_id, size):
    return _line("user", ts, message={"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_id, "content": "x" * size}]})


def test_marginal_and_carried_on_a_hand_built_session(claude_dir):
    """10k base; a Read and a Grep return together (3:1 by size); then a Bash result; 4 requests."""
    lines = [
        _line("user", 0, message={"role": "user", "content": "go"}),
        _assistant(1, 1, 10_000, 100, [{"type": "tool_use", "id": "tr", "name": "Read", "input": {"a": 1}},
                                       {"type": "tool_use", "id": "tg", "name": "Grep", "input": {"b": 2}}]),
        _result(2, "tr", 3000), _result(2, "tg", 1000),
        _assistant(2, 3, 10_000 + 100 + 4_000, 50, [{"type": "tool_use", "id": "tb", "name": "Bash",
                                                      "input": {"command": "ls"}}]),
        _result(4, "tb", 500),
        _assistant(3, 5, 14_100 + 50 + 600, 20, [{"type": "text", "text": "ok"}]),
        _line("user", 6, message={"role": "user", "content": "more please"}),
        _assistant(4, 7, 14_750 + 20 + 30, 10, [{"type": "text", "text": "done"}]),
    ]
    path = claude_dir / "projects" / "-p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rows = {r["owner"]: r for r in cli("report", "tools", "--json").json()["rows"]}
    assert rows["base"]["carried_tokens"] == 10_000 * 4
    assert (rows["Read"]["marginal_tokens"], rows["Grep"]["marginal_tokens"]) == (3000 + 50, 1000 + 50)
    assert rows["Read"]["carried_tokens"] == (3000 + 50) * 3   # re-read by requests 2, 3 and 4
    assert rows["Bash"]["marginal_tokens"] == 600 + 50         # its result, and the call that asked for it
    assert rows["Bash"]["carried_tokens"] == 650 * 2
    assert rows["user"]["marginal_tokens"] == 30 and rows["user"]["carried_tokens"] == 30
    assert rows["assistant"]["marginal_tokens"] == 20
    total = 10_000 + 14_100 + 14_750 + 14_800
    assert sum(r["carried_tokens"] for r in rows.values()) == total
