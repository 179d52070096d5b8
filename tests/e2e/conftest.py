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
def sandbox(tmp_path) -> Sandbox:
    """A fresh HOME / CLAUDE_CONFIG_DIR / project dir under tmp_path."""
    return make_sandbox(tmp_path)
