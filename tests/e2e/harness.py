"""Drive the real Claude Code CLI offline, against a scripted fake Messages API.

Unit tests on recorded payloads cannot tell whether ccledger works for a Claude Code
user: payload shapes drift between client releases. This module runs the real client
(pinned to CLIENT_VERSION) against ``fake_anthropic.py`` on loopback, so hooks fire with
their true payloads, transcripts are written in the client's current format, MCP servers
run for real, and (under tmux) the status line command gets its true JSON.

Building blocks, all stdlib:

* ``ensure_client()`` installs the pinned npm packages into a cache dir (once, under a
  file lock) and returns a ``Client``; ``client_skip_reason()`` says why it could not.
* ``FakeApi(scenario)`` runs the scripted server; ``.requests()`` and
  ``.tool_use_ids()`` tell what the client asked for and which tool calls it was given.
* ``make_sandbox(tmp_path)`` builds a throw-away HOME / CLAUDE_CONFIG_DIR / project dir,
  pre-seeded so that no first-run dialog blocks the client.
* ``run_headless(...)`` runs ``claude -p``; ``interactive(...)`` runs the TUI under a
  private tmux server and lets a test type into it and read the screen.

Nothing here talks to the real Anthropic API; every process started is stopped again.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib.util
import json
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from pathlib import Path
from typing import Callable, Iterable, Iterator

CLIENT_VERSION = "2.1.332"
MEMORY_SERVER_VERSION = "2026.8.31"
NPM_PACKAGES = (
    f"@anthropic-ai/claude-code@{CLIENT_VERSION}",
    f"@modelcontextprotocol/server-memory@{MEMORY_SERVER_VERSION}",
)
API_KEY = "sk-ant-test"
SANDBOX_MARKER = "CCLEDGER_E2E_SANDBOX"  # env var naming the sandbox root, see processes_of()
DEFAULT_MODEL = "claude-sonnet-4-6"  # a current id: retired ids print a warning banner

# The environment as pytest started, before fixtures (e.g. an autouse one in tests/conftest.py)
# point HOME elsewhere: npm needs the real HOME for its ~/.npmrc (registry, proxy) and cache.
_STARTUP_ENV = dict(os.environ)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FAKE_SERVER = HERE / "fake_anthropic.py"

# ---------------------------------------------------------------------------------------
# Installing the client
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Client:
    """Paths of an installed, version-checked client and memory MCP server."""

    claude: Path  # the native binary of the platform package (no postinstall needed)
    memory_server: Path  # @modelcontextprotocol/server-memory/dist/index.js


def cache_dir() -> Path:
    """Where npm installs the client: $CCLEDGER_E2E_CACHE, else <repo>/.e2e-cache
    (git-ignored). Kept outside the sandbox so ~400 MB is downloaded once, not per test."""
    env = os.environ.get("CCLEDGER_E2E_CACHE")
    return Path(env).expanduser().resolve() if env else REPO / ".e2e-cache"


def install_timeout() -> float:
    """Seconds npm may take before we give up and skip (CCLEDGER_E2E_INSTALL_TIMEOUT)."""
    return float(os.environ.get("CCLEDGER_E2E_INSTALL_TIMEOUT", "300"))


def _platform_package() -> str:
    """Name of the npm package holding the native binary for this machine, chosen the
    way the client's own install.cjs does: <os>-<arch>[-musl]."""
    osname = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    suffix = ""
    if osname == "linux" and platform.libc_ver()[0] != "glibc":
        suffix = "-musl"
    return f"claude-code-{osname}-{arch}{suffix}"


def client_paths(root: Path) -> Client:
    """Where the binaries of an install under ``root`` (an npm --prefix) live."""
    modules = root / "node_modules"
    exe = "claude.exe" if sys.platform == "win32" else "claude"
    return Client(
        claude=modules / "@anthropic-ai" / _platform_package() / exe,
        memory_server=modules / "@modelcontextprotocol" / "server-memory" / "dist" / "index.js",
    )


def _installed_ok(client: Client) -> bool:
    """True when both files exist at the pinned versions. The binary is asked for its
    version (cheap, offline) with an isolated HOME so it cannot touch the user's config."""
    if not (client.claude.is_file() and client.memory_server.is_file()):
        return False
    try:
        manifest = json.loads((client.memory_server.parent.parent / "package.json").read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("version") != MEMORY_SERVER_VERSION:
        return False
    scratch = Path(tempfile.mkdtemp(prefix="ccledger-e2e-version-"))
    try:
        out = _run_killable(
            [str(client.claude), "--version"], 60, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(scratch),
                 "CLAUDE_CONFIG_DIR": str(scratch / ".claude"), "DISABLE_TELEMETRY": "1",
                 "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return out.returncode == 0 and out.stdout.split()[:1] == [CLIENT_VERSION]


def _run_killable(cmd: list[str], timeout: float, kill_group_after: bool = True,
                  **kw) -> subprocess.CompletedProcess:
    """subprocess.run in a new process group, killed as a whole on timeout (npm and claude
    both spawn children that would otherwise outlive the test), then TimeoutExpired is
    re-raised. After a normal exit the group is killed too, unless kill_group_after is
    False (the caller then cleans up, e.g. to let hooks finish)."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        out, err = proc.communicate()
        raise subprocess.TimeoutExpired(cmd, timeout, out, err) from None
    if kill_group_after:
        _kill_group(proc.pid)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _npm_error_summary(output: str) -> str:
    """The telling line of npm's error output ("ECONNREFUSED: FetchError: request to ...")
    rather than its last one ("A complete log of this run can be found in ...")."""
    lines = [l.split(" ", 2)[2].strip() for l in output.splitlines()
             if l.startswith(("npm error ", "npm ERR! ")) and len(l.split(" ", 2)) == 3]
    code = next((l[5:] for l in lines if l.startswith("code ")), "")
    noise = ("code ", "syscall ", "errno ", "at ", "{", "}", "A complete log")
    message = next((l for l in lines if l and not l.startswith(noise)), "")
    summary = ": ".join(x for x in (code, message) if x)
    return summary or (output.strip().splitlines() or ["no output"])[-1]


def _npm_registry_reason(npm: str) -> str | None:
    """Ask the registry for the pinned client once, without retries: offline, this fails
    in about a second, where npm install would retry with back-off for minutes."""
    cmd = [npm, "view", NPM_PACKAGES[0], "version", "--fetch-retries=0"]
    try:
        res = _run_killable(cmd, 60, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_STARTUP_ENV)
    except subprocess.TimeoutExpired:
        return "npm registry did not answer within 60s"
    if res.returncode != 0 or CLIENT_VERSION not in res.stdout:
        return f"npm registry unreachable: {_npm_error_summary(res.stdout)}"
    return None


def _npm_install(root: Path) -> str | None:
    """Install NPM_PACKAGES into ``root``; return None on success, else a one-line reason.
    Scripts are skipped on purpose: we call the platform binary directly, and npm
    versions differ on whether they run the client's postinstall at all. npm runs with
    the environment pytest started with (real HOME: ~/.npmrc, ~/.npm cache)."""
    npm = shutil.which("npm", path=_STARTUP_ENV.get("PATH"))
    if npm is None:
        return "npm not found on PATH"
    reason = _npm_registry_reason(npm)
    if reason:
        return reason
    log = root / "npm-install.log"
    cmd = [npm, "install", "--prefix", str(root), "--ignore-scripts", "--include=optional",
           "--engine-strict=false", "--save-exact", "--no-audit", "--no-fund", *NPM_PACKAGES]
    try:
        with open(log, "w") as f:
            res = _run_killable(cmd, install_timeout(), stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=_STARTUP_ENV)
    except subprocess.TimeoutExpired:
        return f"npm install timed out after {install_timeout():.0f}s; log: {log}"
    if res.returncode != 0:
        summary = _npm_error_summary(log.read_text(errors="replace"))
        return f"npm install failed (exit {res.returncode}): {summary}; log: {log}"
    return None


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive fcntl lock, so parallel pytest processes install once, not twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_UNSET = object()
_client_result: object = _UNSET  # (Client | None, reason | None) once attempted


def ensure_client() -> Client | None:
    """Return the installed client, installing it first if needed; None when that is not
    possible (no npm, no registry). Tried once per process; see client_skip_reason()."""
    global _client_result
    if _client_result is _UNSET:
        _client_result = _ensure_client_uncached()
    return _client_result[0]


def client_skip_reason() -> str | None:
    """One line saying why ensure_client() returned None, or None when it did not."""
    ensure_client()
    return _client_result[1]


def _ensure_client_uncached() -> tuple[Client | None, str | None]:
    root = cache_dir()
    client = client_paths(root)
    try:
        with _file_lock(root / ".install.lock"):
            if _installed_ok(client):
                return client, None
            reason = _npm_install(root)
            if reason:
                return None, reason
            if not _installed_ok(client):
                return None, (f"Claude Code {CLIENT_VERSION} not usable after npm install "
                              f"(expected {client.claude}); log: {root / 'npm-install.log'}")
            return client, None
    except OSError as e:
        return None, f"cannot prepare e2e cache {root}: {e}"


# ---------------------------------------------------------------------------------------
# The fake API
# ---------------------------------------------------------------------------------------


def free_port() -> int:
    """A currently free loopback port (tiny race with other binders, acceptable here)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load_fake_server_module():
    """fake_anthropic.py as a module, to reuse its lane matching when replaying the log."""
    spec = importlib.util.spec_from_file_location("_ccledger_fake_anthropic", FAKE_SERVER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_SEEDED = ("import random, runpy, sys; random.seed(int(sys.argv[1])); sys.argv = sys.argv[2:]; "
           "runpy.run_path(sys.argv[0], run_name='__main__')")


class FakeApi:
    """The scripted Messages API (fake_anthropic.py) as a context manager.

    ``scenario`` is a list of turns or a dict of lanes, as described in fake_anthropic.py.
    Files (scenario.json, requests.jsonl, server.log) go to ``workdir`` if given, else to
    a temp dir removed when this object is garbage-collected, so the log can still be
    read after the ``with`` block.
    """

    def __init__(self, scenario: list | dict, port: int | None = None, workdir: Path | None = None):
        self.scenario = scenario
        self.port = port or free_port()
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="ccledger-e2e-api-"))
            weakref.finalize(self, shutil.rmtree, str(workdir), True)
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.script_path = self.dir / "scenario.json"
        self.log_path = self.dir / "requests.jsonl"
        self.server_log = self.dir / "server.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None
        # The server draws its id prefix at random per start (as real ids are unique); seeding it here
        # lets tool_use_ids() name the default ids without changing the shared server.
        self.seed = random.randrange(1 << 32)
        self.run_id = "%06x" % random.Random(self.seed).randrange(1 << 24)

    def __enter__(self) -> "FakeApi":
        self.script_path.write_text(json.dumps(self.scenario, indent=1))
        self.log_path.write_text("")
        with open(self.server_log, "wb") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SEEDED, str(self.seed), str(FAKE_SERVER), "--port", str(self.port),
                 "--script", str(self.script_path), "--log", str(self.log_path)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_listening(timeout=15)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"fake API exited with {self._proc.returncode}: "
                                   f"{self.server_log.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise TimeoutError(f"fake API did not listen on {self.url} within {timeout}s")

    def stop(self) -> None:
        """Terminate the server (idempotent)."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                _kill_group(self._proc.pid)
                self._proc.wait()

    def requests(self) -> list[dict]:
        """Every logged request, as {"n": serial, "path": "/v1/messages?...", "request": body},
        sorted by serial number n. Safe while the server runs: a last line still being
        written (large requests take several writes) is left out."""
        if not self.log_path.exists():
            return []
        rows = []
        for line in self.log_path.read_text().splitlines():
            with contextlib.suppress(ValueError):
                rows.append(json.loads(line))
        return sorted(rows, key=lambda r: r["n"])

    def served_turns(self) -> list[tuple[dict, dict | None]]:
        """(logged request, scenario turn it was answered with) for each request that took
        a turn from a lane; the turn is None where the lane had run out ("Done.").

        The server logs requests, not answers, so this replays its own rule on the log:
        a POST to /v1/messages (not count_tokens) carrying tools takes the next turn of
        the lane whose key occurs in its first user message (same matching function,
        loaded from fake_anthropic.py). Replaying in order of n is exact as long as one
        lane never has two requests in flight at once, which holds for agent loops (each
        waits for its answer before asking again)."""
        mod = _load_fake_server_module()
        lanes = self.scenario if isinstance(self.scenario, dict) else {"": self.scenario}
        cursors: dict[str, int] = {}
        served = []
        for row in self.requests():
            req = row["request"]
            if "count_tokens" in row["path"] or not req.get("tools"):
                continue
            text = mod._first_user_text(req)
            lane = next((k for k in lanes if k and k in text), "" if "" in lanes else None)
            if lane is None:
                continue
            i = cursors.get(lane, 0)
            cursors[lane] = i + 1
            served.append((row, lanes[lane][i] if i < len(lanes[lane]) else None))
        return served

    def tool_use_ids(self) -> list[str]:
        """Every tool_use id the server handed out, in request order: the turn's explicit
        "id", else the server's default f"toolu_e2e{run_id}{n:05d}". Only streamed answers carry
        the tool block (the server's non-streaming reply is text only). See served_turns()."""
        ids = []
        for row, turn in self.served_turns():
            if turn and turn.get("tool") and row["request"].get("stream"):
                ids.append(turn["tool"].get("id", f"toolu_e2e{self.run_id}{row['n']:05d}"))
        return ids


# ---------------------------------------------------------------------------------------
# The sandbox: HOME, config dir, project dir
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Sandbox:
    """A throw-away user: nothing the client or ccledger writes escapes ``root``."""

    root: Path
    home: Path
    config_dir: Path  # CLAUDE_CONFIG_DIR = home/.claude
    project: Path  # the client's cwd; absolute, symlinks resolved (it keys trust and transcripts)
    ccledger_home: Path  # CCLEDGER_HOME = home/ccledger

    @property
    def memory_file(self) -> Path:
        """MEMORY_FILE_PATH given to the memory MCP server."""
        return self.root / "memory.jsonl"

    @property
    def settings_path(self) -> Path:
        return self.config_dir / "settings.json"

    def env(self, api: FakeApi | None = None, **extra: str) -> dict[str, str]:
        """The complete environment for a claude run: nothing leaks in from the developer's
        shell but PATH, so their real config, keys and ccledger stay untouched."""
        env = {
            "HOME": str(self.home),
            "CLAUDE_CONFIG_DIR": str(self.config_dir),
            "ANTHROPIC_API_KEY": API_KEY,
            "DISABLE_TELEMETRY": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "CCLEDGER_HOME": str(self.ccledger_home),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
            # Inherited by everything claude starts; lets processes_of()/reap() find them.
            SANDBOX_MARKER: str(self.root),
        }
        if api is not None:
            env["ANTHROPIC_BASE_URL"] = api.url
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def write_settings(self, settings: dict) -> Path:
        """Replace $CLAUDE_CONFIG_DIR/settings.json (hooks, statusLine, ...)."""
        self.settings_path.write_text(json.dumps(settings, indent=2))
        return self.settings_path

    def read_settings(self) -> dict:
        """$CLAUDE_CONFIG_DIR/settings.json, or {} when absent (e.g. to check an installer)."""
        try:
            return json.loads(self.settings_path.read_text())
        except FileNotFoundError:
            return {}

    def mcp_config(self, client: Client) -> Path:
        """Write mcp.json declaring the memory server (stdio, via node), with its memory
        file inside the sandbox; return its path for --mcp-config."""
        path = self.root / "mcp.json"
        path.write_text(json.dumps({"mcpServers": {"memory": {
            "command": shutil.which("node") or "node",
            "args": [str(client.memory_server)],
            "env": {"MEMORY_FILE_PATH": str(self.memory_file)},
        }}}, indent=2))
        return path

    def transcripts(self) -> list[Path]:
        """Every *.jsonl under $CLAUDE_CONFIG_DIR/projects, subagent transcripts included
        (<project key>/<session>.jsonl and <project key>/<session>/subagents/agent-*.jsonl)."""
        return sorted((self.config_dir / "projects").rglob("*.jsonl"))


def make_sandbox(tmp_path: Path) -> Sandbox:
    """Create a sandbox under ``tmp_path`` with .claude.json pre-seeded so the client skips
    onboarding, the custom-API-key question and the folder-trust dialog."""
    root = Path(tmp_path).resolve()
    home = root / "home"
    sb = Sandbox(root=root, home=home, config_dir=home / ".claude",
                 project=(root / "project"), ccledger_home=home / "ccledger")
    for d in (sb.config_dir, sb.project, sb.ccledger_home):
        d.mkdir(parents=True, exist_ok=True)
    sb.project = sb.project.resolve()
    (sb.config_dir / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True,
        "customApiKeyResponses": {"approved": [API_KEY], "rejected": []},
        "projects": {str(sb.project): {"hasTrustDialogAccepted": True}},
    }, indent=2))
    return sb


# ---------------------------------------------------------------------------------------
# Running the client
# ---------------------------------------------------------------------------------------


def _claude_args(client: Client, sandbox: Sandbox, model: str, mcp: bool,
                 allowed_tools: Iterable[str]) -> list[str]:
    args = [str(client.claude), "--model", model]
    if mcp:
        args += ["--mcp-config", str(sandbox.mcp_config(client))]
    tools = list(allowed_tools)
    if tools:
        # One space-separated argument, as verified in the recipe; the option is variadic,
        # so separate arguments would swallow whatever positional follows.
        args += ["--allowedTools", " ".join(tools)]
    return args


def run_headless(client: Client, sandbox: Sandbox, api: FakeApi, prompt: str,
                 allowed_tools: list[str], model: str = DEFAULT_MODEL, mcp: bool = True,
                 timeout: float = 180, extra_args: Iterable[str] = (),
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``claude -p PROMPT`` in sandbox.project and return its CompletedProcess (text).

    stdin is /dev/null (claude -p would otherwise wait for piped input). On timeout the
    client's process group and every sandbox process are killed at once and
    TimeoutExpired is re-raised. After a normal exit, processes it left (a hook still
    writing, an MCP server shutting down) get reap()'s grace period to finish, then are
    killed, so nothing outlives the call. ``env`` extends sandbox.env(api)."""
    cmd = [str(client.claude), "-p", prompt] + _claude_args(client, sandbox, model, mcp, allowed_tools)[1:]
    cmd += list(extra_args)
    try:
        res = _run_killable(cmd, timeout, kill_group_after=False, cwd=sandbox.project,
                            env=sandbox.env(api, **(env or {})), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except subprocess.TimeoutExpired:
        reap(sandbox, grace=0)  # the Bash tool's commands run outside claude's group
        raise
    reap(sandbox)
    return res


@dataclasses.dataclass(frozen=True)
class Dialog:
    """A screen the client may show before its prompt, and how start() answers it."""

    markers: tuple[str, ...]  # any of these on screen means this dialog
    choose: tuple[str, ...] = ()  # option to select (first one present); () = just Enter
    fatal: str | None = None  # cannot be answered: raise with this explanation


# Seen with 2.1.332 by starting it without the .claude.json pre-seeding. Enter alone is
# wrong for two of them: the trust and API-key dialogs preselect "No, exit" and
# "No (recommended)". make_sandbox() avoids them all; they are handled (and recorded in
# Interactive.dialogs_seen) in case a client update re-asks one.
FIRST_RUN_DIALOGS = (
    Dialog(("Unable to connect to Anthropic services",),
           fatal="the onboarding connectivity check goes to api.anthropic.com whatever "
                 "ANTHROPIC_BASE_URL says; .claude.json needs hasCompletedOnboarding"),
    Dialog(("Is this a project you created or one you trust", "Do you trust the files in this folder"),
           choose=("Yes, I trust this folder", "Yes, proceed")),
    Dialog(("Do you want to use this API key",), choose=("Yes",)),
    Dialog(("Choose the text style",)),  # theme picker: the default is fine
    Dialog(("Press Enter to continue",)),
    Dialog(("Security notes",)),
)


class Interactive:
    """The interactive client running in a private tmux server (``tmux -L <unique>``,
    no config file), so it never touches the developer's own tmux sessions."""

    def __init__(self, client: Client, sandbox: Sandbox, api: FakeApi,
                 model: str = DEFAULT_MODEL, width: int = 160, height: int = 40,
                 mcp: bool = True, allowed_tools: Iterable[str] = (),
                 permission_mode: str | None = "default",
                 extra_args: Iterable[str] = (), env: dict[str, str] | None = None):
        self.socket = f"ccledger-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.session = "claude"
        self.sandbox = sandbox
        self.width, self.height = width, height
        self.argv = _claude_args(client, sandbox, model, mcp, allowed_tools)
        if permission_mode:
            self.argv += ["--permission-mode", permission_mode]
        self.argv += list(extra_args)
        self.env = sandbox.env(api, **(env or {}))
        self.dialogs_seen: list[str] = []  # first-run dialogs dismissed by start()
        self._pane_pid: int | None = None
        self._conf = sandbox.root / f"tmux-{self.socket}.conf"

    # -- tmux plumbing -------------------------------------------------------------------

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        # Drop TMUX/TMUX_PANE so this works when pytest itself runs inside tmux.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        env["LANG"] = "C.UTF-8"
        res = subprocess.run(["tmux", "-u", "-L", self.socket, "-f", str(self._conf), *args],
                             capture_output=True, text=True, env=env, timeout=30)
        if check and res.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed ({res.returncode}): {res.stderr.strip()}")
        return res

    def _write_tmux_conf(self) -> None:
        """Our own tmux config, read when the server starts (before claude runs): no status
        bar, so the pane is exactly width x height; and a pane whose program exited stays
        on screen, so an early crash shows up in wait_for's TimeoutError."""
        self._conf.write_text("set -g status off\nset -g remain-on-exit on\n"
                              "set -g history-limit 10000\n")

    def _write_launcher(self) -> Path:
        """A shell script that cds into the project and execs claude with exactly
        sandbox.env(); readable when a test fails (`cat` it, run it by hand)."""
        path = self.sandbox.root / f"launch-{self.socket}.sh"
        assigns = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(self.env.items()))
        path.write_text("#!/bin/sh\n"
                        f"cd {shlex.quote(str(self.sandbox.project))} || exit 1\n"
                        f"exec env -i {assigns} {shlex.join(self.argv)}\n")
        path.chmod(0o755)
        return path

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, ready_timeout: float = 60) -> "Interactive":
        """Start tmux + claude, dismiss any first-run dialog, and wait for the input box."""
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux not found on PATH")
        self._write_tmux_conf()
        launcher = self._write_launcher()
        self._tmux("new-session", "-d", "-s", self.session, "-x", str(self.width),
                   "-y", str(self.height), str(launcher))
        self._pane_pid = int(self._tmux("display-message", "-p", "-t", self.session,
                                        "#{pane_pid}").stdout.strip())
        self._until_ready(ready_timeout)
        return self

    def _until_ready(self, timeout: float) -> None:
        def prompt_ready(screen: str) -> bool:
            for dialog in FIRST_RUN_DIALOGS:
                marker = next((m for m in dialog.markers if m in screen), None)
                if marker is None:
                    continue
                if dialog.fatal:
                    raise RuntimeError(f"claude stopped at {marker!r}: {dialog.fatal}\n{screen}")
                self.dialogs_seen.append(marker)
                if dialog.choose:
                    self.choose(*dialog.choose)
                else:
                    self.keys("Enter")
                time.sleep(0.5)  # let the dialog go before looking again
                return False
            return is_prompt_ready(screen)
        self.wait_for(prompt_ready, timeout=timeout)

    def exited(self) -> bool:
        """True once claude has exited (its dead pane stays on screen) or tmux is gone."""
        res = self._tmux("display-message", "-p", "-t", self.session, "#{pane_dead}", check=False)
        return res.returncode != 0 or res.stdout.strip() == "1"

    def exit(self, timeout: float = 10) -> bool:
        """Quit the way a user does (/exit), so SessionEnd hooks run and the transcript is
        complete; return whether claude exited within ``timeout`` (about 0.5 s when idle)."""
        if not self.exited():
            self.send("/exit")
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self, graceful: bool = True) -> None:
        """Stop claude (via exit() first when ``graceful``), kill the tmux server, then
        reap whatever of the sandbox still runs: a hook or status line command may finish
        late, and the Bash tool's commands run outside claude's process group."""
        if graceful and self._pane_pid:
            self.exit(timeout=5)
        self._tmux("kill-server", check=False)  # claude, if still running, gets SIGHUP
        if self._pane_pid:
            deadline = time.monotonic() + 5
            while _pid_alive(self._pane_pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _pid_alive(self._pane_pid):
                _kill_group(self._pane_pid)
        reap(self.sandbox)
        sock_dir = Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}"
        with contextlib.suppress(OSError):
            (sock_dir / self.socket).unlink()

    def __enter__(self) -> "Interactive":
        try:
            return self.start()
        except BaseException:
            self.close(graceful=False)
            raise

    def __exit__(self, exc_type, *exc) -> None:
        # After a failure the screen may hold anything; do not type into it, just kill.
        self.close(graceful=exc_type is None)

    # -- interaction -----------------------------------------------------------------------

    def send(self, text: str, enter: bool = True) -> None:
        """Type ``text`` literally; then press Enter as a separate keystroke (typed text
        followed at once by Enter can be taken as a multi-line paste)."""
        if text:
            self._tmux("send-keys", "-t", self.session, "-l", "--", text)
        if enter:
            time.sleep(0.3)
            self.keys("Enter")

    def keys(self, *names: str) -> None:
        """Press tmux key names, e.g. keys("Escape"), keys("C-c"), keys("Down", "Enter")."""
        self._tmux("send-keys", "-t", self.session, *names)

    def choose(self, *options: str, timeout: float = 10) -> None:
        """In a menu on screen, move the "❯" cursor to the option whose text starts with
        one of ``options`` (the one nearest the cursor) and press Enter. Used for dialogs
        whose preselected answer is the wrong one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.capture().splitlines()
            cursor = max((i for i, l in enumerate(lines) if l.lstrip().startswith("❯")), default=None)
            targets = [i for i, l in enumerate(lines) if _option_text(l).startswith(options)]
            if cursor is not None and targets:
                target = min(targets, key=lambda i: abs(i - cursor))
                if target == cursor:
                    self.keys("Enter")
                    return
                self.keys("Up" if target < cursor else "Down")
            time.sleep(0.2)
        raise TimeoutError(f"could not select any of {options!r}; last screen:\n{self.capture()}")

    def capture(self) -> str:
        """The visible screen as plain text (tmux capture-pane -p)."""
        return self._tmux("capture-pane", "-p", "-t", self.session).stdout

    def wait_for(self, what: str | Callable[[str], bool], timeout: float = 60) -> str:
        """Poll the screen every 0.3 s until it contains ``what`` (or ``what(screen)`` is
        true); return that screen. Raise TimeoutError carrying the last screen."""
        pred = (lambda s: what in s) if isinstance(what, str) else what
        deadline = time.monotonic() + timeout
        screen = ""
        while True:
            screen = self.capture()
            if pred(screen):
                return screen
            if time.monotonic() >= deadline:
                wanted = repr(what) if isinstance(what, str) else getattr(what, "__name__", "condition")
                raise TimeoutError(f"screen did not show {wanted} within {timeout}s; "
                                   f"last screen:\n{screen}")
            time.sleep(0.3)


def _option_text(line: str) -> str:
    """A menu line without its cursor and numbering: " ❯ 2. Yes, proceed" -> "Yes, proceed"."""
    text = line.strip().lstrip("❯>").strip()
    head, dot, rest = text.partition(". ")
    return rest if dot and head.isdigit() else text


def is_prompt_ready(screen: str) -> bool:
    """True when the client's input box is on screen: a line starting with the prompt
    glyph right under a horizontal rule. (Dialogs use the same glyph for their selected
    option, "❯ 1. Yes", but not right under a rule.)"""
    lines = screen.splitlines()
    return any(line.lstrip().startswith(("❯", ">")) and set(prev.strip()) == {"─"}
               for prev, line in zip(lines, lines[1:]))


def processes_of(sandbox: Sandbox) -> list[int]:
    """PIDs of live processes started with sandbox.env() or by such a process (claude, its
    MCP servers, hooks, status line); lets a test prove nothing outlived it.
    Linux only (reads /proc/<pid>/environ); returns [] elsewhere."""
    needle = f"{SANDBOX_MARKER}={sandbox.root}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def reap(sandbox: Sandbox, grace: float = 5) -> list[int]:
    """Give the sandbox's leftover processes ``grace`` seconds to exit, then SIGKILL them;
    return the PIDs that had to be killed. Catches what a process-group kill misses
    (children that called setsid, commands still finishing after claude died)."""
    deadline = time.monotonic() + grace
    while (left := processes_of(sandbox)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return left


def _pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped by init) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def interactive(client: Client, sandbox: Sandbox, api: FakeApi, model: str = DEFAULT_MODEL,
                width: int = 160, height: int = 40, mcp: bool = True,
                allowed_tools: Iterable[str] = (), permission_mode: str | None = "default",
                extra_args: Iterable[str] = (), env: dict[str, str] | None = None) -> Interactive:
    """``with interactive(client, sandbox, api) as tui: tui.send("hi"); tui.wait_for("...")``.

    permission_mode defaults to "default", as in headless runs. The TUI's own default in
    2.1.332 is "auto", which sets allow rules (--allowedTools) aside and asks a server-side
    classifier about any non-read-only command; the fake API cannot answer it, so the
    client stops on an "Auto mode can't check actions in this session" dialog. Pass None
    to keep the client's default."""
    return Interactive(client, sandbox, api, model=model, width=width, height=height, mcp=mcp,
                       allowed_tools=allowed_tools, permission_mode=permission_mode,
                       extra_args=extra_args, env=env)


# ---------------------------------------------------------------------------------------
# ccusage, the reference other tools are compared with
# ---------------------------------------------------------------------------------------

CCUSAGE_VERSION = "20.0.24"


def ensure_ccusage() -> Path | None:
    """ccusage's native binary (npm ccusage@20.0.24 + its linux-x64 package) in the e2e cache,
    installed on first use; None where it cannot be had (no npm, no registry, other platform)."""
    if sys.platform != "linux" or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    root = cache_dir() / "ccusage"
    binary = root / "node_modules" / "@ccusage" / "ccusage-linux-x64" / "bin" / "ccusage"
    npm = shutil.which("npm", path=_STARTUP_ENV.get("PATH"))
    with _file_lock(root / ".install.lock"):
        if not binary.is_file() and npm is not None:
            try:
                _run_killable([npm, "install", "--prefix", str(root), "--ignore-scripts", "--no-audit", "--no-fund",
                               f"ccusage@{CCUSAGE_VERSION}", f"@ccusage/ccusage-linux-x64@{CCUSAGE_VERSION}"],
                              install_timeout(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=_STARTUP_ENV)
            except subprocess.TimeoutExpired:
                return None
        if binary.is_file():
            binary.chmod(0o755)  # install scripts were skipped: they would have set the mode
    return binary if binary.is_file() else None
