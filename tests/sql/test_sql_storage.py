"""What SQLStorage adds to the Storage contract: timestamps and delete_expired."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from faroe_flask import StorageEntryAlreadyExistsError, StorageEntryNotFoundError
from faroe_flask.sql import SQLStorage

NOW = datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=timezone.utc)
PLUS_TWO = timezone(timedelta(hours=2))


def _stored_hint(storage: SQLStorage, key: str) -> datetime:
    t = storage.table
    with storage.engine.connect() as connection:
        return connection.execute(select(t.c.expires_at).where(t.c.key == key)).scalar_one()


def test_hints_are_stored_as_naive_utc_with_microseconds(sql_storage: SQLStorage) -> None:
    sql_storage.add("aaah.a", b"v", NOW.astimezone(PLUS_TWO))
    assert _stored_hint(sql_storage, "aaah.a") == datetime(2026, 3, 1, 12, 0, 0, 500_000)
    sql_storage.update("aaah.a", b"v", NOW + timedelta(seconds=30), 0)
    assert _stored_hint(sql_storage, "aaah.a") == datetime(2026, 3, 1, 12, 0, 30, 500_000)


def test_delete_expired_removes_entries_at_or_before_now(sql_storage: SQLStorage) -> None:
    sql_storage.add("aaah.past", b"v", NOW - timedelta(days=1))
    sql_storage.add("aaah.now", b"v", NOW)
    sql_storage.add("aaah.later", b"v", NOW + timedelta(microseconds=1))
    assert sql_storage.delete_expired(NOW) == 2
    for key in ("aaah.past", "aaah.now"):
        with pytest.raises(StorageEntryNotFoundError):
            sql_storage.get(key)
    assert sql_storage.get("aaah.later") == (b"v", 0)
    assert sql_storage.delete_expired(NOW) == 0


def test_delete_expired_compares_instants_whatever_the_time_zone(sql_storage: SQLStorage) -> None:
    sql_storage.add("aaah.a", b"v", (NOW + timedelta(hours=1)).astimezone(PLUS_TWO))
    assert sql_storage.delete_expired(NOW.astimezone(PLUS_TWO)) == 0
    assert sql_storage.delete_expired((NOW + timedelta(hours=1)).astimezone(PLUS_TWO)) == 1


def test_delete_expired_works_in_batches(sql_storage: SQLStorage) -> None:
    for number in range(7):
        sql_storage.add(f"aaah.old{number}", b"v", NOW - timedelta(seconds=number))
    for number in range(3):
        sql_storage.add(f"aaah.new{number}", b"v", NOW + timedelta(hours=1))
    assert sql_storage.delete_expired(NOW, batch_size=2) == 7
    assert [sql_storage.get(f"aaah.new{number}") for number in range(3)] == [(b"v", 0)] * 3


def test_delete_expired_keeps_an_entry_whose_hint_was_moved_forward(sql_storage: SQLStorage) -> None:
    sql_storage.add("aaah.extended", b"v", NOW - timedelta(seconds=1))
    sql_storage.update("aaah.extended", b"v", NOW + timedelta(days=30), 0)
    assert sql_storage.delete_expired(NOW) == 0
    assert sql_storage.get("aaah.extended") == (b"v", 1)


def test_delete_expired_needs_a_positive_batch_size(sql_storage: SQLStorage) -> None:
    with pytest.raises(ValueError):
        sql_storage.delete_expired(NOW, batch_size=0)


def test_errors_never_quote_the_key(sql_storage: SQLStorage) -> None:
    key = "aaar.alice.secret-marker@example.com"
    sql_storage.add(key, b"v", NOW)
    with pytest.raises(StorageEntryAlreadyExistsError) as caught:
        sql_storage.add(key, b"v", NOW)
    assert "secret-marker" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
