"""``SQLStorage``: Faroe's key-value storage (foundations.md F7.1) in one SQL table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Delete, Engine, Table, Update, delete, insert, select, update

from ..core.interfaces import StorageEntryAlreadyExistsError, StorageEntryNotFoundError
from .engine import SQLIntegrityError, naive_utc, transaction
from .tables import storage_table

__all__ = ["SQLStorage"]


class SQLStorage:
    """``Storage`` on SQLAlchemy Core: one short transaction, one statement, per call.

    ``update`` is a compare-and-swap done by the database itself
    (``UPDATE ... SET counter = counter + 1 ... WHERE key = :key AND counter = :counter``), so it is
    correct between any number of threads and processes. Expiry hints are not checked on reads
    (Faroe checks validity from the record itself, F7.1 rule 2); ``delete_expired`` removes what
    is past its hint and is meant to run periodically.
    Exception messages never contain a key: keys can contain email addresses.
    """

    def __init__(self, engine: Engine, table: Table = storage_table) -> None:
        self.engine = engine
        self.table = table

    def get(self, key: str) -> tuple[bytes, int]:
        t = self.table
        statement = select(t.c.value, t.c.counter).where(t.c.key == key)
        row = transaction(self.engine, lambda c: c.execute(statement).first(), single_statement=True)
        if row is None:
            raise StorageEntryNotFoundError("no storage entry")
        return bytes(row[0]), int(row[1])

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        t = self.table
        statement = insert(t).values(
            {
                t.c.key: key,
                t.c.value: bytes(value),
                t.c.counter: 0,
                t.c.expires_at: naive_utc(expires_at),
            }
        )
        try:
            transaction(self.engine, lambda c: c.execute(statement), write=True, single_statement=True)
        except SQLIntegrityError as exc:
            if exc.unique_violation:
                raise StorageEntryAlreadyExistsError("storage entry already exists") from None
            raise

    def update(self, key: str, value: bytes, expires_at: datetime, counter: int) -> None:
        t = self.table
        statement = (
            update(t)
            .where(t.c.key == key, t.c.counter == counter)
            .values(
                {
                    t.c.value: bytes(value),
                    t.c.counter: t.c.counter + 1,
                    t.c.expires_at: naive_utc(expires_at),
                }
            )
        )
        if _rowcount(self.engine, statement) == 0:
            raise StorageEntryNotFoundError("no storage entry with this counter")

    def delete(self, key: str) -> None:
        t = self.table
        if _rowcount(self.engine, delete(t).where(t.c.key == key)) == 0:
            raise StorageEntryNotFoundError("no storage entry")

    def delete_expired(self, now: datetime, batch_size: int = 1000) -> int:
        """Delete every entry whose expiry hint is at or before ``now``; return how many.

        Works in batches of at most ``batch_size`` rows, one short transaction each, so that a
        large backlog never holds locks for long.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        t = self.table
        expired = t.c.expires_at <= naive_utc(now)
        # The inner LIMIT query is wrapped in a derived table: MySQL rejects LIMIT directly inside
        # IN (...) and a subquery on the table being deleted from, but accepts a derived table.
        batch = select(t.c.key).where(expired).limit(batch_size).subquery("faroe_expired_batch")
        # ``expired`` is repeated on the outer statement so that an entry updated to a new hint
        # while the batch was chosen is kept (re-checked against the row actually deleted).
        statement = delete(t).where(expired, t.c.key.in_(select(batch.c.key)))
        total = 0
        while True:
            deleted = _rowcount(self.engine, statement)
            total += deleted
            if deleted < batch_size:
                return total


def _rowcount(engine: Engine, statement: Update | Delete) -> int:
    """Run one UPDATE or DELETE in a write transaction; return the number of rows it matched."""

    def run(connection: Connection) -> int:
        return connection.execute(statement).rowcount

    return transaction(engine, run, write=True, single_statement=True)
