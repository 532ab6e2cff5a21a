# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime

.PHONY: install generate check-generated lint test demo bench serve clean redis-server browser-tools

install: $(STAMP)

$(PY):
	@echo "==> creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# The demo needs only the runtime (aiohttp, attrs, cattrs): seconds, not the whole tool chain.
$(RUNTIME_STAMP): pyproject.toml | $(PY)
	@echo "==> installing knock-async with its runtime dependencies (aiohttp, attrs, cattrs)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml | $(PY)
	@echo "==> installing knock-async with the development tools (ruff, mypy, pytest, ...)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

generate: install  ## regenerate from openapi/knock.yaml; print the API changes (CHANGELOG=FILE: also write them there)
	$(PY) -m codegen $(if $(CHANGELOG),--changelog $(CHANGELOG))

check-generated: install  ## fail when the committed generated code is stale
	$(PY) -m codegen --check

lint: install
	$(PY) -m ruff check src codegen tests examples bench
	$(PY) -m ruff format --check src codegen tests examples bench
	$(PY) -m mypy

# The fleet tests start their own redis-server. Installed from Debian when missing (as root);
# without root, install it yourself: the tests skip without it, and fail under CI=true.
redis-server:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y redis-server; \
	  else \
	    echo "redis-server is missing and this is not root with apt-get: install it" \
	      "(sudo apt-get install -y redis-server, brew install redis, ...) for the fleet tests" >&2; \
	  fi; }

# The front-end test (tests/browser) runs Knock's browser client in Debian's Chromium, driven by
# Node 20+: Chromium is installed from Debian when missing (as root), the npm packages with `npm ci`.
browser-tools:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y chromium; \
	  else \
	    echo "chromium is missing and this is not root with apt-get: install it for the front-end test" >&2; \
	  fi; }
	@if command -v npm >/dev/null; then cd tests/browser/js && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "node and npm are missing: install Node.js 20+ for the front-end test" >&2; fi

test: install lint check-generated redis-server browser-tools
	$(PY) -m pytest

demo: $(RUNTIME_STAMP)  ## the quickstart against the embedded Knock server
	@echo "==> running examples/quickstart.py against the embedded Knock server"
	$(PY) examples/quickstart.py

bench: install redis-server  ## client CPU vs raw aiohttp, import time, memory, Tier 2 pacing, the fleet
	$(PY) -m bench

serve: $(RUNTIME_STAMP)  ## the embedded Knock server on port 4010
	$(PY) -m knock_async.testing --port 4010

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
