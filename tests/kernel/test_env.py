"""Settings helpers reject junk with a message naming the variable."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from d2d import env


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("YES", True), ("0", False), ("off", False), ("", False)]
)
def test_it_reads_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("D2D_FLAG", raw)
    assert env.env_bool("D2D_FLAG") is expected


def test_it_rejects_a_misspelt_boolean(monkeypatch):
    monkeypatch.setenv("DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env.env_bool("DEBUG")


def test_it_rejects_non_integers_and_out_of_range(monkeypatch):
    monkeypatch.setenv("D2D_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="D2D_N must be an integer"):
        env.env_int("D2D_N", 1)
    monkeypatch.setenv("D2D_N", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int("D2D_N", 1, minimum=1)


def test_it_parses_database_urls():
    db = env.database_from_url("postgres://user:p%40ss@db.internal:6543/d2d?sslmode=require")
    assert (db["ENGINE"], db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "django.db.backends.postgresql",
        "d2d",
        "user",
        "p@ss",
        "db.internal",
        "6543",
    )
    assert db["OPTIONS"]["sslmode"] == "require" and db["OPTIONS"]["pool"]["max_size"] == 10
    assert env.database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    for bad in ("mysql://x/y", "postgres://host/", "sqlite://relative.db"):
        with pytest.raises(ImproperlyConfigured):
            env.database_from_url(bad)


def test_it_rejects_bad_origins_and_redis_urls(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "https://ok.example,ftp://bad")
    with pytest.raises(ImproperlyConfigured, match="ftp://bad"):
        env.env_origins("CORS_ALLOWED_ORIGINS", [])
    monkeypatch.setenv("REDIS_URL", "http://localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env.redis_url("REDIS_URL")


def test_it_reads_secrets_from_files_but_not_from_both(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret))
    assert env.env_secret("SECRET_KEY") == "s3cr3t"
    monkeypatch.setenv("SECRET_KEY", "other")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_secret("SECRET_KEY")


def test_it_generates_the_secret_key_once_and_keeps_it_private(tmp_path):
    path = tmp_path / "var" / "secret_key"
    first = env.persistent_secret_key(path)
    assert env.persistent_secret_key(path) == first and len(first) >= 50
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.sqlite
@pytest.mark.sqlite_only
def test_it_puts_the_embedded_database_in_wal_mode(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"


@pytest.mark.sqlite
@pytest.mark.sqlite_only
def test_a_request_thread_keeps_its_sqlite_connection_from_request_to_request(transactional_db):
    """The HTTP handler reuses its threads; each keeps its SQLite connection (opening one costs about
    1 ms), as the per-process pool did before it (docs/load.md)."""
    import threading

    from django.core.signals import request_finished, request_started
    from django.db import connection

    seen = []

    def two_requests():
        try:
            for _ in range(2):
                request_started.send(sender=None)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                seen.append(connection.connection)
                request_finished.send(sender=None)
        finally:
            connection.close()

    thread = threading.Thread(target=two_requests)
    thread.start()
    thread.join(30)
    assert len(seen) == 2 and seen[0] is not None and seen[0] is seen[1]


def test_it_reads_trusted_proxy_networks_and_rejects_junk(monkeypatch):
    monkeypatch.setenv("D2D_TRUSTED_PROXIES", "10.0.0.1, 10.1.2.3/16, fd00::/8")
    assert env.env_networks("D2D_TRUSTED_PROXIES") == ["10.0.0.1/32", "10.1.0.0/16", "fd00::/8"]
    monkeypatch.setenv("D2D_TRUSTED_PROXIES", "10.0.0.1, proxy.internal")
    with pytest.raises(ImproperlyConfigured, match="D2D_TRUSTED_PROXIES: 'proxy.internal'"):
        env.env_networks("D2D_TRUSTED_PROXIES")
