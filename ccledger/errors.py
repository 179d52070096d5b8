"""Named exit codes and the one error type the CLI turns into a one-line message."""
from __future__ import annotations

OK = 0
ERROR = 1          # a clear one-line message on stderr
USAGE = 2          # bad arguments (argparse's own code)
BUDGET_EXCEEDED = 3  # `ccledger budget check` found a limit crossed
INTERRUPTED = 130


class CcledgerError(Exception):
    """Expected failures: printed as `ccledger: <message>` and exit code `code`."""

    def __init__(self, message: str, code: int = ERROR) -> None:
        super().__init__(message)
        self.code = code
