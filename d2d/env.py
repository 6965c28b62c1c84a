"""Typed readers for environment variables that fail loudly on junk.

Settings call these instead of ``os.environ`` so a typo such as ``DEBUG=ture``
stops the process at start-up with a message naming the variable, rather than
running with a silently wrong value.
"""

import ipaddress
import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_map(name: str, default: list[str] | None = None) -> dict[str, str]:
    """A comma-separated list of key=value pairs; a pair without both halves stops start-up."""
    pairs = {}
    for item in env_list(name, default):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ImproperlyConfigured(f"{name} must be key=value pairs separated by commas, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def env_networks(name: str, default: list[str] | None = None) -> list[str]:
    """A comma-separated list of addresses or networks (10.0.0.1, 10.0.0.0/8, fd00::/8), normalised."""
    networks = []
    for item in env_list(name, default):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network") from None
    return networks


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def env_secret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    direct = os.environ.get(name)
    if file_name and direct:
        raise ImproperlyConfigured(f"set either {name} or {name}_FILE, not both")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from None
    return direct if direct is not None else default


def env_origins(name: str, default: list[str]) -> list[str]:
    """CORS origins: each must be scheme://host[:port] with no path."""
    origins = env_list(name, default)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path not in {"", "/"}:
            raise ImproperlyConfigured(f"{name}: {origin!r} is not an origin like https://app.example.com")
    return [origin.rstrip("/") for origin in origins]


def database_from_url(url: str) -> dict:
    """DATABASE_URL to a Django DATABASES entry: postgres:// (psycopg 3) or sqlite:///path."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL must name a database, e.g. postgres://user@host:5432/d2d")
        # Persistent per-thread connections (CONN_MAX_AGE) would hold one connection for each
        # of the web process's D2D_HTTP_THREADS and each worker thread, idle or not; a psycopg
        # pool per process bounds them instead. D2D_DB_POOL_MAX_SIZE=0 turns the pool off.
        pool_max = env_int("D2D_DB_POOL_MAX_SIZE", 10, minimum=0)
        if pool_max > 0:
            from psycopg_pool import ConnectionPool

            # check: a pooled connection is tried (an empty query) before it is handed out, so one the
            # server dropped (a database restart, a failover) is replaced instead of failing a request.
            # Without it a web process answered 500 once per pooled connection after a restart.
            options.setdefault("pool", {"min_size": 1, "max_size": pool_max, "timeout": 30,
                                        "check": ConnectionPool.check_connection})
        # Django turns psycopg's prepared statements off (PgBouncer's transaction pooling broke
        # them before 1.21). Django's own cursors bind on the client and never prepare either
        # way; only the hot reads that ask for it (kernel/db.py, planned_cursor) are
        # prepared, after this many runs on one connection. D2D_DB_PREPARE_THRESHOLD=0: never.
        threshold = env_int("D2D_DB_PREPARE_THRESHOLD", 5, minimum=0)
        options.setdefault("prepare_threshold", threshold or None)
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 0,
        }
    if scheme == "sqlite":
        # sqlite:////abs/path.db is absolute; sqlite:///rel.db is relative to the working directory.
        path = unquote(parts.path)[1:]
        if parts.netloc:
            raise ImproperlyConfigured("DATABASE_URL for SQLite is sqlite:////absolute/path.db or sqlite:///relative.db")
        if not path or path == "/":
            raise ImproperlyConfigured("DATABASE_URL for SQLite must name a file")
        return sqlite_database(Path(path).resolve())
    raise ImproperlyConfigured(f"DATABASE_URL scheme {scheme!r} is not supported (use postgres:// or sqlite:///)")


def sqlite_database(path: Path) -> dict:
    # WAL and a busy timeout let the web server and the worker share one file. Opening a SQLite
    # connection costs about 1 ms (Django's functions and pragmas, the schema's parse on the first
    # query), so a request thread keeps its own: d2d's HTTP handler runs requests on a bounded set
    # of reused threads (kernel/asgi_http.py), so there are at most that many, and Django's
    # persistent connections serve as well as the per-process pool that stood here when every
    # request ran on a new thread (docs/load.md). The health check drops one that broke.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA synchronous=NORMAL;",  # WAL: kernel/sqlite.py, once per process
        },
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def redis_url(name: str) -> str:
    url = os.environ.get(name, "").strip()
    if url and urlsplit(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"{name} must be a redis://, rediss:// or unix:// URL, got {url!r}")
    return url


def persistent_secret_key(path: Path) -> str:
    """Generate a SECRET_KEY once and keep it in PATH, readable by the owner only."""
    from django.core.management.utils import get_random_secret_key

    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = get_random_secret_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
