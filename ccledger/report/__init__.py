"""Reports derived from the ledger with SQL: plain dicts in, plain dicts out (rendering is elsewhere)."""
