# The project's commands. CI calls these same targets, so what passes here passes there.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
# Python caches the bytecode of each module it imports, so the next process skips compiling it. Some shells and CI
# images turn that off (PYTHONDONTWRITEBYTECODE=1), and then each stage process compiles pandas and scikit-learn
# again: about two thirds of a fresh clone's `make repro` (docs/benchmarks.md). The project's commands let Python
# write it, once, for the modules they use, into .venv and src/ (git ignores __pycache__).
export PYTHONDONTWRITEBYTECODE :=
export ITERATIVE_DO_NOT_TRACK := 1

# uv installs from the hash locks. The version is the one requirements.txt pins: a uv of that version on PATH is used
# as it is; otherwise make bootstraps that exact wheel into $(VENV), hash-checked (see $(BIN)/uv below).
UV_VERSION := $(shell sed -n 's/^uv==\([0-9.]*\).*/\1/p' requirements.txt)
UV_ON_PATH := $(shell v=$$(command -v uv) && [ "$$($$v --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" ] && echo $$v)
UV := $(or $(UV_ON_PATH),$(abspath $(BIN))/uv)
UV_INSTALL := $(UV) pip install --quiet --python $(BIN)/python
# How the locks are compiled; Dependabot reads these flags back from the header of each lock.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes
LOCKS := requirements.txt requirements-scale.txt requirements-dev.txt
PIP_BOOTSTRAP := --quiet --disable-pip-version-check --no-warn-script-location --require-hashes --no-deps

.PHONY: help setup setup-dev repro test test-core durations test-workflows test-services test-fast lint typecheck format lint-workflows lock lock-check report gate bench clean
.PHONY: sweep bench-sweep
.PHONY: package release models promote verify-package audit secrets
.PHONY: new-batch drift intake monitor bench-drift bench-gate
.PHONY: serve bench-serve lint-docker
.PHONY: setup-scale
BASE ?=

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(if $(UV_ON_PATH),$(UV_ON_PATH) venv --quiet --python $(PYTHON) $(VENV),$(PYTHON) -m venv --without-pip $(VENV))

# The pinned uv wheel, hash-checked, installed into $(VENV) by the interpreter's pip (or, without one, the venv's own).
$(BIN)/uv: | $(BIN)/python
	awk '/^uv==/ {found = 1} found {print} found && !/\\$$/ {exit}' requirements.txt > $(VENV)/uv-requirement.txt
	$(PYTHON) -m pip install $(PIP_BOOTSTRAP) --prefix $(VENV) -r $(VENV)/uv-requirement.txt 2>/dev/null || { \
		$(BIN)/python -m ensurepip --default-pip >/dev/null && \
		$(BIN)/python -m pip install $(PIP_BOOTSTRAP) -r $(VENV)/uv-requirement.txt; }

# Installs are additive and exact: every package at its locked version, its hash checked. Editing a lock re-runs them.
$(BIN)/.runtime: requirements.txt pyproject.toml | $(BIN)/python $(if $(UV_ON_PATH),,$(BIN)/uv)
	$(UV_INSTALL) --require-hashes -r requirements.txt
	$(UV_INSTALL) --no-deps --editable .
	touch $@

$(BIN)/.dev: $(BIN)/.runtime requirements-dev.txt
	$(UV_INSTALL) --require-hashes -r requirements-dev.txt
	touch $@

setup: $(BIN)/.runtime  ## create .venv with the pipeline's dependencies

setup-dev: $(BIN)/.dev  ## add the test and lint tools

repro: setup  ## run the pipeline (dvc repro) and print the metrics
	dvc repro
	dvc metrics show --md reports/eval/metrics.json

# One worker per core. Each test file runs whole in one worker, so its module-scoped fixtures (a project built once,
# a server) are shared as written; the longest files (by tests/durations.json) start first (tests/partskit.py).
PYTEST_WORKERS ?= auto

PYTEST := python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
# The suites, by what they guard (markers set in tests/conftest.py); CI runs each one only when its paths change.
CORE_TESTS := not workflows and not service and not remote

test: setup-dev  ## run the whole test suite, end-to-end tests included (PYTEST_WORKERS=1 for one process)
	$(PYTEST)

# SHARD=i/n runs the i-th of n parts of a suite: whole test files, dealt out by their measured time in
# tests/durations.json (tests/partskit.py). CI spreads the unit and pipeline tests over parallel jobs this way. A part
# that the suite's marker leaves empty passes (pytest's exit code 5, no test collected).
SHARD ?=

test-core: setup-dev  ## the unit and pipeline tests: what every pull request runs (SHARD=1/4: the first quarter)
	$(PYTEST) -m "$(CORE_TESTS)" $(if $(SHARD),--part $(SHARD) || [ $$? -eq 5 ])

durations: setup-dev  ## measure each test's time into tests/durations.json (how SHARD splits and what starts first)
	$(PYTEST) --store-durations

test-workflows: setup-dev  ## the workflow files through act
	$(PYTEST) -m workflows

test-services: setup-dev  ## the prediction service (server, image, fuzzing) and the S3 DVC remote
	$(PYTEST) -m "service or remote"

test-fast: setup-dev  ## the unit tests only
	python -m pytest -m "not slow"

# The slower checks run side by side (mypy alone is half of it); GNU make 4 keeps each one's output together.
OUTPUT_SYNC := $(if $(filter 3.%,$(MAKE_VERSION)),,--output-sync=target)

lint: setup-dev  ## ruff, mypy, the locks, the workflow checks (zizmor, GitHub JSON schemas), hadolint, the secrets scan
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	$(MAKE) --no-print-directory -j 5 $(OUTPUT_SYNC) typecheck lock-check lint-workflows lint-docker secrets

typecheck: setup-dev  ## mypy over src/ (strict for core, model and evaluation; settings in pyproject.toml)
	mypy

format: setup-dev  ## ruff format, then ruff's safe fixes, over src tests benchmarks
	ruff format src tests benchmarks
	ruff check --fix src tests benchmarks

lint-workflows: setup-dev  ## zizmor and the GitHub workflow/action/dependabot schemas
	zizmor --offline .github
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
	check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

# Hashes in the locks and dvc.lock are high-entropy by nature; a test value that looks like a secret carries an inline
# `pragma: allowlist secret` comment instead of a baseline file whose line numbers drift.
SECRETS_EXCLUDE := (^|/)(requirements[^/]*\.txt|dvc\.lock)$$

secrets: setup-dev  ## scan every tracked file for credentials (detect-secrets; works offline)
	git ls-files -z | xargs -0 detect-secrets-hook --exclude-files '$(SECRETS_EXCLUDE)'
	@echo "no secrets found in $$(git ls-files | wc -l) tracked files"

# pip-audit asks PyPI's JSON API (or OSV) which pinned versions have known vulnerabilities: CI runs it on GitHub.
# Where only the package index is reachable (a mirror or proxy), every package is reported "not found" and skipped.
audit: setup-dev  ## known vulnerabilities in every locked package (pip-audit; needs PyPI's JSON API)
	pip-audit --disable-pip --strict --progress-spinner off -r requirements.txt -r requirements-dev.txt

lock: setup  ## compile requirements*.in into the hash locks requirements*.txt (UPGRADE=1: newest allowed versions)
	$(UV) pip compile --quiet $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) requirements.in -o requirements.txt
	$(UV) pip compile --quiet $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) requirements-scale.in -o requirements-scale.txt
	$(UV) pip compile --quiet $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) requirements-dev.in -o requirements-dev.txt

# Compiles the locks again in a scratch folder, starting from the committed ones (uv keeps their pins where it can), and
# compares: a lock that differs was not compiled from the current .in files.
lock-check: setup  ## fail when a lock is out of date with its .in file
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && cp requirements*.in $(LOCKS) "$$scratch" && \
	(cd "$$scratch" && for lock in $(LOCKS); do \
		$(UV) pip compile --quiet $(LOCK_FLAGS) "$${lock%.txt}.in" -o "$$lock" || exit 2; done) && \
	for lock in $(LOCKS); do \
		if ! cmp -s "$$lock" "$$scratch/$$lock"; then \
			grep -E '^[A-Za-z0-9]' "$$lock" > "$$scratch/committed"; grep -E '^[A-Za-z0-9]' "$$scratch/$$lock" > "$$scratch/fresh"; \
			diff -u --label "$$lock (committed)" --label "$$lock (compiled now)" "$$scratch/committed" "$$scratch/fresh" | head -20; \
			echo "error: $$lock is out of date with $${lock%.txt}.in; run \`make lock\` and commit both files" >&2; exit 1; \
		fi; done; \
	echo "locks are up to date: $(LOCKS)"

report: setup  ## render the pull-request report comparing the workspace with BASE (default: merge-base with main)
	python -m mlci.review.report $(if $(BASE),--base $(BASE))

# The pull request's sweep (`sweep:` in params.yaml; docs/experiments.md), as CI's train job runs it.
sweep: setup  ## run the sweep as DVC experiments, each judged against BASE; prints the ranked table (after `make repro`)
	python -m mlci.review.sweep $(if $(BASE),--base $(BASE))

gate: setup  ## check the quality gate against BASE (default: merge-base with main); non-zero exit when it fails
	python -m mlci.review.gate $(if $(BASE),--base $(BASE))

package: setup  ## champion vs challenger on the test split, then the release package in dist/ (CHAMPION=package)
	python -m mlci.deploy package $(if $(CHAMPION),--champion "$(CHAMPION)")

release: setup  ## package, then tag the version in git (the deploy workflow pushes the tag and publishes)
	python -m mlci.deploy release $(if $(CHAMPION),--champion "$(CHAMPION)")

models: setup  ## the model registry: every version, its stages and key metrics
	python -m mlci.deploy models

promote: setup  ## assign STAGE to VERSION (a new stage tag); rollback = promote an earlier version
	@if [ -z "$(VERSION)" ] || [ -z "$(STAGE)" ]; then \
		echo "usage: make promote VERSION=1.2.0 STAGE=production" >&2; exit 2; fi
	python -m mlci.deploy promote --version "$(VERSION)" --stage "$(STAGE)"

verify-package: setup  ## check a release package's checksums (PACKAGE=dist/<model>-v<version> or its .tar.gz)
	python -m mlci.deploy verify "$(PACKAGE)"

bench: setup  ## time and measure every stage at 10k, 100k and 1M rows (ROWS="... 10000000" for more; ENGINE=dask_lightgbm); then bench-gate and bench-sweep
	python benchmarks/bench.py $(if $(ROWS),--rows $(ROWS)) $(if $(ENGINE),--engine $(ENGINE))
	python benchmarks/bench_gate.py $(if $(GATE_ROWS),--rows $(GATE_ROWS))
	python benchmarks/bench_sweep.py $(if $(SWEEP_ROWS),--rows $(SWEEP_ROWS))

bench-sweep: setup  ## a 6-point sweep on the demo against one pipeline run (SWEEP_ROWS=50000)
	python benchmarks/bench_sweep.py $(if $(SWEEP_ROWS),--rows $(SWEEP_ROWS))

bench-gate: setup  ## what the same-rows comparison adds to the gate and the report (GATE_ROWS="50000 5000000")
	python benchmarks/bench_gate.py $(if $(GATE_ROWS),--rows $(GATE_ROWS))

# Monitoring and continuous training (docs/monitor-and-retrain.md). `make drift` exits 1 on drift or decay, 2 on bad input.
SEASON ?= holiday
N ?= 20000
SEED ?= 7
OUT ?= data/incoming/batch.parquet
BATCH ?= $(OUT)

new-batch: setup  ## write a labelled demo batch: SEASON=normal|holiday N=20000 SEED=7 OUT=data/incoming/batch.parquet
	python -m mlci.stages.helpers.batch --season $(SEASON) --rows $(N) --seed $(SEED) --out $(OUT)

drift: setup  ## check BATCH (.csv, .parquet, .jsonl) against the training data; reports in reports/drift/
	python -m mlci.monitor.drift --batch $(BATCH)

intake: setup  ## take BATCH into the training data by monitor.retrain (append or window); then `make repro`
	python -m mlci.monitor.intake --batch $(BATCH)

monitor: setup  ## check the serving log (monitor.serving_log), print the verdict and the report
	python -m mlci.monitor.drift --serving-log --print

bench-drift: setup  ## time the drift check on a 1M-row batch against a 1M-row reference (ROWS=... to change)
	python benchmarks/bench_drift.py $(if $(ROWS),--rows $(ROWS))

# The prediction service. `python -m mlci.serve` reads HOST, PORT, PACKAGE and VERSION from the environment (make passes
# command-line variables there), and the image's CMD runs the same command.
serve: setup  ## serve the model on 127.0.0.1:8000 (HOST=, PORT=; a release: PACKAGE=dist/<model>-v<version> or VERSION=1.2.0)
	python -m mlci.serve

bench-serve: setup-dev  ## the service's latency: one record (p50, p99), a 1,000-row batch, 8 concurrent clients
	python benchmarks/bench_serve.py

lint-docker: setup-dev  ## hadolint on the Dockerfile
	hadolint Dockerfile

# Scale: the distributed training engine (train.engine: dask_lightgbm; docs/scale.md). Its packages are an extra,
# hash-locked like the rest; the dev install includes them so their tests run.
$(BIN)/.scale: $(BIN)/.runtime requirements-scale.txt
	$(UV_INSTALL) --require-hashes -r requirements-scale.txt
	touch $@

setup-scale: $(BIN)/.scale  ## add LightGBM and Dask for train.engine: dask_lightgbm

clean:  ## remove the virtual environment and caches (DVC cache and outputs stay)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
