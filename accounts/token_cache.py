"""Live API tokens, kept for D2D_TOKEN_CACHE_SECONDS so a polling client is not looked up per request.

Two tiers, both dropped at once by anything that revokes, expires, deletes or changes a token or
its user (the receivers at the end, and ``accounts.services.token_revoke``):

- **Shared:** the ``tokens`` alias of CACHES: Redis when REDIS_URL is set, else files under the data
  dir, which every process of the host (web server, worker, manage.py) shares. Entries are keyed by
  the SHA-256 of the token's secret, the value the database stores too, so a token row names its
  entry and the token itself is never stored; an entry holds the token's and its user's columns,
  without the password hash. Forgetting writes a tombstone (for as long as an entry lives) rather
  than deleting, and entries are only added, never overwritten, so a request that read the token
  just before a revocation cannot put the live token back after it.
- **In process:** with the host-local shared tier (no Redis), each process also keeps the entries
  it read, for as long as the host's token generation (``kernel.host_generation``) has not
  changed since it read them; forgetting changes it. Reading the shared tier's file on every
  request cost a fifth of the status endpoint's throughput (docs/load.md); the generation is a
  memory read. A reader takes the generation before it reads anything, so a change that lands
  while it reads makes what it read stale at once.

Writes that bypass Django's signals (``QuerySet.update``, raw SQL) are not seen until the entry
lapses, at most D2D_TOKEN_CACHE_SECONDS after it was first cached.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils import timezone

from accounts.models import ApiToken
from kernel.host_generation import HostGeneration

User = get_user_model()

TOKEN_CACHE_ALIAS = "tokens"
_REVOKED = "revoked"
_USER_FIELDS_NOT_CACHED = {"password"}
_LOCAL_MAX_ENTRIES = 10000

_local: dict[str, tuple[bytes, float, dict]] = {}  # secret hash -> (generation, until (epoch s), entry)
_generations: dict[str, HostGeneration] = {}


def shared_cache():
    alias = TOKEN_CACHE_ALIAS if TOKEN_CACHE_ALIAS in settings.CACHES else "default"
    return caches[alias]


def entry_key(secret_hash: str) -> str:
    return f"d2d:api-token:{secret_hash}"


def _seconds() -> int:
    return getattr(settings, "D2D_TOKEN_CACHE_SECONDS", 10)


def _host_generation() -> HostGeneration | None:
    path = getattr(settings, "D2D_TOKEN_GENERATION_FILE", None)
    if not path:
        return None
    generation = _generations.get(path)
    if generation is None:
        generation = _generations.setdefault(path, HostGeneration(path))
    return generation


def current_generation() -> bytes | None:
    """Read before reading a token (from either tier or the database) and pass to get and add."""
    generation = _host_generation()
    return None if generation is None else generation.read()


def _columns(instance, skip=()) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
            if f.attname not in skip and f.attname not in instance.get_deferred_fields()}


def _from_columns(model, db: str, columns: dict):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname in columns]
    return model.from_db(db, fields, [columns[name] for name in fields])  # the others are deferred


def get(secret_hash: str, generation: bytes | None = None) -> ApiToken | None:
    """The cached live token (with its user) for this secret hash, or None."""
    seconds = _seconds()
    if seconds <= 0:
        return None
    entry = _local_entry(secret_hash, generation)
    if entry is None:
        entry = shared_cache().get(entry_key(secret_hash))
        if not isinstance(entry, dict):
            return None  # absent or a tombstone
        _local_keep(secret_hash, generation, entry, seconds)
    token = _from_columns(ApiToken, entry["db"], entry["token"])
    token.user = _from_columns(User, entry["db"], entry["user"])
    return token


def add(token: ApiToken, generation: bytes | None = None) -> None:
    """Cache a token just read live from the database (never over a tombstone or another entry)."""
    seconds = _seconds()
    if token.expires_at is not None:
        seconds = min(seconds, int((token.expires_at - timezone.now()).total_seconds()))
    if seconds <= 0:
        return
    entry = {
        "db": token._state.db or "default",
        "cached_at": time.time(),
        "token": _columns(token),
        "user": _columns(token.user, skip=_USER_FIELDS_NOT_CACHED),
    }
    if shared_cache().add(entry_key(token.secret_hash), entry, timeout=seconds):
        _local_keep(token.secret_hash, generation, entry, seconds)


def forget(*secret_hashes: str) -> None:
    """Drop these tokens' entries now, and keep them out until the change is committed."""
    seconds = max(_seconds(), 1)
    keys = {entry_key(value): _REVOKED for value in secret_hashes if value}
    if not keys:
        return
    cache_ = shared_cache()

    def drop():
        # Tombstones first, then the generation: a reader that took the new generation finds them.
        cache_.set_many(keys, timeout=seconds)
        generation = _host_generation()
        if generation is not None:
            generation.change()
        for value in secret_hashes:
            _local.pop(value, None)

    drop()
    transaction.on_commit(drop)


def forget_user(user_id) -> None:
    forget(*ApiToken.objects.filter(user_id=user_id).values_list("secret_hash", flat=True))


def clear_local() -> None:
    """Empty this process's tier (tests do, between tests, as they clear the shared one)."""
    _local.clear()


def _local_entry(secret_hash: str, generation: bytes | None) -> dict | None:
    if generation is None:
        return None
    kept = _local.get(secret_hash)
    if kept is None or kept[0] != generation or kept[1] <= time.time():
        return None
    return kept[2]


def _local_keep(secret_hash: str, generation: bytes | None, entry: dict, seconds: int) -> None:
    if generation is None or "cached_at" not in entry:
        return
    until = entry["cached_at"] + seconds  # no longer than the shared entry it copies
    if until <= time.time():
        return
    if len(_local) >= _LOCAL_MAX_ENTRIES:
        _local.clear()
    _local[secret_hash] = (generation, until, entry)


def _token_changed(sender, instance, created=False, **kwargs) -> None:
    if not created:  # a new token has no entry yet
        forget(instance.secret_hash)


def _user_changed(sender, instance, created=False, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and set(update_fields) <= {"last_login"}):
        return  # a login: nothing an API token depends on
    forget_user(instance.pk)


post_save.connect(_token_changed, sender=ApiToken, dispatch_uid="d2d-token-cache-token-saved")
post_delete.connect(_token_changed, sender=ApiToken, dispatch_uid="d2d-token-cache-token-deleted")
post_save.connect(_user_changed, sender=User, dispatch_uid="d2d-token-cache-user-saved")
pre_delete.connect(_user_changed, sender=User, dispatch_uid="d2d-token-cache-user-deleted")
