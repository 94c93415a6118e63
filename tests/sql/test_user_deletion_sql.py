"""Deleting users whose rows the application's own tables refer to (faroe_flask.sql.deletion), on
SQLite, PostgreSQL and MariaDB: the refusal names its constraint and changes nothing, a
``before_delete`` hook works in the same transaction, ``deletion="anonymise"`` keeps the row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, ForeignKey, Integer, MetaData, String, Table, func, select

from faroe_flask import UserDeletionRefusedError, UserEmailAddressAlreadyUsedError, UserNotFoundError
from faroe_flask.sql import SQLUserStore, make_users_table
from faroe_flask.sql.deletion import COUNTERS, UserDeletionTransaction
from faroe_flask.sql.runner import SQLIntegrityError, runner_for
from faroe_flask.sql.tables import exact_string

from ..backends import unique_suffix

EMAIL = "Ada.Lovelace@example.com"


class Schema:
    """A users table, ``posts`` (plain foreign key) and ``comments`` (ON DELETE CASCADE)."""

    def __init__(self, engine: Engine) -> None:
        suffix = unique_suffix()
        self.engine = engine
        self.metadata = MetaData()
        self.users = make_users_table(self.metadata, f"users_{suffix}")
        id_type = self.users.c.id.type
        self.posts = Table(
            f"posts_{suffix}",
            self.metadata,
            sa.Column("id", Integer, primary_key=True, autoincrement=False),
            sa.Column("author_id", id_type, ForeignKey(self.users.c.id), nullable=True),
            sa.Column("title", String(100), nullable=False),
        )
        self.comments = Table(
            f"comments_{suffix}",
            self.metadata,
            sa.Column("id", Integer, primary_key=True, autoincrement=False),
            sa.Column("author_id", id_type, ForeignKey(self.users.c.id, ondelete="CASCADE"), nullable=False),
        )
        self.metadata.create_all(engine)

    def store(self, **options: Any) -> SQLUserStore:
        return SQLUserStore(self.engine, self.users, **options)

    def add_post(self, post_id: int, author_id: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.posts.insert().values(id=post_id, author_id=author_id, title="t"))

    def add_comment(self, comment_id: int, author_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.comments.insert().values(id=comment_id, author_id=author_id))

    def rows(self, table: Table) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))]

    def count(self, table: Table) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.fixture
def schema(engine: Engine) -> Iterator[Schema]:
    schema = Schema(engine)
    try:
        yield schema
    finally:
        schema.metadata.drop_all(engine)


def _user(store: SQLUserStore, email_address: str = EMAIL) -> str:
    return store.create_user(email_address, b"hash", "argon2id", b"salt").id


def test_a_plain_foreign_key_refuses_naming_the_constraint_and_nothing_changes(schema: Schema) -> None:
    store = schema.store()
    user_id = _user(store)
    schema.add_post(1, user_id)
    schema.add_comment(1, user_id)
    with pytest.raises(UserDeletionRefusedError) as refused:
        store.delete_user(user_id)
    message = str(refused.value)
    assert "\n" not in message and schema.posts.name in message, message
    assert EMAIL not in message and user_id not in message, message
    # Nothing half-deleted: the user, the post and the cascading comment are all still there.
    assert store.get_user(user_id).email_address == EMAIL
    assert schema.count(schema.posts) == 1 and schema.count(schema.comments) == 1


def test_on_delete_cascade_removes_the_rows_with_the_user(schema: Schema) -> None:
    store = schema.store()
    keep = _user(store, "keep@example.com")
    user_id = _user(store)
    schema.add_comment(1, user_id)
    schema.add_comment(2, keep)
    store.delete_user(user_id)
    with pytest.raises(UserNotFoundError):
        store.get_user(user_id)
    assert [row[1] for row in schema.rows(schema.comments)] == [keep]


def test_a_hook_removes_the_rows_in_the_same_transaction(schema: Schema) -> None:
    seen: list[tuple[str, str, bool]] = []

    def remove_posts(deletion: UserDeletionTransaction) -> None:
        seen.append((deletion.user_id, deletion.row["email_address"], deletion.anonymise))
        # Reads see the transaction's own writes: the post is gone before the user's row goes.
        assert deletion.execute(sa.delete(schema.posts).where(schema.posts.c.author_id == deletion.user_id)) == 2
        assert deletion.scalar(select(func.count()).select_from(schema.posts)) == 1

    store = schema.store(before_delete=remove_posts)
    other = _user(store, "other@example.com")
    user_id = _user(store)
    schema.add_post(1, user_id)
    schema.add_post(2, user_id)
    schema.add_post(3, other)
    schema.add_comment(1, user_id)
    store.delete_user(user_id)
    assert seen == [(user_id, EMAIL, False)]
    assert [row[0] for row in schema.rows(schema.posts)] == [3]
    assert schema.count(schema.comments) == 0
    with pytest.raises(UserNotFoundError):
        store.get_user(user_id)


def test_a_hook_reassigns_rows(schema: Schema) -> None:
    def orphan_posts(deletion: UserDeletionTransaction) -> None:
        ids = [row[0] for row in deletion.all(select(schema.posts.c.id).where(schema.posts.c.author_id == deletion.user_id))]
        # An IN list carries its values too.
        deletion.execute(sa.update(schema.posts).where(schema.posts.c.id.in_(ids)).values(author_id=None, title="[deleted]"))

    store = schema.store(before_delete=orphan_posts)
    user_id = _user(store)
    schema.add_post(1, user_id)
    schema.add_post(2, user_id)
    store.delete_user(user_id)
    assert schema.rows(schema.posts) == [(1, None, "[deleted]"), (2, None, "[deleted]")]


def test_a_refusal_after_the_hook_undoes_the_hook(schema: Schema) -> None:
    """The hook handles posts but another table (here: a second foreign key the hook forgot)
    still refers to the user: everything the hook did is rolled back."""
    extra = Table(
        f"likes_{unique_suffix()}",
        schema.metadata,
        sa.Column("id", Integer, primary_key=True, autoincrement=False),
        sa.Column("user_id", schema.users.c.id.type, ForeignKey(schema.users.c.id), nullable=False),
    )
    extra.create(schema.engine)

    def remove_posts(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(schema.posts).where(schema.posts.c.author_id == deletion.user_id))

    store = schema.store(before_delete=remove_posts)
    user_id = _user(store)
    schema.add_post(1, user_id)
    with schema.engine.begin() as connection:
        connection.execute(extra.insert().values(id=1, user_id=user_id))
    with pytest.raises(UserDeletionRefusedError) as refused:
        store.delete_user(user_id)
    assert extra.name in str(refused.value) and schema.posts.name not in str(refused.value)
    assert schema.count(schema.posts) == 1 and store.get_user(user_id).email_address == EMAIL


def test_a_hook_that_raises_changes_nothing(schema: Schema) -> None:
    def failing(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(schema.posts))
        raise RuntimeError("the application's hook failed")

    store = schema.store(before_delete=failing)
    user_id = _user(store)
    schema.add_post(1, None)
    with pytest.raises(RuntimeError):
        store.delete_user(user_id)
    assert schema.count(schema.posts) == 1 and store.get_user(user_id).id == user_id


def test_the_hook_does_not_run_for_a_missing_user(schema: Schema) -> None:
    calls: list[str] = []
    store = schema.store(before_delete=lambda deletion: calls.append(deletion.user_id))
    with pytest.raises(UserNotFoundError) as missing:
        store.delete_user("a" * 24)
    assert calls == [] and str(missing.value) == "a" * 24


def test_anonymise_keeps_the_row_for_the_foreign_keys_and_frees_the_address(schema: Schema) -> None:
    hooked: list[bool] = []
    store = schema.store(deletion="anonymise", before_delete=lambda deletion: hooked.append(deletion.anonymise))
    user_id = _user(store)
    before = store.get_user(user_id)
    schema.add_post(1, user_id)
    schema.add_comment(1, user_id)
    store.delete_user(user_id)
    assert hooked == [True]
    # The store no longer finds it, by id or by its old address, and cannot change it.
    with pytest.raises(UserNotFoundError):
        store.get_user(user_id)
    with pytest.raises(UserNotFoundError):
        store.get_user_by_email_address(EMAIL)
    for change in (
        lambda: store.update_user_email_address(user_id, "back@example.com", before.email_address_counter + 1),
        lambda: store.update_user_password_hash(user_id, b"h", "argon2id", b"s", before.password_hash_counter + 1),
        lambda: store.increment_user_sessions_counter(user_id, before.sessions_counter + 1),
        lambda: store.set_user_disabled(user_id, False),
        lambda: store.delete_user(user_id),
    ):
        with pytest.raises(UserNotFoundError):
            change()
    # The row stays, the application's rows still point at it, and nothing personal is left.
    (row,) = [row for row in schema.rows(schema.users) if row[0] == user_id]
    values = dict(zip(schema.users.c.keys(), row))
    assert values["email_address"].startswith("deleted:") and "@" not in values["email_address"]
    assert values["password_hash"] == b"" and values["password_hash_algorithm_id"] == "none"
    assert values["disabled"] and values["sessions_counter"] == before.sessions_counter + 1
    assert schema.rows(schema.posts)[0][1] == user_id and schema.count(schema.comments) == 1
    # The address is free for a new account.
    assert _user(store) != user_id


def test_anonymised_rows_have_distinct_placeholders(schema: Schema) -> None:
    store = schema.store(deletion="anonymise")
    for number in range(3):
        store.delete_user(_user(store, f"user{number}@example.com"))
    emails = {row[1] for row in schema.rows(schema.users)}
    assert len(emails) == 3 and all(email.startswith("deleted:") for email in emails)
    # The unique constraint still guards real addresses.
    _user(store, "user9@example.com")
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        _user(store, "user9@example.com")


def test_a_store_built_from_a_table_name_needs_no_table_yet(engine: Engine) -> None:
    """What an app created before its schema does: no reflection at construction."""
    name = f"app_users_{unique_suffix()}"
    columns = {"id": "faroe_user_id", "email_address": "email", "display_name": None, "created_at": None}
    store = SQLUserStore(engine, name, column_names=columns)
    metadata = MetaData()
    Table(
        name,
        metadata,
        sa.Column("id", Integer, primary_key=True),
        sa.Column("username", String(50), unique=True, nullable=True),
        sa.Column("faroe_user_id", exact_string(255), unique=True, nullable=False),
        sa.Column("email", exact_string(255), unique=True, nullable=False),
        sa.Column("password_hash", sa.LargeBinary(), nullable=False),
        sa.Column("password_salt", sa.LargeBinary(), nullable=False),
        sa.Column("password_hash_algorithm_id", String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        *(sa.Column(counter, Integer, nullable=False) for counter in COUNTERS),
    )
    metadata.create_all(engine)
    try:
        user = store.create_user(EMAIL, b"h", "argon2id", b"s")
        assert store.get_user(user.id) == user and store.get_user_by_email_address(EMAIL) == user
        store.set_user_disabled(user.id, True)
        assert store.get_user(user.id).disabled
        store.delete_user(user.id)
        with pytest.raises(UserNotFoundError):
            store.get_user(user.id)
    finally:
        metadata.drop_all(engine)


def test_integrity_errors_name_constraints_without_values(schema: Schema) -> None:
    _user(schema.store())
    runner = runner_for(schema.engine)
    insert = runner.prepare(schema.users.insert().values(
        id="b" * 24, email_address=EMAIL, password_hash=b"h", password_salt=b"s",
        password_hash_algorithm_id="a", disabled=False, display_name="",
        email_address_counter=0, password_hash_counter=0, disabled_counter=0, sessions_counter=0,
        created_at=datetime(2026, 1, 1)))
    with pytest.raises(SQLIntegrityError) as duplicate:
        runner.execute(insert, {})
    assert duplicate.value.unique_violation and not duplicate.value.foreign_key_violation
    assert duplicate.value.constraint is not None and EMAIL not in str(duplicate.value)
    orphan = runner.prepare(schema.posts.insert().values(id=9, author_id="c" * 24, title="t"))
    with pytest.raises(SQLIntegrityError) as missing_parent:
        runner.execute(orphan, {})
    assert missing_parent.value.foreign_key_violation and "c" * 24 not in str(missing_parent.value)


def test_sqlite_engines_enforce_foreign_keys(engine: Engine, sql_backend: str) -> None:
    if sql_backend != "sqlite":
        pytest.skip("PostgreSQL and MariaDB always enforce them")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_hooks_queries_read_rows_and_say_when_there_are_none(schema: Schema) -> None:
    """``all`` (an IN list included), ``first`` and ``scalar`` on rows that exist and on none."""
    read: dict[str, Any] = {}

    def look(deletion: UserDeletionTransaction) -> None:
        posts = schema.posts
        read["all"] = deletion.all(select(posts.c.id).where(posts.c.id.in_([1, 3])).order_by(posts.c.id))
        read["first"] = deletion.first(select(posts.c.id, posts.c.title).where(posts.c.id == 2))
        read["scalar"] = deletion.scalar(select(posts.c.title).where(posts.c.id == 3))
        read["no first"] = deletion.first(select(posts.c.id).where(posts.c.id == 99))
        read["no scalar"] = deletion.scalar(select(posts.c.title).where(posts.c.id == 99))
        deletion.execute(sa.delete(posts).where(posts.c.author_id == deletion.user_id))

    store = schema.store(before_delete=look)
    user_id = _user(store)
    for post_id in (1, 2, 3):
        schema.add_post(post_id, user_id)
    store.delete_user(user_id)
    assert read == {"all": [(1,), (3,)], "first": (2, "t"), "scalar": "t", "no first": None, "no scalar": None}
    assert schema.count(schema.posts) == 0


class SQLiteSchema:
    """Tables written in SQLite's own DDL, with foreign keys SQLAlchemy does not write: ``ON DELETE
    RESTRICT``, several keys to the users table from one table, a key without parent columns (the
    parent's primary key, here two columns in another order than the table's), a key to another
    unique column."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        suffix = unique_suffix()
        self.users = f"users_{suffix}"
        self.created: list[str] = []
        counters = ", ".join(f"{counter} INTEGER NOT NULL" for counter in COUNTERS)
        self.ddl(
            f"CREATE TABLE {self.users} (id VARCHAR(255) NOT NULL UNIQUE, email_address VARCHAR(255) NOT NULL UNIQUE, "
            "password_hash BLOB NOT NULL, password_salt BLOB NOT NULL, password_hash_algorithm_id VARCHAR(255) NOT NULL, "
            f"disabled BOOLEAN NOT NULL, {counters}, tenant INTEGER NOT NULL DEFAULT 7, PRIMARY KEY (tenant, id))"
        )
        self.store = SQLUserStore(engine, self.users, column_names={"display_name": None, "created_at": None})

    def ddl(self, statement: str) -> None:
        with self.engine.begin() as connection:
            connection.exec_driver_sql(statement)
        self.created.insert(0, statement.split()[2])

    def insert(self, table: str, *values: Any) -> None:
        marks = ", ".join("?" for _ in values)
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"INSERT INTO {table} VALUES ({marks})", tuple(values))

    def refusal(self, user_id: str) -> str:
        with pytest.raises(UserDeletionRefusedError) as refused:
            self.store.delete_user(user_id)
        assert self.store.get_user(user_id).id == user_id
        return str(refused.value)

    def drop(self) -> None:
        with self.engine.begin() as connection:
            for table in self.created:
                connection.exec_driver_sql(f"DROP TABLE {table}")


@pytest.fixture
def sqlite_schema(engine: Engine, sql_backend: str) -> Iterator[SQLiteSchema]:
    if sql_backend != "sqlite":
        pytest.skip("PostgreSQL and MariaDB name the refusing constraint themselves")
    schema = SQLiteSchema(engine)
    try:
        yield schema
    finally:
        schema.drop()


SQLITE_REFUSAL = "foreign key constraint violated (IntegrityError, SQLITE_CONSTRAINT_FOREIGNKEY)"


def test_sqlite_names_the_refusing_key_among_several_of_one_table(sqlite_schema: SQLiteSchema) -> None:
    """SQLite lists a table's foreign keys last declared first: the cascading ``owner_id`` is
    looked at (and passed over, though review 2 names the user there) before ``reviewer_id``,
    which refuses."""
    users = sqlite_schema.users
    reviews = f"reviews_{unique_suffix()}"
    sqlite_schema.ddl(
        f"CREATE TABLE {reviews} (id INTEGER PRIMARY KEY, reviewer_id VARCHAR(255) REFERENCES {users}(id), "
        f"owner_id VARCHAR(255) REFERENCES {users}(id) ON DELETE CASCADE)"
    )
    other = _user(sqlite_schema.store, "other@example.com")
    user_id = _user(sqlite_schema.store)
    sqlite_schema.insert(reviews, 1, user_id, other)
    sqlite_schema.insert(reviews, 2, None, user_id)
    assert sqlite_schema.refusal(user_id) == f"{SQLITE_REFUSAL}: foreign key {reviews}(reviewer_id) REFERENCES {users}(id)"


def test_sqlite_names_a_restricting_key_and_a_key_to_another_column(sqlite_schema: SQLiteSchema) -> None:
    users = sqlite_schema.users
    bans = f"bans_{unique_suffix()}"
    letters = f"letters_{unique_suffix()}"
    sqlite_schema.ddl(f"CREATE TABLE {bans} (id INTEGER PRIMARY KEY, user_id VARCHAR(255) REFERENCES {users}(id) ON DELETE RESTRICT)")
    sqlite_schema.ddl(f"CREATE TABLE {letters} (id INTEGER PRIMARY KEY, email VARCHAR(255) REFERENCES {users}(email_address))")
    banned = _user(sqlite_schema.store, "banned@example.com")
    sqlite_schema.insert(bans, 1, banned)
    # SQLite refuses a RESTRICT key at once, as a trigger would: the refusal still names the key.
    restricted = SQLITE_REFUSAL.replace("FOREIGNKEY", "TRIGGER")
    assert sqlite_schema.refusal(banned) == f"{restricted}: foreign key {bans}(user_id) REFERENCES {users}(id)"
    written = _user(sqlite_schema.store, "written@example.com")
    sqlite_schema.insert(letters, 1, "written@example.com")
    assert sqlite_schema.refusal(written) == f"{SQLITE_REFUSAL}: foreign key {letters}(email) REFERENCES {users}(email_address)"


def test_sqlite_names_a_key_to_the_parents_two_column_primary_key(sqlite_schema: SQLiteSchema) -> None:
    """``FOREIGN KEY (tenant, member) REFERENCES users``: the parent's primary key (tenant, id),
    in the key's order, not the table's."""
    users = sqlite_schema.users
    members = f"members_{unique_suffix()}"
    sqlite_schema.ddl(
        f"CREATE TABLE {members} (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, member VARCHAR(255) NOT NULL, "
        f"FOREIGN KEY (tenant, member) REFERENCES {users})"
    )
    user_id = _user(sqlite_schema.store)
    sqlite_schema.insert(members, 1, 7, user_id)
    assert sqlite_schema.refusal(user_id) == (
        f"{SQLITE_REFUSAL}: foreign key {members}(tenant, member) REFERENCES {users}(tenant, id)"
    )


def test_anonymise_clears_every_personal_field_and_moves_every_counter(schema: Schema) -> None:
    """Field by field, with the ids the store generates: the user's, then the placeholder's."""
    ids = iter(["u" * 24, "p" * 24])
    seen: list[dict[str, Any]] = []
    store = schema.store(
        deletion="anonymise", generate_user_id=lambda: next(ids), before_delete=lambda deletion: seen.append(dict(deletion.row))
    )
    user_id = _user(store)
    store.set_user_display_name(user_id, "Ada")
    store.set_user_disabled(user_id, False)
    keys = schema.users.c.keys()
    (before,) = [dict(zip(keys, row)) for row in schema.rows(schema.users)]
    store.delete_user(user_id)
    assert seen == [before]
    (after,) = [dict(zip(keys, row)) for row in schema.rows(schema.users)]
    assert after == {
        **before,
        "email_address": "deleted:" + "p" * 24,
        "password_hash": b"",
        "password_salt": b"",
        "password_hash_algorithm_id": "none",
        "disabled": True,
        "display_name": "",
        **{counter: before[counter] + 1 for counter in COUNTERS},
    }
    assert before["display_name"] == "Ada" and before["disabled_counter"] == 1 and not before["disabled"]


def test_deletion_is_delete_or_anonymise(engine: Engine) -> None:
    users = make_users_table(MetaData(), f"users_{unique_suffix()}")
    with pytest.raises(ValueError) as refused:
        SQLUserStore(engine, users, deletion="erase")  # type: ignore[arg-type]
    assert str(refused.value) == "deletion must be one of delete, anonymise"


def test_the_hook_may_be_set_and_removed_after_construction(schema: Schema) -> None:
    calls: list[str] = []

    def remove_posts(deletion: UserDeletionTransaction) -> None:
        calls.append(deletion.user_id)
        deletion.execute(sa.delete(schema.posts).where(schema.posts.c.author_id == deletion.user_id))

    store = schema.store()
    assert store.before_delete is None
    store.before_delete = remove_posts
    assert store.before_delete is remove_posts
    first = _user(store, "first@example.com")
    schema.add_post(1, first)
    store.delete_user(first)
    assert calls == [first] and schema.count(schema.posts) == 0
    store.before_delete = None
    assert store.before_delete is None
    second = _user(store, "second@example.com")
    schema.add_post(2, second)
    with pytest.raises(UserDeletionRefusedError):
        store.delete_user(second)
    assert calls == [first] and store.get_user(second).id == second


def test_sqlite_says_only_what_it_knows_when_no_key_still_refers_to_the_user(sqlite_schema: SQLiteSchema) -> None:
    """``ON DELETE SET DEFAULT`` to a default that is no user: the key that refuses is not one
    whose rows refer to the user (they were just re-pointed), so the refusal names none."""
    users = sqlite_schema.users
    notes = f"notes_{unique_suffix()}"
    sqlite_schema.ddl(
        f"CREATE TABLE {notes} (id INTEGER PRIMARY KEY, "
        f"author_id VARCHAR(255) DEFAULT 'nobody' REFERENCES {users}(id) ON DELETE SET DEFAULT)"
    )
    user_id = _user(sqlite_schema.store)
    sqlite_schema.insert(notes, 1, user_id)
    assert sqlite_schema.refusal(user_id) == SQLITE_REFUSAL


def test_an_anonymising_store_reads_and_changes_each_user_by_its_own_id(schema: Schema) -> None:
    """With ``deletion="anonymise"`` every statement by id also leaves anonymised rows out; it
    still finds exactly the user asked for, and changes no other."""
    store = schema.store(deletion="anonymise")
    first = store.create_user("first@example.com", b"h", "argon2id", b"s").id
    second = store.create_user("second@example.com", b"h", "argon2id", b"s").id
    assert store.get_user(second).email_address == "second@example.com"
    assert store.get_user(first).email_address == "first@example.com"
    store.set_user_disabled(second, True)
    assert store.get_user(second).disabled and not store.get_user(first).disabled
    store.delete_user(second)
    assert store.get_user(first).email_address == "first@example.com"
    with pytest.raises(UserNotFoundError):
        store.get_user(second)
