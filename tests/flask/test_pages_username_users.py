"""The flaskr-like app of ``test_username_users`` (users with a username and no email address at
first, migrated as docs/existing-users.md section 8 says, its hooks as written there) with the
account pages, over real HTTP (waitress on loopback, a cookie jar and a loopback address per
browser, the CSRF token parsed from the form), on SQLite, PostgreSQL and MariaDB:

* Ada, who has a placeholder address, signs in with her username and her old password;
* a new user signs up with a username on the sign-up form (a taken one is refused beside the
  field, and nothing is started), then signs in and resets her password by username;
* an unknown username answers as an unknown address.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, TableClause, select

from faroe_flask import create_pages_blueprint
from faroe_flask.flask.pages_messages import IDENTIFIER_MESSAGES, MESSAGES
from faroe_flask.testing import Outbox, outbox_of

from ..servers import serve
from .conftest import NEW_PASSWORD, PASSWORD
from .databases import DATABASE_KINDS, temporary_database
from .pages_http import HttpBrowser
from .test_pages_identity import field_error, input_of
from .test_username_users import ADA_PASSWORD, PLACEHOLDER, make_app, migrate


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with temporary_database(request.param, tmp_path) as url:
        yield url


def usernames(namespace: dict[str, object]) -> dict[str, str]:
    """The app's users table: username -> email."""
    engine, users = namespace["engine"], namespace["users"]
    assert isinstance(engine, Engine) and isinstance(users, TableClause)
    with engine.connect() as connection:
        return {username: email for username, email in connection.execute(select(users.c.username, users.c.email))}


def test_username_users_sign_up_sign_in_and_reset_by_username_through_the_pages(database_url: str) -> None:
    migrate(database_url)
    app, namespace = make_app(database_url)
    app.register_blueprint(create_pages_blueprint())
    outbox: Outbox = outbox_of(app)
    try:
        with serve(app) as url:
            page = HttpBrowser(url).get("/account/signin").body
            assert '<label for="email_address">Email address or username</label>' in page
            assert 'type="text"' in input_of(page, "email_address")

            # Ada: her username and her flaskr password; the pages never needed her address.
            ada = HttpBrowser(url)
            signed_in = ada.post("/account/signin", email_address="ada", password=ADA_PASSWORD)
            assert signed_in.status == 302 and signed_in.set_cookies("faroe_session"), signed_in.body
            assert ada.get("/account/").status == 200

            # Grace signs up with a username: a taken one is refused beside the field, and nothing
            # is started (no email); a free one is saved in the request that creates her.
            grace = HttpBrowser(url)
            taken = grace.post("/account/signup", email_address="grace@example.com", username="ada")
            assert taken.status == 422 and field_error(taken, "username") == "This username is taken."
            assert outbox.messages == []
            started = grace.post("/account/signup", email_address="grace@example.com", username="grace")
            assert started.location == "/account/signup/verify", started.body
            code = outbox.code_for("grace@example.com")
            assert grace.post("/account/signup/verify", code=code).location == "/account/signup/password"
            done = grace.post("/account/signup/password", password=PASSWORD)
            assert done.status == 302 and done.set_cookies("faroe_session"), done.body
            assert usernames(namespace) == {"ada": PLACEHOLDER, "grace": "grace@example.com"}

            # She signs in by username, and resets a forgotten password by username.
            assert HttpBrowser(url).post("/account/signin", email_address="grace", password=PASSWORD).status == 302
            wrong = HttpBrowser(url).post("/account/signin", email_address="grace", password=NEW_PASSWORD)
            assert wrong.error == MESSAGES["incorrect_password"]
            resetting = HttpBrowser(url)
            assert resetting.post("/account/reset", email_address="grace").location == "/account/reset/verify"
            verify_page = resetting.get("/account/reset/verify").body
            assert "<strong>grace</strong>" in verify_page and "grace@example.com" not in verify_page
            temporary = outbox.temporary_password_for("grace@example.com")
            verified = resetting.post("/account/reset/verify", temporary_password=temporary)
            assert verified.location == "/account/reset/password"
            assert resetting.post("/account/reset/password", password=NEW_PASSWORD).location == "/account/"
            assert HttpBrowser(url).post("/account/signin", email_address="grace", password=NEW_PASSWORD).status == 302

            # An unknown username answers as an unknown address.
            for identifier in ("nobody", "nobody@example.com"):
                unknown = HttpBrowser(url).post("/account/signin", email_address=identifier, password=PASSWORD)
                assert unknown.status == 422 and unknown.error == IDENTIFIER_MESSAGES["user_not_found"]
        assert [email.to for email in outbox.messages if email.to.endswith(".invalid")] == []
    finally:
        app.extensions["faroe"].close()
