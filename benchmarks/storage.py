"""Storage benchmark: median time of get, add, update and a full get_session, per backend.

    python benchmarks/storage.py [--iterations N] [--postgresql URL] [--mysql URL]

Backends: memory, SQLite (a temporary file), and PostgreSQL / MySQL when a URL is given or
FAROE_TEST_POSTGRESQL_URL / FAROE_TEST_MYSQL_URL is set. SQL runs use tables with a random suffix,
dropped at the end. ``get_session`` is the whole action through ``Server.invoke`` with the default
session settings (no user cache): one storage get for the session plus one user store get, so the
last column, get_session / (2 x get), shows what the engine adds on top of two bare reads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData

from faroe_flask import MemoryStorage, MemoryUserStore, Server
from faroe_flask.passwords import Argon2id
from faroe_flask.sql import SQLStorage, SQLUserStore, create_engine, make_storage_table, make_users_table

HINT = datetime.now(timezone.utc) + timedelta(days=1)


class _CodeCatcher:
    """An email sender that keeps the last signup code (the only message the signup sends)."""

    def __init__(self) -> None:
        self.code = ""

    def send_signup_email_address_verification_code(self, email_address: str, code: str) -> None:
        self.code = code

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class _AllStrong:
    def is_strong(self, password: str) -> bool:
        return True


def _median_microseconds(operation: Callable[[int], object], iterations: int) -> float:
    for number in range(min(50, iterations)):  # warm up connections and caches
        operation(-1 - number)
    samples = []
    for number in range(iterations):
        start = time.perf_counter_ns()
        operation(number)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def _session_token(storage: Any, user_store: Any) -> tuple[Server, str]:
    sender = _CodeCatcher()
    server = Server(
        storage=storage,
        user_store=user_store,
        email_sender=sender,  # type: ignore[arg-type]
        user_password_hash_algorithms=[Argon2id(memory_cost=64, time_cost=1, parallelism=1)],
        temporary_password_hash_algorithm=Argon2id(memory_cost=32, time_cost=1, parallelism=1),
        password_strength_checker=_AllStrong(),
    )
    created = server.invoke("create_signup", {"email_address": "bench@example.com"})
    assert created.ok and created.values is not None, created.error_code
    token = created.values["signup_token"]
    for action, arguments in (
        (
            "verify_signup_email_address_verification_code",
            {"email_address_verification_code": sender.code},
        ),
        ("set_signup_password", {"password": "correct horse battery staple"}),
    ):
        result = server.invoke(action, {"signup_token": token, **arguments})
        assert result.ok, (action, result.error_code)
    completed = server.invoke("complete_signup", {"signup_token": token})
    assert completed.ok and completed.values is not None, completed.error_code
    return server, str(completed.values["session_token"])


def measure(storage: Any, user_store: Any, iterations: int) -> dict[str, float]:
    run = secrets.token_hex(4)
    storage.add(f"bench.{run}.get", b"x" * 120, HINT)
    get = _median_microseconds(lambda n: storage.get(f"bench.{run}.get"), iterations)
    add = _median_microseconds(
        lambda n: storage.add(f"bench.{run}.add.{n}", b"x" * 120, HINT), iterations
    )
    storage.add(f"bench.{run}.update", b"x" * 120, HINT)
    counter = [0]

    def update(_number: int) -> None:
        storage.update(f"bench.{run}.update", b"y" * 120, HINT, counter[0])
        counter[0] += 1

    updated = _median_microseconds(update, iterations)
    server, token = _session_token(storage, user_store)

    def get_session(_number: int) -> None:
        result = server.invoke("get_session", {"session_token": token})
        assert result.ok, result.error_code

    session = _median_microseconds(get_session, iterations)
    return {"get": get, "add": add, "update": updated, "get_session": session}


@contextlib.contextmanager
def sql_backend(url: str) -> Iterator[tuple[SQLStorage, SQLUserStore]]:
    engine = create_engine(url)
    suffix = secrets.token_hex(5)
    metadata = MetaData()
    storage_table = make_storage_table(metadata, f"faroe_bench_storage_{suffix}")
    users_table = make_users_table(metadata, f"faroe_bench_users_{suffix}")
    metadata.create_all(engine)
    try:
        yield SQLStorage(engine, storage_table), SQLUserStore(engine, users_table)
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--postgresql", default=os.environ.get("FAROE_TEST_POSTGRESQL_URL"))
    parser.add_argument("--mysql", default=os.environ.get("FAROE_TEST_MYSQL_URL"))
    options = parser.parse_args()

    print(f"median microseconds per call, {options.iterations} calls each")
    header = f"{'backend':<12}{'get':>10}{'add':>10}{'update':>10}{'get_session':>13}{'ratio':>8}"
    print(header + "   (ratio = get_session / (2 x get))")
    with tempfile.TemporaryDirectory() as directory:
        backends: list[tuple[str, Callable[[], contextlib.AbstractContextManager[tuple[Any, Any]]]]] = [
            ("memory", lambda: contextlib.nullcontext((MemoryStorage(), MemoryUserStore()))),
            ("sqlite", lambda: sql_backend(f"sqlite:///{Path(directory) / 'bench.sqlite3'}")),
        ]
        if options.postgresql:
            backends.append(("postgresql", lambda: sql_backend(options.postgresql)))
        if options.mysql:
            backends.append(("mysql", lambda: sql_backend(options.mysql)))
        for name, open_backend in backends:
            with open_backend() as (storage, user_store):
                figures = measure(storage, user_store, options.iterations)
            ratio = figures["get_session"] / (2 * figures["get"])
            print(
                f"{name:<12}{figures['get']:>10.1f}{figures['add']:>10.1f}{figures['update']:>10.1f}"
                f"{figures['get_session']:>13.1f}{ratio:>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
