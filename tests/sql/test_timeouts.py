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


def _driver_connect_timeout(backend: str, engine: Engine) -> object:
    """The ``connect_timeout`` the driver connection was opened with (``None``: none given)."""
    with engine.connect() as connection:
        dbapi_connection = connection.connection.dbapi_connection
        if backend == "postgresql":
            return dbapi_connection.info.get_parameters().get("connect_timeout")  # type: ignore[union-attr]
        return getattr(dbapi_connection, "connect_timeout", None)


def _bounds(backend: str, engine: Engine) -> tuple[object, ...]:
    """The statement and lock bounds each new connection got."""
    with engine.connect() as connection:
        if backend == "postgresql":
            return tuple(connection.exec_driver_sql(f"SHOW {name}").scalar() for name in ("statement_timeout", "lock_timeout"))
        if backend == "mysql":
            return tuple(connection.exec_driver_sql(
                "SELECT @@innodb_lock_wait_timeout, @@lock_wait_timeout, @@max_statement_time"
            ).one())
        return (connection.exec_driver_sql("PRAGMA busy_timeout").scalar(),)


@pytest.mark.parametrize(
    ("statement_timeout", "connect_timeout", "expected"),
    [
        (1.2, 2.2, {"postgresql": ("1200ms", "1200ms", "3"), "mysql": (2, 2, 1.2, 2.2), "sqlite": (1200,)}),
        (2.0004, 0.5, {"postgresql": ("2s", "2s", "2"), "mysql": (3, 3, 2.0, 0.5), "sqlite": (2000,)}),
        (0.0004, 7, {"postgresql": ("1ms", "1ms", "7"), "sqlite": (1,)}),
    ],
)
def test_fractional_bounds_are_rounded_as_each_database_needs(
    backend: str, tmp_path: Path, statement_timeout: float, connect_timeout: float, expected: dict[str, tuple[object, ...]]
) -> None:
    """Milliseconds (at least 1) on PostgreSQL and SQLite, whole seconds up (at least 1) for
    MariaDB's lock waits, libpq's whole connect seconds up (at least 2), PyMySQL's as given."""
    if backend not in expected:
        pytest.skip("MariaDB's statement bound is in milliseconds: 0.0004 s is no bound there")
    engine = create_engine(_url(backend, tmp_path), statement_timeout=statement_timeout, connect_timeout=connect_timeout)
    try:
        seen = _bounds(backend, engine)
        if backend != "sqlite":
            seen += (_driver_connect_timeout(backend, engine),)
        assert seen == expected[backend]
    finally:
        engine.dispose()


def test_the_applications_connect_timeout_wins(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite opens a file: no connect timeout")
    engine = create_engine(_url(backend, tmp_path), connect_timeout=3.0, connect_args={"connect_timeout": 9})
    try:
        assert _driver_connect_timeout(backend, engine) in ("9", 9)
    finally:
        engine.dispose()


def test_no_connect_timeout_leaves_the_drivers_default(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite opens a file: no connect timeout")
    engine = create_engine(_url(backend, tmp_path), connect_timeout=None)
    try:
        # libpq has none unless given; PyMySQL's own default is 10 s.
        assert _driver_connect_timeout(backend, engine) == (None if backend == "postgresql" else 10)
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", ["statement_timeout", "connect_timeout"])
@pytest.mark.parametrize("value", [0, -1.5])
def test_each_bound_must_be_positive(tmp_path: Path, name: str, value: float) -> None:
    with pytest.raises(ValueError) as refused:
        create_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}", **{name: value})  # type: ignore[arg-type]
    assert str(refused.value) == f"{name} must be a positive number of seconds or None"


class _MySQLServerConnection:
    """What ``_mysql`` sees of a MySQL (not MariaDB) server's connection: its version and the
    statements run on it. MySQL itself cannot run here (Debian ships MariaDB only), so this stands
    in for the server, and the statement is read back instead of being run."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.statements: list[str] = []
        self.closed_cursors = 0

    def get_server_info(self) -> str:
        return self.version

    def cursor(self) -> "_MySQLServerConnection":
        return self

    def execute(self, statement: str) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        self.closed_cursors += 1


@pytest.mark.parametrize(
    ("seconds", "whole", "milliseconds"), [(0.0004, 1, 1), (0.0016, 1, 2), (1.5, 2, 1500), (30.0, 30, 30000)]
)
def test_a_mysql_server_gets_its_own_statement_bound(seconds: float, whole: int, milliseconds: int) -> None:
    from faroe_flask.sql.timeouts import _mysql

    connection = _MySQLServerConnection("8.0.36")
    _mysql(connection, seconds)
    assert connection.statements == [
        f"SET SESSION innodb_lock_wait_timeout = {whole}, SESSION lock_wait_timeout = {whole}, "
        f"SESSION max_execution_time = {milliseconds}"
    ]
    assert connection.closed_cursors == 1
    mariadb = _MySQLServerConnection("10.11.6-MariaDB-0+deb12u1")
    _mysql(mariadb, seconds)
    assert mariadb.statements[0].endswith(f"SESSION max_statement_time = {seconds:.3f}")
