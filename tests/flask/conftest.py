"""Fixtures for the Flask layer: apps built with the extension on in-memory parts or SQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.flask.extension import Faroe

from ..conftest import BannedPasswords, CapturingEmailSender, CapturingErrorLogger, FakeClock
from .databases import DATABASE_KINDS, temporary_database

# Tiny Argon2id parameters so that hashing is fast; the config path builds the algorithms.
FAST_HASHING: dict[str, Any] = {
    "FAROE_USER_PASSWORD_ARGON2_MEMORY_COST": 64,
    "FAROE_USER_PASSWORD_ARGON2_TIME_COST": 1,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_MEMORY_COST": 32,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_TIME_COST": 1,
}

PASSWORD = "tangerine-Viaduct-4821"
NEW_PASSWORD = "quartz Lantern 77 meadow"

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    strength_checker: BannedPasswords,
    clock: FakeClock,
) -> AppFactory:
    """``make_app(config=..., **faroe_kwargs)``: an app with the extension on in-memory parts."""

    def make(config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
        app = Flask("faroe_test_app")
        app.config.update(TESTING=True, **FAST_HASHING)
        app.config.update(config or {})
        options: dict[str, Any] = dict(
            storage=MemoryStorage(),
            user_store=MemoryUserStore(),
            email_sender=email_sender,
            error_logger=error_logger,
            password_strength_checker=strength_checker,
            clock=clock,
        )
        options.update(faroe_kwargs)
        Faroe(app, **options)
        return app

    return make


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def invoke(client: FlaskClient, action: str, path: str = "/faroe", **arguments: str) -> dict[str, Any]:
    """POST an action through the test client; the response must be a 200 result."""
    response = client.post(path, data=json.dumps({"action": action, "arguments": arguments}))
    assert response.status_code == 200, response.status_code
    result: dict[str, Any] = json.loads(response.data)
    return result


def values_of(client: FlaskClient, action: str, **arguments: str) -> dict[str, Any]:
    result = invoke(client, action, **arguments)
    assert result["ok"] is True, f"{action} failed with {result.get('error_code')}"
    values: dict[str, Any] = result["values"]
    return values


@pytest.fixture(params=DATABASE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on SQLite, PostgreSQL and MariaDB (the latter two when set)."""
    with temporary_database(request.param, tmp_path) as url:
        yield url
