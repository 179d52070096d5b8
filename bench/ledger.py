"""The ledger's own commands against ccusage and against each other (stdlib only).

    ingest   1. first full ingest of the history vs `ccusage daily --offline --json`: time and peak memory
    report   2. `ccledger report daily --json` with nothing new vs ccusage's daily (hyperfine, medians)
    append   3. `ccledger ingest` after appending ~1 MiB of new usage to one transcript vs the full ingest

Each is one function taking the run's Context (bench/run.py), registered there; they run the dev venv's
`ccledger` (installed.ccledger_command) on the run's history. See bench/README.md for what is measured.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from harness import MB, Row, Stats, Timed, hyperfine, ledger_totals, log, median, run_timed
from history import append_usage, pick_transcript, undo_appends

if TYPE_CHECKING:
    from run import Context

APPEND_BYTES = 1 << 20      # what one append round adds to the transcript
INGEST_GOAL = 1.5           # full ingest time at most this many times ccusage's
MEMORY_GOAL = 300 * MB      # full ingest peak memory under this
REPORT_GOAL = 20.0          # report with nothing new at least this many times faster than ccusage daily
APPEND_GOAL = 50.0          # ingest after a 1 MB append at least this many times faster than the full ingest


# ------------------------------------------------------------------------------------------ 1. ingest

def bench_ingest(ctx: Context) -> None:
    """First full ingest vs ccusage daily: interleaved runs after one warmup of each; time medians and
    peak memory (largest process from /usr/bin/time, summed tree RSS/PSS sampled from /proc)."""
    ccusage_out = ctx.work / "ccusage-daily.json"
    ccusage_cmd = [*ctx.ccusage(), "daily", "--offline", "--json"]

    def ccusage() -> Timed:
        with open(ccusage_out, "w") as out:
            return run_timed(ccusage_cmd, ctx.env(), stdout=out, label="ccusage daily")

    def ccledger(label: str) -> Timed:
        return ctx.ingest_full(label)[0]

    log(f"[ingest] warmup: ccusage daily, ccledger ingest ({ctx.history.bytes / MB:,.0f} MB history)")
    runs: dict[str, list[Timed]] = {"ccledger": [], "ccusage": []}
    warm = {"ccusage": ccusage(), "ccledger": ccledger("warmup")}
    for i in range(ctx.runs):
        order = ("ccusage", "ccledger") if i % 2 == 0 else ("ccledger", "ccusage")
        for tool in order:
            runs[tool].append(ccusage() if tool == "ccusage" else ccledger(f"ingest-{i + 1}"))
        log(f"  run {i + 1}/{ctx.runs}: ccledger {runs['ccledger'][-1].seconds:.2f} s, "
            f"ccusage {runs['ccusage'][-1].seconds:.2f} s")
    stats = {tool: Stats.of([t.seconds for t in timed]) for tool, timed in runs.items()}
    ctx.full_ingest = stats["ccledger"]

    def peak(tool: str, attr: str) -> int:
        return max(getattr(t, attr) for t in [warm[tool], *runs[tool]])

    # Runs were interleaved in pairs, so the median of per-pair ratios is robust to load drifting
    # during the run; the table shows the ratio of medians, as the goal is stated.
    paired = median([a.seconds / b.seconds for a, b in zip(runs["ccledger"], runs["ccusage"])])
    log(f"  median of per-pair ratios: {paired:.2f}x")
    ctx.data["ingest"] = {
        "history_bytes": ctx.history.bytes,
        "runs": ctx.runs,
        "time_seconds": {tool: vars(s) for tool, s in stats.items()},
        "paired_ratio_median": paired,
        "peak_memory_bytes": {tool: {"largest_process": peak(tool, "max_rss"), "tree_rss_sum": peak(tool, "tree_rss"),
                                     "tree_pss_sum": peak(tool, "tree_pss"), "processes": peak(tool, "processes")}
                              for tool in runs},
        "per_run": {tool: [vars(t) for t in [warm[tool], *timed]] for tool, timed in runs.items()},
        "per_run_note": "the first entry of each list is the warmup run (used for peak memory, not for time)",
    }
    ratio = stats["ccledger"].median / stats["ccusage"].median
    ctx.rows.append(Row(f"1. full ingest, time (median of {ctx.runs})", stats["ccledger"].median,
                        stats["ccusage"].median, "ccusage daily", "s", f"<= {INGEST_GOAL}x",
                        ratio <= INGEST_GOAL, key="ingest_time"))
    ctx.rows.append(Row("1. full ingest, time, median of per-pair ratios", None, None, "", "s", "(info)", None,
                        key="ingest_time_paired", fixed_ratio=paired))
    for attr, label, goal in (("tree_rss", "peak RSS, process tree sum", True),
                              ("max_rss", "peak RSS, largest process", True),
                              ("tree_pss", "peak PSS, process tree sum", False)):
        mine, theirs = peak("ccledger", attr), peak("ccusage", attr)
        ctx.rows.append(Row(f"1. full ingest, {label}", mine, theirs, "ccusage daily", "MB",
                            f"< {MEMORY_GOAL // MB} MB" if goal else "(info)",
                            mine < MEMORY_GOAL if goal else None, key=f"ingest_{attr}"))

    ctx.verify_full_ledger(ctx.ledger)
    want = ctx.history.expected["final"]["totals"]["totalTokens"]
    got = json.loads(ccusage_out.read_text())["totals"]["totalTokens"]
    ctx.check("ccusage read the whole history", got == want, f"ccusage {got:,} tokens, expected.json {want:,}")


# ------------------------------------------------------------------------------------------ 2. report

def bench_report(ctx: Context) -> None:
    """`ccledger report daily --json` on a caught-up ledger vs `ccusage daily --offline --json`, both
    timed by hyperfine in one invocation (one warmup each, at least --runs runs, medians)."""
    home = ctx.caught_up_ledger()
    before = ledger_totals(ctx.ccledger, ctx.root, home)
    names = {"ccledger": "ccledger report daily --json", "ccusage": "ccusage daily --offline --json"}
    log(f"[report] hyperfine: {names['ccledger']} vs {names['ccusage']}")
    stats = hyperfine({names["ccledger"]: [*ctx.ccledger, "report", "daily", "--json"],
                       names["ccusage"]: [*ctx.ccusage(), "daily", "--offline", "--json"]},
                      ctx.env(home), warmup=1, min_runs=ctx.runs)
    mine, theirs = stats[names["ccledger"]], stats[names["ccusage"]]
    log(f"  ccledger {mine.median * 1000:.0f} ms ({len(mine.times)} runs), "
        f"ccusage {theirs.median:.2f} s ({len(theirs.times)} runs)")
    ctx.data["report"] = {"time_seconds": {"ccledger": vars(mine), "ccusage": vars(theirs)}}
    speedup = theirs.median / mine.median
    ctx.rows.append(Row("2. report daily --json, nothing new (median)", mine.median, theirs.median,
                        "ccusage daily", "s", f">= {REPORT_GOAL:g}x faster", speedup >= REPORT_GOAL,
                        speedup=True, key="report_time"))
    after = ledger_totals(ctx.ccledger, ctx.root, home)
    ctx.check("report found nothing new to ingest", after == before,
              f"ledger totals {'unchanged' if after == before else 'changed'} by the report runs")


# ------------------------------------------------------------------------------------------ 3. append

def bench_append(ctx: Context) -> None:
    """Append ~1 MiB of new turns to one transcript, time `ccledger ingest --quiet`; repeat, median;
    the ledger's total must grow by exactly the appended usage each time. Baseline: the full ingest."""
    full = ctx.full_ingest_stats()
    home = ctx.caught_up_ledger()
    target = pick_transcript(ctx.root)
    log(f"[append] {ctx.append_runs} x {APPEND_BYTES // 1024} KiB appended to {target.relative_to(ctx.root)}")
    before = ledger_totals(ctx.ccledger, ctx.root, home)
    timed_runs, rounds = [], []
    try:
        for i in range(ctx.append_runs):
            added = append_usage(ctx.root, target, APPEND_BYTES, seed=1000 + i)
            timed = run_timed(ctx.ingest_cmd(), ctx.env(home), label="ccledger ingest (append)")
            after = ledger_totals(ctx.ccledger, ctx.root, home)
            grew = after["total_tokens"] - before["total_tokens"]
            calls = after["requests"] - before["requests"]
            ctx.check(f"append {i + 1}: ledger grew by exactly the appended usage",
                      grew == added.total_tokens and calls == added.api_calls,
                      f"+{grew:,} tokens / +{calls:,} requests; appended {added.total_tokens:,} tokens in "
                      f"{added.api_calls:,} responses ({added.lines:,} lines, {added.bytes:,} bytes)")
            timed_runs.append(timed)
            rounds.append({"appended_bytes": added.bytes, "appended_lines": added.lines,
                           "appended_api_calls": added.api_calls, "appended_tokens": added.total_tokens,
                           "ledger_tokens_grew": grew, "ledger_requests_grew": calls, **vars(timed)})
            log(f"  run {i + 1}/{ctx.append_runs}: {timed.seconds * 1000:.0f} ms")
            before = after
    finally:
        undo_appends(ctx.root)
    mine = Stats.of([t.seconds for t in timed_runs])
    ctx.data["append"] = {"target": str(target), "time_seconds": {"ccledger": vars(mine), "full_ingest": vars(full)},
                          "per_run": rounds}
    speedup = full.median / mine.median
    ctx.rows.append(Row(f"3. ingest after +1 MiB append (median of {ctx.append_runs})", mine.median, full.median,
                        "ccledger full ingest", "s", f">= {APPEND_GOAL:g}x faster", speedup >= APPEND_GOAL,
                        speedup=True, key="append_time"))

