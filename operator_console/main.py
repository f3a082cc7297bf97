"""``exec-console``: the operator console on ``EXEC_CONSOLE_HOST:EXEC_CONSOLE_PORT``."""

from __future__ import annotations

import logging

import uvicorn

from operator_console.app import create_app
from operator_console.settings import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger(__name__).info(
        "console http://%s:%s daemon=%s dagster=%s results=%s ui=%s",
        settings.host, settings.port, settings.daemon_url, settings.dagster_url,
        settings.results_store_url, settings.ui_dir,
    )  # fmt: skip
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
