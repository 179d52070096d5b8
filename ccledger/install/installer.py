"""Install and uninstall: the environment, the settings entries, the state that lets us undo them.

Each step refuses before it writes: the settings file is read and checked (and its writability)
before the environment is made, and `--dry-run` stops after printing the diff. Standard library only.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import subprocess
import sys
from typing import Iterator

from ..base import locks, paths
from ..base.errors import OK, CcledgerError
from . import atomic, entries, environment, pathlink, settings, state

LOCK_WAIT_S = 900  # a first install on a slow connection takes minutes


@dataclasses.dataclass
class Options:
    checkout: str | None = None      # the source tree to pip install (None: use the running package)
    scope: str = "user"
    settings: str | None = None
    dry_run: bool = False
    yes: bool = False
    no_ingest: bool = False
    env_only: bool = False
    statusline_only: bool = False
    python: str | None = None        # hidden: an existing interpreter instead of the venv
    site_packages: str | None = None  # hidden: where that interpreter finds ccledger
    cwd: str = dataclasses.field(default_factory=os.getcwd)


def say(text: str = "") -> None:
    print(text, flush=True)


def settings_path(opts: Options) -> str:
    if opts.settings:
        return os.path.abspath(os.path.expanduser(opts.settings))
    if opts.scope == "project":
        return settings.project_settings_path(opts.cwd)
    return settings.user_settings_path()


def user_settings_data() -> dict:
    try:
        return settings.load(settings.user_settings_path()).data
    except CcledgerError:
        return {}


def confirm(question: str, opts: Options) -> bool:
    """One yes/no question, only on a terminal and without --yes (CI never waits)."""
    if opts.yes or not sys.stdin.isatty():
        return True
    try:
        answer = input(f"{question} [Y/n] ").strip().lower()
    except EOFError:
        return False
    return answer in ("", "y", "yes")


def environment_for(opts: Options, planning: bool) -> environment.Env:
    """The interpreter and package folder the entries will name; made (or upgraded) unless planning."""
    if opts.python:
        return environment.given(opts.python, opts.site_packages)
    venv = paths.venv_dir()
    if opts.checkout is None:  # running from an installed package (the plugin's /ccledger:statusline)
        env = environment.current(None)
        if env is None:
            raise CcledgerError("no ccledger environment found: run `python3 install.py` from a checkout")
        return env
    if planning:
        return environment.existing(venv) or environment.predicted(venv)
    return environment.ensure(opts.checkout, venv, say)


def plan(opts: Options, loaded: settings.Loaded, env: environment.Env) -> settings.Merged:
    block = None if opts.statusline_only else entries.hooks_block(env.python, env.site_packages)
    return settings.merge(loaded.data, block, entries.statusline(env.python, env.site_packages))


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One install or uninstall per data folder at a time (two at once collided in pip and in the log);
    a second one waits for the first, then runs on what it left. Taken only once there is something to
    write (a refusal or a dry run writes nothing, not even the lock). flock's: a killed install never
    leaves it held."""
    path = os.path.join(paths.lock_dir(), "install.lock")
    try:
        lock = locks.FileLock(path, 0).__enter__()
    except locks.LockTimeout:
        say("Another install of ccledger is running for this data folder; waiting for it to finish ...")
        try:
            lock = locks.FileLock(path, LOCK_WAIT_S).__enter__()
        except locks.LockTimeout:
            raise CcledgerError(f"another install has held {path} for {LOCK_WAIT_S // 60} minutes; "
                                "let it finish or stop it, then run again") from None
    try:
        tighten()
        yield
    finally:
        lock.__exit__()


def tighten() -> None:
    """Files and folders older versions made 0644 and 0755 (install.log, config.toml.lock, state/...)
    become 0600 and 0700, as ccledger now writes them. Only ccledger's own names are touched: a data
    folder the user chose (CCLEDGER_HOME) may hold other things."""
    data, config = paths.data_dir(), paths.config_dir()
    own = [os.path.join(data, n) for n in ("ledger.db", "ledger.db-wal", "ledger.db-shm", "locks", "state", "spool")]
    own += [os.path.join(config, n) for n in ("config.toml", "config.toml.lock", "config.toml.bak")]
    own.append(paths.log_dir())
    for folder in {data, config}:  # the folders themselves (not what is in them: the venv is there too)
        if os.path.basename(folder) == paths.APP:
            _private(folder)
    for top in own:
        if os.path.lexists(top):
            _private(top)
            for root, dirs, files in os.walk(top):  # nothing for a file; links are not followed
                for name in dirs + files:
                    _private(os.path.join(root, name))


def _private(path: str) -> None:
    try:
        if not os.path.islink(path):
            os.chmod(path, 0o700 if os.path.isdir(path) else 0o600)
    except OSError:
        pass


def install(opts: Options) -> int:
    if opts.env_only:
        return install_env_only(opts)
    path = settings_path(opts)
    loaded = settings.load(path)
    plugin = settings.enabled_plugin(loaded.data) or settings.enabled_plugin(user_settings_data())
    if plugin and not opts.statusline_only:
        say(f"The plugin {plugin} is enabled and brings the hooks: adding only the status line.")
        opts = dataclasses.replace(opts, statusline_only=True)
    if opts.dry_run:
        merged = plan(opts, loaded, environment_for(opts, planning=True))
        return show_diff(loaded, settings.render(merged.data, loaded), merged.data)
    reason = atomic.read_only_reason(loaded.real)
    if reason:
        raise CcledgerError(f"cannot write {path}: {reason}")
    what = "the status line" if opts.statusline_only else "ccledger's hooks and status line"
    if not confirm(f"Add {what} to {path}?", opts):
        say("Nothing was changed.")
        return OK
    with locked():
        env = environment_for(opts, planning=False)
        loaded = settings.load(path)  # again: Claude Code (or another install) may have written it meanwhile
        merged = plan(opts, loaded, env)
        changed = not settings.same(merged.data, loaded.data) or not loaded.exists
        record(opts, loaded, merged, changed)
    report_install(opts, loaded, merged, env, changed)
    return OK


def install_env_only(opts: Options) -> int:
    if opts.dry_run:
        say(f"Would create or upgrade {paths.venv_dir()} and install ccledger into it; no settings are touched.")
        return OK
    with locked():
        env = environment_for(opts, planning=False)
    say(f"ccledger is installed in {env.venv or env.site_packages}; no Claude Code setting was touched.")
    say(pathlink.link(pathlink.script(env.scripts), env.scripts, env.venv))
    say("With the plugin (/plugin install ccledger@ccledger) its hooks now record into the ledger;")
    say("/ccledger:statusline adds the status line.")
    return OK


def show_diff(loaded: settings.Loaded, new: bytes, data: dict) -> int:
    if settings.same(data, loaded.data) and loaded.exists:
        say(f"{loaded.path}: already up to date, nothing to change.")
    else:
        say(settings.diff(loaded.raw, new, loaded.path).rstrip("\n") or f"{loaded.path}: would be created")
    say("(dry run: nothing was written)")
    return OK


def record(opts: Options, loaded: settings.Loaded, merged: settings.Merged, changed: bool) -> None:
    """Back up once, write the settings, and remember what is needed to undo it."""
    st = state.load()
    prior = state.entry(st, loaded.path)
    if merged.had_foreign_statusline:
        saved = merged.previous_statusline
    else:
        saved = prior.get("saved_statusline") if prior else None
    if prior:
        backup = prior.get("backup")  # the pristine copy from the first install stays the reference
    else:
        backup = settings.ensure_backup(loaded)
    data = settings.render(merged.data, loaded) if changed else loaded.raw
    if changed:
        settings.write(loaded, data)
    state.put(st, loaded.path, saved_statusline=saved, backup=backup, written=data,
              scope="project" if opts.scope == "project" and not opts.settings else "user")
    state.save(st)


def report_install(opts: Options, loaded: settings.Loaded, merged: settings.Merged,
                   env: environment.Env, changed: bool) -> None:
    st = state.entry(state.load(), loaded.path) or {}
    what = "Status line" if opts.statusline_only else "Hooks and status line"
    done = "written to" if changed else "already in"
    say(f"{what} {done} {loaded.path}" + (f" (original saved as {st['backup']})" if st.get("backup") else "."))
    if st.get("saved_statusline") is not None:
        say("Your own status line is kept: ccledger shows its output beside its own.")
    if opts.statusline_only:
        say("The status line appears when Claude Code next starts.")
        return
    say(pathlink.link(pathlink.script(env.scripts), env.scripts, env.venv))
    if not opts.no_ingest:
        catch_up(env)
    say()
    say("Done. The status line appears when Claude Code next starts; every session is recorded.")
    say("  ccledger report daily            today and earlier days (also weekly, monthly, session)")
    say("  ccledger report tools | mcp      which tools and MCP servers used the tokens (--json for scripts)")
    say("  ccledger doctor                  checks this set-up")
    say("  python3 install.py --uninstall   undoes it (your settings come back as they were)")


def catch_up(env: environment.Env) -> None:
    """Read the existing history (progress bar on a terminal), then print today's report."""
    say("Reading your Claude Code history into the ledger ...")
    if subprocess.run(env.ccledger() + ["ingest"]).returncode != 0:
        say("The history could not be read completely; `ccledger doctor` says why.")
        return
    today = datetime.date.today().isoformat()
    subprocess.run(env.ccledger() + ["report", "daily", "--since", today, "--no-ingest"])
