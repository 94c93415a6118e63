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
import sys
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
        names = _codec(type(self)).names
        values = self.__dict__
        data = {name: _encode_value(values[name]) for name in names}
        return _json_encode(data).encode("utf-8")

    @classmethod
    def decode(cls: type[R], value: bytes) -> R:
        return typing.cast(R, _codec(cls).decode(value))

    def replace(self: R, **changes: Any) -> R:
        return dataclasses.replace(self, **changes)


def _encode_value(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


_json_encode = json.JSONEncoder(separators=(",", ":")).encode
_json_decode = json.JSONDecoder().decode

if sys.version_info >= (3, 11):

    def _base64(text: str) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # pragma: no cover - Python 3.10

    def _base64(text: str) -> bytes:
        return base64.b64decode(text, validate=True)


class _Codec:
    """The decoder of one record class, its field kinds resolved once (records are decoded on
    every token check, so this is on the hot path of every session validation)."""

    def __init__(self, cls: type[Record]) -> None:
        hints = typing.get_type_hints(cls)
        self.cls = cls
        self.names = tuple(field.name for field in dataclasses.fields(cls))
        self.fields = tuple((name, _KINDS[hints[name]]) for name in self.names)

    def decode(self, value: bytes) -> Record:
        name = self.cls.__name__
        try:
            data = _json_decode(value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value)
        except (ValueError, TypeError, AttributeError) as exc:
            raise RecordDecodeError(f"{name}: not JSON") from exc
        if type(data) is not dict:
            raise RecordDecodeError(f"{name}: not an object")
        values: list[object] = []
        for field, kind in self.fields:
            raw = data.get(field, _MISSING)
            if raw is _MISSING:
                raise RecordDecodeError(f"{name}: missing field {field}")
            # JSON decoding yields exact types, so ``type(...) is`` is the check (a bool is no int).
            if kind == _STR:
                ok = type(raw) is str
            elif kind == _INT:
                ok = type(raw) is int
            elif kind == _BYTES:
                ok = False
                if type(raw) is str:
                    try:
                        raw = _base64(raw)
                        ok = True
                    except (binascii.Error, ValueError):
                        pass
            elif kind == _BOOL:
                ok = type(raw) is bool
            else:  # _OPTIONAL_INT
                ok = raw is None or type(raw) is int
            if not ok:
                raise RecordDecodeError(f"{name}: bad field {field}")
            values.append(raw)
        return self.cls(*values)


_STR, _INT, _BYTES, _BOOL, _OPTIONAL_INT = range(5)
_KINDS: dict[object, int] = {str: _STR, int: _INT, bytes: _BYTES, bool: _BOOL, int | None: _OPTIONAL_INT}
_MISSING = object()
_CODECS: dict[type, _Codec] = {}


def _codec(cls: type[Record]) -> _Codec:
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = _Codec(cls)
    return codec


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
