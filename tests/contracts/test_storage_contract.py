"""The Storage contract (foundations.md F7.1), run on every backend of tests/backends.py."""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faroe_flask import Storage, StorageEntryAlreadyExistsError, StorageEntryNotFoundError

pytestmark = pytest.mark.redis_storage

HINT = datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_is_a_storage(storage: Any) -> None:
    assert isinstance(storage, Storage)


def test_get_of_a_missing_key_is_not_found(storage: Any) -> None:
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.missing")


def test_add_creates_the_entry_with_counter_zero(storage: Any) -> None:
    storage.add("aaah.one", b"value", HINT)
    assert storage.get("aaah.one") == (b"value", 0)


def test_add_of_an_existing_key_fails_and_keeps_the_entry(storage: Any) -> None:
    storage.add("aaah.one", b"first", HINT)
    with pytest.raises(StorageEntryAlreadyExistsError):
        storage.add("aaah.one", b"second", HINT)
    assert storage.get("aaah.one") == (b"first", 0)


def test_update_with_the_current_counter_replaces_and_counts(storage: Any) -> None:
    storage.add("aaah.one", b"v0", HINT)
    storage.update("aaah.one", b"v1", HINT + timedelta(days=1), 0)
    assert storage.get("aaah.one") == (b"v1", 1)
    storage.update("aaah.one", b"v2", HINT, 1)
    storage.update("aaah.one", b"v3", HINT, 2)
    assert storage.get("aaah.one") == (b"v3", 3)


@pytest.mark.parametrize("stale_counter", [1, -1, 2**31 - 1])
def test_update_with_another_counter_is_not_found_and_changes_nothing(
    storage: Any, stale_counter: int
) -> None:
    storage.add("aaah.one", b"v0", HINT)
    with pytest.raises(StorageEntryNotFoundError):
        storage.update("aaah.one", b"v1", HINT, stale_counter)
    assert storage.get("aaah.one") == (b"v0", 0)


def test_update_of_a_missing_key_is_not_found(storage: Any) -> None:
    with pytest.raises(StorageEntryNotFoundError):
        storage.update("aaah.missing", b"v", HINT, 0)
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.missing")


def test_delete_removes_and_reports_a_missing_key(storage: Any) -> None:
    storage.add("aaah.one", b"v", HINT)
    storage.delete("aaah.one")
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaah.one")
    with pytest.raises(StorageEntryNotFoundError):
        storage.delete("aaah.one")


def test_a_deleted_key_can_be_added_again_from_counter_zero(storage: Any) -> None:
    storage.add("aaah.one", b"v0", HINT)
    storage.update("aaah.one", b"v1", HINT, 0)
    storage.delete("aaah.one")
    storage.add("aaah.one", b"again", HINT)
    assert storage.get("aaah.one") == (b"again", 0)


def test_keys_are_case_sensitive(storage: Any) -> None:
    # Rate-limit keys contain email addresses, which are never normalised (F4.3).
    storage.add("aaar.User@Example.com", b"upper", HINT)
    storage.add("aaar.user@example.com", b"lower", HINT)
    assert storage.get("aaar.User@Example.com") == (b"upper", 0)
    assert storage.get("aaar.user@example.com") == (b"lower", 0)
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("aaar.USER@EXAMPLE.COM")
    storage.delete("aaar.user@example.com")
    assert storage.get("aaar.User@Example.com") == (b"upper", 0)


def test_keys_of_255_characters_are_stored(storage: Any) -> None:
    key = "faroe.aaar." + "x" * 244
    assert len(key.encode()) == 255
    storage.add(key, b"v", HINT)
    assert storage.get(key) == (b"v", 0)


@pytest.mark.parametrize("value", [b"", bytes(range(256)), b"\x00" * 10, b"x" * 4000])
def test_values_are_stored_byte_for_byte(storage: Any, value: bytes) -> None:
    storage.add("aaah.bytes", value, HINT)
    assert storage.get("aaah.bytes") == (value, 0)
    storage.update("aaah.bytes", value[::-1], HINT, 0)
    assert storage.get("aaah.bytes") == (value[::-1], 1)


def test_an_expiry_hint_in_the_past_is_accepted(storage: Any) -> None:
    past = datetime(2001, 1, 1, tzinfo=timezone.utc)
    storage.add("aaaq.user", b"bucket", past)
    assert storage.get("aaaq.user") == (b"bucket", 0)  # the hint is only a hint: still readable
    storage.update("aaaq.user", b"refilled", past, 0)
    assert storage.get("aaaq.user") == (b"refilled", 1)


def test_a_write_is_visible_to_the_next_read_in_another_thread(storage: Any) -> None:
    results: list[tuple[bytes, int]] = []
    storage.add("aaah.shared", b"v0", HINT)
    storage.update("aaah.shared", b"v1", HINT, 0)
    reader = threading.Thread(target=lambda: results.append(storage.get("aaah.shared")))
    reader.start()
    reader.join()
    assert results == [(b"v1", 1)]


# A model-based check: any sequence of operations behaves as a dict of (value, counter) does.

_KEYS = st.sampled_from(["aaah.a", "aaah.A", "aaah.b", "aaar.User@x.io", "aaar.user@x.io"])
_VALUES = st.binary(max_size=16)
_OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("get"), _KEYS),
        st.tuples(st.just("add"), _KEYS, _VALUES),
        st.tuples(st.just("update"), _KEYS, _VALUES, st.integers(0, 3)),
        st.tuples(st.just("delete"), _KEYS),
    ),
    max_size=15,
)


def _apply_to_model(model: dict[str, tuple[bytes, int]], operation: tuple[Any, ...]) -> object:
    kind, key = operation[0], operation[1]
    entry = model.get(key)
    if kind == "get":
        return entry if entry is not None else StorageEntryNotFoundError
    if kind == "add":
        if entry is not None:
            return StorageEntryAlreadyExistsError
        model[key] = (operation[2], 0)
        return None
    if kind == "update":
        if entry is None or entry[1] != operation[3]:
            return StorageEntryNotFoundError
        model[key] = (operation[2], entry[1] + 1)
        return None
    if entry is None:
        return StorageEntryNotFoundError
    del model[key]
    return None


def _apply_to_storage(storage: Any, prefix: str, operation: tuple[Any, ...]) -> object:
    kind, key = operation[0], prefix + operation[1]
    try:
        if kind == "get":
            return storage.get(key)
        if kind == "add":
            return storage.add(key, operation[2], HINT)
        if kind == "update":
            return storage.update(key, operation[2], HINT, operation[3])
        return storage.delete(key)
    except (StorageEntryNotFoundError, StorageEntryAlreadyExistsError) as exc:
        return type(exc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=_OPERATIONS)
def test_any_sequence_of_operations_behaves_like_a_dict(storage: Any, operations: list[Any]) -> None:
    prefix = secrets.token_hex(4) + "."  # a fresh namespace per example: the store is shared
    model: dict[str, tuple[bytes, int]] = {}
    for operation in operations:
        assert _apply_to_storage(storage, prefix, operation) == _apply_to_model(model, operation), operation
