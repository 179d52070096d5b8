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
from . import atomic, entries, environment, pathlink, settings, state, summary

LOCK_WAIT_S = 900  # a first install on a slow connection takes minutes
REDUMP_NOTE = ("(the file could not be edited in place, so it is written whole again, in its own indent; "
               "its content is the same apart from ccledger's entries)")


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
    force: bool = False              # pip install even when the venv holds this checkout already
    prog: str = "install.py"         # the command the user ran: named in what to run next
    managed: bool = False            # `ccledger setup`: the package's environment is the user's (pipx, uv)

    @property
    def undo(self) -> str:
        """The command that takes it out again (a slash command such as /ccledger:statusline has none)."""
        return ("python3 install.py" if self.prog == "install.py" or self.prog.startswith("/") else self.prog) \
            + " --uninstall"


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
    return environment.ensure(opts.checkout, venv, say, force=opts.force)


def environment_plan(opts: Options, env: environment.Env) -> list[str]:
    """What the install would do besides the settings (for the dry run)."""
    if opts.python or opts.checkout is None:
        lines = [f"The hooks and the status line run the package in {env.site_packages} (no environment is made)."]
    else:
        venv = paths.venv_dir()
        if not opts.force and environment.up_to_date(opts.checkout, venv):
            lines = [f"{venv} already holds this checkout: pip is skipped (--force reinstalls)."]
        else:
            verb = "upgrade" if environment.existing(venv) else "create"
            lines = [f"Would {verb} the environment {venv} and pip install this checkout into it."]
    if not opts.statusline_only:
        exe = pathlink.script(env.scripts)
        lines.append(f"`ccledger` would be linked as {os.path.join(pathlink.user_bin(), 'ccledger')} -> {exe} "
                     "(that command only, unless it is on your PATH already).")
    return lines


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
    planned = environment_for(opts, planning=True)
    merged = plan(opts, loaded, planned)
    new, minimal = settings.render_edit(merged.data, loaded)
    if opts.dry_run:
        return show_diff(opts, loaded, new, merged, minimal, planned)
    reason = atomic.read_only_reason(loaded.real)
    if reason:
        raise CcledgerError(f"cannot write {path}: {reason}")
    for line in summary.describe(loaded, merged, opts.undo):
        say(line)
    unchanged = loaded.exists and settings.same(merged.data, loaded.data)
    what = "the status line" if opts.statusline_only else "ccledger's hooks and status line"
    if not confirm("Go on?" if unchanged else f"Add {what} to {path}?", opts):
        say("Nothing was changed.")
        return OK
    with locked():
        env = environment_for(opts, planning=False)
        completed = None if opts.statusline_only else completion(env.ccledger())
        loaded = settings.load(path)  # again: Claude Code (or another install) may have written it meanwhile
        merged = plan(opts, loaded, env)
        changed = not settings.same(merged.data, loaded.data) or not loaded.exists
        minimal = record(opts, loaded, merged, changed)
        linked = None if opts.statusline_only else link_command(env)
    report_install(opts, loaded, merged, env, changed, minimal, linked)
    if completed:
        say(completed)
    return OK


def install_env_only(opts: Options) -> int:
    if opts.dry_run:
        say(f"Would create or upgrade {paths.venv_dir()} and install ccledger into it; no settings are touched.")
        return OK
    with locked():
        env = environment_for(opts, planning=False)
        linked = link_command(env)
    say(completion(env.ccledger()))
    say(f"ccledger is installed in {env.venv or env.site_packages}; no Claude Code setting was touched.")
    say(linked)
    say("With the plugin (/plugin install ccledger@ccledger) its hooks now record into the ledger;")
    say("/ccledger:statusline adds the status line.")
    return OK


def show_diff(opts: Options, loaded: settings.Loaded, new: bytes, merged: settings.Merged, minimal: bool,
              env: environment.Env) -> int:
    """The dry run: the diff (only the lines that carry ccledger's entries), the change in words, the rest."""
    if not (settings.same(merged.data, loaded.data) and loaded.exists):
        say(settings.diff(loaded.raw, new, loaded.path).rstrip("\n") or f"{loaded.path}: would be created")
        if not minimal:
            say(REDUMP_NOTE)
    for line in summary.describe(loaded, merged, opts.undo) + environment_plan(opts, env):
        say(line)
    say("(dry run: nothing was written)")
    return OK


def link_command(env: environment.Env) -> str:
    """`ccledger` on the PATH (pathlink); a link made now is remembered, so that uninstall removes it.
    Under the install lock (it writes the state). Returns what to tell the user."""
    exe = pathlink.script(env.scripts)
    text, made = pathlink.link(exe, env.scripts, env.venv)
    if made:
        st = state.load()
        st["link"] = exe
        state.save(st)
    return text


def completion(ccledger: list[str]) -> str:
    """Install the bash/zsh/fish completion scripts through the installed CLI (`ccledger completion`,
    generated from its own parser, so they never drift); a failure is a note, not an error."""
    try:
        done = subprocess.run(ccledger + ["completion", "--install"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Shell completion was not installed: {exc}"
    if done.returncode != 0:
        return "Shell completion was not installed: " + (
            done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]
    return ("Shell completion for bash, zsh and fish is installed (zsh: add "
            "~/.local/share/zsh/site-functions to fpath before compinit).")


def record(opts: Options, loaded: settings.Loaded, merged: settings.Merged, changed: bool) -> bool:
    """Back up once, write the settings, and remember what is needed to undo it. Returns False when the
    file had to be written whole instead of edited in place."""
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
    data, minimal = settings.render_edit(merged.data, loaded) if changed else (loaded.raw, True)
    if changed:
        settings.write(loaded, data)
    state.put(st, loaded.path, saved_statusline=saved, backup=backup, written=data,
              scope="project" if opts.scope == "project" and not opts.settings else "user")
    state.save(st)
    return minimal


def report_install(opts: Options, loaded: settings.Loaded, merged: settings.Merged,
                   env: environment.Env, changed: bool, minimal: bool = True, linked: str | None = None) -> None:
    st = state.entry(state.load(), loaded.path) or {}
    what = "Status line" if opts.statusline_only else "Hooks and status line"
    done = "written to" if changed else "already in"
    say(f"{what} {done} {loaded.path}" + (f" (original saved as {st['backup']})" if st.get("backup") else "."))
    if not minimal:
        say(REDUMP_NOTE)
    if st.get("saved_statusline") is not None:
        say("Your own status line is kept: ccledger shows its output beside its own.")
    if opts.statusline_only:
        say("The status line appears when Claude Code next starts.")
        return
    if linked:
        say(linked)
    if not opts.no_ingest:
        catch_up(env)
    say()
    say("Done. The status line appears when Claude Code next starts; every session is recorded.")
    say("  ccledger report daily            today and earlier days (also weekly, monthly, session)")
    say("  ccledger report tools | mcp      which tools and MCP servers used the tokens (--json for scripts)")
    say("  ccledger doctor                  checks this set-up")
    say(f"  {opts.undo:<32} undoes it (your settings come back as they were)")


def catch_up(env: environment.Env) -> None:
    """Read the existing history (progress bar on a terminal), then print today's report."""
    say("Reading your Claude Code history into the ledger ...")
    if subprocess.run(env.ccledger() + ["ingest"]).returncode != 0:
        say("The history could not be read completely; `ccledger doctor` says why.")
        return
    today = datetime.date.today().isoformat()
    subprocess.run(env.ccledger() + ["report", "daily", "--since", today, "--no-ingest"])
