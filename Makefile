PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local

.PHONY: fuzz-schedules test-integration test-e2e setup local test test-unit fuzz lint format typecheck bench synth deploy destroy clean lock

# The virtualenv comes from the lock (every package pinned, every file's hash checked), and is
# brought up to date whenever the lock changes. `make lock` rewrites the locks after a dependency change.
$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# What the local stack runs, and nothing else (no CDK, no test tools): quick on a fresh machine.
$(LOCAL_STAMP): pyproject.toml requirements/local.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/local.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(LOCAL_STAMP)

setup: $(STAMP)

# The whole service on this machine: moto on loopback, the real handlers, the HTTP API. Ctrl-C stops it.
local: $(LOCAL_STAMP)
	$(BIN)/loader local $(LOCAL_ARGS)

# What CI runs: lint, format check and types first (any finding fails it), then every test.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto

# The unit tests alone (no AWS, no moto, no network): seconds, for the edit-test loop.
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m unit

# Against moto in this process (adapters, handlers, the CDK app synthesized in-process).
test-integration: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m "integration or infra"

# Against `loader local`, started as a user would.
test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q -n auto -m e2e

# Fault schedules at length (tests/simulation.py): 20,000 seeds past the 1,000 `make test` runs.
fuzz-schedules: $(STAMP)
	LOADER_FIRST_SCHEDULE=1000 LOADER_SCHEDULES=20000 $(BIN)/python -m pytest -q -n auto tests/unit/test_fault_schedules.py

# The fuzz tests (hypothesis) at length: thousands of generated and mutated inputs per property.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -m fuzz

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

# The pinned CDK CLI from npm; cdk-nag's AwsSolutions checks run on every synth (app.py).
synth: $(STAMP) node_modules/.installed
	npx cdk synth --quiet $(CDK_ARGS)

deploy: $(STAMP) node_modules/.installed
	npx cdk deploy $(CDK_ARGS)

destroy: $(STAMP) node_modules/.installed
	npx cdk destroy $(CDK_ARGS)

# Rewrite the locks (project, local extra, Lambda layer) from pyproject.toml and infra/layer/requirements.in.
lock: $(STAMP)
	UV=$(BIN)/uv tools/lock.sh

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache bench/results.json
