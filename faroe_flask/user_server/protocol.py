"""What both sides of the user-server protocol share (user-server.md U2, U4, U5, U6)."""

from __future__ import annotations

from ..core.records import INT32_MAX

import base64
import binascii
from typing import Any, Literal

from ..core.interfaces import User

__all__ = [
    "ArgumentKind",
    "ACTION_ARGUMENTS",
    "USER_RETURNING_ACTIONS",
    "ERROR_MAPPING",
    "INT32_MIN",
    "INT32_MAX",
    "encode_bytes",
    "decode_bytes",
    "is_int32",
    "encode_user",
    "decode_user",
]

ArgumentKind = Literal["string", "bytes", "int32"]

INT32_MIN = -(2**31)

# U5: the seven actions and their arguments, in the order Faroe writes them.
ACTION_ARGUMENTS: dict[str, tuple[tuple[str, ArgumentKind], ...]] = {
    "create_user": (
        ("email_address", "string"),
        ("password_hash", "bytes"),
        ("password_hash_algorithm_id", "string"),
        ("password_salt", "bytes"),
    ),
    "get_user": (("user_id", "string"),),
    "get_user_by_email_address": (("email_address", "string"),),
    "update_user_email_address": (
        ("user_id", "string"),
        ("email_address", "string"),
        ("user_email_address_counter", "int32"),
    ),
    "update_user_password_hash": (
        ("user_id", "string"),
        ("password_hash", "bytes"),
        ("password_hash_algorithm_id", "string"),
        ("password_salt", "bytes"),
        ("user_password_hash_counter", "int32"),
    ),
    "increment_user_sessions_counter": (
        ("user_id", "string"),
        ("user_sessions_counter", "int32"),
    ),
    "delete_user": (("user_id", "string"),),
}

USER_RETURNING_ACTIONS = frozenset({"create_user", "get_user", "get_user_by_email_address"})

# U6: per action, whether ``user_not_found`` and ``email_address_already_used`` are recognised.
# Every other code, and a code not recognised for the action, is a generic error.
ERROR_MAPPING: dict[str, tuple[bool, bool]] = {
    "create_user": (False, True),
    "get_user": (True, False),
    "get_user_by_email_address": (True, False),
    "update_user_email_address": (True, True),
    "update_user_password_hash": (True, True),
    "increment_user_sessions_counter": (True, True),
    "delete_user": (True, False),
}


def encode_bytes(value: bytes) -> str:
    """Standard base64 with padding; empty bytes are ``""`` (U2)."""
    return base64.b64encode(value).decode("ascii")


def decode_bytes(value: str) -> bytes:
    """Strict standard base64 with required padding; raise ``ValueError`` otherwise (U4)."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not standard base64 with padding") from None


def is_int32(value: object) -> bool:
    """A JSON integer (not a boolean, not a float) in the int32 range."""
    return isinstance(value, int) and not isinstance(value, bool) and INT32_MIN <= value <= INT32_MAX


def encode_user(user: User) -> dict[str, Any]:
    """The user model of U4, members in the order of the spec's example."""
    return {
        "id": user.id,
        "email_address": user.email_address,
        "password_hash": encode_bytes(user.password_hash),
        "password_hash_algorithm_id": user.password_hash_algorithm_id,
        "password_salt": encode_bytes(user.password_salt),
        "disabled": user.disabled,
        "display_name": user.display_name,
        "email_address_counter": user.email_address_counter,
        "password_hash_counter": user.password_hash_counter,
        "disabled_counter": user.disabled_counter,
        "sessions_counter": user.sessions_counter,
    }


_STRINGS = ("id", "email_address", "password_hash_algorithm_id", "display_name")
_BYTES = ("password_hash", "password_salt")
_COUNTERS = ("email_address_counter", "password_hash_counter", "disabled_counter", "sessions_counter")


def decode_user(obj: dict[str, Any], path: str = "values.user.") -> User:
    """Read a U4 user model strictly; raise ``ValueError`` naming the bad member (never its value)."""
    fields: dict[str, Any] = {}
    for name in (*_STRINGS, *_BYTES, "disabled", *_COUNTERS):
        if name not in obj:
            raise ValueError(f"{path}{name} is missing")
    for name in _STRINGS:
        if not isinstance(obj[name], str):
            raise ValueError(f"{path}{name} must be a string")
        fields[name] = obj[name]
    for name in _BYTES:
        raw = obj[name]
        if not isinstance(raw, str):
            raise ValueError(f"{path}{name} must be a string")
        try:
            fields[name] = decode_bytes(raw)
        except ValueError:
            raise ValueError(f"{path}{name} is not standard base64 with padding") from None
    if not isinstance(obj["disabled"], bool):
        raise ValueError(f"{path}disabled must be a boolean")
    fields["disabled"] = obj["disabled"]
    for name in _COUNTERS:
        if not is_int32(obj[name]):
            raise ValueError(f"{path}{name} must be an int32 integer")
        fields[name] = obj[name]
    return User(**fields)
