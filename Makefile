# The README's two set-up commands: `make run` serves the sample corpus, `make test` runs the suite.
# `make test-fast` runs the tests that need no model, server or browser; `make check` lints and type-checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INDEX_DIR ?= index

.PHONY: run test test-fast lint typecheck check install browser postgresql

install: $(VENV)/.installed

# CPU torch first (a local wheel here): a plain `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# `reportqa serve` says when it really listens, and where; a busy port is one sentence naming the way out.
run: install
	$(BIN)/reportqa ingest --index-dir $(INDEX_DIR) corpus/
	@echo
	@echo "Starting the server. Once it says it is serving, ask it from a browser or from another terminal:"
	@echo "  curl -s http://127.0.0.1:$${REPORTQA_PORT:-8000}/v1/ask -H 'Content-Type: application/json' \\"
	@echo "       -d '{\"question\": \"Who is the Russian defence minister?\"}'"
	@echo
	REPORTQA_INDEX_DIR=$(INDEX_DIR) $(BIN)/reportqa serve

# The page's tests drive Debian's Chromium; install it (as root, or through sudo) when missing.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium chromium-driver; \
	fi

# The server-side index's tests start Debian's PostgreSQL in a temporary folder; install it when missing.
postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq postgresql; \
	fi

test: install browser postgresql
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not model and not server and not browser"

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

check: lint typecheck
