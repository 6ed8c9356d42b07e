# Letsema — the two commands are `make run` and `make test`; everything else is a building block.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TOOLS  := .tools/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install tools run down status test test-unit test-integration test-e2e test-operator envtest-tools test-envtest lint clean generate bench drills

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/bootstrap.sh scripts/install.sh
	@bash scripts/bootstrap.sh
	@PYTHON=$(PYTHON) bash scripts/install.sh
	@touch $(STAMP)

install: $(STAMP) tools ## create .venv, install the project and build the local tools

tools: $(STAMP) ## build FerretDB, actionlint and the compose plugin from their Go modules into .tools/ (once)
	@$(PY) -m letsema_dev.tools build

run: install ## start the local platform (PostgreSQL primary+replica, OpenBao, MongoDB protocol) with demo data
	$(VENV)/bin/letsema dev up

status: ## show each local process, its address, health and log
	@$(VENV)/bin/letsema dev status

down: ## stop the local platform (data is kept in .letsema/)
	$(VENV)/bin/letsema dev down

test: install lint ## install what is missing, then run every test tier
	$(PY) -m pytest -m "unit or integration or e2e or operator" --cov=letsema_core --cov-branch \
		--cov-report=term --cov-fail-under=95 --timeout=900 --durations=25 $(PYTEST_ARGS)

test-unit: install ## the unit tier only (no services)
	$(PY) -m pytest -m unit $(PYTEST_ARGS)

test-integration: install ## adapters against real PostgreSQL, OpenBao and the MongoDB-protocol server
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

test-e2e: install ## HTTP and supervisor flows against running processes
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

test-operator: install ## the operator in-process against kmock, schemas and charts
	$(PY) -m pytest -m operator $(PYTEST_ARGS)

envtest-tools: $(STAMP) ## build etcd, kube-apiserver and kubectl from their Go modules into .tools/ (once; long)
	@$(PY) -m letsema_dev.tools build --envtest

test-envtest: install envtest-tools ## the operator against a real kube-apiserver + etcd (not part of make test)
	$(PY) -m pytest -m envtest $(PYTEST_ARGS)

lint: $(STAMP) tools ## ruff, mypy (strict on letsema_core), import-linter, actionlint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy letsema_core letsema_dev api/letsema_api operator/letsema_operator
	$(VENV)/bin/lint-imports
	$(TOOLS)/actionlint -color=false .github/workflows/*.yml

generate: install ## national-scale dataset into the benchmark platform (resumable; GENERATE_ARGS=--scale 0.01 for a small one)
	$(PY) loadtests/generate.py $(GENERATE_ARGS)

bench: install ## the benchmark at national scale: ceilings, every operation, COB and PAR over 1M loans (not part of make test)
	$(PY) loadtests/bench.py $(BENCH_ARGS)

drills: install ## fault drills under Locust load: kill/restart each component, check nothing acknowledged is lost or doubled
	$(PY) loadtests/drills.py $(DRILLS_ARGS)

clean: ## remove caches (keeps .venv, .tools and .letsema)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov build *.egg-info
