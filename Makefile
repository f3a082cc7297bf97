# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/runtime/dagster

.PHONY: setup system-deps ui demo test lint typecheck imports pytest dagster-dev bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e ".[dev]"
	touch $(STAMP)

runtime/dagster/dagster.yaml: dagster.yaml
	mkdir -p runtime/dagster runtime/store
	cp dagster.yaml runtime/dagster/dagster.yaml

setup: $(STAMP) runtime/dagster/dagster.yaml

# Debian packages the tests use: Chromium for the browser tests (no browser download),
# docker-compose to validate the compose file, promtool (package prometheus) for the
# dashboards' config and alert rules. Installed once, only what is missing.
SYSTEM_TOOLS := /usr/bin/chromium /usr/bin/chromedriver /usr/bin/docker-compose /usr/bin/promtool
SYSTEM_PACKAGES := chromium chromium-driver docker-compose prometheus
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@missing=$$(for tool in $(SYSTEM_TOOLS); do test -x $$tool || echo $$tool; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			$(SYSTEM_PACKAGES) >/dev/null; \
	fi

# The operator console's web UI (ui/: React, TypeScript, Vite), built to ui/dist, which
# exec-console serves. Rebuilt only when the lockfile or a source is newer than the build.
UI_SOURCES := ui/package-lock.json ui/package.json ui/index.html ui/tsconfig.json \
	ui/vite.config.ts $(shell find ui/src -type f 2>/dev/null)
ui/dist/index.html: $(UI_SOURCES)
	cd ui && npm ci --no-audit --no-fund && npm run build

ui: ui/dist/index.html

demo: setup
	$(VENV)/bin/exec-services demo
	$(PY) -m live_daemon.demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

imports: setup
	$(VENV)/bin/lint-imports

pytest: setup system-deps ui
	$(VENV)/bin/pytest

test: lint typecheck imports pytest

dagster-dev: setup
	$(VENV)/bin/dagster dev -w workspace.yaml

bench: setup
	$(PY) bench/windows.py

clean:
	rm -rf runtime .venv
