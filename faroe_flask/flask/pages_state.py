"""The pages' flow state on the server; Flask's session cookie holds only an opaque handle.

What a flow needs between two requests (its Faroe token, the address typed, the ``next`` target,
the extra sign-up fields) is one small record in the configured Faroe storage:

* **Handle.** 32 random bytes (``secrets.token_urlsafe``) in Flask's session under
  ``_faroe_pages``: no Faroe token is ever in the cookie.
* **Sealed with the handle.** The record's key is HMAC-SHA256(handle, "key"), so the storage
  never holds the handle; its value is the JSON state XORed with a SHAKE-256 keystream of
  HMAC-SHA256(handle, "encrypt") and a fresh 16-byte nonce, then tagged with
  HMAC-SHA256(HMAC-SHA256(handle, "authenticate"), nonce + ciphertext). A copy of the storage holds
  no usable token (as Faroe's own records keep only SHA-256 of token secrets); a copy of the
  cookie is worth only what the record is worth while it lives.
* **A new handle per change.** Every change writes a record under a fresh handle and deletes the
  previous one, so a cookie copied before a change (or before the flow ended) finds nothing.
* **Expiry and bounds.** A record carries its deadline (``FAROE_PAGES_FLOW_STATE_LIFETIME``
  after its last change), checked on read whatever the storage does with the expiry hint; its JSON
  is at most ``MAX_STATE_BYTES`` (32 KiB); a browser has one live record (two only while concurrent tabs
  race). Nothing is written for a GET or for a browser with no flow.

A storage failure raises ``FlowStateUnavailable`` (the blueprint answers 503); ``discard`` (sign
out, rotation) never fails on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from flask import g, session

from ..core.interfaces import StorageEntryNotFoundError
from .extension import current_faroe
from .pages_settings import current_pages

__all__ = [
    "FLOW_KEY",
    "MAX_NEXT_CHARACTERS",
    "MAX_STATE_BYTES",
    "FlowStateUnavailable",
    "discard",
    "forget",
    "recall",
    "recall_mapping",
    "remember",
    "seal",
    "storage_key",
    "unseal",
]

_logger = logging.getLogger("faroe_flask")

#: The key in Flask's session under which the pages keep their handle.
FLOW_KEY = "_faroe_pages"
#: The largest flow state, as ASCII JSON (at most 6 bytes a character): the forms and ``next`` are
#: bounded well below it (``hooks.MAX_SIGNUP_FIELD_CHARACTERS``, ``MAX_NEXT_CHARACTERS``).
MAX_STATE_BYTES = 32768
#: The longest ``next`` target a flow keeps (a longer one falls back to the home URL).
MAX_NEXT_CHARACTERS = 1000
#: Where the records live in the storage (after ``FAROE_STORAGE_KEY_PREFIX``).
_KEY_PREFIX = "pages.flow."
_G_KEY = "_faroe_pages_flow_state"
_HANDLE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERSION = b"\x01"
_NONCE_BYTES = 16
_TAG_BYTES = 32


class FlowStateUnavailable(Exception):
    """The storage failed while reading or writing the flow state."""


# Sealing ----------------------------------------------------------------------------------------


def _derive(handle: str, label: bytes) -> bytes:
    return hmac.new(handle.encode("ascii"), label, hashlib.sha256).digest()


def storage_key(handle: str) -> str:
    """The record's key (without ``FAROE_STORAGE_KEY_PREFIX``); it does not reveal the handle."""
    return _KEY_PREFIX + _derive(handle, b"key").hex()


def _keystream(handle: str, nonce: bytes, length: int) -> bytes:
    return hashlib.shake_256(_derive(handle, b"encrypt") + nonce).digest(length)


def _tag(handle: str, data: bytes) -> bytes:
    return hmac.new(_derive(handle, b"authenticate"), data, hashlib.sha256).digest()


def _xor(data: bytes, keystream: bytes) -> bytes:
    return (int.from_bytes(data, "big") ^ int.from_bytes(keystream, "big")).to_bytes(len(data), "big")


def seal(handle: str, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE_BYTES)
    ciphertext = _xor(plaintext, _keystream(handle, nonce, len(plaintext)))
    body = nonce + ciphertext
    return _VERSION + body + _tag(handle, body)


def unseal(handle: str, sealed: bytes) -> bytes | None:
    """The plaintext, or ``None`` when the value was not sealed with this handle."""
    if len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES or sealed[:1] != _VERSION:
        return None
    body, tag = sealed[1:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(handle, body)):
        return None
    nonce, ciphertext = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
    return _xor(ciphertext, _keystream(handle, nonce, len(ciphertext)))


# Reading and writing ----------------------------------------------------------------------------


def _handle() -> str | None:
    handle = session.get(FLOW_KEY)
    return handle if isinstance(handle, str) and _HANDLE.fullmatch(handle) else None


def _now() -> float:
    return current_faroe.server.clock.now().timestamp()


def _full_key(handle: str) -> str:
    return current_faroe.server.storage_key_prefix + storage_key(handle)


def _read(handle: str) -> dict[str, Any]:
    storage = current_faroe.server.storage
    try:
        sealed, _ = storage.get(_full_key(handle))
    except StorageEntryNotFoundError:
        return {}
    except Exception as exc:
        _logger.error("reading the pages' flow state failed: %s", type(exc).__name__)
        raise FlowStateUnavailable from None
    plaintext = unseal(handle, sealed)
    try:
        record = json.loads(plaintext) if plaintext is not None else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("values"), dict):
        return {}
    if not isinstance(record.get("expires_at"), (int, float)) or record["expires_at"] <= _now():
        _delete(handle)
        return {}
    return cast("dict[str, Any]", record["values"])


def _state() -> dict[str, Any]:
    """This request's flow state (read at most once per request)."""
    cached = g.get(_G_KEY)
    if cached is None:
        handle = _handle()
        if handle is None and FLOW_KEY in session:
            session.pop(FLOW_KEY)  # a malformed value, or an older version's state
        cached = _read(handle) if handle is not None else {}
        if handle is not None and not cached:
            session.pop(FLOW_KEY, None)
        setattr(g, _G_KEY, cached)
    return cast("dict[str, Any]", cached)


def _delete(handle: str) -> None:
    try:
        current_faroe.server.storage.delete(_full_key(handle))
    except StorageEntryNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - it expires by itself
        _logger.error("deleting the pages' flow state failed: %s", type(exc).__name__)


def _write(values: dict[str, Any]) -> None:
    """Keep ``values`` under a new handle (none when empty) and delete the previous record."""
    old = _handle()
    if values:
        expires_at = current_faroe.server.clock.now() + timedelta(
            seconds=current_pages().settings.flow_state_lifetime
        )
        plaintext = json.dumps(
            {"expires_at": expires_at.timestamp(), "values": values},
            separators=(",", ":"),
        ).encode("ascii")
        if len(plaintext) > MAX_STATE_BYTES:
            raise ValueError("the pages' flow state is too large")
        handle = secrets.token_urlsafe(32)
        try:
            current_faroe.server.storage.add(_full_key(handle), seal(handle, plaintext), expires_at)
        except Exception as exc:
            _logger.error("writing the pages' flow state failed: %s", type(exc).__name__)
            raise FlowStateUnavailable from None
        session[FLOW_KEY] = handle
    else:
        session.pop(FLOW_KEY, None)
    if old is not None:
        _delete(old)
    setattr(g, _G_KEY, values)


def recall(name: str) -> str | None:
    """A string kept by the flows (``"signup_token"``), or ``None``."""
    value = _state().get(name)
    return value if isinstance(value, str) and value else None


def recall_mapping(name: str) -> dict[str, str]:
    """A mapping of strings kept by the flows (``"signup_fields"``), or ``{}``."""
    value = _state().get(name)
    if not isinstance(value, Mapping):
        return {}
    return {str(key): item for key, item in value.items() if isinstance(item, str)}


def remember(**values: str | int | Mapping[str, str]) -> None:
    """Keep values for the next steps (a new record under a new handle)."""
    _write({**_state(), **values})


def forget(*names: str) -> None:
    state = _state()
    if any(name in state for name in names):
        _write({key: value for key, value in state.items() if key not in names})


def discard() -> dict[str, Any]:
    """Drop the whole state (its record and the handle); return what it held. Never raises
    ``FlowStateUnavailable``: an unreadable state is dropped as empty."""
    try:
        state = dict(_state())
    except FlowStateUnavailable:
        state = {}
    handle = _handle()
    session.pop(FLOW_KEY, None)
    if handle is not None:
        _delete(handle)
    setattr(g, _G_KEY, {})
    return state
