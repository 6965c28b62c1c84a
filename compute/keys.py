"""The provider's secp256k1 key: its address, and ECIES encryption only the provider can undo.

The key comes from D2D_PROVIDER_PRIVATE_KEY (or _FILE); on the embedded default one is
generated once under DATA_DIR, like the SECRET_KEY. It is never logged or returned.
"""

import functools
import os
import secrets
from pathlib import Path

import ecies
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from eth_account import Account

from d2d.env import env_secret
from kernel.errors import DomainError


def _normalise(raw: str) -> str:
    value = raw.strip().lower().removeprefix("0x")
    if len(value) != 64 or any(char not in "0123456789abcdef" for char in value):
        raise ImproperlyConfigured("D2D_PROVIDER_PRIVATE_KEY must be 32 bytes of hex (64 hex digits, 0x optional)")
    return value


def _persistent_key(path: Path) -> str:
    if path.exists():
        existing = path.read_text().strip()
        if existing:
            return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when web and worker start together, one writes and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@functools.cache
def _private_key_hex() -> str:
    raw = env_secret("D2D_PROVIDER_PRIVATE_KEY") or _persistent_key(Path(settings.DATA_DIR) / "provider_key")
    return _normalise(raw)


@functools.cache
def provider_address() -> str:
    """The provider's checksummed Ethereum address: where consumers send datatokens."""
    return Account.from_key(bytes.fromhex(_private_key_hex())).address


def provider_private_key() -> bytes:
    """The key itself, for signing provider fees in-process; never logged, stored elsewhere or returned."""
    return bytes.fromhex(_private_key_hex())


def provider_public_key_hex() -> str:
    return Account.from_key(bytes.fromhex(_private_key_hex()))._key_obj.public_key.to_hex()


def provider_encrypt(plain: bytes) -> str:
    """ECIES-encrypt for the provider; the answer is 0x-prefixed hex, as Ocean's provider gives."""
    return "0x" + ecies.encrypt(provider_public_key_hex(), plain).hex()


def provider_decrypt(encrypted: str) -> bytes:
    try:
        data = bytes.fromhex(encrypted.strip().removeprefix("0x"))
        return ecies.decrypt(_private_key_hex(), data)
    except (ValueError, TypeError) as exc:
        # The cause names no key material, only that this ciphertext is not for this provider.
        raise DomainError(f"cannot decrypt: not a document encrypted for this provider ({type(exc).__name__})") from None
