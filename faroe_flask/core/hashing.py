"""Hashing and verifying passwords under the process-wide concurrency limit (foundations.md F6)."""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence

from .actions import internal_error
from .interfaces import PasswordHashAlgorithm

_logger = logging.getLogger("faroe_flask")


class PasswordHasher:
    """Hashes user and temporary passwords; at most ``max_concurrent`` hashes run at once.

    Argon2 releases the GIL, so hashes on different threads really run in parallel up to the limit.
    ``wait_observer``, when set, is called with the seconds each hash waited for a free slot.
    """

    def __init__(
        self,
        user_algorithms: Sequence[PasswordHashAlgorithm],
        temporary_algorithm: PasswordHashAlgorithm,
        max_concurrent: int,
    ) -> None:
        if not user_algorithms:
            raise ValueError("user_password_hash_algorithms needs at least one algorithm")
        if max_concurrent < 1:
            raise ValueError("max_concurrent_password_hashing must be at least 1")
        self.user_algorithms = tuple(user_algorithms)
        self.temporary_algorithm = temporary_algorithm
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.wait_observer: Callable[[float], None] | None = None

    def _hash(self, algorithm: PasswordHashAlgorithm, password: str, salt: bytes) -> bytes:
        observer = self.wait_observer
        if observer is None:
            with self._slots:
                return algorithm.hash(password, salt)
        started = time.perf_counter()
        with self._slots:
            try:
                observer(time.perf_counter() - started)
            except Exception:  # noqa: BLE001 - a broken observer must not fail the hash
                _logger.exception("the password hash wait observer raised")
            return algorithm.hash(password, salt)

    def _hash_new(self, algorithm: PasswordHashAlgorithm, password: str) -> tuple[bytes, str, bytes]:
        salt = secrets.token_bytes(algorithm.salt_size)
        return self._hash(algorithm, password, salt), algorithm.id, salt

    def hash_user_password(self, password: str) -> tuple[bytes, str, bytes]:
        """Hash a new user password with the first algorithm: ``(hash, algorithm id, salt)``."""
        return self._hash_new(self.user_algorithms[0], password)

    def hash_temporary_password(self, password: str) -> tuple[bytes, str, bytes]:
        return self._hash_new(self.temporary_algorithm, password)

    def verify_user_password(
        self, password: str, password_hash: bytes, algorithm_id: str, salt: bytes
    ) -> bool:
        """Compare in constant time; an unknown algorithm id is an internal error (F6.3)."""
        for algorithm in self.user_algorithms:
            if algorithm.id == algorithm_id:
                return hmac.compare_digest(self._hash(algorithm, password, salt), password_hash)
        internal_error("the user's password hash algorithm is not supported")

    def temporary_algorithm_supports(self, algorithm_id: str) -> bool:
        return algorithm_id == self.temporary_algorithm.id

    def verify_temporary_password(self, password: str, password_hash: bytes, salt: bytes) -> bool:
        return hmac.compare_digest(
            self._hash(self.temporary_algorithm, password, salt), password_hash
        )
