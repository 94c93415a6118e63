"""Dropped connections heal without a restart (PostgreSQL and MariaDB).

The server ends the runner's own connections (``pg_terminate_backend`` / ``KILL CONNECTION``, as
on a database restart or an operator's kill): idle connections are replaced before use, so every
later call succeeds, reads and writes alike; while calls are running, at most the calls in
flight fail (with ``internal_error`` through the engine), and every call after the kills succeeds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import bindparam, event, text

from faroe_flask import Server
from faroe_flask.sql import SQLStorage, SQLUserStore, create_engine
from faroe_flask.sql.runner import Runner, runner_for

from ..backends import MYSQL_URL_VARIABLE, POSTGRESQL_URL_VARIABLE, open_tables
from ..conftest import FAST_TEMPORARY_ALGORITHM, FAST_USER_ALGORITHM, CapturingEmailSender

HINT = datetime.now(timezone.utc) + timedelta(days=1)

_URLS = {"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE}


class _Tracked:
    """A private engine (its runner is this test's alone) that records the server id of every
    connection its runner takes (detaches from the pool), so that the test ends the runner's own
    connections and no one else's."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.backend = self.engine.dialect.name
        self.opened: list[int] = []
        event.listen(self.engine, "detach", self._record)

    def _record(self, dbapi_connection: Any, _record: Any) -> None:
        if self.backend == "postgresql":
            self.opened.append(int(dbapi_connection.info.backend_pid))
        else:
            self.opened.append(int(dbapi_connection.thread_id()))


@pytest.fixture(params=["postgresql", "mysql"])
def tracked(request: pytest.FixtureRequest) -> Iterator[_Tracked]:
    url = os.environ.get(_URLS[request.param])
    if not url:
        pytest.skip(f"{_URLS[request.param]} is not set")
    tracked = _Tracked(url)
    yield tracked
    tracked.engine.dispose()


@pytest.fixture
def admin(tracked: _Tracked) -> Iterator[Any]:
    """A connection outside the runner (on another engine) that ends the runner's connections."""
    engine = create_engine(tracked.engine.url)
    with engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")
    engine.dispose()


def _idle_ids(runner: Runner) -> list[int]:
    ids = []
    for connection in list(runner._idle):  # noqa: SLF001 - the test looks at the runner's own connections
        dbapi = connection.dbapi
        if runner.backend == "postgresql":
            ids.append(int(dbapi.info.backend_pid))
        else:
            ids.append(int(dbapi.thread_id()))
    return ids


def _kill(admin: Any, backend: str, ids: list[int]) -> None:
    for server_id in ids:
        if backend == "postgresql":
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": server_id})
        else:
            try:
                admin.execute(text(f"KILL CONNECTION {int(server_id)}"))
            except Exception:  # noqa: BLE001 - it may have ended already
                pass


def _wait_gone(admin: Any, backend: str, ids: list[int]) -> None:
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE pid IN :ids"
        if backend == "postgresql"
        else "SELECT count(*) FROM information_schema.processlist WHERE id IN :ids"
    )
    statement = text(query).bindparams(bindparam("ids", expanding=True))
    deadline = time.monotonic() + 10
    while ids and time.monotonic() < deadline:
        if admin.execute(statement, {"ids": ids}).scalar() == 0:
            return
        time.sleep(0.02)


def _open_idle_connections(runner: Runner, count: int) -> None:
    held = [runner._acquire() for _ in range(count)]  # noqa: SLF001
    for connection in held:
        runner._release(connection)  # noqa: SLF001


def test_idle_connections_ended_by_the_server_are_replaced(tracked: _Tracked, admin: Any) -> None:
    engine = tracked.engine
    with open_tables(engine) as (storage_table, users_table):
        storage = SQLStorage(engine, storage_table)
        users = SQLUserStore(engine, users_table)
        storage.add("k", b"v", HINT)
        user = users.create_user("ada@example.com", b"h", "algorithm", b"s")
        runner = runner_for(engine)
        _open_idle_connections(runner, 3)
        ids = _idle_ids(runner)
        assert len(ids) == 3
        _kill(admin, runner.backend, ids)
        _wait_gone(admin, runner.backend, ids)
        # Every later call succeeds: writes too, though a write is never retried.
        storage.update("k", b"w", HINT, 0)
        storage.add("k2", b"v", HINT)
        assert storage.get("k") == (b"w", 1)
        users.increment_user_sessions_counter(user.id, 0)
        assert users.get_user(user.id).sessions_counter == 1
        storage.delete("k2")
        assert not set(ids) & set(_idle_ids(runner))


def test_connections_killed_mid_run_fail_only_calls_in_flight(tracked: _Tracked, admin: Any) -> None:
    engine = tracked.engine
    with open_tables(engine) as (storage_table, users_table):
        storage = SQLStorage(engine, storage_table)
        users = SQLUserStore(engine, users_table)
        sender = CapturingEmailSender()
        server = Server(
            storage=storage,
            user_store=users,
            email_sender=sender,
            user_password_hash_algorithms=[FAST_USER_ALGORITHM],
            temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
            password_strength_checker=_AllStrong(),
        )
        token = _signed_up_session(server, sender)
        runner = runner_for(engine)
        stop = threading.Event()
        results: list[str] = []
        lock = threading.Lock()

        def call_repeatedly() -> None:
            for _ in range(5000):  # bounded; stopped much earlier by the event
                if stop.is_set():
                    return
                result = server.invoke("get_session", {"session_token": token})
                with lock:
                    results.append("ok" if result.ok else str(result.error_code))

        threads = [threading.Thread(target=call_repeatedly) for _ in range(4)]
        for thread in threads:
            thread.start()
        killed: set[int] = set()
        deadline = time.monotonic() + 60  # bounded, however slow a loaded machine is
        for _ in range(5):
            _wait_for_progress(results, lock, deadline)
            ids = [server_id for server_id in tracked.opened if server_id not in killed]
            killed.update(ids)  # idle and busy ones alike
            _kill(admin, runner.backend, ids)
        _wait_for_progress(results, lock, deadline)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        failures = [r for r in results if r != "ok"]
        assert set(failures) <= {"internal_error"}
        # A connection in use when it was killed fails one call at most (reads are retried once).
        assert len(failures) <= len(killed)
        assert len(tracked.opened) > len(killed), "killed connections were replaced"
        # After the kills, every call succeeds.
        for _ in range(20):
            result = server.invoke("get_session", {"session_token": token})
            assert result.ok, result.error_code


def _wait_for_progress(results: list[str], lock: threading.Lock, deadline: float) -> None:
    """Wait until the callers have finished a few more calls (the kills land in a running load)."""
    with lock:
        target = len(results) + 8
    while time.monotonic() < deadline:
        with lock:
            if len(results) >= target:
                return
        time.sleep(0.01)
    raise AssertionError("the callers made no progress")


class _AllStrong:
    def is_strong(self, password: str) -> bool:
        return True


def _signed_up_session(server: Server, sender: CapturingEmailSender) -> str:
    created = server.invoke("create_signup", {"email_address": "ada@example.com"})
    assert created.ok and created.values is not None
    token = created.values["signup_token"]
    code = sender.last("signup_code")["code"]
    assert server.invoke(
        "verify_signup_email_address_verification_code",
        {"signup_token": token, "email_address_verification_code": code},
    ).ok
    assert server.invoke("set_signup_password", {"signup_token": token, "password": "a strong one"}).ok
    completed = server.invoke("complete_signup", {"signup_token": token})
    assert completed.ok and completed.values is not None
    return str(completed.values["session_token"])
