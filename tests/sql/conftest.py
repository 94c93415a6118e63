"""Fixtures for the SQL-only tests: an engine and fresh tables on each SQL backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table

from faroe_flask.sql import SQLStorage, SQLUserStore

from ..backends import SQL_BACKENDS, open_engine, open_tables


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(sql_backend: str, tmp_path: Path) -> Iterator[Engine]:
    with open_engine(sql_backend, tmp_path) as engine:
        yield engine


@pytest.fixture
def tables(engine: Engine) -> Iterator[tuple[Table, Table]]:
    with open_tables(engine) as tables:
        yield tables


@pytest.fixture
def sql_storage(engine: Engine, tables: tuple[Table, Table]) -> SQLStorage:
    return SQLStorage(engine, tables[0])


@pytest.fixture
def sql_user_store(engine: Engine, tables: tuple[Table, Table]) -> SQLUserStore:
    return SQLUserStore(engine, tables[1])
