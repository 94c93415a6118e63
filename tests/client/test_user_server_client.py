"""``UserServerClient``: the UserStore contract over HTTP against our blueprint, its exact wire
format, the error mapping of user-server.md U6, and strict reading of responses (U3, U4)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from faroe_flask import (
    FaroeError,
    MemoryUserStore,
    User,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
    UserStore,
)
from faroe_flask.client import HTTPTransport
from faroe_flask.user_server import (
    UserServerActionError,
    UserServerClient,
    UserServerError,
    UserServerMalformedResponseError,
    UserServerStatusError,
    UserServerUnavailableError,
    user_server_blueprint,
)

from .conftest import FakeEndpoint, closed_port_url, serve

SECRET = "k9VwPq2Lr7Xz-secret"
HASH = bytes.fromhex("0d1a3c6523c8f06e4e0af9c515aa5b5448cfebd6838f2d52c3d8b6ef8ddc3c2e")
SALT = bytes(range(16))
USER_JSON: dict[str, Any] = {
    "id": "x5mzq8",
    "email_address": "User@example.com",
    "password_hash": "DRo8ZSPI8G5OCvnFFapbVEjP69aDjy1Sw9i2743cPC4=",
    "password_hash_algorithm_id": "argon2id.65536.3.1.32",
    "password_salt": "AAECAwQFBgcICQoLDA0ODw==",
    "disabled": False,
    "display_name": "",
    "email_address_counter": 0,
    "password_hash_counter": 0,
    "disabled_counter": 0,
    "sessions_counter": 0,
}
EXPECTED_USER = User(
    id="x5mzq8",
    email_address="User@example.com",
    password_hash=HASH,
    password_salt=SALT,
    password_hash_algorithm_id="argon2id.65536.3.1.32",
    disabled=False,
    display_name="",
    email_address_counter=0,
    password_hash_counter=0,
    disabled_counter=0,
    sessions_counter=0,
)

# Each action of U5 with the client call that makes it.
CALLS: dict[str, Callable[[UserServerClient], Any]] = {
    "create_user": lambda c: c.create_user("User@example.com", HASH, "argon2id.65536.3.1.32", SALT),
    "get_user": lambda c: c.get_user("x5mzq8"),
    "get_user_by_email_address": lambda c: c.get_user_by_email_address("User@example.com"),
    "update_user_email_address": lambda c: c.update_user_email_address("x5mzq8", "new@example.com", 7),
    "update_user_password_hash": lambda c: c.update_user_password_hash("x5mzq8", b"", "alg", b"\xff\x00", 2147483647),
    "increment_user_sessions_counter": lambda c: c.increment_user_sessions_counter("x5mzq8", 3),
    "delete_user": lambda c: c.delete_user("x5mzq8"),
}
USER_ACTIONS = ["create_user", "get_user", "get_user_by_email_address"]
EMPTY_ACTIONS = [action for action in CALLS if action not in USER_ACTIONS]


@pytest.fixture
def fake_client(fake_endpoint: FakeEndpoint) -> Iterator[UserServerClient]:
    client = UserServerClient.from_url(fake_endpoint.url, secret=SECRET, timeout=10)
    yield client
    client.close()


def success(values: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "action_invocation_id": "p4k9zr2xw7mtc8hnq3vbjd6e", "values": values}


def failure(code: Any) -> dict[str, Any]:
    return {"ok": False, "action_invocation_id": "p4k9zr2xw7mtc8hnq3vbjd6e", "error_code": code}


# Against the real blueprint ----------------------------------------------------------------------


@pytest.fixture
def store() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def user_server(store: MemoryUserStore) -> Iterator[UserServerClient]:
    app = Flask("user_server_for_client_tests")
    app.register_blueprint(user_server_blueprint(store, secret=SECRET))
    with serve(app) as url:
        client = UserServerClient.from_url(url + "/faroe-user-server", secret=SECRET, timeout=10)
        yield client
        client.close()


def test_the_user_store_contract_over_http(user_server: UserServerClient, store: MemoryUserStore) -> None:
    client = user_server
    assert isinstance(client, UserStore)
    all_bytes = bytes(range(256))
    user = client.create_user("User@example.com", all_bytes, "argon2id.65536.3.1.32", b"")
    assert (user.password_hash, user.password_salt) == (all_bytes, b"")
    assert user == store.get_user(user.id)
    assert (user.email_address_counter, user.password_hash_counter, user.sessions_counter) == (0, 0, 0)
    assert client.get_user(user.id) == user
    assert client.get_user_by_email_address("User@example.com") == user
    with pytest.raises(UserNotFoundError):
        client.get_user_by_email_address("user@example.com")
    with pytest.raises(UserNotFoundError):
        client.get_user("missing")
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        client.create_user("User@example.com", b"h", "a", b"s")

    other = client.create_user("other@example.com", b"h", "a", b"s")
    with pytest.raises(UserEmailAddressAlreadyUsedError):
        client.update_user_email_address(user.id, "other@example.com", 0)
    with pytest.raises(UserNotFoundError):
        client.update_user_email_address(user.id, "new@example.com", 1)
    client.update_user_email_address(user.id, "new@example.com", 0)
    assert client.get_user(user.id).email_address == "new@example.com"
    assert client.get_user(user.id).email_address_counter == 1

    with pytest.raises(UserNotFoundError):
        client.update_user_password_hash(user.id, b"new", "alg2", b"salt", 1)
    client.update_user_password_hash(user.id, b"new", "alg2", b"salt", 0)
    updated = client.get_user(user.id)
    assert (updated.password_hash, updated.password_hash_algorithm_id, updated.password_salt) == (b"new", "alg2", b"salt")
    assert updated.password_hash_counter == 1

    client.increment_user_sessions_counter(user.id, 0)
    with pytest.raises(UserNotFoundError):
        client.increment_user_sessions_counter(user.id, 0)
    assert client.get_user(user.id).sessions_counter == 1

    store.set_user_disabled(other.id, True)
    assert client.get_user(other.id).disabled is True
    assert client.get_user(other.id).disabled_counter == 1

    client.delete_user(user.id)
    with pytest.raises(UserNotFoundError):
        client.delete_user(user.id)
    with pytest.raises(UserNotFoundError):
        store.get_user(user.id)


def test_a_wrong_secret_is_a_status_error(store: MemoryUserStore) -> None:
    app = Flask("user_server_wrong_secret")
    app.register_blueprint(user_server_blueprint(store, secret=SECRET))
    with serve(app) as url:
        client = UserServerClient.from_url(url + "/faroe-user-server", secret="not-the-secret", timeout=10)
        with pytest.raises(UserServerStatusError) as caught:
            client.get_user("x")
        client.close()
    assert caught.value.status == 401
    assert "401" in str(caught.value) and "not-the-secret" not in str(caught.value)


# Wire format --------------------------------------------------------------------------------------

EXPECTED_REQUESTS = {
    "create_user": '{"action":"create_user","arguments":{"email_address":"User@example.com",'
    '"password_hash":"DRo8ZSPI8G5OCvnFFapbVEjP69aDjy1Sw9i2743cPC4=",'
    '"password_hash_algorithm_id":"argon2id.65536.3.1.32","password_salt":"AAECAwQFBgcICQoLDA0ODw=="}}',
    "get_user": '{"action":"get_user","arguments":{"user_id":"x5mzq8"}}',
    "get_user_by_email_address": '{"action":"get_user_by_email_address","arguments":{"email_address":"User@example.com"}}',
    "update_user_email_address": '{"action":"update_user_email_address","arguments":{"user_id":"x5mzq8",'
    '"email_address":"new@example.com","user_email_address_counter":7}}',
    "update_user_password_hash": '{"action":"update_user_password_hash","arguments":{"user_id":"x5mzq8",'
    '"password_hash":"","password_hash_algorithm_id":"alg","password_salt":"/wA=","user_password_hash_counter":2147483647}}',
    "increment_user_sessions_counter": '{"action":"increment_user_sessions_counter","arguments":{"user_id":"x5mzq8",'
    '"user_sessions_counter":3}}',
    "delete_user": '{"action":"delete_user","arguments":{"user_id":"x5mzq8"}}',
}


@pytest.mark.parametrize("action", list(CALLS))
def test_the_request_is_exactly_the_reference_envelope(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, action: str
) -> None:
    fake_endpoint.answer_json(success({"user": USER_JSON} if action in USER_ACTIONS else {}))
    result = CALLS[action](fake_client)
    assert result == (EXPECTED_USER if action in USER_ACTIONS else None)
    request = fake_endpoint.requests[-1]
    assert request.method == "POST"
    assert request.body == EXPECTED_REQUESTS[action].encode("utf-8")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == "Bearer " + SECRET


# Error mapping (U6) ---------------------------------------------------------------------------------

MAPPED = {
    ("create_user", "email_address_already_used"): UserEmailAddressAlreadyUsedError,
    ("get_user", "user_not_found"): UserNotFoundError,
    ("get_user_by_email_address", "user_not_found"): UserNotFoundError,
    ("update_user_email_address", "user_not_found"): UserNotFoundError,
    ("update_user_email_address", "email_address_already_used"): UserEmailAddressAlreadyUsedError,
    ("update_user_password_hash", "user_not_found"): UserNotFoundError,
    ("update_user_password_hash", "email_address_already_used"): UserEmailAddressAlreadyUsedError,
    ("increment_user_sessions_counter", "user_not_found"): UserNotFoundError,
    ("increment_user_sessions_counter", "email_address_already_used"): UserEmailAddressAlreadyUsedError,
    ("delete_user", "user_not_found"): UserNotFoundError,
}
CODES = ["user_not_found", "email_address_already_used", "internal_error", "internal_conflict", "User_Not_Found", ""]


@pytest.mark.parametrize("action", list(CALLS))
@pytest.mark.parametrize("code", CODES)
def test_error_codes_are_mapped_exactly_as_u6_says(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, action: str, code: str
) -> None:
    fake_endpoint.answer_json(failure(code))
    expected = MAPPED.get((action, code), UserServerActionError)
    with pytest.raises(expected) as caught:
        CALLS[action](fake_client)
    if expected is UserServerActionError:
        assert isinstance(caught.value, UserServerActionError)
        assert caught.value.error_code == code
        assert caught.value.action_invocation_id == "p4k9zr2xw7mtc8hnq3vbjd6e"
        assert caught.value.action == action


# Malformed responses (U3, U4) -------------------------------------------------------------------


def _user_mutations() -> Iterator[Any]:
    wrong: dict[str, list[Any]] = {
        "string": [None, 1, True, [], {}],
        "bytes": [None, 1, "AAECAw", "AAECAw=", "AA-_", "AA==\n", "é===", "A", "AAECAwQFBgcICQoLDA0ODw==="],
        "boolean": [None, 0, 1, "false", []],
        "counter": [None, "0", True, False, 1.0, 0.5, 2147483648, -2147483649, 2**64, []],
    }
    kinds = {
        "id": "string",
        "email_address": "string",
        "password_hash_algorithm_id": "string",
        "display_name": "string",
        "password_hash": "bytes",
        "password_salt": "bytes",
        "disabled": "boolean",
        "email_address_counter": "counter",
        "password_hash_counter": "counter",
        "disabled_counter": "counter",
        "sessions_counter": "counter",
    }
    for field, kind in kinds.items():
        user = copy.deepcopy(USER_JSON)
        del user[field]
        yield pytest.param(success({"user": user}), id=f"{field}-missing")
        for index, value in enumerate(wrong[kind]):
            user = copy.deepcopy(USER_JSON)
            user[field] = value
            yield pytest.param(success({"user": user}), id=f"{field}-wrong{index}")
    yield pytest.param(success({}), id="user-missing")
    yield pytest.param(success({"user": None}), id="user-null")
    yield pytest.param(success({"user": [USER_JSON]}), id="user-array")
    yield pytest.param({"ok": True, "action_invocation_id": "a", "user": USER_JSON}, id="js-helper-shape")


@pytest.mark.parametrize("document", list(_user_mutations()))
@pytest.mark.parametrize("action", USER_ACTIONS)
def test_a_malformed_user_is_rejected(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, action: str, document: dict[str, Any]
) -> None:
    fake_endpoint.answer_json(document)
    with pytest.raises(UserServerMalformedResponseError, match=f"user server action {action}"):
        CALLS[action](fake_client)


ENVELOPES: list[Any] = [
    pytest.param(b"", id="empty"),
    pytest.param(b"<html>500</html>", id="html"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'{"ok":true,"ok":true,"action_invocation_id":"a","values":{}}', id="duplicate"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":{"x":NaN}}', id="nan"),
    pytest.param(b'{"ok":"true","action_invocation_id":"a","values":{}}', id="ok-string"),
    pytest.param(b'{"ok":1,"action_invocation_id":"a","values":{}}', id="ok-number"),
    pytest.param(b'{"action_invocation_id":"a","values":{}}', id="ok-missing"),
    pytest.param(b'{"ok":true,"values":{}}', id="aiid-missing"),
    pytest.param(b'{"ok":false,"action_invocation_id":5,"error_code":"user_not_found"}', id="aiid-number"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a"}', id="code-missing"),
    pytest.param(b'{"ok":false,"action_invocation_id":"a","error_code":null}', id="code-null"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a"}', id="values-missing"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":null}', id="values-null"),
    pytest.param(b'{"ok":true,"action_invocation_id":"a","values":"x"}', id="values-string"),
]


@pytest.mark.parametrize("body", ENVELOPES)
@pytest.mark.parametrize("action", list(CALLS))
def test_a_malformed_envelope_is_rejected(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, action: str, body: bytes
) -> None:
    fake_endpoint.answer_raw(body)
    with pytest.raises(UserServerMalformedResponseError, match=f"user server action {action}"):
        CALLS[action](fake_client)


@pytest.mark.parametrize("action", EMPTY_ACTIONS)
def test_the_values_of_the_other_four_actions_are_ignored(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, action: str
) -> None:
    fake_endpoint.answer_json(success({"user": "anything", "x": [1, -2, 3.5]}))
    assert CALLS[action](fake_client) is None


def test_int32_extremes_and_unknown_members_are_accepted(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient
) -> None:
    user = {**USER_JSON, "email_address_counter": 2147483647, "sessions_counter": -2147483648, "extra": {}}
    fake_endpoint.answer_json({**success({"user": user, "more": 1}), "extra": [None]})
    got = fake_client.get_user("x5mzq8")
    assert (got.email_address_counter, got.sessions_counter) == (2147483647, -2147483648)


def test_invalid_utf8_inside_strings_reads_as_replacement_characters(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient
) -> None:
    body = json.dumps(success({"user": {**USER_JSON, "display_name": "@@"}})).encode("utf-8")
    fake_endpoint.answer_raw(body.replace(b"@@", b"\xff"))
    assert fake_client.get_user("x5mzq8").display_name == "\ufffd"


def test_error_messages_never_quote_response_values(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient
) -> None:
    fake_endpoint.answer_json(success({"user": {**USER_JSON, "password_hash": "secret-hash-value"}}))
    with pytest.raises(UserServerMalformedResponseError) as caught:
        fake_client.get_user("x5mzq8")
    assert "secret-hash-value" not in str(caught.value)
    assert "values.user.password_hash" in str(caught.value)


# Failed calls (U8) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [201, 204, 302, 400, 401, 404, 500, 503])
def test_a_status_other_than_200_fails(
    fake_endpoint: FakeEndpoint, fake_client: UserServerClient, status: int
) -> None:
    fake_endpoint.answer_json(failure("user_not_found"), status=status)
    with pytest.raises(UserServerStatusError, match=f"HTTP {status}") as caught:
        fake_client.get_user_by_email_address("new@example.com")
    assert caught.value.status == status


def test_a_user_server_that_is_down_fails() -> None:
    client = UserServerClient.from_url(closed_port_url(), timeout=10)
    with pytest.raises(UserServerUnavailableError, match="user server action get_user"):
        client.get_user("x")


def test_a_slow_user_server_times_out(fake_endpoint: FakeEndpoint) -> None:
    def slow() -> tuple[int, bytes]:
        fake_endpoint.release.wait(30)
        return 200, json.dumps(success({"user": USER_JSON})).encode()

    fake_endpoint.handler = slow
    client = UserServerClient.from_url(fake_endpoint.url, timeout=0.2)
    with pytest.raises(UserServerUnavailableError, match="timed out"):
        client.get_user("x")


def test_an_oversized_response_is_malformed(fake_endpoint: FakeEndpoint) -> None:
    fake_endpoint.answer_json(success({"user": USER_JSON, "pad": "x" * 2000}))
    client = UserServerClient(HTTPTransport(fake_endpoint.url, max_response_bytes=1000))
    with pytest.raises(UserServerMalformedResponseError, match="larger than"):
        client.get_user("x")
    client.close()


def test_every_user_server_error_is_a_faroe_error() -> None:
    for exception in (
        UserServerError,
        UserServerUnavailableError,
        UserServerStatusError,
        UserServerMalformedResponseError,
        UserServerActionError,
    ):
        assert issubclass(exception, UserServerError)
        assert issubclass(exception, FaroeError)
    assert not issubclass(UserServerError, (UserNotFoundError, UserEmailAddressAlreadyUsedError))
