# The two commands a newcomer needs: `make run` and `make test`.
# The first Python whose email package refuses header injection through encoded words (CVE-2024-6923, tested by
# behaviour in service/mail/safety.py): Debian's patched 3.11 qualifies where a pyenv 3.11.7 on PATH does not.
PYTHON_CANDIDATES := python3 /usr/bin/python3 python3.13 python3.12
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do command -v $$p >/dev/null 2>&1 && \
            PYTHONPATH=. $$p -m service.mail.safety >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv

.PHONY: run test test-fast test-services lint install install-dev migrate clean print-python catalogs compile-catalogs

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "error: no Python here has a safe email package (CVE-2024-6923): install" \
	  "Python 3.12.5+, 3.11.10+ or Debian's python3, or name one with make PYTHON=..." >&2; exit 1; }
	@$(PYTHON) -c "import ensurepip" 2>/dev/null || { echo "error: $(PYTHON) cannot make a virtualenv:" \
	  "install Debian's python3-venv (apt-get install python3-venv)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

## uv (a PyPI package) installs the dependencies: with a warm cache it fills the venv in seconds where pip took a minute.
$(UV): $(BIN)/python
	$(BIN)/pip install --quiet "uv>=0.5"

$(VENV)/.installed: $(UV) pyproject.toml
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python -e ".[dev]"
	touch $@

## Reader pages and emails in every list's language: the .po sources compiled to the .mo files the service reads.
CATALOGS := $(wildcard service/i18n/locale/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
service/i18n/locale/%/LC_MESSAGES/messages.mo: service/i18n/locale/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel -q compile --domain messages --input-file $< --output-file $@ --locale $*

compile-catalogs: $(COMPILED)

## After changing a translatable text: extract it again, and merge it into every language's .po for translating.
catalogs: install
	$(BIN)/python -m service.ops.catalogs

install: $(VENV)/.installed $(COMPILED)

## axe-core for the accessibility test, pinned by tests/a11y/package-lock.json (npm ci: exactly the locked version).
AXE := tests/a11y/node_modules/axe-core/axe.min.js
$(AXE): tests/a11y/package-lock.json
	cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error
	touch $@

install-dev: $(VENV)/.installed-dev $(AXE) $(COMPILED)

## Run web, worker, beat and (without SMTP_URL) the SMTP sink on embedded defaults, until Ctrl-C (exit status 0).
## The console shows one line per event; each process logs in full to var/log/; var/run.env tells other shells PORT.
run: install
	$(BIN)/newsletter run

migrate: install
	$(BIN)/newsletter db upgrade

## Make the machine ready (Debian packages, PostgreSQL, Redis, RabbitMQ), lint and type-check, run the test suite.
## Two pytest processes (pytest-xdist), a test file each at a time: most of a test's time is spent waiting on a
## worker, a server or a browser, so two share the two cores of the reference machine. Each process has its own
## databases, queue, Redis keys and Chromium (tests/conftest.py names them by process). TEST_PROCESSES=0: one process.
TEST_PROCESSES ?= 2
test: test-services lint
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

## The inner loop, in about a minute: pure logic, the in-process web app and SQLite (no browser, no worker or
## other process, no crash tier, no PostgreSQL). `make test` is still the one to run before a commit.
test-fast: install-dev
	$(BIN)/pytest --fast -q -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

## Install the Debian packages the tests need (as root or with passwordless sudo) and start the servers they use.
test-services:
	@PYTHON="$(PYTHON)" scripts/test-services

## ruff (format and check), mypy and import-linter's contracts (layers, no circles), as configured in pyproject.toml;
## any finding or unformatted file fails the build.
lint: install-dev
	$(BIN)/ruff format --check service worker.py bench tests
	$(BIN)/ruff check service worker.py bench tests
	$(BIN)/mypy service
	$(BIN)/lint-imports

## The interpreter make builds the virtualenv with.
print-python:
	@echo $(PYTHON)

clean:
	rm -rf $(VENV) var test-output .pytest_cache .mypy_cache .ruff_cache
