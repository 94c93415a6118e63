"""Sixteen threads racing on one record: exactly one wins, on every SQL database."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, update

from faroe_flask import (
    StorageEntryAlreadyExistsError,
    StorageEntryNotFoundError,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
)
from faroe_flask.sql import SQLStorage, SQLUserStore
from faroe_flask.sql.runner import Transaction, runner_for

from ..backends import SQL_BACKENDS, open_engine, open_tables

THREADS = 16
HINT = datetime(2030, 1, 1, tzinfo=timezone.utc)


def _race(work: Callable[[int], object]) -> Counter[str]:
    """Run ``work(i)`` in 16 threads released together; count outcomes by exception name."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        barrier.wait()
        try:
            work(number)
            outcome = "ok"
        except Exception as exc:  # noqa: BLE001 - every outcome is counted and checked
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(outcomes)


def test_one_of_sixteen_updates_with_the_same_counter_wins(sql_storage: SQLStorage) -> None:
    sql_storage.add("aaaq.bucket", b"start", HINT)
    outcomes = _race(lambda n: sql_storage.update("aaaq.bucket", f"v{n}".encode(), HINT, 0))
    assert outcomes == Counter({"ok": 1, StorageEntryNotFoundError.__name__: THREADS - 1})
    value, counter = sql_storage.get("aaaq.bucket")
    assert counter == 1 and value.startswith(b"v")


def test_one_of_sixteen_adds_of_the_same_key_wins(sql_storage: SQLStorage) -> None:
    outcomes = _race(lambda n: sql_storage.add("aaah.session", f"v{n}".encode(), HINT))
    assert outcomes == Counter({"ok": 1, StorageEntryAlreadyExistsError.__name__: THREADS - 1})
    assert sql_storage.get("aaah.session")[1] == 0


def test_one_of_sixteen_signups_with_the_same_email_address_wins(sql_user_store: SQLUserStore) -> None:
    outcomes = _race(lambda n: sql_user_store.create_user("race@example.com", b"h", "alg", b"s"))
    assert outcomes == Counter({"ok": 1, UserEmailAddressAlreadyUsedError.__name__: THREADS - 1})
    assert sql_user_store.get_user_by_email_address("race@example.com").email_address_counter == 0


def test_one_of_sixteen_users_gets_a_contested_email_address(sql_user_store: SQLUserStore) -> None:
    users = [sql_user_store.create_user(f"u{n}@example.com", b"h", "alg", b"s") for n in range(THREADS)]
    outcomes = _race(lambda n: sql_user_store.update_user_email_address(users[n].id, "taken@example.com", 0))
    assert outcomes == Counter({"ok": 1, UserEmailAddressAlreadyUsedError.__name__: THREADS - 1})
    winner = sql_user_store.get_user_by_email_address("taken@example.com")
    assert winner.email_address_counter == 1


def test_one_of_sixteen_session_counter_increments_wins(sql_user_store: SQLUserStore) -> None:
    user = sql_user_store.create_user("alice@example.com", b"h", "alg", b"s")
    outcomes = _race(lambda n: sql_user_store.increment_user_sessions_counter(user.id, 0))
    assert outcomes == Counter({"ok": 1, UserNotFoundError.__name__: THREADS - 1})
    assert sql_user_store.get_user(user.id).sessions_counter == 1


@pytest.fixture(params=[param for param in SQL_BACKENDS if param.values[0] != "sqlite"])
def server_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """PostgreSQL or MySQL (SQLite's BEGIN IMMEDIATE serialises writers: no deadlock there)."""
    with open_engine(str(request.param), tmp_path) as engine:
        yield engine


def test_a_deadlock_victim_is_run_again(server_engine: Engine) -> None:
    with open_tables(server_engine) as (table, _users):
        storage = SQLStorage(server_engine, table)
        storage.add("a", b"", HINT)
        storage.add("b", b"", HINT)
        barrier = threading.Barrier(2, timeout=30)
        attempts: Counter[str] = Counter()

        runner = runner_for(server_engine)
        bump = runner.prepare(
            update(table).where(table.c.key == bindparam("k")).values(counter=table.c.counter + 1)
        )

        def lock_both(first: str, second: str) -> Callable[[Transaction], None]:
            def work(tx: Transaction) -> None:
                attempts[first] += 1
                tx.execute(bump, {"k": first})
                if attempts[first] == 1:
                    barrier.wait()  # both now hold one row and want the other's: a deadlock
                tx.execute(bump, {"k": second})

            return work

        outcomes = _race_two(
            lambda: runner.transaction(lock_both("a", "b")),
            lambda: runner.transaction(lock_both("b", "a")),
        )
        assert outcomes == ["ok", "ok"]
        # A deadlock happened and its victim was run again; both then succeeded, each applied
        # once. Which transaction is the victim, and whether a retry deadlocks once more (when it
        # locks its first row before the other transaction has finished), is the database's race.
        assert sum(attempts.values()) >= 3
        assert storage.get("a")[1] == 2 and storage.get("b")[1] == 2


def _race_two(*works: Callable[[], object]) -> list[str]:
    outcomes: list[str] = []

    def run(work: Callable[[], object]) -> None:
        try:
            work()
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - reported in the assertion
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _updating(engine: Engine, table_name: str) -> bool:
    """Whether an ``UPDATE`` of ``table_name`` (unique to the test) is running: it then waits for
    the other transaction's row, which it cannot get past before that transaction ends."""
    if engine.dialect.name == "postgresql":
        query = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE %(pattern)s"
    else:
        query = "SELECT count(*) FROM information_schema.processlist WHERE info LIKE %(pattern)s"
    with engine.connect() as connection:
        return bool(connection.exec_driver_sql(query, {"pattern": f"UPDATE {table_name} %"}).scalar())


def test_an_address_another_transaction_is_taking_is_refused_when_it_commits(server_engine: Engine) -> None:
    """The address is not taken yet when the change looks (the other insert is not committed), so
    the unique constraint decides: the change's UPDATE waits for the other transaction, then is
    refused."""
    with open_tables(server_engine) as (_storage, users_table):
        store = SQLUserStore(server_engine, users_table)
        mover = store.create_user("mover@example.com", b"h", "alg", b"s")
        outcome: list[BaseException | None] = []

        def move() -> None:
            try:
                store.update_user_email_address(mover.id, "taken@example.com", 0)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - read back below
                outcome.append(exc)

        row = {
            "id": "o" * 24, "email_address": "taken@example.com", "password_hash": b"h", "password_salt": b"s",
            "password_hash_algorithm_id": "alg", "disabled": False, "display_name": "", "email_address_counter": 0,
            "password_hash_counter": 0, "disabled_counter": 0, "sessions_counter": 0, "created_at": datetime(2026, 1, 1),
        }
        with server_engine.connect() as other:
            other.begin()
            other.execute(users_table.insert().values(row))
            thread = threading.Thread(target=move)
            thread.start()
            deadline = time.monotonic() + 4
            while not _updating(server_engine, users_table.name):
                assert time.monotonic() < deadline and thread.is_alive(), outcome
                time.sleep(0.01)
            other.commit()
        thread.join(10)
        (error,) = outcome
        assert isinstance(error, UserEmailAddressAlreadyUsedError) and str(error) == "email address already used"
        assert store.get_user(mover.id).email_address == "mover@example.com"
        assert store.get_user_by_email_address("taken@example.com").id == "o" * 24
