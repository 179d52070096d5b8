"""The user's TOML config file, read for the CLI (the hot path reads what the CLI publishes to the ledger)."""
from __future__ import annotations

import os
import sys

from .errors import CcledgerError
from .hot import paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def load(path: str | None = None) -> dict:
    """The parsed config file, {} when there is none; a broken file is a one-line error naming the place."""
    path = path or paths.config_path()
    if not os.path.exists(path):
        return {}
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CcledgerError(f"{path}: {exc}") from None
    except OSError as exc:
        raise CcledgerError(f"cannot read {path}: {exc.strerror}") from None
