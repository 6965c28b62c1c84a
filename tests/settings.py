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

from d2d.settings import *  # noqa: E402,F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; production uses the default
# Each test starts from an empty cache (tests/conftest.py clears it); a shared Redis cache
# would be flushed whole by that, under other processes' feet, so tests keep a local one.
# The token cache is as in production without Redis (files under the data dir, which child
# processes share), so tests can revoke a token from another process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "tokens": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(DATA_DIR / "cache" / "tokens")},  # noqa: F405
}
D2D_TOKEN_GENERATION_FILE = str(DATA_DIR / "cache" / "tokens.generation")  # noqa: F405
