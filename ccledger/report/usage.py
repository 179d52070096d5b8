"""Token and cost reports by period, session, project and model.

Every report is one grouped SQL query over usage_rollup (grouped by model too, so
`--breakdown` and the models list come for free; periods by local day, in SQL)
folded into rows here. Rows and totals all carry the same token fields, named as
in the JSON envelope.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable  # not typing: a report's start skips its import

from . import periods, projects, rollup

SYNTHETIC = "<synthetic>"
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
# Summed from usage_rollup (see report/rollup.py): one row per quarter hour, session, project and model.
_SUMS = (f"{rollup.total('input_tokens')}, {rollup.total('output_tokens')},"
         f" {rollup.total('cache_write_5m + cache_write_1h')}, {rollup.total('cache_read_tokens')}, SUM(cost_usd),"
         f" SUM(requests), MIN(first_ms), MAX(last_ms), {rollup.total('cache_write_1h')}, MAX(unpriced) = 0")
ROLLUP_TIME = f"quarter * {periods.QUARTER_MS}"  # local midnights fall on quarter hours: date bounds stay exact


class Filters:
    """What a report reads: its time zone, [since_ms, until_ms), a project and a session."""
    __slots__ = ("zone", "since_ms", "until_ms", "project", "session")

    def __init__(self, zone: periods.Zone, since_ms: int | None = None, until_ms: int | None = None,
                 project: str | None = None, session: str | None = None) -> None:
        self.zone, self.since_ms, self.until_ms, self.project, self.session = zone, since_ms, until_ms, project, session

    def where(self, alias: str = "", time: str = "ts_ms") -> tuple[str, list]:
        p = alias + "." if alias else ""
        clauses, params = [], []
        if self.since_ms is not None:
            clauses.append(f"{p}{time} >= ?")
            params.append(self.since_ms)
        if self.until_ms is not None:
            clauses.append(f"{p}{time} < ?")
            params.append(self.until_ms)
        if self.project:
            slug = project_slug(self.project)
            where_path = os.path.abspath(os.path.expanduser(self.project)) if slug != self.project else self.project
            clauses.append(f"({p}project = ? OR {p}project = ? OR {p}project LIKE ? OR {p}project IN"
                           " (SELECT project FROM files WHERE cwd = ? OR cwd LIKE ?))")  # the path reports show
            params += [self.project, slug, f"%{self.project}%", where_path, f"%{self.project}%"]
        if self.session:
            clauses.append(f"({p}session_id = ? OR {p}session_id LIKE ?)")
            params += [self.session, self.session + "%"]
        return (" AND ".join(clauses) or "1"), params


def project_slug(path: str) -> str:
    """Claude Code's folder name for a project path: every non-alphanumeric character becomes '-'."""
    return "".join(c if c.isalnum() else "-" for c in os.path.abspath(os.path.expanduser(path))) \
        if path.startswith(("/", "~", ".")) or (len(path) > 1 and path[1] == ":") else path


def empty() -> dict:
    return {"input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 0, "cache_read_tokens": 0,
            "total_tokens": 0, "cost_usd": 0.0, "requests": 0}


def add(into: dict, inp: int, out: int, cw: int, cr: int, cost: float, n: int) -> None:
    into["input_tokens"] += inp
    into["output_tokens"] += out
    into["cache_creation_tokens"] += cw
    into["cache_read_tokens"] += cr
    into["total_tokens"] += inp + out + cw + cr
    into["cost_usd"] += cost
    into["requests"] += n


class Group:
    """One report row being built."""
    __slots__ = ("key", "tokens", "models", "first_ms", "last_ms")

    def __init__(self, key: tuple) -> None:
        self.key, self.tokens, self.models = key, empty(), {}
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def fold(self, model: str, inp: int, out: int, cw: int, cr: int, cost: float, n: int,
             first: int, last: int) -> None:
        add(self.tokens, inp, out, cw, cr, cost, n)
        if model != SYNTHETIC:
            add(self.models.setdefault(model, empty()), inp, out, cw, cr, cost, n)
        self.first_ms = first if self.first_ms is None else min(self.first_ms, first)
        self.last_ms = last if self.last_ms is None else max(self.last_ms, last)

    def row(self, breakdown: bool) -> dict:
        row = dict(self.tokens)
        row["cost_usd"] = round(row["cost_usd"], 6)
        row["models"] = sorted(self.models)
        if breakdown:
            row["breakdown"] = [{"model": m, **{k: (round(v, 6) if k == "cost_usd" else v) for k, v in t.items()}}
                                for m, t in sorted(self.models.items(), key=lambda kv: -kv[1]["cost_usd"])]
        return row


def grouped(conn: sqlite3.Connection, flt: Filters, key_sql: str) -> Iterable[tuple]:
    rollup.refresh(conn)
    where, params = flt.where(time=ROLLUP_TIME)
    return conn.execute(f"SELECT {key_sql}, model, {_SUMS} FROM usage_rollup WHERE {where} "
                        f"GROUP BY {key_sql}, model", params)


def quarters(conn: sqlite3.Connection, flt: Filters) -> list[int]:
    """The quarter hours a report reads, in order (where periods.day_sql looks up the zone's offset)."""
    rollup.refresh(conn)
    where, params = flt.where(time=ROLLUP_TIME)
    return [q for q, in conn.execute(f"SELECT DISTINCT quarter FROM usage_rollup WHERE {where} ORDER BY quarter",
                                     params)]


def _fold(rows: Iterable[tuple], key_of: Callable[[tuple], tuple], nkey: int) -> dict[tuple, Group]:
    groups: dict[tuple, Group] = {}
    for r in rows:
        key = key_of(r)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key)
        model, inp, out, cw, cr, cost, n, first, last = r[nkey:nkey + 9]
        group.fold(model, inp or 0, out or 0, cw or 0, cr or 0, cost or 0.0, n, first, last)
    return groups


def _costs_in_order(groups: dict[tuple, Group], rows: Iterable[tuple], key_of: Callable[[tuple], tuple],
                    nkey: int) -> None:
    """The groups' costs summed again one quarter hour at a time, in order (the models too, listed as they came):
    a float sum depends on its order, and costs that end in half a millionth round either way on it, so a
    period's cost stays what summing its quarter hours gives."""
    models = {key: group.models for key, group in groups.items()}
    for group in groups.values():
        group.tokens["cost_usd"] = 0.0
        group.models = {}
    for r in rows:
        key = key_of(r)
        group = groups[key]
        model, cost = r[nkey], r[nkey + 1] or 0.0
        group.tokens["cost_usd"] += cost
        if model != SYNTHETIC:
            tokens = group.models.get(model)
            if tokens is None:
                tokens = group.models[model] = models[key][model]
                tokens["cost_usd"] = 0.0
            tokens["cost_usd"] += cost


def by_period(conn: sqlite3.Connection, flt: Filters, period: str, breakdown: bool,
              per_project: bool = False) -> list[dict]:
    """period: day, week or month, in the filter's time zone. `per_project` (ccusage's --instances): one row
    per project within each period, the costliest first."""
    label = {"day": periods.day_key, "week": periods.week_key, "month": periods.month_key}[period]
    name = {"day": "date", "week": "week", "month": "month"}[period]
    labels: dict[int, str] = {}

    def key_of(r: tuple) -> tuple:
        number = r[0]
        if number not in labels:
            labels[number] = label(periods.day_of_number(number))
        return (labels[number], r[1]) if per_project else (labels[number],)
    day = periods.day_sql(flt.zone, quarters(conn, flt))
    keys, nkey = (f"{day}, project", 2) if per_project else (day, 1)
    groups = _fold(grouped(conn, flt, keys), key_of, nkey)
    where, params = flt.where(time=ROLLUP_TIME)
    by_quarter = "quarter, project, model" if per_project else "quarter, model"
    _costs_in_order(groups, conn.execute(f"SELECT {keys}, model, SUM(cost_usd) FROM usage_rollup WHERE {where} "
                                         f"GROUP BY {by_quarter} ORDER BY {by_quarter}", params), key_of, nkey)
    rows = [{name: key[0], **({"project": key[1]} if per_project else {}), **groups[key].row(breakdown)}
            for key in groups]
    rows.sort(key=lambda r: (r[name], -r["cost_usd"], r.get("project") or ""))
    return projects.name_rows(conn, rows) if per_project else rows


def by_session(conn: sqlite3.Connection, flt: Filters, breakdown: bool) -> list[dict]:
    groups = _fold(grouped(conn, flt, "session_id, project"), lambda r: (r[0], r[1]), 2)
    rows = []
    for (session, project), group in groups.items():
        rows.append({"session_id": session, "project": project,
                     "first_activity": periods.iso_ms(group.first_ms),
                     "last_activity": periods.iso_ms(group.last_ms), **group.row(breakdown)})
    rows.sort(key=lambda r: (-r["cost_usd"], -r["total_tokens"], r["session_id"]))
    return projects.name_rows(conn, rows)


def by_project(conn: sqlite3.Connection, flt: Filters, breakdown: bool) -> list[dict]:
    groups = _fold(grouped(conn, flt, "project"), lambda r: (r[0],), 1)
    rows = [{"project": key[0], "first_activity": periods.iso_ms(g.first_ms),
             "last_activity": periods.iso_ms(g.last_ms), **g.row(breakdown)} for key, g in groups.items()]
    rows.sort(key=lambda r: (-r["cost_usd"], -r["total_tokens"], r["project"]))
    return projects.name_rows(conn, rows)


def by_model(conn: sqlite3.Connection, flt: Filters) -> list[dict]:
    rollup.refresh(conn)
    where, params = flt.where(time=ROLLUP_TIME)
    rows = []
    for r in conn.execute(f"SELECT model, {_SUMS} FROM usage_rollup WHERE {where} AND model != ? GROUP BY model",
                          params + [SYNTHETIC]):
        row = empty()
        add(row, *(v or 0 for v in r[1:6]), r[6])
        row["cost_usd"] = round(row["cost_usd"], 6)
        rows.append({"model": r[0], "priced": bool(r[10]), "cache_write_1h_tokens": r[9] or 0, **row})
    rows.sort(key=lambda r: (-r["cost_usd"], -r["total_tokens"], r["model"]))
    return rows


def totals(rows: list[dict]) -> dict:
    total = empty()
    for row in rows:
        for name in TOKEN_FIELDS + ("total_tokens", "cost_usd", "requests"):
            total[name] += row.get(name, 0)
    total["cost_usd"] = round(total["cost_usd"], 6)
    return total


def unpriced_models(conn: sqlite3.Connection, flt: Filters) -> list[str]:
    """Models that cost nothing here because no price is known for them (never a guess)."""
    rollup.refresh(conn)
    where, params = flt.where(time=ROLLUP_TIME)
    return [r[0] for r in conn.execute(
        f"SELECT DISTINCT model FROM usage_rollup WHERE {where} AND unpriced > 0 AND model NOT IN ('', ?) "
        "ORDER BY model", params + [SYNTHETIC])]


def skipped(conn: sqlite3.Connection, flt: Filters | None = None) -> dict[str, int]:
    """Transcript lines skipped, by reason: with filters, only in the files the report reads (their project
    and session match, and with dates, their session made a request in range: an indexed look-up), so a
    footer never blames the report for lines elsewhere."""
    scope, params = "", []
    if flt is not None and (flt.project or flt.session):
        where, params = Filters(flt.zone, project=flt.project, session=flt.session).where("f")
        scope = f" AND {where}"
    if flt is not None and (flt.since_ms is not None or flt.until_ms is not None):
        where, more = Filters(flt.zone, flt.since_ms, flt.until_ms).where("c")
        scope += f" AND EXISTS (SELECT 1 FROM api_calls c WHERE c.session_id = f.session_id AND {where})"
        params += more
    source = "skipped s JOIN files f ON f.id = s.file_id" if scope else "skipped s"
    return {reason: count for reason, count in conn.execute(
        f"SELECT s.reason, SUM(s.count) FROM {source} WHERE 1{scope} GROUP BY s.reason ORDER BY s.reason", params)}


CHRONOLOGICAL = ("daily", "weekly", "monthly", "blocks", "windows")


def _flipped(kind: str, order: str | None) -> bool:
    return order in ("asc", "desc") and order != ("asc" if kind in CHRONOLOGICAL else "desc")


def arrange(rows: list[dict], kind: str, order: str | None) -> list[dict]:
    """Periods come oldest first and everything else by cost, highest first; `--order` asks for the
    other way round ("asc"/"desc"): newest period first (the rows within a period keep their order), or
    the cheapest first. The two usage windows have no order."""
    if not _flipped(kind, order) or kind == "windows":
        return rows
    if kind in CHRONOLOGICAL:
        key = next((k for k in ("date", "week", "month", "start") if rows and k in rows[0]), None)
        return sorted(rows, key=lambda r: r.get(key) or "", reverse=True)  # stable: a period's rows keep order
    return rows[::-1]


def order_note(kind: str, order: str | None) -> str:
    """How the rows are ordered, for a title: "oldest first", "by cost", "by cost, lowest first"."""
    flipped = _flipped(kind, order)
    if kind in CHRONOLOGICAL:
        return "newest first" if flipped else "oldest first"
    return "by cost, lowest first" if flipped else "by cost"
