"""create_engine's settings: they are what makes the SQL parts correct under concurrency."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, event, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from faroe_flask.sql import SQLStorage, create_engine
from faroe_flask.sql.engine import SQLIntegrityError, naive_utc
from faroe_flask.sql.runner import runner_for
from faroe_flask.sql.timeouts import DEFAULT_STATEMENT_TIMEOUT

from ..backends import MYSQL_URL_VARIABLE, open_engine, open_tables, unique_suffix

HINT = datetime(2030, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'engine.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_sqlite_in_memory_is_refused(url: str) -> None:
    with pytest.raises(ValueError) as refused:
        create_engine(url)
    assert str(refused.value) == (
        "SQLite storage needs a database file: an in-memory database is private to one "
        "connection (use MemoryStorage for a single process instead)"
    )


def test_sqlite_foreign_keys_can_be_left_off_for_migrations(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'migrations.sqlite3'}", sqlite_foreign_keys=False)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_keyword_arguments_override_the_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'own.sqlite3'}", pool_pre_ping=False, hide_parameters=False)
    try:
        assert not engine.pool._pre_ping  # noqa: SLF001 - no public accessor
        assert not engine.hide_parameters
        assert engine.pool._recycle == -1  # noqa: SLF001 - SQLAlchemy's default: no recycling
    finally:
        engine.dispose()


def test_naive_utc_converts_aware_moments_and_keeps_naive_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """In UTC whatever the machine's time zone (here New York's)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        two_hours_east = timezone(timedelta(hours=2))
        assert naive_utc(datetime(2030, 1, 1, 2, 30, tzinfo=two_hours_east)) == datetime(2030, 1, 1, 0, 30)
        assert naive_utc(datetime(2030, 1, 1, 2, 30)) == datetime(2030, 1, 1, 2, 30)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_sqlite_uses_wal_and_a_busy_timeout(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == DEFAULT_STATEMENT_TIMEOUT * 1000


def test_sqlite_transactions_really_begin(sqlite_engine: Engine) -> None:
    # pysqlite's legacy mode never begins a transaction for a SELECT, so a second read in the
    # "same transaction" would see another connection's commit. With a real BEGIN it sees a snapshot.
    table = Table("t", MetaData(), Column("k", String(10), primary_key=True), Column("v", String(10)))
    table.create(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(insert(table).values(k="a", v="old"))
    with sqlite_engine.connect() as reader, reader.begin():
        assert reader.execute(select(table.c.v)).scalar_one() == "old"
        with sqlite_engine.begin() as writer:
            writer.execute(update(table).values(v="new"))
        assert reader.execute(select(table.c.v)).scalar_one() == "old"
    with sqlite_engine.connect() as connection:
        assert connection.execute(select(table.c.v)).scalar_one() == "new"


def test_sqlite_write_transactions_begin_immediate(sqlite_engine: Engine) -> None:
    # A write transaction takes the write lock up front (BEGIN IMMEDIATE), so that it cannot fail
    # half-way on a lock upgrade; a single statement runs in autocommit mode without BEGIN.
    table = Table("s", MetaData(), Column("k", String(10), primary_key=True))
    table.create(sqlite_engine)
    statements: list[str] = []

    @event.listens_for(sqlite_engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    sqlite_engine.dispose()  # new connections, traced
    runner = runner_for(sqlite_engine)
    read = runner.prepare(select(table.c.k))
    write = runner.prepare(insert(table).values(k="x"))
    runner.transaction(lambda tx: tx.read_one(read, {}), write=False)
    runner.transaction(lambda tx: tx.execute(write, {}))
    runner.read_one(read, {})
    runner.execute(runner.prepare(update(table).values(k="y")), {})
    begins = [s for s in statements if s.startswith(("BEGIN", "COMMIT"))]
    assert begins == ["BEGIN", "COMMIT", "BEGIN IMMEDIATE", "COMMIT"]
    assert statements[-1].startswith("UPDATE")


def test_every_engine_pings_and_hides_parameters(engine: Engine) -> None:
    assert engine.pool._pre_ping  # noqa: SLF001 - no public accessor
    marker = "alice.secret-marker@example.com"
    with pytest.raises(DBAPIError) as caught:
        with engine.connect() as connection:
            connection.execute(text("SELECT :p FROM faroe_no_such_table"), {"p": marker})
    assert marker not in str(caught.value)
    assert "hidden" in str(caught.value)


def test_integrity_errors_do_not_quote_values(engine: Engine, sql_storage: SQLStorage) -> None:
    marker = "aaar.secret-marker@example.com"
    runner = runner_for(engine)
    row = {"key": marker, "value": None, "counter": 0, "expires_at": datetime(2030, 1, 1)}
    statement = runner.prepare(insert(sql_storage.table).values(row))
    with pytest.raises(SQLIntegrityError) as caught:
        runner.execute(statement, {})
    assert not caught.value.unique_violation
    assert marker not in str(caught.value)
    sql_storage.add(marker, b"v", HINT)
    duplicate = runner.prepare(insert(sql_storage.table).values({**row, "value": b"v"}))
    with pytest.raises(SQLIntegrityError) as caught:
        runner.transaction(lambda tx: tx.execute(duplicate, {}))
    assert caught.value.unique_violation
    assert marker not in str(caught.value)


@pytest.fixture
def mysql_engine(tmp_path: Path) -> Iterator[Engine]:
    with open_engine("mysql", tmp_path) as engine:  # skips without FAROE_TEST_MYSQL_URL
        yield engine


def test_mysql_connections_are_utf8mb4_and_read_committed(mysql_engine: Engine) -> None:
    with mysql_engine.connect() as connection:
        charset = connection.exec_driver_sql("SELECT @@session.character_set_connection").scalar()
        assert charset == "utf8mb4"
        assert connection.get_isolation_level() == "READ COMMITTED"


def test_mysql_compared_columns_use_a_binary_collation(mysql_engine: Engine) -> None:
    query = text(
        "SELECT table_name, column_name, collation_name FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name IN (:s, :u) AND collation_name IS NOT NULL"
    )
    with open_tables(mysql_engine) as (storage_table, users_table), mysql_engine.connect() as connection:
        rows = connection.execute(query, {"s": storage_table.name, "u": users_table.name}).all()
    collations = {(str(table).lower(), column): collation for table, column, collation in rows}
    assert collations[(storage_table.name, "key")] == "utf8mb4_bin"
    assert collations[(users_table.name, "id")] == "utf8mb4_bin"
    assert collations[(users_table.name, "email_address")] == "utf8mb4_bin"


def test_mysql_default_collation_would_ignore_case(mysql_engine: Engine) -> None:
    # Why the binary collation matters: the same column with the database default matches 'a' = 'A'.
    engine = mysql_engine
    metadata = MetaData()
    name = f"faroe_collation_{unique_suffix()}"
    table = Table(name, metadata, Column("k", String(20), primary_key=True))
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(table).values(k="User@x.io"))
            found = connection.execute(select(table.c.k).where(table.c.k == "user@x.io")).all()
        assert found == [("User@x.io",)]
    finally:
        metadata.drop_all(engine)


@pytest.mark.parametrize("scheme", ["mysql", "mariadb"])
def test_mysql_and_mariadb_urls_get_the_same_settings(scheme: str) -> None:
    url = os.environ.get(MYSQL_URL_VARIABLE)
    if not url:
        pytest.skip(f"{MYSQL_URL_VARIABLE} is not set")
    engine = create_engine(scheme + url[url.index("+"):])
    try:
        assert engine.dialect.name == scheme and engine.pool._recycle == 3600  # noqa: SLF001
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SELECT @@session.character_set_connection, @@innodb_lock_wait_timeout").one()
            assert tuple(row) == ("utf8mb4", 5) and connection.get_isolation_level() == "READ COMMITTED"
            assert connection.connection.dbapi_connection.connect_timeout == 5.0  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_a_mysql_charset_in_the_url_is_kept(mysql_engine: Engine) -> None:
    engine = create_engine(mysql_engine.url.update_query_dict({"charset": "utf8mb3"}))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT @@session.character_set_connection").scalar() == "utf8mb3"
    finally:
        engine.dispose()
