"""Thread-safe in-memory ``Storage`` and ``UserStore``: for tests, development and single processes."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .core.credentials import generate_id
from .core.interfaces import (
    StorageEntryAlreadyExistsError,
    StorageEntryNotFoundError,
    User,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
)

__all__ = ["MemoryStorage", "MemoryUserStore"]


class MemoryStorage:
    """A dict behind a lock. Entries past their expiry hint are dropped when read."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._entries: dict[str, tuple[bytes, int, datetime]] = {}
        self._lock = threading.Lock()
        self._now = clock

    def _live(self, key: str) -> tuple[bytes, int, datetime] | None:
        entry = self._entries.get(key)
        if entry is not None and self._now is not None and entry[2] <= self._now():
            del self._entries[key]
            return None
        return entry

    def get(self, key: str) -> tuple[bytes, int]:
        with self._lock:
            entry = self._live(key)
        if entry is None:
            raise StorageEntryNotFoundError(key)
        return entry[0], entry[1]

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        with self._lock:
            if self._live(key) is not None:
                raise StorageEntryAlreadyExistsError(key)
            self._entries[key] = (bytes(value), 0, expires_at)

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        with self._lock:
            entry = self._live(key)
            if entry is None or entry[1] != counter:
                raise StorageEntryNotFoundError(key)
            self._entries[key] = (bytes(value), counter + 1, expires_at)

    def delete(self, key: str) -> None:
        with self._lock:
            if self._live(key) is None:
                raise StorageEntryNotFoundError(key)
            del self._entries[key]

    def keys(self) -> list[str]:
        """The keys currently stored (for tests and debugging)."""
        with self._lock:
            return list(self._entries)


class MemoryUserStore:
    """Users in a dict behind a lock, with the exact counter semantics of foundations.md F10.3."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._lock = threading.Lock()

    def _find_by_email(self, email_address: str) -> User | None:
        for user in self._users.values():
            if user.email_address == email_address:
                return user
        return None

    def create_user(
        self,
        email_address: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
    ) -> User:
        with self._lock:
            if self._find_by_email(email_address) is not None:
                raise UserEmailAddressAlreadyUsedError(email_address)
            user = User(
                id=generate_id(),
                email_address=email_address,
                password_hash=bytes(password_hash),
                password_salt=bytes(password_salt),
                password_hash_algorithm_id=password_hash_algorithm_id,
                disabled=False,
                display_name="",
                email_address_counter=0,
                password_hash_counter=0,
                disabled_counter=0,
                sessions_counter=0,
            )
            self._users[user.id] = user
            return user

    def get_user(self, user_id: str) -> User:
        with self._lock:
            user = self._users.get(user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    def get_user_by_email_address(self, email_address: str) -> User:
        with self._lock:
            user = self._find_by_email(email_address)
        if user is None:
            raise UserNotFoundError(email_address)
        return user

    def _swap(self, user_id: str, counter_name: str, expected: int, **changes: Any) -> None:
        # Caller holds the lock.
        user = self._users.get(user_id)
        if user is None or getattr(user, counter_name) != expected:
            raise UserNotFoundError(user_id)
        changes[counter_name] = expected + 1
        self._users[user_id] = dataclasses.replace(user, **changes)

    def update_user_email_address(
        self, user_id: str, email_address: str, expected_email_address_counter: int
    ) -> None:
        with self._lock:
            other = self._find_by_email(email_address)
            if other is not None and other.id != user_id:
                raise UserEmailAddressAlreadyUsedError(email_address)
            self._swap(
                user_id,
                "email_address_counter",
                expected_email_address_counter,
                email_address=email_address,
            )

    def update_user_password_hash(
        self,
        user_id: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
        expected_password_hash_counter: int,
    ) -> None:
        with self._lock:
            self._swap(
                user_id,
                "password_hash_counter",
                expected_password_hash_counter,
                password_hash=bytes(password_hash),
                password_hash_algorithm_id=password_hash_algorithm_id,
                password_salt=bytes(password_salt),
            )

    def increment_user_sessions_counter(self, user_id: str, expected_sessions_counter: int) -> None:
        with self._lock:
            self._swap(user_id, "sessions_counter", expected_sessions_counter)

    def delete_user(self, user_id: str) -> None:
        with self._lock:
            if self._users.pop(user_id, None) is None:
                raise UserNotFoundError(user_id)

    # Administration (what the application does; Faroe never calls these) ----------------------

    def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        """Disable or enable a user, incrementing the disabled counter (F10.2)."""
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                raise UserNotFoundError(user_id)
            self._swap(user_id, "disabled_counter", user.disabled_counter, disabled=disabled)

    def set_user_display_name(self, user_id: str, display_name: str) -> None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                raise UserNotFoundError(user_id)
            self._users[user_id] = dataclasses.replace(user, display_name=display_name)
