# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.runtime
PIP := -m pip install --quiet --disable-pip-version-check
# The dev tool chain is the `dev` dependency group of pyproject.toml; `--group` needs pip >= 25.1.
NEW_PIP := 'pip>=25.1'

# Every supported Python (pyproject's classifiers); `make test` runs the suite on each one found
# beside the default: in pyenv's versions, or as python3.X on PATH. Under CI=true a missing one fails.
SUPPORTED_PYTHONS := 3.10 3.11 3.12 3.13
DEFAULT_PYTHON := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
OTHER_PYTHONS := $(filter-out $(DEFAULT_PYTHON),$(SUPPORTED_PYTHONS))
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)
python_for = $(firstword $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)) \
  $(shell python$(1) -c 'import sys; print(sys.executable)' 2>/dev/null))
FOUND_PYTHONS = $(foreach v,$(OTHER_PYTHONS),$(if $(call python_for,$(v)),$(v)))
MISSING_PYTHONS = $(filter-out $(FOUND_PYTHONS),$(OTHER_PYTHONS))
# On the other Pythons, everything but what needs a service (the fleet tests' redis-server) or
# a browser (tests/browser, which drives Node and Chromium, not Python);
# on 3.10 not tests/fuzz either: schemathesis 4.31+ needs 3.11 (the dev group skips it there).
# Tests that count 429s against real clocks run alone after the rest (on the default Python):
# four suites side by side on two cores would starve their pacing.
PACED_TESTS := tests/fleet tests/integration/test_tier2_concurrency.py tests/integration/test_rate_limit_pacing.py
NOT_PACED := $(foreach t,$(PACED_TESTS),--ignore=$(t))
OTHER_PYTHON_TESTS ?= tests $(NOT_PACED) --ignore=tests/browser
NO_FUZZ_PYTHONS := 3.10

.PHONY: install generate check-generated lint test test-default test-paced supported-pythons \
  demo bench serve clean redis-server browser-tools

# Built by a pattern rule: kept, not removed as an intermediate file after the run.
.PRECIOUS: .venv-%/.installed

install: $(STAMP)

$(PY):
	@echo "==> creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)

# The demo needs only the runtime (aiohttp, attrs, cattrs): seconds, not the whole tool chain.
$(RUNTIME_STAMP): pyproject.toml | $(PY)
	@echo "==> installing knock-async with its runtime dependencies (aiohttp, attrs, cattrs)"
	$(PY) $(PIP) -e .
	touch $(RUNTIME_STAMP)

$(STAMP): pyproject.toml | $(PY)
	@echo "==> installing knock-async with the development tools (the dev group: ruff, mypy, pytest, ...)"
	$(PY) $(PIP) $(NEW_PIP)
	$(PY) $(PIP) -e . --group dev
	touch $(STAMP)

# One venv per other supported Python (.venv-3.X), with the same dev group.
.venv-%/.installed: pyproject.toml
	@echo "==> installing knock-async with the development tools on Python $*"
	$(call python_for,$*) -m venv .venv-$*
	.venv-$*/bin/python $(PIP) $(NEW_PIP)
	.venv-$*/bin/python $(PIP) -e . --group dev
	touch $@

generate: install  ## regenerate from openapi/knock.yaml; print the API changes (CHANGELOG=FILE: also write them there)
	$(PY) -m codegen $(if $(CHANGELOG),--changelog $(CHANGELOG))

check-generated: install  ## fail when the committed generated code is stale
	$(PY) -m codegen --check

lint: install
	$(PY) -m ruff check src codegen tests examples bench
	$(PY) -m ruff format --check src codegen tests examples bench
	$(PY) -m mypy

# $(call debian_package,COMMAND,PACKAGE,WHAT FOR): install PACKAGE from Debian when COMMAND is
# missing (as root with apt-get); otherwise say so: those tests skip, and fail under CI=true.
define debian_package
	@command -v $(1) >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && apt-get install -y $(2); \
	  else \
	    echo "$(1) is missing and this is not root with apt-get: install it" \
	      "(sudo apt-get install -y $(2), brew install ..., ...) for $(3)" >&2; \
	  fi; }
endef

# The fleet tests start their own redis-server.
redis-server:
	$(call debian_package,redis-server,redis-server,the fleet tests)

# The front-end test (tests/browser) runs Knock's browser client in Debian's Chromium, driven by
# Node 20+: Chromium is installed from Debian when missing, the npm packages with `npm ci`.
browser-tools:
	$(call debian_package,chromium,chromium,the front-end test)
	@if command -v npm >/dev/null; then cd tests/browser/js && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "node and npm are missing: install Node.js 20+ for the front-end test" >&2; fi

# The other Pythons' venvs are built while lint and the generated-code check run; once both
# pass, the default Python's suite and each other Python's run go side by side (much of the
# suite waits on sockets and subprocesses, so four runs share two cores well); each one's output
# is shown when it ends. Then the paced tests (PACED_TESTS), alone: they count 429s against real
# clocks, which three other suites on two cores would starve.
test: install redis-server browser-tools
	@$(MAKE) --no-print-directory --output-sync=target -j4 test-default \
	  $(foreach v,$(FOUND_PYTHONS),test-python-$(v)) supported-pythons
	@$(MAKE) --no-print-directory test-paced

test-default: install lint check-generated
	@echo "==> pytest on Python $(DEFAULT_PYTHON) (all but the paced tests, which run alone next)"
	$(PY) -m pytest -q $(NOT_PACED)

test-paced: install redis-server
	@echo "==> pytest on Python $(DEFAULT_PYTHON), alone: $(PACED_TESTS)"
	$(PY) -m pytest -q $(PACED_TESTS)

test-python-%: .venv-%/.installed lint check-generated
	@echo "==> pytest on Python $* ($(OTHER_PYTHON_TESTS)$(if $(filter $*,$(NO_FUZZ_PYTHONS)), --ignore=tests/fuzz))"
	.venv-$*/bin/python -m pytest -q $(OTHER_PYTHON_TESTS) $(if $(filter $*,$(NO_FUZZ_PYTHONS)),--ignore=tests/fuzz)

supported-pythons:  ## report supported Pythons that are missing here (a failure under CI=true)
	@if [ -n "$(MISSING_PYTHONS)" ]; then \
	  echo "==> supported Python(s) not found: $(MISSING_PYTHONS) (pyenv install, or python3.X on PATH)" >&2; \
	  if [ "$$CI" = true ]; then echo "CI=true: every supported Python must run the suite" >&2; exit 1; fi; \
	else echo "==> every supported Python found: $(DEFAULT_PYTHON) $(FOUND_PYTHONS)"; fi

demo: $(RUNTIME_STAMP)  ## the quickstart against the embedded Knock server
	@echo "==> running examples/quickstart.py against the embedded Knock server"
	$(PY) examples/quickstart.py

bench: install redis-server  ## client CPU vs raw aiohttp, import time, memory, Tier 2 pacing, the fleet
	$(PY) -m bench

serve: $(RUNTIME_STAMP)  ## the embedded Knock server on port 4010
	$(PY) -m knock_async.testing --port 4010

clean:
	rm -rf $(VENV) $(foreach v,$(SUPPORTED_PYTHONS),.venv-$(v)) build dist .mypy_cache .ruff_cache
