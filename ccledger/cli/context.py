"""What every CLI command shares: opening the ledger, publishing config to it, catching up on transcripts."""
from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterable  # not typing: a report's start skips its import

from ..base import errors
from ..base.errors import CcledgerError
from ..config import read as userconfig
from ..ledger import db, events, faults, ingest, pricing

PROGRESS_MIN_BYTES = 32 << 20  # show a progress bar only when there is this much to read
# faults a reader can live with: the ledger is read as it is, without the new data
READABLE_ANYWAY = (errors.READ_ONLY, errors.DISK_FULL, errors.LEDGER_LOCKED, errors.LEDGER_UNAVAILABLE)


_opened: list[sqlite3.Connection] = []


def close_opened() -> None:
    """Close every ledger connection a command opened. A connection sits in a reference cycle with its
    statement cache, so dropping it does not close it: its WAL would not be checkpointed until a GC."""
    while _opened:
        try:
            _opened.pop().close()
        except sqlite3.Error:  # closing never fails a command that has already answered
            pass


def named(exc: BaseException) -> BaseException:
    """The CcledgerError naming a fault from outside (permissions, space, damage, a lock), else `exc` (a bug)."""
    return exc if isinstance(exc, CcledgerError) else faults.named(exc) or exc


def open_ledger() -> sqlite3.Connection:
    """The ledger opened for writing (migrated, the config's prices published to it), or a named CcledgerError
    when the surroundings do not allow that (read-only, full disk, damaged or foreign file, newer schema)."""
    fault = faults.unwritable()
    if fault is not None:
        raise named(fault)
    try:
        conn = db.connect()
    except Exception as exc:
        raise named(exc) from None
    _opened.append(conn)
    try:
        overrides = pricing_overrides()
    except CcledgerError:
        conn.close()
        raise
    try:
        if _config_problem is None:  # prices of a config that cannot be read are not "no overrides"
            pricing.publish(conn, overrides)
    except Exception as exc:
        conn.close()
        raise named(exc) from None
    return conn


def open_for_reading(ingest: bool = True, quiet: bool = False) -> tuple[sqlite3.Connection, CcledgerError | None]:
    """For reports and doctor: the ledger, caught up first when `ingest`. When it cannot be written
    (read-only, full disk, locked past the wait) it is read as it is, and the fault that kept the new data
    out is returned with it; a ledger that cannot be read at all raises its named error."""
    fault = faults.unwritable()
    error = None if fault is None else named(fault)
    if error is None:
        conn = None
        try:
            conn = open_ledger()
            if ingest:
                catch_up(conn, quiet)
            return conn, None
        except Exception as exc:
            if conn is not None:
                conn.close()
            error = named(exc)
            if not isinstance(error, CcledgerError) or error.code not in READABLE_ANYWAY:
                raise error from None
    try:
        conn = db.open_read_only(unchanging=error.code == errors.READ_ONLY)
    except Exception:
        raise error from None
    _opened.append(conn)
    return conn, error


def require_claude_data() -> None:
    """A report that reads transcripts first needs somewhere to read them from: with none found (a mistyped
    CLAUDE_CONFIG_DIR, Claude Code never run) an empty table would look like "no usage", so say so instead."""
    from ..base import paths
    if paths.claude_dirs():
        return
    looked = ", ".join(os.path.join(path, "projects") for path in paths.claude_dir_candidates()) or "none"
    raise CcledgerError(f"no Claude Code data folder found (looked in {looked})", errors.NO_CLAUDE_DATA,
                        "set CLAUDE_CONFIG_DIR to the folder that holds projects/ (or run Claude Code once); "
                        "--no-ingest reports what the ledger already holds")


def say_not_read_in(error: CcledgerError) -> None:
    print(f"ccledger: new data could not be read in, so this shows what the ledger holds: {error}",
          file=sys.stderr)


def pricing_overrides() -> dict:
    """The config's [pricing] tables; when they are invalid, the error names the key and line (config_model)."""
    table = load_config().get("pricing", {})
    try:
        return pricing.overrides_from_config(table)
    except (KeyError, TypeError, ValueError, AttributeError):
        from ..config import model as config_model
        try:
            config_model.load()
        except config_model.ConfigError as exc:
            ours = [i for i in exc.issues if (i.key or "").split(".")[0] == "pricing"] or exc.issues
            raise config_model.ConfigError(exc.path, ours) from None
        raise CcledgerError("the [pricing] tables in the config are invalid; `ccledger config check` "
                            "shows where") from None


_config: dict | None = None
_config_problem: str | None = None  # why config.toml could not be read, when it could not


def load_config() -> dict:
    """The parsed config.toml. One that does not parse costs a one-line warning, not the command: reports and
    doctor run on the defaults, as the hooks do (and the prices stored in the ledger stay as they were)."""
    global _config, _config_problem
    if _config is None:
        _config_problem = None
        try:
            _config = userconfig.load_strict()
        except CcledgerError as exc:
            _config, _config_problem = {}, str(exc)
            print(f"ccledger: warning: {exc}; defaults used, budgets off until it is fixed", file=sys.stderr)
    return _config


def catch_up(conn: sqlite3.Connection, quiet: bool = False, roots: Iterable[str] | None = None) -> ingest.Summary:
    """Drain the hook spool and ingest whatever is new; a progress bar on a terminal for a large backlog."""
    events.drain(conn)
    overrides = pricing.stored_overrides(conn)
    if quiet or not sys.stderr.isatty():
        return ingest.ingest(conn, roots, overrides)
    bar: list = []

    def on_plan(backlog: int) -> None:
        if backlog >= PROGRESS_MIN_BYTES:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
            progress = Progress(TextColumn("reading transcripts"), BarColumn(), DownloadColumn(),
                                TimeRemainingColumn(), transient=True)
            progress.start()
            bar.extend([progress, progress.add_task("ingest", total=backlog)])

    try:
        return ingest.ingest(conn, roots, overrides, on_plan=on_plan,
                             progress=lambda n: bar and bar[0].advance(bar[1], n))
    finally:
        if bar:
            bar[0].stop()
