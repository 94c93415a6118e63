"""``FAROE_STORAGE_URL``: the extension builds ``RedisStorage`` from it, beside SQL users; the
FAROE_REDIS_* keys, configuration errors that never show the URL, ``flask faroe purge-expired``,
and a Redis outage answered with ``internal_error`` and healed without a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from faroe_flask import MemoryUserStore
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import Faroe
from faroe_flask.redis import RedisStorage
from faroe_flask.sql import SQLUserStore, upgrade_database

from ..backends import REDIS_URL_VARIABLE
from ..conftest import BannedPasswords, CapturingEmailSender, CapturingErrorLogger, FakeClock
from ..flask.conftest import FAST_HASHING, PASSWORD
from .conftest import PrivateRedis

EMAIL = "redis.user@example.com"


class Parts:
    def __init__(self) -> None:
        self.email_sender = CapturingEmailSender()
        self.error_logger = CapturingErrorLogger()
        self.clock = FakeClock()


def build(config: dict[str, Any], parts: Parts | None = None, **faroe_kwargs: Any) -> Flask:
    parts = parts or Parts()
    app = Flask("faroe_redis_test")
    app.config.update(TESTING=True, **FAST_HASHING)
    app.config.update(config)
    Faroe(
        app,
        email_sender=parts.email_sender,
        error_logger=parts.error_logger,
        password_strength_checker=BannedPasswords(),
        clock=parts.clock,
        **faroe_kwargs,
    )
    return app


def call(app: Flask, action: str, **arguments: str) -> dict[str, Any]:
    response = app.test_client().post("/faroe", data=json.dumps({"action": action, "arguments": arguments}))
    assert response.status_code == 200
    result: dict[str, Any] = json.loads(response.data)
    return result


def ok(app: Flask, action: str, **arguments: str) -> dict[str, Any]:
    result = call(app, action, **arguments)
    assert result["ok"], result
    values: dict[str, Any] = result["values"]
    return values


def sign_up(app: Flask, parts: Parts) -> str:
    token = ok(app, "create_signup", email_address=EMAIL)["signup_token"]
    code = parts.email_sender.last("signup_code")["code"]
    ok(app, "verify_signup_email_address_verification_code", signup_token=token,
       email_address_verification_code=code)
    ok(app, "set_signup_password", signup_token=token, password=PASSWORD)
    session_token: str = ok(app, "complete_signup", signup_token=token)["session_token"]
    return session_token


@pytest.fixture
def users_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'users.sqlite3'}"
    upgrade_database(url)
    return url


def test_a_redis_storage_url_puts_storage_on_redis_and_users_on_sql(
    redis_prefix: tuple[Any, str], users_url: str
) -> None:
    client, prefix = redis_prefix
    parts = Parts()
    app = build(
        {
            "FAROE_DATABASE_URL": users_url,
            "FAROE_STORAGE_URL": os.environ[REDIS_URL_VARIABLE],
            "FAROE_STORAGE_KEY_PREFIX": prefix,  # the engine's prefix; RedisStorage adds none
            "FAROE_REDIS_MAX_CONNECTIONS": "7",
            "FAROE_REDIS_SOCKET_TIMEOUT": "2.5",
            "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT": 1.5,
        },
        parts,
    )
    state = app.extensions["faroe"]
    storage = state.storage
    assert isinstance(storage, RedisStorage) and storage.key_prefix == ""
    assert isinstance(state.user_store, SQLUserStore) and state.engine is not None
    assert storage.clock is parts.clock
    pool = storage.client.connection_pool
    assert pool.max_connections == 7 and pool.timeout == 2.5
    assert pool.connection_kwargs["socket_timeout"] == 2.5
    assert pool.connection_kwargs["socket_connect_timeout"] == 1.5

    session_token = sign_up(app, parts)
    session = ok(app, "get_session", session_token=session_token)["session"]
    assert client.exists(f"{prefix}aaah.{session['id']}") == 1
    assert client.exists(f"{prefix}{prefix}aaah.{session['id']}") == 0
    state.engine.dispose()
    storage.close()


def test_storage_url_without_a_user_store_needs_the_database_url() -> None:
    with pytest.raises(ConfigError, match="user_store="):
        build({"FAROE_STORAGE_URL": "redis://127.0.0.1:6379/0"})
    app = build({"FAROE_STORAGE_URL": "redis://127.0.0.1:6379/0"}, user_store=MemoryUserStore())
    assert isinstance(app.extensions["faroe"].storage, RedisStorage)


def test_a_storage_passed_in_wins_over_the_url() -> None:
    from faroe_flask import MemoryStorage

    storage = MemoryStorage()
    app = build({"FAROE_STORAGE_URL": "redis://127.0.0.1:6379/0"}, storage=storage,
                user_store=MemoryUserStore())
    assert app.extensions["faroe"].storage is storage


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"FAROE_STORAGE_URL": "postgresql://faroe:hunter2@db/app"}, "FAROE_STORAGE_URL must be a Redis URL"),
        ({"FAROE_STORAGE_URL": "hunter2"}, "FAROE_STORAGE_URL must be a Redis URL"),
        ({"FAROE_STORAGE_URL": 6379}, "FAROE_STORAGE_URL must be a Redis URL"),
        ({"FAROE_STORAGE_URL": "redis://:hunter2@localhost:hunter2/0"}, "not a usable Redis URL"),
        ({"FAROE_STORAGE_URL": "redis://:hunter2@h/0?socket_timeout=hunter2"}, "not a usable Redis URL"),
        ({"FAROE_STORAGE_URL": "redis://h/0", "FAROE_REDIS_MAX_CONNECTIONS": 0}, "FAROE_REDIS_MAX_CONNECTIONS"),
        ({"FAROE_STORAGE_URL": "redis://h/0", "FAROE_REDIS_SOCKET_TIMEOUT": "soon"}, "FAROE_REDIS_SOCKET_TIMEOUT"),
        ({"FAROE_STORAGE_URL": "redis://h/0", "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT": -1},
         "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT"),
    ],
)
def test_configuration_errors_name_the_key_never_the_value(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        build(config, user_store=MemoryUserStore())
    assert "hunter2" not in str(caught.value)


def test_an_empty_storage_url_keeps_storage_on_sql(users_url: str) -> None:
    app = build({"FAROE_DATABASE_URL": users_url, "FAROE_STORAGE_URL": ""})
    assert type(app.extensions["faroe"].storage).__name__ == "SQLStorage"
    app.extensions["faroe"].engine.dispose()


def test_purge_expired_explains_that_redis_expires_entries_itself() -> None:
    app = build({"FAROE_STORAGE_URL": "redis://127.0.0.1:6379/0"}, user_store=MemoryUserStore())
    result = app.test_cli_runner().invoke(args=["faroe", "purge-expired"])
    assert result.exit_code == 0, result.output
    assert "RedisStorage" in result.output and "expires entries itself" in result.output


def test_a_redis_outage_answers_internal_error_and_heals_without_a_restart(
    private_redis: PrivateRedis,
) -> None:
    parts = Parts()
    app = build(
        {"FAROE_STORAGE_URL": private_redis.url, "FAROE_REDIS_SOCKET_TIMEOUT": 2,
         "FAROE_REDIS_SOCKET_CONNECT_TIMEOUT": 2},
        parts,
        user_store=MemoryUserStore(),
    )
    session_token = sign_up(app, parts)
    ok(app, "get_session", session_token=session_token)

    private_redis.stop()
    for action, arguments in (
        ("get_session", {"session_token": session_token}),
        ("create_signup", {"email_address": "other@example.com"}),
    ):
        result = call(app, action, **arguments)
        assert (result["ok"], result["error_code"]) == (False, "internal_error")
    assert parts.error_logger.actions == ["get_session", "create_signup"]
    for _, message, _, _ in parts.error_logger.entries:
        assert "RedisStorageError" in message and "ConnectionError" in message
        assert session_token not in message and session_token.split(".")[0] not in message
        assert "example.com" not in message

    private_redis.start()  # an empty Redis: the old session is gone, everything else works
    assert call(app, "get_session", session_token=session_token)["error_code"] == "invalid_session_token"
    ok(app, "create_signup", email_address="other@example.com")
    assert len(parts.error_logger.entries) == 2
