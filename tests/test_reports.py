"""The report commands: envelope contract, filters, time zones, breakdowns, errors."""
from __future__ import annotations

import pytest

from conftest import cli, generate

TOKEN_KEYS = {"input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "total_tokens",
              "cost_usd"}
KINDS = ("daily", "weekly", "monthly", "session", "blocks", "models", "projects")


@pytest.fixture
def small(shared, isolated, monkeypatch):
    out = isolated / "gen"
    expected = generate(shared, out, "small", "--now", "2026-11-30T16:00:00Z")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(out))
    return expected


@pytest.mark.parametrize("kind", KINDS)
def test_every_report_has_the_versioned_envelope(small, kind):
    body = cli("report", kind, "--json").json()
    assert body["schema_version"] == 1 and body["report"] == kind
    assert {"rows", "totals", "skipped"} <= set(body)
    assert TOKEN_KEYS <= set(body["totals"])
    for row in body["rows"]:
        assert TOKEN_KEYS <= set(row), row
    if kind == "daily":
        assert all(len(r["date"]) == 10 for r in body["rows"])
    if kind == "session":
        assert all(r["session_id"] and r["project"] for r in body["rows"])


@pytest.mark.parametrize("kind", KINDS)
def test_every_report_renders_a_table(small, kind):
    result = cli("report", kind)
    assert result.code == 0 and result.out.strip(), result.err


def test_since_and_until_are_inclusive_dates(small):
    days = [r["date"] for r in cli("report", "daily", "--json").json()["rows"]]
    assert len(days) >= 3
    body = cli("report", "daily", "--json", "--since", days[1], "--until", days[1]).json()
    assert [r["date"] for r in body["rows"]] == [days[1]]
    compact = cli("report", "daily", "--json", "--since", days[1].replace("-", "")).json()
    assert [r["date"] for r in compact["rows"]] == days[1:]


def test_timezone_moves_requests_across_midnight(small):
    utc = cli("report", "daily", "--json", "--timezone", "UTC").json()
    tokyo = cli("report", "daily", "--json", "--timezone", "Asia/Tokyo").json()
    assert utc["totals"] == tokyo["totals"]
    assert [r["date"] for r in utc["rows"]] != [r["date"] for r in tokyo["rows"]]


def test_project_filter_by_folder_name_and_path(small):
    beta = small["projects"]["beta"]
    by_name = cli("report", "session", "--json", "--project", beta).json()
    by_path = cli("report", "session", "--json", "--project", "/home/dev/work/beta-web").json()
    assert by_name["rows"] == by_path["rows"]
    assert {r["session_id"] for r in by_name["rows"]} == {small["sessions"]["B1"], small["sessions"]["B2_active"]}


def test_breakdown_rows_add_up(small):
    body = cli("report", "daily", "--json", "--breakdown").json()
    for row in body["rows"]:
        assert sum(part["total_tokens"] for part in row["breakdown"]) == row["total_tokens"]
        assert sum(part["cost_usd"] for part in row["breakdown"]) == pytest.approx(row["cost_usd"], abs=1e-5)
    models = cli("report", "models", "--json").json()
    assert sum(r["total_tokens"] for r in models["rows"]) == body["totals"]["total_tokens"]


def test_bad_arguments_exit_2_with_one_line(small):
    for args in (("--since", "2026-13-01"), ("--timezone", "Mars/Base"),
                 ("--since", "2026-11-30", "--until", "2026-11-01")):
        result = cli("report", "daily", "--json", *args)
        assert result.code == 2 and result.out == "" and len(result.err.strip().splitlines()) == 1, args


def test_blocks_mark_the_active_block_as_an_estimate(small):
    rows = cli("report", "blocks", "--json").json()["rows"]
    assert all(r["estimate"] for r in rows)
    assert any(r["is_gap"] for r in rows)
