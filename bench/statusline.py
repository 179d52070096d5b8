"""The status line as Claude Code runs it, against `python -c pass` and the peers (stdlib only).

    statusline  5a-5d. one render on a 50 MB current transcript, nothing new / a new 5 KB turn before each
                       render, with and without rate_limits: against `python -c pass`
                5e-5f. the same payload rendered by ccstatusline and by `ccusage statusline` (information)
                5g-5j. ten renders at once (nothing new, then right after a new turn), against the ten's
                       own median, one render alone and ten `python -c pass` at once

The render runs from the bench venv as the installer writes it (installed.HotEnv.statusline_shell), on a
ledger holding the history and the current session (history.ensure_current), timed by hyperfine through
sh. bench_statusline is registered in bench/run.py; see bench/README.md for what is measured.
"""
from __future__ import annotations

import json
import random
import shlex
import subprocess
from typing import TYPE_CHECKING

from baselines import STRICT, baselines, ensure_ccstatusline, goal_rows
from harness import (Row, burst, error_log, grew_check, hyperfine, ledger_totals, loadavg, log, median, redirect,
                     stats_dict)
from history import (append_turn_command, append_usage, appended_totals, ensure_current, main_transcripts,
                     status_payload, status_shape, undo_appends)

if TYPE_CHECKING:
    from run import Context

STATUS_GOAL = 1.5           # one status line render at most this many times `python -c pass`
BURST_GOAL = 3.0            # ten renders at once: none over this many times the median of the ten
STATUS_TURN_BYTES = 5_000   # the turn appended before a status line render (variant 2)
BURST = 10


def first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


def bench_statusline(ctx: Context) -> None:
    """The status line entry as Claude Code runs it (the installed venv's `python -S .../launch.py
    statusline`, through sh, payload on stdin), with the whole history and a 50 MB current transcript in
    the ledger: nothing new, and a new 5 KB turn before each render; against `python -c pass`,
    ccstatusline and `ccusage statusline --offline --no-cache` on the same payload; ten renders at once."""
    hot = ctx.hot()
    scratch = ctx.scratch()
    cwd = scratch / "cwd"
    current = ensure_current()
    session = main_transcripts(current.root)[0]
    roots = f"{ctx.root},{current.root}"
    data: dict = {"loadavg_start": loadavg(), "interpreter": hot.python, "current_transcript": str(session),
                  "current_bytes": session.stat().st_size}
    before = ledger_totals(ctx.ccledger, ctx.root, ctx.caught_up_ledger())
    home = ctx.ledger_copy("statusline", roots)
    after = ledger_totals(ctx.ccledger, ctx.root, home)
    want = current.expected["final"]["totals"]
    ctx.check("statusline: the ledger holds the current session exactly",
              after["total_tokens"] - before["total_tokens"] == want["totalTokens"]
              and after["requests"] - before["requests"] == want["entries"],
              f"+{after['total_tokens'] - before['total_tokens']:,} tokens / +{after['requests'] - before['requests']:,}"
              f" requests over the history's ledger; expected.json {want['totalTokens']:,} / {want['entries']:,}")
    env = ctx.hot_env(home, roots)
    shape = status_shape()
    with_rl, without_rl = scratch / "status-rate-limits.json", scratch / "status.json"
    with_rl.write_text(json.dumps(status_payload(shape, session, cwd, True)))
    without_rl.write_text(json.dumps(status_payload(shape, session, cwd, False)))
    ccstatusline = ["node", str(ensure_ccstatusline())]
    ccusage = [*ctx.ccusage(), "statusline", "--offline", "--no-cache"]
    mine = hot.statusline_shell()
    names = {"rl": "ccledger status line (rate_limits)", "norl": "ccledger status line (no rate_limits)",
             "ccstatusline": "ccstatusline", "ccusage": "ccusage statusline --offline --no-cache"}

    # One render of each, shown and checked (also writes ccstatusline's default settings under HOME).
    shown = {}
    for key, command, stdin in (("rl", mine, with_rl), ("norl", mine, without_rl),
                                ("ccstatusline", shlex.join(ccstatusline), with_rl),
                                ("ccusage", shlex.join(ccusage), with_rl)):
        done = subprocess.run(redirect(command, stdin), shell=True, env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=300)
        shown[key] = first_line(done.stdout)
        log(f"  {names[key]}: exit {done.returncode}: {shown[key][:160]}")
        ok = done.returncode == 0 and bool(shown[key]) and (not key.startswith(("rl", "norl"))
                                                              or shown[key].strip() != "ccledger")
        ctx.check(f"statusline: {names[key]} renders a line", ok,
                  f"exit {done.returncode}, {shown[key][:120]!r}" + (f", stderr {done.stderr[-200:]!r}"
                                                                    if done.returncode else ""))
    data["lines"] = shown
    runs = ctx.hot_runs // 2

    # 5a/5b. Nothing new in the transcript.
    log(f"[statusline] hyperfine, nothing new: ccledger (with / without rate_limits), ccstatusline, "
        f"python -c pass, python3 -c pass; 2 rounds x {runs} runs")
    idle = hyperfine({**baselines(hot, with_rl, floor=True), names["rl"]: redirect(mine, with_rl),
                      names["norl"]: redirect(mine, without_rl),
                      names["ccstatusline"]: redirect(ccstatusline, with_rl)},
                     env, warmup=3, min_runs=runs, max_runs=runs, shell="sh", cwd=cwd, rounds=2)
    log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in idle.items()))
    log(f"[statusline] hyperfine: {names['ccusage']} (CLAUDE_CONFIG_DIR = history + current session)")
    theirs = hyperfine({names["ccusage"]: redirect(ccusage, with_rl)}, env, warmup=1, min_runs=3, max_runs=3,
                       shell="sh", cwd=cwd)[names["ccusage"]]
    log(f"  {names['ccusage']} {theirs.median:.2f} s")
    data["nothing_new"] = {**stats_dict(idle), names["ccusage"]: vars(theirs)}

    # 5c/5d. A new ~5 KB turn appended before every render (what each assistant message brings).
    appends = scratch / "status-appends.jsonl"
    prepare = append_turn_command(current.root, session, STATUS_TURN_BYTES, appends, random.randrange(1 << 40))
    before = ledger_totals(ctx.ccledger, ctx.root, home)
    log(f"[statusline] hyperfine, a new {STATUS_TURN_BYTES // 1000} KB turn before each render; 2 rounds x {runs} runs")
    fresh = hyperfine({**baselines(hot, with_rl), names["rl"]: redirect(mine, with_rl),
                       names["norl"]: redirect(mine, without_rl)},
                      env, warmup=2, min_runs=runs, max_runs=runs, shell="sh", cwd=cwd, rounds=2,
                      prepare={names["rl"]: prepare, names["norl"]: prepare})
    log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in fresh.items()))
    after = ledger_totals(ctx.ccledger, ctx.root, home)
    grew_check(ctx, "statusline: the renders ingested exactly the appended turns", before, after,
               appended_totals(appends))
    data["new_turn"] = {**stats_dict(fresh), "appended": appended_totals(appends)}

    for label, key, stats, variant in (("5a. status line, nothing new, rate_limits", "status_idle_rl", idle, "rl"),
                                       ("5b. status line, nothing new, no rate_limits", "status_idle", idle, "norl"),
                                       ("5c. status line, +5 KB turn, rate_limits", "status_turn_rl", fresh, "rl"),
                                       ("5d. status line, +5 KB turn, no rate_limits", "status_turn", fresh, "norl")):
        goal_rows(ctx, label, key, stats[names[variant]], stats, STATUS_GOAL)
    ref = idle[names["rl"]]
    ctx.rows.append(Row("5e. status line (5a) vs ccstatusline, same payload", ref.median,
                        idle[names["ccstatusline"]].median, "ccstatusline", "s", "(info)", None, speedup=True,
                        key="status_vs_ccstatusline"))
    ctx.rows.append(Row("5f. status line (5a) vs ccusage statusline, same payload", ref.median, theirs.median,
                        "ccusage statusline", "s", "(info)", None, speedup=True, key="status_vs_ccusage"))

    # 5g. Ten renders at once: nothing new; then right after a new turn (one of them ingests it).
    bursts = {}
    for key, label, seq in (("nothing_new", "5g. 10 renders at once, nothing new: slowest", idle[names["rl"]]),
                            ("new_turn", "5h. 10 renders at once, after a new 5 KB turn: slowest", fresh[names["rl"]])):
        if key == "new_turn":
            before = ledger_totals(ctx.ccledger, ctx.root, home)
            added = append_usage(current.root, session, STATUS_TURN_BYTES, seed=random.randrange(1 << 40),
                                 one_turn=True)
        results = burst(hot.statusline(), with_rl, env, cwd, n=BURST)
        times = [r["seconds"] for r in results]
        good = [r for r in results if r["rc"] == 0 and first_line(r["stdout"])]
        slowest = max(times)
        log(f"  {BURST} at once ({key}): median {median(times) * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms, "
            f"sequential median {seq.median * 1000:.1f} ms; {len(good)}/{BURST} rendered a line")
        ctx.check(f"statusline: {BURST} renders at once ({key.replace('_', ' ')}) all rendered a line",
                  len(good) == BURST, f"{len(good)}/{BURST}; exits {sorted({str(r['rc']) for r in results})}")
        if key == "new_turn":
            grew_check(ctx, "statusline: the new turn was ingested exactly once by the ten renders", before,
                       ledger_totals(ctx.ccledger, ctx.root, home),
                       {"total_tokens": added.total_tokens, "api_calls": added.api_calls, "turns": 1,
                        "bytes": added.bytes})
        # The goal ("none over 3x the median") is read against the ten renders' own median: on nproc cores,
        # n processes at once cannot all finish near one process's sequential time (see 5i for the floor).
        burst_median = median(times)
        ctx.rows.append(Row(label, slowest, burst_median, "median of the ten", "s", f"<= {BURST_GOAL:g}x",
                            len(good) == BURST and slowest <= BURST_GOAL * burst_median, key=f"status_burst_{key}"))
        ctx.rows.append(Row(f"{label} (vs one render alone)", slowest, seq.median, "sequential median", "s",
                            "(info)", None, key=f"status_burst_{key}_vs_sequential"))
        bursts[key] = {"seconds": times, "median": median(times), "max": slowest,
                       "sequential_median": seq.median, "rendered": len(good),
                       "lines": sorted({first_line(r["stdout"])[:200] for r in results})}
    # The floor on this machine: ten `python -c pass` at once against one (n processes on nproc cores).
    results = burst([hot.python, "-c", "pass"], with_rl, env, cwd, n=BURST)
    slowest = max(r["seconds"] for r in results)
    ctx.rows.append(Row("5i. (10 x python -c pass at once: slowest; the machine's floor)", slowest,
                        idle[STRICT].median, "python -c pass", "s", "(info)", None, key="status_burst_floor"))
    bursts["python_c_pass"] = {"seconds": [r["seconds"] for r in results], "max": slowest,
                               "sequential_median": idle[STRICT].median}
    ctx.rows.append(Row("5j. (5g against 5i: ten renders vs ten python -c pass, at once)",
                        bursts["nothing_new"]["max"], slowest, "10 x python -c pass", "s", "(info)", None,
                        key="status_burst_vs_floor"))
    log(f"  {BURST} x python -c pass at once: slowest {slowest * 1000:.0f} ms "
        f"({slowest / idle[STRICT].median:.1f}x its sequential median)")
    data["burst"] = bursts
    errors = error_log(home)
    ctx.check("statusline: nothing in the error log", not errors,
              f"{len(errors)} entries" + (f", first: {errors[0]}" if errors else ""))
    data["error_log"] = errors[:20]
    data["loadavg_end"] = loadavg()
    undo_appends(current.root)
    ctx.discard(home)
    ctx.data["statusline"] = data
