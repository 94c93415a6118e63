"""Diagnostic (issue 17): which store calls fail when the runner's connections are killed under load.

    FAROE_TEST_MYSQL_URL=mysql+pymysql://root@127.0.0.1:3306/test \\
        .venv/bin/python scripts/signups_under_kills.py mysql [rounds]
    FAROE_TEST_POSTGRESQL_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python scripts/signups_under_kills.py postgresql [rounds]

Four threads call ``create_signup`` (a new address each time) while the connections the engine's
runner opened are killed ``rounds`` times (``KILL CONNECTION`` / ``pg_terminate_backend``), the
way ``tests/sql/test_reconnect.py`` does. Every store call that raises is recorded with its
method; for a failed ``add`` the script then reads the key back, to tell a write that was applied
before its reply was lost from one that never ran. Prints the answers, the failed store calls and
how many failed writes were applied. Run from the project folder; the tables are the test suite's
(random names, dropped afterwards).
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faroe_flask import Server, StorageEntryNotFoundError  # noqa: E402
from faroe_flask.sql import SQLError, SQLStorage, SQLUserStore, create_engine  # noqa: E402
from faroe_flask.sql.runner import runner_for  # noqa: E402
from tests.backends import open_tables  # noqa: E402
from tests.conftest import (  # noqa: E402
    FAST_TEMPORARY_ALGORITHM,
    FAST_USER_ALGORITHM,
    BannedPasswords,
    CapturingEmailSender,
    CapturingErrorLogger,
)
from tests.sql.test_reconnect import _kill, _Tracked, _wait_for_progress  # noqa: E402


class Recording:
    """Delegates to a store and records every ``SQLError`` it raises: (store, method, message)."""

    def __init__(self, inner: Any, kind: str, failures: list[tuple[str, str, str, Any]]) -> None:
        self.inner, self.kind, self.failures = inner, kind, failures
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any) -> Any:
            try:
                return attribute(*args)
            except SQLError as exc:
                with self.lock:
                    self.failures.append((self.kind, name, str(exc), args[0] if args else None))
                raise

        return call


def main() -> None:
    backend = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    url = os.environ["FAROE_TEST_POSTGRESQL_URL" if backend == "postgresql" else "FAROE_TEST_MYSQL_URL"]
    tracked = _Tracked(url)
    admin_engine = create_engine(url)
    failures: list[tuple[str, str, str, Any]] = []
    with admin_engine.connect() as connection, open_tables(tracked.engine) as (storage_table, users_table):
        admin = connection.execution_options(isolation_level="AUTOCOMMIT")
        storage = SQLStorage(tracked.engine, storage_table)
        logger = CapturingErrorLogger()
        server = Server(
            storage=Recording(storage, "storage", failures),
            user_store=Recording(SQLUserStore(tracked.engine, users_table), "users", failures),
            email_sender=CapturingEmailSender(),
            user_password_hash_algorithms=[FAST_USER_ALGORITHM],
            temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
            password_strength_checker=BannedPasswords(),
            error_logger=logger,
        )
        stop = threading.Event()
        answers: list[str] = []
        lock = threading.Lock()

        def sign_up_repeatedly(worker: int) -> None:
            for number in range(20_000):  # bounded; stopped much earlier
                if stop.is_set():
                    return
                result = server.invoke("create_signup", {"email_address": f"u{worker}-{number}@example.com"})
                with lock:
                    answers.append("ok" if result.ok else str(result.error_code))

        threads = [threading.Thread(target=sign_up_repeatedly, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        killed: set[int] = set()
        deadline = time.monotonic() + 120
        for _ in range(rounds):
            _wait_for_progress(answers, lock, deadline)
            ids = [server_id for server_id in tracked.opened if server_id not in killed]
            killed.update(ids)
            _kill(admin, runner_for(tracked.engine).backend, ids)
        _wait_for_progress(answers, lock, deadline)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        applied = 0
        failed_adds = [key for _, method, _, key in failures if method == "add"]
        for key in failed_adds:
            try:
                storage.get(key)
                applied += 1
            except StorageEntryNotFoundError:
                pass
        print(f"{backend}: {len(answers)} requests, {len(killed)} connections killed")
        print("answers:", dict(collections.Counter(answers)))
        print("failed store calls:", dict(collections.Counter((k, m, e) for k, m, e, _ in failures)))
        print(f"failed adds: {len(failed_adds)}, applied all the same: {applied}")
    admin_engine.dispose()
    tracked.engine.dispose()


if __name__ == "__main__":
    main()
