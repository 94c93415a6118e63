"""Driving a ``Server`` the way a client does: JSON bodies in, JSON results out."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from faroe_flask import Server
from faroe_flask.core.credentials import LOWERCASE_ALPHABET, UPPERCASE_ALPHABET

from ..conftest import STRONG_PASSWORD, CapturingEmailSender


LOWER = set(LOWERCASE_ALPHABET)
UPPER = set(UPPERCASE_ALPHABET)


@dataclasses.dataclass
class Account:
    """A signed-up user and the session its signup returned."""

    session_token: str
    user_id: str

    @property
    def session_id(self) -> str:
        return self.session_token.split(".", 1)[0]


def call(server: Server, action: str, **arguments: str) -> dict[str, Any]:
    """Invoke ``action`` through ``resolve_action_invocation_request`` and return the result."""
    body = json.dumps({"action": action, "arguments": arguments})
    result: dict[str, Any] = json.loads(server.resolve_action_invocation_request(body))
    return result


def code_of(result: dict[str, Any]) -> str | None:
    """The error code of a result, ``None`` for a success."""
    return None if result["ok"] else str(result["error_code"])


def ok(server: Server, action: str, **arguments: str) -> dict[str, Any]:
    """Invoke ``action`` and return its values, failing the test if it did not succeed."""
    result = call(server, action, **arguments)
    assert result["ok"] is True, f"{action} failed with {result.get('error_code')}"
    values: dict[str, Any] = result["values"]
    return values


def error(server: Server, action: str, **arguments: str) -> str:
    """Invoke ``action`` and return its error code, failing the test if it succeeded."""
    result = call(server, action, **arguments)
    assert result["ok"] is False, f"{action} unexpectedly succeeded"
    assert set(result) == {"ok", "action_invocation_id", "error_code"}
    code: str = result["error_code"]
    return code


def sign_up(
    server: Server,
    email_sender: CapturingEmailSender,
    email_address: str = "user@example.com",
    password: str = STRONG_PASSWORD,
) -> tuple[str, str]:
    """Run the whole signup; return ``(session_token, user_id)``."""
    signup_token = ok(server, "create_signup", email_address=email_address)["signup_token"]
    code = email_sender.last("signup_code")["code"]
    ok(server, "verify_signup_email_address_verification_code", signup_token=signup_token,
       email_address_verification_code=code)
    ok(server, "set_signup_password", signup_token=signup_token, password=password)
    values = ok(server, "complete_signup", signup_token=signup_token)
    return values["session_token"], values["session"]["user_id"]


def sign_in(server: Server, email_address: str = "user@example.com", password: str = STRONG_PASSWORD) -> str:
    """Run a signin for an existing user; return the new session token."""
    signin_token = ok(server, "create_signin", user_email_address=email_address)["signin_token"]
    ok(server, "verify_signin_user_password", signin_token=signin_token, password=password)
    token: str = ok(server, "complete_signin", signin_token=signin_token)["session_token"]
    return token
