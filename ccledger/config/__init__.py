"""config.toml in one place: the stdlib reader the hot path uses (read), the pydantic model (model), comment-preserving edits (edit)."""
