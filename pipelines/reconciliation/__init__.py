"""Reconciliation of the OMS with the venues' own record: plain polars functions, no Dagster.

``frames`` parses both sides into typed frames, ``breaks`` compares them, ``schema`` is the
pandera schema every breaks table is validated against before it is written.
"""
