"""The live execution daemon: REST API → pre-trade risk → PostgreSQL OMS → router → venues.

Imports ``execution_core`` only, never ``pipelines`` (import-linter contract).
"""
