"""The user's TOML config file, read for the CLI (the hot path reads what the CLI publishes to the ledger)."""
from __future__ import annotations

from .errors import CcledgerError
from .hot import paths, userconfig


def load(path: str | None = None) -> dict:
    """The parsed config file, {} when there is none; a broken file is a one-line error naming the place."""
    try:
        return userconfig.parse(path or paths.config_path())
    except userconfig.FileProblem as exc:
        raise CcledgerError(str(exc)) from None
