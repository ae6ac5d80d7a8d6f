# Developer and CI entry points. `.ci/run` calls `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv jars run test test-fast

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

# Everything (CI runs this). Markers: pytest.ini.
test: venv jars
	$(PY) -m pytest $(PYTEST_ARGS)

# The quick tier while developing: every test but the `slow` ones (fuzzing, faults, load, gunicorn,
# manage.py processes, the second JVM, Chromium).
test-fast: venv jars
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)
