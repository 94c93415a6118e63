"""Closing an app's Faroe (``Faroe.close``) and creating apps before their schema (issue 20).

After ``close`` no connection of the app is left: SQLite's ``-wal``/``-shm`` files are gone,
PostgreSQL's and MariaDB's session lists hold none for the test's own database, Redis's client
list none for the storage's client name, and the mail sender's helper threads have ended. The
parts reconnect when used again. The pytest plugin closes the ``app`` fixture's Faroe before the
fixture's own clean-up, so that a test suite leaves nothing behind (run here with pytester).
"""

from __future__ import annotations

import os
import secrets
import textwrap
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy
from flask import Flask
from sqlalchemy.engine import make_url

from faroe_flask.flask.extension import Faroe
from faroe_flask.sql import SQLUserStore, create_engine, upgrade_database
from faroe_flask.testing import FAST_PASSWORD_HASHING, Outbox, sign_in, sign_up

from .databases import DATABASE_KINDS, temporary_database
from .smtp import StalledSMTPServer

pytest_plugins = ["pytester"]

EMAIL = "lifecycle@example.com"


def sql_app(database_url: str) -> tuple[Flask, Faroe]:
    app = Flask("lifecycle")
    app.config.update(
        TESTING=True,
        FAROE_DATABASE_URL=database_url,
        FAROE_PASSWORD_STRENGTH_CHECK="offline",
        **FAST_PASSWORD_HASHING,
    )
    return app, Faroe(app, email_sender=Outbox(app))


def open_sessions(database_url: str) -> int:
    """Connections to the URL's database other than this one's (PostgreSQL, MariaDB)."""
    url = make_url(database_url)
    name = url.database
    admin = sqlalchemy.create_engine(url.set(database="test" if url.get_backend_name() == "mysql" else "postgres"))
    try:
        with admin.connect() as connection:
            if url.get_backend_name() == "postgresql":
                query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            else:
                query = "SELECT count(*) FROM information_schema.processlist WHERE db = :name AND id <> CONNECTION_ID()"
            return int(connection.execute(sqlalchemy.text(query), {"name": name}).scalar_one())
    finally:
        admin.dispose()


def wal_files(database_url: str) -> list[str]:
    database = Path(make_url(database_url).database or "")
    return sorted(path.name for path in database.parent.glob(database.name + "-*"))


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_close_leaves_no_connection_and_the_app_reconnects(kind: str, tmp_path: Path) -> None:
    with temporary_database(kind, tmp_path) as database_url:
        upgrade_database(database_url)
        app, faroe = sql_app(database_url)

        def leftovers() -> object:
            return wal_files(database_url) if kind == "sqlite" else open_sessions(database_url)

        nothing: object = [] if kind == "sqlite" else 0
        sign_up(EMAIL, app=app)
        assert leftovers() != nothing  # the engine and its runner hold connections
        faroe.close(app)
        assert leftovers() == nothing
        sign_in(EMAIL, app=app)  # used again, it reconnects
        with app.app_context():
            app.extensions["faroe"].close()  # current_faroe.close() in a request
        assert leftovers() == nothing


def test_close_disconnects_the_redis_client(tmp_path: Path) -> None:
    url = os.environ.get("FAROE_TEST_REDIS_URL")
    if not url:
        pytest.skip("FAROE_TEST_REDIS_URL is not set")
    import redis

    name = f"faroe-lifecycle-{secrets.token_hex(4)}"
    app = Flask("lifecycle_redis")
    app.config.update(
        FAROE_STORAGE_URL=f"{url}{'&' if '?' in url else '?'}client_name={name}",
        FAROE_STORAGE_KEY_PREFIX=f"faroe-test-{secrets.token_hex(6)}:",
        FAROE_DATABASE_URL=f"sqlite:///{tmp_path / 'users.sqlite3'}",
    )
    faroe = Faroe(app, email_sender=Outbox(app))
    upgrade_database(app.config["FAROE_DATABASE_URL"])
    observer = redis.Redis.from_url(url)
    try:

        def clients() -> int:
            return sum(client.get("name") == name for client in observer.client_list())

        with app.app_context():
            assert app.extensions["faroe"].invoke("create_signup", {"email_address": EMAIL}).ok
        assert clients() >= 1
        faroe.close(app)
        assert clients() == 0
        assert wal_files(app.config["FAROE_DATABASE_URL"]) == []
    finally:
        for key in observer.scan_iter(match=app.config["FAROE_STORAGE_KEY_PREFIX"] + "*"):
            observer.delete(key)
        observer.close()


def test_close_waits_for_the_mail_helper_threads() -> None:
    from flask_mail import Mail

    from faroe_flask.flask.mail import FlaskMailEmailSender

    def helpers() -> int:
        return sum(thread.name == "faroe-smtp-send" for thread in threading.enumerate())

    with StalledSMTPServer("silent") as smtp:
        app = Flask("lifecycle_mail")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org")
        Mail(app)
        sender = FlaskMailEmailSender(app, timeout=10, deadline=1, max_pending_sends=2)
        started = time.monotonic()
        sender.close()  # nothing pending: at once
        assert time.monotonic() - started < 0.5

        def send() -> None:
            with pytest.raises(TimeoutError):
                sender.send_signup_email_address_verification_code(EMAIL, "ABCDEFGH")

        thread = threading.Thread(target=send)
        thread.start()
        deadline = time.monotonic() + 5
        while smtp.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert helpers() == 1
        started = time.monotonic()
        sender.close()
        assert 0.3 < time.monotonic() - started < 5  # it waited for the stalled send to end
        thread.join(5)
        deadline = time.monotonic() + 1
        while helpers() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert helpers() == 0


def test_an_app_created_before_its_schema_works(tmp_path: Path) -> None:
    """Issue 20 point 4: the store takes the table's name, so nothing is read at start-up."""
    url = f"sqlite:///{tmp_path / 'late.sqlite3'}"
    engine = create_engine(url)
    columns = {"id": "faroe_user_id", "email_address": "email", "display_name": None, "created_at": None}
    app = Flask("late_schema")
    app.config.update(
        TESTING=True, FAROE_USERS_TABLE="", FAROE_DATABASE_URL=url, FAROE_PASSWORD_STRENGTH_CHECK="offline",
        **FAST_PASSWORD_HASHING,
    )
    faroe = Faroe(app, user_store=SQLUserStore(engine, "users", column_names=columns), email_sender=Outbox(app))
    # Only now does the schema exist (as in a test fixture that creates the app first).
    upgrade_database(url, users_table=None)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, faroe_user_id VARCHAR(255) NOT NULL UNIQUE, "
            "email VARCHAR(255) NOT NULL UNIQUE, password_hash BLOB NOT NULL, password_salt BLOB NOT NULL, "
            "password_hash_algorithm_id VARCHAR(255) NOT NULL, disabled BOOLEAN NOT NULL, "
            "email_address_counter INTEGER NOT NULL, password_hash_counter INTEGER NOT NULL, "
            "disabled_counter INTEGER NOT NULL, sessions_counter INTEGER NOT NULL)"
        )
    user = sign_up(EMAIL, app=app)
    assert sign_in(EMAIL, app=app).user_id == user.user_id
    faroe.close(app)
    engine.dispose()
    assert wal_files(url) == []


def test_the_pytest_plugin_closes_the_app_fixtures_faroe(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """A project's suite on a SQLite file per test: each app fixture's Faroe is closed before the
    fixture's own clean-up, and no ``-wal``/``-shm`` file is left, during the run or after it."""
    databases = tmp_path / "databases"
    databases.mkdir()
    pytester.makeconftest(
        textwrap.dedent(
            f"""
            import pathlib, uuid

            import pytest
            from flask import Flask

            from faroe_flask.flask.extension import Faroe
            from faroe_flask.sql import upgrade_database
            from faroe_flask.testing import FAST_PASSWORD_HASHING, Outbox

            DATABASES = pathlib.Path({str(databases)!r})


            def leftovers():
                return sorted(p.name for p in DATABASES.iterdir() if p.name.endswith(("-wal", "-shm")))


            @pytest.fixture
            def app():
                path = DATABASES / f"{{uuid.uuid4().hex}}.sqlite3"
                url = f"sqlite:///{{path}}"
                upgrade_database(url)
                app = Flask("suite")
                app.config.update(TESTING=True, FAROE_DATABASE_URL=url,
                                  FAROE_PASSWORD_STRENGTH_CHECK="offline", **FAST_PASSWORD_HASHING)
                Faroe(app, email_sender=Outbox(app))
                yield app
                # The plugin closed Faroe before this runs: no connection holds the file.
                assert leftovers() == [], leftovers()
                path.unlink()
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            from conftest import leftovers


            def test_first(faroe_client):
                assert faroe_client.get("/nothing").status_code == 404
                assert leftovers() != []  # open while the test runs


            def test_second(faroe_user):
                assert faroe_user.email_address == "user@example.com"


            def test_nothing_left_by_the_others():
                assert leftovers() == []
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    assert list(databases.iterdir()) == []
