# Two commands on a fresh machine: `make run` and `make test`. `make help` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
# The app `make run` serves: final/ once it exists, else the newest stage.
APP_DIR := $(or $(wildcard final),$(lastword $(sort $(wildcard stages/[0-9]*))))
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help
.PHONY: help run run-prod test lint docs serve-docs lab start check sweep bench constraints clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	@touch $@

$(VENV)/.runtime: $(VENV)/.python requirements.txt constraints.txt
	$(PIP) -r requirements.txt -c constraints.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt constraints.txt
	$(PIP) -r requirements-dev.txt -c constraints.txt
	@touch $@

ADMIN_EMAIL ?= admin@example.com
run: $(VENV)/.runtime ## set up and serve the API on http://127.0.0.1:5000 (SQLite, in-memory limits/cache)
	cd $(APP_DIR) && $(BIN)/flask --app app init-db && $(BIN)/flask --app app seed
	@# A new random admin password on every run: nothing to leak from the repository.
	@password=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))'); \
	  cd $(APP_DIR) && $(BIN)/flask --app app create-admin --email $(ADMIN_EMAIL) --password "$$password" && \
	  echo "Admin login: $(ADMIN_EMAIL) / $$password   (members: ada@example.com ... / library-demo-password)"
	@echo "Serving $(APP_DIR) on http://$(HOST):$(PORT)  (docs: http://$(HOST):$(PORT)/docs/, Ctrl-C to stop)"
	cd $(APP_DIR) && $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

run-prod: $(VENV)/.runtime ## serve final/ with gunicorn on DATABASE_URL and REDIS_URL (needs SECRET_KEY)
	@test -n "$$DATABASE_URL" -a -n "$$SECRET_KEY" || { \
	  echo "Set DATABASE_URL, SECRET_KEY and REDIS_URL first: see docs/deployment.md"; exit 2; }
	cd final && APP_CONFIG=production $(BIN)/flask --app app init-db
	cd final && APP_CONFIG=production $(BIN)/gunicorn

# axe-core for the docs' accessibility audit (tools/browser_check.py), pinned by tools/axe/.
AXE := tools/axe/node_modules/.installed
$(AXE): tools/axe/package.json tools/axe/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tools/axe --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the docs' accessibility audit will be skipped (apt install npm)"; fi

test: $(VENV)/.dev $(AXE) ## set up and run every check: lint, each stage's tests in its own process, docs...
	$(BIN)/python tools/run_checks.py

lint: $(VENV)/.dev ## ruff check and format check only
	$(BIN)/python tools/run_checks.py lint

docs: $(VENV)/.dev ## build the course site into site/ (--strict: a broken link or snippet fails)
	$(BIN)/mkdocs build --strict

serve-docs: $(VENV)/.dev ## serve the course site with live reload on http://127.0.0.1:8000
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

lab: $(VENV)/.dev ## open the notebooks in JupyterLab
	$(BIN)/jupyter lab --ip 127.0.0.1 --notebook-dir notebooks

start: $(VENV)/.dev ## practise: copy the stage before STAGE (e.g. make start STAGE=03) into workspace/
	$(BIN)/python tools/workspace.py start $(STAGE)

check: $(VENV)/.dev ## run stage STAGE's tests against your workspace/ (e.g. make check STAGE=03)
	$(BIN)/python tools/workspace.py check $(STAGE)

# make test sweeps stage 03 only; this sweeps every stage, or those in STAGES (e.g. STAGES=05,final).
sweep: $(VENV)/.dev ## prove each stage's practice order: its steps never lower the passing count (minutes)
	WORKSPACE_SWEEP=$(or $(STAGES),all) $(BIN)/python -m pytest -p no:cacheprovider -rA tests/test_workspace.py -k sweep

bench: $(VENV)/.dev ## benchmark final/ on SQLite and PostgreSQL+Redis, with its cost ledger (BENCH_QUICK=1: quicker)
	$(BIN)/python bench/run.py

constraints: $(VENV)/.dev ## re-pin every transitive dependency into constraints.txt
	@{ echo "# Every package pinned, direct and transitive (pip freeze of requirements-dev.txt on Python 3.11)."; \
	  echo "# Regenerate with: make constraints"; $(BIN)/pip freeze --exclude-editable | sort -f; } > constraints.txt

clean: ## remove the virtualenv, caches and built docs (your instance databases stay)
	rm -rf $(VENV) site docs/generated .checks .pytest_cache .ruff_cache tools/axe/node_modules
