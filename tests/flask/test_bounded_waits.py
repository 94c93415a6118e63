"""Bounded waits through a real waitress server: a locked table and a stalled SMTP server make
``create_signup`` answer ``internal_error`` within the configured bounds, log it without the
address, and leave no record behind."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from flask import Flask

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.core.records import Signup
from faroe_flask.flask.extension import Faroe
from faroe_flask.sql import upgrade_database

from ..conftest import BannedPasswords, CapturingEmailSender, CapturingErrorLogger
from ..servers import serve_production
from .conftest import FAST_HASHING
from .smtp import StalledSMTPServer

EMAIL = "bounded.waits@example.com"


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    with serve_production(app) as (_, _, port):
        yield port


def call(port: int, action: str, **arguments: str) -> tuple[dict[str, Any], float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    try:
        connection.request("POST", "/faroe", body=json.dumps({"action": action, "arguments": arguments}))
        response = connection.getresponse()
        assert response.status == 200
        result: dict[str, Any] = json.loads(response.read())
        return result, time.monotonic() - started
    finally:
        connection.close()


@contextlib.contextmanager
def table_locked(database_url: str, table: str) -> Iterator[None]:
    """Another connection holds a lock that blocks Faroe's next statement on ``table``:
    PostgreSQL ``LOCK TABLE``, MariaDB ``LOCK TABLES ... WRITE``, SQLite the write lock."""
    from faroe_flask.sql import create_engine

    engine = create_engine(database_url, statement_timeout=None)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.connect() as connection:
            backend = engine.dialect.name
            if backend == "mysql":
                connection.exec_driver_sql(f"LOCK TABLES {table} WRITE")
            else:
                connection.begin()
                if backend == "sqlite":
                    # Any write statement takes SQLite's write lock, held to the end of the transaction.
                    connection.exec_driver_sql(f"DELETE FROM {table} WHERE 0")
                if backend == "postgresql":
                    connection.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(60)
            if backend == "mysql":
                connection.exec_driver_sql("UNLOCK TABLES")
            else:
                connection.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        thread.join(10)
        engine.dispose()


def test_a_locked_table_answers_internal_error_within_the_statement_timeout(database_url: str) -> None:
    upgrade_database(database_url)
    email_sender, error_logger = CapturingEmailSender(), CapturingErrorLogger()
    app = Flask("faroe_bounded_waits")
    app.config.update(FAST_HASHING, FAROE_DATABASE_URL=database_url, FAROE_DATABASE_STATEMENT_TIMEOUT=1)
    Faroe(app, email_sender=email_sender, error_logger=error_logger,
          password_strength_checker=BannedPasswords())
    engine = app.extensions["faroe"].engine
    try:
        with served(app) as port:
            with table_locked(database_url, "faroe_storage"):
                result, elapsed = call(port, "create_signup", email_address=EMAIL)
            assert result["ok"] is False and result["error_code"] == "internal_error"
            assert elapsed < 1 + 3, elapsed
            [(_, message, invocation_id, action)] = error_logger.entries
            assert (invocation_id, action) == (result["action_invocation_id"], "create_signup")
            assert "SQLError" in message and EMAIL not in message
            with engine.connect() as connection:
                rows = connection.execute(sqlalchemy.text("SELECT COUNT(*) FROM faroe_storage")).scalar()
            assert rows == 0  # nothing half-written
            assert email_sender.of_kind("signup_code") == []
            # Once the lock is gone, the same request works.
            result, _ = call(port, "create_signup", email_address=EMAIL)
            assert result["ok"] is True
            assert email_sender.last("signup_code")["email_address"] == EMAIL
    finally:
        engine.dispose()


def _smtp_threads() -> int:
    return sum(thread.name == "faroe-smtp-send" for thread in threading.enumerate())


@pytest.mark.parametrize("mode", ["silent", "drip"])
def test_a_stalled_smtp_server_answers_internal_error_within_the_deadline(mode: str) -> None:
    storage, error_logger = MemoryStorage(), CapturingErrorLogger()
    with StalledSMTPServer(mode) as smtp:
        app = Flask("faroe_stalled_smtp")
        app.config.update(
            FAST_HASHING,
            FAROE_EMAIL_SENDER="flask-mail",
            # Each read's timeout: the drip beats 1 s; silence would hit 1 s first, so 10 s.
            FAROE_SMTP_TIMEOUT=1.0 if mode == "drip" else 10.0,
            FAROE_SMTP_DEADLINE=1.5,  # the whole send: nothing beats it
            MAIL_SERVER=smtp.host,
            MAIL_PORT=smtp.port,
            MAIL_DEFAULT_SENDER="faroe@example.org",
        )
        Faroe(app, storage=storage, user_store=MemoryUserStore(), error_logger=error_logger,
              password_strength_checker=BannedPasswords())
        with served(app) as port:
            for attempt in range(3):
                result, elapsed = call(port, "create_signup", email_address=f"{attempt}.{EMAIL}")
                assert result["ok"] is False and result["error_code"] == "internal_error"
                assert 1.4 < elapsed < 1.5 + 2, elapsed
            assert smtp.accepted == 3
            # The helper threads end once their sockets are shut down: none is left stuck.
            deadline = time.monotonic() + 5
            while _smtp_threads() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _smtp_threads() == 0
    assert [key for key in storage._entries if key.startswith(Signup.PREFIX)] == []
    assert len(error_logger.entries) == 3
    for _, message, _, action in error_logger.entries:
        assert action == "create_signup" and "TimeoutError" in message and EMAIL not in message


def test_sends_beyond_the_pending_limit_fail_at_once() -> None:
    from flask_mail import Mail

    from faroe_flask.flask.mail import FlaskMailEmailSender

    with StalledSMTPServer("silent") as smtp:
        app = Flask("faroe_pending_sends")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org")
        Mail(app)
        sender = FlaskMailEmailSender(app, timeout=10, deadline=2, max_pending_sends=1)
        outcomes: list[BaseException] = []

        def first() -> None:
            try:
                sender.send_signup_email_address_verification_code(EMAIL, "ABCDEFGH")
            except BaseException as exc:  # noqa: BLE001
                outcomes.append(exc)

        thread = threading.Thread(target=first)
        thread.start()
        deadline = time.monotonic() + 5
        while smtp.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        with pytest.raises(RuntimeError, match="too many SMTP sends"):
            sender.send_signup_email_address_verification_code(EMAIL, "ABCDEFGH")
        assert time.monotonic() - started < 0.5
        thread.join(10)
        assert [type(exc) for exc in outcomes] == [TimeoutError]
        # The slot is free again once the first helper has ended.
        deadline = time.monotonic() + 5
        while _smtp_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(TimeoutError):
            sender.send_signup_email_address_verification_code(EMAIL, "ABCDEFGH")


def test_sends_beyond_the_conversations_wait_and_beyond_the_queue_fail_at_once() -> None:
    """One conversation and one queued send at most: a third send fails at once, so a hanging
    relay holds at most two request threads; the queued one waits within its deadline."""
    from flask_mail import Mail

    from faroe_flask.flask.mail import FlaskMailEmailSender

    with StalledSMTPServer("silent") as smtp:
        app = Flask("faroe_bounded_sends")
        app.config.update(MAIL_SERVER=smtp.host, MAIL_PORT=smtp.port, MAIL_DEFAULT_SENDER="f@example.org")
        Mail(app)
        sender = FlaskMailEmailSender(app, timeout=10, deadline=1.0, max_concurrent_sends=1, max_queued_sends=1)
        outcomes: dict[int, tuple[type[BaseException], float]] = {}

        def send(index: int) -> None:
            started = time.monotonic()
            try:
                sender.send_signup_email_address_verification_code(EMAIL, "ABCDEFGH")
            except BaseException as exc:  # noqa: BLE001
                outcomes[index] = (type(exc), time.monotonic() - started)

        threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
            time.sleep(0.15)
        send(2)
        for thread in threads:
            thread.join(10)
        assert outcomes[2][0] is RuntimeError and outcomes[2][1] < 0.1  # the queue was full
        assert outcomes[0][0] is TimeoutError and 0.9 < outcomes[0][1] < 2
        assert outcomes[1][0] is TimeoutError and outcomes[1][1] < 1.0 + 0.5  # waited in the queue
        assert smtp.accepted <= 2
    with pytest.raises(ValueError):
        FlaskMailEmailSender(app, max_concurrent_sends=0)
    with pytest.raises(ValueError):
        FlaskMailEmailSender(app, max_queued_sends=-1)
