# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime

.PHONY: install generate check-generated lint test demo bench serve clean

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

test: install lint check-generated
	$(PY) -m pytest

demo: $(RUNTIME_STAMP)  ## the quickstart against the embedded Knock server
	@echo "==> running examples/quickstart.py against the embedded Knock server"
	$(PY) examples/quickstart.py

bench: install  ## client CPU per call against raw aiohttp, and the Tier 2 pacing case
	$(PY) -m bench

serve: $(RUNTIME_STAMP)  ## the embedded Knock server on port 4010
	$(PY) -m knock_async.testing --port 4010

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache
