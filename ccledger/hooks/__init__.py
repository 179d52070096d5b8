"""What Claude Code runs on every hook event: the entry, and the spec of which events are hooked and how."""
