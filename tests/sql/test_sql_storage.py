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


def test_a_storage_given_its_tables_name(sql_storage: SQLStorage) -> None:
    """``SQLStorage(engine, "name")``: the storage table of that name, Faroe's columns."""
    named = SQLStorage(sql_storage.engine, sql_storage.table.name)
    assert named.table.name == sql_storage.table.name and named.table is not sql_storage.table
    named.add("aaah.named", b"v", NOW)
    assert sql_storage.get("aaah.named") == (b"v", 0)
    assert named.delete_expired(NOW) == 1


def test_an_entry_moved_forward_while_the_batch_is_chosen_is_kept(sql_storage: SQLStorage) -> None:
    """Another connection moves an expired entry's hint forward and holds its row lock while
    ``delete_expired`` chooses its batch; once it commits, the delete re-checks the row it is
    about to remove against ``now`` and keeps it."""
    import threading
    import time

    from sqlalchemy import update

    engine = sql_storage.engine
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite: one writer at a time, so no delete runs while another write is open")
    sql_storage.add("aaah.moving", b"v", NOW - timedelta(seconds=1))
    sql_storage.add("aaah.expired", b"v", NOW - timedelta(seconds=1))
    t = sql_storage.table
    other = engine.connect()
    transaction = other.begin()
    other.execute(update(t).where(t.c.key == "aaah.moving").values(expires_at=(NOW + timedelta(days=30)).replace(tzinfo=None)))
    deleted: list[int] = []
    deleting = threading.Thread(target=lambda: deleted.append(sql_storage.delete_expired(NOW)))
    try:
        deleting.start()
        time.sleep(0.5)  # the delete has chosen its batch and waits for the row lock
        assert deleting.is_alive()
    finally:
        transaction.commit()
        other.close()
        deleting.join(10)
    assert deleted == [1]
    assert sql_storage.get("aaah.moving") == (b"v", 0)
    with pytest.raises(StorageEntryNotFoundError):
        sql_storage.get("aaah.expired")
