"""Rich tables for the usage reports: numbers right-aligned, costs in dollars, a totals footer."""
from __future__ import annotations

from typing import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

TOKEN_COLUMNS = (("Input", "input_tokens"), ("Output", "output_tokens"),
                 ("Cache write", "cache_creation_tokens"), ("Cache read", "cache_read_tokens"),
                 ("Total", "total_tokens"))


def count(n: int | float | None) -> str:
    return f"{int(n or 0):,}"


def money(x: float | None) -> str:
    return f"${(x or 0):,.2f}"


def short_model(model: str) -> str:
    name = model.removeprefix("claude-")
    parts = name.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        name = "-".join(parts[:-1])
    return name


def console() -> Console:
    return Console(highlight=False)


def usage_table(title: str, keys: Sequence[tuple[str, str]], rows: list[dict], totals: dict,
                breakdown: bool = False, models: bool = True, width: int = 120) -> Table:
    """Numbers are never cut: on a narrow terminal the models and cache columns go first,
    and key columns (session ids, project names) are shortened with an ellipsis."""
    columns = list(TOKEN_COLUMNS) + [("Cost", "cost_usd")]

    def fmt(key: str, value: object) -> str:
        return money(value) if key == "cost_usd" else count(value)

    def widths(cols: list) -> list[int]:
        return [max([len(label), len(fmt(key, totals.get(key)))] + [len(fmt(key, r.get(key))) for r in rows])
                for label, key in cols]

    key_room = lambda cols, with_models: width - sum(w + 3 for w in widths(cols)) - (26 if with_models else 0)
    if models and key_room(columns, True) < 16 * len(keys):
        models = False
    if key_room(columns, False) < 12 * len(keys):
        columns = [c for c in columns if not c[1].startswith("cache_")]
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_footer=True, title_justify="left")
    room = max(8, key_room(columns, models) // max(1, len(keys)) - 3)
    for n, (label, _) in enumerate(keys):
        table.add_column(label, footer="Total" if n == 0 else "", no_wrap=True, overflow="ellipsis", max_width=room)
    if models:
        table.add_column("Models", footer="", overflow="fold", min_width=10, max_width=24)
    for (label, key), w in zip(columns, widths(columns)):
        table.add_column(label, justify="right", footer=fmt(key, totals.get(key)), no_wrap=True, min_width=w)
    for row in rows:
        cells = [str(row.get(key) or "") for _, key in keys]
        if models:
            cells.append(", ".join(short_model(m) for m in row.get("models", [])))
        table.add_row(*cells, *(fmt(k, row.get(k)) for _, k in columns))
        if breakdown:
            for part in row.get("breakdown", []):
                label = f"  └ {short_model(part['model'])}"
                cells = [""] * len(keys) + [label] if models else [label] + [""] * (len(keys) - 1)
                table.add_row(*cells, *(fmt(k, part.get(k)) for _, k in columns), style="dim")
    return table


def footer_notes(out: Console, skipped: dict, unpriced: list[str]) -> None:
    if skipped:
        total = sum(skipped.values())
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
        out.print(f"[dim]{total:,} transcript lines skipped ({detail}); see `ccledger doctor`.[/dim]")
    if unpriced:
        out.print(f"No price known for {', '.join(unpriced)}: counted as $0. "
                  'Add a [pricing."<model>"] table to the config to price them.', style="yellow", markup=False)


def local_time(iso: str | None, zone, fmt: str) -> str:
    """An envelope timestamp (ISO, UTC) shown in the report's time zone."""
    from ..report.periods import parse_iso_ms
    if not iso:
        return ""
    moment = zone.moment(parse_iso_ms(iso))
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))  # strftime does not pad years below 1000


def blocks_table(rows: list[dict], zone) -> Table:
    """5-hour blocks: estimates, so the title says so."""
    table = Table(title=f"5-hour blocks (~ local estimate, {zone.name} time)", box=box.SIMPLE_HEAVY,
                  title_justify="left")
    for label in ("Start", "Status", "Models"):
        table.add_column(label)
    for label in ("Requests", "Total tokens", "Cost"):
        table.add_column(label, justify="right")

    def when(iso: str | None) -> str:
        return local_time(iso, zone, "%Y-%m-%d %H:%M")

    for row in rows:
        if row["is_gap"]:
            table.add_row(when(row["start"]), "[dim]gap[/dim]", "", "", "", "", style="dim")
            continue
        status = "ACTIVE" if row["is_active"] else ""
        if row["is_active"] and row.get("projection"):
            p = row["projection"]
            status += f" {p['remaining_minutes'] // 60}h{p['remaining_minutes'] % 60:02d}m left"
        table.add_row(when(row["start"]), status, ", ".join(short_model(m) for m in row["models"]),
                      count(row["requests"]), count(row["total_tokens"]), money(row["cost_usd"]))
    return table


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{int(value)}ms"


def owners_table(kind: str, rows: list[dict], totals: dict, by_tool: bool, width: int) -> Table:
    """Tools, MCP servers or subagents, sorted by carried cost."""
    title = {"tools": "Tokens by owner (tools, base context, prompts, model output)",
             "mcp": "Tokens by MCP " + ("tool" if by_tool else "server"),
             "agents": "Subagents (their whole spend, rolled up to the call that started them)"}[kind]
    table = Table(title=title, box=box.SIMPLE_HEAVY, show_footer=True, title_justify="left")
    if kind == "tools":
        keys = [("Owner", lambda r: r["owner"]), ("MCP server", lambda r: r["mcp_server"] or "")]
    elif kind == "mcp":
        keys = [("Server", lambda r: r["mcp_server"])] + ([("Tool", lambda r: r.get("mcp_tool") or "")]
                                                           if by_tool else [])
    else:
        keys = [("Agent", lambda r: r["agent_id"][:17]), ("Type", lambda r: r["agent_type"] or ""),
                ("Started by", lambda r: (r["parent_tool"] or "") + (" " + r["parent_tool_use_id"][-8:]
                                                                    if r["parent_tool_use_id"] else ""))]
    for n, (label, _) in enumerate(keys):
        table.add_column(label, footer="Total" if n == 0 else "", overflow="fold")
    numbers = [("Calls", "calls", count), ("Errors", "errors", count), ("Mean time", "mean_duration_ms", _ms),
               ("Marginal", "marginal_tokens", count), ("Carried", "carried_tokens", count),
               ("Output", "output_tokens", count), ("Cost", "cost_usd", money)]
    if width < 110:
        numbers = [n for n in numbers if n[1] not in ("mean_duration_ms", "errors")]
    for label, key, fmt in numbers:
        footer = fmt(totals.get(key)) if key in totals and key != "mean_duration_ms" else ""
        table.add_column(label, justify="right", footer=footer, no_wrap=True)
    for row in rows:
        table.add_row(*(get(row) for _, get in keys), *(fmt(row.get(key)) for _, key, fmt in numbers))
    return table


def windows_table(rows: list[dict], zone) -> Table:
    table = Table(title=f"Usage windows ({zone.name} time; ~ = local estimate)", box=box.SIMPLE_HEAVY,
                  title_justify="left")
    for label in ("Window", "Started", "Resets", "Used", "Runs out at this pace", "Tokens", "Cost"):
        table.add_column(label, justify="right" if label in ("Used", "Tokens", "Cost") else "left")

    def when(iso: str | None) -> str:
        return local_time(iso, zone, "%a %m-%d %H:%M")

    for row in rows:
        used = "" if row["used_pct"] is None else f"{'~' if row['estimate'] else ''}{row['used_pct']:.0f}%"
        name = {"five_hour": "5 hours", "seven_day": "7 days"}[row["window"]] + (" (now)" if row["active"] else "")
        table.add_row(name, when(row["start"]), when(row["reset"]), used, when(row["runs_out"]),
                      count(row["total_tokens"]), money(row["cost_usd"]), style=None if row["active"] else "dim")
    return table


def calibration_note(out: Console, calibration: dict) -> None:
    per_pct = calibration.get("tokens_per_pct") or {}
    if not per_pct:
        out.print("[dim]No calibration yet: it needs status line readings with official rate_limits "
                  "(Pro/Max plans) of at least 5%.[/dim]")
        return
    parts = ", ".join(f"{family}: {count(v)} tokens per 1% ({calibration['windows'][family]} windows)"
                      for family, v in sorted(per_pct.items()))
    out.print(f"Your 5-hour window, calibrated from official readings: {parts}.")
