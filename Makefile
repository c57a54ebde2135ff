# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run test test-fast lint format bench bench-reminders bench-programs loadtest migrate seed clean

help:
	@echo "make run    - install, migrate, load the demo school, start site + Celery worker + beat"
	@echo "make test   - the whole test suite"
	@echo "make lint   - ruff, format check, mypy"
	@echo "make bench  - matching engine benchmark"
	@echo "make bench-reminders - one reminders scan over 100,000 mentorships in a throw-away"
	@echo "               database (PostgreSQL when DATABASE_URL is set, else a temporary SQLite file)"
	@echo "make bench-programs - pairing programs: match runs, publish and a 10,000-row CSV import"
	@echo "               at 500x100 and 2000x500, in a throw-away database as above"
	@echo "make loadtest - the demo school copied to 10,000 people in a throw-away database"
	@echo "               (<name>_load or a temporary SQLite file), gunicorn on 127.0.0.1 and"
	@echo "               a scenario at 1 and 8 concurrent users: p50/p95/p99 per step"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if command -v uv >/dev/null 2>&1; then \
		UV_COMPILE_BYTECODE=1 uv pip install --python $(PY) -e ".[dev]"; \
	else \
		$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip && \
		$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]" && \
		$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null; \
	fi
	@# This machine sets PYTHONDONTWRITEBYTECODE; compiled files make every start 4-5 s faster.
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "Site:   http://$(HOST):$(PORT)/   (Ctrl-C stops the site, the worker and beat)"
	@echo "API:    http://$(HOST):$(PORT)/api/docs/"
	@set -e; \
	$(VENV)/bin/celery -A mentorship worker --loglevel=INFO --concurrency=2 & WORKER=$$!; \
	$(VENV)/bin/celery -A mentorship beat --loglevel=INFO & BEAT=$$!; \
	trap 'kill $$WORKER $$BEAT 2>/dev/null; wait $$WORKER $$BEAT 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	DJANGO_SETTINGS_MODULE=mentorship.settings.test $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m matching.engine.bench

# Creates <name>_bench next to DATABASE_URL's database (or a temporary SQLite file),
# drops it afterwards; never touches the configured database. ARGS="--mentorships 20000".
bench-reminders: install
	$(PY) manage.py bench_reminders $(ARGS)

# The same throw-away database. ARGS="--sizes 1000x250 --demands one --import-rows 0".
bench-programs: install
	$(PY) manage.py bench_programs $(ARGS)

# The same kind of throw-away database (<name>_load), gunicorn on 127.0.0.1 with DEBUG off.
# ARGS="--users 10000 --concurrency 1 8 --seconds 30 --workers 3".
loadtest: install
	$(PY) manage.py loadtest $(ARGS)

clean:
	rm -rf var/ $(VENV)
