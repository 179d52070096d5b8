"""The hot path: what hooks and the status line run. Standard library only (a test enforces it)."""
