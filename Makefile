# d2d: `make run` runs everything on the embedded defaults; `make test` runs the whole suite.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps migrate admin worker web bench clean

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve

# The whole suite on the configured database; then, when REDIS_URL is set, the task-runner
# tests once more with Redis as the broker (the first pass uses the ORM broker).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)
	@if [ -n "$$REDIS_URL" ] && [ -z "$(PYTEST_ARGS)" ]; then \
	  echo "== task runner on the Redis broker =="; \
	  D2D_BROKER=redis $(PY) -m pytest -m runner; fi
	@if [ -n "$$DATABASE_URL" ] && [ -z "$(PYTEST_ARGS)" ]; then \
	  echo "== SQLite backend checks (the embedded default) =="; \
	  env -u DATABASE_URL $(PY) -m pytest -m sqlite; fi

install: system-deps $(STAMP)

system-deps:
	@./scripts/system-deps

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(PY) || "$$(./scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

web: install
	$(PY) -m uvicorn d2d.asgi:application --host 127.0.0.1 --port 8000

worker: install
	$(PY) manage.py qcluster

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var/test
