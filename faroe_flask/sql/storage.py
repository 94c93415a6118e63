"""``SQLStorage``: Faroe's key-value storage (foundations.md F7.1) in one SQL table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Integer, MetaData, Table, bindparam, delete, insert, select, update

from ..core.interfaces import StorageEntryAlreadyExistsError, StorageEntryNotFoundError
from .engine import naive_utc
from .runner import SQLIntegrityError, runner_for
from .tables import make_storage_table, storage_table

__all__ = ["SQLStorage"]


class SQLStorage:
    """``Storage`` on one SQL table: one statement per call, in autocommit mode.

    ``update`` is a compare-and-swap done by the database itself
    (``UPDATE ... SET counter = counter + 1 ... WHERE key = :key AND counter = :counter``), so it is
    correct between any number of threads and processes. Expiry hints are not checked on reads
    (Faroe checks validity from the record itself, F7.1 rule 2); ``delete_expired`` removes what
    is past its hint and is meant to run periodically. The statements are compiled once and run
    by the engine's ``Runner`` (``faroe_flask.sql.runner``).
    Exception messages never contain a key: keys can contain email addresses.
    """

    def __init__(self, engine: Engine, table: Table | str = storage_table) -> None:
        if isinstance(table, str):
            table = make_storage_table(MetaData(), table)
        self.engine = engine
        self.table = table
        t = table
        self._runner = runner = runner_for(engine)
        key = bindparam("key", type_=t.c.key.type)
        self._get = runner.prepare(select(t.c.value, t.c.counter).where(t.c.key == key))
        self._add = runner.prepare(
            insert(t).values(
                {
                    t.c.key: key,
                    t.c.value: bindparam("value"),
                    t.c.counter: 0,
                    t.c.expires_at: bindparam("expires_at"),
                }
            )
        )
        self._update = runner.prepare(
            update(t)
            .where(t.c.key == key, t.c.counter == bindparam("counter"))
            .values(
                {
                    t.c.value: bindparam("value"),
                    t.c.counter: t.c.counter + 1,
                    t.c.expires_at: bindparam("expires_at"),
                }
            )
        )
        self._delete = runner.prepare(delete(t).where(t.c.key == key))
        expired = t.c.expires_at <= bindparam("now")
        # The inner LIMIT query is wrapped in a derived table: MySQL rejects LIMIT directly inside
        # IN (...) and a subquery on the table being deleted from, but accepts a derived table.
        batch = (
            select(t.c.key)
            .where(expired)
            .limit(bindparam("batch_size", type_=Integer()))
            .subquery("faroe_expired_batch")
        )
        # ``expired`` is repeated on the outer statement so that an entry updated to a new hint
        # while the batch was chosen is kept (re-checked against the row actually deleted).
        self._delete_expired = runner.prepare(delete(t).where(expired, t.c.key.in_(select(batch.c.key))))

    def get(self, key: str) -> tuple[bytes, int]:
        row = self._runner.read_one(self._get, {"key": key})
        if row is None:
            raise StorageEntryNotFoundError("no storage entry")
        return bytes(row[0]), int(row[1])

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        values = {"key": key, "value": bytes(value), "expires_at": naive_utc(expires_at)}
        try:
            self._runner.execute(self._add, values)
        except SQLIntegrityError as exc:
            if exc.unique_violation:
                raise StorageEntryAlreadyExistsError("storage entry already exists") from None
            raise

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        values = {
            "key": key,
            "counter": counter,
            "value": bytes(value),
            "expires_at": naive_utc(expires_at),
        }
        if self._runner.execute(self._update, values) == 0:
            raise StorageEntryNotFoundError("no storage entry with this counter")

    def delete(self, key: str) -> None:
        if self._runner.execute(self._delete, {"key": key}) == 0:
            raise StorageEntryNotFoundError("no storage entry")

    def delete_expired(self, now: datetime, batch_size: int = 1000) -> int:
        """Delete every entry whose expiry hint is at or before ``now``; return how many.

        Works in batches of at most ``batch_size`` rows, one short statement each, so that a
        large backlog never holds locks for long.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        values = {"now": naive_utc(now), "batch_size": batch_size}
        total = 0
        while True:
            deleted = self._runner.execute(self._delete_expired, values)
            total += deleted
            if deleted < batch_size:
                return total

    def close(self) -> None:
        """Close the engine's idle connections (``engine.dispose()``); it reconnects when used."""
        self.engine.dispose()
