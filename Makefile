# Ciclo: `make run` serves the whole platform, `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PORT ?= 8000

.PHONY: run test install lint typecheck format messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Front-end packages (htmx, Chart.js) from package-lock.json, served by Django as static files.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

run: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input --verbosity 0
	$(BIN)/python manage.py seed_demo
	PORT=$(PORT) $(BIN)/honcho -f Procfile.dev start

# Test files are shared out to TEST_WORKERS processes (pytest-xdist), each with its
# own test database and Redis cache database; TEST_WORKERS=0 runs them in this one.
TEST_WORKERS ?= 2

test: install
	$(BIN)/python -m pytest --numprocesses=$(TEST_WORKERS) --dist=loadfile $(PYTEST_ARGS)

lint: $(STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy (config in pyproject.toml, cache in .mypy_cache); fails on a new error and on a
# ratchet-listed module that became clean.
typecheck: $(STAMP)
	$(BIN)/python .ci/typecheck.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l pt_BR -l ro -l en --no-wrap --ignore='.venv/*' --ignore='var/*'
	$(BIN)/python manage.py compilemessages --ignore='.venv/*'

clean:
	rm -rf var staticfiles
