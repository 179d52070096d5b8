"""Time zones, date bounds and calendar buckets for reports.

The ledger stores UTC epoch milliseconds. Reports group in SQL by quarter hour
(every real UTC offset is a multiple of 15 minutes) and map each quarter to a
local date here, so daylight-saving changes land on the right day without
converting every row in Python.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from ..errors import USAGE, CcledgerError
from ..hot.schema import QUARTER_MS


@dataclass(frozen=True)
class Zone:
    """A named IANA zone, or None for the machine's local time (DST-aware via the C library)."""
    name: str
    tz: dt.tzinfo | None

    def moment(self, ms: int) -> dt.datetime:
        if self.tz is None:
            return dt.datetime.fromtimestamp(ms / 1000).astimezone()
        return dt.datetime.fromtimestamp(ms / 1000, self.tz)

    def midnight_ms(self, day: dt.date) -> int:
        naive = dt.datetime(day.year, day.month, day.day)
        start = naive.replace(tzinfo=self.tz) if self.tz is not None else naive
        return int(start.timestamp() * 1000)


def zone(name: str | None) -> Zone:
    if not name or name.lower() == "local":
        return Zone("local", None)
    if name.upper() == "UTC":
        return Zone("UTC", dt.timezone.utc)
    try:
        from zoneinfo import ZoneInfo
        return Zone(name, ZoneInfo(name))
    except Exception:
        raise CcledgerError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris, or 'local')",
                            USAGE) from None


def parse_date(text: str) -> dt.date:
    """YYYY-MM-DD, YYYYMMDD, `today` or `yesterday` (local)."""
    word = text.strip().lower()
    if word in ("today", "yesterday"):
        return dt.date.today() - dt.timedelta(days=word == "yesterday")
    raw = text.strip().replace("-", "")
    try:
        if len(raw) != 8:
            raise ValueError
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise CcledgerError(f"invalid date {text!r}: use YYYY-MM-DD, today or yesterday", USAGE) from None


def bounds(z: Zone, since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Inclusive local dates -> [start_ms, end_ms)."""
    start = z.midnight_ms(parse_date(since)) if since else None
    end = z.midnight_ms(parse_date(until) + dt.timedelta(days=1)) if until else None
    if start is not None and end is not None and end <= start:
        raise CcledgerError(f"--until {until} is before --since {since}", USAGE)
    return start, end


def day_of(z: Zone) -> Callable[[int], dt.date]:
    """quarter-hour index -> local date, memoised."""
    cache: dict[int, dt.date] = {}

    def lookup(quarter: int) -> dt.date:
        value = cache.get(quarter)
        if value is None:
            value = cache[quarter] = z.moment(quarter * QUARTER_MS).date()
        return value
    return lookup


def day_key(day: dt.date) -> str:
    return day.isoformat()


def week_key(day: dt.date) -> str:
    """The Monday that starts the ISO week."""
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def month_key(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def iso_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
