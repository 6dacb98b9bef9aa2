"""Opaque public ids (``cus_…``, ``sub_…``): database ids never leave the system."""

import os

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def new_public_id(prefix: str, length: int = 20) -> str:
    """``prefix_`` + ``length`` base-62 characters from the OS's CSPRNG (~119 bits)."""
    n = int.from_bytes(os.urandom(16), "big")
    chars = []
    for _ in range(length):
        n, r = divmod(n, 62)
        chars.append(_ALPHABET[r])
    return f"{prefix}_" + "".join(chars)
