"""The isolated environment ccledger runs from: a venv in ccledger's data folder, holding a copy
(not an editable link: the checkout may be deleted later) of the package and its dependencies.

The hooks and the status line run `<venv python> -S <site-packages>/ccledger/launch.py`, so the
installer asks the venv's own interpreter where its site-packages are. Standard library only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from ..base import paths
from ..base.errors import CcledgerError
from . import state

MIN_PYTHON = (3, 10)
BUILD_INPUTS = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "ccledger")
PROBE = ("import json, sys, sysconfig; print(json.dumps({'purelib': sysconfig.get_paths()['purelib'], "
         "'scripts': sysconfig.get_paths()['scripts'], 'version': list(sys.version_info[:2])}))")


@dataclasses.dataclass(frozen=True)
class Env:
    python: str          # the interpreter the hooks run (the venv's, not resolved: it must stay the venv's)
    site_packages: str   # the folder that holds the `ccledger` package
    scripts: str         # the folder that holds the `ccledger` console script
    venv: str | None = None

    @property
    def launch(self) -> str:
        return os.path.join(self.site_packages, "ccledger", "launch.py")

    def ccledger(self) -> list[str]:
        """How to run the ccledger CLI of this environment."""
        return [self.python, "-m", "ccledger.cli.main"]


def venv_python(venv: str) -> str:
    if os.name == "nt":
        return os.path.join(venv, "Scripts", "python.exe")
    return os.path.join(venv, "bin", "python")


def predicted(venv: str) -> Env:
    """Where things will be once `ensure` has made the venv with this interpreter (for --dry-run)."""
    if os.name == "nt":
        return Env(venv_python(venv), os.path.join(venv, "Lib", "site-packages"), os.path.join(venv, "Scripts"), venv)
    version = "python%d.%d" % sys.version_info[:2]
    return Env(venv_python(venv), os.path.join(venv, "lib", version, "site-packages"),
               os.path.join(venv, "bin"), venv)


def probe(python: str, venv: str | None = None) -> Env | None:
    """Ask an interpreter for its paths; None when it does not run or is older than MIN_PYTHON."""
    try:
        out = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL)
        info = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if not info or tuple(info["version"]) < MIN_PYTHON:
        return None
    return Env(python, info["purelib"], info["scripts"], venv)


def current(venv: str | None = None) -> Env | None:
    """This interpreter's environment when it holds the package (the venv running `-m ccledger.install`)."""
    found = probe(sys.executable, venv)
    return found if found and os.path.isfile(found.launch) else None


def existing(venv: str) -> Env | None:
    """The venv as it is, if it runs and holds the package."""
    found = probe(venv_python(venv), venv) if os.path.exists(venv_python(venv)) else None
    return found if found and os.path.isfile(found.launch) else None


def _open_log(log: str) -> int:
    """The install log, opened for appending, 0600 (older versions made it 0644)."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    return fd


def _run(cmd: list[str], log: str, what: str) -> None:
    """Run `cmd` with its output appended to the log (0600); a failure quotes this command's output only."""
    with os.fdopen(_open_log(log), "ab") as out:
        out.write(("\n$ " + " ".join(cmd) + "\n").encode())
        out.flush()
        start = out.seek(0, os.SEEK_END)
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
    if code != 0:
        with open(log, "rb") as f:
            f.seek(start)
            tail = [line for line in f.read().decode("utf-8", "replace").splitlines() if line.strip()]
        last = tail[-1].strip() if tail else "no output"
        raise CcledgerError(f"{what} failed (exit {code}): {last} (full log: {log})")


def _staged(checkout: str, into: str) -> str:
    """A copy of what building the package reads. pip builds a local folder in place, where setuptools
    writes build/ and ccledger.egg-info: two installs at once collided there (and a read-only checkout
    could not be installed). From a copy in a temp folder, the checkout is only read."""
    for name in BUILD_INPUTS:
        source, target = os.path.join(checkout, name), os.path.join(into, name)
        if os.path.isdir(source):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        elif os.path.exists(source):
            shutil.copy2(source, target)
    return into


def _build_files(checkout: str) -> list[str]:
    """The files pip reads to build the package (what _staged copies), in a stable order."""
    found = []
    for name in BUILD_INPUTS:
        source = os.path.join(checkout, name)
        if os.path.isfile(source):
            found.append(source)
        for root, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info"))
            found += [os.path.join(root, f) for f in sorted(files) if not f.endswith(".pyc")]
    return found


def source_hash(checkout: str) -> str:
    """sha256 over the build inputs' names and bytes: equal means pip would install the same thing."""
    digest = hashlib.sha256()
    for path in _build_files(checkout):
        digest.update(os.path.relpath(path, checkout).replace(os.sep, "/").encode() + b"\0")
        with open(path, "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def package_version(folder: str) -> str | None:
    """`__version__` of the ccledger package in `folder` (a checkout or a site-packages), read, not imported."""
    try:
        with open(os.path.join(folder, "ccledger", "__init__.py"), encoding="utf-8") as f:
            found = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", f.read(), re.M)
    except OSError:
        return None
    return found.group(1) if found else None


def up_to_date(checkout: str, venv: str) -> Env | None:
    """The venv, when it runs and holds what this checkout would install (same build inputs as the
    last pip install recorded in install.json, same version in its site-packages); else None."""
    recorded = state.package(state.load(), venv)
    if not recorded or recorded.get("source_sha256") != source_hash(checkout):
        return None
    env = existing(venv)
    if env is None or package_version(env.site_packages) != recorded.get("version"):
        return None
    return env


def _create(venv: str, log: str) -> None:
    if os.path.isdir(venv):
        if not os.path.exists(os.path.join(venv, "pyvenv.cfg")):
            raise CcledgerError(f"{venv} exists and is not a Python environment; move it away and run again")
        shutil.rmtree(venv)  # ours, and broken (its interpreter no longer runs): made again below
    _run([sys.executable, "-m", "venv", venv], log,
         "creating the environment (on Debian/Ubuntu: apt install python3-venv)")


def ensure(checkout: str, venv: str, say=print, force: bool = False) -> Env:
    """Create the venv if needed (or if its interpreter is gone), then install the checkout into it,
    unless it already holds exactly this checkout (pip takes 20 s even with nothing to do; `force`
    reinstalls). The caller holds the install lock (installer.locked): one install per data folder at a time."""
    current_env = None if force else up_to_date(checkout, venv)
    if current_env is not None:
        say(f"ccledger {package_version(checkout)} is already installed in {venv} from this source: "
            "not reinstalled (--force reinstalls).")
        return current_env
    paths.ensure_dir(os.path.dirname(venv))
    paths.ensure_dir(paths.log_dir())
    log = os.path.join(paths.log_dir(), "install.log")
    with os.fdopen(_open_log(log), "ab") as out:
        out.write(f"\n==== install from {checkout} at {time.strftime('%Y-%m-%dT%H:%M:%S')}, "
                  f"pid {os.getpid()}\n".encode())
    python = venv_python(venv)
    if probe(python, venv) is None:
        say(f"Creating the environment {venv} ...")
        _create(venv, log)
        os.chmod(venv, 0o700)
    say("Installing ccledger and its dependencies into it (about a minute the first time) ...")
    with tempfile.TemporaryDirectory(prefix="ccledger-build-") as tmp:
        staged = _staged(checkout, tmp)
        digest = source_hash(staged)  # what pip is given, hashed as up_to_date will hash the checkout
        _run([python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--upgrade",
              staged], log, "pip install")
    env = existing(venv)
    if env is None:
        raise CcledgerError(f"pip installed into {venv}, but ccledger/launch.py is not there (log: {log})")
    st = state.load()
    state.put_package(st, venv, package_version(env.site_packages), digest)
    state.save(st)
    return env


def given(python: str, site_packages: str | None) -> Env:
    """An interpreter (and optionally a package folder) named on the command line, for tests and
    set-ups that manage their own environment."""
    env = probe(python)
    if env is None:
        raise CcledgerError(f"{python} does not run, or is older than Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}")
    if site_packages:
        env = dataclasses.replace(env, site_packages=os.path.abspath(site_packages))
    if not os.path.isfile(env.launch):
        raise CcledgerError(f"no ccledger package under {env.site_packages}")
    return env
