"""Engines that make the SQL storage and user store correct under concurrency, and the small
transaction helper both use.

``create_engine`` applies, per database:

* every database: ``pool_pre_ping`` (no stale pooled connection after a server restart) and
  ``hide_parameters`` (no SQL parameter - a password hash, an email address - ever appears in an
  exception message or a log line); bounded waits (``statement_timeout``, ``connect_timeout``,
  seconds, set when a connection opens: see ``faroe_flask.sql.timeouts``);
* SQLite: a file database only (an in-memory database is private to one connection); WAL journal
  (readers never block the writer), a busy timeout (a writer waits up to ``statement_timeout`` for
  the lock instead of failing at once),
  and real transactions: pysqlite's legacy transaction handling, which never emits ``BEGIN`` for a
  ``SELECT``, is switched off and SQLAlchemy's ``begin`` emits ``BEGIN`` - or ``BEGIN IMMEDIATE``
  for a write transaction, so that it takes the write lock up front and cannot fail half-way;
* MySQL/MariaDB: the ``utf8mb4`` connection character set and ``READ COMMITTED`` isolation (as on
  PostgreSQL: every statement sees every committed write, and no gap locks).

Strong consistency (F7.1) follows from one short transaction per call, committed before the call
returns, on a primary database: every later call starts a new transaction and sees the write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..core.interfaces import FaroeError
from .timeouts import DEFAULT_CONNECT_TIMEOUT, DEFAULT_STATEMENT_TIMEOUT, install_timeouts

__all__ = [
    "SQLIntegrityError",
    "create_engine",
    "is_unique_violation",
    "naive_utc",
    "transaction",
]

T = TypeVar("T")

# Execution option that marks a connection's transaction as a write (BEGIN IMMEDIATE on SQLite).
_WRITE_OPTION = "faroe_write"

# How often a transaction that the database aborted as a deadlock victim is run again.
_DEADLOCK_ATTEMPTS = 3


class SQLIntegrityError(FaroeError):
    """A constraint violation, reported without the database's message.

    Database messages quote the offending values (PostgreSQL's "Key (key)=(...) already exists",
    MySQL's "Duplicate entry '...'"), and those can be email addresses; ``hide_parameters`` does
    not cover them. ``unique_violation`` tells a duplicate key from any other violation.
    """

    def __init__(self, unique_violation: bool, code: str) -> None:
        kind = "unique constraint" if unique_violation else "integrity constraint"
        super().__init__(f"{kind} violated ({code})")
        self.unique_violation = unique_violation


def create_engine(
    url: str | sqlalchemy.URL,
    *,
    statement_timeout: float | None = DEFAULT_STATEMENT_TIMEOUT,
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
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
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing (or skipping) BEGIN itself; _on_begin below does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def transaction(
    engine: Engine,
    work: Callable[[Connection], T],
    *,
    write: bool = False,
    single_statement: bool = False,
) -> T:
    """Run ``work`` in one short transaction and commit it; ``write`` marks a writing transaction.

    ``single_statement`` says that ``work`` runs exactly one statement. On PostgreSQL that
    statement then runs in autocommit mode: one statement is atomic by itself, and an explicit
    ``BEGIN`` and ``COMMIT`` would only add two round trips (psycopg switches modes without
    asking the server). Elsewhere switching modes costs round trips of its own (PyMySQL) or would
    undo the SQLite set-up above, so the statement runs in a transaction as usual.

    A transaction the database rolled back as a deadlock victim is run again (at most a few
    times, after a short random pause): it had no effect, so running it again is safe.
    """
    autocommit = single_statement and engine.dialect.name == "postgresql"
    for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
        try:
            with engine.connect() as connection:
                if autocommit:
                    connection.execution_options(isolation_level="AUTOCOMMIT")
                    return work(connection)
                if write:
                    connection.execution_options(**{_WRITE_OPTION: True})
                with connection.begin():
                    return work(connection)
        except IntegrityError as exc:
            raise SQLIntegrityError(is_unique_violation(exc), _describe_code(exc)) from None
        except DBAPIError as exc:
            if attempt == _DEADLOCK_ATTEMPTS or not _is_deadlock(exc):
                raise
            # A short random pause lets the winner finish, so the retry does not run straight
            # into the same deadlock again.
            time.sleep(random.uniform(0.001, 0.01 * attempt))
    raise AssertionError("unreachable")


def _describe_code(exc: DBAPIError) -> str:
    sqlstate, number = _error_code(exc)
    code = f"error {number}" if number is not None else f"SQLSTATE {sqlstate}"
    return f"{type(exc.orig).__name__}, {code}"


def _error_code(exc: DBAPIError) -> tuple[str | None, int | None]:
    """(SQLSTATE, MySQL error number) of the driver's exception, where the driver reports them."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    args = getattr(orig, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    return sqlstate, number


def _is_deadlock(exc: DBAPIError) -> bool:
    sqlstate, number = _error_code(exc)
    if number is not None:
        return number == 1213  # ER_LOCK_DEADLOCK
    return sqlstate in ("40P01", "40001")


def is_unique_violation(exc: IntegrityError) -> bool:
    """Whether an ``IntegrityError`` is a duplicate primary key or unique key."""
    sqlstate, number = _error_code(exc)
    if number is not None:  # MySQL/MariaDB: its SQLSTATE 23000 covers every integrity error
        return number in (1062, 1586)  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
    if sqlstate is not None:
        return sqlstate == "23505"
    error_name = getattr(exc.orig, "sqlite_errorname", None)
    if error_name is not None:
        return error_name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
    return "unique" in str(exc.orig).lower() or "duplicate" in str(exc.orig).lower()


def naive_utc(moment: datetime) -> datetime:
    """What the timestamp columns hold: UTC without tzinfo (a naive input is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment
