"""What ccledger is measured against (stdlib only).

- the peers, installed with npm into bench/out/node/ (or taken from $CCLEDGER_BENCH_CCUSAGE /
  $CCLEDGER_BENCH_CCSTATUSLINE): ccusage (daily report, status line) and ccstatusline;
- `python -c pass`: the floor every hook and status line render is judged against: the bench venv's own
  interpreter (strict: the goals are judged on it), `python3` as PATH finds it (the issues' literal words:
  printed, never judged) and `python -S -c pass` (the floor of any `-S` entry); `goal_rows` turns a
  measurement against them into table rows.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from harness import OUT, Row, Stats, Unavailable, log, redirect
from installed import HotEnv

CCUSAGE_VERSION = "20.0.24"
CCSTATUSLINE_VERSION = "2.2.30"


# ------------------------------------------------------------------------------------------ npm peers

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


# ------------------------------------------------------------------------------------------ python -c pass

STRICT = "python -c pass (same interpreter)"
LITERAL = "python3 -c pass (PATH)"
FLOOR = "python -S -c pass (same interpreter)"


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


def baselines(hot: HotEnv, stdin: Path, literal: bool = True, floor: bool = False) -> dict[str, str]:
    """`python -c pass` as the baselines: the venv's interpreter (strict), `python3` on PATH (literal: the
    issue's text), and `python -S -c pass` (the floor of any `-S` entry: information). Same stdin."""
    out = {STRICT: redirect([hot.python, "-c", "pass"], stdin)}
    if literal:
        out[LITERAL] = redirect(["python3", "-c", "pass"], stdin)
    if floor:
        out[FLOOR] = redirect([hot.python, "-S", "-c", "pass"], stdin)
    return out


def goal_rows(ctx, label: str, key: str, mine: Stats, stats: dict[str, Stats], goal: float) -> None:
    """The measured command against both baselines: judged on the strict one, the literal one printed."""
    ctx.rows.append(Row(f"{label} (median of {len(mine.times)})", mine.median, stats[STRICT].median,
                        "python -c pass", "s", f"<= {goal:g}x", mine.median <= goal * stats[STRICT].median,
                        key=key))
    if LITERAL in stats:
        ctx.rows.append(Row(f"{label}, vs python3 on PATH", mine.median, stats[LITERAL].median,
                            "python3 -c pass", "s", f"(info; goal judged above)", None, key=f"{key}_literal"))
