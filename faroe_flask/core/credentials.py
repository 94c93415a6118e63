"""Ids, secrets, tokens, codes and temporary passwords (foundations.md F3), and secret checks."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading

LOWERCASE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
UPPERCASE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

ID_LENGTH = 24
SECRET_LENGTH = 24
VERIFICATION_CODE_LENGTH = 8
TEMPORARY_PASSWORD_LENGTH = 12

_LOWERCASE_SET = frozenset(LOWERCASE_ALPHABET)


def _byte_table(alphabet: str) -> bytes:
    # One random byte per character; its top five bits index the 32-character alphabet (F3.2).
    return bytes(ord(alphabet[byte >> 3]) for byte in range(256))


_LOWERCASE_TABLE = _byte_table(LOWERCASE_ALPHABET)
_UPPERCASE_TABLE = _byte_table(UPPERCASE_ALPHABET)


def _random_string(table: bytes, length: int) -> str:
    return secrets.token_bytes(length).translate(table).decode("ascii")


class _IdBytes:
    """The OS CSPRNG's bytes for public identifiers, read 12 KiB at a time (F3.2: the reference
    draws ids from a stream seeded once from the OS CSPRNG; secrets, codes and temporary
    passwords still come from ``secrets`` directly). Each ``os.urandom`` call releases the GIL,
    which costs a thread switch on a busy server: one read serves 512 ids. A forked child starts
    with a fresh buffer, so processes never share ids."""

    _SIZE = ID_LENGTH * 512

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()  # a new one: the parent's may have been held at the fork
        self._buffer = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            offset = self._offset
            if offset + count > len(self._buffer):
                self._buffer, offset = os.urandom(self._SIZE), 0
            self._offset = offset + count
            return self._buffer[offset : offset + count]


_id_bytes = _IdBytes()


def generate_id() -> str:
    """A 24-character public identifier (records and action invocations)."""
    return _id_bytes.take(ID_LENGTH).translate(_LOWERCASE_TABLE).decode("ascii")


def generate_secret() -> str:
    """The 24-character secret half of a token."""
    return _random_string(_LOWERCASE_TABLE, SECRET_LENGTH)


def generate_email_address_verification_code() -> str:
    return _random_string(_UPPERCASE_TABLE, VERIFICATION_CODE_LENGTH)


def generate_temporary_password() -> str:
    return _random_string(_UPPERCASE_TABLE, TEMPORARY_PASSWORD_LENGTH)


def hash_secret(secret: str) -> bytes:
    """What storage holds instead of a token secret: SHA-256 of its UTF-8 bytes (F3.4)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def secret_matches(presented_secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(presented_secret), stored_hash)


def create_token(record_id: str, secret: str) -> str:
    return f"{record_id}.{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """Split ``<id>.<secret>``; ``None`` unless the id is 24 characters of the lowercase alphabet.

    Rejecting a malformed id here (F3.3, the recommended extra check) keeps storage keys short and
    costs no storage access.
    """
    parts = token.split(".")
    if len(parts) != 2:
        return None
    record_id, secret = parts
    if len(record_id) != ID_LENGTH or not _LOWERCASE_SET.issuperset(record_id):
        return None
    return record_id, secret


def code_matches(presented_code: str, stored_code: str) -> bool:
    """Verification codes: upper-case the input, then compare in constant time (policy item 10)."""
    return hmac.compare_digest(
        presented_code.upper().encode("utf-8", "surrogatepass"), stored_code.encode("utf-8")
    )
