"""Named exit codes and the one error type the CLI turns into a one-line message.

Faults the surroundings cause (see ccledger.base.faults) each have their own
code, so a script can tell "try again later" from "free some space" from "this
file is not a ledger"; ERROR is left for everything else, bugs included.
"""
from __future__ import annotations

OK = 0
ERROR = 1          # a clear one-line message on stderr
USAGE = 2          # bad arguments (argparse's own code)
BUDGET_EXCEEDED = 3  # `ccledger budget check` found a limit crossed
LEDGER_LOCKED = 4  # another process held the ledger past the wait: try again when it finishes
READ_ONLY = 5      # the ledger or its folder cannot be written (read-only file system, permissions, immutable)
DISK_FULL = 6      # no space left on the disk holding the ledger; what was recorded is kept
LEDGER_DAMAGED = 7  # the file at the ledger's path is not a usable ledger (damaged, truncated, another program's)
LEDGER_TOO_NEW = 8  # written by a newer ccledger: upgrade; the file is left untouched
LEDGER_UNAVAILABLE = 9  # the ledger cannot be opened at all (its folder unreadable, an I/O error)
NO_CLAUDE_DATA = 10  # no Claude Code data folder (one holding projects/) where CLAUDE_CONFIG_DIR or the defaults say
INTERRUPTED = 130

LEDGER_CODES = {"locked": LEDGER_LOCKED, "read_only": READ_ONLY, "disk_full": DISK_FULL,
                "damaged": LEDGER_DAMAGED, "too_new": LEDGER_TOO_NEW, "unavailable": LEDGER_UNAVAILABLE}


class CcledgerError(Exception):
    """Expected failures: printed as `ccledger: <message>` and exit code `code`; `cause` and `fix` apart
    for doctor."""

    def __init__(self, message: str, code: int = ERROR, fix: str | None = None) -> None:
        super().__init__(f"{message}; {fix}" if fix else message)
        self.code = code
        self.cause = message
        self.fix = fix
