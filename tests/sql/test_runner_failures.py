"""The SQL runner's answers to a broken connection and to errors the database raises on purpose
(PostgreSQL and MariaDB; SQLite has no connection to break and no deadlock victims).

* A connection that breaks between the runner's liveness check and the statement (the check saw an
  open socket; a proxy cuts the connection when the statement arrives): a read is run again on a
  fresh connection and answers; a write is not run again and fails, whether the statement never
  reached the server or was applied before the reply was lost. Each outcome is read back.
* A transaction the database rolled back as a deadlock victim or a serialization failure
  (SQLSTATE 40P01 / 40001, MariaDB error 1213; raised here by a trigger or a function) is run again,
  at most ``DEADLOCK_ATTEMPTS`` times in all for a write and twice for a read.
* A PostgreSQL data exception (SQLSTATE class 22) quotes the offending value: the ``SQLError``
  keeps its class and code and drops the text.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, Integer, String, bindparam, cast, func, select, text
from sqlalchemy.engine import make_url

from faroe_flask import Server, StorageEntryAlreadyExistsError, StorageEntryNotFoundError, UserNotFoundError
from faroe_flask.sql import SQLError, SQLStorage, SQLUserStore, create_engine
from faroe_flask.sql.runner import DEADLOCK_ATTEMPTS, runner_for

from ..backends import MYSQL_URL_VARIABLE, POSTGRESQL_URL_VARIABLE, open_tables, unique_suffix
from ..conftest import FAST_TEMPORARY_ALGORITHM, FAST_USER_ALGORITHM, BannedPasswords, CapturingEmailSender
from .proxy import CuttingProxy

HINT = datetime.now(timezone.utc) + timedelta(days=1)
_URLS = {"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE}


def _server_url(backend: str) -> str:
    url = os.environ.get(_URLS[backend])
    if not url:
        pytest.skip(f"{_URLS[backend]} is not set")
    return url


@dataclass
class Parts:
    engine: Engine
    storage: SQLStorage
    users: SQLUserStore
    proxy: CuttingProxy


@pytest.fixture(params=["postgresql", "mysql"])
def behind_proxy(request: pytest.FixtureRequest) -> Iterator[Parts]:
    """Stores on an engine of their own that reaches the database through a ``CuttingProxy``."""
    yield from _behind_proxy(request.param)


@pytest.fixture(params=["postgresql", "mysql"])
def one_connection_behind_proxy(request: pytest.FixtureRequest) -> Iterator[Parts]:
    """The same, on an engine whose pool allows one connection (so the runner keeps at most one)."""
    yield from _behind_proxy(request.param, pool_size=1, max_overflow=0, pool_timeout=5)


def _behind_proxy(backend: str, **engine_options: Any) -> Iterator[Parts]:
    url = make_url(_server_url(backend))
    proxy = CuttingProxy(url.host or "127.0.0.1", url.port or (5432 if backend == "postgresql" else 3306))
    engine = create_engine(url.set(host="127.0.0.1", port=proxy.port), **engine_options)
    try:
        with open_tables(engine) as (storage_table, users_table):
            parts = Parts(engine, SQLStorage(engine, storage_table), SQLUserStore(engine, users_table), proxy)
            try:
                yield parts
            finally:
                proxy.disarm()  # a cut that did not happen must not hit dropping the tables
    finally:
        engine.dispose()
        proxy.close()


def _warm(parts: Parts) -> None:
    """One call, so that the runner holds an idle, open connection for the next one."""
    parts.storage.add("warm", b"", HINT)
    assert parts.storage.get("warm") == (b"", 0)


# Reads -------------------------------------------------------------------------------------------


def test_a_read_whose_connection_breaks_is_run_again_on_a_fresh_one(behind_proxy: Parts) -> None:
    parts = behind_proxy
    parts.storage.add("k", b"value", HINT)
    user = parts.users.create_user("ada@example.com", b"h", "algorithm", b"s")
    _warm(parts)
    opened = parts.proxy.accepted
    parts.proxy.cut_next(forward=False)
    assert parts.storage.get("k") == (b"value", 0)
    assert (parts.proxy.cuts, parts.proxy.accepted) == (1, opened + 1)  # one cut, one new connection
    parts.proxy.cut_next(forward=False)
    assert parts.users.get_user_by_email_address("ada@example.com") == user
    assert parts.proxy.cuts == 2


def test_a_session_check_survives_a_connection_broken_under_it(behind_proxy: Parts) -> None:
    """Through the engine: ``get_session`` reads the session and the user, and answers ok."""
    parts = behind_proxy
    sender = CapturingEmailSender()
    server = Server(
        storage=parts.storage,
        user_store=parts.users,
        email_sender=sender,
        user_password_hash_algorithms=[FAST_USER_ALGORITHM],
        temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
        password_strength_checker=BannedPasswords(),
    )
    from .test_reconnect import _signed_up_session

    token = _signed_up_session(server, sender)
    for _ in range(2):  # the session read, then the user read
        parts.proxy.cut_next(forward=False)
        result = server.invoke("get_session", {"session_token": token})
        assert result.ok and result.values is not None, result.error_code
        assert result.values["session"]["id"] == token.split(".")[0]
    assert parts.proxy.cuts == 2


# Writes ------------------------------------------------------------------------------------------

#: Each write, how to read its effect back, the effect once applied, and what a second run of the
#: same statement would have answered had the runner run it again.
Write = Callable[[Parts, str], None]


def _add(parts: Parts, user_id: str) -> None:
    parts.storage.add("new", b"added", HINT)


def _update(parts: Parts, user_id: str) -> None:
    parts.storage.update("k", b"updated", HINT, 0)


def _delete(parts: Parts, user_id: str) -> None:
    parts.storage.delete("k")


def _increment(parts: Parts, user_id: str) -> None:
    parts.users.increment_user_sessions_counter(user_id, 0)


def _effects(parts: Parts, user_id: str) -> dict[str, Any]:
    def entry(key: str) -> Any:
        try:
            return parts.storage.get(key)
        except StorageEntryNotFoundError:
            return None

    return {"new": entry("new"), "k": entry("k"), "sessions": parts.users.get_user(user_id).sessions_counter}


WRITES: dict[str, tuple[Write, dict[str, Any], type[Exception]]] = {
    "add": (_add, {"new": (b"added", 0)}, StorageEntryAlreadyExistsError),
    "update": (_update, {"k": (b"updated", 1)}, StorageEntryNotFoundError),
    "delete": (_delete, {"k": None}, StorageEntryNotFoundError),
    "increment": (_increment, {"sessions": 1}, UserNotFoundError),
}


def _cut_write(parts: Parts, write: str, *, forward: bool) -> tuple[Write, dict[str, Any], str, dict[str, Any]]:
    """An entry ``k`` and a user to write to, their state before, and the proxy armed."""
    run, applied, _ = WRITES[write]
    parts.storage.add("k", b"value", HINT)
    user_id = parts.users.create_user("ada@example.com", b"h", "algorithm", b"s").id
    before = _effects(parts, user_id)
    parts.proxy.cut_next(forward=forward)
    return run, applied, user_id, before


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_applied_before_its_connection_broke_is_not_run_again(behind_proxy: Parts, write: str) -> None:
    """The statement ran; its reply was lost. Run again, it would answer "already exists" / "not
    found" for a write that did happen: the caller gets the connection error instead."""
    parts = behind_proxy
    run, applied, user_id, before = _cut_write(parts, write, forward=True)
    rerun_answer = WRITES[write][2]
    with pytest.raises(SQLError) as raised:
        run(parts, user_id)
    assert not isinstance(raised.value, rerun_answer)
    assert parts.proxy.cuts == 1 and not parts.proxy.armed
    assert _effects(parts, user_id) == {**before, **applied}  # applied exactly once


@pytest.mark.parametrize("write", list(WRITES))
def test_a_write_whose_connection_broke_before_it_ran_fails_and_changes_nothing(
    behind_proxy: Parts, write: str
) -> None:
    """The runner cannot tell this case from the one above, so it does not run the write again
    either: the caller learns that the write may not have happened, and the next call works."""
    parts = behind_proxy
    run, applied, user_id, before = _cut_write(parts, write, forward=False)
    with pytest.raises(SQLError):
        run(parts, user_id)
    assert parts.proxy.cuts == 1
    assert _effects(parts, user_id) == before
    run(parts, user_id)  # on a fresh connection
    assert _effects(parts, user_id) == {**before, **applied}


# Deadlock victims and serialization failures -----------------------------------------------------


@dataclass
class Forced:
    """A database function ``name(times)`` that raises ``code`` on its first ``times`` calls (a
    sequence counts the calls: ``nextval`` is not undone by the rollback)."""

    engine: Engine
    backend: str
    name: str
    code: str


@pytest.fixture(params=[("postgresql", "40001"), ("postgresql", "40P01"), ("mysql", "1213")], ids=lambda p: "-".join(p))
def forced(request: pytest.FixtureRequest) -> Iterator[Forced]:
    backend, code = request.param
    engine = create_engine(_server_url(backend))
    name = f"faroe_forced_{unique_suffix()}"
    if backend == "postgresql":
        create = [
            f"CREATE SEQUENCE {name}_calls",
            f"""CREATE FUNCTION {name}(times integer) RETURNS integer AS $$
                BEGIN
                    IF nextval('{name}_calls') <= times THEN
                        RAISE EXCEPTION 'forced failure' USING ERRCODE = '{code}';
                    END IF;
                    RETURN 1;
                END $$ LANGUAGE plpgsql""",
        ]
        drop = [f"DROP FUNCTION {name}(integer)", f"DROP SEQUENCE {name}_calls"]
    else:
        create = [
            f"CREATE SEQUENCE {name}_calls NOCACHE",
            f"""CREATE FUNCTION {name}(times INT) RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA
                BEGIN
                    IF NEXTVAL({name}_calls) <= times THEN
                        SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = {code}, MESSAGE_TEXT = 'forced failure';
                    END IF;
                    RETURN 1;
                END""",
        ]
        drop = [f"DROP FUNCTION {name}", f"DROP SEQUENCE {name}_calls"]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield Forced(engine, backend, name, code)
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))
        engine.dispose()


def _calls(forced: Forced) -> int:
    """How many times the function has run (its sequence's last value; read after a first call)."""
    if forced.backend == "postgresql":
        query = f"SELECT last_value FROM {forced.name}_calls"
    else:  # LASTVAL is per connection in MariaDB: read the (uncached) sequence's table itself
        query = f"SELECT next_not_cached_value - 1 FROM {forced.name}_calls"
    with forced.engine.connect() as connection:
        return int(connection.execute(text(query)).scalar_one())


def test_a_read_rolled_back_by_the_database_is_run_once_more(forced: Forced) -> None:
    runner = runner_for(forced.engine)
    failing = runner.prepare(select(getattr(func, forced.name)(bindparam("times", type_=Integer))))
    assert runner.read_one(failing, {"times": 1}) == (1,)
    assert _calls(forced) == 2
    with pytest.raises(SQLError) as raised:
        runner.read_one(failing, {"times": 4})  # calls 3 and 4 fail: a read is run twice at most
    assert forced.code in str(raised.value)
    assert _calls(forced) == 4


def test_a_write_rolled_back_by_the_database_is_run_again(forced: Forced) -> None:
    """A trigger on the storage table calls the failing function: the update is a deadlock victim
    twice and lands on the third run; with one failure more than the attempts, it fails."""
    with open_tables(forced.engine) as (table, _users):
        storage = SQLStorage(forced.engine, table)
        storage.add("k", b"v", HINT)
        trigger = f"{forced.name}_trigger"
        limit = f"{forced.name}_limit"
        with forced.engine.begin() as connection:
            # How many failures the next update meets: a one-row table the trigger reads.
            connection.execute(text(f"CREATE TABLE {limit} (times integer NOT NULL)"))
            connection.execute(text(f"INSERT INTO {limit} VALUES ({DEADLOCK_ATTEMPTS - 1})"))
            if forced.backend == "postgresql":
                connection.execute(text(
                    f"""CREATE FUNCTION {trigger}() RETURNS trigger AS $$
                        BEGIN PERFORM {forced.name}((SELECT times FROM {limit})); RETURN NEW; END
                        $$ LANGUAGE plpgsql"""
                ))
                connection.execute(text(
                    f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table.name} FOR EACH ROW EXECUTE FUNCTION {trigger}()"
                ))
            else:
                connection.execute(text(
                    f"""CREATE TRIGGER {trigger} BEFORE UPDATE ON {table.name} FOR EACH ROW
                        SET @faroe_forced = {forced.name}((SELECT times FROM {limit}))"""
                ))
        try:
            storage.update("k", b"w", HINT, 0)
            assert storage.get("k") == (b"w", 1)
            assert _calls(forced) == DEADLOCK_ATTEMPTS
            with forced.engine.begin() as connection:
                connection.execute(text(f"UPDATE {limit} SET times = {2 * DEADLOCK_ATTEMPTS}"))
            with pytest.raises(SQLError) as raised:
                storage.update("k", b"x", HINT, 1)
            assert not isinstance(raised.value, StorageEntryNotFoundError)
            assert forced.code in str(raised.value)
            assert _calls(forced) == 2 * DEADLOCK_ATTEMPTS
            assert storage.get("k") == (b"w", 1)
        finally:
            with forced.engine.begin() as connection:
                if forced.backend == "postgresql":
                    connection.execute(text(f"DROP TRIGGER {trigger} ON {table.name}"))
                    connection.execute(text(f"DROP FUNCTION {trigger}()"))
                else:
                    connection.execute(text(f"DROP TRIGGER {trigger}"))
                connection.execute(text(f"DROP TABLE {limit}"))


# PostgreSQL data exceptions ----------------------------------------------------------------------


def test_a_postgresql_data_exception_is_reported_without_the_value() -> None:
    engine = create_engine(_server_url("postgresql"))
    try:
        runner = runner_for(engine)
        conversion = runner.prepare(select(cast(bindparam("value", type_=String), Integer)))
        secret = "ada.lovelace@example.com"
        with pytest.raises(SQLError) as raised:
            runner.read_one(conversion, {"value": secret})
        message = str(raised.value)
        assert message == "InvalidTextRepresentation, SQLSTATE 22P02"
        assert secret not in message
        assert runner.read_one(conversion, {"value": "42"}) == (42,)  # the connection is fine
        # An error of another class keeps the database's text, which quotes no value.
        missing = runner.prepare(select(func.faroe_no_such_function(bindparam("value", type_=String))))
        with pytest.raises(SQLError) as raised:
            runner.read_one(missing, {"value": secret})
        assert str(raised.value).startswith("UndefinedFunction, SQLSTATE 42883: function faroe_no_such_function(")
        assert secret not in str(raised.value)
    finally:
        engine.dispose()


def test_a_replaced_connection_still_counts_against_the_limit(one_connection_behind_proxy: Parts) -> None:
    """After a broken connection is replaced, the runner still opens at most its one connection:
    two slow reads at once take turns on it."""
    parts = one_connection_behind_proxy
    runner = runner_for(parts.engine)
    assert runner.max_connections == 1
    _warm(parts)
    parts.proxy.cut_next(forward=False)
    assert parts.storage.get("warm") == (b"", 0)  # run again on a new connection
    before = parts.proxy.live
    sleep = func.pg_sleep(0.3) if runner.backend == "postgresql" else func.sleep(0.3)
    slow = runner.prepare(select(sleep))
    barrier = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            barrier.wait()
            runner.read_one(slow, {})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(2)]
    parts.proxy.most_live = parts.proxy.live
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert errors == []
    assert parts.proxy.most_live == before  # no second connection was opened


def test_dispose_closes_the_runners_connections(behind_proxy: Parts) -> None:
    parts = behind_proxy
    _warm(parts)
    assert parts.proxy.live >= 1
    parts.engine.dispose()
    deadline = time.monotonic() + 5
    while parts.proxy.live and time.monotonic() < deadline:
        time.sleep(0.02)
    assert parts.proxy.live == 0
    assert parts.storage.get("warm") == (b"", 0)  # a later call opens a new one
