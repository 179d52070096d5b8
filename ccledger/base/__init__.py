"""Plumbing every room uses: paths, locks, JSON without `json`, the error log, named exit codes. Standard library only."""
