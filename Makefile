# One Thing: `make run` runs the whole system on a fresh machine, `make test` proves it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTEST_WORKERS ?= 2
# What runs in production: security lint covers it (tests, stand-ins, benchmarks and scripts are
# tools that never serve a request).
PRODUCT_CODE := api assistant cli common config models notifications services web manage.py wsgi.py

.DEFAULT_GOAL := help
.PHONY: help install install-dev run serve test lint format bench bench-growth soak fuzz demo eval-assistant eval-conversations screenshots clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the pinned runtime dependencies

install-dev: $(VENV)/.installed-dev ## Also install the test and benchmark tools

run: install ## The whole system on 127.0.0.1:$(PORT): database, API, notification worker, sweeps (SIMULATE_DEPARTMENTS=1: a simulator too)
	APP_ENV=$${APP_ENV:-development} PORT=$(PORT) $(BIN)/python manage.py run

serve: install ## The same set production-style: gunicorn (wsgi:app), two workers per core
	APP_ENV=$${APP_ENV:-production} PORT=$(PORT) $(BIN)/python manage.py serve

demo: install ## A newborn case end to end at DEMO_URL, timeline live (uses make run's database, or starts a server)
	$(BIN)/python scripts/demo.py

eval-assistant: install ## The assistant on its evaluation set: intent/bundle accuracy, handoff recall, p95 latency
	$(BIN)/python scripts/eval_assistant.py

eval-conversations: install ## Whole conversations through the assistant: share reaching their goal, wrong turns
	$(BIN)/python scripts/run_conversations.py

test: lint ## Lint, then the whole suite against a fresh embedded database per worker
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS)

bench: $(VENV)/.installed-bench ## Load a production-style stack (<5 min): one table, var/bench/latest.json; fails over a DB-command budget
	$(BIN)/python -m bench.run

fuzz: install-dev ## Generated requests (schemathesis) to every operation as every role, ~8,000 cases in ~10 min: counts, and every 5xx, schema violation or undocumented status
	$(BIN)/python -m tests.contract.fuzz

bench-growth: $(VENV)/.installed-bench ## Cost against history (queue, claim, complete, a citizen's list at 1,000/10,000/100,000 applications) and apply throughput with 1, 2, 4 API processes
	$(BIN)/python -m bench.history --sizes $${HISTORY_SIZES:-1000,10000,100000}
	$(BIN)/python -m bench.api_scale

soak: $(VENV)/.installed-bench ## make bench's mixed load at SOAK_RATE families/s (0.5; "80%": of bench's capacity) for SOAK_MINUTES (10): p95 a minute, drain, memory, exactly-once
	$(BIN)/python -m bench.soak --rate $${SOAK_RATE:-0.5} --minutes $${SOAK_MINUTES:-10}

screenshots: install-dev ## Every web page at 390x844 (workbench 1280x800), Chinese and English, in var/screenshots/
	$(BIN)/python scripts/screenshots.py

lint: install-dev ## ruff, the import contracts of .importlinter (layers, domains, no cycles), bandit
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit --quiet --severity-level low --confidence-level low -r $(PRODUCT_CODE)

format: install-dev ## Fix what the linter can fix
	$(BIN)/ruff check --fix .

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .pytest_cache .ruff_cache
