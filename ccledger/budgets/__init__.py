"""Budgets: limits measured over the ledger, and the small gate files synchronous hooks answer from."""
