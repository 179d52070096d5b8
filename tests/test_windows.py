"""Windows: official readings, calibration from them, estimates labelled '~', forecasts from average pace."""
from __future__ import annotations

import pytest

from ccledger.statusline import entry as statusline
from ccledger.ledger import windows
from conftest import cli, ledger_rows
from test_statusline import NOW, payload, quiet, session  # noqa: F401 - fixtures


def test_runs_out_uses_average_pace_and_only_before_the_reset():
    hour = windows.HOUR_MS
    assert windows.runs_out(50, 0, 5 * hour, 2 * hour) == 4 * hour        # 50% in 2h: 100% at 4h
    assert windows.runs_out(30, 0, 5 * hour, 2 * hour) is None             # would be 6h40m: after the reset
    assert windows.runs_out(None, 0, 5 * hour, hour) is None


def test_calibration_turns_readings_into_an_estimate(session):  # noqa: F811
    reset = NOW + 4 * windows.HOUR_MS  # the window started an hour before NOW, at 13:46:40
    limits = {"five_hour": {"used_percentage": 20, "resets_at": reset // 1000}}
    statusline.build(payload(session, rate_limits=limits), NOW)
    calibration = cli("report", "windows", "--json").json()["calibration"]
    tokens = ledger_rows("SELECT SUM(total_tokens) FROM api_calls")[0][0]
    assert calibration["tokens_per_pct"] == {"sonnet": pytest.approx(tokens / 20)}
    # Later, a payload without rate_limits (an API key, or the first turn): the line estimates from calibration.
    line = statusline.build(payload(session), NOW + 60_000)[0]
    assert "│ 5h ~20% ↻" in line, line


def test_report_windows_lists_official_windows_with_forecast(session):  # noqa: F811
    reset = NOW + 2 * windows.HOUR_MS
    statusline.build(payload(session, rate_limits={"five_hour": {"used_percentage": 80, "resets_at": reset // 1000}}),
                     NOW)
    rows = cli("report", "windows", "--json").json()["rows"]
    official = [r for r in rows if not r["estimate"]]
    assert len(official) == 1 and official[0]["used_pct"] == 80 and official[0]["window"] == "five_hour"
    assert official[0]["total_tokens"] == ledger_rows("SELECT SUM(total_tokens) FROM api_calls")[0][0]


def test_calibration_reuses_old_windows_and_a_full_one_sees_everything(session):  # noqa: F811
    from ccledger.ledger import db
    cli("ingest")
    tokens = ledger_rows("SELECT SUM(total_tokens) FROM api_calls")[0][0]
    conn = db.connect()
    try:
        conn.execute("INSERT INTO readings (session_id, ts_ms, five_hour_pct, five_hour_reset_ms) VALUES (?,?,?,?)",
                     ("s", NOW, 20.0, NOW + 4 * windows.HOUR_MS))
        value, samples = windows.calibrate(conn)
        assert value["tokens_per_pct"] == {"sonnet": pytest.approx(tokens / 20)}
        conn.execute("UPDATE readings SET five_hour_pct = 40")  # a reading of that window drained late
        two_days_later, an_hour_later = NOW + 48 * windows.HOUR_MS, NOW + windows.HOUR_MS
        assert windows.calibrate(conn, samples, two_days_later)[0]["tokens_per_pct"] == {
            "sonnet": pytest.approx(tokens / 20)}, "a window with no recent reading keeps its sample"
        assert windows.calibrate(conn, samples, an_hour_later)[0]["tokens_per_pct"] == {
            "sonnet": pytest.approx(tokens / 40)}, "a recent window is measured again"
        assert windows.calibrate(conn)[0]["tokens_per_pct"] == {"sonnet": pytest.approx(tokens / 40)}
    finally:
        conn.close()
