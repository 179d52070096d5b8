"""Helpers shared by the benchmarks in bench/run.py (stdlib only).

- where things are: the repo, the cache folder bench/out/ (git-ignored), the shared history generator;
- the synthetic history (generated once per size into bench/out/history-<size>/, reused after);
- the baseline: ccusage installed with npm into bench/out/node/;
- timing: one command with wall time, peak RSS of the largest process (`/usr/bin/time -f %M`) and the
  peak of the summed RSS (and PSS) of the whole process tree sampled from /proc; hyperfine for
  interleaving-free comparisons of short commands;
- appending genuinely new, realistic usage to a transcript (and undoing it);
- the results table.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
OUT = BENCH / "out"
SIZES = {
    "large": {"sessions": 200, "lines": 2000},   # ~1 GB
    "medium": {"sessions": 40, "lines": 2000},   # ~200 MB
}
CCUSAGE_VERSION = "20.0.24"
MB = 1_000_000
KIB = 1024
SAMPLE_EVERY = 0.05  # seconds between /proc samples of the process tree
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class BenchError(Exception):
    """The benchmark cannot run as asked (missing tool, failed command, broken cache)."""


class Unavailable(BenchError):
    """A tool the benchmark needs (ccusage, npm, hyperfine, the generator) cannot be had here."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


# ------------------------------------------------------------------------------------------ paths

def shared_dir() -> Path:
    return Path(os.environ.get("CCLEDGER_SHARED") or REPO.parent / "shared")


def generator() -> Path:
    path = shared_dir() / "bench" / "gen_history.py"
    if not path.is_file():
        raise Unavailable(f"history generator not found at {path} (set CCLEDGER_SHARED to the shared folder)")
    return path


def ccledger_command() -> list[str]:
    """The `ccledger` console script users run: $CCLEDGER_BENCH_CCLEDGER, beside this Python, or on PATH."""
    explicit = os.environ.get("CCLEDGER_BENCH_CCLEDGER")
    if explicit:
        return shlex.split(explicit)
    beside = Path(sys.executable).parent / "ccledger"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("ccledger")
    if found:
        return [found]
    raise Unavailable("ccledger is not installed: run with the dev venv's python (pip install -e .) "
                      "or set CCLEDGER_BENCH_CCLEDGER")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_bytes(root: Path) -> int:
    """Total size of every *.jsonl under root/projects (what the generator reports as `bytes`)."""
    total = 0
    for folder, _, names in os.walk(root / "projects"):
        total += sum(os.path.getsize(os.path.join(folder, n)) for n in names if n.endswith(".jsonl"))
    return total


# ------------------------------------------------------------------------------------------ history

@dataclass
class History:
    root: Path          # a CLAUDE_CONFIG_DIR (root/projects/...)
    size: str
    expected: dict      # the generator's expected.json (ground truth)
    generated: bool     # made in this run (False: reused from the cache)
    seconds: float      # how long generating took (0 if reused)

    @property
    def bytes(self) -> int:
        return int(self.expected["bytes"])


JOURNAL = ".bench-appended.json"   # files the append benchmark grew, with their original sizes
STAMP = ".bench-stamp.json"        # how the cached history was made


def undo_appends(root: Path) -> None:
    """Truncate transcripts grown by an append benchmark back to their generated size."""
    journal = root / JOURNAL
    if not journal.exists():
        return
    for path, size in json.loads(journal.read_text()).items():
        if os.path.exists(path) and os.path.getsize(path) > size:
            os.truncate(path, size)
    journal.unlink()


def ensure_history(size: str) -> History:
    """The size's history in bench/out/history-<size>/: reused when its stamp and byte count match."""
    gen = generator()
    root = OUT / f"history-{size}"
    args = ["large", "--sessions", str(SIZES[size]["sessions"]), "--lines", str(SIZES[size]["lines"])]
    stamp = {"args": args, "generator_sha256": _sha256(gen)}
    if root.exists():
        undo_appends(root)
        try:
            ok = (json.loads((root / STAMP).read_text()) == stamp
                  and file_bytes(root) == json.loads((root / "expected.json").read_text())["bytes"])
        except (OSError, ValueError, KeyError):
            ok = False
        if ok:
            return History(root, size, json.loads((root / "expected.json").read_text()), False, 0.0)
        log(f"history cache {root} is stale or incomplete: regenerating")
        shutil.rmtree(root)
    OUT.mkdir(parents=True, exist_ok=True)
    log(f"generating the {size} history into {root} (python3 {gen.name} {' '.join(args)}) ...")
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(gen), *args, "--out", str(root), "--force"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise BenchError(f"history generator failed:\n{done.stderr[-2000:]}")
    seconds = time.monotonic() - started
    (root / STAMP).write_text(json.dumps(stamp))
    expected = json.loads((root / "expected.json").read_text())
    log(f"  {expected['bytes'] / MB:,.0f} MB in {seconds:.0f} s")
    return History(root, size, expected, True, seconds)


CURRENT = {"sessions": 1, "lines": 20000, "projects": 1, "days": 1, "seed": 50}   # one ~49 MB session
CURRENT_MAX_AGE_S = 900    # regenerate the current session when its last line is older than this


def _last_timestamp_ms(path: Path, tail: int = 1 << 16) -> int | None:
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - tail))
        data = handle.read()
    for raw in reversed(data.split(b"\n")):
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            return _ms(obj["timestamp"])
    return None


def ensure_current() -> History:
    """A second CLAUDE_CONFIG_DIR (bench/out/current-50mb/) holding one ~49 MB session that ends just now:
    the transcript of the session a status line is drawn for.

    The generator spreads 20,000 lines over about two days from `--now - 1 day`, so the session would end
    in the future; it is generated with `--now` moved back by that span (learnt from the previous
    generation, which is therefore done twice the first time) so its last line is a minute old. Its own
    seed keeps its ids apart from the history's. Reused while its last line is under 15 minutes old.
    """
    gen = generator()
    root = OUT / "current-50mb"
    args = ["large", *(x for k, v in CURRENT.items() for x in (f"--{k}", str(v)))]
    stamp_base = {"args": args, "generator_sha256": _sha256(gen)}
    old: dict = {}
    try:
        old = json.loads((root / STAMP).read_text())
    except (OSError, ValueError):
        pass
    if root.exists():
        undo_appends(root)
    if all(old.get(k) == v for k, v in stamp_base.items()) and root.exists():
        try:
            expected = json.loads((root / "expected.json").read_text())
            files = sorted((root / "projects").rglob("*.jsonl"))
            last = _last_timestamp_ms(files[0]) if files else None
            if (file_bytes(root) == expected["bytes"] and last is not None
                    and 0 <= time.time() * 1000 - last <= CURRENT_MAX_AGE_S * 1000):
                return History(root, "current", expected, False, 0.0)
        except (OSError, ValueError, KeyError, IndexError):
            pass
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    span = old.get("span_ms") if all(old.get(k) == v for k, v in stamp_base.items()) else None
    for attempt in range(2):
        target = time.time() * 1000 - 60_000
        now_ms = int(target - span) if span is not None else int(target)
        log(f"generating the current session into {root} (python3 {gen.name} {' '.join(args)}) ...")
        done = subprocess.run([sys.executable, str(gen), *args, "--now", _iso(now_ms), "--out", str(root),
                               "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise BenchError(f"history generator failed:\n{done.stderr[-2000:]}")
        last = _last_timestamp_ms(sorted((root / "projects").rglob("*.jsonl"))[0])
        if last is None:
            raise BenchError(f"{root}: no timestamp in the generated session")
        if span is not None and abs(last - target) < 5 * 60_000:
            break
        span = last - now_ms   # the same for every --now: the generator draws the same numbers
    (root / STAMP).write_text(json.dumps({**stamp_base, "span_ms": span}))
    expected = json.loads((root / "expected.json").read_text())
    seconds = time.monotonic() - started
    log(f"  {expected['bytes'] / MB:,.0f} MB in {seconds:.0f} s")
    return History(root, "current", expected, True, seconds)


# ------------------------------------------------------------------------------------------ ccusage

def _native_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    return f"@ccusage/ccusage-{system}-{arch}"


def _installed_version(prefix: Path, package: str) -> str | None:
    try:
        return json.loads((prefix / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def ensure_ccusage(version: str = CCUSAGE_VERSION) -> list[str]:
    """`ccusage` as users run it (the npm bin, which starts the native binary).

    $CCLEDGER_BENCH_CCUSAGE may name an npm prefix that already has it (a folder with node_modules/)
    or the bin itself; otherwise it is installed into bench/out/node with `npm install --prefix`.
    """
    explicit = os.environ.get("CCLEDGER_BENCH_CCUSAGE")
    if explicit:
        path = Path(explicit)
        binary = path / "node_modules" / ".bin" / "ccusage" if path.is_dir() else path
        if not binary.exists():
            raise Unavailable(f"CCLEDGER_BENCH_CCUSAGE={explicit}: no ccusage there")
        return [str(binary)]
    prefix = OUT / "node"
    native = _native_package()
    binary = prefix / "node_modules" / ".bin" / "ccusage"
    if (_installed_version(prefix, "ccusage") != version or _installed_version(prefix, native) != version
            or not binary.exists()):
        _npm_install(prefix, [f"ccusage@{version}", f"{native}@{version}"], binary)
    return [str(binary)]


def _npm_install(prefix: Path, specs: list[str], product: Path) -> None:
    """`npm install --prefix` a baseline tool; Unavailable unless npm succeeds and `product` then exists."""
    npm = shutil.which("npm")
    if not npm:
        raise Unavailable(f"npm not found: cannot install the {specs[0]} baseline")
    log(f"installing {' and '.join(specs)} into {prefix} ...")
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--loglevel=error",
                           *specs], capture_output=True, text=True)
    if done.returncode != 0 or not product.exists():
        raise Unavailable(f"npm install of {specs[0]} failed:\n{(done.stderr or done.stdout)[-2000:]}")


CCSTATUSLINE_VERSION = "2.2.30"


def ensure_ccstatusline(version: str = CCSTATUSLINE_VERSION) -> Path:
    """ccstatusline's entry script (`node <it>` renders a status line from stdin).

    $CCLEDGER_BENCH_CCSTATUSLINE may name an npm prefix or package folder that has it (for example
    /work/tools/ccusage) or the script itself; otherwise it is installed into bench/out/node with npm
    (beside ccusage: npm keeps both in that prefix's package.json).
    """
    explicit = os.environ.get("CCLEDGER_BENCH_CCSTATUSLINE")
    if explicit:
        path = Path(explicit)
        for candidate in (path, path / "dist" / "ccstatusline.js",
                          path / "node_modules" / "ccstatusline" / "dist" / "ccstatusline.js"):
            if candidate.is_file():
                return candidate
        raise Unavailable(f"CCLEDGER_BENCH_CCSTATUSLINE={explicit}: no ccstatusline there")
    prefix = OUT / "node"
    script = prefix / "node_modules" / "ccstatusline" / "dist" / "ccstatusline.js"
    if _installed_version(prefix, "ccstatusline") != version or not script.is_file():
        _npm_install(prefix, [f"ccstatusline@{version}"], script)
    return script


# ------------------------------------------------------------------------------------------ hot entries

@dataclass
class HotEnv:
    """ccledger installed as install.py installs it: a venv holding a regular (non-editable) copy.

    Claude Code runs the hooks as `<python> -S <site-packages>/ccledger/hot/launch.py hook` (exec form,
    payload on stdin) and the status line as the shell command `'<python>' -S '<launch.py>' statusline`.
    """
    venv: Path
    python: str
    site_packages: str
    rebuilt: bool
    seconds: float
    source_sha256: str

    @property
    def launch(self) -> str:
        return os.path.join(self.site_packages, "ccledger", "hot", "launch.py")

    def hook(self) -> list[str]:
        return [self.python, "-S", self.launch, "hook"]

    def statusline(self) -> list[str]:
        return [self.python, "-S", self.launch, "statusline"]

    def statusline_shell(self) -> str:
        """The statusLine command exactly as the installer writes it (every path single-quoted)."""
        def quote(arg: str) -> str:
            return "'" + arg.replace("'", "'\"'\"'") + "'"
        return f"{quote(self.python)} -S {quote(self.launch)} statusline"

    def ccledger(self) -> list[str]:
        return [str(self.venv / "bin" / "ccledger")]


def source_sha256(tree: Path) -> str:
    """What the bench venv is keyed by: every file of the package (bytecode aside) and pyproject.toml."""
    digest = hashlib.sha256()
    files = sorted(p for p in (tree / "ccledger").rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for path in [*files, tree / "pyproject.toml"]:
        digest.update(str(path.relative_to(tree)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _site_packages(python: Path) -> str | None:
    try:
        done = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def ensure_hot_venv() -> HotEnv:
    """bench/out/venv: `python -m venv` + `pip install <a snapshot of the repo>` (not editable), made
    again when the package source changed (keyed by source_sha256). The snapshot (bench/out/venv-src)
    keeps pip's build folders out of the work tree and pins what was installed while files change."""
    venv = OUT / "venv"
    stamp = venv / ".bench-stamp.json"
    python = venv / "bin" / "python"
    want = source_sha256(REPO)
    try:
        ok = json.loads(stamp.read_text())["source_sha256"] == want
    except (OSError, ValueError, KeyError):
        ok = False
    site = _site_packages(python) if ok and python.exists() else None
    if site and os.path.isfile(os.path.join(site, "ccledger", "hot", "launch.py")):
        return HotEnv(venv, str(python), site, False, 0.0, want)
    started = time.monotonic()
    src = OUT / "venv-src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(REPO / "ccledger", src / "ccledger", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    got = source_sha256(src)
    log(f"installing ccledger (source {got[:12]}) into {venv} (python -m venv; pip install, not editable) ...")
    shutil.rmtree(venv, ignore_errors=True)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for argv in ([sys.executable, "-m", "venv", str(venv)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet",
                  str(src)],
                 [str(python), "-m", "compileall", "-q", "-j", "0", str(venv / "lib")]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise Unavailable(f"{shlex.join(argv)} failed:\n{(done.stderr or done.stdout)[-2000:]}")
    site = _site_packages(python)
    if not site or not os.path.isfile(os.path.join(site, "ccledger", "hot", "launch.py")):
        raise BenchError(f"pip installed into {venv}, but ccledger/hot/launch.py is not in its site-packages")
    stamp.write_text(json.dumps({"source_sha256": got, "installed": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    seconds = time.monotonic() - started
    log(f"  done in {seconds:.0f} s")
    return HotEnv(venv, str(python), site, True, seconds, got)


def python3_on_path() -> dict:
    """`python3` as the issue text runs it: whatever PATH finds (here possibly a pyenv shim script)."""
    found = shutil.which("python3")
    info = {"path": found, "resolved": None, "shim": False}
    if found:
        real = os.path.realpath(found)
        info["resolved"] = real
        try:
            with open(real, "rb") as handle:
                info["shim"] = handle.read(2) == b"#!"   # a script that execs the real interpreter
        except OSError:
            pass
    return info


# ------------------------------------------------------------------------------------------ timing

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


def hyperfine(commands: dict[str, list[str] | str], env: dict, warmup: int = 1, min_runs: int = 3,
              max_runs: int | None = None, *, shell: str = "none", prepare: dict[str, list[str] | str] | None = None,
              cwd: Path | None = None, rounds: int = 1) -> dict[str, Stats]:
    """Time each command with hyperfine (output discarded); name -> Stats in seconds.

    A command is an argv list, or a shell string (with `shell`, e.g. "sh", for a stdin redirect: hyperfine
    1.15 has no --input; it subtracts the shell's own start-up from every time). `prepare` maps a command's
    name to what runs, untimed, before each of its runs (warmups included); the others get `true`.
    With `rounds` > 1 hyperfine is run that many times, the command order reversed every other round, and
    the times are pooled: a crude interleaving against load drifting during the run.
    """
    exe = shutil.which("hyperfine")
    if not exe:
        raise Unavailable("hyperfine not found (apt-get install hyperfine)")
    if shell == "none" and any(isinstance(cmd, str) for cmd in commands.values()):
        raise ValueError("a shell string needs shell=")

    def text(command: list[str] | str) -> str:
        return command if isinstance(command, str) else shlex.join(command)

    times: dict[str, list[float]] = {name: [] for name in commands}
    for number in range(max(1, rounds)):
        names = list(commands) if number % 2 == 0 else list(reversed(commands))
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


# ------------------------------------------------------------------------------------------ ledgers

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


# ------------------------------------------------------------------------------------------ appending

B62 = string.ascii_letters + string.digits


class Ids:
    """New identifiers in the shapes Claude Code writes (as gen_history.py makes them)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _b62(self, n: int) -> str:
        return "".join(self.rng.choice(B62) for _ in range(n))

    def uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def like(self, old: str) -> str:
        """A fresh id of the same kind as `old`."""
        for prefix, n in (("msg_01", 22), ("req_011C", 20), ("toolu_01", 22)):
            if old.startswith(prefix):
                return prefix + self._b62(n)
        if len(old) == 36 and old.count("-") == 4:
            return self.uuid()
        return old.split("_")[0] + "_" + self._b62(max(8, len(old) - len(old.split("_")[0]) - 1))


def _ms(ts: str) -> int:
    return round(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _usage_total(usage: dict) -> int:
    """Total tokens of one line's usage, as ccledger and ccusage count it."""
    split = usage.get("cache_creation") or {}
    writes = max(usage.get("cache_creation_input_tokens") or 0,
                 (split.get("ephemeral_5m_input_tokens") or 0) + (split.get("ephemeral_1h_input_tokens") or 0))
    return (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0) + writes \
        + (usage.get("cache_read_input_tokens") or 0)


def _template(path: Path, tail: int = 1 << 20) -> list[dict]:
    """The file's own last turn: its last API response (every line of it) and the user line after it
    (else the last user line before it)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, os.path.getsize(path) - tail))
        data = handle.read()
    lines = []
    for raw in data.split(b"\n")[1:]:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            lines.append(obj)

    def blocks(obj: dict, kind: str) -> list[dict]:
        content = (obj.get("message") or {}).get("content") if isinstance(obj.get("message"), dict) else None
        return [b for b in content if isinstance(b, dict) and b.get("type") == kind] \
            if isinstance(content, list) else []

    def key(obj: dict) -> tuple:
        return obj["message"].get("id"), obj.get("requestId")

    with_usage = [o for o in lines if o.get("type") == "assistant"
                  and isinstance((o.get("message") or {}).get("usage"), dict)]
    if not with_usage:
        raise BenchError(f"{path}: no assistant line with usage in its last {tail} bytes")
    # Preferred: the last response that called a tool, with the user line carrying that tool's result.
    tool_owner = {b.get("id"): key(o) for o in with_usage for b in blocks(o, "tool_use")}
    for obj in reversed(lines):
        if obj.get("type") != "user":
            continue
        owners = [tool_owner[b.get("tool_use_id")] for b in blocks(obj, "tool_result")
                  if b.get("tool_use_id") in tool_owner]
        if owners:
            return [o for o in with_usage if key(o) == owners[0]] + [obj]
    # Else: the last response and the first user line after it (or the last one before it).
    last = with_usage[-1]
    at = next(i for i, o in enumerate(lines) if o is last)
    users = [o for o in lines[at + 1:] if o.get("type") == "user"] or \
            [o for o in lines[:at] if o.get("type") == "user"][-1:]
    return [o for o in with_usage if key(o) == key(last)] + users[:1]


@dataclass
class Appended:
    path: str
    bytes: int = 0
    lines: int = 0
    api_calls: int = 0           # new (message.id, requestId) keys
    total_tokens: int = 0        # their usage: per key the largest line total
    keys: set = field(default_factory=set, repr=False)


def append_usage(root: Path, path: Path, nbytes: int, seed: int, one_turn: bool = False) -> Appended:
    """Append about `nbytes` of new turns to `path`, shaped like its own last turn.

    Every copy gets new message ids, request ids, tool ids and uuids (parentUuid chained), later
    timestamps and its own token counts, so it is genuinely new usage; returns what it adds up to.
    The original size is journalled first so undo_appends() restores the generated history.
    With `one_turn`, a single copy is written instead, its largest text (the tool result) grown or
    cut so that the turn is about `nbytes`: one API response, as after one assistant message.
    """
    journal = root / JOURNAL
    sizes = json.loads(journal.read_text()) if journal.exists() else {}
    sizes.setdefault(str(path), os.path.getsize(path))
    journal.write_text(json.dumps(sizes))

    template = _template(path)
    ids = Ids(seed)
    rng = ids.rng
    stamps = [_ms(o["timestamp"]) for o in template if isinstance(o.get("timestamp"), str)]
    clock = max(stamps)
    first = min(stamps)
    last_assistant = max(i for i, o in enumerate(template) if o.get("type") == "assistant")
    parent = template[-1].get("uuid")
    result = Appended(str(path))
    out: list[bytes] = []
    while result.bytes < nbytes:
        mapping: dict[str, str] = {}

        def fresh(old):
            if isinstance(old, str) and old:
                mapping.setdefault(old, ids.like(old))
                return mapping[old]
            return old

        clock += rng.randint(2_000, 25_000)
        inp, out_final = rng.randint(3, 30), rng.randint(20, 1500)
        write, read = rng.randint(100, 3000), rng.randint(15_000, 160_000)
        tool_ids = []
        best: dict[tuple, int] = {}
        turn: list[dict] = []
        for index, obj in enumerate(template):
            line = json.loads(json.dumps(obj))
            line["uuid"] = ids.uuid()
            line["parentUuid"] = parent
            parent = line["uuid"]
            if isinstance(obj.get("timestamp"), str):
                line["timestamp"] = _iso(clock + _ms(obj["timestamp"]) - first)
            msg = line.get("message") if isinstance(line.get("message"), dict) else {}
            content = msg.get("content") if isinstance(msg.get("content"), list) else []
            if line.get("type") == "assistant":
                msg["id"] = fresh(msg.get("id"))
                line["requestId"] = fresh(line.get("requestId"))
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_use":
                        block["id"] = fresh(block.get("id"))
                        tool_ids.append(block["id"])
                usage = msg.get("usage")
                if isinstance(usage, dict):
                    final = index == last_assistant   # earlier lines of a response carry a partial count
                    usage["input_tokens"] = inp
                    usage["output_tokens"] = out_final if final else min(out_final, rng.randint(1, 12))
                    usage["cache_read_input_tokens"] = read
                    usage["cache_creation_input_tokens"] = write
                    if isinstance(usage.get("cache_creation"), dict):
                        usage["cache_creation"] = {"ephemeral_5m_input_tokens": write,
                                                   "ephemeral_1h_input_tokens": 0}
                    key = (msg["id"], line.get("requestId"))
                    best[key] = max(best.get(key, 0), _usage_total(usage))
            elif line.get("type") == "user":
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        old = block.get("tool_use_id")
                        block["tool_use_id"] = mapping.get(old) or (tool_ids[-1] if tool_ids else fresh(old))
                if "promptId" in line:
                    line["promptId"] = ids.uuid()
            turn.append(line)
        if one_turn:
            _resize_turn(turn, nbytes)
        for line in turn:
            encoded = _encode(line)
            out.append(encoded)
            result.bytes += len(encoded)
            result.lines += 1
        clock += max(stamps) - first
        for key, total in best.items():
            if key not in result.keys:
                result.keys.add(key)
                result.api_calls += 1
                result.total_tokens += total
        if one_turn:
            break
    with open(path, "ab") as handle:
        handle.write(b"".join(out))
    return result


def _encode(line: dict) -> bytes:
    return (json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


FILLER = ("the module returns a value for each path; the handler updates the config and the test checks "
          "the result of the function in the file ")


def _text_slots(lines: list[dict]):
    """(container, key) of every string a turn carries as text: tool results first, then text/thinking."""
    results, texts = [], []
    for line in lines:
        msg = line.get("message") if isinstance(line.get("message"), dict) else {}
        content = msg.get("content") if isinstance(msg.get("content"), list) else []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                if isinstance(block.get("content"), str):
                    results.append((block, "content"))
                elif isinstance(block.get("content"), list):
                    results += [(b, "text") for b in block["content"]
                                if isinstance(b, dict) and isinstance(b.get("text"), str)]
            elif block.get("type") in ("text", "thinking") and isinstance(block.get(block["type"]), str):
                texts.append((block, block["type"]))
    return results or texts


def _resize_turn(lines: list[dict], nbytes: int) -> None:
    """Grow or cut the largest text of a turn so that its encoded lines add up to about nbytes."""
    slots = _text_slots(lines)
    if not slots:
        return
    holder, key = max(slots, key=lambda slot: len(slot[0][slot[1]]))
    for _ in range(4):
        delta = nbytes - sum(len(_encode(line)) for line in lines)
        if abs(delta) < 64:
            return
        text = holder[key]
        if delta > 0:
            holder[key] = text + (FILLER * (delta // len(FILLER) + 1))[:delta]
        else:
            holder[key] = text[:max(16, len(text) + delta)]


def pick_transcript(root: Path) -> Path:
    """The largest main-session transcript (deterministic: ties by path)."""
    files = [Path(folder) / n for folder, _, names in os.walk(root / "projects") for n in names
             if n.endswith(".jsonl") and "subagents" not in folder]
    if not files:
        raise BenchError(f"no transcripts under {root}/projects")
    return max(sorted(files), key=lambda p: p.stat().st_size)


def main_transcripts(root: Path) -> list[Path]:
    """Every main-session transcript (not subagents), largest first (ties by path)."""
    files = [Path(folder) / n for folder, _, names in os.walk(root / "projects") for n in names
             if n.endswith(".jsonl") and "subagents" not in folder]
    return sorted(sorted(files), key=lambda p: -p.stat().st_size)


def append_turn_command(root: Path, path: Path, nbytes: int, log_path: Path, seed_base: int) -> list[str]:
    """A command (for hyperfine --prepare) appending one new turn of about nbytes to path, logged."""
    return [sys.executable, str(Path(__file__).resolve()), "append-turn", str(root), str(path), str(nbytes),
            str(log_path), "--seed-base", str(seed_base)]


def appended_totals(log_path: Path) -> dict:
    """What the append-turn commands logged in log_path added up to."""
    total = {"turns": 0, "bytes": 0, "lines": 0, "api_calls": 0, "total_tokens": 0}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            entry = json.loads(line)
            total["turns"] += 1
            for key in ("bytes", "lines", "api_calls", "total_tokens"):
                total[key] += entry[key]
    return total


def _append_turn_cli(root: str, path: str, nbytes: int, log_path: str, seed_base: int) -> None:
    count = 0
    if os.path.exists(log_path):
        with open(log_path) as handle:
            count = sum(1 for _ in handle)
    added = append_usage(Path(root), Path(path), nbytes, seed=seed_base + count, one_turn=True)
    with open(log_path, "a") as handle:
        handle.write(json.dumps({"bytes": added.bytes, "lines": added.lines, "api_calls": added.api_calls,
                                 "total_tokens": added.total_tokens}) + "\n")


def hook_payloads(post: dict, stop: dict, session_id: str, transcript: str) -> tuple[dict, dict, dict]:
    """(PreToolUse, PostToolUse, Stop) payloads for one session, from the corpus' 2.1.332 shapes."""
    post = dict(post, session_id=session_id, transcript_path=transcript)
    pre = {k: v for k, v in post.items() if k not in ("tool_response", "duration_ms")}
    pre["hook_event_name"] = "PreToolUse"
    return pre, post, dict(stop, session_id=session_id, transcript_path=transcript)


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
        "hyperfine": _version(["hyperfine", "--version"]),
    }


def print_machine(info: dict, file=sys.stdout) -> None:
    load = info.get("loadavg_at_start")
    print(f"machine: nproc {info['nproc']}, {info['cpu']}, {info['memory_bytes'] / 2**30:.0f} GiB, "
          f"load {' '.join(f'{x:.2f}' for x in load) if load else '?'}, kernel {info['kernel']}", file=file)
    print(f"python {info['python']} ({info['python_path']}), sqlite {info['sqlite']}, {info['ccledger']}, "
          f"{info['ccusage'] or 'ccusage: not used'}, node {info['node']}, {info['hyperfine']}", file=file)
    if info.get("hot_python"):
        on_path = info.get("python3_on_path") or {}
        print(f"hot entries: {info['hot_python']} -S .../ccledger/hot/launch.py (bench venv, non-editable, source "
              f"{info['hot_source_sha256'][:12]}{', just installed' if info.get('hot_venv_rebuilt') else ''}); "
              f"python3 on PATH: {on_path.get('path')}"
              f"{' (a shim script that execs the real interpreter)' if on_path.get('shim') else ''}", file=file)


# ------------------------------------------------------------------------------------------ helper commands

def _cli(argv: list[str]) -> int:
    """Helpers the benchmarks run as commands: `append-turn` (a hyperfine --prepare) and `hammer`
    (one concurrent hook driver)."""
    import argparse
    ap = argparse.ArgumentParser(prog="bench/common.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    turn = sub.add_parser("append-turn", help="append one new turn of about NBYTES to PATH and log it")
    turn.add_argument("root")
    turn.add_argument("path")
    turn.add_argument("nbytes", type=int)
    turn.add_argument("log")
    turn.add_argument("--seed-base", type=int, default=0)
    hammer = sub.add_parser("hammer", help="one concurrent hook driver")
    hammer.add_argument("spec")
    hammer.add_argument("index", type=int)
    hammer.add_argument("out")
    args = ap.parse_args(argv)
    if args.cmd == "append-turn":
        _append_turn_cli(args.root, args.path, args.nbytes, args.log, args.seed_base)
    else:
        _hammer_cli(args.spec, args.index, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
