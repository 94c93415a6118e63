"""The storage/user-store backends the engine's tests run on.

``BACKENDS`` lists them as pytest params: the in-memory parts, SQLite (a file in ``tmp_path``),
PostgreSQL and MySQL/MariaDB (the last two only when ``FAROE_TEST_POSTGRESQL_URL`` /
``FAROE_TEST_MYSQL_URL`` are set, else skipped), and Redis storage beside in-memory users (only when
``FAROE_TEST_REDIS_URL`` is set; every test on its own random key prefix, whose keys are deleted
afterwards). ``open_backend(name, tmp_path)`` yields a fresh
``(storage, user_store)`` pair and cleans up afterwards: the SQL ones live in tables with a random
suffix, created for the test and dropped after it, so that concurrent test runs on the same
database never meet. Both user stores also offer the administration methods ``set_user_disabled``
and ``set_user_display_name``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.sql import SQLStorage, SQLUserStore, create_engine, make_storage_table, make_users_table

POSTGRESQL_URL_VARIABLE = "FAROE_TEST_POSTGRESQL_URL"
MYSQL_URL_VARIABLE = "FAROE_TEST_MYSQL_URL"
REDIS_URL_VARIABLE = "FAROE_TEST_REDIS_URL"

_SERVER_URL_VARIABLES = {"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE}


def _server_param(name: str) -> Any:
    variable = {**_SERVER_URL_VARIABLES, "redis": REDIS_URL_VARIABLE}[name]
    return pytest.param(
        name,
        id=name,
        marks=pytest.mark.skipif(not os.environ.get(variable), reason=f"{variable} is not set"),
    )


#: ``FAROE_TEST_BACKENDS`` (comma-separated names, e.g. ``memory`` or ``sqlite,postgresql``) keeps
#: only those backends in the lists below; unset, all of them run. Mutation testing uses it
#: (docs/mutation-testing.md): the engine's mutants need only the in-memory parts.
BACKENDS_VARIABLE = "FAROE_TEST_BACKENDS"
_CHOSEN = {name.strip() for name in os.environ.get(BACKENDS_VARIABLE, "").split(",") if name.strip()}


def _chosen(params: list[Any]) -> list[Any]:
    return [param for param in params if not _CHOSEN or param.values[0] in _CHOSEN]


#: The SQL backends alone (tests that need an engine use these).
_ALL_SQL_BACKENDS = [pytest.param("sqlite", id="sqlite"), _server_param("postgresql"), _server_param("mysql")]
SQL_BACKENDS = _chosen(_ALL_SQL_BACKENDS)
BACKENDS = _chosen([pytest.param("memory", id="memory"), *_ALL_SQL_BACKENDS])
#: ``BACKENDS`` and Redis storage: for the tests marked ``redis_storage`` (the storage contract and
#: the storage-heavy engine tests; the whole engine suite on Redis would add a minute to the run).
STORAGE_BACKENDS = _chosen([pytest.param("memory", id="memory"), *_ALL_SQL_BACKENDS, _server_param("redis")])
#: The order in which a mutation run tries a mutant's tests (cheap backends first, so that a
#: killed mutant is found fast): see ``pytest_collection_modifyitems`` in tests/conftest.py.
BACKEND_COST = {"memory": 0, "sqlite": 1, "redis": 2, "postgresql": 3, "mysql": 4}

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _shared_engine(name: str) -> Engine:
    """One engine per database server for the whole test run (connecting is the slow part)."""
    url = os.environ.get(_SERVER_URL_VARIABLES[name])
    if not url:
        pytest.skip(f"{_SERVER_URL_VARIABLES[name]} is not set")
    with _engines_lock:
        engine = _engines.get(name)
        if engine is None:
            engine = _engines[name] = create_engine(url)
        return engine


@atexit.register
def _dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()


def unique_suffix() -> str:
    """A random suffix for table names that no concurrent test run will pick."""
    return secrets.token_hex(5)


@contextlib.contextmanager
def open_engine(name: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on the named SQL backend: a new SQLite file, or the shared server engine."""
    if name == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'faroe.sqlite3'}")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    if name not in _SERVER_URL_VARIABLES:
        raise ValueError(f"unknown SQL backend {name}")
    yield _shared_engine(name)


@contextlib.contextmanager
def open_tables(engine: Engine) -> Iterator[tuple[Table, Table]]:
    """A storage table and a users table with unique names, dropped afterwards."""
    suffix = unique_suffix()
    metadata = MetaData()
    storage_table = make_storage_table(metadata, f"faroe_storage_{suffix}")
    users_table = make_users_table(metadata, f"faroe_users_{suffix}")
    metadata.create_all(engine)
    try:
        yield storage_table, users_table
    finally:
        metadata.drop_all(engine)


_redis_clients: dict[str, Any] = {}


def shared_redis_client() -> Any:
    """One ``redis.Redis`` on ``FAROE_TEST_REDIS_URL`` for the whole run (skips when unset)."""
    url = os.environ.get(REDIS_URL_VARIABLE)
    if not url:
        pytest.skip(f"{REDIS_URL_VARIABLE} is not set")
    from faroe_flask.redis import RedisStorage

    with _engines_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = _redis_clients[url] = RedisStorage.from_url(url).client
        return client


@atexit.register
def _close_redis_clients() -> None:
    for client in _redis_clients.values():
        client.connection_pool.disconnect()


def delete_redis_keys(client: Any, prefix: str) -> None:
    """Delete every key that starts with ``prefix`` (a random ``faroe-test-...:`` prefix)."""
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


@contextlib.contextmanager
def redis_key_prefix() -> Iterator[tuple[Any, str]]:
    """The shared client and a fresh key prefix; the prefix's keys are deleted afterwards."""
    client = shared_redis_client()
    prefix = f"faroe-test-{secrets.token_hex(6)}:"
    try:
        yield client, prefix
    finally:
        delete_redis_keys(client, prefix)


@contextlib.contextmanager
def open_redis_storage(clock: Any = None, **options: Any) -> Iterator[Any]:
    """A ``RedisStorage`` on the shared client under a fresh key prefix, cleaned up afterwards."""
    from faroe_flask.redis import RedisStorage

    with redis_key_prefix() as (client, prefix):
        yield RedisStorage(client, key_prefix=prefix, clock=clock, **options)


@contextlib.contextmanager
def open_backend(name: str, tmp_path: Path, clock: Any = None) -> Iterator[tuple[Any, Any]]:
    """``clock`` is the engine's clock (Redis turns expiry hints into times to live with it)."""
    if name == "memory":
        yield MemoryStorage(), MemoryUserStore()
        return
    if name == "redis":
        with open_redis_storage(clock) as storage:
            yield storage, MemoryUserStore()
        return
    with open_engine(name, tmp_path) as engine, open_tables(engine) as (storage_table, users_table):
        yield SQLStorage(engine, storage_table), SQLUserStore(engine, users_table)
