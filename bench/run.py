#!/usr/bin/env python3
"""ccledger benchmarks against baselines measured in the same run (stdlib only).

    python bench/run.py [ingest|report|append|hooks|statusline|all] [--size large|medium] [--keep]
                        [--json out.json]

  ingest      first full ingest of the history vs `ccusage daily --offline --json`: time and peak memory
  report      `ccledger report daily --json` with nothing new vs ccusage's daily (hyperfine, medians)
  append      `ccledger ingest` after appending ~1 MiB of new usage to one transcript vs the full ingest
  hooks       one PostToolUse hook, and a Stop hook ingesting a new 50 KB turn, run as Claude Code runs
              them (installed venv, `python -S .../launch.py hook`) vs `python -c pass`; 8 hook processes
              at once on one ledger, 500 events each: nothing lost, nothing doubled, never "locked"
  statusline  the status line on a 50 MB current transcript (nothing new / a new 5 KB turn) vs
              `python -c pass`, ccstatusline and `ccusage statusline`; ten renders at once

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
import random
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402

APPEND_BYTES = 1 << 20      # what one append round adds to the transcript
INGEST_GOAL = 1.5           # full ingest time at most this many times ccusage's
MEMORY_GOAL = 300 * c.MB    # full ingest peak memory under this
REPORT_GOAL = 20.0          # report with nothing new at least this many times faster than ccusage daily
APPEND_GOAL = 50.0          # ingest after a 1 MB append at least this many times faster than the full ingest
HOOK_GOAL = 1.3             # one PostToolUse hook at most this many times `python -c pass`
STOP_GOAL = 2.0             # a Stop hook ingesting a new 50 KB turn at most this many times `python -c pass`
GATE_GOAL = 1.3             # a PreToolUse hook with budgets armed at most this many times `python -c pass`
STATUS_GOAL = 1.5           # one status line render at most this many times `python -c pass`
BURST_GOAL = 3.0            # ten renders at once: none over this many times the median of the ten
STOP_TURN_BYTES = 50_000    # the turn a Stop hook ingests
STATUS_TURN_BYTES = 5_000   # the turn appended before a status line render (variant 2)
HAMMER_PROCS, HAMMER_EVENTS, HAMMER_STOP_EVERY = 8, 500, 100
BURST = 10


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
        self.hot_runs: int = args.hot_runs
        self._hot: c.HotEnv | None = None
        self._scratch: Path | None = None

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

    def hot(self) -> c.HotEnv:
        """ccledger installed as install.py installs it (bench/out/venv, re-made when the source changed)."""
        if self._hot is None:
            self._hot = c.ensure_hot_venv()
        return self._hot

    def scratch(self) -> Path:
        """A folder outside the repository: HOME and working directory of the hot commands (ccstatusline
        writes its default settings under HOME; nothing may run git in the work tree), and payloads."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="ccledger-bench-"))
            (self._scratch / "home").mkdir()
            (self._scratch / "cwd").mkdir()
        return self._scratch

    def hot_env(self, home: Path, roots: str | None = None) -> dict:
        env = c.env_for(roots or self.root, home)
        env["HOME"] = str(self.scratch() / "home")
        return env

    def ledger_copy(self, label: str, roots: str | None = None) -> Path:
        """A copy of the caught-up ledger, brought up to date with `roots` by the installed `ccledger
        ingest` (untimed): benchmarks that write to a ledger leave the run's shared one alone."""
        source = self.caught_up_ledger()
        home = self.fresh_home(label)
        c.copy_ledger(source, home)
        done = subprocess.run([*self.hot().ccledger(), "ingest", "--quiet"], env=self.hot_env(home, roots),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise c.BenchError(f"ccledger ingest (catching up a ledger copy) failed:\n{done.stderr[-2000:]}")
        return home

    def cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

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
NEEDS_BASELINE = {"ingest", "report", "statusline"}
HOT = {"hooks", "statusline"}   # benchmarks that run the installed hot entries


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


# ------------------------------------------------------------------------------------------ hot-path helpers

STRICT = "python -c pass (same interpreter)"
LITERAL = "python3 -c pass (PATH)"
FLOOR = "python -S -c pass (same interpreter)"


def redirect(command: list[str] | str, stdin: Path) -> str:
    """A shell command line reading stdin from a file (hyperfine 1.15 has no --input)."""
    return f"{command if isinstance(command, str) else shlex.join(command)} < {shlex.quote(str(stdin))}"


def baselines(hot: c.HotEnv, stdin: Path, literal: bool = True, floor: bool = False) -> dict[str, str]:
    """`python -c pass` as the baselines: the venv's interpreter (strict), `python3` on PATH (literal: the
    issue's text), and `python -S -c pass` (the floor of any `-S` entry: information). Same stdin."""
    out = {STRICT: redirect([hot.python, "-c", "pass"], stdin)}
    if literal:
        out[LITERAL] = redirect(["python3", "-c", "pass"], stdin)
    if floor:
        out[FLOOR] = redirect([hot.python, "-S", "-c", "pass"], stdin)
    return out


def loadavg() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def goal_rows(ctx: Context, label: str, key: str, mine: c.Stats, stats: dict[str, c.Stats], goal: float) -> None:
    """The measured command against both baselines: judged on the strict one, the literal one printed."""
    ctx.rows.append(c.Row(f"{label} (median of {len(mine.times)})", mine.median, stats[STRICT].median,
                          "python -c pass", "s", f"<= {goal:g}x", mine.median <= goal * stats[STRICT].median,
                          key=key))
    if LITERAL in stats:
        ctx.rows.append(c.Row(f"{label}, vs python3 on PATH", mine.median, stats[LITERAL].median,
                              "python3 -c pass", "s", f"(info; goal judged above)", None, key=f"{key}_literal"))


def stats_dict(stats: dict[str, c.Stats]) -> dict:
    return {name: vars(s) for name, s in stats.items()}


def ledger_hook_events(home: Path, sessions: list[str]) -> list[tuple]:
    conn = sqlite3.connect(f"file:{home / 'ledger.db'}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(sessions))
        return conn.execute(f"SELECT event_id, session_id, event, tool_use_id FROM hook_events "
                            f"WHERE session_id IN ({marks})", sessions).fetchall()
    finally:
        conn.close()


def ledger_query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{home / 'ledger.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def grew_check(ctx: Context, name: str, before: dict, after: dict, added: dict) -> bool:
    grew = after["total_tokens"] - before["total_tokens"]
    calls = after["requests"] - before["requests"]
    return ctx.check(name, grew == added["total_tokens"] and calls == added["api_calls"],
                     f"+{grew:,} tokens / +{calls:,} requests; appended {added['total_tokens']:,} tokens in "
                     f"{added['api_calls']:,} responses ({added['turns']} turns, {added['bytes']:,} bytes)")


def untouched_sessions(ctx: Context) -> list[Path]:
    """Main sessions of the history, largest first, without the append benchmark's target: that one
    was grown and truncated back, which a ledger copy sees as a shrunk file (a restart), not as the
    ordinary case these benchmarks measure."""
    skip = c.pick_transcript(ctx.root)
    return [p for p in c.main_transcripts(ctx.root) if p != skip]


def b62(n: int) -> str:
    return "".join(random.choice(c.B62) for _ in range(n))


# ------------------------------------------------------------------------------------------ 4. hooks

@benchmark("hooks")
def bench_hooks(ctx: Context) -> None:
    """The hook entry as Claude Code runs it, on a ledger holding the whole history (a copy of the run's
    caught-up ledger): a PostToolUse (appends to the spool), a Stop ingesting a new 50 KB turn, and 8
    processes of 500 hook events each at once. Timed by hyperfine through sh with the payload redirected
    from a file (hyperfine subtracts the shell's start-up), against `python -c pass` read the same way."""
    hot = ctx.hot()
    scratch = ctx.scratch()
    data: dict = {"loadavg_start": loadavg(), "interpreter": hot.python, "python3_on_path": c.python3_on_path()}
    home = ctx.ledger_copy("hooks")
    env = ctx.hot_env(home)
    target = untouched_sessions(ctx)[0]
    corpus = c.shared_dir() / "corpus" / "payloads" / "hook"
    try:
        post_shape = json.loads((corpus / "post_tool_use.bash.v2.1.332.json").read_text())
        stop_shape = json.loads((corpus / "stop.v2.1.332.json").read_text())
    except OSError as exc:
        raise c.Unavailable(f"hook payloads not found in {corpus}: {exc}") from None
    _, post, stop = c.hook_payloads(post_shape, stop_shape, target.stem, str(target))
    post["tool_use_id"] = "toolu_01" + b62(22)
    post_file, stop_file = scratch / "post_tool_use.json", scratch / "stop.json"
    post_file.write_text(json.dumps(post))
    stop_file.write_text(json.dumps(stop))
    runs = ctx.hot_runs // 2

    # 4a. PostToolUse: records one spool line and exits.
    name = "hook PostToolUse"
    c.log(f"[hooks] hyperfine: {name} vs python -c pass ({hot.python}) and python3 -c pass (PATH), "
          f"2 rounds x {runs} runs")
    stats = c.hyperfine({**baselines(hot, post_file, floor=True), name: redirect(hot.hook(), post_file)}, env,
                        warmup=3, min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2)
    mine = stats[name]
    c.log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in stats.items()))
    data["post_tool_use"] = stats_dict(stats)
    goal_rows(ctx, "4a. hook PostToolUse", "hook_post", mine, stats, HOOK_GOAL)
    ctx.rows.append(c.Row("4a. (python -S -c pass: the floor of a -S entry)", stats[FLOOR].median,
                          stats[STRICT].median, "python -c pass", "s", "(info)", None, key="hook_floor"))

    # 4b. Stop: drains the spool, ingests the session's new bytes (one new 50 KB turn before each run).
    name = "hook Stop (+50 KB turn)"
    appends = scratch / "stop-appends.jsonl"
    before = c.ledger_totals(ctx.ccledger, ctx.root, home)
    prepare = c.append_turn_command(ctx.root, target, STOP_TURN_BYTES, appends, random.randrange(1 << 40))
    c.log(f"[hooks] hyperfine: {name} on {target.relative_to(ctx.root)} vs python -c pass, 2 rounds x {runs} runs")
    stats = c.hyperfine({**baselines(hot, stop_file), name: redirect(hot.hook(), stop_file)}, env,
                        warmup=2, min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2,
                        prepare={name: prepare})
    mine = stats[name]
    c.log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in stats.items()))
    after = c.ledger_totals(ctx.ccledger, ctx.root, home)
    added = c.appended_totals(appends)
    grew_check(ctx, "hooks: the Stop hooks ingested exactly the appended turns", before, after, added)
    data["stop"] = {**stats_dict(stats), "appended": added, "target": str(target)}
    goal_rows(ctx, "4b. hook Stop, ingesting a new 50 KB turn", "hook_stop", mine, stats, STOP_GOAL)
    errors = c.error_log(home)
    ctx.check("hooks: nothing in the error log (PostToolUse and Stop runs)", not errors,
              f"{len(errors)} entries" + (f", first: {errors[0]}" if errors else ""))
    c.undo_appends(ctx.root)
    ctx.discard(home)

    # 4c. Eight hook processes at once on one ledger, 500 events each.
    data["concurrency"] = hammer(ctx, post_shape, stop_shape)
    data["loadavg_end"] = loadavg()
    ctx.data["hooks"] = data


@benchmark("gate")
def bench_gate(ctx: Context) -> None:
    """PreToolUse with budgets armed (issue 6): a session token limit with `deny` that the session is over,
    measured once by a Stop hook, so the gate reads one precomputed file and denies; and the same with the
    session under its limit (allowed). Against `python -c pass`, the same way as the hooks."""
    hot, scratch = ctx.hot(), ctx.scratch()
    data: dict = {"loadavg_start": loadavg()}
    home = ctx.ledger_copy("gate")
    env = ctx.hot_env(home)
    target = untouched_sessions(ctx)[0]
    corpus = c.shared_dir() / "corpus" / "payloads" / "hook"
    post_shape = json.loads((corpus / "post_tool_use.bash.v2.1.332.json").read_text())
    stop_shape = json.loads((corpus / "stop.v2.1.332.json").read_text())
    pre, _, stop = c.hook_payloads(post_shape, stop_shape, target.stem, str(target))
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
        stats = c.hyperfine({**baselines(hot, pre_file), name: redirect(hot.hook(), pre_file)}, env, warmup=3,
                            min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2)
        c.log("  " + ", ".join(f"{n} {st.median * 1000:.1f} ms" for n, st in stats.items()))
        data[label] = stats_dict(stats)
        goal_rows(ctx, f"6. {name}", "gate_" + label.split()[0], stats[name], stats, GATE_GOAL)
    # The price of gating when the gate is stale (a new ~5 KB turn before each call, a deny-able limit
    # configured): the hook measures first, synchronously, so the very next call is gated.
    name = "hook PreToolUse, stale gate (+5 KB turn)"
    prepare = c.append_turn_command(ctx.root, target, 5_000, scratch / "gate-appends.jsonl", random.randrange(1 << 40))
    stats = c.hyperfine({**baselines(hot, pre_file), name: redirect(hot.hook(), pre_file)}, env, warmup=2,
                        min_runs=runs, max_runs=runs, shell="sh", cwd=scratch / "cwd", rounds=2,
                        prepare={name: prepare})
    c.log("  " + ", ".join(f"{n} {st.median * 1000:.1f} ms" for n, st in stats.items()))
    data["stale"] = stats_dict(stats)
    ctx.rows.append(c.Row(f"6. {name} (info)", stats[name].median, stats[STRICT].median, "python -c pass", "s",
                          "(info)", None, key="gate_stale"))
    c.undo_appends(ctx.root)
    ctx.discard(home)
    data["loadavg_end"] = loadavg()
    ctx.data["gate"] = data


def hammer(ctx: Context, post_shape: dict, stop_shape: dict) -> dict:
    hot, scratch = ctx.hot(), ctx.scratch()
    home = ctx.ledger_copy("hooks-concurrent")
    env = ctx.hot_env(home)
    sessions = [[p.stem, str(p)] for p in untouched_sessions(ctx)[:HAMMER_PROCS]]
    if len(sessions) < HAMMER_PROCS:
        raise c.BenchError(f"the history has {len(sessions)} sessions; the concurrency test needs {HAMMER_PROCS}")
    ids = [s[0] for s in sessions]
    before = len(ledger_hook_events(home, ids))
    tag = b62(6)
    spec = {"argv": hot.hook(), "sessions": sessions, "post": post_shape, "stop": stop_shape,
            "events": HAMMER_EVENTS, "stop_every": HAMMER_STOP_EVERY, "tag": tag, "start_at": time.time() + 2.0}
    spec_file = scratch / "hammer.json"
    spec_file.write_text(json.dumps(spec))
    stops_each = HAMMER_EVENTS // HAMMER_STOP_EVERY
    c.log(f"[hooks] {HAMMER_PROCS} processes at once, each {HAMMER_EVENTS} hook events (PreToolUse/PostToolUse "
          f"pairs) and a Stop every {HAMMER_STOP_EVERY}, one session each, on one ledger ...")
    drivers = []
    for k in range(HAMMER_PROCS):
        out = scratch / f"hammer-{k}.json"
        errs = open(scratch / f"hammer-{k}.stderr", "wb")
        drivers.append((out, errs, subprocess.Popen([sys.executable, str(Path(c.__file__).resolve()), "hammer",
                                                     str(spec_file), str(k), str(out)],
                                                    env=env, stdout=errs, stderr=errs, cwd=scratch / "cwd")))
    for _, errs, proc in drivers:
        proc.wait()
        errs.close()
    broken = [(k, (scratch / f"hammer-{k}.stderr").read_text(errors="replace")[-2000:])
              for k, (out, _, proc) in enumerate(drivers) if proc.returncode != 0 or not out.exists()]
    if broken:
        raise c.BenchError(f"hook driver {broken[0][0]} failed:\n{broken[0][1]}")
    results = [json.loads(out.read_text()) for out, _, _ in drivers]
    wall = max(r["ended"] for r in results) - spec["start_at"]
    late = max(r["began"] for r in results) - spec["start_at"]
    faults = [f for r in results for f in r["faults"]]
    c.log(f"  all done in {wall:.1f} s (the last driver started {late * 1000:.0f} ms after the agreed time); "
          f"{len(faults)} invocations failed or printed something")

    # Catch up with the installed CLI (drains what the last Stops left in the spool), then count.
    done = subprocess.run([*hot.ccledger(), "ingest", "--quiet"], env=env, capture_output=True, text=True)
    rows = ledger_hook_events(home, ids)
    tool_rows = Counter((tu, ev) for _, _, ev, tu in rows if ev in ("pre", "post"))
    expected = {(c.hammer_tool_id(tag, k, pair), kind) for k in range(HAMMER_PROCS)
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
    errors = c.error_log(home)
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
    tools = c.Stats.of([t for r in results for kind, t in r["runs"] if kind != "stop"])
    stop_times = c.Stats.of([t for r in results for kind, t in r["runs"] if kind == "stop"])
    ok = len(rows) - before == want_rows and lost == 0 and doubled == 0 and locked == 0 and not faults
    ctx.rows.append(c.Row(f"4c. {HAMMER_PROCS} hook processes x {HAMMER_EVENTS} events at once, total wall", wall,
                          None, "", "s", "no loss/dup/'locked'", ok, key="hook_concurrency"))
    ctx.rows.append(c.Row("4c. (one tool hook under that load: median / p95 in the JSON)", tools.median, None, "",
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


# ------------------------------------------------------------------------------------------ 5. status line

def status_payload(shape: dict, session: Path, cwd: Path, rate_limits: bool) -> dict:
    """The 2.1.332 status JSON for the current session; with rate_limits as a subscriber's carries them
    (five_hour / seven_day, resets in the future)."""
    payload = json.loads(json.dumps(shape))
    payload.update(session_id=session.stem, transcript_path=str(session), cwd=str(cwd))
    payload["workspace"] = {"current_dir": str(cwd), "project_dir": str(cwd), "added_dirs": []}
    if rate_limits:
        now = int(time.time())
        payload["rate_limits"] = {"five_hour": {"used_percentage": 42, "resets_at": now + 2 * 3600 + 600},
                                  "seven_day": {"used_percentage": 15, "resets_at": now + 3 * 86400}}
    return payload


def first_line(text: str) -> str:
    return next((ln for ln in text.splitlines() if ln.strip()), "")


@benchmark("statusline")
def bench_statusline(ctx: Context) -> None:
    """The status line entry as Claude Code runs it (the installed venv's `python -S .../launch.py
    statusline`, through sh, payload on stdin), with the whole history and a 50 MB current transcript in
    the ledger: nothing new, and a new 5 KB turn before each render; against `python -c pass`,
    ccstatusline and `ccusage statusline --offline --no-cache` on the same payload; ten renders at once."""
    hot = ctx.hot()
    scratch = ctx.scratch()
    cwd = scratch / "cwd"
    current = c.ensure_current()
    session = c.main_transcripts(current.root)[0]
    roots = f"{ctx.root},{current.root}"
    data: dict = {"loadavg_start": loadavg(), "interpreter": hot.python, "current_transcript": str(session),
                  "current_bytes": session.stat().st_size}
    before = c.ledger_totals(ctx.ccledger, ctx.root, ctx.caught_up_ledger())
    home = ctx.ledger_copy("statusline", roots)
    after = c.ledger_totals(ctx.ccledger, ctx.root, home)
    want = current.expected["final"]["totals"]
    ctx.check("statusline: the ledger holds the current session exactly",
              after["total_tokens"] - before["total_tokens"] == want["totalTokens"]
              and after["requests"] - before["requests"] == want["entries"],
              f"+{after['total_tokens'] - before['total_tokens']:,} tokens / +{after['requests'] - before['requests']:,}"
              f" requests over the history's ledger; expected.json {want['totalTokens']:,} / {want['entries']:,}")
    env = ctx.hot_env(home, roots)
    shape_file = c.shared_dir() / "corpus" / "payloads" / "statusline" / "statusline.v2.1.332.api-key-user.json"
    try:
        shape = json.loads(shape_file.read_text())
    except OSError as exc:
        raise c.Unavailable(f"status line payload not found: {exc}") from None
    with_rl, without_rl = scratch / "status-rate-limits.json", scratch / "status.json"
    with_rl.write_text(json.dumps(status_payload(shape, session, cwd, True)))
    without_rl.write_text(json.dumps(status_payload(shape, session, cwd, False)))
    ccstatusline = ["node", str(c.ensure_ccstatusline())]
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
        c.log(f"  {names[key]}: exit {done.returncode}: {shown[key][:160]}")
        ok = done.returncode == 0 and bool(shown[key]) and (not key.startswith(("rl", "norl"))
                                                              or shown[key].strip() != "ccledger")
        ctx.check(f"statusline: {names[key]} renders a line", ok,
                  f"exit {done.returncode}, {shown[key][:120]!r}" + (f", stderr {done.stderr[-200:]!r}"
                                                                    if done.returncode else ""))
    data["lines"] = shown
    runs = ctx.hot_runs // 2

    # 5a/5b. Nothing new in the transcript.
    c.log(f"[statusline] hyperfine, nothing new: ccledger (with / without rate_limits), ccstatusline, "
          f"python -c pass, python3 -c pass; 2 rounds x {runs} runs")
    idle = c.hyperfine({**baselines(hot, with_rl, floor=True), names["rl"]: redirect(mine, with_rl),
                        names["norl"]: redirect(mine, without_rl),
                        names["ccstatusline"]: redirect(ccstatusline, with_rl)},
                       env, warmup=3, min_runs=runs, max_runs=runs, shell="sh", cwd=cwd, rounds=2)
    c.log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in idle.items()))
    c.log(f"[statusline] hyperfine: {names['ccusage']} (CLAUDE_CONFIG_DIR = history + current session)")
    theirs = c.hyperfine({names["ccusage"]: redirect(ccusage, with_rl)}, env, warmup=1, min_runs=3, max_runs=3,
                         shell="sh", cwd=cwd)[names["ccusage"]]
    c.log(f"  {names['ccusage']} {theirs.median:.2f} s")
    data["nothing_new"] = {**stats_dict(idle), names["ccusage"]: vars(theirs)}

    # 5c/5d. A new ~5 KB turn appended before every render (what each assistant message brings).
    appends = scratch / "status-appends.jsonl"
    prepare = c.append_turn_command(current.root, session, STATUS_TURN_BYTES, appends, random.randrange(1 << 40))
    before = c.ledger_totals(ctx.ccledger, ctx.root, home)
    c.log(f"[statusline] hyperfine, a new {STATUS_TURN_BYTES // 1000} KB turn before each render; 2 rounds x {runs} runs")
    fresh = c.hyperfine({**baselines(hot, with_rl), names["rl"]: redirect(mine, with_rl),
                         names["norl"]: redirect(mine, without_rl)},
                        env, warmup=2, min_runs=runs, max_runs=runs, shell="sh", cwd=cwd, rounds=2,
                        prepare={names["rl"]: prepare, names["norl"]: prepare})
    c.log("  " + ", ".join(f"{n} {s.median * 1000:.1f} ms" for n, s in fresh.items()))
    after = c.ledger_totals(ctx.ccledger, ctx.root, home)
    grew_check(ctx, "statusline: the renders ingested exactly the appended turns", before, after,
               c.appended_totals(appends))
    data["new_turn"] = {**stats_dict(fresh), "appended": c.appended_totals(appends)}

    for label, key, stats, variant in (("5a. status line, nothing new, rate_limits", "status_idle_rl", idle, "rl"),
                                       ("5b. status line, nothing new, no rate_limits", "status_idle", idle, "norl"),
                                       ("5c. status line, +5 KB turn, rate_limits", "status_turn_rl", fresh, "rl"),
                                       ("5d. status line, +5 KB turn, no rate_limits", "status_turn", fresh, "norl")):
        goal_rows(ctx, label, key, stats[names[variant]], stats, STATUS_GOAL)
    ref = idle[names["rl"]]
    ctx.rows.append(c.Row("5e. status line (5a) vs ccstatusline, same payload", ref.median,
                          idle[names["ccstatusline"]].median, "ccstatusline", "s", "(info)", None, speedup=True,
                          key="status_vs_ccstatusline"))
    ctx.rows.append(c.Row("5f. status line (5a) vs ccusage statusline, same payload", ref.median, theirs.median,
                          "ccusage statusline", "s", "(info)", None, speedup=True, key="status_vs_ccusage"))

    # 5g. Ten renders at once: nothing new; then right after a new turn (one of them ingests it).
    bursts = {}
    for key, label, seq in (("nothing_new", "5g. 10 renders at once, nothing new: slowest", idle[names["rl"]]),
                            ("new_turn", "5h. 10 renders at once, after a new 5 KB turn: slowest", fresh[names["rl"]])):
        if key == "new_turn":
            before = c.ledger_totals(ctx.ccledger, ctx.root, home)
            added = c.append_usage(current.root, session, STATUS_TURN_BYTES, seed=random.randrange(1 << 40),
                                   one_turn=True)
        results = c.burst(hot.statusline(), with_rl, env, cwd, n=BURST)
        times = [r["seconds"] for r in results]
        good = [r for r in results if r["rc"] == 0 and first_line(r["stdout"])]
        slowest = max(times)
        c.log(f"  {BURST} at once ({key}): median {c.median(times) * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms, "
              f"sequential median {seq.median * 1000:.1f} ms; {len(good)}/{BURST} rendered a line")
        ctx.check(f"statusline: {BURST} renders at once ({key.replace('_', ' ')}) all rendered a line",
                  len(good) == BURST, f"{len(good)}/{BURST}; exits {sorted({str(r['rc']) for r in results})}")
        if key == "new_turn":
            grew_check(ctx, "statusline: the new turn was ingested exactly once by the ten renders", before,
                       c.ledger_totals(ctx.ccledger, ctx.root, home),
                       {"total_tokens": added.total_tokens, "api_calls": added.api_calls, "turns": 1,
                        "bytes": added.bytes})
        # The goal ("none over 3x the median") is read against the ten renders' own median: on nproc cores,
        # n processes at once cannot all finish near one process's sequential time (see 5i for the floor).
        burst_median = c.median(times)
        ctx.rows.append(c.Row(label, slowest, burst_median, "median of the ten", "s", f"<= {BURST_GOAL:g}x",
                              len(good) == BURST and slowest <= BURST_GOAL * burst_median, key=f"status_burst_{key}"))
        ctx.rows.append(c.Row(f"{label} (vs one render alone)", slowest, seq.median, "sequential median", "s",
                              "(info)", None, key=f"status_burst_{key}_vs_sequential"))
        bursts[key] = {"seconds": times, "median": c.median(times), "max": slowest,
                       "sequential_median": seq.median, "rendered": len(good),
                       "lines": sorted({first_line(r["stdout"])[:200] for r in results})}
    # The floor on this machine: ten `python -c pass` at once against one (n processes on nproc cores).
    results = c.burst([hot.python, "-c", "pass"], with_rl, env, cwd, n=BURST)
    slowest = max(r["seconds"] for r in results)
    ctx.rows.append(c.Row("5i. (10 x python -c pass at once: slowest; the machine's floor)", slowest,
                          idle[STRICT].median, "python -c pass", "s", "(info)", None, key="status_burst_floor"))
    bursts["python_c_pass"] = {"seconds": [r["seconds"] for r in results], "max": slowest,
                               "sequential_median": idle[STRICT].median}
    ctx.rows.append(c.Row("5j. (5g against 5i: ten renders vs ten python -c pass, at once)",
                          bursts["nothing_new"]["max"], slowest, "10 x python -c pass", "s", "(info)", None,
                          key="status_burst_vs_floor"))
    c.log(f"  {BURST} x python -c pass at once: slowest {slowest * 1000:.0f} ms "
          f"({slowest / idle[STRICT].median:.1f}x its sequential median)")
    data["burst"] = bursts
    errors = c.error_log(home)
    ctx.check("statusline: nothing in the error log", not errors,
              f"{len(errors)} entries" + (f", first: {errors[0]}" if errors else ""))
    data["error_log"] = errors[:20]
    data["loadavg_end"] = loadavg()
    c.undo_appends(current.root)
    ctx.discard(home)
    ctx.data["statusline"] = data


# ------------------------------------------------------------------------------------------ main

def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    ap.add_argument("--size", choices=list(c.SIZES), default="large", help="large ~1 GB (default), medium ~200 MB")
    ap.add_argument("--keep", action="store_true", help="keep the ledgers (bench/out/runs/...) too")
    ap.add_argument("--json", metavar="OUT", help="write every number to this file")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (at least 3; default 5)")
    ap.add_argument("--append-runs", type=int, default=5, help="append rounds (default 5)")
    ap.add_argument("--hot-runs", type=int, default=40,
                    help="timed runs per command of hooks and status line, over 2 rounds (default 40)")
    args = ap.parse_args(argv)
    if args.runs < 3 or args.append_runs < 3:
        ap.error("--runs and --append-runs must be at least 3")
    if args.hot_runs < 6:
        ap.error("--hot-runs must be at least 6")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.monotonic()
    selected = list(BENCHMARKS) if args.which == "all" else [args.which]
    try:
        ctx = Context(args)
        ctx.history = c.ensure_history(args.size)
        info = c.machine_info(ctx.ccledger, ctx.ccusage() if NEEDS_BASELINE & set(selected) else None)
        if HOT & set(selected):
            hot = ctx.hot()
            info["hot_python"] = hot.python
            info["hot_source_sha256"] = hot.source_sha256
            info["hot_venv_rebuilt"] = hot.rebuilt
            info["python3_on_path"] = c.python3_on_path()
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
        if (c.OUT / "current-50mb").exists():
            c.undo_appends(c.OUT / "current-50mb")
        ctx.cleanup()
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
    load = loadavg()
    print(f"total wall time {wall:.0f} s; load average at the end {' '.join(map(str, load)) if load else '?'}")
    if args.json:
        report = {"schema_version": 1, "size": args.size, "benchmarks": selected, "machine": info,
                  "history": {"path": str(ctx.root), "bytes": ctx.history.bytes, "generated": ctx.history.generated,
                              "generate_seconds": ctx.history.seconds},
                  "goals": {"ingest_time_ratio_max": INGEST_GOAL, "ingest_memory_bytes_max": MEMORY_GOAL,
                            "report_speedup_min": REPORT_GOAL, "append_speedup_min": APPEND_GOAL,
                            "hook_ratio_max": HOOK_GOAL, "stop_hook_ratio_max": STOP_GOAL,
                            "statusline_ratio_max": STATUS_GOAL, "burst_over_sequential_max": BURST_GOAL},
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
