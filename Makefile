# Developer and CI entry points. `.ci/run` calls `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv jars run test test-fast lint

venv: $(VENV)/.installed

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# The stamp makes pip run only when requirements.txt changed since the last successful install.
# The interpreter is order-only: its mtime is that of the system python it links to.
$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements.txt
	touch $@

# Embedded Neo4j jars into var/neo4j-lib (a no-op when the pinned version is already there).
jars: venv
	$(PY) scripts/neo4j_server.py fetch

run: venv jars
	./scripts/run.sh

# Everything, lint first (CI runs this: .ci/run is `make test`). Markers: pytest.ini.
test: lint venv jars
	$(PY) -m pytest $(PYTEST_ARGS)

# The quick tier while developing: every test but the `slow` ones (fuzzing, faults, load, gunicorn,
# manage.py processes, the second JVM, Chromium).
test-fast: venv jars
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# ruff check (rules: pyproject.toml), pinned in its own requirements file.
lint: $(VENV)/.lint-installed
	$(VENV)/bin/ruff check .

$(VENV)/.lint-installed: requirements-lint.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements-lint.txt
	touch $@
