# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export DAGSTER_HOME := $(CURDIR)/runtime/dagster

.PHONY: setup demo test lint typecheck imports pytest dagster-dev bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e ".[dev]"
	touch $(STAMP)

runtime/dagster/dagster.yaml: dagster.yaml
	mkdir -p runtime/dagster runtime/store
	cp dagster.yaml runtime/dagster/dagster.yaml

setup: $(STAMP) runtime/dagster/dagster.yaml

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

pytest: setup
	$(VENV)/bin/pytest

test: lint typecheck imports pytest

dagster-dev: setup
	$(VENV)/bin/dagster dev -w workspace.yaml

bench: setup
	$(PY) bench/windows.py

clean:
	rm -rf runtime .venv
