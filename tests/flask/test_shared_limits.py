"""The per-client limits hold across processes: two ``python examples/app.py`` processes (the
README's way to serve) share one database (SQLite, PostgreSQL, MariaDB) or one Redis storage,
and one client, alternating between them or hitting both at once, gets 10 emails out in all."""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..backends import REDIS_URL_VARIABLE, redis_key_prefix
from .databases import temporary_database
from .test_example_e2e import Example, run_example


def create_signup(example: Example, source: str, email_address: str) -> int:
    url = urlsplit(example.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30, source_address=(source, 0))
    try:
        body = json.dumps({"action": "create_signup", "arguments": {"email_address": email_address}})
        connection.request("POST", url.path, body=body)
        response = connection.getresponse()
        answer = response.read()
        if response.status == 200:
            assert json.loads(answer)["ok"] is True
        return response.status
    finally:
        connection.close()


@contextlib.contextmanager
def storage_settings(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    if kind == "redis":
        if not os.environ.get(REDIS_URL_VARIABLE):
            pytest.skip(f"{REDIS_URL_VARIABLE} is not set")
        with redis_key_prefix() as (_, prefix):
            yield {"FAROE_DATABASE_URL": f"sqlite:///{tmp_path / 'users.sqlite3'}",
                   "FAROE_STORAGE_URL": os.environ[REDIS_URL_VARIABLE], "FAROE_STORAGE_KEY_PREFIX": prefix}
        return
    with temporary_database(kind, tmp_path) as url:
        yield {"FAROE_DATABASE_URL": url}


@contextlib.contextmanager
def two_examples(tmp_path: Path, settings: dict[str, str]) -> Iterator[tuple[Example, Example]]:
    """Both processes started at once (the tables are made first, so that they do not race)."""
    from faroe_flask.sql import upgrade_database

    upgrade_database(settings["FAROE_DATABASE_URL"])
    with contextlib.ExitStack() as stack, concurrent.futures.ThreadPoolExecutor(2) as pool:
        def start(name: str) -> Example:
            (tmp_path / name).mkdir()
            return stack.enter_context(run_example(tmp_path / name, **settings))

        one, two = pool.map(start, ("one", "two"))
        yield one, two


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql", "redis"])
def test_two_processes_sharing_the_storage_share_each_clients_limit(kind: str, tmp_path: Path) -> None:
    with storage_settings(kind, tmp_path) as settings, two_examples(tmp_path, settings) as (one, two):
        assert one.url != two.url
        # One client alternating between the two processes.
        statuses = [create_signup((one, two)[index % 2], "127.0.0.2", f"alt{index}@example.com") for index in range(12)]
        assert statuses == [200] * 10 + [429] * 2
        # Another client hitting both at once: still exactly 10 in all.
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            burst = list(pool.map(
                lambda index: create_signup((one, two)[index % 2], "127.0.0.3", f"burst{index}@example.com"),
                range(16),
            ))
        assert sorted(burst) == [200] * 10 + [429] * 6
        printed = one.printed() + two.printed()
    assert printed.count("----- email to ") == 20  # the console sender: one block per email
