"""Benchmarks of the backup pipeline against the stock dump and restore tools (not tests)."""
