"""SQL statements per authenticated request (``login_required`` + ``current_user``) on SQLite,
PostgreSQL and MariaDB: the session and its user, nothing else; counted at the driver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify
from sqlalchemy import event

from faroe_flask import Faroe, current_session, current_user, login_required
from faroe_flask.sql import upgrade_database
from faroe_flask.testing import FAST_PASSWORD_HASHING, Outbox, sign_up_client

from ..conftest import FakeClock


class StatementCounter:
    """Counts the statements the driver connections of an engine run, from the driver itself:
    sqlite3's trace callback, psycopg's cursor class, PyMySQL's cursor class."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def install(self, engine: Any) -> None:
        event.listen(engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        module = type(dbapi_connection).__module__
        if module.startswith("sqlite3"):
            dbapi_connection.set_trace_callback(self.statements.append)
        elif module.startswith("psycopg"):
            dbapi_connection.cursor_factory = _psycopg_cursor(self.statements)
        else:
            dbapi_connection.cursorclass = _pymysql_cursor(self.statements, dbapi_connection.cursorclass)

    def count(self, work: Any) -> list[str]:
        before = len(self.statements)
        work()
        return self.statements[before:]


def _psycopg_cursor(log: list[str]) -> Any:
    import psycopg

    class Counting(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            log.append(str(query))
            return super().execute(query, *args, **kwargs)

    return Counting


def _pymysql_cursor(log: list[str], base: Any) -> Any:
    class Counting(base):  # type: ignore[misc, valid-type]
        def execute(self, query: Any, args: Any = None) -> Any:
            log.append(str(query))
            return super().execute(query, args)

    return Counting


@pytest.fixture
def counted(database_url: str, clock: FakeClock) -> Iterator[tuple[Flask, StatementCounter]]:
    upgrade_database(database_url)
    app = Flask("views_sql_test")
    app.config.update(TESTING=True, FAROE_DATABASE_URL=database_url, FAROE_PASSWORD_STRENGTH_CHECK="offline",
                      **FAST_PASSWORD_HASHING)
    faroe = Faroe(app, email_sender=Outbox(), clock=clock)
    counter = StatementCounter()
    state = app.extensions["faroe"]
    counter.install(state.engine)

    @app.get("/me")
    @login_required
    def me() -> Any:
        return jsonify(email=current_user.email_address, name=current_user.display_name)

    @app.get("/session-only")
    @login_required
    def session_only() -> Any:
        return jsonify(session=current_session.id)  # type: ignore[union-attr]

    try:
        yield app, counter
    finally:
        del faroe
        state.engine.dispose()


def test_two_statements_per_authenticated_request(
    counted: tuple[Flask, StatementCounter], clock: FakeClock
) -> None:
    app, counter = counted
    client = app.test_client()
    sign_up_client(client, "lin@example.com")
    for _ in range(5):
        clock.advance(10)
        statements = counter.count(lambda: client.get("/me"))
        assert len(statements) == 2, statements  # the session, then its user
    # The request that moves the inactivity deadline writes it once, without reading it again.
    clock.advance(20)
    statements = counter.count(lambda: client.get("/me"))
    assert len(statements) == 3, statements
    assert statements[2].lstrip().upper().startswith("UPDATE")


def test_a_loader_built_from_the_faroe_user_adds_no_statement(
    counted: tuple[Flask, StatementCounter]
) -> None:
    app, counter = counted
    app.extensions["faroe"].extension.user_loader(lambda faroe_user: faroe_user)
    client = app.test_client()
    sign_up_client(client, "lin@example.com")
    assert len(counter.count(lambda: client.get("/me"))) == 2


def test_with_the_user_cache_a_session_only_request_is_one_statement(
    counted: tuple[Flask, StatementCounter], clock: FakeClock
) -> None:
    app, counter = counted
    app.extensions["faroe"].server.session_config = _with_cache()
    client = app.test_client()
    sign_up_client(client, "lin@example.com")
    assert len(counter.count(lambda: client.get("/session-only"))) == 3  # checks, stamps the check
    clock.advance(10)
    assert len(counter.count(lambda: client.get("/session-only"))) == 1
    assert len(counter.count(lambda: client.get("/me"))) == 2  # current_user: the user, checked


def _with_cache() -> Any:
    from datetime import timedelta

    from faroe_flask import SessionConfig

    return SessionConfig(user_cache_expiration=timedelta(minutes=5))
