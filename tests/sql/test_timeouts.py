"""Bounded waits set when a connection opens: a statement or a lock wait past
``statement_timeout`` raises (and changes nothing) on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, text
from sqlalchemy.exc import OperationalError

from faroe_flask.core.interfaces import StorageEntryNotFoundError
from faroe_flask.sql import SQLError, SQLStorage, create_engine

from ..backends import MYSQL_URL_VARIABLE, POSTGRESQL_URL_VARIABLE, SQL_BACKENDS, open_tables

EXPIRES = datetime(2030, 1, 1, tzinfo=timezone.utc)
_URLS = {"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE}


def _url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'timeouts.sqlite3'}"
    url = os.environ.get(_URLS[backend])
    if not url:
        pytest.skip(f"{_URLS[backend]} is not set")
    return url


@pytest.fixture(params=SQL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def bounded_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(_url(backend, tmp_path), statement_timeout=1.0, connect_timeout=3.0)
    yield engine
    engine.dispose()


def test_the_settings_are_on_every_connection(backend: str, bounded_engine: Engine) -> None:
    with bounded_engine.connect() as connection:
        if backend == "postgresql":
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "1s"
        elif backend == "mysql":
            row = connection.exec_driver_sql(
                "SELECT @@innodb_lock_wait_timeout, @@lock_wait_timeout, VERSION()"
            ).one()
            assert (row[0], row[1]) == (1, 1)
            if "mariadb" in str(row[2]).lower():
                assert connection.exec_driver_sql("SELECT @@max_statement_time").scalar() == 1.0
        else:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000


def test_none_leaves_the_database_defaults(backend: str, tmp_path: Path) -> None:
    engine = create_engine(_url(backend, tmp_path), statement_timeout=None, connect_timeout=None)
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
            elif backend == "mysql":
                assert connection.exec_driver_sql("SELECT @@lock_wait_timeout").scalar() > 1000
            else:
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() != 1000
    finally:
        engine.dispose()


def test_a_bad_timeout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="statement_timeout"):
        create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", statement_timeout=0)


def test_a_long_statement_is_cancelled(backend: str, bounded_engine: Engine) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite runs in-process: only lock waits are bounded")
    query = "SELECT pg_sleep(5)" if backend == "postgresql" else "SELECT SLEEP(5)"
    started = time.monotonic()
    with bounded_engine.connect() as connection:
        with pytest.raises(OperationalError):
            result = connection.exec_driver_sql(query).scalar()
            if result == 1:  # MySQL's SLEEP answers 1 when interrupted instead of failing
                raise OperationalError(query, None, Exception("interrupted"))
    assert time.monotonic() - started < 4


def _lock(
    backend: str, kind: str, engine: Engine, table: Table, key: str
) -> tuple[threading.Event, threading.Thread]:
    """Hold a lock on ``table`` (``kind`` "table": the whole table, SQLite's write lock; "row":
    ``SELECT ... FOR UPDATE`` of the key's row) from another connection until released."""
    locked, release = threading.Event(), threading.Event()
    quoted = engine.dialect.identifier_preparer.quote("key")

    def hold() -> None:
        with engine.connect() as connection:
            table_lock_mysql = backend == "mysql" and kind == "table"
            if table_lock_mysql:
                connection.exec_driver_sql(f"LOCK TABLES {table.name} WRITE")
            else:
                connection.begin()
                if backend == "sqlite":  # any write statement takes the write lock until the end
                    connection.exec_driver_sql(f"DELETE FROM {table.name} WHERE 0")
            if kind == "row":
                connection.execute(
                    text(f"SELECT * FROM {table.name} WHERE {quoted} = :key FOR UPDATE"), {"key": key}
                ).all()
            elif backend == "postgresql":
                connection.exec_driver_sql(f"LOCK TABLE {table.name} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
            if table_lock_mysql:
                connection.exec_driver_sql("UNLOCK TABLES")
            else:
                connection.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert locked.wait(10)
    return release, thread


@pytest.mark.parametrize("kind", ["table", "row"])
def test_a_lock_wait_raises_within_the_bound_and_changes_nothing(
    backend: str, kind: str, bounded_engine: Engine
) -> None:
    if backend == "sqlite" and kind == "row":
        pytest.skip("SQLite locks the whole database")
    with open_tables(bounded_engine) as (storage_table, _):
        storage = SQLStorage(bounded_engine, storage_table)
        key = "timeouts.locked-user@example.com"
        storage.add(key, b"before", EXPIRES)
        release, holder = _lock(backend, kind, bounded_engine, storage_table, key)
        try:
            started = time.monotonic()
            with pytest.raises(SQLError) as caught:
                storage.delete(key)
            elapsed = time.monotonic() - started
        finally:
            release.set()
            holder.join(10)
        assert 0.5 < elapsed < 4, elapsed
        assert key not in str(caught.value)  # the key (an address) is never quoted
        assert storage.get(key)[0] == b"before"
        storage.delete(key)
        with pytest.raises(StorageEntryNotFoundError):
            storage.get(key)
