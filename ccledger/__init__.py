"""ccledger: a locked local ledger of every token Claude Code spends."""

__version__ = "0.1.0"
