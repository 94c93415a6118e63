"""The user-server blueprint: authentication, request validation (400), results (user-server.md)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask, Request
from flask.testing import FlaskClient
from hypothesis import example, given, settings

from faroe_flask import MemoryUserStore, Server, User, UserNotFoundError, UserStore
from faroe_flask.flask.extension import Faroe, current_faroe
from faroe_flask.user_server import user_server_blueprint

from ..strategies import request_noise, user_server_invocations

SECRET = "Xq3-user_server.secret~9"
AUTH = {"Authorization": "Bearer " + SECRET}
HASH_B64 = "DRo8ZSPI8G5OCvnFFapbVEjP69aDjy1Sw9i2743cPC4="
SALT_B64 = "AAECAwQFBgcICQoLDA0ODw=="
PATH = "/faroe-user-server"


def make_app(store: Any, **options: Any) -> Flask:
    app = Flask("user_server_test_app")
    app.register_blueprint(user_server_blueprint(store, **options))
    return app


@pytest.fixture
def store() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def http(store: MemoryUserStore) -> FlaskClient:
    return make_app(store, secret=SECRET).test_client()


def post(http: FlaskClient, document: Any, headers: dict[str, str] | None = None) -> Any:
    body = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
    return http.post(PATH, data=body, headers=AUTH if headers is None else headers)


def invoke(http: FlaskClient, action: str, **arguments: Any) -> dict[str, Any]:
    response = post(http, {"action": action, "arguments": arguments})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/json"
    result: dict[str, Any] = json.loads(response.data)
    assert isinstance(result["action_invocation_id"], str) and len(result["action_invocation_id"]) == 24
    return result


def create(http: FlaskClient, email_address: str = "User@example.com") -> dict[str, Any]:
    result = invoke(
        http,
        "create_user",
        email_address=email_address,
        password_hash=HASH_B64,
        password_hash_algorithm_id="argon2id.65536.3.1.32",
        password_salt=SALT_B64,
    )
    assert result["ok"] is True
    user: dict[str, Any] = result["values"]["user"]
    return user


# Results ---------------------------------------------------------------------------------------


def test_create_user_returns_the_user_model_exactly(http: FlaskClient, store: MemoryUserStore) -> None:
    response = post(
        http,
        {
            "action": "create_user",
            "arguments": {
                "email_address": "User@example.com",
                "password_hash": HASH_B64,
                "password_hash_algorithm_id": "argon2id.65536.3.1.32",
                "password_salt": SALT_B64,
            },
        },
    )
    text = response.data.decode("utf-8")
    result = json.loads(text)
    assert list(result) == ["ok", "action_invocation_id", "values"]
    user = result["values"]["user"]
    assert text == (
        '{"ok":true,"action_invocation_id":"%s","values":{"user":{"id":"%s",'
        '"email_address":"User@example.com","password_hash":"%s",'
        '"password_hash_algorithm_id":"argon2id.65536.3.1.32","password_salt":"%s",'
        '"disabled":false,"display_name":"","email_address_counter":0,"password_hash_counter":0,'
        '"disabled_counter":0,"sessions_counter":0}}}'
    ) % (result["action_invocation_id"], user["id"], HASH_B64, SALT_B64)
    stored = store.get_user(user["id"])
    assert stored.password_hash == bytes.fromhex("0d1a3c6523c8f06e4e0af9c515aa5b5448cfebd6838f2d52c3d8b6ef8ddc3c2e")
    assert stored.password_salt == bytes(range(16))


def test_the_seven_actions(http: FlaskClient, store: MemoryUserStore) -> None:
    user = create(http)
    user_id = user["id"]
    assert invoke(http, "get_user", user_id=user_id)["values"]["user"] == user
    assert invoke(http, "get_user_by_email_address", email_address="User@example.com")["values"]["user"] == user
    missing = invoke(http, "get_user_by_email_address", email_address="user@example.com")
    assert (missing["ok"], missing["error_code"]) == (False, "user_not_found")

    result = invoke(http, "update_user_email_address", user_id=user_id, email_address="new@example.com",
                    user_email_address_counter=0)
    assert result["ok"] is True and result["values"] == {}
    assert store.get_user(user_id).email_address == "new@example.com"
    assert store.get_user(user_id).email_address_counter == 1

    result = invoke(http, "update_user_password_hash", user_id=user_id, password_hash="", password_salt="AA==",
                    password_hash_algorithm_id="x", user_password_hash_counter=0)
    assert result["values"] == {}
    assert (store.get_user(user_id).password_hash, store.get_user(user_id).password_salt) == (b"", b"\x00")
    assert store.get_user(user_id).password_hash_counter == 1

    assert invoke(http, "increment_user_sessions_counter", user_id=user_id, user_sessions_counter=0)["ok"] is True
    assert store.get_user(user_id).sessions_counter == 1

    deleted = invoke(http, "delete_user", user_id=user_id)
    assert (deleted["ok"], deleted["values"]) == (True, {})
    with pytest.raises(UserNotFoundError):
        store.get_user(user_id)
    gone = invoke(http, "get_user", user_id=user_id)
    assert (gone["ok"], gone["error_code"]) == (False, "user_not_found")


@pytest.mark.parametrize(
    ("action", "arguments"),
    [
        ("get_user", {"user_id": "missing"}),
        ("get_user_by_email_address", {"email_address": "missing@example.com"}),
        ("update_user_email_address", {"user_id": "missing", "email_address": "a@b.c", "user_email_address_counter": 0}),
        ("update_user_email_address", {"user_id": "{id}", "email_address": "a@b.c", "user_email_address_counter": 1}),
        ("update_user_password_hash", {"user_id": "{id}", "password_hash": "", "password_salt": "",
                                       "password_hash_algorithm_id": "x", "user_password_hash_counter": 5}),
        ("increment_user_sessions_counter", {"user_id": "{id}", "user_sessions_counter": -1}),
        ("increment_user_sessions_counter", {"user_id": "missing", "user_sessions_counter": 0}),
        ("delete_user", {"user_id": "missing"}),
    ],
)
def test_a_missing_user_or_a_counter_mismatch_is_user_not_found(
    http: FlaskClient, action: str, arguments: dict[str, Any]
) -> None:
    user_id = create(http)["id"]
    arguments = {name: (user_id if value == "{id}" else value) for name, value in arguments.items()}
    result = invoke(http, action, **arguments)
    assert (result["ok"], result["error_code"]) == (False, "user_not_found")
    assert list(result) == ["ok", "action_invocation_id", "error_code"]


def test_a_used_email_address_is_email_address_already_used(http: FlaskClient) -> None:
    create(http, "taken@example.com")
    other = create(http, "other@example.com")
    result = invoke(http, "create_user", email_address="taken@example.com", password_hash="",
                    password_hash_algorithm_id="x", password_salt="")
    assert result["error_code"] == "email_address_already_used"
    result = invoke(http, "update_user_email_address", user_id=other["id"], email_address="taken@example.com",
                    user_email_address_counter=0)
    assert result["error_code"] == "email_address_already_used"


class BrokenStore(MemoryUserStore):
    """A store whose database is down (its message must not reach the log with arguments)."""

    def get_user(self, user_id: str) -> User:
        raise ConnectionError("database unreachable")

    def create_user(self, email_address: str, password_hash: bytes, password_hash_algorithm_id: str,
                    password_salt: bytes) -> User:
        return "not a user"  # type: ignore[return-value]


def test_any_other_store_failure_is_internal_error_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    http = make_app(BrokenStore(), secret=SECRET).test_client()
    with caplog.at_level(logging.ERROR, logger="faroe_flask.user_server"):
        result = invoke(http, "get_user", user_id="u1")
        assert (result["ok"], result["error_code"]) == (False, "internal_error")
        result = invoke(http, "create_user", email_address="a@b.c", password_hash=HASH_B64,
                        password_hash_algorithm_id="x", password_salt=SALT_B64)
        assert result["error_code"] == "internal_error"
    messages = [record.getMessage() for record in caplog.records]
    assert any("get_user" in message and "ConnectionError" in message for message in messages)
    assert all(HASH_B64 not in message and "a@b.c" not in message for message in messages)


def test_the_store_may_be_given_as_a_callable(store: MemoryUserStore) -> None:
    calls: list[int] = []

    def source() -> UserStore:
        calls.append(1)
        return store

    http = make_app(source, secret=SECRET).test_client()
    user = create(http)
    assert store.get_user(user["id"]).email_address == "User@example.com"
    assert calls == [1]


# Authentication ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer " + SECRET + "x"},
        {"Authorization": "Bearer " + SECRET[:-1]},
        {"Authorization": "Basic " + SECRET},
        {"Authorization": SECRET},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer " + SECRET.upper()},
        {"Authorization": "Bearer \u00e9" + SECRET},
    ],
)
def test_a_missing_or_wrong_secret_is_401(http: FlaskClient, store: MemoryUserStore, headers: dict[str, str]) -> None:
    response = post(http, {"action": "get_user", "arguments": {"user_id": "x"}}, headers=headers)
    assert response.status_code == 401
    assert response.data == b""
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_bearer_scheme_is_case_insensitive(http: FlaskClient) -> None:
    response = post(http, {"action": "get_user", "arguments": {"user_id": "x"}},
                    headers={"Authorization": "bearer " + SECRET})
    assert response.status_code == 200


def test_authentication_comes_before_reading_the_body(http: FlaskClient) -> None:
    assert post(http, b"garbage", headers={}).status_code == 401


def test_an_authenticate_callable_replaces_the_secret(store: MemoryUserStore) -> None:
    def authenticate(request: Request) -> bool:
        return request.headers.get("X-Faroe") == "yes"

    http = make_app(store, authenticate=authenticate).test_client()
    body = {"action": "get_user", "arguments": {"user_id": "x"}}
    assert post(http, body, headers={"X-Faroe": "yes"}).status_code == 200
    assert post(http, body, headers={"X-Faroe": "no"}).status_code == 401
    assert post(http, body, headers=AUTH).status_code == 401


def test_an_authenticate_callable_that_raises_denies(store: MemoryUserStore, caplog: pytest.LogCaptureFixture) -> None:
    def authenticate(request: Request) -> bool:
        raise RuntimeError("auth backend down")

    http = make_app(store, authenticate=authenticate).test_client()
    with caplog.at_level(logging.ERROR, logger="faroe_flask.user_server"):
        assert post(http, {"action": "get_user", "arguments": {"user_id": "x"}}, headers={}).status_code == 401
    assert any("authenticate" in record.getMessage() for record in caplog.records)


def test_without_authentication_a_warning_is_logged(store: MemoryUserStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="faroe_flask.user_server"):
        http = make_app(store).test_client()
    assert any("no authentication" in record.getMessage() for record in caplog.records)
    assert post(http, {"action": "get_user", "arguments": {"user_id": "x"}}, headers={}).status_code == 200


@pytest.mark.parametrize(
    "options",
    [
        {"secret": ""},
        {"secret": "with space"},
        {"secret": "caf\u00e9"},
        {"secret": "s", "authenticate": lambda request: True},
        {"max_request_bytes": 0},
    ],
)
def test_invalid_configuration_is_rejected(store: MemoryUserStore, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        user_server_blueprint(store, **options)


# Rejected requests -------------------------------------------------------------------------------

REJECTED: list[Any] = [
    pytest.param(b"", id="empty"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"action":"get_user","action":"get_user","arguments":{"user_id":"x"}}', id="duplicate"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":"x","user_id":"y"}}', id="duplicate-argument"),
    pytest.param(b'{"arguments":{"user_id":"x"}}', id="action-missing"),
    pytest.param(b'{"action":5,"arguments":{"user_id":"x"}}', id="action-number"),
    pytest.param(b'{"action":"Get_User","arguments":{"user_id":"x"}}', id="action-case"),
    pytest.param(b'{"action":"get_session","arguments":{"session_token":"x"}}', id="faroe-action"),
    pytest.param(b'{"action":"get_user"}', id="arguments-missing"),
    pytest.param(b'{"action":"get_user","arguments":null}', id="arguments-null"),
    pytest.param(b'{"action":"get_user","arguments":[]}', id="arguments-array"),
    pytest.param(b'{"action":"get_user","arguments":{}}', id="argument-missing"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":5}}', id="argument-number"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":null}}', id="argument-null"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":"\\udc00"}}', id="lone-surrogate"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":"x"},"x":NaN}', id="nan"),
    pytest.param(b"\xef\xbb\xbf" + b'{"action":"get_user","arguments":{"user_id":"x"}}', id="bom"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":"x"}} {}', id="two-documents"),
    pytest.param(b'{"action":"get_user","arguments":{"user_id":"x"},"deep":' + b"[" * 5000 + b"]" * 5000 + b"}",
                 id="deep"),
    pytest.param(b'{"action":"delete_user","arguments":{"user_id":"x"}\xff}', id="bad-utf8-outside-string"),
]


def _counter_body(value: bytes) -> bytes:
    return b'{"action":"increment_user_sessions_counter","arguments":{"user_id":"x","user_sessions_counter":' + value + b"}}"


def _bytes_body(value: bytes) -> bytes:
    return (b'{"action":"create_user","arguments":{"email_address":"a@b.c","password_hash":' + value
            + b',"password_hash_algorithm_id":"x","password_salt":""}}')


REJECTED += [
    pytest.param(_counter_body(b'"0"'), id="counter-string"),
    pytest.param(_counter_body(b"1.0"), id="counter-float"),
    pytest.param(_counter_body(b"1e0"), id="counter-exponent"),
    pytest.param(_counter_body(b"true"), id="counter-bool"),
    pytest.param(_counter_body(b"null"), id="counter-null"),
    pytest.param(_counter_body(b"2147483648"), id="counter-too-big"),
    pytest.param(_counter_body(b"-2147483649"), id="counter-too-small"),
    pytest.param(_counter_body(b"9" * 5000), id="counter-huge"),
    pytest.param(_bytes_body(b'"AAECAw"'), id="base64-unpadded"),
    pytest.param(_bytes_body(b'"AA-_"'), id="base64-url-alphabet"),
    pytest.param(_bytes_body(b'"AA\\nAA=="'), id="base64-newline"),
    pytest.param(_bytes_body(b'"\xc3\xa9A=="'), id="base64-non-ascii"),
    pytest.param(_bytes_body(b"5"), id="base64-number"),
]


@pytest.mark.parametrize("body", REJECTED)
def test_a_malformed_request_is_400_with_an_empty_body(http: FlaskClient, store: MemoryUserStore, body: bytes) -> None:
    response = post(http, body)
    assert response.status_code == 400
    assert response.data == b""


def test_counters_at_the_int32_limits_are_accepted(http: FlaskClient) -> None:
    for body in (_counter_body(b"2147483647"), _counter_body(b"-2147483648")):
        response = post(http, body)
        assert response.status_code == 200
        assert json.loads(response.data)["error_code"] == "user_not_found"


def test_unknown_members_are_ignored(http: FlaskClient) -> None:
    response = post(http, {"action": "get_user", "arguments": {"user_id": "x", "extra": [1]},
                           "action_invocation_id": "from-faroe-docs", "other": None})
    assert response.status_code == 200
    assert json.loads(response.data)["action_invocation_id"] != "from-faroe-docs"


def test_an_oversized_body_is_413(store: MemoryUserStore) -> None:
    http = make_app(store, secret=SECRET, max_request_bytes=100).test_client()
    body = {"action": "get_user", "arguments": {"user_id": "x" * 200}}
    assert post(http, body).status_code == 413


def test_the_apps_max_content_length_also_gives_413(store: MemoryUserStore) -> None:
    app = make_app(store, secret=SECRET)
    app.config["MAX_CONTENT_LENGTH"] = 50
    body = {"action": "get_user", "arguments": {"user_id": "x" * 200}}
    assert post(app.test_client(), body).status_code == 413


def test_other_methods_are_not_served(http: FlaskClient) -> None:
    assert http.get(PATH, headers=AUTH).status_code == 405
    assert http.post(PATH + "/other", headers=AUTH).status_code == 404


def test_the_url_prefix_is_configurable(store: MemoryUserStore) -> None:
    app = Flask("prefix_test")
    app.register_blueprint(user_server_blueprint(store, secret=SECRET, url_prefix="/internal/users", name="users"))
    http = app.test_client()
    response = http.post("/internal/users", data=b'{"action":"get_user","arguments":{"user_id":"x"}}', headers=AUTH)
    assert response.status_code == 200


def test_no_body_causes_a_server_error(store: MemoryUserStore, caplog: pytest.LogCaptureFixture) -> None:
    """No body is a 500 or an ``internal_error``, and none logs an error.

    Each example posts random noise and a call of a user-server action, mostly well-formed and
    often naming an existing user (see ``tests/strategies.py``); the test counts the answers, so
    it shows that the actions ran.
    """
    http = make_app(store, secret=SECRET).test_client()
    user = store.create_user("User@example.com", b"hash", "argon2id.65536.3.1.32", b"salt")
    answers: list[str] = []

    def post_one(body: bytes) -> None:
        logged = len(caplog.records)
        response = post(http, body)
        assert response.status_code in (200, 400)
        if response.status_code == 400:
            assert response.data == b""
        else:
            result = json.loads(response.data)
            assert isinstance(result["ok"], bool)
            answers.append("ok" if result["ok"] else result["error_code"])
            assert result["ok"] is True or result["error_code"] != "internal_error"
        errors = [record for record in caplog.records[logged:] if record.levelno >= logging.ERROR]
        assert errors == [], "the action logged an error"

    @settings(max_examples=300, deadline=None)
    @given(noise=request_noise, body=user_server_invocations([user.id, user.email_address]))
    @example(noise=b"", body=json.dumps({"action": "get_user", "arguments": {"user_id": user.id}}).encode())
    @example(noise=b"{}", body=json.dumps({"action": "get_user", "arguments": {"user_id": "x"}}).encode())
    def check(noise: bytes, body: bytes) -> None:
        post_one(noise)
        post_one(body)

    with caplog.at_level(logging.ERROR, logger="faroe_flask.user_server"):
        check()
    assert "ok" in answers and len(set(answers)) >= 3, answers
    assert len(answers) >= 100, f"only {len(answers)} requests reached an action"


def test_the_user_store_of_the_faroe_extension_can_be_served(faroe_server: Server, users: MemoryUserStore) -> None:
    """The README's recipe: serve the app's own users (here in memory) next to its Faroe endpoint."""
    app = Flask("app_with_both_endpoints")
    Faroe(app, server=faroe_server)
    app.register_blueprint(user_server_blueprint(lambda: current_faroe.user_store, secret=SECRET))
    user = create(app.test_client())
    assert users.get_user(user["id"]).email_address == "User@example.com"
