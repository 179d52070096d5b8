"""Human output: rich tables for reports (never imported on the hot path or for --json)."""
