"""The status line: Claude Code's status JSON in, one line of text out."""
