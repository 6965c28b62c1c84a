"""The API-token cache (accounts/services.py): a token is trusted from the cache for a few seconds,
but every way of revoking, expiring, deleting or changing it or its user takes effect at once."""

from datetime import timedelta
from unittest import mock

import pickle

import pytest
from django.conf import settings as django_settings
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import token_cache
from accounts.models import ApiToken, hash_token_secret
from accounts.services import token_authenticate, token_issue, token_revoke
from tests.support.components import needs

pytestmark = pytest.mark.django_db


def client(raw: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")


def warm(raw: str) -> None:
    """Authenticate twice, so the token is in the cache and the second use came from it."""
    assert client(raw).get("/api/v1/auth/me").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(raw) is not None
    assert not [q for q in queries.captured_queries if "accounts_apitoken" in q["sql"]], "the token came from the database"


def test_it_serves_a_live_token_from_the_cache_without_a_query(alice):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    with CaptureQueriesContext(connection) as queries:
        token = token_authenticate(raw)
    assert len(queries.captured_queries) == 0
    assert token.user.username == "alice" and token.user.is_active and token.key_id == raw.split("_")[1]


def test_it_keys_entries_by_the_secrets_hash_and_stores_neither_the_token_nor_the_password(alice):
    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    entry = token_cache.shared_cache().get(token_cache.entry_key(token.secret_hash))
    assert isinstance(entry, dict)
    text = repr(entry)
    secret = raw.split("_", 2)[2]
    assert raw not in text and secret not in text
    assert "password" not in entry["user"] and alice.password not in text
    assert token_cache.entry_key(hash_token_secret(secret)) == token_cache.entry_key(token.secret_hash)


def test_a_cached_user_still_loads_its_password_lazily_and_saves_without_losing_it(alice):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    user = token_authenticate(raw).user
    user.first_name = "Alice"
    user.save()  # a deferred password is not written back
    alice.refresh_from_db()
    assert alice.first_name == "Alice" and alice.check_password("correct-horse-battery")


def test_a_revoked_token_stops_working_at_once_through_the_api(alice):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    assert client(raw).delete("/api/v1/auth/token").status_code == 204
    assert client(raw).get("/api/v1/auth/me").status_code == 401
    assert token_authenticate(raw) is None


def test_a_token_revoked_by_id_stops_working_at_once(alice, api):
    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    assert api(alice).delete(f"/api/v1/auth/tokens/{token.pk}").status_code == 200
    assert client(raw).get("/api/v1/auth/me").status_code == 401


def test_a_token_revoked_through_the_service_or_manage_py_stops_working_at_once(alice):
    token, raw = token_issue(user=alice, name="a")
    warm(raw)
    token_revoke(token=ApiToken.objects.get(pk=token.pk))
    assert client(raw).get("/api/v1/auth/me").status_code == 401

    token, raw = token_issue(user=alice, name="b")
    warm(raw)
    call_command("token_revoke", raw)
    assert client(raw).get("/api/v1/auth/me").status_code == 401


def test_a_token_saved_revoked_or_deleted_as_a_model_stops_working_at_once(alice):
    token, raw = token_issue(user=alice, name="admin form")
    warm(raw)
    row = ApiToken.objects.get(pk=token.pk)
    row.revoked_at = timezone.now()
    row.save()  # the admin's change form
    assert token_authenticate(raw) is None

    token, raw = token_issue(user=alice, name="deleted")
    warm(raw)
    ApiToken.objects.get(pk=token.pk).delete()
    assert token_authenticate(raw) is None


def test_an_expired_token_stops_working_at_once_even_when_cached(alice, settings):
    settings.D2D_TOKEN_CACHE_SECONDS = 300
    token, raw = token_issue(user=alice, name="short")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=30))
    warm(raw)
    later = timezone.now() + timedelta(seconds=31)
    from unittest import mock

    with mock.patch("django.utils.timezone.now", return_value=later):
        assert token_authenticate(raw) is None


def test_a_changed_token_is_read_again_from_the_database(alice):
    token, raw = token_issue(user=alice, name="renamed")
    warm(raw)
    row = ApiToken.objects.get(pk=token.pk)
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save()  # the admin's change form setting an expiry in the past
    assert token_authenticate(raw) is None


def test_an_entry_never_outlives_the_tokens_expiry(alice, settings):
    settings.D2D_TOKEN_CACHE_SECONDS = 300
    token, raw = token_issue(user=alice, name="soon")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=2))
    assert token_authenticate(raw) is not None
    cache_ = token_cache.shared_cache()
    key = cache_.make_key(token_cache.entry_key(token.secret_hash))
    if isinstance(cache_, RedisCache):
        assert 0 < cache_._cache.get_client(key).ttl(key) <= 3
    else:  # the host-local files: the expiry is the file's first line
        with open(cache_._key_to_file(token_cache.entry_key(token.secret_hash)), "rb") as entry:
            assert pickle.load(entry) - timezone.now().timestamp() <= 2.5


def test_deactivating_or_deleting_the_user_stops_the_token_at_once(alice, bob):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    alice.is_active = False
    alice.save()
    assert client(raw).get("/api/v1/auth/me").status_code == 401

    _, raw = token_issue(user=bob, name="poll")
    warm(raw)
    bob.delete()
    assert token_authenticate(raw) is None


def test_a_change_of_the_users_rights_is_seen_at_once(alice, api):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    assert token_authenticate(raw).user.is_staff is True


def test_a_login_does_not_drop_the_users_entries(alice):
    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])
    assert isinstance(token_cache.shared_cache().get(token_cache.entry_key(token.secret_hash)), dict)


def test_a_request_that_read_the_token_before_a_revocation_cannot_cache_it_after(alice):
    token, raw = token_issue(user=alice, name="race")
    stale = ApiToken.objects.select_related("user").get(pk=token.pk)  # read while live
    token_revoke(token=ApiToken.objects.get(pk=token.pk))
    token_cache.add(stale)  # the slow request now tries to cache what it read
    assert token_authenticate(raw) is None


def test_a_wrong_secret_or_key_id_never_matches_a_cached_entry(alice):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    key_id, secret = raw[len("d2d_") :].split("_", 1)
    assert token_authenticate(f"d2d_{key_id}_{secret[:-1]}x") is None
    assert token_authenticate(f"d2d_000000000000_{secret}") is None
    assert token_authenticate(f"d2d_\xe9\xff_{secret}") is None  # not ASCII: refused, not an error
    assert client(f"d2d_\xe9_{secret}").get("/api/v1/auth/me").status_code == 401


def test_the_cache_can_be_turned_off(alice, settings):
    settings.D2D_TOKEN_CACHE_SECONDS = 0
    _, raw = token_issue(user=alice, name="poll")
    assert token_authenticate(raw) is not None
    with CaptureQueriesContext(connection) as queries:
        assert token_authenticate(raw) is not None
    assert any("accounts_apitoken" in q["sql"] for q in queries.captured_queries)


def test_last_use_is_still_written_at_most_once_a_minute(alice):
    token, raw = token_issue(user=alice, name="poll")
    assert token_authenticate(raw) is not None
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            token_authenticate(raw)
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


# --- the in-process tier (the embedded default's host-local cache; with Redis there is none) -----


def shared_reads(raw: str, times: int = 3) -> int:
    """How often authenticating ``times`` times reads the shared tier."""
    shared = token_cache.shared_cache()
    with mock.patch.object(shared, "get", wraps=shared.get) as get:
        for _ in range(times):
            assert token_authenticate(raw) is not None
    return get.call_count


@pytest.mark.embedded
def test_a_process_keeps_a_live_token_in_memory_and_reads_no_file_for_it(alice):
    _, raw = token_issue(user=alice, name="poll")
    warm(raw)
    assert shared_reads(raw) == 0


@pytest.mark.embedded
def test_any_forgetting_changes_the_hosts_generation_and_empties_the_memory_tier(alice):
    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    before = token_cache.current_generation()
    alice.first_name = "Alice"
    alice.save()  # a change of the user forgets their tokens
    assert token_cache.current_generation() != before
    assert shared_reads(raw, times=2) == 2  # memory is not trusted any more: the shared tier (a
    # tombstone, for D2D_TOKEN_CACHE_SECONDS) and the database answer


@pytest.mark.embedded
def test_a_token_read_before_a_revocation_is_not_kept_in_memory_after_it(alice):
    token, raw = token_issue(user=alice, name="race")
    generation = token_cache.current_generation()  # the slow request starts
    stale = ApiToken.objects.select_related("user").get(pk=token.pk)  # and reads the token live
    token_revoke(token=ApiToken.objects.get(pk=token.pk))
    token_cache.add(stale, generation)  # refused by the shared tier's tombstone
    assert token_authenticate(raw) is None
    # Without the tombstone (lapsed, say), the shared tier takes it; memory still does not, as the
    # generation the request started with is gone.
    token_cache.shared_cache().clear()
    token_cache.add(stale, generation)
    assert token_cache._local_entry(token.secret_hash, token_cache.current_generation()) is None


@pytest.mark.embedded
def test_the_memory_tier_lasts_no_longer_than_the_shared_entry(alice, settings):
    settings.D2D_TOKEN_CACHE_SECONDS = 5
    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    generation = token_cache.current_generation()
    assert token_cache._local_entry(token.secret_hash, generation) is not None
    import time

    with mock.patch("accounts.token_cache.time.time", return_value=time.time() + 6):
        assert token_cache._local_entry(token.secret_hash, generation) is None


@pytest.mark.embedded
@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_revocation_by_another_process_is_seen_at_once_by_this_ones_memory(alice):
    import subprocess
    import sys

    from tests.support.processes import ROOT, child_env

    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    assert shared_reads(raw) == 0  # served from this process's memory
    done = subprocess.run([sys.executable, "manage.py", "token_revoke", raw], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert token_authenticate(raw) is None
    assert client(raw).get("/api/v1/auth/me").status_code == 401


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@needs(None if django_settings.REDIS_URL else "REDIS_URL is not set: the token cache on Redis")
def test_a_revocation_by_another_process_is_seen_at_once_through_redis(alice):
    """Production with Redis: the entry lives in Redis, and manage.py in another process drops it."""
    import subprocess
    import sys

    from tests.support.processes import ROOT, child_env

    token, raw = token_issue(user=alice, name="poll")
    warm(raw)
    shared = token_cache.shared_cache()
    assert isinstance(shared, RedisCache)
    assert isinstance(shared.get(token_cache.entry_key(token.secret_hash)), dict), "the live entry is in Redis"
    done = subprocess.run([sys.executable, "manage.py", "token_revoke", raw], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert shared.get(token_cache.entry_key(token.secret_hash)) == "revoked", "the other process left a tombstone"
    assert token_authenticate(raw) is None
    assert client(raw).get("/api/v1/auth/me").status_code == 401
