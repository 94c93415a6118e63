"""Engines that make the SQL storage and user store correct under concurrency.

``create_engine`` applies, per database:

* every database: ``pool_pre_ping`` (no stale pooled connection after a server restart) and
  ``hide_parameters`` (no SQL parameter - a password hash, an email address - ever appears in an
  exception message or a log line); bounded waits (``statement_timeout``, ``connect_timeout``,
  seconds, set when a connection opens: see ``faroe_flask.sql.timeouts``);
* SQLite: a file database only (an in-memory database is private to one connection); foreign keys
  enforced (``PRAGMA foreign_keys = ON``, as PostgreSQL and MySQL always do: an application table
  that refers to the users table refuses or cascades a user's deletion; ``sqlite_foreign_keys=False``
  for a migration engine, since Alembic's batch mode copies and drops a table, which an enforced
  foreign key to it refuses); WAL journal
  (readers never block the writer), a busy timeout (a writer waits up to ``statement_timeout`` for
  the lock instead of failing at once), and real transactions for the engine's other users (Alembic, the application): pysqlite's legacy
  transaction handling, which never emits ``BEGIN`` for a ``SELECT``, is switched off and
  SQLAlchemy's ``begin`` emits ``BEGIN``;
* MySQL/MariaDB: the ``utf8mb4`` connection character set and ``READ COMMITTED`` isolation (as on
  PostgreSQL: every statement sees every committed write, and no gap locks).

The stores run their statements through ``faroe_flask.sql.runner`` (compiled once, on driver
connections in autocommit mode); ``pool_pre_ping`` serves the engine's other users and the
runner's first checkout of each connection. Strong consistency (F7.1) follows from one atomic
statement or one short transaction per call, committed before the call returns, on a primary
database: every later call sees the write.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

from .runner import SQLError, SQLIntegrityError
from .timeouts import DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT, install_timeouts

__all__ = [
    "SQLError",
    "SQLIntegrityError",
    "create_engine",
    "naive_utc",
]


def create_engine(
    url: str | sqlalchemy.URL,
    *,
    statement_timeout: float | None = DEFAULT_STATEMENT_TIMEOUT,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    sqlite_foreign_keys: bool = True,
    **kwargs: Any,
) -> Engine:
    """``sqlalchemy.create_engine`` with the settings above; ``kwargs`` override them."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or parsed.query.get("mode") == "memory":
            raise ValueError(
                "SQLite storage needs a database file: an in-memory database is private to one "
                "connection (use MemoryStorage for a single process instead)"
            )
    elif backend in ("mysql", "mariadb"):
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        options["isolation_level"] = "READ COMMITTED"
        options["pool_recycle"] = 3600
    options.update(kwargs)
    engine = sqlalchemy.create_engine(parsed, **options)
    install_timeouts(engine, statement_timeout=statement_timeout, connect_timeout=connect_timeout)
    if backend == "sqlite":
        _configure_sqlite(engine, sqlite_foreign_keys)
    return engine


def _configure_sqlite(engine: Engine, foreign_keys: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing (or skipping) BEGIN itself; _on_begin below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def naive_utc(moment: datetime) -> datetime:
    """What the timestamp columns hold: UTC without tzinfo (a naive input is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
