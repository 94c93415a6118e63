"""The contracts the engine depends on (foundations.md F1), and their error classes.

Everything here is framework-free. Implementations live elsewhere: ``faroe_flask.memory``,
``faroe_flask.sql``, ``faroe_flask.passwords``, ``faroe_flask.flask.mail`` and the user-server client.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = [
    "FaroeError",
    "StorageEntryNotFoundError",
    "StorageEntryAlreadyExistsError",
    "UserNotFoundError",
    "UserEmailAddressAlreadyUsedError",
    "UserDeletionRefusedError",
    "InvalidActionInvocationRequestError",
    "User",
    "Storage",
    "UserStore",
    "PasswordHashAlgorithm",
    "EmailSender",
    "ActionErrorLogger",
    "Clock",
    "EmailAddressChecker",
    "PasswordStrengthChecker",
]


class FaroeError(Exception):
    """Base class of every exception faroe-flask defines."""


class StorageEntryNotFoundError(FaroeError):
    """``Storage``: no entry under the key, or (for ``update``) its counter differs."""


class StorageEntryAlreadyExistsError(FaroeError):
    """``Storage.add``: an entry already exists under the key."""


class UserNotFoundError(FaroeError):
    """``UserStore``: no such user, or (for the updates) the expected counter differs."""


class UserEmailAddressAlreadyUsedError(FaroeError):
    """``UserStore``: another user already has this exact email address."""


class UserDeletionRefusedError(FaroeError):
    """``UserStore.delete_user``: the database refused (the application's rows still refer to the
    user, and no hook removed them); nothing was changed. The message names the constraint that
    refused, from the schema's names only, never a value."""


class InvalidActionInvocationRequestError(FaroeError):
    """The request body was rejected (foundations.md F2.3): answer HTTP 400 with an empty body."""


@dataclasses.dataclass(frozen=True)
class User:
    """A user as Faroe sees it (foundations.md F10.1)."""

    id: str
    email_address: str
    password_hash: bytes
    password_salt: bytes
    password_hash_algorithm_id: str
    disabled: bool
    display_name: str
    email_address_counter: int
    password_hash_counter: int
    disabled_counter: int
    sessions_counter: int


@runtime_checkable
class Storage(Protocol):
    """A strongly consistent key-value store with a counter per entry (foundations.md F7.1).

    ``expires_at`` is a timezone-aware UTC datetime and only a hint: a store may drop the entry
    at or after that moment, or keep it longer.
    """

    def get(self, key: str) -> tuple[bytes, int]:
        """Return ``(value, counter)``; raise ``StorageEntryNotFoundError`` if there is none."""
        ...

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        """Create an entry with counter 0; raise ``StorageEntryAlreadyExistsError`` if present."""
        ...

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        """Compare-and-swap: replace value and hint and increment the counter, only if the
        entry exists and its counter equals ``counter``; otherwise ``StorageEntryNotFoundError``."""
        ...

    def delete(self, key: str) -> None:
        """Remove the entry; raise ``StorageEntryNotFoundError`` if there is none."""
        ...


@runtime_checkable
class UserStore(Protocol):
    """Reads and changes the application's users (foundations.md F10.3)."""

    def create_user(
        self,
        email_address: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
    ) -> User: ...

    def get_user(self, user_id: str) -> User: ...

    def get_user_by_email_address(self, email_address: str) -> User: ...

    def update_user_email_address(
        self, user_id: str, email_address: str, expected_email_address_counter: int
    ) -> None: ...

    def update_user_password_hash(
        self,
        user_id: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
        expected_password_hash_counter: int,
    ) -> None: ...

    def increment_user_sessions_counter(self, user_id: str, expected_sessions_counter: int) -> None: ...

    def delete_user(self, user_id: str) -> None: ...


@runtime_checkable
class PasswordHashAlgorithm(Protocol):
    """A deterministic password hash (foundations.md F6.1)."""

    @property
    def id(self) -> str: ...

    @property
    def salt_size(self) -> int: ...

    def hash(self, password: str, salt: bytes) -> bytes: ...


@runtime_checkable
class EmailSender(Protocol):
    """Sends the six messages of foundations.md F11. Each method returns or raises."""

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None: ...

    def send_user_email_address_update_email_verification_code(
        self, email_address: str, display_name: str, code: str
    ) -> None: ...

    def send_user_password_reset_temporary_password(
        self, email_address: str, display_name: str, temporary_password: str
    ) -> None: ...

    def send_user_signed_in_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None: ...

    def send_user_password_updated_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None: ...

    def send_user_email_address_updated_notification(
        self, email_address: str, display_name: str, new_email_address: str, timestamp: datetime
    ) -> None: ...


@runtime_checkable
class ActionErrorLogger(Protocol):
    """Receives every internal error (foundations.md F12). Must not raise."""

    def log_action_error(
        self, timestamp: datetime, message: str, action_invocation_id: str, action: str
    ) -> None: ...


@runtime_checkable
class Clock(Protocol):
    """Returns the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


@runtime_checkable
class EmailAddressChecker(Protocol):
    """Decides whether an address may be used for a new account or an email change (F4.5)."""

    def is_allowed(self, email_address: str) -> bool: ...


@runtime_checkable
class PasswordStrengthChecker(Protocol):
    """Decides whether a new password is strong enough (F5.2). Raises on failure."""

    def is_strong(self, password: str) -> bool: ...
