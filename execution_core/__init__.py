"""Shared core of Execution Services: models, IDs, schemas, stores and tick windows.

Imports neither ``pipelines`` nor ``live_daemon`` (checked by import-linter in the suite).
"""
