"""``Authorization: Bearer <secret>`` checks shared by the Faroe and user-server endpoints."""

from __future__ import annotations

import hashlib
import hmac


def secret_digest(secret: str) -> bytes:
    """What a presented secret is compared with: SHA-256 of the secret's UTF-8 bytes."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


def bearer_matches(header: str | None, expected_digest: bytes) -> bool:
    """Whether ``header`` is ``Bearer <secret>`` with the expected secret.

    Compares SHA-256 digests in constant time, so neither the content nor the length of the
    secret leaks. WSGI gives header values as latin-1 decoded bytes; encoding them back as latin-1
    recovers the bytes the client sent (UTF-8 for a non-ASCII secret).
    """
    if not header:
        return False
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    try:
        presented_bytes = presented.strip().encode("latin-1")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(hashlib.sha256(presented_bytes).digest(), expected_digest)
