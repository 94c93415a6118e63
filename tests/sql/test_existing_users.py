"""An existing application's users table becomes Faroe's, as docs/existing-users.md says.

On a fresh database (SQLite file, or a PostgreSQL / MariaDB database made for the test): an
application table ``users`` with an integer primary key, an email column and Werkzeug hashes made
by Werkzeug itself; the guide's two migrations, run as written in the guide, with the hash import
between them; then sign-in through the engine with the old passwords, a wrong password rejected,
a password update that stores Argon2id, and a new signup that gets its integer key from the
database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, inspect, select
from werkzeug.security import check_password_hash, generate_password_hash

from faroe_flask import Server
from faroe_flask.legacy_passwords import (
    NO_PASSWORD,
    WERKZEUG_DEFAULTS,
    legacy_algorithm,
    split_werkzeug_hash,
)
from faroe_flask.passwords import Argon2id
from faroe_flask.sql import SQLStorage, SQLUserStore, create_engine, import_werkzeug_hashes, make_storage_table

from ..conftest import BannedPasswords, CapturingEmailSender, CapturingErrorLogger, FakeClock
from ..core.helpers import call, ok, sign_up
from ..flask.databases import DATABASE_KINDS, temporary_database

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "existing-users.md"
ARGON2ID = Argon2id(memory_cost=64, time_cost=1, parallelism=1)
ALICE, ALICE_PASSWORD = "alice@example.com", "an old password of alice's"
BOB, BOB_PASSWORD = "Bob@Example.com", "bob's pbkdf2 password"
CAROL = "carol@example.com"  # signed up elsewhere (OAuth, say): no password
NEW_PASSWORD = "a brand new password 42"


def guide_migration(revision: str) -> dict[str, Any]:
    """The namespace of the guide's migration with ``revision = "<revision>"``."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL)
    marker = re.compile(rf'^revision = "{revision}"$', re.MULTILINE)
    (source,) = [block for block in blocks if marker.search(block)]
    namespace: dict[str, Any] = {}
    exec(compile(source, f"{GUIDE.name}:{revision}", "exec"), namespace)
    return namespace


def run_migration(engine: Engine, revision: str, step: str = "upgrade") -> None:
    migration = guide_migration(revision)
    with engine.begin() as connection:
        with Operations.context(MigrationContext.configure(connection)):
            migration[step]()


@pytest.fixture(params=DATABASE_KINDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with temporary_database(request.param, tmp_path) as url:
        engine = create_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def app_users(engine: Engine) -> Table:
    """The application's table before Faroe, with three users."""
    legacy = Table(
        "users",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("email", String(255), nullable=False, unique=True),
        Column("password", String(255), nullable=True),
        Column("name", String(100), nullable=True),
    )
    legacy.create(engine)
    with engine.begin() as connection:
        connection.execute(
            legacy.insert(),
            [
                {"email": ALICE, "password": generate_password_hash(ALICE_PASSWORD), "name": "A"},
                {"email": BOB, "password": generate_password_hash(BOB_PASSWORD, "pbkdf2:sha256:600000"),
                 "name": None},
                {"email": CAROL, "password": None, "name": "C"},
            ],
        )
    return legacy


def make_server(engine: Engine, users: SQLUserStore, email_sender: Any, error_logger: Any) -> Server:
    storage = make_storage_table(MetaData(), "faroe_storage")
    storage.create(engine)
    return Server(
        storage=SQLStorage(engine, storage),
        user_store=users,
        email_sender=email_sender,
        user_password_hash_algorithms=[ARGON2ID, *WERKZEUG_DEFAULTS, NO_PASSWORD],
        temporary_password_hash_algorithm=Argon2id(memory_cost=32, time_cost=1, parallelism=1),
        password_strength_checker=BannedPasswords(),
        error_logger=error_logger,
        clock=FakeClock(),
    )


def sign_in(server: Server, email_address: str, password: str) -> dict[str, Any]:
    created = call(server, "create_signin", user_email_address=email_address)
    if not created["ok"]:
        return created
    signin_token = created["values"]["signin_token"]
    verified = call(server, "verify_signin_user_password", signin_token=signin_token, password=password)
    if not verified["ok"]:
        return verified
    return call(server, "complete_signin", signin_token=signin_token)


def update_password(server: Server, session_token: str, old: str, new: str) -> None:
    token = ok(server, "create_user_password_update", session_token=session_token)[
        "user_password_update_token"
    ]
    both = {"session_token": session_token, "user_password_update_token": token}
    ok(server, "verify_user_password_update_user_password", **both, password=old)
    ok(server, "set_user_password_update_new_password", **both, password=new)
    ok(server, "complete_user_password_update", **both)


def row(engine: Engine, table: Table, email: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(table).where(table.c.email == email)).one()


def test_an_existing_users_table_with_werkzeug_hashes_moves_to_faroe(
    engine: Engine,
    app_users: Table,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
) -> None:
    run_migration(engine, "app_0002")
    users = Table("users", MetaData(), autoload_with=engine)
    store = SQLUserStore(
        engine,
        users,
        column_names={"id": "faroe_user_id", "email_address": "email", "display_name": None,
                      "created_at": None},
    )
    report = import_werkzeug_hashes(store, "password", batch_size=1)  # several batches
    assert (report.converted, report.unsupported) == (2, 0)
    assert report.algorithm_ids == {"werkzeug.scrypt.32768.8.1", "werkzeug.pbkdf2.sha256.600000"}
    assert import_werkzeug_hashes(store, "password").converted == 0  # nothing left to do
    run_migration(engine, "app_0003")
    users = Table("users", MetaData(), autoload_with=engine)
    store = SQLUserStore(engine, users, column_names=store_columns())
    if engine.dialect.name in ("mysql", "mariadb"):
        email = next(c for c in inspect(engine).get_columns("users") if c["name"] == "email")
        assert email["type"].collation == "utf8mb4_bin"

    server = make_server(engine, store, email_sender, error_logger)
    alice = row(engine, users, ALICE)
    assert alice.faroe_user_id == str(alice.id)
    assert alice.password_hash_algorithm_id == "werkzeug.scrypt.32768.8.1"
    assert check_password_hash(alice.password, ALICE_PASSWORD)  # the old column is untouched

    signed_in = sign_in(server, ALICE, ALICE_PASSWORD)
    assert signed_in["ok"], signed_in
    assert signed_in["values"]["session"]["user_id"] == str(alice.id)
    assert sign_in(server, ALICE, "not alice's password")["error_code"] == "incorrect_password"
    assert sign_in(server, BOB, BOB_PASSWORD)["ok"]
    assert sign_in(server, BOB.lower(), BOB_PASSWORD)["error_code"] == "user_not_found"  # exact
    assert sign_in(server, CAROL, "")["error_code"] == "incorrect_password"
    assert sign_in(server, CAROL, "anything at all")["error_code"] == "incorrect_password"
    # Signing in does not rehash: the row keeps the Werkzeug hash until the password changes.
    assert row(engine, users, ALICE).password_hash_algorithm_id == "werkzeug.scrypt.32768.8.1"

    update_password(server, signed_in["values"]["session_token"], ALICE_PASSWORD, NEW_PASSWORD)
    alice = row(engine, users, ALICE)
    assert alice.password_hash_algorithm_id == ARGON2ID.id
    assert alice.password_salt != split_werkzeug_hash(alice.password)[2]
    assert sign_in(server, ALICE, ALICE_PASSWORD)["error_code"] == "incorrect_password"
    assert sign_in(server, ALICE, NEW_PASSWORD)["ok"]
    assert import_werkzeug_hashes(store, "password").converted == 0  # never overwrites it

    # A new user, created by Faroe: the database assigns the integer key.
    session_token, user_id = sign_up(server, email_sender, "dave@example.com", NEW_PASSWORD)
    dave = row(engine, users, "dave@example.com")
    assert isinstance(dave.id, int) and dave.id > alice.id
    assert dave.faroe_user_id == user_id and dave.password is None
    assert error_logger.entries == []

    run_migration(engine, "app_0003", "downgrade")
    run_migration(engine, "app_0002", "downgrade")
    assert {c["name"] for c in inspect(engine).get_columns("users")} == {"id", "email", "password", "name"}


def store_columns() -> dict[str, str | None]:
    return {"id": "faroe_user_id", "email_address": "email", "display_name": None, "created_at": None}


@pytest.mark.parametrize(
    "method", ["scrypt", "scrypt:16384:8:2", "pbkdf2:sha256:1000", "pbkdf2:sha512:2000", "pbkdf2:sha1:10"]
)
def test_werkzeug_hashes_verify_under_their_algorithm(method: str) -> None:
    stored = generate_password_hash("pässwörd", method)
    password_hash, algorithm_id, salt = split_werkzeug_hash(stored)
    algorithm = legacy_algorithm(algorithm_id)
    assert algorithm.id == algorithm_id
    assert algorithm.hash("pässwörd", salt) == password_hash
    assert algorithm.hash("passwörd", salt) != password_hash


@pytest.mark.parametrize(
    "value",
    ["", "plain", "sha1$salt$0123", "pbkdf2:sha256$salt$00", "md5:1$a$00", "scrypt$salt$zz",
     "scrypt$salt$" + "00" * 32, "scrypt:3:8:1$salt$" + "00" * 64, "pbkdf2:whirl:9$s$00"],
)
def test_other_values_are_not_converted_and_the_error_shows_nothing(value: str) -> None:
    with pytest.raises(ValueError) as raised:
        split_werkzeug_hash(value)
    assert str(raised.value) == "not a supported Werkzeug password hash"


def test_no_password_never_verifies() -> None:
    assert NO_PASSWORD.hash("", b"") != b""
    assert NO_PASSWORD.hash("x", b"") != NO_PASSWORD.hash("x", b"")
    with pytest.raises(ValueError):
        legacy_algorithm("werkzeug.scrypt.3.8.1")
    with pytest.raises(ValueError):
        legacy_algorithm("argon2id.1.1.1.32")
