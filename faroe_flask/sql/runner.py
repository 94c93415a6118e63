"""How the SQL stores run their statements: compiled once, executed on kept driver connections.

Every method of ``SQLStorage`` and ``SQLUserStore`` goes through this one mechanism:

* **Compiled once.** A store turns each of its SQLAlchemy Core statements into a ``Prepared`` when
  it is built: the SQL text for the engine's dialect, the order of its parameters in the driver's
  style, the bind processors of their types (a SQLite timestamp becomes text, a boolean an
  integer) and the result processors of the selected columns. A call only binds values and runs
  the text on the driver's cursor: no statement building, no cache key, no event dispatch.
* **Kept connections in autocommit mode.** A ``Runner`` (one per engine, shared by every store on
  it) keeps the driver connections it has opened. They come from ``engine.raw_connection()``, so
  the engine's "connect" set-up applies (SQLite's WAL and busy timeout, MySQL's character set and
  isolation level, the application's own listeners), and are then detached from the engine's pool,
  whose capacity they no longer use. A single statement is atomic on its own and runs in
  autocommit mode: one round trip, no ``BEGIN``, ``COMMIT`` or pool reset ``ROLLBACK``. Several
  statements that must see one state run in ``transaction``: ``BEGIN`` (``BEGIN IMMEDIATE`` for a
  write on SQLite, which takes the write lock up front) to ``COMMIT``, run again when the
  database rolled them back as a deadlock victim.
* **Dropped connections heal.** No ping is sent: a connection taken from the idle list is checked
  without a round trip, since a connection the server closed (restart, ``pg_terminate_backend``,
  ``KILL CONNECTION``, ``wait_timeout``) has a readable socket; it is closed and replaced. A
  connection that breaks during a call is discarded; a read is then run once more on a fresh
  connection, a write is not (it may have been applied) and fails.
* **Strong consistency.** Nothing read is kept between calls: every call runs its statements on
  the database, and a single-statement or committed call is visible to every later call.
* **Errors without values.** A driver error becomes ``SQLIntegrityError`` or ``SQLError``, whose
  message names the error class and code and never quotes the database's text where it can hold
  a value (an email address in a duplicate key, a string that does not convert).
"""

from __future__ import annotations

import copy
import os
import random
import re
import select
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, event
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

from ..core.interfaces import FaroeError

__all__ = ["Prepared", "Runner", "SQLError", "SQLIntegrityError", "Transaction", "runner_for"]

T = TypeVar("T")

#: How often a transaction the database chose as a deadlock victim is run in all.
DEADLOCK_ATTEMPTS = 3

_MISSING: Any = object()

# MySQL/MariaDB error numbers whose messages never quote a value: kept in SQLError messages.
_MYSQL_SAFE_MESSAGES = frozenset({1044, 1045, 1046, 1049, 1054, 1146, 1205, 1213, 1969, 2003, 2006, 2013, 3024})


class SQLError(FaroeError):
    """A database error, described by its class and code without the database's own text where
    that text could quote a value."""


class SQLIntegrityError(SQLError):
    """A constraint violation, reported without the database's message.

    Database messages quote the offending values (PostgreSQL's "Key (key)=(...) already exists",
    MySQL's "Duplicate entry '...'"), and those can be email addresses. ``unique_violation`` tells
    a duplicate key from any other violation, ``foreign_key_violation`` a foreign key's refusal;
    ``constraint`` names the constraint (or column) where the database says which, from the
    schema's names only (``describe_constraint``), else ``None``.
    """

    def __init__(
        self,
        unique_violation: bool,
        code: str,
        constraint: str | None = None,
        *,
        foreign_key_violation: bool = False,
    ) -> None:
        if unique_violation:
            kind = "unique constraint"
        elif foreign_key_violation:
            kind = "foreign key constraint"
        else:
            kind = "integrity constraint"
        super().__init__(f"{kind} violated ({code})" + (f": {constraint}" if constraint else ""))
        self.unique_violation = unique_violation
        self.foreign_key_violation = foreign_key_violation
        self.constraint = constraint


class Prepared:
    """One statement compiled for one dialect: ``bind`` turns named values into driver
    parameters, ``row`` applies the result processors to a fetched row.

    ``values_inline``: a statement that carries all its values (``where(t.c.a == 5)``,
    ``in_([1, 2])``), as an application's hook writes it for one run; an ``IN`` list becomes one
    parameter per item.
    """

    __slots__ = ("sql", "_spec", "_positional", "_names", "_processors")

    def __init__(self, statement: ClauseElement, engine: Engine, *, values_inline: bool = False) -> None:
        dialect = engine.dialect
        if dialect.paramstyle == "pyformat":
            # psycopg and PyMySQL also take positional ``%s`` parameters: a tuple binds with less
            # work than a dict of names (and psycopg converts names to positions on every call).
            dialect = copy.copy(dialect)
            dialect.paramstyle, dialect.positional = "format", True
        options = {"render_postcompile": True} if values_inline else {}
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect, compile_kwargs=options))
        if not values_inline and (compiled.literal_execute_params or compiled.post_compile_params):
            raise ValueError("statements with post-compile parameters cannot be prepared")
        self.sql: str = compiled.string
        by_name = {name: parameter for parameter, name in compiled.bind_names.items()}
        inline = compiled.construct_params() if values_inline else {}
        order = list(compiled.positiontup or []) if dialect.positional else list(inline or by_name)
        spec = []
        for name in order:
            parameter = by_name[name] if name in by_name else _list_of(by_name, name)
            if values_inline:
                default = inline[name]
            else:
                default = _MISSING if parameter.required else parameter.effective_value
            processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
            spec.append((name, default, processor))
        self._spec: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...] = tuple(spec)
        self._positional = bool(dialect.positional)
        self._names = tuple(name for name, _, _ in spec)
        processors: list[Callable[[Any], Any] | None] = []
        for column in getattr(statement, "selected_columns", ()):
            processors.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
        self._processors = tuple(processors) if any(processors) else None

    def bind(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        bound = []
        for name, default, processor in self._spec:
            value = values.get(name, default)
            if value is _MISSING:
                raise KeyError(f"no value for the statement parameter {name}")
            bound.append(value if processor is None or value is None else processor(value))
        return tuple(bound) if self._positional else dict(zip(self._names, bound))

    def row(self, row: Sequence[Any]) -> tuple[Any, ...]:
        processors = self._processors
        if processors is None:
            return tuple(row)
        return tuple([
            value if processor is None or value is None else processor(value)
            for processor, value in zip(processors, row)
        ])


def _list_of(by_name: Mapping[str, Any], name: str) -> Any:
    """The ``IN`` list parameter of which ``name`` (``<list>_<n>``, ``<list>_<n>_<m>`` for
    tuples) is one rendered item."""
    base = name
    while "_" in base:
        base = base.rsplit("_", 1)[0]
        if base in by_name:
            return by_name[base]
    raise KeyError(f"no statement parameter for {name}")


class Transaction:
    """The statements of one ``Runner.transaction``, all on one connection."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def read_one(self, prepared: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        self._cursor.execute(prepared.sql, prepared.bind(values))
        row = self._cursor.fetchone()
        return None if row is None else prepared.row(row)

    def read_all(self, prepared: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self._cursor.execute(prepared.sql, prepared.bind(values))
        return [prepared.row(row) for row in self._cursor.fetchall()]

    def execute(self, prepared: Prepared, values: Mapping[str, Any]) -> int:
        self._cursor.execute(prepared.sql, prepared.bind(values))
        return int(self._cursor.rowcount)


class _Connection:
    """A driver connection the runner owns, and the socket used to check it is still open.

    A network driver (psycopg, PyMySQL) reads each result whole, so one cursor serves every call.
    SQLite steps through a result in place, and an unfinished statement would hold a read
    transaction open (a stale snapshot, and no checkpoint): there each call gets a new cursor and
    closes it.
    """

    __slots__ = ("dbapi", "fairy", "fileno", "_kept")

    def __init__(self, fairy: Any, fileno: int | None) -> None:
        self.fairy = fairy
        self.dbapi = fairy.dbapi_connection
        self.fileno = fileno
        self._kept = self.dbapi.cursor() if fileno is not None else None

    def cursor(self) -> Any:
        return self._kept if self._kept is not None else self.dbapi.cursor()

    def done(self, cursor: Any) -> None:
        """Finish with a cursor of ``cursor()``: a per-call one is closed (its errors do not matter)."""
        if cursor is not None and cursor is not self._kept:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - its errors do not matter
                pass

    def close(self) -> None:
        try:
            if self._kept is not None:
                self._kept.close()
            self.fairy.close()  # detached: really closes the driver connection
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone
            pass


class Runner:
    """Runs prepared statements on the driver connections of one engine (see the module text).

    Use ``runner_for(engine)``: every store on an engine shares its runner. At most
    ``max_connections`` connections are open at once (the engine pool's size plus its overflow);
    a call that finds none free waits up to the pool's timeout.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.backend = self.dialect.name
        dbapi = self.dialect.loaded_dbapi
        self._error: type[Exception] = dbapi.Error
        #: The driver's constraint-violation class, as raised inside ``transaction``'s work.
        self.integrity_error: type[Exception] = dbapi.IntegrityError
        pool = engine.pool
        size = getattr(pool, "size", None)
        overflow = getattr(pool, "_max_overflow", 10)
        if callable(size) and isinstance(overflow, int) and overflow >= 0:
            self.max_connections = max(1, int(size()) + overflow)
        else:
            self.max_connections = 64
        timeout = getattr(pool, "timeout", None)
        self._wait = float(timeout()) if callable(timeout) else 30.0
        self._idle: deque[_Connection] = deque()
        # Open connections (idle or in use) are counted under the condition's lock; the fast path
        # (an idle connection taken and put back) takes no lock at all: deque pop/append are atomic.
        self._open = 0
        self._waiting = 0
        self._freed = threading.Condition(threading.Lock())
        self._begin_write = "BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN"

    def prepare(self, statement: ClauseElement, *, values_inline: bool = False) -> Prepared:
        return Prepared(statement, self.engine, values_inline=values_inline)

    # Single statements, in autocommit mode ---------------------------------------------------

    def read_one(self, prepared: Prepared, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run a query and return its first row (or ``None``). Retried once on a broken connection."""
        params = prepared.bind(values)
        for attempt in (1, 2):
            connection = self._acquire()
            cursor = None
            try:
                cursor = connection.cursor()
                cursor.execute(prepared.sql, params)
                row = cursor.fetchone()
                connection.done(cursor)
            except BaseException as exc:
                connection.done(cursor)
                broken = self._after_failure(connection, exc)
                if not isinstance(exc, self._error):
                    raise
                if attempt == 1 and (broken or self._is_deadlock(exc)):
                    continue
                raise self._translate(exc) from None
            self._release(connection)
            return None if row is None else prepared.row(row)
        raise AssertionError("unreachable")

    def execute(self, prepared: Prepared, values: Mapping[str, Any]) -> int:
        """Run one writing statement and return the number of rows it matched."""
        return self.transaction(lambda tx: tx.execute(prepared, values), single_statement=True)

    # Transactions ----------------------------------------------------------------------------

    def transaction(
        self, work: Callable[[Transaction], T], *, write: bool = True, single_statement: bool = False
    ) -> T:
        """Run ``work`` in one transaction and commit it (``single_statement``: in autocommit).

        An exception from ``work`` rolls the transaction back and propagates. A deadlock victim
        (rolled back by the database, so without effect) is run again after a short random pause,
        at most ``DEADLOCK_ATTEMPTS`` times in all.
        """
        for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
            connection = self._acquire()
            begun = False
            cursor = None
            try:
                cursor = connection.cursor()
                if not single_statement:
                    cursor.execute(self._begin_write if write else "BEGIN")
                    begun = True
                result = work(Transaction(cursor))
                if begun:
                    cursor.execute("COMMIT")
                    begun = False
                connection.done(cursor)
            except BaseException as exc:
                connection.done(cursor)
                broken = self._after_failure(connection, exc, rollback=begun)
                if not isinstance(exc, self._error):
                    raise
                if broken or attempt == DEADLOCK_ATTEMPTS or not self._is_deadlock(exc):
                    raise self._translate(exc) from None
                time.sleep(random.uniform(0.001, 0.01 * attempt))
                continue
            self._release(connection)
            return result
        raise AssertionError("unreachable")

    # Connections -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every idle connection (the engine's ``dispose`` does this too)."""
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return
            self._discard(connection)

    def _acquire(self) -> _Connection:
        idle = self._idle
        while True:
            try:
                connection = idle.pop()
            except IndexError:
                break
            if _is_open(connection):
                return connection
            self._discard(connection)
        with self._freed:
            self._waiting += 1
            try:
                deadline = time.monotonic() + self._wait
                while True:
                    try:
                        connection = idle.pop()
                    except IndexError:
                        if self._open < self.max_connections:
                            self._open += 1
                            break
                        remaining = deadline - time.monotonic()
                        if remaining <= 0 or not self._freed.wait(remaining):
                            raise SQLError(
                                f"no database connection became free within {self._wait:g} s"
                            ) from None
                        continue
                    if _is_open(connection):
                        return connection
                    connection.close()
                    self._open -= 1
            finally:
                self._waiting -= 1
        try:
            return self._connect()
        except BaseException:
            self._forget_one()
            raise

    def _release(self, connection: _Connection) -> None:
        self._idle.append(connection)
        if self._waiting:
            with self._freed:
                self._freed.notify()

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._forget_one()

    def _forget_one(self) -> None:
        with self._freed:
            self._open -= 1
            self._freed.notify()

    def _connect(self) -> _Connection:
        try:
            fairy = self.engine.raw_connection()
        except Exception as exc:  # noqa: BLE001 - reported as a SQLError
            # Connection failures name the host and user, never a password or a value.
            cause = getattr(exc, "orig", None) or exc
            text = " ".join(str(cause).split())  # on one line (psycopg adds a hint line)
            raise SQLError(f"could not connect to the database: {type(cause).__name__}: {text}") from None
        try:
            fairy.detach()
            self.dialect.set_isolation_level(fairy.dbapi_connection, "AUTOCOMMIT")  # type: ignore[arg-type]
        except BaseException:
            fairy.invalidate()
            raise
        return _Connection(fairy, _fileno(fairy.dbapi_connection))

    def _after_failure(self, connection: _Connection, exc: BaseException, *, rollback: bool = False) -> bool:
        """Put the connection back after a failed call, or discard it; return whether it broke."""
        broken = not isinstance(exc, Exception) or (
            isinstance(exc, self._error) and self.dialect.is_disconnect(exc, connection.dbapi, None)  # type: ignore[arg-type]
        )
        if not broken and rollback:
            try:
                cursor = connection.cursor()
                cursor.execute("ROLLBACK")
                connection.done(cursor)
            except Exception:  # noqa: BLE001 - a connection that cannot roll back is discarded
                broken = True
        if broken:
            self._discard(connection)
        else:
            self._release(connection)
        return broken

    # Errors ----------------------------------------------------------------------------------

    def _translate(self, exc: BaseException) -> SQLError:
        if isinstance(exc, self.integrity_error):
            return translate_integrity_error(exc)
        return SQLError(describe_error(exc))

    def _is_deadlock(self, exc: BaseException) -> bool:
        sqlstate, number = error_code(exc)
        if number is not None:
            return number == 1213  # ER_LOCK_DEADLOCK
        return sqlstate in ("40P01", "40001")


def _fileno(dbapi_connection: Any) -> int | None:
    """The socket of a network connection (psycopg, PyMySQL), ``None`` for SQLite's file."""
    sock = getattr(dbapi_connection, "_sock", None)  # PyMySQL keeps its socket here
    if sock is not None:
        return int(sock.fileno())
    fileno = getattr(dbapi_connection, "fileno", None)
    if callable(fileno):
        try:
            return int(fileno())
        except Exception:  # noqa: BLE001 - no socket to watch
            return None
    return None


def _is_open(connection: _Connection) -> bool:
    """Whether an idle connection is still open: the server has sent nothing (no error, no EOF)."""
    fileno = connection.fileno
    if fileno is None:
        return True
    try:
        poller = select.poll()
        poller.register(fileno, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


def error_code(exc: BaseException) -> tuple[str | None, int | None]:
    """(SQLSTATE, MySQL error number) of a driver exception, where the driver reports them."""
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    args = getattr(exc, "args", ())
    number = args[0] if args and isinstance(args[0], int) else None
    return sqlstate, number


def describe_code(exc: BaseException) -> str:
    sqlstate, number = error_code(exc)
    if number is not None:
        code = f"error {number}"
    elif sqlstate is not None:
        code = f"SQLSTATE {sqlstate}"
    else:
        code = str(getattr(exc, "sqlite_errorname", "no code"))
    return f"{type(exc).__name__}, {code}"


def describe_error(exc: BaseException) -> str:
    """A log-safe description: class and code, plus the database's text where it holds no value."""
    description = describe_code(exc)
    sqlstate, number = error_code(exc)
    text: str | None = None
    if number is not None:
        if number in _MYSQL_SAFE_MESSAGES and len(exc.args) > 1:
            text = str(exc.args[1])
    elif sqlstate is not None:
        if not sqlstate.startswith(("22", "23")):  # data exceptions and violations quote values
            diag = getattr(exc, "diag", None)
            text = getattr(diag, "message_primary", None)
    elif hasattr(exc, "sqlite_errorname"):
        text = str(exc)  # SQLite's messages name tables and columns, never bound values
    return f"{description}: {text}" if text else description


def translate_integrity_error(exc: BaseException) -> SQLIntegrityError:
    """A driver's constraint violation as ``SQLIntegrityError`` (no value in its message)."""
    return SQLIntegrityError(
        is_unique_violation(exc),
        describe_code(exc),
        describe_constraint(exc),
        foreign_key_violation=is_foreign_key_violation(exc),
    )


def is_foreign_key_violation(exc: BaseException) -> bool:
    """Whether a driver's integrity error is a foreign key's refusal."""
    sqlstate, number = error_code(exc)
    if number is not None:  # ER_NO_REFERENCED_ROW(_2), ER_ROW_IS_REFERENCED(_2)
        return number in (1216, 1217, 1451, 1452)
    if sqlstate is not None:
        return sqlstate == "23503"
    name = getattr(exc, "sqlite_errorname", None)
    # SQLite refuses at once for ``ON DELETE RESTRICT``, and says so as a trigger's refusal.
    return name == "SQLITE_CONSTRAINT_FOREIGNKEY" or (
        name == "SQLITE_CONSTRAINT_TRIGGER" and str(exc) == "FOREIGN KEY constraint failed"
    )


# MySQL/MariaDB messages of these errors hold schema names only (a value never appears in them).
_MYSQL_FOREIGN_KEY = re.compile(r"\(`[^`]*`\.`(?P<table>[^`]*)`, CONSTRAINT `(?P<name>[^`]*)`")
# A duplicate entry's message quotes the value first; the key's name ends it.
_MYSQL_DUPLICATE_KEY = re.compile(r" for key '(?P<name>[^']*)'\Z")
_MYSQL_NOT_NULL = re.compile(r"\AColumn '(?P<name>[^']*)' cannot be null\Z")
_SQLITE_CONSTRAINT = re.compile(r"\A(?:UNIQUE|NOT NULL|CHECK) constraint failed: (?P<name>[^\n]*)\Z")


def describe_constraint(exc: BaseException) -> str | None:
    """The constraint (or column) a driver's integrity error names, built from schema names only
    (never a value); ``None`` when the database does not say (SQLite's foreign keys)."""
    sqlstate, number = error_code(exc)
    if number is not None:
        message = str(exc.args[1]) if len(exc.args) > 1 else ""
        if number in (1216, 1217, 1451, 1452):
            match = _MYSQL_FOREIGN_KEY.search(message)
            return f"constraint {match['name']} on table {match['table']}" if match else None
        if number in (1062, 1586):
            match = _MYSQL_DUPLICATE_KEY.search(message)
            return f"key {match['name']}" if match else None
        if number == 1048:
            match = _MYSQL_NOT_NULL.search(message)
            return f"column {match['name']}" if match else None
        return None
    if sqlstate is not None:
        diag = getattr(exc, "diag", None)
        name = getattr(diag, "constraint_name", None)
        table = getattr(diag, "table_name", None)
        column = getattr(diag, "column_name", None)
        if name:
            return f"constraint {name}" + (f" on table {table}" if table else "")
        if column:
            return f"column {column}" + (f" of table {table}" if table else "")
        return None
    if hasattr(exc, "sqlite_errorname"):
        match = _SQLITE_CONSTRAINT.match(str(exc))
        return match["name"] if match else None
    return None


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a driver's integrity error is a duplicate primary or unique key."""
    sqlstate, number = error_code(exc)
    if number is not None:  # MySQL/MariaDB: its SQLSTATE 23000 covers every integrity error
        return number in (1062, 1586)  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
    if sqlstate is not None:
        return sqlstate == "23505"
    error_name = getattr(exc, "sqlite_errorname", None)
    if error_name is not None:
        return error_name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
    return "unique" in str(exc).lower() or "duplicate" in str(exc).lower()


# One runner per engine -------------------------------------------------------------------------

_runners: weakref.WeakKeyDictionary[Engine, Runner] = weakref.WeakKeyDictionary()
_runners_lock = threading.Lock()
_inherited: list[_Connection] = []


def runner_for(engine: Engine) -> Runner:
    """The runner of ``engine``, made on first use; ``engine.dispose()`` closes its connections."""
    runner = _runners.get(engine)
    if runner is not None:
        return runner
    with _runners_lock:
        runner = _runners.get(engine)
        if runner is None:
            runner = _runners[engine] = Runner(engine)
            event.listen(engine, "engine_disposed", lambda _engine: runner.close())
        return runner


def _forget_connections_after_fork() -> None:
    # A forked child must not use, nor close, its parent's connections (closing a network
    # connection tells the server to end the parent's session): keep them unused, open new ones.
    for runner in list(_runners.values()):
        _inherited.extend(runner._idle)  # noqa: SLF001
        runner._idle = deque()  # noqa: SLF001
        runner._open = 0  # noqa: SLF001
        runner._waiting = 0  # noqa: SLF001
        runner._freed = threading.Condition(threading.Lock())  # noqa: SLF001


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_connections_after_fork)
