"""PreToolUse with budgets armed (issue 6), against `python -c pass` (stdlib only).

    gate   6. a session token limit with `action = "deny"` in the ledger's config.toml, measured once by a
           Stop hook so the gate file is current; then `hook PreToolUse` timed with the session over its
           limit (it must answer deny) and under it (it must answer nothing); for information, the stale
           case: a new ~5 KB turn before each call, so the hook measures the session before deciding.

The hook runs from the bench venv as in hooks.py (installed.ensure_hot_venv), timed the same way.
bench_gate is registered in bench/run.py; see bench/README.md for what is measured.
"""
from __future__ import annotations

import json
import random
import subprocess
from typing import TYPE_CHECKING

from baselines import STRICT, baselines, goal_rows
from harness import Row, hyperfine, loadavg, log, redirect, stats_dict
from history import append_turn_command, hook_payloads, hook_shapes, undo_appends, untouched_sessions

if TYPE_CHECKING:
    from run import Context

GATE_GOAL = 1.3             # a PreToolUse hook with budgets armed at most this many times `python -c pass`


def bench_gate(ctx: Context) -> None:
    """PreToolUse with budgets armed (issue 6): a session token limit with `deny` that the session is over,
    measured once by a Stop hook, so the gate reads one precomputed file and denies; and the same with the
    session under its limit (allowed). Against `python -c pass`, the same way as the hooks."""
    hot, scratch = ctx.hot(), ctx.scratch()
    data: dict = {"loadavg_start": loadavg()}
    home = ctx.ledger_copy("gate")
    env = ctx.hot_env(home)
    target = untouched_sessions(ctx.root)[0]
    pre, _, stop = hook_payloads(*hook_shapes(), target.stem, str(target))
    pre_file, stop_file = scratch / "gate_pre.json", scratch / "gate_stop.json"
    pre_file.write_text(json.dumps(pre))
    stop_file.write_text(json.dumps(stop))
    runs = ctx.hot_runs // 2
    for label, tokens, want in (("armed", 1000, "deny"), ("under its limit", 10 ** 13, None)):
        (home / "config.toml").write_text(f'[budgets.session]\ntokens = {tokens}\naction = "deny"\n')
        subprocess.run(hot.hook(), input=stop_file.read_bytes(), env=env, capture_output=True, check=True)
        answer = subprocess.run(hot.hook(), input=pre_file.read_bytes(), env=env, capture_output=True)
        decision = json.loads(answer.stdout or b"{}").get("hookSpecificOutput", {}).get("permissionDecision")
        ctx.check(f"gate: PreToolUse {label} answers {want or 'nothing'}", decision == want,
                  f"got {answer.stdout[:200]!r}")
        name = f"hook PreToolUse, budgets {label}"
        stats = hyperfine({**baselines(hot, pre_file), name: redirect(hot.hook(), pre_file)}, env, warmup=3,
                          min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2)
        log("  " + ", ".join(f"{n} {st.median * 1000:.1f} ms" for n, st in stats.items()))
        data[label] = stats_dict(stats)
        goal_rows(ctx, f"6. {name}", "gate_" + label.split()[0], stats[name], stats, GATE_GOAL)
    # The price of gating when the gate is stale (a new ~5 KB turn before each call, a deny-able limit
    # configured): the hook measures first, synchronously, so the very next call is gated.
    name = "hook PreToolUse, stale gate (+5 KB turn)"
    prepare = append_turn_command(ctx.root, target, 5_000, scratch / "gate-appends.jsonl", random.randrange(1 << 40))
    stats = hyperfine({**baselines(hot, pre_file), name: redirect(hot.hook(), pre_file)}, env, warmup=2,
                      min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2,
                      prepare={name: prepare})
    log("  " + ", ".join(f"{n} {st.median * 1000:.1f} ms" for n, st in stats.items()))
    data["stale"] = stats_dict(stats)
    ctx.rows.append(Row(f"6. {name} (info)", stats[name].median, stats[STRICT].median, "python -c pass", "s",
                        "(info)", None, key="gate_stale"))
    undo_appends(ctx.root)
    ctx.discard(home)
    data["loadavg_end"] = loadavg()
    ctx.data["gate"] = data
