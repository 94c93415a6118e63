"""SQL parts read back exactly (issue 17's campaign): constraint violations through the runner,
their classification, store messages that quote no value, ``delete_expired``'s setting, the
migration helpers' database URL, and connections after a fork."""

from __future__ import annotations

import gc
import os
import sqlite3
from pathlib import Path
from typing import Any

import pymysql
import pytest
from alembic.config import Config
from sqlalchemy import Engine, Table, bindparam, func, insert, select
from sqlalchemy import column as text_column

from faroe_flask import UserEmailAddressAlreadyUsedError, UserNotFoundError
from faroe_flask.sql import SQLError, SQLIntegrityError, SQLStorage, SQLUserStore
from faroe_flask.sql.migrate import URL_ENVIRONMENT_VARIABLE, database_url
from faroe_flask.sql.runner import (
    describe_constraint,
    describe_error,
    is_foreign_key_violation,
    is_unique_violation,
    runner_for,
)

from ..backends import unique_suffix
from .test_runner_failures import HINT

_CODES = {  # what each database says of a duplicate key and a NULL in a NOT NULL column: the kind,
    # the driver's code and the constraint's or column's schema name ({table}), never a value
    "sqlite": (
        "IntegrityError, SQLITE_CONSTRAINT_PRIMARYKEY): {table}.key",
        "IntegrityError, SQLITE_CONSTRAINT_NOTNULL): {table}.value",
    ),
    "postgresql": (
        "UniqueViolation, SQLSTATE 23505): constraint pk_{table} on table {table}",
        "NotNullViolation, SQLSTATE 23502): column value of table {table}",
    ),
    "mysql": ("IntegrityError, error 1062): key PRIMARY", "IntegrityError, error 1048): column value"),
}


def test_constraint_violations_say_which_kind_code_and_constraint(
    engine: Engine, tables: tuple[Table, Table], sql_backend: str
) -> None:
    table = tables[0]
    runner = runner_for(engine)
    add = runner.prepare(insert(table).values(key=bindparam("key"), value=bindparam("value"), counter=0,
                                              expires_at=bindparam("expires_at")))
    row = {"key": "aaah.k", "value": b"v", "expires_at": HINT.replace(tzinfo=None)}
    assert runner.execute(add, row) == 1
    duplicate, missing = (text.format(table=table.name) for text in _CODES[sql_backend])
    with pytest.raises(SQLIntegrityError) as raised:
        runner.execute(add, row)
    assert (raised.value.unique_violation, str(raised.value)) == (True, f"unique constraint violated ({duplicate}")
    with pytest.raises(SQLIntegrityError) as raised:
        runner.execute(add, {**row, "key": "aaah.other", "value": None})
    assert (raised.value.unique_violation, str(raised.value)) == (False, f"integrity constraint violated ({missing}")


def test_a_check_constraint_named_unique_is_not_a_duplicate(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "check.sqlite3")
    connection.execute("CREATE TABLE t (n INTEGER CONSTRAINT unique_looking_name CHECK (n > 0))")
    with pytest.raises(sqlite3.IntegrityError) as raised:
        connection.execute("INSERT INTO t VALUES (0)")
    connection.close()
    assert "unique" in str(raised.value).lower()
    assert is_unique_violation(raised.value) is False


@pytest.mark.parametrize(
    ("error", "unique"),
    [
        (pymysql.err.IntegrityError(1062, "Duplicate entry 'x' for key 'k'"), True),
        (pymysql.err.IntegrityError(1586, "Duplicate entry 'x' for key 'k'"), True),
        (pymysql.err.IntegrityError(1048, "Column 'c' cannot be null"), False),
        (pymysql.err.IntegrityError(1048, "Column 'unique_code' cannot be null"), False),  # the code decides
        # A driver that gives neither a code nor an error name: the message decides.
        (sqlite3.IntegrityError("UNIQUE constraint failed: t.k"), True),
        (sqlite3.IntegrityError("Duplicate key value"), True),
        (sqlite3.IntegrityError("NOT NULL constraint failed: t.c"), False),
    ],
)
def test_unique_violations_by_code_or_text(error: BaseException, unique: bool) -> None:
    assert is_unique_violation(error) is unique


def test_store_messages_quote_no_value(sql_storage: SQLStorage, sql_user_store: SQLUserStore) -> None:
    with pytest.raises(ValueError) as raised:
        sql_storage.delete_expired(HINT, batch_size=0)
    assert str(raised.value) == "batch_size must be at least 1"
    alice = sql_user_store.create_user("alice@example.com", b"h", "alg", b"s")
    sql_user_store.create_user("bob@example.com", b"h", "alg", b"s")
    with pytest.raises(UserEmailAddressAlreadyUsedError) as taken:
        sql_user_store.update_user_email_address(alice.id, "bob@example.com", 0)
    assert str(taken.value) == "email address already used"
    with pytest.raises(UserNotFoundError) as stale:
        sql_user_store.update_user_email_address(alice.id, "new@example.com", 7)
    assert str(stale.value) == alice.id
    assert sql_user_store.get_user(alice.id).email_address == "alice@example.com"


def test_the_database_url_of_a_migration_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENVIRONMENT_VARIABLE, raising=False)
    config = Config()
    with pytest.raises(RuntimeError) as raised:
        database_url(config)
    assert str(raised.value) == (
        f"no database: set {URL_ENVIRONMENT_VARIABLE}, or pass -x url=..., or sqlalchemy.url"
    )
    config.set_main_option("sqlalchemy.url", "sqlite:///main.sqlite3")
    assert database_url(config) == "sqlite:///main.sqlite3"
    monkeypatch.setenv(URL_ENVIRONMENT_VARIABLE, "sqlite:///environment.sqlite3")
    assert database_url(config) == "sqlite:///environment.sqlite3"
    config.attributes["url"] = "sqlite:///attribute.sqlite3"
    assert database_url(config) == "sqlite:///attribute.sqlite3"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def _in_a_forked_child(work: Any) -> str:
    """What ``work()`` returns in a forked child, reported through a pipe; the child must exit 0."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        status = 1
        try:
            os.write(write_end, str(work()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    report = os.read(read_end, 100).decode()
    os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0
    return report


def test_a_forked_child_opens_its_own_connections_and_leaves_the_parents_alone(
    engine: Engine, sql_storage: SQLStorage, sql_backend: str
) -> None:
    if sql_backend == "sqlite":
        pytest.skip("SQLite has no server connection to share")
    runner = runner_for(engine)
    session_id = runner.prepare(select(func.pg_backend_pid() if sql_backend == "postgresql" else func.connection_id()))
    sql_storage.add("aaah.fork", b"v", HINT)
    (parent_id,) = runner.read_one(session_id, {}) or (None,)

    def in_the_child() -> str:
        (child_id,) = runner.read_one(session_id, {}) or (None,)
        value = sql_storage.get("aaah.fork")
        gc.collect()  # what a long-lived child would do sooner or later: free what it dropped
        return f"{child_id} {value[0].decode()}"

    child_id, value = _in_a_forked_child(in_the_child).split()
    assert value == "v" and int(child_id) != parent_id
    assert runner.read_one(session_id, {}) == (parent_id,)  # the parent's connection was not closed


def test_database_errors_keep_only_text_that_quotes_no_value(
    engine: Engine, tables: tuple[Table, Table], sql_backend: str
) -> None:
    runner = runner_for(engine)
    missing = runner.prepare(select(text_column("faroe_no_such_column")).select_from(tables[0]))
    with pytest.raises(SQLError) as raised:
        runner.read_one(missing, {})
    expected = {
        "sqlite": "OperationalError, SQLITE_ERROR: no such column: faroe_no_such_column",
        "postgresql": 'UndefinedColumn, SQLSTATE 42703: column "faroe_no_such_column" does not exist',
        "mysql": "OperationalError, error 1054: Unknown column 'faroe_no_such_column' in 'SELECT'",
    }[sql_backend]
    assert str(raised.value) == expected


def test_what_each_driver_error_is_described_as() -> None:
    import psycopg

    class Psycopg2Like(Exception):
        pgcode = "40P01"

    assert describe_error(Psycopg2Like("deadlock detected")) == "Psycopg2Like, SQLSTATE 40P01"
    assert describe_error(psycopg.OperationalError("the connection is closed")) == "OperationalError, no code"
    assert describe_error(pymysql.err.OperationalError(2013)) == "OperationalError, error 2013"
    assert describe_error(pymysql.err.OperationalError(2013, "Lost connection")) == (
        "OperationalError, error 2013: Lost connection"
    )
    duplicate = pymysql.err.IntegrityError(1062, "Duplicate entry 'ada@example.com' for key 'email'")
    assert describe_error(duplicate) == "IntegrityError, error 1062"


def test_a_postgresql_integrity_error_is_described_without_its_text(sql_backend: str, engine: Engine) -> None:
    if sql_backend != "postgresql":
        pytest.skip("PostgreSQL's own exception")
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("CREATE TEMPORARY TABLE faroe_unique_test (email text PRIMARY KEY)")
        cursor.execute("INSERT INTO faroe_unique_test VALUES ('ada@example.com')")
        with pytest.raises(Exception) as raised:
            cursor.execute("INSERT INTO faroe_unique_test VALUES ('ada@example.com')")
        assert "ada@example.com" in str(raised.value)  # what the database said
        assert describe_error(raised.value) == "UniqueViolation, SQLSTATE 23505"
    finally:
        connection.rollback()
        connection.close()


def test_a_stale_counter_names_only_the_user_id(sql_user_store: SQLUserStore) -> None:
    user = sql_user_store.create_user("ada@example.com", b"h", "alg", b"s")
    with pytest.raises(UserNotFoundError) as raised:
        sql_user_store.increment_user_sessions_counter(user.id, 5)
    assert str(raised.value) == user.id


def test_downgrade_goes_to_base_by_default_and_revisions_read_a_custom_version_table(tmp_path: Path) -> None:
    from faroe_flask.sql import create_engine
    from faroe_flask.sql.migrate import current_revisions, downgrade_database, upgrade_database

    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    try:
        upgrade_database(engine, version_table="my_versions")
        assert current_revisions(engine, version_table="my_versions") == ("faroe_0001",)
        assert current_revisions(engine) == ()
        downgrade_database(engine, version_table="my_versions")
        assert current_revisions(engine, version_table="my_versions") == ()
        with engine.connect() as connection:
            names = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert not names & {"faroe_storage", "faroe_users"}
    finally:
        engine.dispose()


@pytest.fixture
def legacy_store(engine: Engine) -> Any:
    """A users table with the application's old Werkzeug hash column (key ``legacy``, database
    name ``legacy_pw``), dropped afterwards."""
    from sqlalchemy import Column, MetaData, String

    from faroe_flask.sql import make_users_table

    from ..backends import unique_suffix

    metadata = MetaData()
    table = make_users_table(metadata, f"faroe_legacy_{unique_suffix()}")
    table.append_column(Column("legacy_pw", String(255), key="legacy", nullable=True))
    table.c.password_hash_algorithm_id.nullable = True  # an application's table may leave it NULL
    metadata.create_all(engine)
    try:
        yield SQLUserStore(engine, table)
    finally:
        metadata.drop_all(engine)


@pytest.mark.parametrize("batch_size", [1, 100])
def test_importing_werkzeug_hashes_batch_by_batch(legacy_store: Any, batch_size: int) -> None:
    from sqlalchemy import update
    from werkzeug.security import generate_password_hash

    from faroe_flask.sql import import_werkzeug_hashes

    table = legacy_store.table
    fast_hash = generate_password_hash("old password", "pbkdf2:sha256:1000")
    rows = {  # what the legacy column and the algorithm hold; ids are given in reverse, so that the
        # order rows were written in is not the id order the import must page through
        "u1": ("not a werkzeug hash", ""),
        "u2": (fast_hash, ""),
        "u3": ("neither is this", None),
        "u4": (fast_hash, None),
        "u5": (None, ""),
        "u6": (fast_hash, "argon2id.3.65536.1.32"),  # already Faroe's: never touched
    }
    ids = {}
    for index, (name, (legacy, algorithm)) in enumerate(rows.items()):
        user = legacy_store.create_user(f"{name}@example.com", b"h", "placeholder", b"s")
        new_id = f"{len(rows) - index:02d}" + "a" * 22
        with legacy_store.engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == user.id).values(
                id=new_id, legacy=legacy, password_hash_algorithm_id=algorithm))
        ids[name] = new_id
    with pytest.raises(ValueError) as raised:
        import_werkzeug_hashes(legacy_store, "legacy", batch_size=0)
    assert str(raised.value) == "batch_size must be at least 1"
    with pytest.raises(ValueError) as raised:
        import_werkzeug_hashes(legacy_store, "no_such_column")
    assert str(raised.value) == f"table {table.name} has no column no_such_column"

    report = import_werkzeug_hashes(legacy_store, "legacy", batch_size=batch_size)
    assert (report.converted, report.unsupported, len(report.algorithm_ids)) == (2, 2, 1)
    (algorithm_id,) = report.algorithm_ids
    for name in ("u2", "u4"):
        assert legacy_store.get_user(ids[name]).password_hash_algorithm_id == algorithm_id
    assert legacy_store.get_user(ids["u6"]).password_hash_algorithm_id == "argon2id.3.65536.1.32"
    # Again, by the column's database name: nothing left to convert, the same two refusals.
    again = import_werkzeug_hashes(legacy_store, "legacy_pw", batch_size=batch_size)
    assert (again.converted, again.unsupported, again.algorithm_ids) == (0, 2, frozenset())


def test_sql_store_messages_name_no_key_and_no_address(sql_storage: SQLStorage, sql_user_store: SQLUserStore) -> None:
    from faroe_flask import StorageEntryAlreadyExistsError, StorageEntryNotFoundError

    def message(call: Any, error: type[Exception]) -> str:
        with pytest.raises(error) as raised:
            call()
        return str(raised.value)

    key = "aaar.ada@example.com"
    assert message(lambda: sql_storage.get(key), StorageEntryNotFoundError) == "no storage entry"
    assert message(lambda: sql_storage.delete(key), StorageEntryNotFoundError) == "no storage entry"
    assert message(lambda: sql_storage.update(key, b"v", HINT, 0), StorageEntryNotFoundError) == (
        "no storage entry with this counter"
    )
    sql_storage.add(key, b"v", HINT)
    assert message(lambda: sql_storage.add(key, b"w", HINT), StorageEntryAlreadyExistsError) == (
        "storage entry already exists"
    )
    ada = sql_user_store.create_user("ada@example.com", b"h", "alg", b"s")
    assert message(lambda: sql_user_store.create_user("ada@example.com", b"h", "alg", b"s"),
                   UserEmailAddressAlreadyUsedError) == "email address already used"
    assert message(lambda: sql_user_store.get_user_by_email_address("bob@example.com"),
                   UserNotFoundError) == "no such email address"
    missing_id = "z" * 24
    assert message(lambda: sql_user_store.get_user(missing_id), UserNotFoundError) == missing_id
    assert sql_user_store.get_user(ada.id) == ada


def test_the_runner_closes_its_sqlite_connections_on_dispose(tmp_path: Path) -> None:
    from faroe_flask.sql import create_engine

    from ..backends import open_tables

    path = tmp_path / "closed.sqlite3"
    engine = create_engine(f"sqlite:///{path}")

    def open_handles() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
            except OSError:
                pass
        return count

    with open_tables(engine) as (table, _users):
        storage = SQLStorage(engine, table)
        storage.add("aaah.k", b"v", HINT)
        assert storage.get("aaah.k") == (b"v", 0)
        assert open_handles() >= 1
    engine.dispose()
    assert open_handles() == 0


def test_a_sqlite_read_holds_no_snapshot_afterwards(tmp_path: Path) -> None:
    """Each call's SQLite cursor is closed: after a read, another connection can checkpoint the
    whole write-ahead log (a reader left mid-statement would keep its snapshot, and the log)."""
    from faroe_flask.sql import create_engine

    from ..backends import open_tables

    path = tmp_path / "snapshot.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with open_tables(engine) as (table, _users):
            storage = SQLStorage(engine, table)
            storage.add("aaah.k", b"v", HINT)
            assert storage.get("aaah.k") == (b"v", 0)
            other = sqlite3.connect(path, isolation_level=None)
            try:
                other.execute(f"UPDATE {table.name} SET counter = counter + 1")
                busy, _, _ = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            finally:
                other.close()
            assert busy == 0
            assert storage.get("aaah.k") == (b"v", 1)
    finally:
        engine.dispose()


def test_a_refused_connection_is_one_line_naming_the_drivers_error(sql_backend: str) -> None:
    import socket

    from faroe_flask.sql import create_engine

    if sql_backend == "sqlite":
        pytest.skip("no server to refuse")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        scheme = "postgresql+psycopg" if sql_backend == "postgresql" else "mysql+pymysql"
        engine = create_engine(f"{scheme}://faroe@127.0.0.1:{port}/faroe", connect_timeout=2)
        try:
            with pytest.raises(SQLError) as raised:
                SQLStorage(engine).get("aaah.k")
        finally:
            engine.dispose()
    message = str(raised.value)
    assert message.startswith("could not connect to the database: OperationalError: ")
    assert "\n" not in message and "  " not in message
    assert "Background on this error" not in message and "(psycopg" not in message and "(pymysql" not in message
    assert "refused" in message.lower() and "XX" not in message


def test_result_columns_come_back_as_their_python_types(engine: Engine, tables: tuple[Table, Table]) -> None:
    """The runner applies each selected column's result processing (SQLite hands timestamps back
    as text, MariaDB booleans as integers)."""
    from datetime import datetime

    table, users = tables
    storage = SQLStorage(engine, table)
    storage.add("aaah.k", b"v", HINT)
    runner = runner_for(engine)
    stored = runner.prepare(select(table.c.expires_at, table.c.value).where(table.c.key == bindparam("key")))
    expires_at, value = runner.read_one(stored, {"key": "aaah.k"}) or (None, None)
    assert isinstance(expires_at, datetime) and expires_at == HINT.replace(tzinfo=None, microsecond=expires_at.microsecond)
    assert bytes(value) == b"v"
    store = SQLUserStore(engine, users)
    ada = store.create_user("ada@example.com", b"h", "alg", b"s")
    flags = runner.prepare(select(users.c.disabled, users.c.created_at).where(users.c.id == bindparam("id")))
    disabled, created_at = runner.read_one(flags, {"id": ada.id}) or (None, None)
    assert disabled is False and isinstance(created_at, datetime)


def test_the_runner_keeps_its_connections(engine: Engine, tables: tuple[Table, Table]) -> None:
    """Twenty calls in a row, and a failed one, reuse one connection: none is opened again while
    it is open (a statement that failed on its own leaves no transaction to roll back)."""
    from faroe_flask import StorageEntryAlreadyExistsError
    from sqlalchemy import event

    table = tables[0]
    storage = SQLStorage(engine, table)
    storage.add("aaah.k", b"v", HINT)
    runner = runner_for(engine)
    broken_read = runner.prepare(select(text_column("faroe_no_such_column")).select_from(table))
    opened: list[object] = []

    def on_connect(dbapi_connection: object, _record: object) -> None:
        opened.append(dbapi_connection)

    event.listen(engine, "connect", on_connect)
    try:
        for counter in range(10):
            assert storage.get("aaah.k")[1] == counter
            storage.update("aaah.k", b"v", HINT, counter)
            with pytest.raises(StorageEntryAlreadyExistsError):
                storage.add("aaah.k", b"again", HINT)
            with pytest.raises(SQLError):
                runner.read_one(broken_read, {})
    finally:
        event.remove(engine, "connect", on_connect)
    assert len(opened) <= 1  # at most the first call of a runner new to this engine


def test_a_statement_without_a_value_for_a_parameter_names_it(engine: Engine, tables: tuple[Table, Table]) -> None:
    table = tables[0]
    runner = runner_for(engine)
    by_key = runner.prepare(select(table.c.value).where(table.c.key == bindparam("key")))
    with pytest.raises(KeyError) as raised:
        runner.read_one(by_key, {})
    assert raised.value.args == ("no value for the statement parameter key",)


def test_sqlite_timestamps_are_stored_as_sqlalchemy_writes_them(tmp_path: Path) -> None:
    """What an application reading the table with SQLAlchemy expects: the DateTime type's text."""
    from datetime import datetime, timezone

    from faroe_flask.sql import create_engine

    from ..backends import open_tables

    path = tmp_path / "times.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    try:
        with open_tables(engine) as (table, _users):
            SQLStorage(engine, table).add("aaah.k", b"v", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
            raw = sqlite3.connect(path)
            try:
                (stored,) = raw.execute(f"SELECT expires_at FROM {table.name}").fetchone()
            finally:
                raw.close()
            assert stored == "2030-01-02 03:04:05.000000"
    finally:
        engine.dispose()


# Edges found by mutation testing, round 3 ---------------------------------------------------------

_MYSQL_FOREIGN_KEY_TEXT = (
    "Cannot delete or update a parent row: a foreign key constraint fails "
    "(`test`.`orders`, CONSTRAINT `fk_orders_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`))"
)


@pytest.mark.parametrize(
    ("error", "foreign_key", "described"),
    [
        # MySQL/MariaDB: every foreign-key error number, with and without a message it can read
        *[(pymysql.err.IntegrityError(number, _MYSQL_FOREIGN_KEY_TEXT), True, "constraint fk_orders_user on table orders")
          for number in (1216, 1217, 1451, 1452)],
        (pymysql.err.IntegrityError(1452, "a foreign key constraint fails"), True, None),
        (pymysql.err.IntegrityError(1451), True, None),
        (pymysql.err.IntegrityError(1218, _MYSQL_FOREIGN_KEY_TEXT), False, None),  # another error number
        (pymysql.err.IntegrityError(1453, _MYSQL_FOREIGN_KEY_TEXT), False, None),
        (pymysql.err.IntegrityError(1062, "Duplicate entry 'a@example.com' for key 'uq_email'"), False, "key uq_email"),
        (pymysql.err.IntegrityError(1586, "Duplicate entry 'a@example.com' for key 'uq_email'"), False, "key uq_email"),
        (pymysql.err.IntegrityError(1587, "Duplicate entry 'a@example.com' for key 'uq_email'"), False, None),
        (pymysql.err.IntegrityError(1062, "Duplicate entry 'a@example.com'"), False, None),
        (pymysql.err.IntegrityError(1048, "Column 'email_address' cannot be null"), False, "column email_address"),
        (pymysql.err.IntegrityError(1048, "cannot be null"), False, None),
        # A driver error with no code and no SQLite error name
        (RuntimeError("FOREIGN KEY constraint failed"), False, None),
    ],
)
def test_foreign_key_refusals_and_constraints_by_error_number(
    error: BaseException, foreign_key: bool, described: str | None
) -> None:
    assert is_foreign_key_violation(error) is foreign_key
    assert describe_constraint(error) == described


def test_a_sqlite_trigger_refusal_is_not_a_foreign_key_refusal(tmp_path: Path) -> None:
    """SQLite reports ``ON DELETE RESTRICT`` as a trigger's refusal with a fixed text; an
    application trigger's own refusal has the same error name and its own text."""
    connection = sqlite3.connect(tmp_path / "trigger.sqlite3")
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    connection.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) ON DELETE RESTRICT)")
    connection.execute(
        "CREATE TRIGGER no_zero BEFORE INSERT ON parent WHEN NEW.id = 0 BEGIN SELECT RAISE(ABORT, 'no zero'); END"
    )
    connection.execute("INSERT INTO parent VALUES (1)")
    connection.execute("INSERT INTO child VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as restricted:
        connection.execute("DELETE FROM parent WHERE id = 1")
    with pytest.raises(sqlite3.IntegrityError) as triggered:
        connection.execute("INSERT INTO parent VALUES (0)")
    connection.close()
    assert restricted.value.sqlite_errorname == triggered.value.sqlite_errorname == "SQLITE_CONSTRAINT_TRIGGER"
    assert is_foreign_key_violation(restricted.value) is True
    assert is_foreign_key_violation(triggered.value) is False


def test_an_integrity_error_says_its_kind() -> None:
    assert str(SQLIntegrityError(False, "error 3819")) == "integrity constraint violated (error 3819)"
    assert SQLIntegrityError(False, "error 3819").foreign_key_violation is False
    assert str(SQLIntegrityError(True, "error 1062", "key k")) == "unique constraint violated (error 1062): key k"
    refused = SQLIntegrityError(False, "error 1451", foreign_key_violation=True)
    assert str(refused) == "foreign key constraint violated (error 1451)" and refused.foreign_key_violation


def test_a_postgresql_constraint_of_no_table_is_named_alone(sql_backend: str, engine: Engine) -> None:
    """A domain's CHECK belongs to no table: the constraint is named without one."""
    if sql_backend != "postgresql":
        pytest.skip("domains are PostgreSQL's")
    domain = f"positive_{unique_suffix()}"
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"CREATE DOMAIN {domain} AS integer CONSTRAINT {domain}_check CHECK (VALUE > 0)")
        connection.commit()
        with pytest.raises(Exception) as raised:
            cursor.execute(f"SELECT (-1)::{domain}")
        connection.rollback()
        assert describe_constraint(raised.value) == f"constraint {domain}_check"
        cursor.execute(f"DROP DOMAIN {domain}")
        connection.commit()
    finally:
        connection.close()


def _legacy_users(store: Any, legacy: list[str | None]) -> list[str]:
    """Users of ``store`` whose legacy column holds ``legacy`` (in id order) and no algorithm."""
    from sqlalchemy import update

    table, ids = store.table, []
    for index, value in enumerate(legacy):
        user = store.create_user(f"legacy{index}@example.com", b"h", "placeholder", b"s")
        new_id = f"{index:02d}" + "b" * 22
        with store.engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == user.id).values(
                id=new_id, legacy=value, password_hash_algorithm_id=None))
        ids.append(new_id)
    return ids


def test_importing_reads_one_batch_at_a_time(legacy_store: Any) -> None:
    """Five rows, batches of two: three reads, the last one short; each read asks for two rows."""
    from sqlalchemy import event
    from werkzeug.security import generate_password_hash

    from faroe_flask.sql import import_werkzeug_hashes

    fast_hash = generate_password_hash("old password", "pbkdf2:sha256:1000")
    _legacy_users(legacy_store, [fast_hash, "not a hash", fast_hash, "nor this", fast_hash])
    reads: list[str] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "legacy_pw" in statement:
            reads.append(statement)

    event.listen(legacy_store.engine, "before_cursor_execute", count)
    try:
        report = import_werkzeug_hashes(legacy_store, "legacy", batch_size=2)
    finally:
        event.remove(legacy_store.engine, "before_cursor_execute", count)
    assert (report.converted, report.unsupported) == (3, 2)
    assert len(reads) == 3


@pytest.mark.parametrize("changed", [1, 2])
def test_a_password_changed_during_the_import_is_not_overwritten(legacy_store: Any, changed: int) -> None:
    """The application rehashes users' passwords (its own algorithm id) between the import's read
    and its write: the write leaves those rows alone, and the report does not count them."""
    from sqlalchemy import event, update
    from werkzeug.security import generate_password_hash

    from faroe_flask.sql import import_werkzeug_hashes

    if legacy_store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite: the import's transaction lets no other writer in between its read and write")
    fast_hash = generate_password_hash("old password", "pbkdf2:sha256:1000")
    first, second = _legacy_users(legacy_store, [fast_hash, fast_hash])
    table, engine = legacy_store.table, legacy_store.engine
    fired: list[str] = []

    def change_one_first(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE") and not fired:
            fired.append(statement)
            with engine.begin() as other:  # another connection: the application, meanwhile
                other.execute(update(table).where(table.c.id.in_([first, second][:changed])).values(
                    password_hash=b"new", password_hash_algorithm_id="argon2id.3.65536.1.32"))

    event.listen(engine, "before_cursor_execute", change_one_first)
    try:
        report = import_werkzeug_hashes(legacy_store, "legacy")
    finally:
        event.remove(engine, "before_cursor_execute", change_one_first)
    assert fired
    assert report.converted == 2 - changed
    for index, user_id in enumerate((first, second)):
        user = legacy_store.get_user(user_id)
        if index < changed:
            assert (user.password_hash, user.password_hash_algorithm_id) == (b"new", "argon2id.3.65536.1.32")
        else:
            assert user.password_hash_algorithm_id.startswith("werkzeug.")


def test_importing_through_a_store_given_the_tables_name(legacy_store: Any) -> None:
    """A store given the table by name knows Faroe's columns only: the legacy column is named as
    it is in the database; a name that is not an identifier is refused."""
    from werkzeug.security import generate_password_hash

    from faroe_flask.sql import import_werkzeug_hashes

    fast_hash = generate_password_hash("old password", "pbkdf2:sha256:1000")
    ids = _legacy_users(legacy_store, [fast_hash, "not a hash", None])
    named = SQLUserStore(legacy_store.engine, legacy_store.table.name)
    with pytest.raises(ValueError) as raised:
        import_werkzeug_hashes(named, "legacy_pw; DROP TABLE x")
    assert str(raised.value) == f"table {legacy_store.table.name} has no column legacy_pw; DROP TABLE x"
    report = import_werkzeug_hashes(named, "legacy_pw")
    assert (report.converted, report.unsupported) == (1, 1)
    assert named.get_user(ids[0]).password_hash_algorithm_id == next(iter(report.algorithm_ids))
    assert named.get_user(ids[0]).password_hash_algorithm_id.startswith("werkzeug.")


def test_a_forked_child_may_open_as_many_connections_as_its_parent(sql_backend: str) -> None:
    """One connection at most (pool size 1, no overflow), held idle by the parent: a forked child
    still opens its own, since none of the parent's counts as the child's."""
    if sql_backend == "sqlite":
        pytest.skip("SQLite has no server connection to share")
    from sqlalchemy import literal

    from faroe_flask.sql import create_engine

    variable = {"postgresql": "FAROE_TEST_POSTGRESQL_URL", "mysql": "FAROE_TEST_MYSQL_URL"}[sql_backend]
    engine = create_engine(os.environ[variable], pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        runner = runner_for(engine)
        assert runner.max_connections == 1
        one = runner.prepare(select(literal(1)))
        assert runner.read_one(one, {}) == (1,)  # the parent's one connection, idle now
        assert _in_a_forked_child(lambda: repr(runner.read_one(one, {}))) == "(1,)"
        assert runner.read_one(one, {}) == (1,)  # and the parent's connection still works
    finally:
        engine.dispose()


def _holding(runner: Any, **options: bool) -> tuple[Any, Any, Any]:
    """A thread holding one of ``runner``'s connections in a transaction (``options``: those of
    ``Runner.transaction``; a read by default) that runs nothing, until released."""
    import threading

    holding, release = threading.Event(), threading.Event()

    def hold(_transaction: Any) -> None:
        holding.set()
        release.wait(10)

    thread = threading.Thread(target=runner.transaction, args=(hold,), kwargs=options or {"write": False})
    thread.start()
    assert holding.wait(5)
    return thread, release, holding


def test_the_runner_takes_its_bounds_from_the_engines_pool(tmp_path: Path) -> None:
    """A queue pool's size, overflow and timeout bound the runner: with one connection held, the
    next caller waits the pool's timeout (here half a second), then gets an error that says so.
    A pool without a size (``NullPool``) or with unlimited overflow gets 64 connections."""
    import time

    from sqlalchemy import literal
    from sqlalchemy.pool import NullPool

    from faroe_flask.sql import create_engine

    url = f"sqlite:///{tmp_path / 'pool.sqlite3'}"
    for unbounded in (create_engine(url, poolclass=NullPool), create_engine(url, pool_size=2, max_overflow=-1)):
        try:
            assert runner_for(unbounded).max_connections == 64
        finally:
            unbounded.dispose()
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    try:
        runner = runner_for(engine)
        assert runner.max_connections == 1
        one = runner.prepare(select(literal(1)))
        holder, release, _ = _holding(runner)
        try:
            started = time.monotonic()
            with pytest.raises(SQLError) as raised:
                runner.read_one(one, {})
            waited = time.monotonic() - started
        finally:
            release.set()
            holder.join(10)
        assert str(raised.value) == "no database connection became free within 0.5 s"
        assert 0.4 <= waited < 5, waited
        assert runner.read_one(one, {}) == (1,)  # the connection is back
    finally:
        engine.dispose()


def test_callers_waiting_for_a_connection_each_get_one_and_no_more_are_opened(tmp_path: Path) -> None:
    """Two connections at most: with both held, a third caller waits and gives up after the pool's
    timeout; with one held and then freed, two waiting callers are served one after the other."""
    import threading
    import time

    from sqlalchemy import literal

    from faroe_flask.sql import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'wait.sqlite3'}", pool_size=2, max_overflow=0, pool_timeout=4)
    try:
        runner = runner_for(engine)
        one = runner.prepare(select(literal(1)))
        holders = [_holding(runner), _holding(runner)]
        try:
            started = time.monotonic()
            with pytest.raises(SQLError):
                runner.read_one(one, {})  # a third connection is never opened
            assert time.monotonic() - started >= 3.5
        finally:
            for thread, release, _ in holders:
                release.set()
                thread.join(10)
        # Both connections idle again; hold both, then free one: two waiters share it in turn.
        holders = [_holding(runner), _holding(runner)]
        answers: list[Any] = []
        waiters = [threading.Thread(target=lambda: answers.append(runner.read_one(one, {}))) for _ in range(2)]
        for waiter in waiters:
            waiter.start()
        time.sleep(0.3)  # both are waiting now
        started = time.monotonic()
        holders[0][1].set()
        for waiter in waiters:
            waiter.join(10)
        assert answers == [(1,), (1,)] and time.monotonic() - started < 3
        holders[1][1].set()
        for thread, _, _ in holders:
            thread.join(10)
    finally:
        engine.dispose()


def test_a_connection_that_died_while_put_back_is_replaced_for_a_waiting_caller(sql_backend: str) -> None:
    """One connection at most. Its server session ends (the server restarted it, say) while a
    caller waits for it; when it is put back the waiter finds it dead, replaces it, and the bound
    of one connection still holds afterwards."""
    if sql_backend != "postgresql":
        pytest.skip("ends a server session with pg_terminate_backend")
    import threading
    import time

    import psycopg
    from sqlalchemy import literal
    from sqlalchemy.engine import make_url

    from faroe_flask.sql import create_engine

    url = os.environ["FAROE_TEST_POSTGRESQL_URL"]
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=3)
    try:
        runner = runner_for(engine)
        pid = runner.prepare(select(func.pg_backend_pid()))
        (backend,) = runner.read_one(pid, {}) or (None,)
        holder, release, _ = _holding(runner, single_statement=True)  # runs nothing on it
        answers: list[Any] = []
        waiter = threading.Thread(target=lambda: answers.append(runner.read_one(pid, {})))
        waiter.start()
        time.sleep(0.3)  # the waiter waits for the held connection
        plain = make_url(url).set(drivername="postgresql")
        with psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        time.sleep(0.3)
        release.set()
        holder.join(10)
        waiter.join(10)
        assert len(answers) == 1 and answers[0] is not None and answers[0][0] != backend
        # Still one connection at most: with it held, another caller gives up after the timeout.
        holder, release, _ = _holding(runner, single_statement=True)
        try:
            with pytest.raises(SQLError):
                runner.read_one(runner.prepare(select(literal(1))), {})
        finally:
            release.set()
            holder.join(10)
    finally:
        engine.dispose()


def test_a_statement_with_an_expanding_parameter_cannot_be_prepared(tmp_path: Path) -> None:
    """An ``IN`` list bound at run time would need the statement compiled anew for each length:
    refused, with what to do instead (``values_inline``) working."""
    from sqlalchemy import Column, MetaData, String
    from sqlalchemy import Table as SATable

    from faroe_flask.sql import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'expanding.sqlite3'}")
    try:
        things = SATable("things", MetaData(), Column("key", String(10), primary_key=True))
        runner = runner_for(engine)
        expanding = select(things.c.key).where(things.c.key.in_(bindparam("keys", expanding=True)))
        with pytest.raises(ValueError) as raised:
            runner.prepare(expanding)
        assert str(raised.value) == "statements with post-compile parameters cannot be prepared"
        inline = runner.prepare(select(things.c.key).where(things.c.key.in_(["a", "b"])), values_inline=True)
        assert inline.sql.count("?") == 2
    finally:
        engine.dispose()


def test_threads_asking_for_a_new_engines_runner_at_once_share_one(tmp_path: Path) -> None:
    """The first uses of an engine's runner, from 8 threads at once (a server's first requests):
    one runner, so one bound on the engine's connections; for 20 engines in a row."""
    import threading

    from faroe_flask.sql import create_engine

    for number in range(20):
        engine = create_engine(f"sqlite:///{tmp_path / f'first{number}.sqlite3'}")
        try:
            barrier = threading.Barrier(8)
            seen: list[Any] = []

            def first_use() -> None:
                barrier.wait(5)
                seen.append(runner_for(engine))

            threads = [threading.Thread(target=first_use) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert len(seen) == 8 and all(runner is seen[0] for runner in seen)
            assert runner_for(engine) is seen[0]
        finally:
            engine.dispose()
