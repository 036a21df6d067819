# The project's commands. CI calls these same targets, so what passes here passes there.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
export ITERATIVE_DO_NOT_TRACK := 1

.PHONY: help setup setup-dev repro test test-fast lint lint-workflows report gate bench clean
BASE ?=

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

setup: $(BIN)/.runtime  ## create .venv with the pipeline's dependencies

setup-dev: $(BIN)/.dev  ## add the test and lint tools

repro: setup  ## run the pipeline (dvc repro) and print the metrics
	dvc repro
	dvc metrics show --md reports/eval/metrics.json

test: setup-dev  ## run the whole test suite, end-to-end tests included
	python -m pytest

test-fast: setup-dev  ## the unit tests only
	python -m pytest -m "not slow"

lint: setup-dev  ## ruff, and the workflow checks (zizmor, GitHub JSON schemas)
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	$(MAKE) --no-print-directory lint-workflows

lint-workflows: setup-dev  ## zizmor and the GitHub workflow/action/dependabot schemas
	zizmor --offline .github
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
	check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

report: setup  ## render the pull-request report comparing the workspace with BASE (default: merge-base with main)
	python -m mlci.review.report $(if $(BASE),--base $(BASE))

gate: setup  ## check the quality gate against BASE (default: merge-base with main); non-zero exit when it fails
	python -m mlci.core.gate $(if $(BASE),--base $(BASE))

bench: setup  ## time and measure every stage at 10k, 100k and 1M rows (ROWS="10000 100000 1000000 10000000" for more)
	python benchmarks/bench.py $(if $(ROWS),--rows $(ROWS))

clean:  ## remove the virtual environment and caches (DVC cache and outputs stay)
	rm -rf $(VENV) .pytest_cache .ruff_cache
