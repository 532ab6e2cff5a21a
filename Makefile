# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install generate check-generated lint test demo bench serve clean redis-server

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

generate: install  ## regenerate models and resources from openapi/knock.yaml
	$(PY) -m codegen

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

test: install lint check-generated redis-server
	$(PY) -m pytest

demo: install  ## the quickstart against the embedded Knock server
	$(PY) examples/quickstart.py

bench: install  ## client CPU per call against raw aiohttp, and the Tier 2 pacing case
	$(PY) -m bench

serve: install  ## the embedded Knock server on port 4010
	$(PY) -m knock_async.testing --port 4010

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
