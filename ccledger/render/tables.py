"""Rich tables for the reports, laid out for the terminal they are printed on.

Each table knows which of its columns matter most. On a terminal too narrow for all of them it hides
the least important ones and shortens ids and paths, and says so under the table (as ccusage's compact
notice does); dates, numbers and tool names are never cut or wrapped. Output that is not a terminal (a
pipe, a file) has no width: every column and every full id. NO_COLOR or --no-color: no escape sequence
at all, bold included.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Sequence

from rich import box
from rich.cells import cell_len, get_character_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..report.usage import order_note

UNLIMITED = 100_000  # the width of output that is not a terminal: nothing is hidden, cut or wrapped
ELLIPSIS = "…"

TOKEN_COLUMNS = (("Input", "input_tokens"), ("Output", "output_tokens"),
                 ("Cache write", "cache_creation_tokens"), ("Cache read", "cache_read_tokens"),
                 ("Total", "total_tokens"))
# (turn to be hidden on a narrow terminal, hidden by --compact): ccusage's compact view keeps the
# models, input, output and cost.
TOKEN_PRIORITY = {"cache_creation_tokens": (1, True), "cache_read_tokens": (2, True), "total_tokens": (3, True),
                  "input_tokens": (7, False), "output_tokens": (8, False)}


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


def show_path(path: str) -> str:
    """A folder path as a person reads it: the home folder as ~."""
    home = os.path.expanduser("~").rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home):]
    return path


def console(args: object = None) -> Console:
    """Where a report prints. Not a terminal: no width (a pipe keeps every column). `args.color` (--color /
    --no-color) wins; else a non-empty NO_COLOR turns off every escape sequence (rich's own no_color keeps
    bold and dim: only color_system=None emits none)."""
    color = getattr(args, "color", None)
    tty = sys.stdout.isatty()
    options: dict = {"highlight": False, "emoji": False}
    if not tty:
        options["width"] = UNLIMITED
    if color is False or (color is None and os.environ.get("NO_COLOR")):
        options.update(color_system=None, no_color=True)
    elif color:
        options.update(force_terminal=True, color_system="auto" if tty else "standard")
    return Console(**options)


# ---------------------------------------------------------------------------------- fitting a table

@dataclass(eq=False)
class Column:
    """One column and everything the layout needs to know about it."""
    label: str
    cells: list[str]          # one per row; a newline starts another line (a list of models)
    footer: str = ""
    right: bool = False
    hide: int = 0             # 0: always shown; else its turn to be hidden on a narrow terminal (1 goes first)
    shorten: int = 0          # 0: never cut; else its turn (counted with `hide`) to be cut down to `least`
    least: int = 0
    cut: str = "end"          # what gives way: "end" (ids: --session takes their start), "start" (paths: the
    #                           folder's own name stays), "middle" (long MCP tool names keep server and tool)
    compact: bool = False     # hidden by --compact

    def natural(self) -> int:
        lines = [line for cell in self.cells for line in cell.split("\n")]
        return max([cell_len(self.label), cell_len(self.footer)] + [cell_len(line) for line in lines])


def _take(text: str, cells: int, from_end: bool) -> str:
    """The first (or last) characters of `text` that fit in `cells` terminal cells."""
    out, used = [], 0
    for char in (reversed(text) if from_end else text):
        size = get_character_cell_size(char)
        if used + size > cells:
            break
        out.append(char)
        used += size
    return "".join(reversed(out) if from_end else out)


def cut(text: str, width: int, where: str = "end") -> str:
    """`text` in at most `width` cells, an ellipsis where characters were left out."""
    if cell_len(text) <= width:
        return text
    if where == "start":
        return ELLIPSIS + _take(text, width - 1, True)
    if where == "middle":
        head = (width - 1) // 2
        return _take(text, head, False) + ELLIPSIS + _take(text, width - 1 - head, True)
    return _take(text, width - 1, False) + ELLIPSIS


@dataclass
class Layout:
    columns: list[Column]
    widths: dict[int, int]       # id(column) -> width
    hidden: list[str]            # labels hidden to fit
    shortened: list[Column]      # cut to fit
    compacted: list[str]         # labels hidden by --compact

    @property
    def width(self) -> int:
        """The table's width with SIMPLE_HEAVY: one cell of padding each side, one between and at the edges."""
        return sum(self.widths[id(c)] for c in self.columns) + 3 * len(self.columns) + 1


def layout(columns: list[Column], width: int, compact: bool = False) -> Layout:
    """Hide and shorten columns, least important first, until the table fits `width` (or nothing is left to
    give way: then it is printed wider than the terminal, never with a date or a number cut)."""
    rows = bool(columns and columns[0].cells)
    shown = [c for n, c in enumerate(columns) if not (compact and c.compact)
             and (n == 0 or not rows or c.footer or any(c.cells))]  # a column with nothing in it is noise
    plan = Layout(shown, {id(c): c.natural() for c in columns}, [], [],
                  [c.label for c in columns if compact and c.compact])
    steps = sorted([(c.hide, 0, n) for n, c in enumerate(columns) if c.hide]
                   + [(c.shorten, 1, n) for n, c in enumerate(columns) if c.shorten])
    for _, action, n in steps:
        over = plan.width - width
        column = columns[n]
        if over <= 0:
            break
        if column not in shown:
            continue
        if action == 0:
            shown.remove(column)
            plan.hidden.append(column.label)
            continue
        narrower = max(column.least, cell_len(column.label), plan.widths[id(column)] - over)
        if narrower < plan.widths[id(column)]:
            plan.widths[id(column)] = narrower
            plan.shortened.append(column)
    while True:  # a column hidden after the cuts may have left room: share it among the cut columns
        room = width - plan.width
        growing = [c for c in plan.shortened if c in shown and plan.widths[id(c)] < c.natural()]
        if room <= 0 or not growing:
            break
        for column in growing:
            plan.widths[id(column)] += min(max(1, room // len(growing)), column.natural() - plan.widths[id(column)],
                                           width - plan.width)
    plan.shortened = [c for c in plan.shortened if c in shown and plan.widths[id(c)] < c.natural()]
    return plan


class Fit:
    """A table laid out when it is printed, for the width it is printed in."""

    def __init__(self, title: str, columns: list[Column], styles: Sequence[str | None] = (),
                 compact: bool = False) -> None:
        self.title = title
        self.columns = columns
        self.styles = list(styles)
        self.compact = compact

    def notice(self, plan: Layout, width: int) -> str:
        """What the reader is not seeing, and why (as ccusage's compact notice)."""
        parts = []
        if plan.hidden:
            parts.append(f"Columns hidden to fit {width} columns: {', '.join(plan.hidden)}")
        if plan.shortened:
            parts.append(("shortened: " if parts else f"Shortened to fit {width} columns: ")
                         + ", ".join(c.label for c in plan.shortened))
        text = "; ".join(parts) + (" — widen the terminal or use --json" if parts else "")
        if plan.compacted:
            text += ("\n" if text else "") + f"Compact view (--compact): {', '.join(plan.compacted)} not shown"
        return text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        plan = layout(self.columns, width, self.compact)
        footer = any(c.footer for c in plan.columns)
        yield Text(self.title, style="table.title")  # wrapped at the terminal's width, not the table's
        table = Table(box=box.SIMPLE_HEAVY, show_footer=footer)
        for column in plan.columns:
            w = plan.widths[id(column)]
            table.add_column(Text(column.label), footer=Text(column.footer),
                             justify="right" if column.right else "left", no_wrap=True, min_width=w, max_width=w)
        for n in range(len(self.columns[0].cells) if self.columns else 0):
            cells = []
            for column in plan.columns:
                w = plan.widths[id(column)]
                cells.append(Text("\n".join(cut(line, w, column.cut) for line in column.cells[n].split("\n"))))
            table.add_row(*cells, style=self.styles[n] if n < len(self.styles) else None)
        # too narrow even with everything given up: print wider than the terminal rather than cut a date
        yield from console.render(table, options.update_width(max(width, plan.width)))
        text = self.notice(plan, width)
        if text:
            yield Text(text, style="dim")


# ---------------------------------------------------------------------------------- the reports

KEY_COLUMNS = {  # how each key column of a usage report gives way on a narrow terminal
    "session_id": {"shorten": 5, "least": 8},
    "project": {"shorten": 4, "least": 20, "cut": "start"},
    "last_active": {"hide": 9},
}


def _key_cell(key: str, row: dict) -> str:
    if key == "project":
        return show_path(row.get("project_path") or row.get("project") or "")
    return str(row.get(key) or "")


def usage_title(kind: str, zone: str, order: str | None = None) -> str:
    """"Claude Code usage, session, by cost (UTC time)": what the rows are and how they are ordered."""
    note = order_note(kind, order)
    if kind == "models":
        return f"Claude Code usage, models, {note}"
    if note.startswith("by cost"):
        return f"Claude Code usage, {kind}, {note} ({zone} time)"
    return f"Claude Code usage, {kind} ({zone} time, {note})"


def usage_table(title: str, keys: Sequence[tuple[str, str]], rows: list[dict], totals: dict,
                breakdown: bool = False, models: bool = True, compact: bool = False) -> Fit:
    """Token and cost columns with a totals footer. `--breakdown` adds a dimmed row per model under each
    row (so the models column then always stays)."""
    lines: list[tuple[dict, bool]] = []
    for row in rows:
        lines.append((row, False))
        if breakdown:
            lines += [(part, True) for part in row.get("breakdown", [])]
    columns = []
    for n, (label, key) in enumerate(keys):
        cells = ["" if part else _key_cell(key, row) for row, part in lines]
        if n == 0 and not models:
            cells = [f"  └ {short_model(row['model'])}" if part else cell for (row, part), cell in zip(lines, cells)]
        columns.append(Column(label, cells, footer="Total" if n == 0 else "", **KEY_COLUMNS.get(key, {})))
    if models:
        cells = [f"└ {short_model(row['model'])}" if part
                 else "\n".join(short_model(m) for m in row.get("models", [])) for row, part in lines]
        columns.append(Column("Models", cells, hide=0 if breakdown else 6))
    for label, key in TOKEN_COLUMNS:
        hide, in_compact = TOKEN_PRIORITY[key]
        columns.append(Column(label, [count(row.get(key)) for row, _ in lines], count(totals.get(key)), right=True,
                              hide=hide, compact=in_compact))
    columns.append(Column("Cost", [money(row.get("cost_usd")) for row, _ in lines], money(totals.get("cost_usd")),
                          right=True))
    return Fit(title, columns, ["dim" if part else None for _, part in lines], compact)


def footer_notes(out: Console, skipped: dict, unpriced: list[str]) -> None:
    if skipped:
        total = sum(skipped.values())
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
        out.print(Text(f"{total:,} transcript lines skipped ({detail}); see `ccledger doctor`.", style="dim"))
    if unpriced:
        out.print(Text(f"No price known for {', '.join(unpriced)}: counted as $0. "
                       'Add a [pricing."<model>"] table to the config to price them.', style="yellow"))


def local_time(iso: str | None, zone, fmt: str) -> str:
    """An envelope timestamp (ISO, UTC) shown in the report's time zone."""
    from ..report.periods import parse_iso_ms
    if not iso:
        return ""
    moment = zone.moment(parse_iso_ms(iso))
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))  # strftime does not pad years below 1000


def blocks_table(rows: list[dict], zone, order: str | None = None) -> Fit:
    """5-hour blocks: estimates, so the title says so."""
    def when(iso: str | None) -> str:
        return local_time(iso, zone, "%Y-%m-%d %H:%M")

    def status(row: dict) -> str:
        if row["is_gap"]:
            return "gap"
        text = "ACTIVE" if row["is_active"] else ""
        if row["is_active"] and row.get("projection"):
            p = row["projection"]
            text += f" {p['remaining_minutes'] // 60}h{p['remaining_minutes'] % 60:02d}m left"
        return text

    def number(fmt, key: str) -> list[str]:
        return ["" if r["is_gap"] else fmt(r[key]) for r in rows]

    columns = [Column("Start", [when(r["start"]) for r in rows]), Column("Status", [status(r) for r in rows]),
               Column("Models", ["\n".join(short_model(m) for m in r["models"]) for r in rows], hide=3),
               Column("Requests", number(count, "requests"), right=True, hide=1),
               Column("Total tokens", number(count, "total_tokens"), right=True, hide=2),
               Column("Cost", number(money, "cost_usd"), right=True)]
    title = f"5-hour blocks (~ local estimate, {zone.name} time, {order_note('blocks', order)})"
    return Fit(title, columns, ["dim" if r["is_gap"] else None for r in rows])


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{int(value)}ms"


def owners_table(kind: str, rows: list[dict], totals: dict, by_tool: bool = False, compact: bool = False,
                 order: str | None = None) -> Fit:
    """Tools, MCP servers or subagents, by cost: a tool's name is never wrapped (a very long MCP name is cut
    in the middle, last of all); subagents are named by type and description, not by id."""
    note = order_note(kind, order)
    title = {"tools": f"Tokens by owner, {note} (tools, base context, prompts, model output)",
             "mcp": f"Tokens by MCP {'tool' if by_tool else 'server'}, {note}",
             "agents": f"Subagents, {note} (their whole spend, rolled up to the call that started them)"}[kind]
    if kind == "tools":
        columns = [Column("Owner", [r["owner"] for r in rows], "Total", shorten=4, least=28, cut="middle"),
                   Column("MCP server", [r["mcp_server"] or "" for r in rows], hide=3, compact=True)]
    elif kind == "mcp":
        columns = [Column("Server", [r["mcp_server"] or "" for r in rows], "Total", shorten=4, least=16)]
        if by_tool:
            columns.append(Column("Tool", [r.get("mcp_tool") or "" for r in rows], shorten=4, least=20, cut="middle"))
    else:
        columns = [Column("Agent", [r.get("name") or r["agent_id"] for r in rows], "Total", shorten=4, least=24),
                   Column("Session", [r["session_id"] for r in rows], shorten=3, least=8),
                   Column("Started by", [r.get("parent_tool") or "" for r in rows], hide=2, compact=True)]
    numbers = [("Calls", "calls", count, 7, False), ("Errors", "errors", count, 1, True),
               ("Time" if kind == "agents" else "Mean time", "mean_duration_ms", _ms, 2, True),
               ("Marginal", "marginal_tokens", count, 5, True), ("Carried", "carried_tokens", count, 8, False),
               ("Output", "output_tokens", count, 6, False), ("Cost", "cost_usd", money, 0, False)]
    for label, key, fmt, hide, in_compact in numbers:
        footer = fmt(totals.get(key)) if key in totals and key != "mean_duration_ms" else ""
        columns.append(Column(label, [fmt(r.get(key)) for r in rows], footer, right=True, hide=hide,
                              compact=in_compact))
    return Fit(title, columns, compact=compact)


def windows_table(rows: list[dict], zone) -> Fit:
    def when(iso: str | None) -> str:
        return local_time(iso, zone, "%a %m-%d %H:%M")

    def used(row: dict) -> str:
        return "" if row["used_pct"] is None else f"{'~' if row['estimate'] else ''}{row['used_pct']:.0f}%"

    columns = [Column("Window", [{"five_hour": "5 hours", "seven_day": "7 days"}[r["window"]]
                                 + (" (now)" if r["active"] else "") for r in rows]),
               Column("Started", [when(r["start"]) for r in rows], hide=2),
               Column("Resets", [when(r["reset"]) for r in rows]),
               Column("Used", [used(r) for r in rows], right=True),
               Column("Runs out at this pace", [when(r["runs_out"]) for r in rows], hide=3),
               Column("Tokens", [count(r["total_tokens"]) for r in rows], right=True, hide=1),
               Column("Cost", [money(r["cost_usd"]) for r in rows], right=True)]
    return Fit(f"Usage windows ({zone.name} time; ~ = local estimate)", columns,
               [None if r["active"] else "dim" for r in rows])


def calibration_note(out: Console, calibration: dict) -> None:
    per_pct = calibration.get("tokens_per_pct") or {}
    if not per_pct:
        out.print(Text("No calibration yet: it needs status line readings with official rate_limits "
                       "(Pro/Max plans) of at least 5%.", style="dim"))
        return
    parts = ", ".join(f"{family}: {count(v)} tokens per 1% ({calibration['windows'][family]} windows)"
                      for family, v in sorted(per_pct.items()))
    out.print(f"Your 5-hour window, calibrated from official readings: {parts}.")
