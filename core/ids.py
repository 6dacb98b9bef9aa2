"""Opaque public ids (``cus_…``, ``sub_…``): database ids never leave the system."""

import base64
import os


def new_public_id(prefix: str) -> str:
    """``prefix_`` + 24 lowercase letters and digits: 120 random bits from the OS."""
    return f"{prefix}_" + base64.b32encode(os.urandom(15)).decode().lower()
