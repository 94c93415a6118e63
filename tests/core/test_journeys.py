"""Whole user journeys, driven only through ``resolve_action_invocation_request`` with JSON bodies.

Codes and temporary passwords are read from the capturing email sender, as a user reads them from
their inbox. Every answer is checked against the envelope of actions-account.md §0.1.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from faroe_flask import Server, SessionConfig

from ..conftest import START, STRONG_PASSWORD, CapturingEmailSender, CapturingErrorLogger, FakeClock

pytestmark = pytest.mark.redis_storage

LOWER = set("abcdefghijkmnpqrstuvwxyz23456789")


class Client:
    """A client that only speaks JSON to the endpoint."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.invocation_ids: set[str] = set()

    def invoke(self, action: str, **arguments: str) -> dict[str, Any]:
        body = json.dumps({"action": action, "arguments": arguments}).encode("utf-8")
        text = self.server.resolve_action_invocation_request(body)
        result: dict[str, Any] = json.loads(text)
        invocation_id = result["action_invocation_id"]
        assert len(invocation_id) == 24 and set(invocation_id) <= LOWER
        assert invocation_id not in self.invocation_ids
        self.invocation_ids.add(invocation_id)
        if result["ok"] is True:
            assert list(result) == ["ok", "action_invocation_id", "values"]
            assert isinstance(result["values"], dict)
        else:
            assert result["ok"] is False
            assert list(result) == ["ok", "action_invocation_id", "error_code"]
        return result

    def ok(self, action: str, **arguments: str) -> dict[str, Any]:
        result = self.invoke(action, **arguments)
        assert result["ok"], f"{action}: {result.get('error_code')}"
        values: dict[str, Any] = result["values"]
        return values

    def fails(self, action: str, **arguments: str) -> str:
        result = self.invoke(action, **arguments)
        assert not result["ok"], f"{action} unexpectedly succeeded"
        code: str = result["error_code"]
        return code

    # Whole steps --------------------------------------------------------------------------------

    def sign_up(self, inbox: CapturingEmailSender, email: str, password: str) -> str:
        signup_token = self.ok("create_signup", email_address=email)["signup_token"]
        code = inbox.last("signup_code")
        assert code["email_address"] == email
        self.ok("verify_signup_email_address_verification_code", signup_token=signup_token,
                email_address_verification_code=code["code"])
        self.ok("set_signup_password", signup_token=signup_token, password=password)
        token: str = self.ok("complete_signup", signup_token=signup_token)["session_token"]
        return token

    def sign_in(self, email: str, password: str) -> str:
        signin_token = self.ok("create_signin", user_email_address=email)["signin_token"]
        self.ok("verify_signin_user_password", signin_token=signin_token, password=password)
        token: str = self.ok("complete_signin", signin_token=signin_token)["session_token"]
        return token

    def password_is(self, email: str, password: str) -> bool:
        signin_token = self.ok("create_signin", user_email_address=email)["signin_token"]
        result = self.invoke("verify_signin_user_password", signin_token=signin_token, password=password)
        if not result["ok"]:
            assert result["error_code"] == "incorrect_password"
        self.ok("delete_signin", signin_token=signin_token)
        return bool(result["ok"])

    def session_valid(self, session_token: str) -> bool:
        result = self.invoke("get_session", session_token=session_token)
        if not result["ok"]:
            assert result["error_code"] == "invalid_session_token"
        return bool(result["ok"])

    def change_email(self, inbox: CapturingEmailSender, session: str, new_email: str, password: str) -> None:
        values = self.ok("create_user_email_address_update", session_token=session, new_email_address=new_email)
        token = values["user_email_address_update_token"]
        message = inbox.last("update_code")
        assert message["email_address"] == new_email
        self.ok("verify_user_email_address_update_email_address_verification_code", session_token=session,
                user_email_address_update_token=token, email_address_verification_code=message["code"])
        self.ok("verify_user_email_address_update_user_password", session_token=session,
                user_email_address_update_token=token, password=password)
        assert self.ok("complete_user_email_address_update", session_token=session,
                       user_email_address_update_token=token) == {}

    def change_password(self, session: str, old: str, new: str) -> None:
        token = self.ok("create_user_password_update", session_token=session)["user_password_update_token"]
        self.ok("verify_user_password_update_user_password", session_token=session,
                user_password_update_token=token, password=old)
        self.ok("set_user_password_update_new_password", session_token=session,
                user_password_update_token=token, password=new)
        assert self.ok("complete_user_password_update", session_token=session, user_password_update_token=token) == {}

    def reset_password(self, inbox: CapturingEmailSender, email: str, new: str) -> dict[str, Any]:
        token = self.ok("create_user_password_reset", user_email_address=email)["user_password_reset_token"]
        message = inbox.last("temporary_password")
        assert message["email_address"] == email
        self.ok("verify_user_password_reset_temporary_password", user_password_reset_token=token,
                temporary_password=message["temporary_password"])
        self.ok("set_user_password_reset_new_password", user_password_reset_token=token, password=new)
        return self.ok("complete_user_password_reset", user_password_reset_token=token)

    def delete_account(self, session: str, password: str) -> None:
        token = self.ok("create_user_deletion", session_token=session)["user_deletion_token"]
        self.ok("verify_user_deletion_user_password", session_token=session, user_deletion_token=token,
                password=password)
        assert self.ok("complete_user_deletion", session_token=session, user_deletion_token=token) == {}


@pytest.fixture
def client(server: Server) -> Client:
    return Client(server)


def test_the_whole_life_of_an_account(
    client: Client, email_sender: CapturingEmailSender, clock: FakeClock, error_logger: CapturingErrorLogger
) -> None:
    first_email, second_email = "ada@example.com", "ada@lovelace.example"
    second_password, third_password = "analytical engine notes", "difference engine plans"

    # Sign up, then sign in on a second device.
    laptop = client.sign_up(email_sender, first_email, STRONG_PASSWORD)
    user_id = client.ok("get_session", session_token=laptop)["session"]["user_id"]
    clock.advance(120)
    phone = client.sign_in(first_email, STRONG_PASSWORD)
    assert email_sender.last("signed_in")["email_address"] == first_email

    # Change the email address from the laptop.
    clock.advance(300)
    client.change_email(email_sender, laptop, second_email, STRONG_PASSWORD)
    assert email_sender.last("email_updated") == {
        "email_address": first_email, "display_name": "", "new_email_address": second_email,
        "timestamp": START + timedelta(seconds=420),
    }
    assert client.fails("create_signin", user_email_address=first_email) == "user_not_found"
    tablet = client.sign_in(second_email, STRONG_PASSWORD)
    assert all(client.session_valid(s) for s in (laptop, phone, tablet))

    # Change the password from the tablet; no session ends (the extension is off).
    clock.advance(600)
    client.change_password(tablet, STRONG_PASSWORD, second_password)
    assert email_sender.last("password_updated")["email_address"] == second_email
    assert not client.password_is(second_email, STRONG_PASSWORD)
    assert client.password_is(second_email, second_password)
    assert all(client.session_valid(s) for s in (laptop, phone, tablet))

    # Forget the password and reset it: a new session comes back.
    clock.advance(3600)
    pending_deletion = client.ok("create_user_deletion", session_token=phone)["user_deletion_token"]
    values = client.reset_password(email_sender, second_email, third_password)
    assert list(values) == ["session", "session_token"]
    assert values["session"]["user_id"] == user_id
    desktop = values["session_token"]
    assert client.session_valid(desktop)
    assert not client.password_is(second_email, second_password)
    assert client.password_is(second_email, third_password)
    # The reset changed the password hash counter: the pending deletion is stale.
    assert client.fails("verify_user_deletion_user_password", session_token=phone,
                        user_deletion_token=pending_deletion, password=third_password) == "invalid_user_deletion_token"

    # Delete the account from the new session.
    clock.advance(60)
    client.delete_account(desktop, third_password)
    for session in (laptop, phone, tablet, desktop):
        assert not client.session_valid(session)
    assert client.fails("create_signin", user_email_address=second_email) == "user_not_found"
    assert client.fails("create_user_password_reset", user_email_address=second_email) == "user_not_found"
    assert error_logger.entries == []

    # Both addresses are free for a new account.
    fresh = client.sign_up(email_sender, second_email, STRONG_PASSWORD)
    assert client.ok("get_session", session_token=fresh)["session"]["user_id"] != user_id


def test_journey_with_other_sessions_ended_on_password_change(
    make_server: Any, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    client = Client(make_server(session_config=SessionConfig(end_other_sessions_on_password_change=True)))
    email = "grace@example.com"
    laptop = client.sign_up(email_sender, email, STRONG_PASSWORD)
    phone = client.sign_in(email, STRONG_PASSWORD)
    stolen = client.sign_in(email, STRONG_PASSWORD)

    clock.advance(90)
    client.change_password(laptop, STRONG_PASSWORD, "compiler a-0 sources")
    assert client.session_valid(laptop)
    assert not client.session_valid(phone) and not client.session_valid(stolen)

    phone = client.sign_in(email, "compiler a-0 sources")
    clock.advance(90)
    values = client.reset_password(email_sender, email, "cobol specification")
    assert not client.session_valid(laptop) and not client.session_valid(phone)
    assert client.session_valid(values["session_token"])
    client.delete_account(values["session_token"], "cobol specification")
    assert client.fails("create_signin", user_email_address=email) == "user_not_found"


def test_two_users_never_touch_each_other(client: Client, email_sender: CapturingEmailSender) -> None:
    alice = client.sign_up(email_sender, "alice@example.com", STRONG_PASSWORD)
    bob = client.sign_up(email_sender, "bob@example.com", "bob's own long password")

    # Bob cannot take Alice's address, nor use Alice's pending records.
    assert client.fails("create_user_email_address_update", session_token=bob,
                        new_email_address="alice@example.com") == "email_address_already_used"
    deletion = client.ok("create_user_deletion", session_token=alice)["user_deletion_token"]
    assert client.fails("verify_user_deletion_user_password", session_token=bob, user_deletion_token=deletion,
                        password="bob's own long password") == "session_mismatch"
    assert client.fails("complete_user_deletion", session_token=bob, user_deletion_token=deletion) == "session_mismatch"
    assert client.fails("delete_user_deletion", session_token=bob, user_deletion_token=deletion) == "session_mismatch"
    client.ok("delete_user_deletion", session_token=alice, user_deletion_token=deletion)

    # Both want carol@example.com; the first to complete gets it.
    first = client.ok("create_user_email_address_update", session_token=alice,
                      new_email_address="carol@example.com")["user_email_address_update_token"]
    alice_code = email_sender.last("update_code")["code"]
    second = client.ok("create_user_email_address_update", session_token=bob,
                       new_email_address="carol@example.com")["user_email_address_update_token"]
    bob_code = email_sender.last("update_code")["code"]
    client.ok("verify_user_email_address_update_email_address_verification_code", session_token=alice,
              user_email_address_update_token=first, email_address_verification_code=alice_code)
    client.ok("verify_user_email_address_update_email_address_verification_code", session_token=bob,
              user_email_address_update_token=second, email_address_verification_code=bob_code)
    client.ok("verify_user_email_address_update_user_password", session_token=alice,
              user_email_address_update_token=first, password=STRONG_PASSWORD)
    client.ok("verify_user_email_address_update_user_password", session_token=bob,
              user_email_address_update_token=second, password="bob's own long password")
    client.ok("complete_user_email_address_update", session_token=alice, user_email_address_update_token=first)
    assert client.fails("complete_user_email_address_update", session_token=bob,
                        user_email_address_update_token=second) == "invalid_user_email_address_update_token"
    assert client.password_is("carol@example.com", STRONG_PASSWORD)
    assert client.password_is("bob@example.com", "bob's own long password")

    # Alice deleting her account leaves Bob alone.
    client.delete_account(alice, STRONG_PASSWORD)
    assert client.session_valid(bob)


def test_the_verify_password_bucket_is_shared_by_signin_and_the_three_flows(
    client: Client, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    email = "user@example.com"
    session = client.sign_up(email_sender, email, STRONG_PASSWORD)
    update = client.ok("create_user_email_address_update", session_token=session,
                       new_email_address="new@example.com")["user_email_address_update_token"]
    client.ok("verify_user_email_address_update_email_address_verification_code", session_token=session,
              user_email_address_update_token=update,
              email_address_verification_code=email_sender.last("update_code")["code"])
    deletion = client.ok("create_user_deletion", session_token=session)["user_deletion_token"]
    password_update = client.ok("create_user_password_update", session_token=session)["user_password_update_token"]
    signin = client.ok("create_signin", user_email_address=email)["signin_token"]

    attempts = [
        ("verify_signin_user_password", {"signin_token": signin}),
        ("verify_signin_user_password", {"signin_token": signin}),
        ("verify_user_email_address_update_user_password", {"session_token": session, "user_email_address_update_token": update}),
        ("verify_user_deletion_user_password", {"session_token": session, "user_deletion_token": deletion}),
        ("verify_user_password_update_user_password", {"session_token": session, "user_password_update_token": password_update}),
    ]
    for action, arguments in attempts:
        assert client.fails(action, password="wrong password", **arguments) == "incorrect_password"
    # The sixth attempt, with the right password, is refused by every one of the four actions.
    for action, arguments in attempts[1:]:
        assert client.fails(action, password=STRONG_PASSWORD, **arguments) == "rate_limited"
    # One token per minute comes back.
    clock.advance(60)
    client.ok("verify_user_deletion_user_password", session_token=session, user_deletion_token=deletion, password=STRONG_PASSWORD)
    assert client.fails("verify_signin_user_password", signin_token=signin, password=STRONG_PASSWORD) == "rate_limited"
    clock.advance(60)
    client.ok("verify_user_password_update_user_password", session_token=session,
              user_password_update_token=password_update, password=STRONG_PASSWORD)


def test_an_abandoned_and_restarted_flow(client: Client, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    email = "user@example.com"
    session = client.sign_up(email_sender, email, STRONG_PASSWORD)
    # Start an email change, let it expire, start again.
    stale = client.ok("create_user_email_address_update", session_token=session,
                      new_email_address="new@example.com")["user_email_address_update_token"]
    stale_code = email_sender.last("update_code")["code"]
    clock.advance(1201)
    assert client.fails("verify_user_email_address_update_email_address_verification_code", session_token=session,
                        user_email_address_update_token=stale,
                        email_address_verification_code=stale_code) == "invalid_user_email_address_update_token"
    client.change_email(email_sender, session, "new@example.com", STRONG_PASSWORD)
    # Start a password change and cancel it; start a deletion and cancel it.
    update = client.ok("create_user_password_update", session_token=session)["user_password_update_token"]
    assert client.ok("delete_user_password_update", session_token=session, user_password_update_token=update) == {}
    assert client.fails("delete_user_password_update", session_token=session,
                        user_password_update_token=update) == "invalid_user_password_update_token"
    assert client.fails("get_user_password_update", session_token=session,
                        user_password_update_token=update) == "invalid_password_update_token"
    deletion = client.ok("create_user_deletion", session_token=session)["user_deletion_token"]
    assert client.ok("delete_user_deletion", session_token=session, user_deletion_token=deletion) == {}
    assert client.session_valid(session)
    assert client.password_is("new@example.com", STRONG_PASSWORD)
