"""Secrets at rest (gateway credentials): Fernet (AES-128-CBC + HMAC-SHA256).

Keys come from ``FIELD_ENCRYPTION_KEYS`` (comma-separated, newest first, so a
key can be rotated: old ciphertexts still decrypt, new ones use the first);
without it, one key is derived from ``SECRET_KEY``.
"""

import base64
import hashlib
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS) or [
        base64.urlsafe_b64encode(
            hashlib.sha256(f"ciclo-field-encryption:{settings.SECRET_KEY}".encode()).digest()
        ).decode()
    ]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_json(value: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(value, sort_keys=True).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    try:
        return dict(json.loads(_fernet().decrypt(token.encode())))
    except InvalidToken as exc:
        raise ValueError("These credentials cannot be decrypted with the configured keys.") from exc
