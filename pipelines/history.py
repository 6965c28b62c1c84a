"""Change history of connectors without their secrets: which config keys a change set, never their values.

A connector's config is stored encrypted (pipelines/crypto.py) and may hold passwords, so its
history leaves the encrypted field out (a new ciphertext on every save would say nothing anyway)
and records instead the names of the keys whose values changed, were added or were removed.
"""

from django.db import models
from simple_history.signals import pre_create_historical_record

from pipelines.crypto import decrypt_json

MAX_LENGTH = 1000


class ConfigChangeRecord(models.Model):
    """Base of HistoricalSource and HistoricalDestination."""

    config_changes = models.CharField(
        max_length=MAX_LENGTH, blank=True, help_text="config keys this change set, added or removed (values are never kept)"
    )

    class Meta:
        abstract = True


def _leaves(value, prefix: str = "") -> dict:
    if isinstance(value, dict) and value:
        leaves = {}
        for key, item in value.items():
            leaves.update(_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return leaves
    return {prefix or "(whole config)": value}


def config_changes(before_encrypted: str, after_encrypted: str) -> str:
    """Dotted names of the config leaves that differ between two stored configs, sorted."""
    if before_encrypted == after_encrypted:
        return ""
    try:
        before, after = _leaves(decrypt_json(before_encrypted)), _leaves(decrypt_json(after_encrypted))
    except ValueError:
        return "(config replaced; the earlier one cannot be read with the current key)"
    if before == after:
        return ""
    names = sorted(name for name in before.keys() | after.keys() if before.get(name, ...) != after.get(name, ...))
    text = ", ".join(names)
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


def record_config_changes(sender, instance, history_instance, **kwargs):
    if not hasattr(history_instance, "config_changes"):
        return
    stored = getattr(instance, "_stored_config_encrypted", "")
    history_instance.config_changes = config_changes(stored, instance.config_encrypted)
    instance._stored_config_encrypted = instance.config_encrypted  # the next save compares with this one


def connect() -> None:
    pre_create_historical_record.connect(record_config_changes, dispatch_uid="pipelines.history.config_changes")
