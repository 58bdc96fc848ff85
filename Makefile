# The two commands of the README: `make run` (set up, run the main job) and `make test`.
# Set-up is idempotent: .venv is created once and re-installed when pyproject.toml or
# requirements.lock change.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint report clean-engine help

help:
	@echo "make run    set up .venv, start the local engine, run the main job and publish the report"
	@echo "make test   set up .venv and run the test suite"
	@echo "make lint   ruff over package, tests and notebooks"

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[local,dev]'
	$(BIN)/hm spark prepare
	touch $(STAMP)

setup: $(STAMP)
	@$(BIN)/hm doctor

run: setup
	$(BIN)/hm run

# The suite runs with the clock pinned by params/ci.yml; the date-sensitive tests run a second time with
# another pinned date weeks later, which shows that no test depends on the day it runs.
test: setup
	$(BIN)/python -m pytest
	HM_SET='clock.now=2027-01-11 06:00' $(BIN)/python -m pytest -m "calendar and not slow" -q

lint: setup
	$(BIN)/ruff check src tests notebooks reports
	$(BIN)/ruff format --check src tests notebooks reports

report: setup
	$(BIN)/hm report

clean-engine:
	-$(BIN)/hm spark down
