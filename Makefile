# Quick start: `make run` (serve the demo) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test test-clock-ahead test-bench lint bench install clean

run: $(INSTALLED)
	$(BIN)/lianxin db upgrade
	$(BIN)/lianxin demo seed
	$(BIN)/lianxin leaderboard sync
	$(BIN)/lianxin serve

test: $(INSTALLED)
	$(BIN)/pytest $(PYTEST_ARGS)

# The same suite with every clock a year ahead: no test may depend on today's date.
test-clock-ahead: $(INSTALLED)
	LIANXIN_TEST_CLOCK_AHEAD_DAYS=365 $(BIN)/pytest $(PYTEST_ARGS)

# The benchmark harness's own tests (its scenarios and baselines work), kept out of the
# default suite like the rest of tests/bench.
test-bench: $(INSTALLED)
	$(BIN)/pytest tests/bench $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy points service api
	$(BIN)/lint-imports

# HTTP load benchmark on PostgreSQL + Redis (needs wrk): tests/bench/README.md
bench: $(INSTALLED)
	$(BIN)/python -m tests.bench.http $(BENCH_ARGS)

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Lianxin needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
