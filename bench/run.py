#!/usr/bin/env python3
"""ccledger benchmarks against baselines measured in the same run (stdlib only).

    python bench/run.py [ingest|report|append|hooks|gate|statusline|all] [--size large|medium] [--keep]
                        [--json out.json]

  ingest      first full ingest of the history vs `ccusage daily --offline --json`: time and peak memory
  report      `ccledger report daily --json` with nothing new vs ccusage's daily (hyperfine, medians)
  append      `ccledger ingest` after appending ~1 MiB of new usage to one transcript vs the full ingest
  hooks       one PostToolUse hook, and a Stop hook ingesting a new 50 KB turn, run as Claude Code runs
              them (installed venv, `python -S .../launch.py hook`) vs `python -c pass`; 8 hook processes
              at once on one ledger, 500 events each: nothing lost, nothing doubled, never "locked"
  gate        PreToolUse with budgets armed (over and under a session limit; stale) vs `python -c pass`
  statusline  the status line on a 50 MB current transcript (nothing new / a new 5 KB turn) vs
              `python -c pass`, ccstatusline and `ccusage statusline`; ten renders at once

Prints machine info and one table (benchmark, ccledger, baseline, ratio, goal, result); `--json` writes
every number. See bench/README.md. This file is the command line only: the run's shared Context, the
registry of benchmarks and main. The benchmarks are in ledger.py (ingest, report, append), hooks.py,
gating.py and statusline.py; what they run on in history.py (histories, new turns, payloads),
installed.py (ccledger as installed) and baselines.py (ccusage, ccstatusline, `python -c pass`); the
timing and reporting plumbing in harness.py.

Exit status: 0 the run completed and every correctness check held (goals may still FAIL: read the table);
1 a check failed or a command broke; 2 bad arguments; 3 a needed tool is unavailable.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import ensure_ccusage, python3_on_path  # noqa: E402
from gating import bench_gate  # noqa: E402
from harness import (MB, OUT, BenchError, Row, Stats, Timed, Unavailable, copy_ledger,  # noqa: E402
                     ensure_hyperfine, env_for, ledger_totals, loadavg, log, machine_info, print_machine,
                     print_table, run_timed)
from history import SIZES, History, ensure_history, undo_appends  # noqa: E402
from hooks import HOOK_GOAL, STOP_GOAL, bench_hooks  # noqa: E402
from installed import HotEnv, ccledger_command, ensure_hot_venv  # noqa: E402
from ledger import (APPEND_GOAL, INGEST_GOAL, MEMORY_GOAL, REPORT_GOAL, bench_append, bench_ingest,  # noqa: E402
                    bench_report)
from statusline import BURST_GOAL, STATUS_GOAL, bench_statusline  # noqa: E402


class Context:
    """What the benchmarks of one run share: tools, history, work folder, results."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.size: str = args.size
        self.runs: int = args.runs
        self.append_runs: int = args.append_runs
        self.keep: bool = args.keep
        self.work = OUT / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        self.history: History | None = None
        self.ccledger = ccledger_command()
        self._ccusage: list[str] | None = None
        self.rows: list[Row] = []
        self.checks: list[dict] = []
        self.data: dict[str, dict] = {}
        self.full_ingest: Stats | None = None   # ccledger's full ingest times, once measured
        self.ledger: Path | None = None         # a CCLEDGER_HOME caught up with the whole history
        self._homes = 0
        self.hot_runs: int = args.hot_runs
        self._hot: HotEnv | None = None
        self._scratch: Path | None = None

    @property
    def root(self) -> Path:
        assert self.history is not None
        return self.history.root

    def ccusage(self) -> list[str]:
        if self._ccusage is None:
            self._ccusage = ensure_ccusage()
        return self._ccusage

    def env(self, home: Path | None = None) -> dict:
        return env_for(self.root, home)

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

    def hot(self) -> HotEnv:
        """ccledger installed as install.py installs it (bench/out/venv, re-made when the source changed)."""
        if self._hot is None:
            self._hot = ensure_hot_venv()
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
        env = env_for(roots or self.root, home)
        env["HOME"] = str(self.scratch() / "home")
        return env

    def ledger_copy(self, label: str, roots: str | None = None) -> Path:
        """A copy of the caught-up ledger, brought up to date with `roots` by the installed `ccledger
        ingest` (untimed): benchmarks that write to a ledger leave the run's shared one alone."""
        source = self.caught_up_ledger()
        home = self.fresh_home(label)
        copy_ledger(source, home)
        done = subprocess.run([*self.hot().ccledger(), "ingest", "--quiet"], env=self.hot_env(home, roots),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"ccledger ingest (catching up a ledger copy) failed:\n{done.stderr[-2000:]}")
        return home

    def cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append({"check": name, "ok": bool(ok), "detail": detail})
        log(f"  check {'ok' if ok else 'FAILED'}: {name}: {detail}")
        return ok

    def ingest_cmd(self) -> list[str]:
        return [*self.ccledger, "ingest", "--quiet"]

    def ingest_full(self, label: str) -> tuple[Timed, Path]:
        """One full ingest into a fresh ledger; the ledger becomes the run's caught-up ledger."""
        home = self.fresh_home(label)
        timed = run_timed(self.ingest_cmd(), self.env(home), label="ccledger ingest")
        if self.ledger is not None:
            old, self.ledger = self.ledger, None
            self.discard(old)
        self.ledger = home
        return timed, home

    def caught_up_ledger(self) -> Path:
        if self.ledger is None:
            log("preparing a caught-up ledger (one untimed full ingest) ...")
            self.ingest_full("ledger")
        assert self.ledger is not None
        return self.ledger

    def full_ingest_stats(self) -> Stats:
        """ccledger's full ingest median (measured by `ingest`, or here without the baseline)."""
        if self.full_ingest is None:
            log(f"measuring ccledger's full ingest ({self.runs} runs after a warmup) ...")
            self.ingest_full("warmup")
            times = []
            for i in range(self.runs):
                timed, _ = self.ingest_full(f"ingest-{i + 1}")
                times.append(timed.seconds)
                log(f"  run {i + 1}/{self.runs}: {timed.seconds:.2f} s")
            self.full_ingest = Stats.of(times)
        return self.full_ingest

    def verify_full_ledger(self, home: Path) -> None:
        """The caught-up ledger holds exactly the generator's ground truth."""
        want = self.history.expected["final"]["totals"]
        got = ledger_totals(self.ccledger, self.root, home)
        self.check("ledger equals ground truth",
                   got["total_tokens"] == want["totalTokens"] and got["requests"] == want["entries"],
                   f"ccledger {got['total_tokens']:,} tokens / {got['requests']:,} requests, expected.json "
                   f"{want['totalTokens']:,} / {want['entries']:,}")


# The benchmarks, in the order `all` runs them.
BENCHMARKS: dict[str, Callable[[Context], None]] = {
    "ingest": bench_ingest,
    "report": bench_report,
    "append": bench_append,
    "hooks": bench_hooks,
    "gate": bench_gate,
    "statusline": bench_statusline,
}
NEEDS_BASELINE = {"ingest", "report", "statusline"}
HOT = {"hooks", "statusline"}   # benchmarks that run the installed hot entries


# ------------------------------------------------------------------------------------------ main

def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    ap.add_argument("--size", choices=list(SIZES), default="large", help="large ~1 GB (default), medium ~200 MB")
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
        ctx.history = ensure_history(args.size)
        ensure_hyperfine()   # installed from Debian if missing, else timed without it: machine_info says which
        info = machine_info(ctx.ccledger, ctx.ccusage() if NEEDS_BASELINE & set(selected) else None)
        if HOT & set(selected):
            hot = ctx.hot()
            info["hot_python"] = hot.python
            info["hot_source_sha256"] = hot.source_sha256
            info["hot_venv_rebuilt"] = hot.rebuilt
            info["python3_on_path"] = python3_on_path()
    except Unavailable as exc:
        print(f"bench: unavailable: {exc}", file=sys.stderr)
        return 3
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print_machine(info)
    load = info.get("loadavg_at_start")
    if load and load[0] > 0.5 * (info.get("nproc") or 1):
        print(f"note: the machine is busy (load {load[0]:.2f} on {info['nproc']} CPUs): expect noisy ratios")
    print(f"history: {ctx.history.size}, {ctx.history.bytes / MB:,.0f} MB in {ctx.root} "
          f"({'generated in %.0f s' % ctx.history.seconds if ctx.history.generated else 'reused'})", flush=True)
    error = None
    try:
        ctx.work.mkdir(parents=True)
        for name in selected:
            BENCHMARKS[name](ctx)
    except Unavailable as exc:
        error, code = f"unavailable: {exc}", 3
    except BenchError as exc:
        error, code = str(exc), 1
    finally:
        undo_appends(ctx.root)
        if (OUT / "current-50mb").exists():
            undo_appends(OUT / "current-50mb")
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
    print_table(ctx.rows)
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
