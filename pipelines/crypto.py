"""Encryption at rest for connector configs: Fernet (AES-128-CBC + HMAC) keyed from settings."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    # D2D_ENCRYPTION_KEY may be a Fernet key or any passphrase; without it SECRET_KEY is used,
    # so rotating SECRET_KEY then needs D2D_ENCRYPTION_KEY set to the old one.
    secret = settings.D2D_ENCRYPTION_KEY or settings.SECRET_KEY
    try:
        return Fernet(secret.encode() if isinstance(secret, str) else secret)
    except ValueError:
        digest = hashlib.sha256(b"d2d-pipelines-config:" + secret.encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_json(value) -> str:
    return _fernet().encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()


def decrypt_json(token: str):
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ValueError("cannot decrypt a stored config: D2D_ENCRYPTION_KEY or SECRET_KEY changed") from exc
