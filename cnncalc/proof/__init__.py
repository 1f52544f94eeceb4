"""Proving numbers: published figures (verify) and homework tables (check)."""
