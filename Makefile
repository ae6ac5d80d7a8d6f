# Developer and CI entry points (`.ci/run` is `make test`). Both targets work on a fresh Debian:
# they install the system packages they need (scripts/system_packages.sh), the venv and the jars.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: venv venv-dev jars run test test-fast stop-test-neo4j lint system-run system-test
# Each step needs the one before (apt-get before venv and mvn); never two apt-gets at once.
.NOTPARALLEL:

# Debian packages (JDK, Maven, nginx and Graphviz; Chromium for the tests): a quick check when all are there.
system-run:
	@./scripts/system_packages.sh run
system-test:
	@./scripts/system_packages.sh test

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# The stamps make pip run only when a requirements file changed since the last successful install.
# The interpreter is order-only: its mtime is that of the system python it links to.
$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements.txt
	touch $@
# requirements-dev.txt includes requirements.txt, so its install brings the runtime up to date too.
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# Embedded Neo4j jars into var/neo4j-lib (a no-op when the pinned version is already there).
# Only the standard library and Maven are needed for it.
jars: system-run | $(VENV)/bin/python
	$(PY) scripts/neo4j_server.py fetch

run: system-run venv jars
	./scripts/run.sh

# Everything, lint first (CI runs this: .ci/run is `make test`). Markers: pytest.ini.
test: lint system-test venv-dev jars
	$(PY) -m pytest $(PYTEST_ARGS)

# The quick tier while developing: every test but the `slow` ones (fuzzing, faults, load, volume,
# gunicorn, manage.py processes, the second JVM, Chromium), in TEST_FAST_WORKERS processes, each
# with a Neo4j of its own that stays up for the next run (ports TEST_NEO4J_PORT, +1000, ...; other
# than `make test`'s, which starts a fresh one each time): `make stop-test-neo4j` stops them.
# A kept server keeps its schema, so its plans, from run to run, and no quick test changes the schema
# or empties the plan cache (either would make it plan every statement again). Bytecode caches are on
# (PYTHONDONTWRITEBYTECODE emptied) even where the environment turns them off: without them each
# worker compiles and assertion-rewrites some 350 modules every run (pytest rewrites all of hypothesis
# and schemathesis, as plugins, once test_fuzz_api is collected). Figures: docs/benchmarks.md,
# "The quick test tier". Three processes on two cores: each waits on its Neo4j for much of a test,
# and a third keeps the cores busy meanwhile.
TEST_FAST_WORKERS ?= 3
test-fast: system-test venv-dev jars
	PYTHONDONTWRITEBYTECODE= TEST_NEO4J_KEEP=1 TEST_NEO4J_PORT=$${TEST_NEO4J_PORT:-7689} \
	  $(PY) -m pytest -m "not slow" -n $(TEST_FAST_WORKERS) --dist loadfile $(PYTEST_ARGS)

stop-test-neo4j: | $(VENV)/bin/python
	$(PY) scripts/neo4j_server.py stop-kept

# ruff check (rules: pyproject.toml), pinned in its own requirements file.
lint: $(VENV)/.lint-installed
	$(VENV)/bin/ruff check .

$(VENV)/.lint-installed: requirements-lint.txt | $(VENV)/bin/python
	$(PY) -m pip install -r requirements-lint.txt
	touch $@
