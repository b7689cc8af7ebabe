# Every target installs what it needs: the virtual environment is (re)built from requirements.txt
# whenever that file or pyproject.toml changes, and the dbt manifest whenever the dbt project changes.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DBT_DIR := sales_analytics_dbt
MANIFEST := $(DBT_DIR)/target/manifest.json
DBT_SOURCES := $(shell find $(DBT_DIR) -path $(DBT_DIR)/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print)

# Every target below is the `sales-analytics` command; it needs no activated venv, and sets up
# DAGSTER_HOME (default .dagster/ in the project) itself.
CLI := $(BIN)/sales-analytics

# make run CUSTOMERS=2000 TRANSACTIONS=50000 DAYS=30 SEED=7
RUN_ARGS := $(if $(CUSTOMERS),--customers $(CUSTOMERS)) $(if $(TRANSACTIONS),--transactions $(TRANSACTIONS)) \
            $(if $(DAYS),--days $(DAYS)) $(if $(SEED),--seed $(SEED)) $(if $(AS_OF),--as-of $(AS_OF))

# make bench SIZES=1000000 (comma-separated transaction counts; default 1k, 100k, 1M and 10M)
BENCH_ARGS := $(if $(SIZES),--sizes $(SIZES))

.PHONY: install run daily dashboard dev test test-faults bench lint format lock clean

install: $(INSTALLED) $(MANIFEST)

$(INSTALLED): requirements.txt pyproject.toml
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@UV="$$(command -v uv || echo python3 -m uv)"; \
	  test -x $(BIN)/python || $$UV venv --quiet --python "$$(command -v python3)" $(VENV) && \
	  $$UV pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt && \
	  $$UV pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

$(MANIFEST): $(INSTALLED) $(DBT_SOURCES)
	cd $(DBT_DIR) && ../$(BIN)/dbt parse --quiet --profiles-dir .
	@touch $@

run: install
	$(CLI) run $(RUN_ARGS)

# Prints the dashboard's path (built by `make run`) and opens it where there is a desktop.
dashboard: install
	@$(CLI) dashboard

# What the 02:00 schedule's tick would run now: yesterday's partition and everything downstream.
daily: install
	$(CLI) daily

# The UI on 127.0.0.1, port DAGSTER_PORT (default 3000).
dev: install
	$(CLI) dev

# Two workers: much of the suite waits on Dagster's daemons and on subprocesses, which the other
# worker overlaps. sales_analytics_tests/scheduling.py keeps each module (and the modules reading
# the session's BI run) on one worker and starts the slowest first.
PYTEST_WORKERS ?= 2

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

test-faults: install
	$(BIN)/pytest -m faults $(PYTEST_ARGS)

# Wall time, rows/s, peak memory and the ratio to plain DuckDB SQL, per stage and size; writes
# benchmarks/results/latest.json. The 10M size needs about 4 GB of memory and some minutes.
bench: install
	$(CLI) bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint $(DBT_DIR)/models

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin requirements.txt from pyproject.toml's ranges (needs network to the package registry).
lock:
	@UV="$$(command -v uv || echo python3 -m uv)"; \
	  $$UV pip compile --quiet --no-header --no-annotate --python-version 3.11 --extra dev pyproject.toml -o requirements.txt

clean:
	rm -rf $(VENV) $(DBT_DIR)/target $(DBT_DIR)/logs .pytest_cache
