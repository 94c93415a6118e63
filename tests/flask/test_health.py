"""The opt-in health route through a real waitress server: 200 while the database answers, 503
while it is unreachable (a loopback proxy to PostgreSQL / MariaDB that we stop) or its table is
missing (SQLite), 200 again once it is back; the action endpoint is untouched."""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy
from flask import Flask
from sqlalchemy.engine import make_url

from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import Faroe
from faroe_flask.sql import upgrade_database

from ..conftest import BannedPasswords, CapturingEmailSender
from ..servers import TCPProxy, serve_production
from .conftest import FAST_HASHING, AppFactory

HEALTH = "/faroe/health"


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    with serve_production(app) as (_, _, port):
        yield port


def get(port: int, path: str = HEALTH) -> tuple[int, Any, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        elapsed = time.monotonic() - started
        if response.getheader("Content-Type") == "application/json":
            return response.status, json.loads(body), elapsed
        return response.status, body, elapsed
    finally:
        connection.close()


def sql_app(database_url: str) -> Flask:
    app = Flask("faroe_health_test")
    app.config.update(FAST_HASHING, FAROE_DATABASE_URL=database_url, FAROE_HEALTH_PATH=HEALTH,
                      FAROE_DATABASE_STATEMENT_TIMEOUT=2, FAROE_DATABASE_CONNECT_TIMEOUT=2)
    Faroe(app, email_sender=CapturingEmailSender(), password_strength_checker=BannedPasswords())
    return app


def test_the_route_is_off_by_default_and_leaves_the_endpoint_alone(make_app: AppFactory) -> None:
    client = make_app().test_client()
    assert client.get(HEALTH).status_code == 404
    client = make_app({"FAROE_HEALTH_PATH": HEALTH}).test_client()
    response = client.get(HEALTH)
    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/faroe").status_code == 404  # the endpoint still answers GET with 404
    body = json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}})
    assert client.post("/faroe", data=body).get_json()["error_code"] == "invalid_session_token"


@pytest.mark.parametrize("path", ["/faroe", "health"])
def test_a_bad_path_is_refused(make_app: AppFactory, path: str) -> None:
    with pytest.raises(ConfigError, match="FAROE_HEALTH_PATH"):
        make_app({"FAROE_HEALTH_PATH": path})


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_503_while_the_database_is_unreachable_and_200_when_it_returns(
    kind: str, tmp_path: Any
) -> None:
    from .databases import temporary_database

    with temporary_database(kind, tmp_path) as database_url:
        upgrade_database(database_url)
        url = make_url(database_url)
        with TCPProxy((url.host or "127.0.0.1", url.port or (5432 if kind == "postgresql" else 3306))) as proxy:
            app = sql_app(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
            try:
                with served(app) as port:
                    assert get(port)[:2] == (200, {"status": "ok"})
                    proxy.stop()
                    status, body, elapsed = get(port)
                    assert (status, body) == (503, {"status": "unavailable", "failed": ["storage", "user_store"]})
                    assert elapsed < 2 * 2 + 3, elapsed  # two checks, each bounded by the connect timeout
                    assert get(port)[0] == 503
                    proxy.start()
                    assert get(port)[:2] == (200, {"status": "ok"})
            finally:
                app.extensions["faroe"].engine.dispose()


def test_503_while_the_sqlite_table_is_missing(tmp_path: Any) -> None:
    database_url = f"sqlite:///{tmp_path / 'health.sqlite3'}"
    upgrade_database(database_url)
    app = sql_app(database_url)
    admin = sqlalchemy.create_engine(database_url)
    try:
        with served(app) as port:
            assert get(port)[:2] == (200, {"status": "ok"})
            with admin.begin() as connection:
                connection.exec_driver_sql("ALTER TABLE faroe_storage RENAME TO faroe_storage_away")
            assert get(port)[:2] == (503, {"status": "unavailable", "failed": ["storage"]})
            with admin.begin() as connection:
                connection.exec_driver_sql("ALTER TABLE faroe_storage_away RENAME TO faroe_storage")
            assert get(port)[:2] == (200, {"status": "ok"})
    finally:
        admin.dispose()
        app.extensions["faroe"].engine.dispose()
