"""The records Faroe keeps in storage (foundations.md F7.4) and their byte encoding.

The encoding is private to this implementation (F7.1 rule 4): compact JSON, bytes as base64.
A value that does not decode into the expected record raises ``RecordDecodeError``, which the
actions report as ``internal_error``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import typing
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")

#: Storage and user counters are int32 (foundations.md F7.1, F10.1).
INT32_MAX = 2_147_483_647


class RecordDecodeError(ValueError):
    """A stored value is not a valid record of the expected kind."""


@dataclasses.dataclass(frozen=True)
class Record:
    """Base class: every record has an id and a creation time in whole unix seconds."""

    PREFIX: ClassVar[str] = ""

    def encode(self) -> bytes:
        data = {
            field.name: _encode_value(getattr(self, field.name)) for field in dataclasses.fields(self)
        }
        return json.dumps(data, separators=(",", ":")).encode("utf-8")

    @classmethod
    def decode(cls: type[R], value: bytes) -> R:
        try:
            data = json.loads(value)
        except (ValueError, TypeError) as exc:
            raise RecordDecodeError(f"{cls.__name__}: not JSON") from exc
        if not isinstance(data, dict):
            raise RecordDecodeError(f"{cls.__name__}: not an object")
        kwargs: dict[str, Any] = {}
        for name, kind in _field_kinds(cls).items():
            if name not in data:
                raise RecordDecodeError(f"{cls.__name__}: missing field {name}")
            kwargs[name] = _decode_value(cls.__name__, name, kind, data[name])
        return cls(**kwargs)

    def replace(self: R, **changes: Any) -> R:
        return dataclasses.replace(self, **changes)


def _encode_value(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


_FIELD_KINDS: dict[type, dict[str, object]] = {}


def _field_kinds(cls: type) -> dict[str, object]:
    kinds = _FIELD_KINDS.get(cls)
    if kinds is None:
        hints = typing.get_type_hints(cls)
        kinds = {field.name: hints[field.name] for field in dataclasses.fields(cls)}
        _FIELD_KINDS[cls] = kinds
    return kinds


def _decode_value(record: str, name: str, kind: object, raw: object) -> object:
    if kind is bytes:
        if isinstance(raw, str):
            try:
                return base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                pass
    elif kind is bool:
        if isinstance(raw, bool):
            return raw
    elif kind is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
    elif kind is str:
        if isinstance(raw, str):
            return raw
    elif kind == (int | None):
        if raw is None or (isinstance(raw, int) and not isinstance(raw, bool)):
            return raw
    raise RecordDecodeError(f"{record}: bad field {name}")


@dataclasses.dataclass(frozen=True)
class Session(Record):
    PREFIX: ClassVar[str] = "aaah."

    id: str
    user_id: str
    secret_hash: bytes
    token_last_verified_at: int
    user_last_checked_at: int | None  # None means "never"
    user_disabled_counter: int
    user_sessions_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class Signup(Record):
    PREFIX: ClassVar[str] = "aaai."

    id: str
    secret_hash: bytes
    email_address: str
    email_address_verification_code: str
    email_address_verified: bool
    password_hash: bytes
    password_hash_algorithm_id: str
    password_salt: bytes
    password_set: bool
    created_at: int


@dataclasses.dataclass(frozen=True)
class Signin(Record):
    PREFIX: ClassVar[str] = "aaaj."

    id: str
    user_id: str
    secret_hash: bytes
    user_first_factor_verified: bool
    user_password_hash_counter: int
    user_disabled_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class UserEmailAddressUpdate(Record):
    PREFIX: ClassVar[str] = "aaak."

    id: str
    user_id: str
    session_id: str
    secret_hash: bytes
    new_email_address: str
    email_address_verification_code: str
    new_email_address_verified: bool
    user_identity_verified: bool
    user_password_hash_counter: int
    user_email_address_counter: int
    user_disabled_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class UserPasswordUpdate(Record):
    PREFIX: ClassVar[str] = "aaam."

    id: str
    user_id: str
    session_id: str
    secret_hash: bytes
    user_identity_verified: bool
    new_password_hash: bytes
    new_password_hash_algorithm_id: str
    new_password_salt: bytes
    new_password_set: bool
    user_password_hash_counter: int
    user_disabled_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class UserPasswordReset(Record):
    PREFIX: ClassVar[str] = "aaan."

    id: str
    user_id: str
    secret_hash: bytes
    temporary_password_hash: bytes
    temporary_password_hash_algorithm_id: str
    temporary_password_salt: bytes
    user_first_factor_verified: bool
    new_password_hash: bytes
    new_password_hash_algorithm_id: str
    new_password_salt: bytes
    new_password_set: bool
    user_password_hash_counter: int
    user_email_address_counter: int
    user_disabled_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class UserDeletion(Record):
    PREFIX: ClassVar[str] = "aaap."

    id: str
    user_id: str
    session_id: str
    secret_hash: bytes
    user_identity_verified: bool
    user_password_hash_counter: int
    user_disabled_counter: int
    created_at: int


@dataclasses.dataclass(frozen=True)
class TokenBucket(Record):
    """A rate-limit bucket (F7.4). It has no id: its key is the prefix plus a user id or address."""

    count: int
    last_refilled_at: int
