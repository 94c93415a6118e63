"""A Faroe server whose user store is a ``UserServerClient``: when the user server is down, slow,
answers an error status, garbage or an unexpected error code, the Faroe action answers
``internal_error`` (never anything else, never an exception) and nothing is half-written."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from flask import Flask

from faroe_flask import MemoryStorage, MemoryUserStore, Server, SessionConfig, User, UserNotFoundError
from faroe_flask.client import (
    ActionError,
    ActionSuccess,
    Client,
    CreateSignupSuccess,
    CreateUserDeletionSuccess,
    CreateUserEmailAddressUpdateSuccess,
    CreateUserPasswordResetSuccess,
    GetSessionSuccess,
    GetSignupSuccess,
    GetUserEmailAddressUpdateSuccess,
    GetUserPasswordResetSuccess,
    HTTPTransport,
    LocalTransport,
)
from faroe_flask.user_server import UserServerClient, user_server_blueprint

from ..conftest import (
    FAST_TEMPORARY_ALGORITHM,
    FAST_USER_ALGORITHM,
    STRONG_PASSWORD,
    BannedPasswords,
    CapturingEmailSender,
    CapturingErrorLogger,
    FakeClock,
)
from .conftest import closed_port_url, serve
from .helpers import sign_up, success

SECRET = "faroe-to-user-server-7Hq"
NEW_PASSWORD = "quartz lantern 77 meadow"
MODES = ["down", "slow", "status_500", "garbage", "error_code", "malformed"]


class FlakyUserServer:
    """A WSGI front for the real user-server blueprint that can fail on chosen actions."""

    def __init__(self, inner: Flask) -> None:
        self.inner = inner
        self.mode = "pass"
        self.failing: set[str] | None = None  # None: every action
        self.release = threading.Event()
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        try:
            action = json.loads(body)["action"]
        except (ValueError, KeyError, TypeError):
            action = ""
        self.calls.append(action)
        mode = self.mode if self.failing is None or action in self.failing else "pass"
        if mode == "pass":
            environ["wsgi.input"] = io.BytesIO(body)
            return self.inner.wsgi_app(environ, start_response)
        if mode == "slow":
            self.release.wait(30)
        status, payload = {
            "slow": ("200 OK", b'{"ok":true,"action_invocation_id":"late","values":{}}'),
            "status_500": ("500 Internal Server Error", b""),
            "garbage": ("200 OK", b"<html>Welcome to nginx!</html>"),
            "error_code": ("200 OK", b'{"ok":false,"action_invocation_id":"e","error_code":"internal_error"}'),
            # A user with a counter written as a float; values missing for the other actions.
            "malformed": (
                "200 OK",
                b'{"ok":true,"action_invocation_id":"m","values":{"user":{"id":"u","email_address":"a",'
                b'"password_hash":"","password_hash_algorithm_id":"x","password_salt":"","disabled":false,'
                b'"display_name":"","email_address_counter":1.0,"password_hash_counter":0,'
                b'"disabled_counter":0,"sessions_counter":0}}}'
                if action in ("create_user", "get_user", "get_user_by_email_address")
                else b'{"ok":true,"action_invocation_id":"m"}',
            ),
        }[mode]
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


class Rig:
    """A Faroe server in-process whose users live behind a flaky user server on loopback."""

    def __init__(self, url: str, flaky: FlakyUserServer, store: MemoryUserStore, server: Server,
                 storage: MemoryStorage, user_store: UserServerClient) -> None:
        self.url = url
        self.flaky = flaky
        self.store = store
        self.server = server
        self.storage = storage
        self.user_store = user_store
        self.good_transport = user_store.transport
        self.client = Client(LocalTransport(server))

    def fail(self, mode: str, actions: set[str] | None = None) -> None:
        if mode == "down":
            self.user_store.transport = HTTPTransport(closed_port_url(), timeout=10)
            return
        if mode == "slow":
            self.user_store.transport = HTTPTransport(self.url, bearer_secret=SECRET, timeout=0.25)
        self.flaky.failing = actions
        self.flaky.mode = mode

    def restore(self) -> None:
        self.flaky.mode = "pass"
        self.flaky.release.set()
        self.flaky.release = threading.Event()
        self.user_store.transport = self.good_transport


@pytest.fixture
def rig(
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    clock: FakeClock,
    strength_checker: BannedPasswords,
) -> Iterator[Rig]:
    store = MemoryUserStore()
    app = Flask("flaky_user_server")
    app.register_blueprint(user_server_blueprint(store, secret=SECRET, url_prefix="/users"))
    flaky = FlakyUserServer(app)
    with serve(flaky) as base:
        url = base + "/users"
        user_store = UserServerClient.from_url(url, secret=SECRET, timeout=10)
        storage = MemoryStorage()
        server = Server(
            storage=storage,
            user_store=user_store,
            email_sender=email_sender,
            user_password_hash_algorithms=[FAST_USER_ALGORITHM],
            temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
            password_strength_checker=strength_checker,
            error_logger=error_logger,
            clock=clock,
            session_config=SessionConfig(),
        )
        rig = Rig(url, flaky, store, server, storage, user_store)
        yield rig
        rig.restore()
        user_store.close()


def internal_error(result: object) -> None:
    assert isinstance(result, ActionError), f"unexpected success {result!r}"
    assert result.error_code == "internal_error"


def assert_logged_without_secrets(error_logger: CapturingErrorLogger, action: str, *secrets: str) -> None:
    entries = [entry for entry in error_logger.entries if entry[3] == action]
    assert entries, f"nothing logged for {action}"
    for _, message, invocation_id, _ in entries:
        assert len(invocation_id) == 24
        for secret in (STRONG_PASSWORD, NEW_PASSWORD, SECRET, *secrets):
            assert secret not in message


@pytest.mark.parametrize("mode", MODES)
def test_create_signup(rig: Rig, mode: str, email_sender: CapturingEmailSender,
                       error_logger: CapturingErrorLogger) -> None:
    rig.fail(mode)
    internal_error(rig.client.create_signup("user@example.com"))
    assert rig.storage.keys() == []
    assert email_sender.messages == []
    assert_logged_without_secrets(error_logger, "create_signup")
    rig.restore()
    assert isinstance(rig.client.create_signup("user@example.com"), CreateSignupSuccess)


@pytest.mark.parametrize("mode", MODES)
def test_complete_signup(rig: Rig, mode: str, email_sender: CapturingEmailSender,
                         error_logger: CapturingErrorLogger) -> None:
    client = rig.client
    token = success(client.create_signup("user@example.com"), CreateSignupSuccess).signup_token
    code = email_sender.last("signup_code")["code"]
    success(client.verify_signup_email_address_verification_code(token, code), ActionSuccess)
    success(client.set_signup_password(token, STRONG_PASSWORD), ActionSuccess)
    keys_before = sorted(rig.storage.keys())

    rig.fail(mode, {"create_user"})
    internal_error(client.complete_signup(token))
    assert sorted(rig.storage.keys()) == keys_before  # no session, the signup kept
    assert_logged_without_secrets(error_logger, "complete_signup", token)
    rig.restore()
    assert _find(rig.store, "user@example.com") is None
    assert isinstance(client.get_signup(token), GetSignupSuccess)
    completed = client.complete_signup(token)
    assert completed.ok is True
    assert _find(rig.store, "user@example.com") is not None


def _find(store: MemoryUserStore, email_address: str) -> User | None:
    try:
        return store.get_user_by_email_address(email_address)
    except UserNotFoundError:
        return None


@pytest.mark.parametrize("mode", MODES)
def test_session_validation(rig: Rig, mode: str, email_sender: CapturingEmailSender) -> None:
    session_token, user_id = sign_up(rig.client, email_sender)
    rig.fail(mode, {"get_user"})
    internal_error(rig.client.get_session(session_token))
    internal_error(rig.client.create_user_password_update(session_token))
    rig.restore()
    got = rig.client.get_session(session_token)
    assert isinstance(got, GetSessionSuccess) and got.session.user_id == user_id


@pytest.mark.parametrize("mode", MODES)
def test_complete_user_email_address_update(rig: Rig, mode: str, email_sender: CapturingEmailSender,
                                            error_logger: CapturingErrorLogger) -> None:
    client = rig.client
    session_token, user_id = sign_up(client, email_sender)
    created = success(client.create_user_email_address_update(session_token, "new@example.com"),
                      CreateUserEmailAddressUpdateSuccess)
    token = created.user_email_address_update_token
    code = email_sender.last("update_code")["code"]
    success(client.verify_user_email_address_update_email_address_verification_code(session_token, token, code),
            ActionSuccess)
    success(client.verify_user_email_address_update_user_password(session_token, token, STRONG_PASSWORD),
            ActionSuccess)

    rig.fail(mode, {"update_user_email_address"})
    internal_error(client.complete_user_email_address_update(session_token, token))
    rig.restore()
    user = rig.store.get_user(user_id)
    assert (user.email_address, user.email_address_counter) == ("user@example.com", 0)
    assert email_sender.of_kind("email_updated") == []
    assert isinstance(client.get_user_email_address_update(session_token, token), GetUserEmailAddressUpdateSuccess)
    assert_logged_without_secrets(error_logger, "complete_user_email_address_update", token, session_token)
    assert client.complete_user_email_address_update(session_token, token).ok is True
    assert rig.store.get_user(user_id).email_address == "new@example.com"


@pytest.mark.parametrize("mode", MODES)
def test_complete_user_password_reset(rig: Rig, mode: str, email_sender: CapturingEmailSender,
                                      error_logger: CapturingErrorLogger) -> None:
    client = rig.client
    _, user_id = sign_up(client, email_sender)
    before = rig.store.get_user(user_id)
    created = success(client.create_user_password_reset("user@example.com"), CreateUserPasswordResetSuccess)
    token = created.user_password_reset_token
    temporary_password = email_sender.last("temporary_password")["temporary_password"]
    success(client.verify_user_password_reset_temporary_password(token, temporary_password), ActionSuccess)
    success(client.set_user_password_reset_new_password(token, NEW_PASSWORD), ActionSuccess)
    keys_before = sorted(rig.storage.keys())

    rig.fail(mode, {"update_user_password_hash"})
    internal_error(client.complete_user_password_reset(token))
    rig.restore()
    assert sorted(rig.storage.keys()) == keys_before  # no session was created, the reset is kept
    assert rig.store.get_user(user_id) == before
    assert email_sender.of_kind("password_updated") == []
    assert isinstance(client.get_user_password_reset(token), GetUserPasswordResetSuccess)
    assert_logged_without_secrets(error_logger, "complete_user_password_reset", token, temporary_password)
    assert client.complete_user_password_reset(token).ok is True
    assert rig.store.get_user(user_id).password_hash_counter == 1


@pytest.mark.parametrize("mode", MODES)
def test_complete_user_deletion(rig: Rig, mode: str, email_sender: CapturingEmailSender) -> None:
    client = rig.client
    session_token, user_id = sign_up(client, email_sender)
    token = success(client.create_user_deletion(session_token), CreateUserDeletionSuccess).user_deletion_token
    success(client.verify_user_deletion_user_password(session_token, token, STRONG_PASSWORD), ActionSuccess)

    rig.fail(mode, {"delete_user"})
    internal_error(client.complete_user_deletion(session_token, token))
    rig.restore()
    assert rig.store.get_user(user_id).id == user_id
    assert client.get_session(session_token).ok is True
    assert client.complete_user_deletion(session_token, token).ok is True
    assert _find(rig.store, "user@example.com") is None


@pytest.mark.parametrize("mode", MODES)
def test_delete_all_sessions(rig: Rig, mode: str, email_sender: CapturingEmailSender) -> None:
    session_token, user_id = sign_up(rig.client, email_sender)
    rig.fail(mode, {"increment_user_sessions_counter"})
    internal_error(rig.client.delete_all_sessions(session_token))
    rig.restore()
    assert rig.store.get_user(user_id).sessions_counter == 0
    assert rig.client.get_session(session_token).ok is True


@pytest.mark.parametrize("mode", MODES)
def test_create_signin_and_password_reset(rig: Rig, mode: str, email_sender: CapturingEmailSender) -> None:
    sign_up(rig.client, email_sender)
    keys_before = sorted(rig.storage.keys())
    messages_before = len(email_sender.messages)
    rig.fail(mode, {"get_user_by_email_address"})
    internal_error(rig.client.create_signin("user@example.com"))
    internal_error(rig.client.create_user_password_reset("user@example.com"))
    rig.restore()
    assert sorted(rig.storage.keys()) == keys_before
    assert len(email_sender.messages) == messages_before
