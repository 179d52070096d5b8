"""The hook entry as Claude Code runs it, against `python -c pass` (stdlib only).

    hooks   4a. one PostToolUse hook (appends a line to the spool and exits)
            4b. a Stop hook ingesting a new 50 KB turn
            4c. 8 hook processes at once on one ledger, 500 events each: nothing lost, nothing doubled,
                never "locked"

The hooks run from the bench venv (installed.ensure_hot_venv: `<python> -S .../launch.py hook`, payload on
stdin), timed by hyperfine through sh beside the `python -c pass` baselines (baselines.py). 4c's drivers
are this file run as a command: `python bench/hooks.py hammer SPEC INDEX OUT` (see _hammer_cli).
bench_hooks is registered in bench/run.py; see bench/README.md for what is measured.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from baselines import FLOOR, STRICT, baselines, goal_rows, python3_on_path
from harness import (BenchError, Row, Stats, error_log, grew_check, hyperfine, ledger_query, ledger_totals, loadavg,
                     log, redirect, stats_dict)
from history import (append_turn_command, appended_totals, b62, hook_payloads, hook_shapes, undo_appends,
                     untouched_sessions)

if TYPE_CHECKING:
    from run import Context

HOOK_GOAL = 1.3             # one PostToolUse hook at most this many times `python -c pass`
STOP_GOAL = 2.0             # a Stop hook ingesting a new 50 KB turn at most this many times `python -c pass`
STOP_TURN_BYTES = 50_000    # the turn a Stop hook ingests
HAMMER_PROCS, HAMMER_EVENTS, HAMMER_STOP_EVERY = 8, 500, 100


def bench_hooks(ctx: Context) -> None:
    """The hook entry as Claude Code runs it, on a ledger holding the whole history (a copy of the run's
    caught-up ledger): a PostToolUse (appends to the spool), a Stop ingesting a new 50 KB turn, and 8
    processes of 500 hook events each at once. Timed by hyperfine through sh with the payload redirected
    from a file (hyperfine subtracts the shell's start-up), against `python -c pass` read the same way."""
    hot = ctx.hot()
    scratch = ctx.scratch()
    data: dict = {"loadavg_start": loadavg(), "interpreter": hot.python, "python3_on_path": python3_on_path()}
    home = ctx.ledger_copy("hooks")
    env = ctx.hot_env(home)
    target = untouched_sessions(ctx.root)[0]
    post_shape, stop_shape = hook_shapes()
    _, post, stop = hook_payloads(post_shape, stop_shape, target.stem, str(target))
    post["tool_use_id"] = "toolu_01" + b62(22)
    post_file, stop_file = scratch / "post_tool_use.json", scratch / "stop.json"
    post_file.write_text(json.dumps(post))
    stop_file.write_text(json.dumps(stop))
    runs = ctx.hot_runs // 2

    # 4a. PostToolUse: records one spool line and exits.
    name = "hook PostToolUse"
    log(f"[hooks] hyperfine: {name} vs python -c pass ({hot.python}) and python3 -c pass (PATH), "
        f"2 rounds x {runs} runs")
    stats = hyperfine({**baselines(hot, post_file, floor=True), name: redirect(hot.hook(), post_file)}, env,
                      warmup=3, min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2)
    mine = stats[name]
    log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in stats.items()))
    data["post_tool_use"] = stats_dict(stats)
    goal_rows(ctx, "4a. hook PostToolUse", "hook_post", mine, stats, HOOK_GOAL)
    ctx.rows.append(Row("4a. (python -S -c pass: the floor of a -S entry)", stats[FLOOR].median,
                        stats[STRICT].median, "python -c pass", "s", "(info)", None, key="hook_floor"))

    # 4b. Stop: drains the spool, ingests the session's new bytes (one new 50 KB turn before each run).
    name = "hook Stop (+50 KB turn)"
    appends = scratch / "stop-appends.jsonl"
    before = ledger_totals(ctx.ccledger, ctx.root, home)
    prepare = append_turn_command(ctx.root, target, STOP_TURN_BYTES, appends, random.randrange(1 << 40))
    log(f"[hooks] hyperfine: {name} on {target.relative_to(ctx.root)} vs python -c pass, 2 rounds x {runs} runs")
    stats = hyperfine({**baselines(hot, stop_file), name: redirect(hot.hook(), stop_file)}, env,
                      warmup=2, min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2,
                      prepare={name: prepare})
    mine = stats[name]
    log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in stats.items()))
    after = ledger_totals(ctx.ccledger, ctx.root, home)
    added = appended_totals(appends)
    grew_check(ctx, "hooks: the Stop hooks ingested exactly the appended turns", before, after, added)
    data["stop"] = {**stats_dict(stats), "appended": added, "target": str(target)}
    goal_rows(ctx, "4b. hook Stop, ingesting a new 50 KB turn", "hook_stop", mine, stats, STOP_GOAL)
    errors = error_log(home)
    ctx.check("hooks: nothing in the error log (PostToolUse and Stop runs)", not errors,
              f"{len(errors)} entries" + (f", first: {errors[0]}" if errors else ""))
    undo_appends(ctx.root)
    ctx.discard(home)

    # 4c. Eight hook processes at once on one ledger, 500 events each.
    data["concurrency"] = hammer(ctx, post_shape, stop_shape)
    data["loadavg_end"] = loadavg()
    ctx.data["hooks"] = data


def hammer(ctx: Context, post_shape: dict, stop_shape: dict) -> dict:
    """4c: HAMMER_PROCS drivers (this file's `hammer` command) started together on a copy of the ledger, then
    `ccledger ingest` and the exact checks; returns the numbers for the JSON."""
    hot, scratch = ctx.hot(), ctx.scratch()
    home = ctx.ledger_copy("hooks-concurrent")
    env = ctx.hot_env(home)
    sessions = [[p.stem, str(p)] for p in untouched_sessions(ctx.root)[:HAMMER_PROCS]]
    if len(sessions) < HAMMER_PROCS:
        raise BenchError(f"the history has {len(sessions)} sessions; the concurrency test needs {HAMMER_PROCS}")
    ids = [s[0] for s in sessions]
    before = len(ledger_hook_events(home, ids))
    tag = b62(6)
    spec = {"argv": hot.hook(), "sessions": sessions, "post": post_shape, "stop": stop_shape,
            "events": HAMMER_EVENTS, "stop_every": HAMMER_STOP_EVERY, "tag": tag, "start_at": time.time() + 2.0}
    spec_file = scratch / "hammer.json"
    spec_file.write_text(json.dumps(spec))
    stops_each = HAMMER_EVENTS // HAMMER_STOP_EVERY
    log(f"[hooks] {HAMMER_PROCS} processes at once, each {HAMMER_EVENTS} hook events (PreToolUse/PostToolUse "
        f"pairs) and a Stop every {HAMMER_STOP_EVERY}, one session each, on one ledger ...")
    drivers = []
    for k in range(HAMMER_PROCS):
        out = scratch / f"hammer-{k}.json"
        errs = open(scratch / f"hammer-{k}.stderr", "wb")
        drivers.append((out, errs, subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "hammer",
                                                     str(spec_file), str(k), str(out)],
                                                    env=env, stdout=errs, stderr=errs, cwd=scratch / "cwd")))
    for _, errs, proc in drivers:
        proc.wait()
        errs.close()
    broken = [(k, (scratch / f"hammer-{k}.stderr").read_text(errors="replace")[-2000:])
              for k, (out, _, proc) in enumerate(drivers) if proc.returncode != 0 or not out.exists()]
    if broken:
        raise BenchError(f"hook driver {broken[0][0]} failed:\n{broken[0][1]}")
    results = [json.loads(out.read_text()) for out, _, _ in drivers]
    wall = max(r["ended"] for r in results) - spec["start_at"]
    late = max(r["began"] for r in results) - spec["start_at"]
    faults = [f for r in results for f in r["faults"]]
    log(f"  all done in {wall:.1f} s (the last driver started {late * 1000:.0f} ms after the agreed time); "
        f"{len(faults)} invocations failed or printed something")

    # Catch up with the installed CLI (drains what the last Stops left in the spool), then count.
    done = subprocess.run([*hot.ccledger(), "ingest", "--quiet"], env=env, capture_output=True, text=True)
    rows = ledger_hook_events(home, ids)
    tool_rows = Counter((tu, ev) for _, _, ev, tu in rows if ev in ("pre", "post"))
    expected = {(hammer_tool_id(tag, k, pair), kind) for k in range(HAMMER_PROCS)
                for pair in range(HAMMER_EVENTS // 2) for kind in ("pre", "post")}
    lost = len(expected - set(tool_rows))
    doubled = sum(n - 1 for n in tool_rows.values() if n > 1) + len(set(tool_rows) - expected)
    stops = sum(1 for _, _, ev, _ in rows if ev == "stop")
    distinct = ledger_query(home, "SELECT COUNT(*), COUNT(DISTINCT event_id) FROM hook_events")[0]
    tool_calls = dict(ledger_query(home, "SELECT tool_use_id, status FROM tool_calls WHERE tool_use_id LIKE ?",
                                   (f"toolu_01{tag}%",)))
    wanted_ids = {tu for tu, _ in expected}
    missing_calls = len(wanted_ids - set(tool_calls))
    not_ok = sum(1 for tu in wanted_ids if tool_calls.get(tu) not in (None, "ok"))
    errors = error_log(home)
    texts = [f["stderr"] + f["stdout"] for f in faults] + errors + [done.stderr]
    locked = sum("locked" in t.lower() for t in texts)
    want_rows = HAMMER_PROCS * (HAMMER_EVENTS + stops_each)
    ctx.check("hooks: ccledger ingest after the concurrent hooks", done.returncode == 0,
              f"exit {done.returncode}" + (f": {done.stderr[-300:]}" if done.returncode else ""))
    ctx.check("hooks: concurrent hook events, none lost, none doubled",
              len(rows) - before == want_rows and lost == 0 and doubled == 0 and stops == HAMMER_PROCS * stops_each,
              f"{len(rows) - before:,} rows in hook_events (want {want_rows:,}: {HAMMER_PROCS * HAMMER_EVENTS:,} "
              f"tool events + {HAMMER_PROCS * stops_each} stops); {lost} lost, {doubled} doubled, {stops} stops")
    ctx.check("hooks: concurrent hook event ids all distinct", distinct[0] == distinct[1],
              f"{distinct[0]:,} rows, {distinct[1]:,} distinct event ids")
    ctx.check("hooks: every concurrent tool_use_id in tool_calls, status ok", missing_calls == 0 and not_ok == 0,
              f"{len(wanted_ids) - missing_calls:,}/{len(wanted_ids):,} present, {not_ok} without status ok")
    ctx.check("hooks: no 'database is locked' (hook stderr, error log)", locked == 0,
              f"{locked} mentions in {len(faults)} failed invocations and {len(errors)} error-log entries")
    ctx.check("hooks: every concurrent hook exited 0 and printed nothing", not faults,
              f"{len(faults)} of {HAMMER_PROCS * (HAMMER_EVENTS + stops_each):,}"
              + (f", first: {json.dumps(faults[0])[:300]}" if faults else ""))
    ctx.check("hooks: nothing in the error log after the concurrent hooks", not errors,
              f"{len(errors)} entries" + (f", first: {errors[0]}" if errors else ""))
    tools = Stats.of([t for r in results for kind, t in r["runs"] if kind != "stop"])
    stop_times = Stats.of([t for r in results for kind, t in r["runs"] if kind == "stop"])
    ok = len(rows) - before == want_rows and lost == 0 and doubled == 0 and locked == 0 and not faults
    ctx.rows.append(Row(f"4c. {HAMMER_PROCS} hook processes x {HAMMER_EVENTS} events at once, total wall", wall,
                        None, "", "s", "no loss/dup/'locked'", ok, key="hook_concurrency"))
    ctx.rows.append(Row("4c. (one tool hook under that load: median / p95 in the JSON)", tools.median, None, "",
                        "s", "(info)", None, key="hook_concurrency_each"))
    ctx.discard(home)
    ordered = sorted(tools.times)
    return {"processes": HAMMER_PROCS, "events_each": HAMMER_EVENTS, "stop_every": HAMMER_STOP_EVERY,
            "wall_seconds": wall, "start_spread_seconds": late, "hook_events_rows": len(rows) - before,
            "expected_rows": want_rows, "lost": lost, "doubled": doubled, "stops": stops,
            "distinct_event_ids": distinct[1], "tool_calls_missing": missing_calls, "locked_mentions": locked,
            "faults": faults[:20], "fault_count": len(faults), "error_log": errors[:20],
            "tool_hook_seconds": {"median": tools.median, "p95": ordered[int(len(ordered) * 0.95)],
                                  "max": tools.max, "n": len(ordered)},
            "stop_hook_seconds": {"median": stop_times.median, "max": stop_times.max, "n": len(stop_times.times)}}


def ledger_hook_events(home: Path, sessions: list[str]) -> list[tuple]:
    marks = ",".join("?" * len(sessions))
    return ledger_query(home, f"SELECT event_id, session_id, event, tool_use_id FROM hook_events "
                              f"WHERE session_id IN ({marks})", tuple(sessions))


# ------------------------------------------------------------------------------------------ 4c. the drivers

def hammer_tool_id(tag: str, proc: int, pair: int) -> str:
    return f"toolu_01{tag}{proc:02d}{pair:06d}"


def _hammer_cli(spec_path: str, index: int, out_path: str) -> None:
    """One of the concurrent hook drivers: `events` hook processes in a row (PreToolUse, then PostToolUse
    with the same tool_use_id), a Stop after every `stop_every`; started at the spec's wall-clock time."""
    spec = json.loads(Path(spec_path).read_text())
    session_id, transcript = spec["sessions"][index]
    pre, post, stop = hook_payloads(spec["post"], spec["stop"], session_id, transcript)
    argv = spec["argv"]
    runs, faults = [], []

    def call(kind: str, payload: dict) -> None:
        data = json.dumps(payload).encode()
        started = time.perf_counter()
        done = subprocess.run(argv, input=data, capture_output=True)
        runs.append((kind, time.perf_counter() - started))
        if done.returncode != 0 or done.stdout or done.stderr:
            faults.append({"kind": kind, "tool_use_id": payload.get("tool_use_id"), "rc": done.returncode,
                           "stdout": done.stdout.decode(errors="replace")[-500:],
                           "stderr": done.stderr.decode(errors="replace")[-2000:]})

    delay = spec["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    began = time.time()
    for i in range(spec["events"]):
        tool_id = hammer_tool_id(spec["tag"], index, i // 2)
        call("pre" if i % 2 == 0 else "post", dict(pre if i % 2 == 0 else post, tool_use_id=tool_id))
        if (i + 1) % spec["stop_every"] == 0:
            call("stop", stop)
    Path(out_path).write_text(json.dumps({"index": index, "began": began, "ended": time.time(), "runs": runs,
                                          "faults": faults}))


def _cli(argv: list[str]) -> int:
    """`hammer`: one concurrent hook driver (what hammer() starts HAMMER_PROCS of)."""
    import argparse
    ap = argparse.ArgumentParser(prog="bench/hooks.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    driver = sub.add_parser("hammer", help="one concurrent hook driver")
    driver.add_argument("spec")
    driver.add_argument("index", type=int)
    driver.add_argument("out")
    args = ap.parse_args(argv)
    _hammer_cli(args.spec, args.index, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
