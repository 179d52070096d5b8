"""Shared fixtures: every test gets its own ledger, home and Claude config folder.

Tests use real files and a real SQLite ledger in a temp CCLEDGER_HOME; the
real corpus and oracle live in ../shared (or $CCLEDGER_SHARED).
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path | None:
    candidate = Path(os.environ.get("CCLEDGER_SHARED") or REPO.parent / "shared")
    return candidate if (candidate / "corpus").is_dir() else None


def print_sqlite_version() -> str:
    return f"sqlite {sqlite3.sqlite_version}"


def pytest_report_header(config):  # noqa: ARG001 - pytest hook signature
    return [print_sqlite_version(), f"shared data: {shared_dir() or 'missing'}"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private ccledger home, HOME and Claude config dir; UTC unless a test says otherwise."""
    home = tmp_path / "home"
    (home / ".claude" / "projects").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CCLEDGER_HOME", str(tmp_path / "ccledger"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.delenv("NO_COLOR", raising=False)
    time.tzset()
    from ccledger.cli import context
    context._config = None
    yield tmp_path
    time.tzset()


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if path is None:
        pytest.skip("../shared (corpus, oracle, generator) not found; set CCLEDGER_SHARED")
    return path


@pytest.fixture
def corpus(shared, monkeypatch) -> Path:
    """CLAUDE_CONFIG_DIR pointed at the real transcripts."""
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(shared / "corpus"))
    return shared / "corpus"


@pytest.fixture
def claude_dir(isolated) -> Path:
    return isolated / "home" / ".claude"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


def cli(*args: str) -> Result:
    """Run `ccledger ARGS` in-process."""
    from ccledger.cli import context, main
    context._config = None
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main.main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


def cli_process(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run `ccledger ARGS` as a separate process (for kills and concurrency)."""
    full = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "ccledger.cli.main", *args], env=full, capture_output=True,
                          text=True, timeout=timeout, **kw)


def generate(shared: Path, out: Path, mode: str = "small", *extra: str) -> dict:
    """Run the shared history generator; return its expected.json."""
    subprocess.run([sys.executable, str(shared / "bench" / "gen_history.py"), mode, "--out", str(out), *extra],
                   check=True, capture_output=True)
    return json.loads((out / "expected.json").read_text())


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
    os.chmod(dst, 0o755)
    return dst


def ledger_rows(sql: str, *params) -> list[tuple]:
    from ccledger.ledger import db
    with db.opened() as conn:
        return conn.execute(sql, params).fetchall()
