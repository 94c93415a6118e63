"""A flaskr-like app whose users have a username and no email address moves to Faroe as
docs/existing-users.md section 8 says, on SQLite, PostgreSQL and MariaDB (issue 20).

The guide's two migrations run as written (with the Werkzeug hash import between them), then the
guide's hook code runs as written on a Flask app, and the app's own views (the view glue) sign
people in by username: an existing user with a placeholder address and her old password, a new
user whose sign-up collected a username, and the same user by the real address she adds later.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, redirect, request
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, select
from werkzeug.security import generate_password_hash

from faroe_flask import current_faroe, current_user, start_session
from faroe_flask.flask.identity import InvalidSignupFields, resolve_identifier, sign_in, start_password_reset
from faroe_flask.sql import SQLUserStore, create_engine, import_werkzeug_hashes, make_storage_table
from faroe_flask.testing import (
    FAST_PASSWORD_HASHING,
    TEST_PASSWORD,
    Outbox,
    outbox_of,
    sign_in_client,
    sign_up,
)

from ..sql.test_existing_users import GUIDE, run_migration
from .databases import DATABASE_KINDS, temporary_database

ADA_PASSWORD = "ada's old flaskr password"
PLACEHOLDER = "user-1@users.invalid"


def guide_block(marker: str) -> str:
    (source,) = [block for block in re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.DOTALL) if marker in block]
    return source


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_database(request.param, tmp_path) as url:
        yield url


def flaskr_schema(engine: Engine) -> tuple[Table, Table]:
    """The tutorial's tables before Faroe, with one user (ada) and her post."""
    metadata = MetaData()
    users = Table(
        "users",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("username", String(50), unique=True, nullable=False),
        Column("password", String(255), nullable=False),
    )
    posts = Table(
        "posts",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("author_id", Integer, ForeignKey("users.id"), nullable=False),
        Column("title", String(100), nullable=False),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        # Keys from the database, as in the tutorial (PostgreSQL's sequence moves on too).
        connection.execute(users.insert().values(username="ada", password=generate_password_hash(ADA_PASSWORD)))
        ada_id = connection.execute(select(users.c.id).where(users.c.username == "ada")).scalar_one()
        connection.execute(posts.insert().values(author_id=ada_id, title="Notes on the engine"))
    assert ada_id == 1  # the placeholder address below is user-1@users.invalid
    return users, posts


def migrate(database_url: str) -> None:
    """The guide's migrations and the hash import, on a migration engine (foreign keys off on
    SQLite, as Alembic's batch mode needs: the posts refer to the rebuilt users table)."""
    engine = create_engine(database_url, sqlite_foreign_keys=False)
    try:
        flaskr_schema(engine)
        run_migration(engine, "app_u0002")
        store = SQLUserStore(engine, "users", column_names={
            "id": "faroe_user_id", "email_address": "email", "display_name": None, "created_at": None})
        assert import_werkzeug_hashes(store, "password").converted == 1
        run_migration(engine, "app_u0003")
    finally:
        engine.dispose()


def make_app(database_url: str) -> tuple[Flask, dict[str, Any]]:
    app = Flask("flaskr")
    app.config.update(
        TESTING=True,
        SECRET_KEY="test",
        FAROE_DATABASE_URL=database_url,
        FAROE_STORAGE_TABLE="faroe_storage",
        FAROE_USERS_TABLE="",
        FAROE_PASSWORD_STRENGTH_CHECK="offline",
        FAROE_SESSION_COOKIE_SECURE=False,
        **FAST_PASSWORD_HASHING,
    )
    # The guide's code, as written; the outbox stands in for the mail server.
    namespace: dict[str, Any] = {"app": app}
    source = guide_block("@faroe.identifier_resolver").replace(
        'before_delete=remove_posts))', 'before_delete=remove_posts), email_sender=OUTBOX)'
    )
    assert "email_sender=OUTBOX" in source
    namespace["OUTBOX"] = Outbox(app)
    exec(compile(source, f"{GUIDE.name}:hooks", "exec"), namespace)
    engine: Engine = namespace["engine"]
    make_storage_table(MetaData(), "faroe_storage").create(engine)
    users = namespace["users"]

    @app.post("/login")
    def login() -> Any:
        result = sign_in(request.form["identifier"], request.form["password"])
        if not result.ok:
            return result.error_code, 401
        start_session(result)
        return redirect("/")

    @app.get("/")
    def index() -> Any:
        if not current_user.is_authenticated:
            return "anonymous"
        with engine.connect() as connection:
            username = connection.execute(select(users.c.username).where(users.c.faroe_user_id == current_user.id)).scalar()
        return f"hello {username} <{current_user.email_address}>"

    return app, namespace


def test_username_users_sign_in_by_username_through_the_view_glue(database_url: str) -> None:
    migrate(database_url)
    app, namespace = make_app(database_url)
    engine: Engine = namespace["engine"]
    outbox = outbox_of(app)
    try:
        # Ada, who never gave an address, signs in with her username and her flaskr password.
        client = app.test_client()
        assert client.get("/").text == "anonymous"
        response = client.post("/login", data={"identifier": "ada", "password": ADA_PASSWORD})
        assert response.status_code == 302, response.text
        assert client.get("/").text == f"hello ada <{PLACEHOLDER}>"
        assert outbox.messages == []  # no sign-in notification to a placeholder address
        for identifier, password, code in (
            ("ada", "not her password", "incorrect_password"),
            ("nobody", ADA_PASSWORD, "user_not_found"),
            ("nobody@example.com", ADA_PASSWORD, "user_not_found"),
        ):
            response = app.test_client().post("/login", data={"identifier": identifier, "password": password})
            assert (response.status_code, response.text) == (401, code)

        # A new user signs up with a username (the testing helper goes through the same hooks).
        with pytest.raises(InvalidSignupFields) as invalid:
            sign_up("imposter@example.com", app=app, fields={"username": "ada"})
        assert invalid.value.errors == {"username": "This username is taken."}
        with pytest.raises(InvalidSignupFields):
            sign_up("blank@example.com", app=app, fields={})
        grace = sign_up("grace@example.com", app=app, fields={"username": "grace"})
        other = app.test_client()
        assert other.post("/login", data={"identifier": "grace", "password": TEST_PASSWORD}).status_code == 302
        assert other.get("/").text == "hello grace <grace@example.com>"
        assert sign_in_client(app.test_client(), "grace").user_id == grace.user_id
        with engine.connect() as connection:
            usernames = dict(connection.execute(select(namespace["users"].c.username, namespace["users"].c.email)).all())
        assert usernames == {"ada": PLACEHOLDER, "grace": "grace@example.com"}

        # Ada adds a real address (the email change flow); her username keeps working.
        with app.app_context():
            ada = sign_in("ada", ADA_PASSWORD)
            assert ada.ok
            session_token = ada.values["session_token"]
            update = current_faroe.invoke("create_user_email_address_update", {
                "session_token": session_token, "new_email_address": "ada@example.com"})
            assert update.ok, update
            both = {"session_token": session_token,
                    "user_email_address_update_token": update.values["user_email_address_update_token"]}
            for action, extra in (
                ("verify_user_email_address_update_email_address_verification_code",
                 {"email_address_verification_code": outbox.code_for("ada@example.com")}),
                ("verify_user_email_address_update_user_password", {"password": ADA_PASSWORD}),
                ("complete_user_email_address_update", {}),
            ):
                assert current_faroe.invoke(action, {**both, **extra}).ok, action
            # Now a forgotten password can be reset by username: the temporary password goes to her.
            assert start_password_reset("ada").ok
            assert outbox.temporary_password_for("ada@example.com")
            assert resolve_identifier("ada") == "ada@example.com"
        assert [email.to for email in outbox.messages if email.to.endswith(".invalid")] == []
        assert client.get("/").text == "hello ada <ada@example.com>"  # her first session

        # Deleting Ada's account removes her post first (the guide's hook, integer key). (Five
        # password checks for Ada in all: the sixth would be rate limited.)
        with app.app_context():
            deletion = current_faroe.invoke("create_user_deletion", {"session_token": session_token})
            both = {"session_token": session_token, "user_deletion_token": deletion.values["user_deletion_token"]}
            assert current_faroe.invoke("verify_user_deletion_user_password", {**both, "password": ADA_PASSWORD}).ok
            assert current_faroe.invoke("complete_user_deletion", both).ok
        with engine.connect() as connection:
            assert connection.execute(select(sa.func.count()).select_from(sa.table("posts"))).scalar() == 0
    finally:
        app.extensions["faroe"].close()
