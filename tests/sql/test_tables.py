"""The tables as each database creates them (faroe_flask.sql.tables): columns, lengths, NOT NULL,
server defaults, constraint and index names, and MySQL/MariaDB's table options, read back from the
database on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, inspect, insert, select, text

from faroe_flask.sql import create_engine, make_storage_table, make_users_table

from ..backends import unique_suffix


@pytest.fixture
def metadata(engine: Engine) -> Iterator[MetaData]:
    metadata = MetaData()
    yield metadata
    metadata.drop_all(engine)


def _columns(engine: Engine, table: Table) -> list[tuple[str, bool, int | None]]:
    """(name, nullable, length) of each column, in table order."""
    return [
        (column["name"], column["nullable"], getattr(column["type"], "length", None))
        for column in inspect(engine).get_columns(table.name)
    ]


def _check_primary_key(engine: Engine, table: Table, column: str) -> None:
    constraint = inspect(engine).get_pk_constraint(table.name)
    assert constraint["constrained_columns"] == [column]
    # MySQL/MariaDB name every primary key PRIMARY (reflected as no name).
    assert constraint["name"] == (None if engine.dialect.name == "mysql" else f"pk_{table.name}")


def _mysql_options(engine: Engine, table: Table) -> None:
    if engine.dialect.name != "mysql":
        return
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT engine, table_collation FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = :t"),
            {"t": table.name},
        ).one()
        assert row[0] == "InnoDB" and str(row[1]).startswith("utf8mb4_")
        fractions = connection.execute(
            text(
                "SELECT column_name, datetime_precision FROM information_schema.columns WHERE table_schema = DATABASE() "
                "AND table_name = :t AND data_type = 'datetime'"
            ),
            {"t": table.name},
        ).all()
        assert [tuple(fraction) for fraction in fractions] == [(column.name, 6) for column in table.c if column.key in ("expires_at", "created_at")]


def test_the_storage_table_as_created(engine: Engine, metadata: MetaData) -> None:
    name = f"storage_{unique_suffix()}"
    table = make_storage_table(metadata, name)
    metadata.create_all(engine)
    assert _columns(engine, table) == [("key", False, 255), ("value", False, None), ("counter", False, None), ("expires_at", False, None)]
    # The Table says so too (Alembic's autogenerate compares it with the database).
    assert [column.nullable for column in table.c] == [False] * 4
    _check_primary_key(engine, table, "key")
    indexes = [(index["name"], index["column_names"], bool(index["unique"])) for index in inspect(engine).get_indexes(name)]
    assert indexes == [(f"ix_{name}_expires_at", ["expires_at"], False)]
    _mysql_options(engine, table)
    with engine.begin() as connection:
        connection.execute(insert(table).values(key="k", value=b"v", expires_at=datetime(2030, 1, 1)))
        assert connection.execute(select(table.c.counter)).scalar_one() == 0


def test_the_users_table_as_created(engine: Engine, metadata: MetaData) -> None:
    name = f"users_{unique_suffix()}"
    table = make_users_table(metadata, name)
    metadata.create_all(engine)
    assert _columns(engine, table) == [
        ("id", False, 255),
        ("email_address", False, 255),
        ("password_hash", False, None),
        ("password_salt", False, None),
        ("password_hash_algorithm_id", False, 255),
        ("disabled", False, None),
        ("display_name", False, 255),
        ("email_address_counter", False, None),
        ("password_hash_counter", False, None),
        ("disabled_counter", False, None),
        ("sessions_counter", False, None),
        ("created_at", False, None),
    ]
    assert [column.nullable for column in table.c] == [False] * 12
    _check_primary_key(engine, table, "id")
    unique = [(constraint["name"], constraint["column_names"]) for constraint in inspect(engine).get_unique_constraints(name)]
    assert unique == [(f"uq_{name}_email_address", ["email_address"])]
    _mysql_options(engine, table)
    required: dict[str, Any] = {
        "id": "u" * 24, "email_address": "a@example.com", "password_hash": b"h", "password_salt": b"s",
        "password_hash_algorithm_id": "alg", "created_at": datetime(2030, 1, 1),
    }
    with engine.begin() as connection:
        connection.execute(insert(table).values(required))
        row = connection.execute(select(table)).one()
    defaults = {key: value for key, value in row._mapping.items() if key not in required}
    assert defaults == {
        "disabled": False, "display_name": "", "email_address_counter": 0, "password_hash_counter": 0,
        "disabled_counter": 0, "sessions_counter": 0,
    }


def test_unknown_user_columns_are_refused_by_name() -> None:
    with pytest.raises(ValueError) as refused:
        make_users_table(MetaData(), "users", {"emial": "email", "id": "user_id"})
    assert str(refused.value) == "unknown user columns: ['emial']"


def test_mysql_tables_are_utf8mb4_in_a_database_whose_default_is_not(engine: Engine) -> None:
    """The table options say InnoDB and utf8mb4 whatever the database's defaults (here latin1)."""
    if engine.dialect.name != "mysql":
        pytest.skip("MySQL/MariaDB only")
    name = f"faroe_latin1_{unique_suffix()}"
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET latin1 COLLATE latin1_swedish_ci")
    try:
        latin1 = create_engine(engine.url.set(database=name))
        try:
            metadata = MetaData()
            tables = [make_storage_table(metadata, "storage"), make_users_table(metadata, "users")]
            metadata.create_all(latin1)
            for table in tables:
                _mysql_options(latin1, table)
        finally:
            latin1.dispose()
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name}")


def test_the_names_stay_faroes_in_an_application_metadata_with_its_own_naming_convention() -> None:
    """Faroe's migrations create these names: an application's naming convention must not rename
    them in its metadata (its autogenerate would then see differences)."""
    metadata = MetaData(naming_convention={"ix": "idx_%(column_0_label)s", "pk": "pkey_%(table_name)s", "uq": "uniq_%(table_name)s_%(column_0_name)s"})
    storage = make_storage_table(metadata, "auth_kv")
    users = make_users_table(metadata, "auth_users")
    assert [index.name for index in storage.indexes] == ["ix_auth_kv_expires_at"]
    assert storage.primary_key.name == "pk_auth_kv" and users.primary_key.name == "pk_auth_users"
    assert [str(c.name) for c in users.constraints if str(c.name).startswith("uq")] == ["uq_auth_users_email_address"]
