"""The hot path's own ISO-8601 parser agrees with datetime on every calendar day, and refuses what it refuses."""
from __future__ import annotations

import datetime as dt

import pytest

from ccledger.ledger import transcript


@pytest.fixture
def fast(monkeypatch):
    """parse_ts as a hook or status line runs it: datetime not yet bound, under the fast-call budget."""
    monkeypatch.setattr(transcript, "_fromiso", None)
    monkeypatch.setattr(transcript, "_fast_calls", -10**9)
    return transcript.parse_ts


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def test_every_day_of_leap_and_common_years_and_centuries(fast):
    for year in (2024, 2025, 2026, 2000, 2100):
        day = dt.datetime(year, 1, 1, 23, 59, 58, 987000, tzinfo=dt.timezone.utc)
        while day.year == year:
            assert fast(iso(day)) == round(day.timestamp() * 1000), iso(day)
            day += dt.timedelta(days=1)
    assert transcript._fromiso is None, "valid timestamps never fell back to datetime"


@pytest.mark.parametrize("value", ["2025-02-29T00:00:00.000Z", "2024-02-30T00:00:00.000Z",
                                   "2026-04-31T00:00:00.000Z", "2026-13-01T00:00:00.000Z",
                                   "2026-11-00T00:00:00.000Z", "2026-11-30T24:00:00.000Z"])
def test_impossible_dates_are_refused_like_datetime_refuses_them(fast, value):
    assert fast(value) is None
