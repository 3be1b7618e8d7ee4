# Two commands matter on a fresh machine: `make run` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DEMO_DB ?= demo-ledger.db
DEMO_TOKENS ?= staff-demo=staff,auditor-demo=auditor,portal-demo=portal,cbs-demo=bank:CBS,reb-demo=bank:REB,hub-demo=bank:HUB
PYTEST_ARGS ?=

.PHONY: install run demo test check bench soak clean

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	LEDGER_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/ledger demo --subscribers 2000 --cycles 3

run: install
	@if [ ! -f $(DEMO_DB) ]; then $(MAKE) --no-print-directory demo; fi
	LEDGER_DATABASE_URL=sqlite:///$(DEMO_DB) LEDGER_TOKENS='$(DEMO_TOKENS)' $(BIN)/ledger serve --port $(PORT) --demo-banner

test: install
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

check: install
	$(BIN)/ruff check ledger projections api tests benchmarks
	$(BIN)/ruff format --check ledger projections api tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy ledger projections api

bench: install
	$(BIN)/ledger bench

# A longer run of the load test of tests/reliability/load.py: gunicorn on PostgreSQL (loopback only), a database of
# its own made and dropped beside LEDGER_TEST_DATABASE_URL. Exit status 1 if any request got a 5xx or any payment's
# events disagree with its answers. Override e.g. `make soak SOAK_SECONDS=600 SOAK_THREADS=12`.
SOAK_SECONDS ?= 180
SOAK_THREADS ?= 8
SOAK_WORKERS ?= 2
soak: install
	LEDGER_TEST_DATABASE_URL=$${LEDGER_TEST_DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/test} \
		PYTHONPATH=$(CURDIR) $(PY) tests/reliability/load.py --duration $(SOAK_SECONDS) --threads $(SOAK_THREADS) --workers $(SOAK_WORKERS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis $(DEMO_DB)*
