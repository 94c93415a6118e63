"""Bounded waits on the database, set on every new connection (``create_engine`` installs them).

``statement_timeout`` (seconds) bounds how long one statement may run or wait for a lock:

* PostgreSQL: ``statement_timeout`` and ``lock_timeout``;
* MariaDB: ``max_statement_time``, ``innodb_lock_wait_timeout`` (row locks) and
  ``lock_wait_timeout`` (table and metadata locks, a year by default); MySQL:
  ``max_execution_time`` (reads only) and the two lock waits. The lock waits are whole seconds
  (at least 1);
* SQLite: ``busy_timeout`` (how long a writer waits for the write lock).

``connect_timeout`` (seconds) bounds opening a connection (PostgreSQL and MySQL/MariaDB drivers'
``connect_timeout``; libpq rounds below 2 s up to 2 s).

A statement that hits a bound raises the driver's error (wrapped in SQLAlchemy's
``OperationalError``; its message holds no statement parameters since the engine hides them), so
the action answers ``internal_error`` and the transaction is rolled back. ``None`` leaves the
database's own default. Everything happens when a connection is opened, never per statement.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["DEFAULT_STATEMENT_TIMEOUT", "DEFAULT_CONNECT_TIMEOUT", "install_timeouts"]

DEFAULT_STATEMENT_TIMEOUT = 5.0
DEFAULT_CONNECT_TIMEOUT = 5.0


def install_timeouts(
    engine: Engine, *, statement_timeout: float | None, connect_timeout: float | None
) -> None:
    """Register the connect-time listeners for ``engine``'s database."""
    backend = engine.dialect.name
    for name, value in (("statement_timeout", statement_timeout), ("connect_timeout", connect_timeout)):
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds or None")
    if connect_timeout is not None and backend in ("postgresql", "mysql", "mariadb"):
        connect_value: float = max(2, math.ceil(connect_timeout)) if backend == "postgresql" else connect_timeout

        @event.listens_for(engine, "do_connect")
        def _on_do_connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
            cparams.setdefault("connect_timeout", connect_value)

    if statement_timeout is None:
        return
    setter = _SETTERS.get(backend)
    if setter is None:
        return
    seconds = statement_timeout

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        setter(dbapi_connection, seconds)


def _postgresql(dbapi_connection: Any, seconds: float) -> None:
    milliseconds = str(max(1, round(seconds * 1000)))
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
            (milliseconds, milliseconds),
        )
    finally:
        cursor.close()
    if not getattr(dbapi_connection, "autocommit", False):
        dbapi_connection.commit()  # a session-level setting made in a transaction lasts only if committed


def _mysql(dbapi_connection: Any, seconds: float) -> None:
    whole = max(1, math.ceil(seconds))
    cursor = dbapi_connection.cursor()
    try:
        get_server_info = getattr(dbapi_connection, "get_server_info", None)
        if get_server_info is not None:
            version = str(get_server_info())
        else:  # pragma: no cover - drivers without it
            cursor.execute("SELECT VERSION()")
            version = str(cursor.fetchone()[0])
        if "mariadb" in version.lower():
            limit = f"max_statement_time = {seconds:.3f}"
        else:
            limit = f"max_execution_time = {max(1, round(seconds * 1000))}"
        cursor.execute(
            f"SET SESSION innodb_lock_wait_timeout = {whole}, SESSION lock_wait_timeout = {whole}, "
            f"SESSION {limit}"
        )
    finally:
        cursor.close()


def _sqlite(dbapi_connection: Any, seconds: float) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {max(1, round(seconds * 1000))}")
    finally:
        cursor.close()


_SETTERS = {"postgresql": _postgresql, "mysql": _mysql, "mariadb": _mysql, "sqlite": _sqlite}
