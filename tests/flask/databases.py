"""Throw-away databases for the Flask-layer tests: SQLite always, PostgreSQL and MariaDB/MySQL
when ``FAROE_TEST_POSTGRESQL_URL`` / ``FAROE_TEST_MYSQL_URL`` are set (skipped otherwise).

Each test gets a database of its own (``CREATE DATABASE faroe_flask_<random>``, dropped
afterwards), so concurrent runs on the same server never see each other's tables, and the
packaged migrations can create the default ``faroe_storage`` / ``faroe_users`` tables.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url

DATABASE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql"),
    pytest.param("mysql", id="mysql"),
]

_ENV = {"postgresql": "FAROE_TEST_POSTGRESQL_URL", "mysql": "FAROE_TEST_MYSQL_URL"}


@contextlib.contextmanager
def temporary_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database of ``kind``; drop it afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'faroe.sqlite3'}"
        return
    server_url = os.environ.get(_ENV[kind])
    if not server_url:
        pytest.skip(f"{_ENV[kind]} is not set")
    name = f"faroe_flask_{secrets.token_hex(6)}"
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            drop = f"DROP DATABASE IF EXISTS {name}"
            if kind == "postgresql":
                drop += " WITH (FORCE)"
            with admin.connect() as connection:
                connection.execute(sqlalchemy.text(drop))
    finally:
        admin.dispose()
