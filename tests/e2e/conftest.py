"""Fixtures for end-to-end tests that drive the real Claude Code client (see harness.py)."""
from __future__ import annotations

import pytest

from .harness import Client, Sandbox, ensure_client, client_skip_reason, make_sandbox


@pytest.fixture(scope="session")
def e2e_client() -> Client:
    """The pinned client, installed into the e2e cache on first use; skips the test with
    a one-line reason when it cannot be installed (no npm, registry unreachable)."""
    client = ensure_client()
    if client is None:
        pytest.skip(f"Claude Code e2e client unavailable: {client_skip_reason()}")
    return client


@pytest.fixture
def sandbox(tmp_path, monkeypatch) -> Sandbox:
    """A fresh HOME / CLAUDE_CONFIG_DIR / project dir under tmp_path.

    The test process's own HOME, CLAUDE_CONFIG_DIR and CCLEDGER_HOME are pointed at the
    sandbox too, so in-process ccledger calls (reports, ledger queries) read the ledger
    the client's hooks wrote. This runs after autouse fixtures such as tests/conftest.py's
    `isolated`, which sets CCLEDGER_HOME to tmp_path/ccledger, and overrides them."""
    sb = make_sandbox(tmp_path)
    monkeypatch.setenv("HOME", str(sb.home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(sb.config_dir))
    monkeypatch.setenv("CCLEDGER_HOME", str(sb.ccledger_home))
    return sb
