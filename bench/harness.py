"""Measurement plumbing shared by every benchmark (stdlib only); it measures nothing by itself.

- where things are: the repo, the cache folder bench/out/ (git-ignored), the shared folder;
- errors (BenchError, Unavailable: exit statuses 1 and 3 of bench/run.py) and progress on stderr;
- timing one command: wall time, peak RSS of the largest process (`/usr/bin/time -f %M`) and the peak of
  the summed RSS (and PSS) of the whole process tree sampled from /proc;
- timing short commands side by side: hyperfine (installed from Debian when missing, else replaced by a
  loop here that measures the same way), and n copies at once (`burst`);
- reading the ledger under test: the environment every command runs in, its totals, SQL, error log, copies;
- the results table and the machine info.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
OUT = BENCH / "out"
MB = 1_000_000
KIB = 1024
SAMPLE_EVERY = 0.05  # seconds between /proc samples of the process tree
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class BenchError(Exception):
    """The benchmark cannot run as asked (missing tool, failed command, broken cache)."""


class Unavailable(BenchError):
    """A tool the benchmark needs (ccusage, npm, the generator) cannot be had here."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def shared_dir() -> Path:
    """The shared folder: the history generator (bench/) and the payload corpus (corpus/)."""
    return Path(os.environ.get("CCLEDGER_SHARED") or REPO.parent / "shared")


# ------------------------------------------------------------------------------------------ one command

def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, rss pages) for every process, from /proc/<pid>/stat."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()   # after "pid (comm) "
        table[int(name)] = (int(fields[1]), int(fields[21]))   # ppid, rss
    return table


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * KIB
    except (OSError, ValueError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Every SAMPLE_EVERY seconds: the summed RSS and PSS of every descendant of `root` (not root itself).

    RSS summed over forked workers counts their shared copy-on-write pages once per process (an upper
    bound); PSS splits shared pages among the processes that share them (a fair total).
    """

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.stop = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 0
        self.samples = 0

    def sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        tree, todo = [], list(children.get(self.root, ()))
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, ()))
        if not tree:
            return
        self.samples += 1
        self.peak_rss = max(self.peak_rss, sum(table[p][1] for p in tree) * PAGE)
        self.peak_pss = max(self.peak_pss, sum(_pss(p) for p in tree))
        self.peak_procs = max(self.peak_procs, len(tree))

    def run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a process vanished mid-read: next sample
                pass
            if self.stop.wait(SAMPLE_EVERY):
                return


@dataclass
class Timed:
    seconds: float
    max_rss: int        # bytes: the largest single process (/usr/bin/time %M)
    tree_rss: int       # bytes: peak of the summed RSS of the process tree
    tree_pss: int       # bytes: peak of the summed PSS of the process tree
    processes: int      # most processes seen at once in the tree
    samples: int


def run_timed(argv: list[str], env: dict, stdout=subprocess.DEVNULL, label: str = "") -> Timed:
    """Run argv once: wall time, peak RSS of the largest process and of the whole tree."""
    if not os.access("/usr/bin/time", os.X_OK):
        raise Unavailable("/usr/bin/time not found (apt-get install time)")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-o", out.name, "-f", "%M", *argv], env=env, stdout=stdout,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, err = proc.communicate()
        seconds = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        text = out.read().strip()
    if proc.returncode != 0:
        raise BenchError(f"{label or shlex.join(argv)} exited {proc.returncode}:\n"
                         f"{err.decode(errors='replace')[-2000:]}")
    max_rss = int(text.splitlines()[-1]) * KIB
    return Timed(seconds, max_rss, max(sampler.peak_rss, max_rss), sampler.peak_pss, sampler.peak_procs,
                 sampler.samples)


@dataclass
class Stats:
    median: float
    mean: float
    stddev: float
    min: float
    max: float
    times: list[float]

    @classmethod
    def of(cls, times: list[float]) -> "Stats":
        return cls(median(times), statistics.fmean(times), statistics.stdev(times) if len(times) > 1 else 0.0,
                   min(times), max(times), list(times))


def stats_dict(stats: dict[str, Stats]) -> dict:
    return {name: vars(s) for name, s in stats.items()}


# ------------------------------------------------------------------------------------------ short commands

_timer: dict | None = None   # what ensure_hyperfine() settled on: {"path", "how", "detail"}
MIN_BENCHMARKING_TIME = 3.0  # hyperfine's default: runs are added until a command has been timed this long
SHELL_CALIBRATION_RUNS = 50  # hyperfine times this many empty shell commands to subtract the shell's start-up


def ensure_hyperfine() -> dict:
    """hyperfine, or what replaces it: {"path": its path or None, "how": "found" | "installed" | "own loop",
    "detail": ...}. On PATH: used. Missing: as root where apt-get exists, `apt-get install -y hyperfine`
    (Debian has it; `apt-get update` first only if that install fails). Still missing: hyperfine() times
    the commands with its own loop (_measure_round). Settled once per process."""
    global _timer
    if _timer is not None:
        return _timer
    found = shutil.which("hyperfine")
    if found:
        _timer = {"path": found, "how": "found", "detail": ""}
        return _timer
    why = "hyperfine not on PATH"
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for steps in ([[apt, "install", "-y", "hyperfine"]],
                      [[apt, "update"], [apt, "install", "-y", "hyperfine"]]):
            log(f"hyperfine not found: {' then '.join(shlex.join(s) for s in steps)} ...")
            done = None
            for argv in steps:
                done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
                if done.returncode != 0:
                    break
            found = shutil.which("hyperfine")
            if found:
                _timer = {"path": found, "how": "installed", "detail": "apt-get install -y hyperfine"}
                return _timer
            why = f"{shlex.join(argv)} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    elif apt:
        why += " (not root: apt-get install skipped)"
    else:
        why += " (no apt-get)"
    log(f"{why}: timing short commands with bench/harness.py's own loop instead")
    _timer = {"path": None, "how": "own loop", "detail": why}
    return _timer


def redirect(command: list[str] | str, stdin: Path) -> str:
    """A shell command line reading stdin from a file (hyperfine 1.15 has no --input)."""
    return f"{command if isinstance(command, str) else shlex.join(command)} < {shlex.quote(str(stdin))}"


def hyperfine(commands: dict[str, list[str] | str], env: dict, warmup: int = 1, min_runs: int = 3,
              max_runs: int | None = None, *, shell: str = "none", prepare: dict[str, list[str] | str] | None = None,
              cwd: Path | None = None, rounds: int = 1) -> dict[str, Stats]:
    """Time each command with hyperfine (output discarded); name -> Stats in seconds.

    A command is an argv list, or a shell string (with `shell`, e.g. "sh", for a stdin redirect: hyperfine
    1.15 has no --input; it subtracts the shell's own start-up from every time). `prepare` maps a command's
    name to what runs, untimed, before each of its runs (warmups included); the others get `true`.
    With `rounds` > 1 hyperfine is run that many times, the command order reversed every other round, and
    the times are pooled: a crude interleaving against load drifting during the run.
    Without hyperfine (see ensure_hyperfine) each round is measured by _measure_round, the same way.
    """
    exe = ensure_hyperfine()["path"]
    if shell == "none" and any(isinstance(cmd, str) for cmd in commands.values()):
        raise ValueError("a shell string needs shell=")

    def text(command: list[str] | str) -> str:
        return command if isinstance(command, str) else shlex.join(command)

    times: dict[str, list[float]] = {name: [] for name in commands}
    for number in range(max(1, rounds)):
        names = list(commands) if number % 2 == 0 else list(reversed(commands))
        if not exe:
            for name, values in _measure_round(names, commands, env, warmup, min_runs, max_runs, shell, prepare,
                                               cwd).items():
                times[name].extend(values)
            continue
        with tempfile.NamedTemporaryFile("r", suffix=".json") as export:
            argv = [exe, f"--shell={shell}", "--style", "none", "--warmup", str(warmup), "--min-runs",
                    str(min_runs), "--export-json", export.name]
            if max_runs:
                argv += ["--max-runs", str(max_runs)]
            if prepare:
                for name in names:
                    argv += ["--prepare", text(prepare.get(name) or ["true"])]
            for name in names:
                argv += ["--command-name", name, text(commands[name])]
            done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=cwd)
            if done.returncode != 0:
                raise BenchError(f"hyperfine failed:\n{(done.stderr or done.stdout)[-2000:]}")
            for result in json.loads(export.read())["results"]:
                times[result["command"]].extend(result["times"])
    return {name: Stats.of(values) for name, values in times.items()}


def _measure_round(names: list[str], commands: dict[str, list[str] | str], env: dict, warmup: int, min_runs: int,
                   max_runs: int | None, shell: str, prepare: dict[str, list[str] | str] | None,
                   cwd: Path | None) -> dict[str, list[float]]:
    """One hyperfine invocation done here, as hyperfine does it: command after command, `warmup` untimed
    runs then the timed ones, each run (warmups included) after the command's `prepare`; as many runs as
    fill MIN_BENCHMARKING_TIME judged by the first, at least min_runs, at most max_runs; output discarded,
    stdin empty; through `shell -c` the mean start-up of that shell (SHELL_CALIBRATION_RUNS empty
    commands) is subtracted from every time. A command or prepare exiting non-zero is an error."""
    def argv(command: list[str] | str) -> list[str]:
        if shell == "none":
            return command if isinstance(command, list) else shlex.split(command)
        return [shell, "-c", command if isinstance(command, str) else shlex.join(command)]

    def run(command: list[str], label: str) -> float:
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise BenchError(f"{label} exited {done.returncode}:\n{done.stderr.decode(errors='replace')[-2000:]}")
        return seconds

    spawn = 0.0
    if shell != "none":
        spawn = statistics.fmean(run([shell, "-c", ""], f"{shell} -c ''") for _ in range(SHELL_CALIBRATION_RUNS))
    times: dict[str, list[float]] = {}
    for name in names:
        command = argv(commands[name])
        before = argv(prepare[name]) if prepare and prepare.get(name) else None

        def once() -> tuple[float, float]:
            """(the run's time, the prepare's)"""
            prepared = run(before, f"prepare of {name}") if before else 0.0
            return max(0.0, run(command, name) - spawn), prepared

        for _ in range(warmup):
            once()
        first, prepared = once()
        count = max(min_runs, int(MIN_BENCHMARKING_TIME / max(first + prepared, 1e-6)))
        if max_runs:
            count = min(count, max_runs)
        times[name] = [first] + [once()[0] for _ in range(count - 1)]
    return times


def burst(argv: list[str], payload: Path, env: dict, cwd: Path, n: int = 10, timeout: float = 120.0) -> list[dict]:
    """Start n copies of argv at once (each with the payload on stdin), each timed from its own start to
    its own exit: [{seconds, rc, stdout, stderr}]."""
    gate = threading.Barrier(n)
    results: list[dict] = [{} for _ in range(n)]

    def one(i: int) -> None:
        with open(payload, "rb") as stdin:
            gate.wait()
            started = time.perf_counter()
            try:
                proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=env, cwd=cwd)
                out, err = proc.communicate(timeout=timeout)
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                rc = "timeout"
            results[i] = {"seconds": time.perf_counter() - started, "rc": rc,
                          "stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def loadavg() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# ------------------------------------------------------------------------------------------ the ledger under test

def env_for(history: Path, home: Path | None = None) -> dict:
    """The environment every measured command runs in: same for ccledger and the baseline.

    PYTHONDONTWRITEBYTECODE is dropped: users' installs run from cached bytecode, and with it set
    every ccledger start would recompile its modules (the warmup run writes the caches).
    """
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(history), TZ="UTC", NO_COLOR="1")
    for name in ("CCLEDGER_HOME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    if home is not None:
        env["CCLEDGER_HOME"] = str(home)
    return env


def ledger_totals(ccledger: list[str], history: Path, home: Path) -> dict:
    """The ledger's grand totals (without ingesting anything): `ccledger report daily --json --no-ingest`."""
    done = subprocess.run([*ccledger, "report", "daily", "--json", "--no-ingest"], env=env_for(history, home),
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"ccledger report failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)["totals"]


def grew_check(ctx, name: str, before: dict, after: dict, added: dict) -> bool:
    """ctx.check that the ledger's totals grew by exactly `added` (history.appended_totals' shape)."""
    grew = after["total_tokens"] - before["total_tokens"]
    calls = after["requests"] - before["requests"]
    return ctx.check(name, grew == added["total_tokens"] and calls == added["api_calls"],
                     f"+{grew:,} tokens / +{calls:,} requests; appended {added['total_tokens']:,} tokens in "
                     f"{added['api_calls']:,} responses ({added['turns']} turns, {added['bytes']:,} bytes)")


def ledger_query(home: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{home / 'ledger.db'}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def error_log(home: Path) -> list[str]:
    """The entries (first lines) of a ledger home's error log, rotated part included."""
    entries = []
    for name in ("errors.log.1", "errors.log"):
        path = home / "logs" / name
        if path.exists():
            entries += [ln for ln in path.read_text(errors="replace").splitlines() if ln and not ln[0].isspace()]
    return entries


def copy_ledger(src: Path, dst: Path) -> None:
    """A copy of a ledger home (its database with any WAL, config, state) whose writers have all exited."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("locks", "logs"))


# ------------------------------------------------------------------------------------------ reporting

@dataclass
class Row:
    """One line of the results table. Ratios are ccledger / baseline; `speedup` rows print baseline /
    ccledger as "N.Nx faster". `passed` is None when the row has no goal."""
    benchmark: str
    ccledger: float | None
    baseline: float | None
    baseline_name: str
    unit: str                 # "s" or "MB"
    goal: str
    passed: bool | None
    speedup: bool = False
    key: str = ""
    fixed_ratio: float | None = None   # a ratio not derived from the two values shown

    @property
    def ratio(self) -> float | None:
        if self.fixed_ratio is not None:
            return self.fixed_ratio
        if self.baseline in (None, 0) or self.ccledger in (None, 0):
            return None
        return self.baseline / self.ccledger if self.speedup else self.ccledger / self.baseline

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["ratio_means"] = ("baseline / ccledger (times faster)" if self.speedup else "ccledger / baseline")
        return d


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        if value < 0.1:
            return f"{value * 1000:.1f} ms"
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "MB":
        return f"{value / MB:.0f} MB"
    return f"{value:g} {unit}"


def print_table(rows: list[Row], file=sys.stdout) -> None:
    head = ("benchmark", "ccledger", "baseline", "ratio", "goal", "result")
    body = []
    for r in rows:
        ratio = r.ratio
        ratio_text = "-" if ratio is None else (f"{ratio:.1f}x faster" if r.speedup else f"{ratio:.2f}x")
        base = "-" if r.baseline is None else f"{fmt(r.baseline, r.unit)} ({r.baseline_name})"
        result = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        body.append((r.benchmark, fmt(r.ccledger, r.unit), base, ratio_text, r.goal, result))
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format(*head), file=file)
    print("  ".join("-" * w for w in widths), file=file)
    for row in body:
        print(line.format(*row), file=file)


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def _ccledger_python(ccledger: list[str]) -> str:
    try:
        with open(ccledger[0], "rb") as handle:
            first = handle.readline().decode()
        if first.startswith("#!") and "python" in first:
            return first[2:].strip().split()[0]
    except OSError:
        pass
    return sys.executable


def machine_info(ccledger: list[str], ccusage: list[str] | None) -> dict:
    python = _ccledger_python(ccledger)
    probe = subprocess.run([python, "-c", "import sys, sqlite3; print(sys.version.split()[0]); "
                                          "print(sqlite3.sqlite_version)"], capture_output=True, text=True)
    py_version, sqlite_version = (probe.stdout.split() + ["?", "?"])[:2]
    cpu = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory = next(int(ln.split()[1]) * KIB for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))
    except (OSError, StopIteration):
        memory = 0
    timer = ensure_hyperfine()
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_bytes": memory,
        "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "kernel": platform.release(),
        "python": py_version,
        "python_path": python,
        "sqlite": sqlite_version,
        "ccledger": _version([*ccledger, "--version"]),
        "ccledger_path": ccledger[0],
        "ccusage": _version([*ccusage, "--version"]) if ccusage else None,
        "node": _version(["node", "--version"]),
        "hyperfine": _version([timer["path"], "--version"]) if timer["path"] else None,
        "timer": timer,
    }


def print_machine(info: dict, file=sys.stdout) -> None:
    load = info.get("loadavg_at_start")
    print(f"machine: nproc {info['nproc']}, {info['cpu']}, {info['memory_bytes'] / 2**30:.0f} GiB, "
          f"load {' '.join(f'{x:.2f}' for x in load) if load else '?'}, kernel {info['kernel']}", file=file)
    print(f"python {info['python']} ({info['python_path']}), sqlite {info['sqlite']}, {info['ccledger']}, "
          f"{info['ccusage'] or 'ccusage: not used'}, node {info['node']}, {info['hyperfine'] or 'no hyperfine'}",
          file=file)
    timer = info.get("timer") or {}
    print("short commands timed by: " + {
        "found": f"{info['hyperfine']} ({timer.get('path')})",
        "installed": f"{info['hyperfine']} (installed by this run: {timer.get('detail')})",
        "own loop": f"bench/harness.py's own loop, measuring as hyperfine does ({timer.get('detail')})",
    }.get(timer.get("how"), "?"), file=file)
    if info.get("hot_python"):
        on_path = info.get("python3_on_path") or {}
        print(f"hot entries: {info['hot_python']} -S .../ccledger/launch.py (bench venv, non-editable, source "
              f"{info['hot_source_sha256'][:12]}{', just installed' if info.get('hot_venv_rebuilt') else ''}); "
              f"python3 on PATH: {on_path.get('path')}"
              f"{' (a shim script that execs the real interpreter)' if on_path.get('shim') else ''}", file=file)
