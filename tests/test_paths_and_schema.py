"""One paths module; the ledger's schema, permissions and refusal of a newer schema."""
from __future__ import annotations

import os
import sqlite3
import stat

import platformdirs
import pytest

from ccledger.base import errors
from ccledger.ledger import db, schema
from ccledger.base import paths
from conftest import cli


def test_ccledger_home_moves_every_path(isolated):
    home = str(isolated / "ccledger")
    for path in (paths.ledger_path(), paths.config_path(), paths.error_log_path(), paths.spool_dir()):
        assert path.startswith(home + os.sep)


def test_without_ccledger_home_paths_are_platformdirs(monkeypatch):
    monkeypatch.delenv("CCLEDGER_HOME")
    assert paths.data_dir() == platformdirs.user_data_dir("ccledger", appauthor=False)
    assert paths.config_dir() == platformdirs.user_config_dir("ccledger", appauthor=False)
    assert paths.log_dir() == platformdirs.user_log_dir("ccledger", appauthor=False)


def test_claude_dirs_from_a_comma_list_and_defaults(isolated, monkeypatch):
    a, b = isolated / "a", isolated / "b" / "projects"
    (a / "projects").mkdir(parents=True)
    b.mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{a}, {b},{isolated / 'missing'}")
    assert paths.claude_dirs() == [str(a), str(b.parent)]
    monkeypatch.delenv("CLAUDE_CONFIG_DIR")
    xdg = isolated / "home" / ".config" / "claude" / "projects"
    xdg.mkdir(parents=True)
    assert paths.claude_dirs() == [str(xdg.parent), str(isolated / "home" / ".claude")]


def test_ledger_is_private_and_migrated(isolated):
    conn = db.connect()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    ledger = paths.ledger_path()
    assert stat.S_IMODE(os.stat(ledger).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(ledger)).st_mode) == 0o700


def test_a_newer_schema_is_refused_and_left_untouched(isolated):
    db.connect().close()
    raw = sqlite3.connect(paths.ledger_path())
    raw.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    raw.close()
    before = open(paths.ledger_path(), "rb").read()
    with pytest.raises(db.LedgerError, match="newer"):
        db.connect()
    result = cli("report", "daily", "--json")
    assert result.code == errors.LEDGER_TOO_NEW and "newer than this ccledger" in result.err and result.out == ""
    assert open(paths.ledger_path(), "rb").read() == before


def test_migrations_are_each_one_transaction(isolated, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [broken])
    monkeypatch.setattr(schema, "LATEST", len(schema.MIGRATIONS))
    with pytest.raises(RuntimeError):
        db.connect()
    raw = sqlite3.connect(paths.ledger_path())
    assert raw.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST - 1
    assert not raw.execute("SELECT 1 FROM sqlite_master WHERE name='half_done'").fetchone()


def test_the_launcher_finds_the_data_folder_where_paths_puts_it(monkeypatch):
    """hooks/ccledger_hook.py cannot import the package it is looking for: its copy must agree."""
    import importlib.util

    from conftest import REPO
    spec = importlib.util.spec_from_file_location("launcher", REPO / "hooks" / "ccledger_hook.py")
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    assert launcher._data_dir() == paths.data_dir()
    monkeypatch.delenv("CCLEDGER_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "/tmp/xdg-data")
    assert launcher._data_dir() == paths.data_dir() == "/tmp/xdg-data/ccledger"
    assert launcher.venv_python().startswith(paths.venv_dir())


def test_the_bulk_ingest_index_list_matches_the_migrated_schema(isolated):
    conn = db.connect()
    found = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"))
    for name, sql in schema.SECONDARY_INDEXES.items():
        assert " ".join(found[name].split()) == " ".join(sql.split())
