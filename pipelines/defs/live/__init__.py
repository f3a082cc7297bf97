"""The live daemon under Dagster (group ``live``): the external ``live_daemon`` asset and
its sensor, the restart job, and the reconciliation assets with their sensor and schedule.
Dagster talks to the daemon over HTTP and reads the OMS database; it never imports
``live_daemon``."""
