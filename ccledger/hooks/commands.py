"""/ccledger:usage and /ccledger:tools answered on screen, without a model request.

A slash command's text normally goes to the model: a request, and its tables in the context of every
later one, for a tool about saving tokens. Claude Code 2.1.332 hands UserPromptSubmit the prompt as
typed ("/ccledger:usage"), before it expands the command; so the hook runs the reports itself and
blocks the prompt with them as the reason. Claude Code shows that reason to the user (under "UserPromptSubmit
operation blocked by hook:") and sends nothing to the model; `suppressOriginalPrompt` leaves the input
empty and the prompt unrepeated. When the reports cannot run here (no environment for the CLI yet), the
prompt goes on and the command's own text (plugin/commands/*.md) answers through the model as before.
"""
from __future__ import annotations

import os
import sys

from ..base import errlog, paths

PREFIX = "/ccledger:"
# command -> (heading, `ccledger` arguments); {session} is the session's id
REPORTS: dict[str, list[tuple[str, list[str]]]] = {
    "usage": [("this session", ["report", "session", "--session", "{session}"]),
              ("today", ["report", "daily", "--since", "today", "--no-ingest"])],
    "tools": [("tools of this session", ["report", "tools", "--session", "{session}"]),
              ("MCP servers of this session", ["report", "mcp", "--session", "{session}", "--no-ingest"])],
}
DEADLINE_S = 8.0          # UserPromptSubmit's timeout is 10 s (hooks/spec.py)
MAX_CHARS = 9_500         # Claude Code moves hook output over 10,000 characters into a file
REASON_MARGIN = 10        # 2.1.332 shows a reason's lines whole up to COLUMNS - 10 characters, wraps longer ones
                          # (measured under tmux at 60, 100 and 140 columns): a wrapped table is unreadable
MISSING = ("ModuleNotFoundError", "No module named")


def wanted(prompt: object) -> str | None:
    """The ccledger command a prompt invokes ("usage", "tools"), if any."""
    text = prompt.strip() if type(prompt) is str else ""
    if not text.startswith(PREFIX) or len(text) == len(PREFIX):
        return None
    name = text[len(PREFIX):].split(maxsplit=1)[0]
    return name if name in REPORTS else None


def cli_command() -> list[str]:
    """How to run the CLI: the environment install.py made (it has the CLI's dependencies), else this
    interpreter (a checkout used directly)."""
    venv = paths.venv_dir()
    python = os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")
    return [python if os.path.isfile(python) else sys.executable, "-m", "ccledger.cli.main"]


def run_report(args: list[str], timeout: float) -> tuple[str, bool]:
    """(the report's text, whether the CLI could run at all). It prints to a terminal of the width Claude Code
    shows the reason in (a pipe would get every column, however wide: see render/tables.py)."""
    import subprocess
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        width = max(int(os.environ.get("COLUMNS", "")) - REASON_MARGIN, 40)
    except ValueError:
        width = 100
    env = dict(os.environ, NO_COLOR="1", COLUMNS=str(width),
               PYTHONPATH=os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p))
    try:
        code, out, err = _run(cli_command() + args, env, width, timeout)
    except subprocess.TimeoutExpired:
        return (f"ccledger: the report did not finish within {DEADLINE_S:g} s (a long backlog to read in?); "
                f"run `ccledger {' '.join(args[:2])}` in a terminal"), True
    except OSError as exc:
        errlog.record("hook", f"slash command: cannot run the CLI: {exc}", False)
        return "", False
    errors = err.decode("utf-8", "replace")
    if code and any(m in errors for m in MISSING):
        errlog.record("hook", f"slash command: the CLI cannot run here: {errors.strip().splitlines()[-1]}", False)
        return "", False
    text = out.decode("utf-8", "replace").replace("\r\n", "\n") + (errors if code else "")
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()), True


def _run(command: list[str], env: dict, width: int, timeout: float) -> tuple[int, bytes, bytes]:
    """Run `command` with its stdout on a pseudo-terminal `width` columns wide (a pipe where there is none)."""
    import subprocess
    try:
        import fcntl
        import pty
        import select
        import struct
        import termios
    except ImportError:  # Windows
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout, done.stderr
    import time
    master, slave = pty.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
    finally:
        os.close(slave)
    err_fd = proc.stderr.fileno()  # type: ignore[union-attr]
    chunks: dict[int, list[bytes]] = {master: [], err_fd: []}
    open_fds = set(chunks)
    deadline = time.monotonic() + timeout
    try:
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                raise subprocess.TimeoutExpired(command, timeout)
            for fd in select.select(list(open_fds), [], [], left)[0]:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's other side is closed
                    data = b""
                if data:
                    chunks[fd].append(data)
                else:
                    open_fds.discard(fd)
        code = proc.wait(max(deadline - time.monotonic(), 0.1))
    finally:
        os.close(master)
        proc.stderr.close()  # type: ignore[union-attr]
    return code, b"".join(chunks[master]), b"".join(chunks[err_fd])


def answer(payload: dict) -> dict | None:
    """The block that shows the command's reports, or None to let the prompt go on."""
    name = wanted(payload.get("prompt"))
    session = payload.get("session_id")
    if name is None or type(session) is not str:
        return None
    import time
    deadline = time.monotonic() + DEADLINE_S
    parts = []
    for heading, args in REPORTS[name]:
        left = deadline - time.monotonic()
        if left <= 0.5:
            break
        text, ran = run_report([a.replace("{session}", session) for a in args], left)
        if not ran:
            return None
        parts.append(f"ccledger: {heading}\n\n{text}")
    body = "\n\n".join(parts)
    if len(body) > MAX_CHARS:
        body = body[:MAX_CHARS].rsplit("\n", 1)[0] + f"\n… (cut: run `ccledger {' '.join(REPORTS[name][0][1][:2])}`)"
    return {"decision": "block", "reason": body,
            "hookSpecificOutput": {"hookEventName": "UserPromptSubmit", "suppressOriginalPrompt": True}}
