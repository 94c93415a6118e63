"""The database backends the benchmark measures, and the raw-driver references for each.

A backend knows how to provision a fresh, empty database (and drop it afterwards) and how to open
a raw DBAPI connection to it (autocommit, kept open) that runs the statements the Faroe SQL stores
run, with nothing in between. Each backend gets a row in every section: get_session over HTTP
(the example, started with ``Database.settings`` as its environment), in-process (the extension
built from the same settings as ``app.config``, against ``raw``).

To measure another backend, for example a Redis storage with SQL users, append to ``BACKENDS`` a
subclass of ``Backend`` whose ``provision`` yields a ``Database`` whose ``settings`` configure the
example and the extension for it (say ``{"FAROE_DATABASE_URL": ..., "FAROE_REDIS_URL": ...}``,
once the example reads them) and whose ``raw`` returns an object with the ``RawReads`` methods
(for instance a redis-py ``GET`` for ``session_entry`` and the SQL ``SELECT`` for the users).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import URL, make_url

from faroe_flask.sql import USER_COLUMNS, storage_table, users_table

_USER_FIELDS = [name for name in USER_COLUMNS if name != "created_at"]  # what SQLUserStore reads


@dataclasses.dataclass(frozen=True)
class Database:
    """A fresh database, and the settings that point the example and the extension at it."""

    url: str
    extra_settings: tuple[tuple[str, str], ...] = ()

    @property
    def settings(self) -> dict[str, str]:
        """Environment of the example and ``app.config`` of the in-process extension."""
        return {"FAROE_DATABASE_URL": self.url, **dict(self.extra_settings)}


class RawReads(Protocol):
    """The reference: each method is the one statement a store call runs, on a raw connection."""

    def session_entry(self, key: str) -> tuple[bytes, int]: ...
    def user_by_id(self, user_id: str) -> tuple[Any, ...]: ...
    def user_by_email_address(self, email_address: str) -> tuple[Any, ...]: ...
    def compare_and_swap(self, key: str, value: bytes, expires_at: datetime, counter: int) -> int: ...
    def close(self) -> None: ...


class DBAPIReads:
    """``RawReads`` on a DBAPI connection in autocommit mode (one round trip per statement)."""

    def __init__(self, connection: Any, paramstyle: str, quote: str, timestamp: Any = None) -> None:
        self._connection = connection
        self._cursor = connection.cursor()
        self._timestamp = timestamp or (lambda moment: moment)
        p = "?" if paramstyle == "qmark" else "%s"

        def q(name: str) -> str:
            return f"{quote}{name}{quote}"

        storage, users = q(storage_table.name), q(users_table.name)
        fields = ", ".join(q(name) for name in _USER_FIELDS)
        self._select_entry = f"SELECT {q('value')}, {q('counter')} FROM {storage} WHERE {q('key')} = {p}"
        self._select_user = f"SELECT {fields} FROM {users} WHERE {q('id')} = {p}"
        self._select_email = f"SELECT {fields} FROM {users} WHERE {q('email_address')} = {p}"
        self._swap = (
            f"UPDATE {storage} SET {q('value')} = {p}, {q('counter')} = {q('counter')} + 1, "
            f"{q('expires_at')} = {p} WHERE {q('key')} = {p} AND {q('counter')} = {p}"
        )

    def _one(self, statement: str, *parameters: Any) -> tuple[Any, ...]:
        self._cursor.execute(statement, parameters)
        row = self._cursor.fetchone()
        if row is None:
            raise LookupError("no row")
        return tuple(row)

    def session_entry(self, key: str) -> tuple[bytes, int]:
        value, counter = self._one(self._select_entry, key)
        return bytes(value), int(counter)

    def user_by_id(self, user_id: str) -> tuple[Any, ...]:
        return self._one(self._select_user, user_id)

    def user_by_email_address(self, email_address: str) -> tuple[Any, ...]:
        return self._one(self._select_email, email_address)

    def compare_and_swap(self, key: str, value: bytes, expires_at: datetime, counter: int) -> int:
        self._cursor.execute(self._swap, (value, self._timestamp(expires_at), key, counter))
        return int(self._cursor.rowcount)

    def close(self) -> None:
        self._cursor.close()
        self._connection.close()


@dataclasses.dataclass(frozen=True)
class Backend:
    """One SQL backend: its name, where its server URL comes from, and its targets."""

    name: str
    url_variable: str | None  # None: always available (SQLite in a temporary directory)
    http_target: float  # get_session over HTTP, ratio to the bare view (at least)
    inprocess_target: float  # in-process, ratio to the raw driver (at most)

    def server_url(self) -> str | None:
        return os.environ.get(self.url_variable) if self.url_variable else "sqlite://"

    def skip_reason(self) -> str | None:
        if self.server_url():
            return None
        return f"{self.url_variable} is not set"

    @contextlib.contextmanager
    def provision(self) -> Iterator[Database]:
        """A fresh empty database on this backend's server, dropped at the end."""
        url = make_url(self.server_url() or "")
        backend = url.get_backend_name()
        if backend == "sqlite":
            with tempfile.TemporaryDirectory(prefix="faroe-bench-sqlite-") as directory:
                yield Database(f"sqlite:///{Path(directory) / 'faroe.sqlite3'}")
            return
        name = f"faroe_bench_{secrets.token_hex(5)}"
        admin = _raw_connection(url)
        try:
            cursor = admin.cursor()
            cursor.execute(f"CREATE DATABASE {name}")
            try:
                yield Database(url.set(database=name).render_as_string(hide_password=False))
            finally:
                if backend == "postgresql":
                    cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                else:
                    cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        finally:
            admin.close()

    def raw(self, database: Database) -> RawReads:
        url = make_url(database.url)
        backend = url.get_backend_name()
        connection = _raw_connection(url)
        if backend == "sqlite":
            return DBAPIReads(connection, "qmark", '"', _sqlite_timestamp)
        if backend == "postgresql":
            return DBAPIReads(connection, "format", '"')
        return DBAPIReads(connection, "format", "`")


def _raw_connection(url: URL) -> Any:
    """A raw driver connection in autocommit mode."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA busy_timeout = 30000")
        return connection
    if backend == "postgresql":
        import psycopg

        return psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password,
            dbname=url.database, autocommit=True,
        )
    if backend in ("mysql", "mariadb"):
        import pymysql  # type: ignore[import-untyped]

        return pymysql.connect(
            host=url.host or "127.0.0.1", port=url.port or 3306, user=url.username or "root",
            password=url.password or "", database=url.database, charset="utf8mb4", autocommit=True,
        )
    raise ValueError(f"no raw driver for {backend}")


def _sqlite_timestamp(moment: datetime) -> str:
    """A naive UTC timestamp as SQLAlchemy stores it in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class RedisReads:
    """``RawReads`` for Redis storage: redis-py's own ``GET`` and the storage's compare-and-swap
    script through ``Script``, and the users' SELECTs on the raw SQLite connection."""

    def __init__(self, client: Any, users: DBAPIReads) -> None:
        from faroe_flask.redis import _UPDATE_SCRIPT  # the same script, run by redis-py itself

        self._client = client
        self._users = users
        self._swap = client.register_script(_UPDATE_SCRIPT)

    def session_entry(self, key: str) -> tuple[bytes, int]:
        entry = self._client.get(key)
        if entry is None:
            raise LookupError("no entry")
        return bytes(entry[4:]), int.from_bytes(entry[:4], "big", signed=True)

    def user_by_id(self, user_id: str) -> tuple[Any, ...]:
        return self._users.user_by_id(user_id)

    def user_by_email_address(self, email_address: str) -> tuple[Any, ...]:
        return self._users.user_by_email_address(email_address)

    def compare_and_swap(self, key: str, value: bytes, expires_at: datetime, counter: int) -> int:
        entry = (counter + 1).to_bytes(4, "big", signed=True) + value
        expected = counter.to_bytes(4, "big", signed=True)
        return int(self._swap(keys=[key], args=[expected, entry, 86_400_000]))

    def close(self) -> None:
        self._client.close()
        self._users.close()


@dataclasses.dataclass(frozen=True)
class RedisBackend(Backend):
    """Storage on Redis (``FAROE_STORAGE_URL``, its own random key prefix), users on SQLite."""

    def server_url(self) -> str | None:
        return os.environ.get(self.url_variable or "")

    @contextlib.contextmanager
    def provision(self) -> Iterator[Database]:
        import redis

        url = self.server_url() or ""
        prefix = f"faroe-bench-{secrets.token_hex(5)}:"
        with tempfile.TemporaryDirectory(prefix="faroe-bench-redis-") as directory:
            try:
                yield Database(
                    f"sqlite:///{Path(directory) / 'users.sqlite3'}",
                    (("FAROE_STORAGE_URL", url), ("FAROE_STORAGE_KEY_PREFIX", prefix)),
                )
            finally:
                client = redis.Redis.from_url(url)
                for pattern in (f"{prefix}*", "bench.*"):  # the engine's keys, the update figures'
                    for key in client.scan_iter(match=pattern, count=500):
                        client.delete(key)
                client.close()

    def raw(self, database: Database) -> RawReads:
        import redis

        users = DBAPIReads(_raw_connection(make_url(database.url)), "qmark", '"', _sqlite_timestamp)
        return RedisReads(redis.Redis.from_url(self.server_url() or ""), users)


BACKENDS: list[Backend] = [
    Backend("sqlite", None, http_target=0.7, inprocess_target=5.0),
    Backend("postgresql", "FAROE_TEST_POSTGRESQL_URL", http_target=0.5, inprocess_target=1.5),
    Backend("mariadb", "FAROE_TEST_MYSQL_URL", http_target=0.5, inprocess_target=1.5),
    RedisBackend("redis", "FAROE_TEST_REDIS_URL", http_target=0.5, inprocess_target=1.5),
]
