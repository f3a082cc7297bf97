"""Dagster definitions by domain: ``<domain>/{assets,checks,schedules,sensors}.py``."""
