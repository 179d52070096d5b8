#!/usr/bin/env python3
"""ccledger benchmarks against baselines measured in the same run (stdlib only).

    python bench/run.py [ingest|report|append|all] [--size large|medium] [--keep] [--json out.json]

  ingest  first full ingest of the history vs `ccusage daily --offline --json`: time and peak memory
  report  `ccledger report daily --json` with nothing new vs ccusage's daily (hyperfine, medians)
  append  `ccledger ingest` after appending ~1 MiB of new usage to one transcript vs the full ingest

Prints machine info and one table (benchmark, ccledger, baseline, ratio, goal, result); `--json` writes
every number. See bench/README.md. Each benchmark is one function registered with @benchmark; shared
helpers are in bench/common.py.

Exit status: 0 the run completed and every correctness check held (goals may still FAIL: read the table);
1 a check failed or a command broke; 2 bad arguments; 3 a needed tool is unavailable.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

APPEND_BYTES = 1 << 20      # what one append round adds to the transcript
INGEST_GOAL = 1.5           # full ingest time at most this many times ccusage's
MEMORY_GOAL = 300 * c.MB    # full ingest peak memory under this
REPORT_GOAL = 20.0          # report with nothing new at least this many times faster than ccusage daily
APPEND_GOAL = 50.0          # ingest after a 1 MB append at least this many times faster than the full ingest


class Context:
    """What the benchmarks of one run share: tools, history, work folder, results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.size: str = args.size
        self.runs: int = args.runs
        self.append_runs: int = args.append_runs
        self.keep: bool = args.keep
        self.work = c.OUT / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.history: c.History | None = None
        self.ccledger = c.ccledger_command()
        self._ccusage: list[str] | None = None
        self.rows: list[c.Row] = []
        self.checks: list[dict] = []
        self.data: dict[str, dict] = {}
        self.full_ingest: c.Stats | None = None   # ccledger's full ingest times, once measured
        self.ledger: Path | None = None           # a CCLEDGER_HOME caught up with the whole history
        self._homes = 0

    @property
    def root(self) -> Path:
        assert self.history is not None
        return self.history.root

    def ccusage(self) -> list[str]:
        if self._ccusage is None:
            self._ccusage = c.ensure_ccusage()
        return self._ccusage

    def env(self, home: Path | None = None) -> dict:
        return c.env_for(self.root, home)

    def fresh_home(self, name: str) -> Path:
        self._homes += 1
        home = self.work / f"{self._homes:02d}-{name}"
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        return home

    def discard(self, home: Path) -> None:
        if not self.keep and home != self.ledger:
            shutil.rmtree(home, ignore_errors=True)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        c.log(f"  check {'ok' if ok else 'FAILED'}: {name}: {detail}")
        return ok

    def ingest_cmd(self) -> list[str]:
        return [*self.ccledger, "ingest", "--quiet"]

    def ingest_full(self, label: str) -> tuple[c.Timed, Path]:
        """One full ingest into a fresh ledger; the ledger becomes the run's caught-up ledger."""
        home = self.fresh_home(label)
        timed = c.run_timed(self.ingest_cmd(), self.env(home), label="ccledger ingest")
        if self.ledger is not None:
            old, self.ledger = self.ledger, None
            self.discard(old)
        self.ledger = home
        return timed, home

    def caught_up_ledger(self) -> Path:
        if self.ledger is None:
            c.log("preparing a caught-up ledger (one untimed full ingest) ...")
            self.ingest_full("ledger")
        assert self.ledger is not None
        return self.ledger

    def full_ingest_stats(self) -> c.Stats:
        """ccledger's full ingest median (measured by `ingest`, or here without the baseline)."""
        if self.full_ingest is None:
            c.log(f"measuring ccledger's full ingest ({self.runs} runs after a warmup) ...")
            self.ingest_full("warmup")
            times = []
            for i in range(self.runs):
                timed, _ = self.ingest_full(f"ingest-{i + 1}")
                times.append(timed.seconds)
                c.log(f"  run {i + 1}/{self.runs}: {timed.seconds:.2f} s")
            self.full_ingest = c.Stats.of(times)
        return self.full_ingest

    def verify_full_ledger(self, home: Path) -> None:
        """The caught-up ledger holds exactly the generator's ground truth."""
        want = self.history.expected["final"]["totals"]
        got = c.ledger_totals(self.ccledger, self.root, home)
        self.check("ledger equals ground truth",
                   got["total_tokens"] == want["totalTokens"] and got["requests"] == want["entries"],
                   f"ccledger {got['total_tokens']:,} tokens / {got['requests']:,} requests, expected.json "
                   f"{want['totalTokens']:,} / {want['entries']:,}")


BENCHMARKS: dict[str, Callable[[Context], None]] = {}
NEEDS_BASELINE = {"ingest", "report"}


def benchmark(name: str):
    def register(fn: Callable[[Context], None]) -> Callable[[Context], None]:
        BENCHMARKS[name] = fn
        return fn
    return register


# ------------------------------------------------------------------------------------------ 1. ingest

@benchmark("ingest")
def bench_ingest(ctx: Context) -> None:
    """First full ingest vs ccusage daily: interleaved runs after one warmup of each; time medians and
    peak memory (largest process from /usr/bin/time, summed tree RSS/PSS sampled from /proc)."""
    ccusage_out = ctx.work / "ccusage-daily.json"
    ccusage_cmd = [*ctx.ccusage(), "daily", "--offline", "--json"]

    def ccusage() -> c.Timed:
        with open(ccusage_out, "w") as out:
            return c.run_timed(ccusage_cmd, ctx.env(), stdout=out, label="ccusage daily")

    def ccledger(label: str) -> c.Timed:
        return ctx.ingest_full(label)[0]

    c.log(f"[ingest] warmup: ccusage daily, ccledger ingest ({ctx.history.bytes / c.MB:,.0f} MB history)")
    runs: dict[str, list[c.Timed]] = {"ccledger": [], "ccusage": []}
    warm = {"ccusage": ccusage(), "ccledger": ccledger("warmup")}
    for i in range(ctx.runs):
        order = ("ccusage", "ccledger") if i % 2 == 0 else ("ccledger", "ccusage")
        for tool in order:
            runs[tool].append(ccusage() if tool == "ccusage" else ccledger(f"ingest-{i + 1}"))
        c.log(f"  run {i + 1}/{ctx.runs}: ccledger {runs['ccledger'][-1].seconds:.2f} s, "
              f"ccusage {runs['ccusage'][-1].seconds:.2f} s")
    stats = {tool: c.Stats.of([t.seconds for t in timed]) for tool, timed in runs.items()}
    ctx.full_ingest = stats["ccledger"]

    def peak(tool: str, attr: str) -> int:
        return max(getattr(t, attr) for t in [warm[tool], *runs[tool]])

    # Runs were interleaved in pairs, so the median of per-pair ratios is robust to load drifting
    # during the run; the table shows the ratio of medians, as the goal is stated.
    paired = c.median([a.seconds / b.seconds for a, b in zip(runs["ccledger"], runs["ccusage"])])
    c.log(f"  median of per-pair ratios: {paired:.2f}x")
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
    ctx.rows.append(c.Row(f"1. full ingest, time (median of {ctx.runs})", stats["ccledger"].median,
                          stats["ccusage"].median, "ccusage daily", "s", f"<= {INGEST_GOAL}x",
                          ratio <= INGEST_GOAL, key="ingest_time"))
    ctx.rows.append(c.Row("1. full ingest, time, median of per-pair ratios", None, None, "", "s", "(info)", None,
                          key="ingest_time_paired", fixed_ratio=paired))
    for attr, label, goal in (("tree_rss", "peak RSS, process tree sum", True),
                              ("max_rss", "peak RSS, largest process", True),
                              ("tree_pss", "peak PSS, process tree sum", False)):
        mine, theirs = peak("ccledger", attr), peak("ccusage", attr)
        ctx.rows.append(c.Row(f"1. full ingest, {label}", mine, theirs, "ccusage daily", "MB",
                              f"< {MEMORY_GOAL // c.MB} MB" if goal else "(info)",
                              mine < MEMORY_GOAL if goal else None, key=f"ingest_{attr}"))

    ctx.verify_full_ledger(ctx.ledger)
    want = ctx.history.expected["final"]["totals"]["totalTokens"]
    got = json.loads(ccusage_out.read_text())["totals"]["totalTokens"]
    ctx.check("ccusage read the whole history", got == want, f"ccusage {got:,} tokens, expected.json {want:,}")


# ------------------------------------------------------------------------------------------ 2. report

@benchmark("report")
def bench_report(ctx: Context) -> None:
    """`ccledger report daily --json` on a caught-up ledger vs `ccusage daily --offline --json`, both
    timed by hyperfine in one invocation (one warmup each, at least --runs runs, medians)."""
    home = ctx.caught_up_ledger()
    before = c.ledger_totals(ctx.ccledger, ctx.root, home)
    names = {"ccledger": "ccledger report daily --json", "ccusage": "ccusage daily --offline --json"}
    c.log(f"[report] hyperfine: {names['ccledger']} vs {names['ccusage']}")
    stats = c.hyperfine({names["ccledger"]: [*ctx.ccledger, "report", "daily", "--json"],
                         names["ccusage"]: [*ctx.ccusage(), "daily", "--offline", "--json"]},
                        ctx.env(home), warmup=1, min_runs=ctx.runs)
    mine, theirs = stats[names["ccledger"]], stats[names["ccusage"]]
    c.log(f"  ccledger {mine.median * 1000:.0f} ms ({len(mine.times)} runs), "
          f"ccusage {theirs.median:.2f} s ({len(theirs.times)} runs)")
    ctx.data["report"] = {"time_seconds": {"ccledger": vars(mine), "ccusage": vars(theirs)}}
    speedup = theirs.median / mine.median
    ctx.rows.append(c.Row("2. report daily --json, nothing new (median)", mine.median, theirs.median,
                          "ccusage daily", "s", f">= {REPORT_GOAL:g}x faster", speedup >= REPORT_GOAL,
                          speedup=True, key="report_time"))
    after = c.ledger_totals(ctx.ccledger, ctx.root, home)
    ctx.check("report found nothing new to ingest", after == before,
              f"ledger totals {'unchanged' if after == before else 'changed'} by the report runs")


# ------------------------------------------------------------------------------------------ 3. append

@benchmark("append")
def bench_append(ctx: Context) -> None:
    """Append ~1 MiB of new turns to one transcript, time `ccledger ingest --quiet`; repeat, median;
    the ledger's total must grow by exactly the appended usage each time. Baseline: the full ingest."""
    full = ctx.full_ingest_stats()
    home = ctx.caught_up_ledger()
    target = c.pick_transcript(ctx.root)
    c.log(f"[append] {ctx.append_runs} x {APPEND_BYTES // 1024} KiB appended to {target.relative_to(ctx.root)}")
    before = c.ledger_totals(ctx.ccledger, ctx.root, home)
    timed_runs, rounds = [], []
    try:
        for i in range(ctx.append_runs):
            added = c.append_usage(ctx.root, target, APPEND_BYTES, seed=1000 + i)
            timed = c.run_timed(ctx.ingest_cmd(), ctx.env(home), label="ccledger ingest (append)")
            after = c.ledger_totals(ctx.ccledger, ctx.root, home)
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
            c.log(f"  run {i + 1}/{ctx.append_runs}: {timed.seconds * 1000:.0f} ms")
            before = after
    finally:
        c.undo_appends(ctx.root)
    mine = c.Stats.of([t.seconds for t in timed_runs])
    ctx.data["append"] = {"target": str(target), "time_seconds": {"ccledger": vars(mine), "full_ingest": vars(full)},
                          "per_run": rounds}
    speedup = full.median / mine.median
    ctx.rows.append(c.Row(f"3. ingest after +1 MiB append (median of {ctx.append_runs})", mine.median, full.median,
                          "ccledger full ingest", "s", f">= {APPEND_GOAL:g}x faster", speedup >= APPEND_GOAL,
                          speedup=True, key="append_time"))


# ------------------------------------------------------------------------------------------ main

def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    ap.add_argument("--size", choices=list(c.SIZES), default="large", help="large ~1 GB (default), medium ~200 MB")
    ap.add_argument("--keep", action="store_true", help="keep the ledgers (bench/out/runs/...) too")
    ap.add_argument("--json", metavar="OUT", help="write every number to this file")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (at least 3; default 5)")
    ap.add_argument("--append-runs", type=int, default=5, help="append rounds (default 5)")
    args = ap.parse_args(argv)
    if args.runs < 3 or args.append_runs < 3:
        ap.error("--runs and --append-runs must be at least 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    selected = list(BENCHMARKS) if args.which == "all" else [args.which]
    try:
        ctx = Context(args)
        ctx.history = c.ensure_history(args.size)
        info = c.machine_info(ctx.ccledger, ctx.ccusage() if NEEDS_BASELINE & set(selected) else None)
    except c.Unavailable as exc:
        print(f"bench: unavailable: {exc}", file=sys.stderr)
        return 3
    except c.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    c.print_machine(info)
    load = info.get("loadavg_at_start")
    if load and load[0] > 0.5 * (info.get("nproc") or 1):
        print(f"note: the machine is busy (load {load[0]:.2f} on {info['nproc']} CPUs): expect noisy ratios")
    print(f"history: {ctx.history.size}, {ctx.history.bytes / c.MB:,.0f} MB in {ctx.root} "
          f"({'generated in %.0f s' % ctx.history.seconds if ctx.history.generated else 'reused'})", flush=True)
    error = None
    try:
        ctx.work.mkdir(parents=True)
        for name in selected:
            BENCHMARKS[name](ctx)
    except c.Unavailable as exc:
        error, code = f"unavailable: {exc}", 3
    except c.BenchError as exc:
        error, code = str(exc), 1
    finally:
        c.undo_appends(ctx.root)
        if args.keep:
            print(f"kept ledgers in {ctx.work}")
        else:
            shutil.rmtree(ctx.work, ignore_errors=True)
            try:
                ctx.work.parent.rmdir()
            except OSError:
                pass
    wall = time.monotonic() - started
    print()
    c.print_table(ctx.rows)
    failed = [ch for ch in ctx.checks if not ch["ok"]]
    print(f"\nchecks: {len(ctx.checks) - len(failed)}/{len(ctx.checks)} ok"
          + "".join(f"\n  FAILED {ch['check']}: {ch['detail']}" for ch in failed))
    print(f"total wall time {wall:.0f} s")
    if args.json:
        report = {"schema_version": 1, "size": args.size, "benchmarks": selected, "machine": info,
                  "history": {"path": str(ctx.root), "bytes": ctx.history.bytes, "generated": ctx.history.generated,
                              "generate_seconds": ctx.history.seconds},
                  "goals": {"ingest_time_ratio_max": INGEST_GOAL, "ingest_memory_bytes_max": MEMORY_GOAL,
                            "report_speedup_min": REPORT_GOAL, "append_speedup_min": APPEND_GOAL},
                  "rows": [r.as_dict() for r in ctx.rows], "checks": ctx.checks, "details": ctx.data,
                  "error": error, "wall_seconds": round(wall, 1),
                  "loadavg_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None}
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    if error:
        print(f"bench: {error}", file=sys.stderr)
        return code
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
