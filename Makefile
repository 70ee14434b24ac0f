# Tidepool developer commands. `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test test-sqlite test-pg test-mysql check lint bench clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install everything (pinned)

run: $(STAMP) ## start the server on SQLite (./data/tidepool.db) with a ready admin
	HOST=$${HOST:-127.0.0.1} EXAMPLES_ENABLED=$${EXAMPLES_ENABLED:-true} $(BIN)/tidepool start

# The suites that touch SQL run again on PostgreSQL and MariaDB (scratch databases on the local servers),
# including the multi-process Redis fan-out, which needs a shared server database.
ENGINE_SUITES := tests/query tests/http tests/db tests/services tests/realtime/test_subscriptions.py \
	tests/realtime/test_subscriptions_redis.py tests/realtime/test_subscriptions_cost.py

test: $(STAMP) ## the whole suite: SQLite, then the database suites on PostgreSQL and MariaDB
	$(BIN)/pytest -q -p no:cacheprovider
	TIDEPOOL_TEST_DB=pg $(BIN)/pytest -q -p no:cacheprovider $(ENGINE_SUITES)
	TIDEPOOL_TEST_DB=mysql $(BIN)/pytest -q -p no:cacheprovider $(ENGINE_SUITES)

test-sqlite: $(STAMP) ## only the SQLite run
	$(BIN)/pytest -q

check: $(STAMP) ## ruff (format + lint) and mypy --strict
	$(BIN)/ruff format --check tidepool tests bench
	$(BIN)/ruff check tidepool tests bench
	$(BIN)/mypy

lint: $(STAMP) ## fix what ruff can fix
	$(BIN)/ruff format tidepool tests bench
	$(BIN)/ruff check --fix tidepool tests bench

bench: $(STAMP) ## load benchmarks (see bench/README.md)
	$(BIN)/python -m bench

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
