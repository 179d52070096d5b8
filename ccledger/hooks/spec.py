"""Which Claude Code events ccledger hooks, and how: the one definition behind plugin/hooks/hooks.json
and the entries install.py writes into settings.json (a test keeps the two equal).

Recording hooks run `async` so they never slow a turn; SessionStart is synchronous so that a missing
installation can be reported at once, and the gating events (PreToolUse, UserPromptSubmit) are
synchronous because their answer must arrive before the tool call or prompt proceeds.
Standard library only: install.py imports it from a checkout.
"""
from __future__ import annotations

# event -> (async, timeout in seconds)
EVENTS: dict[str, tuple[bool, int]] = {
    "SessionStart": (False, 10),
    "UserPromptSubmit": (False, 10),
    "PreToolUse": (False, 10),
    "PostToolUse": (True, 60),
    "PostToolUseFailure": (True, 60),
    "PostToolBatch": (True, 60),
    "PermissionDenied": (True, 60),
    "SubagentStart": (True, 60),
    "SubagentStop": (True, 120),
    "PreCompact": (True, 120),
    "PostCompact": (True, 60),
    "Stop": (True, 120),
    "StopFailure": (True, 60),
    "SessionEnd": (False, 2),
}


# The plugin alone also runs, on SessionStart and in the background, the set-up of the environment the
# `ccledger` command runs from, built from the plugin's own copy of the package (ccledger.install.plugin_env).
# A handler of its own, so that the recording SessionStart stays as quick as every other hook.
PLUGIN_SETUP = ("SessionStart", "setup-env", 60)


def hooks_block(command: str, args: list[str], marker: dict | None = None) -> dict:
    """The `hooks` object: one matcher group per event, exec form (no shell, paths with spaces are safe)."""
    block = {}
    for event, (run_async, timeout) in EVENTS.items():
        handler = {"type": "command", "command": command, "args": list(args), "timeout": timeout}
        if run_async:
            handler["async"] = True
        if marker:
            handler.update(marker)
        block[event] = [{"hooks": [handler]}]
    return block


def plugin_block(command: str, script: str) -> dict:
    """plugin/hooks/hooks.json's `hooks`: every event runs `command -S script` (the hot path needs only the
    standard library, so the system python3 runs it from the plugin's folder); SessionStart also runs the
    environment set-up, async."""
    block = hooks_block(command, ["-S", script])
    event, mode, timeout = PLUGIN_SETUP
    block[event].append({"hooks": [{"type": "command", "command": command, "args": ["-S", script, mode],
                                    "timeout": timeout, "async": True}]})
    return block
