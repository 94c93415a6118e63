"""Helpers for driving a Faroe server through ``Client``."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from faroe_flask.client import (
    ActionError,
    ActionSuccess,
    Client,
    CreateSigninSuccess,
    CreateSignupSuccess,
    NewSessionSuccess,
    Transport,
)

from ..conftest import STRONG_PASSWORD, CapturingEmailSender

T = TypeVar("T")


class RecordingTransport:
    """Wraps a transport and records ``(action, ok)`` for every exchange that returned a result."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.outcomes: set[tuple[str, bool]] = set()
        self._lock = threading.Lock()

    def send(self, body: bytes) -> bytes:
        response = self.inner.send(body)
        action = json.loads(body)["action"]
        ok = json.loads(response)["ok"]
        with self._lock:
            self.outcomes.add((action, ok))
        return response

    def assert_succeeded_and_failed(self, actions: Iterable[str]) -> None:
        """Each action was seen with a success result and with an error result."""
        for action in actions:
            assert (action, True) in self.outcomes, f"{action} never succeeded"
            assert (action, False) in self.outcomes, f"{action} never answered an error"


def success(result: T | ActionError, expected_type: type[T]) -> T:
    """The result, which must be a success of ``expected_type``."""
    assert not isinstance(result, ActionError), f"unexpected error {result.error_code}"
    assert isinstance(result, expected_type), type(result)
    assert result.ok is True  # type: ignore[attr-defined]
    return result


def error_code(result: object) -> str:
    """The error code of a result that must be an ``ActionError``."""
    assert isinstance(result, ActionError), f"unexpected success {type(result).__name__}"
    assert result.ok is False
    assert isinstance(result.action_invocation_id, str) and len(result.action_invocation_id) == 24
    return result.error_code


def assert_utc_seconds(moment: datetime, expected: datetime) -> None:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
    assert moment == expected.replace(microsecond=0)
    assert moment.tzinfo == timezone.utc


def sign_up(
    client: Client,
    email_sender: CapturingEmailSender,
    email_address: str = "user@example.com",
    password: str = STRONG_PASSWORD,
) -> tuple[str, str]:
    """Run the whole signup through the client; return ``(session_token, user_id)``."""
    created = success(client.create_signup(email_address), CreateSignupSuccess)
    code = email_sender.last("signup_code")["code"]
    success(
        client.verify_signup_email_address_verification_code(created.signup_token, code), ActionSuccess
    )
    success(client.set_signup_password(created.signup_token, password), ActionSuccess)
    completed = success(client.complete_signup(created.signup_token), NewSessionSuccess)
    return completed.session_token, completed.session.user_id


def sign_in(client: Client, email_address: str, password: str) -> str:
    """Run a signin through the client; return the new session token."""
    created = success(client.create_signin(email_address), CreateSigninSuccess)
    success(client.verify_signin_user_password(created.signin_token, password), ActionSuccess)
    return success(client.complete_signin(created.signin_token), NewSessionSuccess).session_token
