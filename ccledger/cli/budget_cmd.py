"""`ccledger budget set|unset|show|override|status|check`: the limits in config.toml, and lifting them for a while.

`set` and `unset` edit the file surgically (ccledger.config.edit), so the
user's comments survive. `override` writes state/override.json, which the
gating hooks read with one open: until `until_ms` they ask, deny and block
nothing. pydantic (config_model, config_edit) is imported only by the
commands that validate or edit the file, so `status` and `check` stay quick.
"""
from __future__ import annotations

import argparse
import decimal
import json
import os
import re
import sys
import time

from ..base import paths
from ..base.errors import USAGE, CcledgerError
from ..config import read as userconfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import model as config_model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

AMOUNT = re.compile(r"(\$)?\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmbKMB])?")
AMOUNT_UNITS = {"": 1, "k": 1000, "m": 1_000_000, "b": 1_000_000_000}
DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?")
UNITS_MS = (86_400_000, 3_600_000, 60_000, 1000)
LIMITS = (  # name, what its amount measures (for `show`)
    ("window", "of the 5-hour window"), ("week", "of the 7-day window"), ("daily", "per local day"),
    ("weekly", "per ISO week"), ("monthly", "per month"), ("session", "per session"),
    ("tool_result", "in one tool result"), ("mcp", "per MCP server per local day"))


def parse_amount(text: str) -> int | float | None:
    """`2M`, `500k`, `1.5B`, `$5`, `$0.50` -> the number (an int when whole, as TOML would read it), like
    `override --for 1h` reads units; None for text that is not an amount with a unit or a `$`."""
    match = AMOUNT.fullmatch(text.strip())
    if not match or not (match.group(1) or match.group(3)):
        return None
    value = decimal.Decimal(match.group(2)) * AMOUNT_UNITS[(match.group(3) or "").lower()]
    return int(value) if value == value.to_integral_value() else float(value)


def parse_value(text: str) -> object:
    """`2000000`, `1.5`, `true`, `"x"`, `[1, 2]` as TOML; `2M`, `500k`, `$5` as amounts; `50,80,95` as a list;
    anything else a bare string."""
    amount = parse_amount(text)
    if amount is not None:
        return amount
    try:
        parsed = tomllib.loads(f"v = {text}")
        if len(parsed) == 1:
            return parsed["v"]
    except tomllib.TOMLDecodeError:
        pass
    if "," in text:
        return [parse_value(item.strip()) for item in text.split(",") if item.strip()]
    return text


def parse_assignment(text: str) -> tuple[str, object]:
    """`KEY=VALUE`; the key may hold quoted parts with '=' in them (`mcp.servers."a=b".usd=1`)."""
    from ..config import edit as config_edit
    try:
        parts, end = config_edit.split_key(text)
    except ValueError as exc:
        raise CcledgerError(f"bad key in {text!r}: {exc}", USAGE) from None
    if text[end:end + 1] != "=":
        raise CcledgerError(f"expected KEY=VALUE, got {text!r} (`ccledger budget set --help` lists the keys)",
                            USAGE)
    return config_edit.dotted(parts), parse_value(text[end + 1:].strip())


def _prefix(project: str | None) -> tuple[str, ...]:
    """Keys are relative to [budgets], or to [projects."<abs path>".budgets] with --project."""
    if project is None:
        return ("budgets",)
    return ("projects", os.path.abspath(os.path.expanduser(project)), "budgets")


def _shown(value: object) -> str:
    from ..config import edit as config_edit
    return "(not set)" if value is config_edit.MISSING else config_edit.render_value(value)


def set_(args: argparse.Namespace) -> int:
    from ..config import edit as config_edit
    path, prefix = paths.config_path(), _prefix(args.project)
    assignments = dict(parse_assignment(a) for a in args.assignments)
    before = userconfig.load_strict(path)
    warnings = config_edit.set_keys(path, assignments, prefix)
    after = userconfig.load_strict(path)
    for key in assignments:
        full = prefix + config_edit.parse_key(key)
        old, new = config_edit.get(before, full), config_edit.get(after, full)
        note = "unchanged" if config_edit.same(old, new) else f"was {_shown(old)}"
        print(f"{config_edit.dotted(full)} = {_shown(new)}  ({note})")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def unset(args: argparse.Namespace) -> int:
    from ..config import edit as config_edit
    path, prefix = paths.config_path(), _prefix(args.project)
    before = userconfig.load_strict(path)
    warnings = config_edit.unset_keys(path, args.keys, prefix)
    for key in args.keys:
        full = prefix + config_edit.parse_key(key)
        if config_edit.get(before, full) is not config_edit.MISSING:
            print(f"removed {config_edit.dotted(full)} (was {_shown(config_edit.get(before, full))})")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _amount(limit: object, unit: str) -> str:
    """`$20.00 per local day`, `2,000,000 tokens per session`, `100% of the 5-hour window`, or `-`."""
    parts = []
    if getattr(limit, "limit", None) is not None:
        parts.append(f"{limit.limit:g}%")
    if getattr(limit, "usd", None) is not None:
        parts.append(f"${limit.usd:,.2f}")
    for field, name in (("tokens", "tokens"), ("carried_tokens", "carried tokens")):
        if getattr(limit, field, None) is not None:
            parts.append(f"{getattr(limit, field):,} {name}")
    return f"{' or '.join(parts)} {unit}" if parts else "-"


def limit_rows(budgets: config_model.Budgets) -> list[dict]:
    """One row per limit (and per MCP server override), with whether it is armed."""
    from ..config import model as config_model
    rows = []
    for name, unit in LIMITS:
        limit = getattr(budgets, name)
        rows.append({"limit": name, "amount": _amount(limit, unit), "warn": limit.warn, "action": limit.action,
                     "active": config_model.is_active(budgets, name), "values": config_model.dump(limit)})
        for server, over in getattr(limit, "servers", {}).items():
            rows.append({"limit": f"mcp {server}", "amount": _amount(over, "per local day"),
                         "warn": limit.warn if over.warn is None else over.warn,
                         "action": over.action or limit.action,
                         "active": bool(over.usd or over.carried_tokens or limit.usd or limit.carried_tokens),
                         "values": config_model.dump(over)})
    return rows


def read_override(now_ms: int | None = None) -> dict | None:
    """The override in force, if any (an expired or unreadable file counts as none)."""
    try:
        with open(os.path.join(paths.state_dir(), "override.json"), encoding="utf-8") as handle:
            body = json.load(handle)
    except (OSError, ValueError):
        return None
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    until = body.get("until_ms") if isinstance(body, dict) else None
    return body if isinstance(until, int) and until > now_ms else None


def _table(title: str, rows: list[dict]) -> None:
    from rich import box
    from rich.table import Table

    from ..render.tables import console
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for label in ("Limit", "Amount", "Warn at %", "Action", "State"):
        table.add_column(label, overflow="fold")
    for r in rows:
        table.add_row(r["limit"], r["amount"], ", ".join(f"{w:g}" for w in r["warn"]), r["action"],
                      "armed" if r["active"] else "off (no amount)", style=None if r["active"] else "dim")
    console().print(table)


def show(args: argparse.Namespace) -> int:
    from ..config import model as config_model
    cfg, warnings = config_model.load(paths.config_path())
    projects = {p: [r for r in limit_rows(config_model.budgets_for(cfg, p))
                    if r["limit"].split()[0] in project.budgets.model_fields_set]
                for p, project in cfg.projects.items()}
    override = read_override()
    if args.json:
        body = {"schema_version": 1, "report": "budgets", "path": paths.config_path(),
                "notify_model": cfg.budgets.notify_model, "limits": limit_rows(cfg.budgets), "projects": projects,
                "override": override, "warnings": [str(w) for w in warnings]}
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _table("Budgets", limit_rows(cfg.budgets))
    for project, rows in projects.items():
        _table(f"Project {project} (overrides)", rows)
    print(f"from {paths.config_path()} (`ccledger budget set KEY=VALUE` changes it)")
    print("notify_model = true: warnings also go to Claude" if cfg.budgets.notify_model else
          "notify_model = false: warnings go to you only, never into Claude's context")
    if override:
        print(f"override in force: ask, deny and block lifted until {_clock(override['until_ms'])}")
    return 0


def parse_duration(text: str) -> int:
    """`1h`, `30m`, `2h30m`, `1d`, `90s` -> milliseconds."""
    match = DURATION.fullmatch(text.strip().lower().replace(" ", ""))
    if not match or not any(match.groups()):
        raise CcledgerError(f"cannot read the duration {text!r}; use e.g. 30m, 1h, 2h30m or 1d", USAGE)
    ms = sum(int(n) * unit for n, unit in zip(match.groups(), UNITS_MS) if n)
    if ms <= 0:
        raise CcledgerError(f"the duration {text!r} is zero", USAGE)
    return ms


def override(args: argparse.Namespace) -> int:
    target = os.path.join(paths.state_dir(), "override.json")
    if args.clear:
        existed = read_override() is not None
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        print("override cleared: budget actions apply again" if existed else "no override was in force")
        return 0
    if args.duration is None:
        current = read_override()
        print("no override in force" if current is None else
              f"override in force until {_clock(current['until_ms'])} ({current.get('reason', '')})")
        return 0
    now = int(time.time() * 1000)
    body = {"until_ms": now + parse_duration(args.duration), "created_ms": now,
            "reason": args.reason or f"ccledger budget override --for {args.duration}"}
    paths.write_atomic(target, json.dumps(body) + "\n")
    print(f"budget actions (ask, deny, block) lifted until {_clock(body['until_ms'])}; "
          "`ccledger budget override --clear` ends it sooner")
    return 0


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


# ---- `budget status` and `budget check`: the limits measured now, with the hot path's own code ----

def _measures(args: argparse.Namespace) -> tuple[list, bool]:
    """(measures of every configured limit, is an override in force) for a session and folder."""
    from ..budgets import gate
    from ..budgets import measure as budgets
    from . import context
    conn = context.open_ledger()
    context.catch_up(conn, quiet=True)
    from ..ledger import attribution
    session = args.session or (conn.execute(
        "SELECT session_id FROM api_calls ORDER BY ts_ms DESC LIMIT 1").fetchone() or [None])[0]
    if session:
        attribution.refresh(conn, [session])
    now = int(time.time() * 1000)
    found, _, _ = budgets.load(args.cwd or os.getcwd())
    if not found:
        _refuse_invalid(args.cwd or os.getcwd())
    measures = budgets.measure(conn, found, session, now)
    measured = {m.limit.key for m in measures}
    from ..budgets.measure import Measure
    measures += [Measure(limit, 0, "", None, "nothing measured yet") for limit in found if limit.key not in measured]
    return measures, gate.overridden(now)


def _refuse_invalid(cwd: str) -> None:
    """No limit in force may mean none is configured, or that the budgets written are invalid (the hot path
    then turns them all off): the latter is an error naming the key and line, not "no budgets"."""
    from ..budgets import measure as budgets
    from . import context
    try:
        budgets.limits(budgets.effective(context.load_config(), cwd)[0])
        return
    except ValueError as exc:
        reason = str(exc)
    from ..config import model as config_model
    try:
        config_model.load(paths.config_path())
    except config_model.ConfigError as exc:
        ours = [i for i in exc.issues if (i.key or "").split(".")[0] in ("budgets", "projects")]
        reason = str(config_model.ConfigError(exc.path, ours)) if ours else reason
    raise CcledgerError(f"the budgets are invalid, so none is in force: {reason}")


def _row(m, overridden: bool) -> dict:
    armed = m.limit.action in ("ask", "deny", "block") and m.pct >= 100
    return {"limit": m.limit.key, "value": round(m.value, 6), "limit_value": m.limit.amount, "unit": m.limit.unit,
            "pct_of_limit": round(m.pct, 1), "warn": m.limit.warn, "action": m.limit.action,
            "armed": armed and not overridden, "period": m.period, "what": m.label,
            "forecast": m.forecast, "forecast_kind": "runs_out_ms" if m.limit.kind in ("window", "week")
            else "value_at_period_end" if m.forecast is not None else None}


def budgets_off() -> str | None:
    """Why no budget is in force whatever the file says, if so: config.toml does not parse (the hooks then
    run on the defaults)."""
    try:
        userconfig.load_strict()
    except CcledgerError as exc:
        return f"budgets off until it is fixed: {exc}"  # the hooks ask, deny and block nothing meanwhile
    return None


def say_budgets_off(args: argparse.Namespace, problem: str) -> int:
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "budget_status", "rows": [], "budgets_off": problem},
                         indent=2))
    else:
        print(problem)
    return 1


def status(args: argparse.Namespace) -> int:
    """Each limit, its value now, the forecast at the current pace, and which actions are armed."""
    problem = budgets_off()
    if problem:
        return say_budgets_off(args, problem)
    measures, overridden = _measures(args)
    rows = [_row(m, overridden) for m in measures]
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "budget_status", "rows": rows,
                          "override_until_ms": (read_override() or {}).get("until_ms") if overridden else None},
                         indent=2))
        return 0
    if not rows:
        print("No budgets configured. Example: ccledger budget set session.tokens=2000000 session.action=deny")
        return 0
    from ..base import units
    for m, row in zip(measures, rows):
        forecast = ""
        if row["forecast_kind"] == "runs_out_ms":
            forecast = f"; runs out at {units.clock(m.forecast, int(time.time() * 1000))}"
        elif row["forecast_kind"]:
            forecast = f"; {units.money(m.forecast)} by the end of the period at this pace"
        state = "ARMED" if row["armed"] else ("lifted by override" if overridden and m.pct >= 100 else "")
        print(f"{row['limit']:<24} {row['pct_of_limit']:>6.1f}%  {m.label}{forecast}  "
              f"[{row['action']}{' ' + state if state else ''}]")
    if overridden:
        print(f"override in force until {_clock(read_override()['until_ms'])}")
    return 0


def check(args: argparse.Namespace) -> int:
    """Exit 3 (BUDGET_EXCEEDED) when any limit is at or past 100%, for scripts and CI."""
    from ..base.errors import BUDGET_EXCEEDED
    problem = budgets_off()
    if problem:
        return say_budgets_off(args, problem)
    measures, overridden = _measures(args)
    over = [m for m in measures if m.pct >= 100]
    if args.json:
        print(json.dumps({"schema_version": 1, "report": "budget_check", "exceeded": [
            _row(m, overridden) for m in over]}, indent=2))
    else:
        for m in over:
            print(f"over budget: {m.limit.key}: {m.label} ({m.pct:.0f}% of the limit)")
        if not over:
            print("within every budget")
    return BUDGET_EXCEEDED if over else 0



COMMANDS = {"set": set_, "unset": unset, "show": show, "override": override, "status": status, "check": check}


def run(args: argparse.Namespace) -> int:
    return COMMANDS[args.action](args)
