"""What SQLUserStore adds to the UserStore contract: column mappings, application tables, created_at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    inspect,
    select,
)

from faroe_flask import UserEmailAddressAlreadyUsedError, UserNotFoundError
from faroe_flask.sql import SQLUserStore, make_users_table
from faroe_flask.sql.tables import exact_string

from ..backends import unique_suffix

RENAMED = {
    "id": "user_id",
    "email_address": "email",
    "password_hash": "pw_hash",
    "password_salt": "pw_salt",
    "password_hash_algorithm_id": "pw_algorithm",
    "disabled": "is_disabled",
    "display_name": "name",
    "email_address_counter": "email_version",
    "password_hash_counter": "pw_version",
    "disabled_counter": "disabled_version",
    "sessions_counter": "sessions_version",
    "created_at": "joined_at",
}


@pytest.fixture
def metadata(engine: Engine) -> Iterator[MetaData]:
    metadata = MetaData()
    yield metadata
    metadata.drop_all(engine)


def _exercise(store: SQLUserStore) -> None:
    alice = store.create_user("Alice@example.com", b"h", "alg", b"s")
    assert store.get_user(alice.id) == alice
    assert store.get_user_by_email_address("Alice@example.com") == alice
    with pytest.raises(UserNotFoundError):
        store.get_user_by_email_address("alice@example.com")
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        store.create_user("Alice@example.com", b"h", "alg", b"s")
    store.update_user_email_address(alice.id, "alice@new.example", 0)
    store.update_user_password_hash(alice.id, b"h2", "alg2", b"s2", 0)
    store.increment_user_sessions_counter(alice.id, 0)
    store.set_user_disabled(alice.id, True)
    user = store.get_user(alice.id)
    assert (user.email_address, user.password_hash, user.disabled) == ("alice@new.example", b"h2", True)
    assert (user.email_address_counter, user.password_hash_counter) == (1, 1)
    assert (user.disabled_counter, user.sessions_counter) == (1, 1)
    store.delete_user(alice.id)
    with pytest.raises(UserNotFoundError):
        store.get_user(alice.id)


def test_make_users_table_renames_database_columns(engine: Engine, metadata: MetaData) -> None:
    table = make_users_table(metadata, f"app_users_{unique_suffix()}", RENAMED)
    metadata.create_all(engine)
    assert {column["name"] for column in inspect(engine).get_columns(table.name)} == set(RENAMED.values())
    assert table.c.email_address.name == "email"
    store = SQLUserStore(engine, table)
    _exercise(store)
    store_by_names = SQLUserStore(engine, table, column_names=RENAMED)  # mapping by database names
    created = store_by_names.create_user("bob@example.com", b"h", "alg", b"s")
    assert store.get_user(created.id) == created


def test_an_application_table_with_other_names_and_fewer_columns(engine: Engine, metadata: MetaData) -> None:
    table = Table(
        f"accounts_{unique_suffix()}",
        metadata,
        Column("account_id", exact_string(64), primary_key=True),
        Column("mail", exact_string(120), nullable=False, unique=True),
        Column("hash", LargeBinary, nullable=False),
        Column("salt", LargeBinary, nullable=False),
        Column("algorithm", String(100), nullable=False),
        Column("locked", Boolean, nullable=False),
        Column("mail_counter", Integer, nullable=False),
        Column("hash_counter", Integer, nullable=False),
        Column("locked_counter", Integer, nullable=False),
        Column("session_counter", Integer, nullable=False),
        Column("favourite_colour", String(20), nullable=True),  # the application's own column
    )
    metadata.create_all(engine)
    store = SQLUserStore(
        engine,
        table,
        column_names={
            "id": "account_id",
            "email_address": "mail",
            "password_hash": "hash",
            "password_salt": "salt",
            "password_hash_algorithm_id": "algorithm",
            "disabled": "locked",
            "display_name": None,
            "email_address_counter": "mail_counter",
            "password_hash_counter": "hash_counter",
            "disabled_counter": "locked_counter",
            "sessions_counter": "session_counter",
            "created_at": None,
        },
    )
    _exercise(store)
    bob = store.create_user("bob@example.com", b"h", "alg", b"s")
    assert store.get_user(bob.id).display_name == ""
    with pytest.raises(ValueError) as raised:
        store.set_user_display_name(bob.id, "Bob")
    assert str(raised.value) == f"table {table.name} has no display name column"


def test_a_table_without_a_required_column_is_refused(engine: Engine, metadata: MetaData) -> None:
    table = Table("not_users", metadata, Column("id", String(10), primary_key=True))
    with pytest.raises(ValueError, match="email_address"):
        SQLUserStore(engine, table)
    with pytest.raises(ValueError, match="unknown"):
        SQLUserStore(engine, table, column_names={"e_mail": "id"})
    with pytest.raises(ValueError, match="unknown"):
        make_users_table(metadata, "other", {"e_mail": "x"})


def test_created_at_is_the_clock_in_naive_utc(sql_user_store: SQLUserStore) -> None:
    moment = datetime(2026, 5, 4, 3, 2, 1, 123_456, tzinfo=timezone(timedelta(hours=-5)))
    store = SQLUserStore(sql_user_store.engine, sql_user_store.table, clock=lambda: moment)
    user = store.create_user("a@b", b"h", "alg", b"s")
    t = store.table
    with store.engine.connect() as connection:
        created_at = connection.execute(select(t.c.created_at).where(t.c.id == user.id)).scalar_one()
    assert created_at == datetime(2026, 5, 4, 8, 2, 1, 123_456)


def test_user_ids_come_from_the_generator(sql_user_store: SQLUserStore) -> None:
    ids = iter(["user-1", "user-2"])
    store = SQLUserStore(sql_user_store.engine, sql_user_store.table, generate_user_id=lambda: next(ids))
    assert store.create_user("a@b", b"h", "alg", b"s").id == "user-1"
    assert store.get_user("user-1").email_address == "a@b"


def test_errors_never_quote_the_email_address(sql_user_store: SQLUserStore) -> None:
    sql_user_store.create_user("secret-marker@example.com", b"h", "alg", b"s")
    with pytest.raises(UserEmailAddressAlreadyUsedError) as caught:
        sql_user_store.create_user("secret-marker@example.com", b"h", "alg", b"s")
    assert "secret-marker" not in str(caught.value)
    with pytest.raises(UserNotFoundError) as not_found:
        sql_user_store.get_user_by_email_address("other-marker@example.com")
    assert "other-marker" not in str(not_found.value)


def test_a_store_given_the_table_name_writes_with_the_tables_types(engine: Engine, metadata: MetaData) -> None:
    """The columns of a table given by name carry Faroe's types: ``created_at`` is written as the
    application's own SQLAlchemy queries compare it (on SQLite, text with microseconds)."""
    name = f"named_users_{unique_suffix()}"
    table = make_users_table(metadata, name)
    metadata.create_all(engine)
    joined = datetime(2026, 1, 1, tzinfo=timezone.utc)
    store = SQLUserStore(engine, name, clock=lambda: joined)
    user = store.create_user("named@example.com", b"h", "alg", b"s")
    with engine.connect() as connection:
        since = select(table.c.id).where(table.c.created_at >= joined.replace(tzinfo=None))
        assert connection.execute(since).scalars().all() == [user.id]
        at = select(table.c.id).where(table.c.created_at == joined.replace(tzinfo=None))
        assert connection.execute(at).scalars().all() == [user.id]
    assert store.get_user(user.id) == user


def test_created_at_is_utc_whatever_the_machines_time_zone(
    sql_user_store: SQLUserStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's clock is UTC: on a machine whose local time is 9 hours ahead, ``created_at``
    still holds UTC (naive, as every timestamp column does)."""
    import time

    from sqlalchemy import select

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        user = sql_user_store.create_user("clock@example.com", b"h", "argon2id", b"s")
        now = datetime.now(timezone.utc).replace(tzinfo=None)
    finally:
        monkeypatch.undo()
        time.tzset()
    t = sql_user_store.table
    with sql_user_store.engine.connect() as connection:
        created_at = connection.execute(select(t.c.created_at).where(t.c.id == user.id)).scalar_one()
    assert abs((now - created_at).total_seconds()) < 60, (now, created_at)
