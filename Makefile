# d2d: `make run` runs everything on the embedded defaults; `make test` runs the whole suite.

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install system-deps migrate admin worker web bench clean

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve

# The whole run, as CI runs it: scripts/run-tests brings up PostgreSQL (logical decoding), MariaDB
# (row binlog), Redis and moto_server, installing what is missing when run as root, then runs the
# suite on PostgreSQL, the runner tests on the Redis broker, the storage tests on S3 and the SQLite
# checks. PYTEST_ARGS=... runs only the first pass, with those arguments.
test: install
	@PY=$(PY) PYTEST_ARGS="$(PYTEST_ARGS)" ./scripts/run-tests

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
