"""ccledger as the benchmarks run it (stdlib only).

- `ccledger_command`: the `ccledger` console script of the Python running the bench (the dev venv's,
  an editable install): the ledger benchmarks (ingest, report, append) and every totals check use it;
- `ensure_hot_venv`: bench/out/venv, ccledger installed as install.py installs it (a regular, non-editable
  copy), re-made when the package source changed; its `HotEnv` gives the hook and status line commands
  exactly as Claude Code runs them.
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness import OUT, REPO, BenchError, Unavailable, log


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


@dataclass
class HotEnv:
    """ccledger installed as install.py installs it: a venv holding a regular (non-editable) copy.

    Claude Code runs what install.py registers (ccledger.install.entries): the interpreter the venv was
    made from, `-S -c <BOOT> <site-packages>/ccledger/launch.py hook` (exec form, payload on stdin), and
    the same as a shell command with `statusline`.
    """
    venv: Path
    python: str
    site_packages: str
    rebuilt: bool
    seconds: float
    source_sha256: str

    @property
    def launch(self) -> str:
        return os.path.join(self.site_packages, "ccledger", "launch.py")

    def hook(self) -> list[str]:
        from ccledger.install import entries
        return [entries.host_python(self.python), *entries.boot_args(self.site_packages, "hook")]

    def statusline(self) -> list[str]:
        from ccledger.install import entries
        return [entries.host_python(self.python), *entries.boot_args(self.site_packages, "statusline")]

    def statusline_shell(self) -> str:
        """The statusLine command exactly as the installer writes it."""
        from ccledger.install import entries
        return entries.statusline(self.python, self.site_packages)["command"]

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
    if site and os.path.isfile(os.path.join(site, "ccledger", "launch.py")):
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
    if not site or not os.path.isfile(os.path.join(site, "ccledger", "launch.py")):
        raise BenchError(f"pip installed into {venv}, but ccledger/launch.py is not in its site-packages")
    stamp.write_text(json.dumps({"source_sha256": got, "installed": time.strftime("%Y-%m-%dT%H:%M:%S")}))
    seconds = time.monotonic() - started
    log(f"  done in {seconds:.0f} s")
    return HotEnv(venv, str(python), site, True, seconds, got)
