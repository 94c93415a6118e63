"""The eight signals: sent after success only, for in-process calls and the HTTP endpoint alike,
with the app, the user id and the session id; never a token; a raising receiver changes nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blinker import Signal
from flask import Flask

from faroe_flask import (
    all_sessions_ended,
    email_address_changed,
    password_changed,
    password_reset,
    signed_in,
    signed_out,
    signup_completed,
    user_deleted,
)
from faroe_flask.flask.signals import SIGNAL_FOR_ACTION
from faroe_flask.testing import TEST_PASSWORD, Outbox, memory_faroe, outbox_of, sign_in, sign_up

EMAIL = "grace@example.com"
NEW_EMAIL = "grace.hopper@example.com"
NEW_PASSWORD = "quartz Lantern 77 meadow"

Invoke = Callable[..., dict[str, Any]]

ALL_SIGNALS = [
    signup_completed,
    signed_in,
    signed_out,
    all_sessions_ended,
    email_address_changed,
    password_changed,
    password_reset,
    user_deleted,
]


class Recorder:
    """Connects to every signal for one app; records (signal name, sender, kwargs)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.events: list[tuple[str, Any, dict[str, Any]]] = []
        self._receivers: list[tuple[Signal, Callable[..., None]]] = []

    def connect(self) -> None:
        for signal in ALL_SIGNALS:
            receiver = self._receiver_for(signal)
            signal.connect(receiver, self.app, weak=False)
            self._receivers.append((signal, receiver))

    def _receiver_for(self, signal: Signal) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            self.events.append((signal.name, sender, kwargs))

        return receive

    def disconnect(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]


@pytest.fixture
def app() -> Flask:
    app = Flask("signals_test")
    app.config.update(TESTING=True)
    memory_faroe(app)
    return app


@pytest.fixture
def recorder(app: Flask) -> Iterator[Recorder]:
    recorder = Recorder(app)
    recorder.connect()
    yield recorder
    recorder.disconnect()


def in_process(app: Flask) -> Invoke:
    def invoke(action: str, **arguments: str) -> dict[str, Any]:
        with app.app_context():
            result = app.extensions["faroe"].invoke(action, arguments)
        assert result.ok, (action, result.error_code)
        return result.values  # type: ignore[no-any-return]

    return invoke


def over_http(app: Flask) -> Invoke:
    client = app.test_client()

    def invoke(action: str, **arguments: str) -> dict[str, Any]:
        response = client.post("/faroe", data=json.dumps({"action": action, "arguments": arguments}))
        assert response.status_code == 200
        body: dict[str, Any] = json.loads(response.data)
        assert body["ok"], (action, body.get("error_code"))
        return body["values"]  # type: ignore[no-any-return]

    return invoke


def whole_life(invoke: Invoke, outbox: Outbox) -> dict[str, str]:
    """Every action that sends a signal, in a user's life; returns the ids and tokens seen."""
    seen: dict[str, str] = {}
    signup_token = invoke("create_signup", email_address=EMAIL)["signup_token"]
    invoke(
        "verify_signup_email_address_verification_code",
        signup_token=signup_token,
        email_address_verification_code=outbox.code_for(EMAIL),
    )
    invoke("set_signup_password", signup_token=signup_token, password=TEST_PASSWORD)
    values = invoke("complete_signup", signup_token=signup_token)
    seen["user"] = values["session"]["user_id"]
    seen["signup_session"], seen["signup_token"] = values["session"]["id"], values["session_token"]
    invoke("delete_session", session_token=values["session_token"])

    signin_token = invoke("create_signin", user_email_address=EMAIL)["signin_token"]
    invoke("verify_signin_user_password", signin_token=signin_token, password=TEST_PASSWORD)
    values = invoke("complete_signin", signin_token=signin_token)
    token = values["session_token"]
    seen["signin_session"], seen["signin_token"] = values["session"]["id"], token

    update = invoke("create_user_email_address_update", session_token=token, new_email_address=NEW_EMAIL)
    update_token = update["user_email_address_update_token"]
    invoke(
        "verify_user_email_address_update_email_address_verification_code",
        session_token=token,
        user_email_address_update_token=update_token,
        email_address_verification_code=outbox.code_for(NEW_EMAIL),
    )
    invoke(
        "verify_user_email_address_update_user_password",
        session_token=token,
        user_email_address_update_token=update_token,
        password=TEST_PASSWORD,
    )
    invoke("complete_user_email_address_update", session_token=token, user_email_address_update_token=update_token)

    update_token = invoke("create_user_password_update", session_token=token)["user_password_update_token"]
    invoke(
        "verify_user_password_update_user_password",
        session_token=token,
        user_password_update_token=update_token,
        password=TEST_PASSWORD,
    )
    invoke(
        "set_user_password_update_new_password",
        session_token=token,
        user_password_update_token=update_token,
        password=NEW_PASSWORD,
    )
    invoke("complete_user_password_update", session_token=token, user_password_update_token=update_token)

    reset_token = invoke("create_user_password_reset", user_email_address=NEW_EMAIL)["user_password_reset_token"]
    invoke(
        "verify_user_password_reset_temporary_password",
        user_password_reset_token=reset_token,
        temporary_password=outbox.temporary_password_for(NEW_EMAIL),
    )
    invoke("set_user_password_reset_new_password", user_password_reset_token=reset_token, password=TEST_PASSWORD)
    values = invoke("complete_user_password_reset", user_password_reset_token=reset_token)
    seen["reset_session"], seen["reset_token"] = values["session"]["id"], values["session_token"]

    invoke("delete_all_sessions", session_token=values["session_token"])

    signin_token = invoke("create_signin", user_email_address=NEW_EMAIL)["signin_token"]
    invoke("verify_signin_user_password", signin_token=signin_token, password=TEST_PASSWORD)
    values = invoke("complete_signin", signin_token=signin_token)
    last_token = values["session_token"]
    seen["last_session"], seen["last_token"] = values["session"]["id"], last_token
    deletion_token = invoke("create_user_deletion", session_token=last_token)["user_deletion_token"]
    invoke(
        "verify_user_deletion_user_password",
        session_token=last_token,
        user_deletion_token=deletion_token,
        password=TEST_PASSWORD,
    )
    invoke("complete_user_deletion", session_token=last_token, user_deletion_token=deletion_token)
    return seen


@pytest.mark.parametrize("transport", [in_process, over_http], ids=["invoke", "endpoint"])
def test_each_signal_is_sent_once_after_its_action(
    app: Flask, recorder: Recorder, transport: Callable[[Flask], Invoke]
) -> None:
    seen = whole_life(transport(app), outbox_of(app))
    assert recorder.names() == [
        "faroe.signup-completed",
        "faroe.signed-out",
        "faroe.signed-in",
        "faroe.email-address-changed",
        "faroe.password-changed",
        "faroe.password-reset",
        "faroe.all-sessions-ended",
        "faroe.signed-in",
        "faroe.user-deleted",
    ]
    expected_sessions = [
        seen["signup_session"],
        seen["signup_session"],
        seen["signin_session"],
        seen["signin_session"],
        seen["signin_session"],
        seen["reset_session"],
        seen["reset_session"],
        seen["last_session"],
        seen["last_session"],
    ]
    tokens = {seen["signup_token"], seen["signin_token"], seen["reset_token"], seen["last_token"]}
    for (name, sender, kwargs), session_id in zip(recorder.events, expected_sessions):
        assert sender is app, name
        assert set(kwargs) == {"user_id", "session_id", "action_invocation_id"}, name
        assert kwargs["user_id"] == seen["user"], name
        assert kwargs["session_id"] == session_id, name
        assert len(kwargs["action_invocation_id"]) == 24
        assert not tokens & {str(value) for value in kwargs.values()}  # never a token
        assert not any("." in str(value) for value in kwargs.values())


def test_failed_actions_send_nothing(app: Flask, recorder: Recorder) -> None:
    signed = sign_up(EMAIL, app=app)
    recorder.events.clear()
    with app.app_context():
        state = app.extensions["faroe"]
        forged = signed.session.id + "." + "q" * 24
        assert not state.invoke("delete_session", {"session_token": forged}).ok
        assert not state.invoke("delete_all_sessions", {"session_token": "garbage"}).ok
        signin_token = state.invoke("create_signin", {"user_email_address": EMAIL}).values["signin_token"]
        assert not state.invoke("complete_signin", {"signin_token": signin_token}).ok  # password not verified
        assert state.invoke("get_session", {"session_token": signed.session_token}).ok
    assert recorder.events == []


def test_signals_are_sent_for_their_own_app_only(app: Flask) -> None:
    other = Flask("other")
    other.config.update(TESTING=True)
    memory_faroe(other)
    received: list[Any] = []

    def on_other(sender: Any, **kwargs: Any) -> None:
        received.append(sender)

    signed_in.connect(on_other, other)
    try:
        sign_up(EMAIL, app=app)
        sign_in(EMAIL, app=app)
        assert received == []
        sign_up(EMAIL, app=other)
        sign_in(EMAIL, app=other)
        assert received == [other]
    finally:
        signed_in.disconnect(on_other)


def test_a_raising_receiver_is_logged_and_changes_nothing(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken(sender: Any, **kwargs: Any) -> None:
        calls.append("broken")
        raise RuntimeError("receiver bug with " + kwargs["user_id"])

    def healthy(sender: Any, **kwargs: Any) -> None:
        calls.append("healthy")

    signup_completed.connect(broken, app)
    signup_completed.connect(healthy, app)
    try:
        with caplog.at_level(logging.ERROR, logger="faroe_flask"):
            signed = sign_up(EMAIL, app=app)  # asserts that complete_signup answered ok
    finally:
        signup_completed.disconnect(broken)
        signup_completed.disconnect(healthy)
    assert sorted(calls) == ["broken", "healthy"]
    with app.app_context():
        assert app.extensions["faroe"].invoke("get_session", {"session_token": signed.session_token}).ok
    lines = [record.getMessage() for record in caplog.records if "signal" in record.getMessage()]
    assert len(lines) == 1 and "RuntimeError" in lines[0] and "complete_signup" in lines[0]
    text = caplog.text
    assert signed.session_token not in text and EMAIL not in text and signed.user_id not in text


def test_a_raising_receiver_does_not_change_the_endpoint_answer(app: Flask) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise ValueError("nope")

    signed = sign_up(EMAIL, app=app)
    signed_out.connect(broken, app)
    try:
        response = app.test_client().post(
            "/faroe",
            data=json.dumps({"action": "delete_session", "arguments": {"session_token": signed.session_token}}),
        )
    finally:
        signed_out.disconnect(broken)
    assert response.status_code == 200 and json.loads(response.data)["ok"] is True


def test_without_receivers_the_observer_does_not_touch_storage(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    signed = sign_up(EMAIL, app=app)
    storage = app.extensions["faroe"].storage
    reads: list[str] = []
    original = storage.get

    def counting(key: str) -> Any:
        reads.append(key)
        return original(key)

    monkeypatch.setattr(storage, "get", counting)
    with app.app_context():
        assert app.extensions["faroe"].invoke("delete_session", {"session_token": signed.session_token}).ok
    assert len(reads) == 1  # only the action's own read; no look-up for a signal nobody hears


def test_every_signal_has_one_action() -> None:
    assert sorted(signal.name for signal in SIGNAL_FOR_ACTION.values()) == sorted(s.name for s in ALL_SIGNALS)
