# Keyhook: `make run` starts the server, `make test` runs the whole suite.
# Nothing but Python 3.11+ and make is needed; everything else lands in .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

# `make run HOST=0.0.0.0 PORT=9000 DATA_DIR=/var/lib/keyhook DATABASE_URL=postgresql://… DEV=1`
# (or the KEYHOOK_* variables of the same names).
RUN_ARGS := $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT)) \
            $(if $(DATA_DIR),--data-dir $(DATA_DIR)) \
            $(if $(DATABASE_URL),--database-url $(DATABASE_URL)) $(if $(filter 1 true yes,$(DEV)),--dev)

.PHONY: run test lint bench bench-scale clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Keyhook needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml receiver/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . -e ./receiver
	@touch $@

$(VENV)/.installed-dev: pyproject.toml receiver/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./receiver
	@touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/keyhook start $(RUN_ARGS)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -rs $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src receiver tests bench examples
	$(BIN)/ruff format --check src receiver tests bench examples
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The benchmarks on an empty and on a seeded database (1M events, 100k users, 100k
# deliveries); up to 15 minutes. BENCH_ARGS="--database-url postgresql://…" for PostgreSQL.
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python bench/scale.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .keyhook build *.egg-info src/*.egg-info
