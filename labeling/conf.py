"""labeling's options: a Django setting of the same name wins, else the environment, else the default.

Reading at call time (not import time) lets a test override a value with the
``settings`` fixture, and keeps d2d/settings.py free of one app's knobs.
"""

from django.conf import settings

from d2d.env import env_int, env_list, env_str


def _get(name: str, read):
    if hasattr(settings, name):
        return getattr(settings, name)
    return read()


def default_project() -> str:
    """The project a task is created in when the create body names none (003 has no project)."""
    return _get("D2D_LABELING_DEFAULT_PROJECT", lambda: env_str("D2D_LABELING_DEFAULT_PROJECT", "olake"))


def commit_ttl_seconds() -> int:
    """How long pictures handed out by apply stay held for their commit before returning to the pool."""
    return _get("D2D_LABELING_COMMIT_TTL_SECONDS", lambda: env_int("D2D_LABELING_COMMIT_TTL_SECONDS", 7200, minimum=1))


def max_picture_bytes() -> int:
    return _get(
        "D2D_LABELING_MAX_PICTURE_BYTES", lambda: env_int("D2D_LABELING_MAX_PICTURE_BYTES", 50 * 1024 * 1024, minimum=1)
    )


def max_files_per_request() -> int:
    return _get(
        "D2D_LABELING_MAX_FILES_PER_REQUEST", lambda: env_int("D2D_LABELING_MAX_FILES_PER_REQUEST", 100, minimum=1)
    )


def max_page_size() -> int:
    return _get("D2D_LABELING_MAX_PAGE_SIZE", lambda: env_int("D2D_LABELING_MAX_PAGE_SIZE", 100, minimum=1))


def profile_picture_limit() -> int:
    """A task's profile lists at most this many picture URLs; the pictures endpoint pages the rest."""
    return _get(
        "D2D_LABELING_PROFILE_PICTURES", lambda: env_int("D2D_LABELING_PROFILE_PICTURES", 1000, minimum=1)
    )


def fetch_timeout() -> int:
    return _get("D2D_LABELING_FETCH_TIMEOUT", lambda: env_int("D2D_LABELING_FETCH_TIMEOUT", 20, minimum=1))


def fetch_max_redirects() -> int:
    return _get(
        "D2D_LABELING_FETCH_MAX_REDIRECTS", lambda: env_int("D2D_LABELING_FETCH_MAX_REDIRECTS", 3, minimum=0, maximum=10)
    )


def public_url() -> str:
    """The site's public origin for absolute picture URLs; blank: the request's own host."""
    return (getattr(settings, "D2D_PUBLIC_URL", "") or "").rstrip("/")


def url_allowlist() -> list[str]:
    """host:port pairs a picture URL import may reach although they are not global addresses."""
    return [item.lower() for item in _get("D2D_LABELING_URL_ALLOWLIST", lambda: env_list("D2D_LABELING_URL_ALLOWLIST", []))]
