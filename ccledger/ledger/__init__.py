"""The ledger: the SQLite store and everything that writes it (transcripts and hook events in, attribution and windows derived). Standard library only: hooks and the status line write through it."""
