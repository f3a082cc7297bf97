"""Sparse strategy signals: schema, loading and execution events."""
