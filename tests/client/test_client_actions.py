"""Every ``Client`` method against a real ``Server``, in-process and over HTTP (waitress).

Each flow test records the results its actions produced and checks that every action of the flow
answered at least one success and one error result through the client.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from faroe_flask import MemoryUserStore, UserNotFoundError
from faroe_flask.client import (
    ACTION_ARGUMENTS,
    ActionSuccess,
    Client,
    CreateSigninSuccess,
    CreateSignupSuccess,
    CreateUserDeletionSuccess,
    CreateUserEmailAddressUpdateSuccess,
    CreateUserPasswordResetSuccess,
    CreateUserPasswordUpdateSuccess,
    GetSessionSuccess,
    GetSigninSuccess,
    GetSignupSuccess,
    GetUserDeletionSuccess,
    GetUserEmailAddressUpdateSuccess,
    GetUserPasswordResetSuccess,
    GetUserPasswordUpdateSuccess,
    NewSessionSuccess,
    Transport,
)

from ..conftest import START, STRONG_PASSWORD, WEAK_PASSWORD, CapturingEmailSender, FakeClock
from .helpers import RecordingTransport, assert_utc_seconds, error_code, sign_in, sign_up, success

NEW_PASSWORD = "quartz lantern 77 meadow"

SIGNUP_ACTIONS = [
    "create_signup",
    "get_signup",
    "delete_signup",
    "send_signup_email_address_verification_code",
    "verify_signup_email_address_verification_code",
    "set_signup_password",
    "complete_signup",
]
SIGNIN_ACTIONS = ["create_signin", "get_signin", "delete_signin", "verify_signin_user_password", "complete_signin"]
SESSION_ACTIONS = ["get_session", "delete_session", "delete_all_sessions"]
EMAIL_UPDATE_ACTIONS = [
    "create_user_email_address_update",
    "get_user_email_address_update",
    "delete_user_email_address_update",
    "send_user_email_address_update_email_address_verification_code",
    "verify_user_email_address_update_email_address_verification_code",
    "verify_user_email_address_update_user_password",
    "complete_user_email_address_update",
]
PASSWORD_UPDATE_ACTIONS = [
    "create_user_password_update",
    "get_user_password_update",
    "delete_user_password_update",
    "verify_user_password_update_user_password",
    "set_user_password_update_new_password",
    "complete_user_password_update",
]
DELETION_ACTIONS = [
    "create_user_deletion",
    "get_user_deletion",
    "delete_user_deletion",
    "verify_user_deletion_user_password",
    "complete_user_deletion",
]
PASSWORD_RESET_ACTIONS = [
    "create_user_password_reset",
    "get_user_password_reset",
    "delete_user_password_reset",
    "verify_user_password_reset_temporary_password",
    "set_user_password_reset_new_password",
    "complete_user_password_reset",
]


@pytest.fixture
def recorder(transport: Transport) -> RecordingTransport:
    return RecordingTransport(transport)


@pytest.fixture
def rclient(recorder: RecordingTransport) -> Client:
    return Client(recorder)


def test_the_flow_lists_cover_all_39_actions() -> None:
    flows = (
        SIGNUP_ACTIONS
        + SIGNIN_ACTIONS
        + SESSION_ACTIONS
        + EMAIL_UPDATE_ACTIONS
        + PASSWORD_UPDATE_ACTIONS
        + DELETION_ACTIONS
        + PASSWORD_RESET_ACTIONS
    )
    assert sorted(flows) == sorted(ACTION_ARGUMENTS)
    assert len(set(flows)) == 39
    for action in flows:
        assert callable(getattr(Client, action))


def test_signup_actions(
    rclient: Client, recorder: RecordingTransport, email_sender: CapturingEmailSender
) -> None:
    client = rclient
    assert error_code(client.create_signup("not an address")) == "invalid_email_address"
    created = success(client.create_signup("user@example.com"), CreateSignupSuccess)
    signup = created.signup
    assert signup.email_address == "user@example.com"
    assert (signup.email_address_verified, signup.password_set) == (False, False)
    assert_utc_seconds(signup.created_at, START)
    assert signup.expires_at - signup.created_at == timedelta(seconds=1200)
    assert created.signup_token.startswith(signup.id + ".")
    assert created.signup_token not in repr(created)
    token = created.signup_token

    got = success(client.get_signup(token), GetSignupSuccess)
    assert got.signup == signup
    assert got.action_invocation_id != created.action_invocation_id
    assert error_code(client.get_signup("nonsense")) == "invalid_signup_token"

    success(client.send_signup_email_address_verification_code(token), ActionSuccess)
    assert len(email_sender.of_kind("signup_code")) == 2
    assert error_code(client.send_signup_email_address_verification_code("x")) == "invalid_signup_token"

    assert error_code(client.set_signup_password(token, STRONG_PASSWORD)) == "email_address_not_verified"
    assert error_code(client.complete_signup(token)) == "email_address_not_verified"
    assert (
        error_code(client.verify_signup_email_address_verification_code(token, "WRONGCOD"))
        == "incorrect_email_address_verification_code"
    )
    code = email_sender.last("signup_code")["code"]
    success(client.verify_signup_email_address_verification_code(token, code), ActionSuccess)
    assert success(client.get_signup(token), GetSignupSuccess).signup.email_address_verified is True

    assert error_code(client.set_signup_password(token, "short")) == "invalid_password_length"
    assert error_code(client.set_signup_password(token, WEAK_PASSWORD)) == "weak_password"
    assert error_code(client.complete_signup(token)) == "password_not_set"
    success(client.set_signup_password(token, STRONG_PASSWORD), ActionSuccess)

    completed = success(client.complete_signup(token), NewSessionSuccess)
    assert completed.session.expires_at is None
    assert_utc_seconds(completed.session.created_at, START)
    assert completed.session_token.startswith(completed.session.id + ".")
    assert error_code(client.complete_signup(token)) == "invalid_signup_token"

    other = success(client.create_signup("other@example.com"), CreateSignupSuccess)
    success(client.delete_signup(other.signup_token), ActionSuccess)
    assert error_code(client.delete_signup(other.signup_token)) == "invalid_signup_token"
    assert error_code(client.create_signup("user@example.com")) == "email_address_already_used"

    recorder.assert_succeeded_and_failed(SIGNUP_ACTIONS)


def test_signin_and_session_actions(
    rclient: Client,
    recorder: RecordingTransport,
    email_sender: CapturingEmailSender,
    users: MemoryUserStore,
    clock: FakeClock,
) -> None:
    client = rclient
    first_session, user_id = sign_up(client, email_sender)

    assert error_code(client.create_signin("nobody@example.com")) == "user_not_found"
    assert error_code(client.create_signin("@")) == "invalid_email_address"
    created = success(client.create_signin("user@example.com"), CreateSigninSuccess)
    signin = created.signin
    assert (signin.user_id, signin.user_first_factor_verified) == (user_id, False)
    assert signin.expires_at - signin.created_at == timedelta(seconds=600)
    token = created.signin_token

    assert success(client.get_signin(token), GetSigninSuccess).signin == signin
    assert error_code(client.get_signin(token + "x")) == "invalid_signin_token"
    assert error_code(client.complete_signin(token)) == "user_first_factor_not_verified"
    assert error_code(client.verify_signin_user_password(token, "wrong password!")) == "incorrect_password"
    success(client.verify_signin_user_password(token, STRONG_PASSWORD), ActionSuccess)
    assert (
        error_code(client.verify_signin_user_password(token, STRONG_PASSWORD))
        == "user_first_factor_already_verified"
    )
    assert success(client.get_signin(token), GetSigninSuccess).signin.user_first_factor_verified is True

    clock.advance(90)
    completed = success(client.complete_signin(token), NewSessionSuccess)
    assert completed.session.user_id == user_id
    assert_utc_seconds(completed.session.created_at, START + timedelta(seconds=90))
    assert error_code(client.complete_signin(token)) == "invalid_signin_token"

    abandoned = success(client.create_signin("user@example.com"), CreateSigninSuccess)
    success(client.delete_signin(abandoned.signin_token), ActionSuccess)
    assert error_code(client.delete_signin(abandoned.signin_token)) == "invalid_signin_token"

    # Sessions.
    second_session = completed.session_token
    got = success(client.get_session(second_session), GetSessionSuccess)
    assert got.session == completed.session
    assert error_code(client.get_session("nonsense")) == "invalid_session_token"
    success(client.delete_session(second_session), ActionSuccess)
    assert error_code(client.get_session(second_session)) == "invalid_session_token"
    assert error_code(client.delete_session(second_session)) == "invalid_session_token"

    third_session = sign_in(client, "user@example.com", STRONG_PASSWORD)
    success(client.delete_all_sessions(third_session), ActionSuccess)
    assert users.get_user(user_id).sessions_counter == 1
    assert error_code(client.get_session(first_session)) == "invalid_session_token"
    assert error_code(client.delete_all_sessions(third_session)) == "invalid_session_token"

    recorder.assert_succeeded_and_failed(SIGNIN_ACTIONS + SESSION_ACTIONS)


def test_user_email_address_update_actions(
    rclient: Client,
    recorder: RecordingTransport,
    email_sender: CapturingEmailSender,
    users: MemoryUserStore,
) -> None:
    client = rclient
    session, user_id = sign_up(client, email_sender)
    other_session = sign_in(client, "user@example.com", STRONG_PASSWORD)

    assert error_code(client.create_user_email_address_update(session, "bad")) == "invalid_email_address"
    assert error_code(client.create_user_email_address_update("x", "new@example.com")) == "invalid_session_token"
    created = success(
        client.create_user_email_address_update(session, "new@example.com"),
        CreateUserEmailAddressUpdateSuccess,
    )
    update = created.user_email_address_update
    assert (update.user_id, update.new_email_address) == (user_id, "new@example.com")
    assert (update.new_email_address_verified, update.user_identity_verified) == (False, False)
    assert update.expires_at - update.created_at == timedelta(seconds=1200)
    token = created.user_email_address_update_token

    got = success(client.get_user_email_address_update(session, token), GetUserEmailAddressUpdateSuccess)
    assert got.user_email_address_update == update
    assert error_code(client.get_user_email_address_update(other_session, token)) == "session_mismatch"
    assert (
        error_code(client.get_user_email_address_update(session, "x"))
        == "invalid_user_email_address_update_token"
    )

    send = client.send_user_email_address_update_email_address_verification_code
    success(send(session, token), ActionSuccess)
    assert error_code(send(session, "x")) == "invalid_user_email_address_update_token"
    assert email_sender.last("update_code")["email_address"] == "new@example.com"

    verify_code = client.verify_user_email_address_update_email_address_verification_code
    verify_password = client.verify_user_email_address_update_user_password
    assert error_code(verify_password(session, token, STRONG_PASSWORD)) == "email_address_not_verified"
    assert error_code(verify_code(session, token, "WRONGCOD")) == "incorrect_email_address_verification_code"
    success(verify_code(session, token, email_sender.last("update_code")["code"]), ActionSuccess)
    assert error_code(client.complete_user_email_address_update(session, token)) == "user_identity_not_verified"
    assert error_code(verify_password(session, token, "not the password")) == "incorrect_password"
    success(verify_password(session, token, STRONG_PASSWORD), ActionSuccess)

    success(client.complete_user_email_address_update(session, token), ActionSuccess)
    assert users.get_user(user_id).email_address == "new@example.com"
    assert email_sender.last("email_updated")["email_address"] == "user@example.com"
    assert (
        error_code(client.complete_user_email_address_update(session, token))
        == "invalid_user_email_address_update_token"
    )
    assert error_code(client.create_signin("user@example.com")) == "user_not_found"

    abandoned = success(
        client.create_user_email_address_update(session, "third@example.com"),
        CreateUserEmailAddressUpdateSuccess,
    )
    abandoned_token = abandoned.user_email_address_update_token
    success(client.delete_user_email_address_update(session, abandoned_token), ActionSuccess)
    assert (
        error_code(client.delete_user_email_address_update(session, abandoned_token))
        == "invalid_user_email_address_update_token"
    )

    recorder.assert_succeeded_and_failed(EMAIL_UPDATE_ACTIONS)


def test_user_password_update_actions(
    rclient: Client,
    recorder: RecordingTransport,
    email_sender: CapturingEmailSender,
    clock: FakeClock,
) -> None:
    client = rclient
    session, user_id = sign_up(client, email_sender)
    other_session = sign_in(client, "user@example.com", STRONG_PASSWORD)

    assert error_code(client.create_user_password_update("x")) == "invalid_session_token"
    created = success(client.create_user_password_update(session), CreateUserPasswordUpdateSuccess)
    update = created.user_password_update
    assert (update.user_id, update.user_identity_verified, update.new_password_set) == (user_id, False, False)
    assert update.expires_at - update.created_at == timedelta(seconds=600)
    token = created.user_password_update_token

    got = success(client.get_user_password_update(session, token), GetUserPasswordUpdateSuccess)
    assert got.user_password_update == update
    assert error_code(client.get_user_password_update(session, "x")) == "invalid_password_update_token"
    assert error_code(client.get_user_password_update(other_session, token)) == "session_mismatch"

    set_new = client.set_user_password_update_new_password
    verify = client.verify_user_password_update_user_password
    assert error_code(set_new(session, token, NEW_PASSWORD)) == "user_identity_not_verified"
    assert error_code(verify(session, token, "not the password")) == "incorrect_password"
    success(verify(session, token, STRONG_PASSWORD), ActionSuccess)
    assert error_code(client.complete_user_password_update(session, token)) == "new_password_not_set"
    assert error_code(set_new(session, token, WEAK_PASSWORD)) == "weak_password"
    success(set_new(session, token, NEW_PASSWORD), ActionSuccess)
    assert error_code(set_new(session, token, NEW_PASSWORD)) == "new_password_already_set"

    success(client.complete_user_password_update(session, token), ActionSuccess)
    assert error_code(client.complete_user_password_update(session, token)) == "invalid_password_update_token"
    assert email_sender.last("password_updated")["email_address"] == "user@example.com"

    clock.advance(600)  # refill the per-user password bucket
    signin = success(client.create_signin("user@example.com"), CreateSigninSuccess).signin_token
    assert error_code(client.verify_signin_user_password(signin, STRONG_PASSWORD)) == "incorrect_password"
    success(client.verify_signin_user_password(signin, NEW_PASSWORD), ActionSuccess)

    abandoned = success(client.create_user_password_update(session), CreateUserPasswordUpdateSuccess)
    abandoned_token = abandoned.user_password_update_token
    success(client.delete_user_password_update(session, abandoned_token), ActionSuccess)
    assert (
        error_code(client.delete_user_password_update(session, abandoned_token))
        == "invalid_user_password_update_token"
    )

    recorder.assert_succeeded_and_failed(PASSWORD_UPDATE_ACTIONS)


def test_user_deletion_actions(
    rclient: Client,
    recorder: RecordingTransport,
    email_sender: CapturingEmailSender,
    users: MemoryUserStore,
) -> None:
    client = rclient
    session, user_id = sign_up(client, email_sender)
    other_session = sign_in(client, "user@example.com", STRONG_PASSWORD)

    assert error_code(client.create_user_deletion("x")) == "invalid_session_token"
    created = success(client.create_user_deletion(session), CreateUserDeletionSuccess)
    deletion = created.user_deletion
    assert (deletion.user_id, deletion.user_identity_verified) == (user_id, False)
    assert deletion.expires_at - deletion.created_at == timedelta(seconds=600)
    token = created.user_deletion_token

    got = success(client.get_user_deletion(session, token), GetUserDeletionSuccess)
    assert got.user_deletion == deletion
    assert error_code(client.get_user_deletion(session, "x")) == "invalid_user_deletion_token"
    assert error_code(client.get_user_deletion(other_session, token)) == "session_mismatch"

    assert error_code(client.complete_user_deletion(session, token)) == "user_identity_not_verified"
    assert error_code(client.verify_user_deletion_user_password(session, token, "nope nope")) == "incorrect_password"
    success(client.verify_user_deletion_user_password(session, token, STRONG_PASSWORD), ActionSuccess)

    abandoned = success(client.create_user_deletion(session), CreateUserDeletionSuccess)
    success(client.delete_user_deletion(session, abandoned.user_deletion_token), ActionSuccess)
    assert (
        error_code(client.delete_user_deletion(session, abandoned.user_deletion_token))
        == "invalid_user_deletion_token"
    )

    success(client.complete_user_deletion(session, token), ActionSuccess)
    assert error_code(client.get_session(session)) == "invalid_session_token"
    assert error_code(client.complete_user_deletion(session, token)) == "invalid_session_token"
    assert error_code(client.create_signin("user@example.com")) == "user_not_found"
    with pytest.raises(UserNotFoundError):
        users.get_user(user_id)

    recorder.assert_succeeded_and_failed(DELETION_ACTIONS)


def test_user_password_reset_actions(
    rclient: Client,
    recorder: RecordingTransport,
    email_sender: CapturingEmailSender,
    users: MemoryUserStore,
) -> None:
    client = rclient
    _, user_id = sign_up(client, email_sender)

    assert error_code(client.create_user_password_reset("nobody@example.com")) == "user_not_found"
    created = success(client.create_user_password_reset("user@example.com"), CreateUserPasswordResetSuccess)
    reset = created.user_password_reset
    assert (reset.user_id, reset.user_first_factor_verified, reset.new_password_set) == (user_id, False, False)
    assert reset.expires_at - reset.created_at == timedelta(seconds=1200)
    token = created.user_password_reset_token
    temporary_password = email_sender.last("temporary_password")["temporary_password"]

    assert success(client.get_user_password_reset(token), GetUserPasswordResetSuccess).user_password_reset == reset
    assert error_code(client.get_user_password_reset("x")) == "invalid_user_password_reset_token"

    verify = client.verify_user_password_reset_temporary_password
    set_new = client.set_user_password_reset_new_password
    assert error_code(set_new(token, NEW_PASSWORD)) == "user_first_factor_not_verified"
    assert error_code(verify(token, "WRONGWRONG12")) == "incorrect_temporary_password"
    success(verify(token, temporary_password.lower()), ActionSuccess)  # upper-cased (policy item 10)
    assert error_code(client.complete_user_password_reset(token)) == "new_password_not_set"
    assert error_code(set_new(token, "x" * 101)) == "invalid_password_length"
    success(set_new(token, NEW_PASSWORD), ActionSuccess)

    completed = success(client.complete_user_password_reset(token), NewSessionSuccess)
    assert completed.session.user_id == user_id
    assert success(client.get_session(completed.session_token), GetSessionSuccess).session.user_id == user_id
    assert error_code(client.complete_user_password_reset(token)) == "invalid_user_password_reset_token"
    assert users.get_user(user_id).password_hash_counter == 1

    abandoned = success(client.create_user_password_reset("user@example.com"), CreateUserPasswordResetSuccess)
    success(client.delete_user_password_reset(abandoned.user_password_reset_token), ActionSuccess)
    assert (
        error_code(client.delete_user_password_reset(abandoned.user_password_reset_token))
        == "invalid_user_password_reset_token"
    )

    recorder.assert_succeeded_and_failed(PASSWORD_RESET_ACTIONS)
