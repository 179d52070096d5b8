"""Time zones, date bounds and calendar buckets for reports.

The ledger stores UTC epoch milliseconds; usage_rollup holds quarter hours
(every real UTC offset is a multiple of 15 minutes). Reports group by local day
in SQL with the zone's offsets written into the query (`day_sql`), so
daylight-saving changes land on the right day without converting every row in
Python.
"""
from __future__ import annotations

import datetime as dt

from ..base.errors import USAGE, CcledgerError
from ..ledger.schema import QUARTER_MS

# The days every time zone can show (datetime spans years 1..9999, and a zone's offset may move a day
# either way). Ingest keeps only years 2000..2200, but an older ledger may hold anything: a time
# outside is shown at the nearest edge instead of failing the report with `date value out of range`.
FIRST_DAY, LAST_DAY = dt.date(1, 1, 3), dt.date(9999, 12, 29)
_EPOCH_DAY = dt.date(1970, 1, 1)
MIN_MS = (FIRST_DAY - _EPOCH_DAY).days * 86_400_000
MAX_MS = (LAST_DAY - _EPOCH_DAY).days * 86_400_000


def clamp_ms(ms: int) -> int:
    return MIN_MS if ms < MIN_MS else MAX_MS if ms > MAX_MS else ms


class Zone:
    """A named IANA zone, or None for the machine's local time (DST-aware via the C library). A plain class:
    importing dataclasses and generating the class cost a report's start milliseconds."""
    __slots__ = ("name", "tz")

    def __init__(self, name: str, tz: dt.tzinfo | None) -> None:
        self.name, self.tz = name, tz

    def moment(self, ms: int) -> dt.datetime:
        ms = clamp_ms(ms)
        if self.tz is None:
            return dt.datetime.fromtimestamp(ms / 1000).astimezone()
        return dt.datetime.fromtimestamp(ms / 1000, self.tz)

    def midnight_ms(self, day: dt.date) -> int:
        day = min(max(day, FIRST_DAY), LAST_DAY + dt.timedelta(days=1))
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
    """YYYY-MM-DD, YYYYMMDD (ccusage's form), `today`, `yesterday` (local), or `7d` / `2w`: the first day of
    the last 7 days / 2 weeks, today included (so `--since 7d` is a week of days)."""
    word = text.strip().lower()
    if word in ("today", "yesterday"):
        return dt.date.today() - dt.timedelta(days=word == "yesterday")
    if word[:-1].isdigit() and word[-1:] in ("d", "w") and int(word[:-1]) > 0:
        today = dt.date.today()
        days = int(word[:-1]) * (7 if word[-1] == "w" else 1) - 1
        return today - dt.timedelta(days=min(days, (today - FIRST_DAY).days))
    raw = text.strip().replace("-", "")
    try:
        if len(raw) != 8:
            raise ValueError
        return dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise CcledgerError(f"invalid date {text!r}: use YYYY-MM-DD, YYYYMMDD, today, yesterday, or 7d (the last "
                            "7 days)", USAGE) from None


def last_start(period: str, n: int, today: dt.date | None = None) -> dt.date:
    """The first day of the last `n` periods (day, week or month), the current one included: `--last N`."""
    if n < 1:
        raise CcledgerError(f"--last {n}: give a number of periods, 1 or more", USAGE)
    today = today or dt.date.today()
    if period == "month":
        months = today.year * 12 + today.month - 1 - (n - 1)
        return dt.date(months // 12, months % 12 + 1, 1) if months >= 12 else FIRST_DAY
    days = today.weekday() + 7 * (n - 1) if period == "week" else n - 1
    return today - dt.timedelta(days=min(days, (today - FIRST_DAY).days))  # never before the first day shown


def bounds(z: Zone, since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Inclusive local dates -> [start_ms, end_ms)."""
    def day(text: str) -> dt.date:
        return min(max(parse_date(text), FIRST_DAY), LAST_DAY)
    start = z.midnight_ms(day(since)) if since else None
    end = z.midnight_ms(day(until) + dt.timedelta(days=1)) if until else None
    if start is not None and end is not None and end <= start:
        raise CcledgerError(f"--until {until} is before --since {since}", USAGE)
    return start, end


DAY_MS = 86_400_000
_QUARTERS_PER_DAY = DAY_MS // QUARTER_MS
_EPOCH_ORDINAL = _EPOCH_DAY.toordinal()
_BIAS_DAYS = 1_000_000  # shifts every time past zero so SQLite's truncating division floors


def offset_ms(z: Zone, ms: int) -> int:
    """How far the zone's wall clock is ahead of UTC at `ms` (clamped as `moment` clamps)."""
    local = z.moment(ms).replace(tzinfo=None)
    return (local - dt.datetime(1970, 1, 1)) // dt.timedelta(milliseconds=1) - clamp_ms(ms)


def day_sql(z: Zone, quarters: list[int]) -> str:
    """SQL for the local day (days since 1970-01-01, see `day_of_number`) of usage_rollup's `quarter`, so a
    report groups by day in SQL. Exact at the given quarters (sorted: the ones the report reads): the zone's
    offset is looked up at those only, split in halves until each run is a day at most with one offset (no zone
    changes its clocks and back within a day), and the runs become a CASE (two per year where the clocks
    change, none for UTC)."""
    seen: dict[int, int] = {}

    def at(i: int) -> int:
        q = quarters[i]
        if q not in seen:
            seen[q] = offset_ms(z, q * QUARTER_MS)
        return seen[q]

    changes: list[tuple[int, int]] = []  # (first quarter, its offset) where the offset changes

    def split(lo: int, hi: int) -> None:
        if at(lo) == at(hi) and quarters[hi] - quarters[lo] <= _QUARTERS_PER_DAY:
            return
        if hi - lo == 1:
            if at(lo) != at(hi):
                changes.append((quarters[hi], at(hi)))
            return
        mid = (lo + hi) // 2
        split(lo, mid)
        split(mid, hi)

    if quarters:
        split(0, len(quarters) - 1)
    offsets = [at(0) if quarters else 0] + [o for _, o in changes]  # offsets[i] holds before changes[i] starts
    offset = str(offsets[0]) if not changes else "CASE " + " ".join(
        f"WHEN quarter < {q} THEN {o}" for (q, _), o in zip(changes, offsets)) + f" ELSE {offsets[-1]} END"
    ms = f"MIN(MAX(quarter * {QUARTER_MS}, {MIN_MS}), {MAX_MS})"
    return f"(({ms} + {offset} + {_BIAS_DAYS * DAY_MS}) / {DAY_MS} - {_BIAS_DAYS})"


def day_of_number(number: int) -> dt.date:
    """The date of a `day_sql` day number."""
    return dt.date.fromordinal(number + _EPOCH_ORDINAL)


def day_key(day: dt.date) -> str:
    return day.isoformat()


def week_key(day: dt.date) -> str:
    """The Monday that starts the ISO week."""
    return (day - dt.timedelta(days=day.weekday())).isoformat()


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"  # strftime's %Y does not pad years below 1000


def iso_ms(ms: int | None) -> str | None:
    if ms is None:
        return None
    ms = clamp_ms(ms)
    return dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc).isoformat()[:19] + f".{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
