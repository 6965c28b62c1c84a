"""Settings for the test suite: d2d's own, plus a probe app whose tasks behave on command."""

import os
from pathlib import Path

_base = Path(__file__).resolve().parent.parent
os.environ.setdefault("D2D_DATA_DIR", str(_base / "var" / "test"))
os.environ.setdefault("D2D_OPEN_SIGNUP", "1")
os.environ.setdefault("D2D_BROKER", "orm")  # make test runs the runner tests again with D2D_BROKER=redis
os.environ.setdefault("D2D_TASK_RETRY_BACKOFF", "0")
os.environ.setdefault("D2D_TASK_LEASE_SECONDS", "3")
os.environ.setdefault("D2D_TASK_TIMEOUT", "120")
os.environ.setdefault("D2D_TASK_RETRY_MARGIN", "30")
os.environ.setdefault("D2D_TASK_REQUEUE_SECONDS", "10")  # republish runs a killed cluster had reserved
# One queue per test session, so sessions sharing a Redis never take each other's messages.
os.environ.setdefault("D2D_QUEUE_NAME", f"d2dtest{os.getpid()}")
# And one cache key prefix per test session (children inherit it), for the same reason.
os.environ.setdefault("D2D_TEST_CACHE_PREFIX", f"d2dtest{os.getpid()}")

from d2d.settings import *  # noqa: E402,F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses the default
# Caches as production has them: with REDIS_URL, Redis (token cache, login throttle), under this
# session's own key prefix, so a test's clearing (tests/conftest.py deletes the prefix's keys,
# never FLUSHDB) cannot touch another session's keys; without it, the embedded default's local
# cache and host-local token files, which child processes share.
if REDIS_URL:  # noqa: F405
    _prefix = os.environ["D2D_TEST_CACHE_PREFIX"]
    CACHES["default"]["KEY_PREFIX"] = _prefix  # noqa: F405
    CACHES["tokens"]["KEY_PREFIX"] = f"{_prefix}:tokens"  # noqa: F405
