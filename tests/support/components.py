"""What the suite must have, and the one thing it may skip: a test of a missing component fails.

`make test` brings up every component (scripts/test-services): PostgreSQL with logical decoding,
MariaDB with the row binlog, Redis, moto_server, Tesseract, bubblewrap, chromium. A test of one
of them is marked ``needs(reason)``, where ``reason`` is None when the component is there; with
a reason it fails at setup and names the command that provides it, so a machine without it can
never pass by skipping. The only skip left is for what d2d itself cannot provide (a build of a
third-party client): ``skip_not_provided`` says so, and the run's summary lists those skips.
"""

import pytest

NOT_PROVIDED = "not provided by d2d:"
PREPARE = "run scripts/test-services (make test does)"


def needs(missing: str | None):
    """A marker: the test fails at setup with ``missing`` when it is not None."""
    return pytest.mark.needs(missing)


def skip_not_provided(what: str) -> None:
    """Skip for something the project cannot provide (the only skip the suite allows)."""
    pytest.skip(f"{NOT_PROVIDED} {what}")


def is_allowed_skip(reason: str) -> bool:
    return NOT_PROVIDED in reason
