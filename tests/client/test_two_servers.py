"""Two servers over real HTTP: a Faroe server whose user store is a ``UserServerClient`` pointed at
the user-server blueprint of another Flask app, each served by waitress on loopback, driven by
``Client`` over ``HTTPTransport``. The whole journey: signup, signin, email change, password
reset, password change, ending sessions, deletion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask

from faroe_flask import MemoryStorage, MemoryUserStore, Server, SessionConfig, UserNotFoundError
from faroe_flask.client import (
    ActionSuccess,
    Client,
    CreateSigninSuccess,
    CreateUserDeletionSuccess,
    CreateUserEmailAddressUpdateSuccess,
    CreateUserPasswordResetSuccess,
    CreateUserPasswordUpdateSuccess,
    GetSessionSuccess,
    HTTPTransport,
    NewSessionSuccess,
    UnexpectedStatusError,
)
from faroe_flask.flask.extension import Faroe
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
from .conftest import faroe_endpoint_app, serve
from .helpers import error_code, sign_in, sign_up, success

SECRET = "u5er-server-Secret-2b7"
ENDPOINT_SECRET = "faroe-endpoint-Secret-9k"
RESET_PASSWORD = "violet harbour 42 compass"
UPDATED_PASSWORD = "copper kettle 19 orchard"


@dataclass(frozen=True)
class TwoServers:
    client: Client
    users: MemoryUserStore  # what the user server app keeps
    storage: MemoryStorage  # what the Faroe server keeps


@pytest.fixture(params=["minimal-endpoint", "extension"])
def two_servers(
    request: pytest.FixtureRequest,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    clock: FakeClock,
    strength_checker: BannedPasswords,
) -> Iterator[TwoServers]:
    users = MemoryUserStore()
    user_app = Flask("the_application_with_the_users")
    user_app.register_blueprint(user_server_blueprint(users, secret=SECRET))
    with serve(user_app) as user_server_url:
        user_store = UserServerClient.from_url(user_server_url + "/faroe-user-server", secret=SECRET, timeout=10)
        storage = MemoryStorage()
        faroe = Server(
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
        if request.param == "extension":
            # The product: the Faroe Flask extension's endpoint, behind a bearer secret.
            app = Flask("faroe_app")
            app.config["FAROE_ENDPOINT_SECRET"] = ENDPOINT_SECRET
            Faroe(app, server=faroe)
            path, secret = "/faroe", ENDPOINT_SECRET
        else:
            app, path, secret = faroe_endpoint_app(faroe), "/", None
        with serve(app) as faroe_url:
            with HTTPTransport(faroe_url + path, bearer_secret=secret, timeout=10) as transport:
                yield TwoServers(Client(transport), users, storage)
        user_store.close()


def test_the_whole_journey_over_two_http_servers(
    two_servers: TwoServers,
    email_sender: CapturingEmailSender,
    error_logger: CapturingErrorLogger,
    clock: FakeClock,
) -> None:
    client, users = two_servers.client, two_servers.users

    # Signup: the user is created on the user server.
    first_session, user_id = sign_up(client, email_sender, "Ada@example.com")
    user = users.get_user(user_id)
    assert (user.email_address, user.password_hash_algorithm_id) == ("Ada@example.com", FAST_USER_ALGORITHM.id)
    assert len(user.password_hash) == 32 and len(user.password_salt) == 16
    assert success(client.get_session(first_session), GetSessionSuccess).session.user_id == user_id
    assert error_code(client.create_signup("Ada@example.com")) == "email_address_already_used"

    # Signin with the password checked against the hash the user server returns.
    signin = success(client.create_signin("Ada@example.com"), CreateSigninSuccess)
    assert error_code(client.verify_signin_user_password(signin.signin_token, "wrong password")) == "incorrect_password"
    success(client.verify_signin_user_password(signin.signin_token, STRONG_PASSWORD), ActionSuccess)
    session = success(client.complete_signin(signin.signin_token), NewSessionSuccess).session_token
    assert email_sender.last("signed_in")["email_address"] == "Ada@example.com"

    # Email change.
    update = success(
        client.create_user_email_address_update(session, "ada@lovelace.example"), CreateUserEmailAddressUpdateSuccess
    ).user_email_address_update_token
    code = email_sender.last("update_code")["code"]
    success(client.verify_user_email_address_update_email_address_verification_code(session, update, code),
            ActionSuccess)
    success(client.verify_user_email_address_update_user_password(session, update, STRONG_PASSWORD), ActionSuccess)
    success(client.complete_user_email_address_update(session, update), ActionSuccess)
    assert users.get_user(user_id).email_address == "ada@lovelace.example"
    assert users.get_user(user_id).email_address_counter == 1
    assert email_sender.last("email_updated")["email_address"] == "Ada@example.com"
    assert error_code(client.create_signin("Ada@example.com")) == "user_not_found"

    # Password reset through the new address.
    clock.advance(120)
    reset = success(client.create_user_password_reset("ada@lovelace.example"), CreateUserPasswordResetSuccess)
    temporary_password = email_sender.last("temporary_password")["temporary_password"]
    assert email_sender.last("temporary_password")["email_address"] == "ada@lovelace.example"
    token = reset.user_password_reset_token
    success(client.verify_user_password_reset_temporary_password(token, temporary_password), ActionSuccess)
    success(client.set_user_password_reset_new_password(token, RESET_PASSWORD), ActionSuccess)
    reset_session = success(client.complete_user_password_reset(token), NewSessionSuccess)
    assert reset_session.session.user_id == user_id
    assert users.get_user(user_id).password_hash_counter == 1
    clock.advance(600)
    sign_in(client, "ada@lovelace.example", RESET_PASSWORD)

    # Password change in a session.
    change = success(client.create_user_password_update(session), CreateUserPasswordUpdateSuccess)
    change_token = change.user_password_update_token
    success(client.verify_user_password_update_user_password(session, change_token, RESET_PASSWORD), ActionSuccess)
    success(client.set_user_password_update_new_password(session, change_token, UPDATED_PASSWORD), ActionSuccess)
    success(client.complete_user_password_update(session, change_token), ActionSuccess)
    assert users.get_user(user_id).password_hash_counter == 2
    clock.advance(600)
    last_session = sign_in(client, "ada@lovelace.example", UPDATED_PASSWORD)

    # End every other session, then sign in again.
    success(client.delete_all_sessions(session), ActionSuccess)
    assert users.get_user(user_id).sessions_counter == 1
    for ended in (first_session, session, last_session, reset_session.session_token):
        assert error_code(client.get_session(ended)) == "invalid_session_token"
    clock.advance(600)
    final_session = sign_in(client, "ada@lovelace.example", UPDATED_PASSWORD)

    # Deletion removes the user from the user server.
    deletion = success(client.create_user_deletion(final_session), CreateUserDeletionSuccess)
    success(client.verify_user_deletion_user_password(final_session, deletion.user_deletion_token, UPDATED_PASSWORD),
            ActionSuccess)
    success(client.complete_user_deletion(final_session, deletion.user_deletion_token), ActionSuccess)
    with pytest.raises(UserNotFoundError):
        users.get_user(user_id)
    assert error_code(client.get_session(final_session)) == "invalid_session_token"
    assert error_code(client.create_signin("ada@lovelace.example")) == "user_not_found"

    # No internal error anywhere on the way.
    assert error_logger.entries == []



def test_the_extension_endpoint_answers_a_wrong_secret_with_401(faroe_server: Server) -> None:
    app = Flask("faroe_app_with_secret")
    app.config["FAROE_ENDPOINT_SECRET"] = ENDPOINT_SECRET
    Faroe(app, server=faroe_server)
    with serve(app) as url:
        for secret in ("not-the-secret", None):
            with HTTPTransport(url + "/faroe", bearer_secret=secret) as transport:
                with pytest.raises(UnexpectedStatusError) as caught:
                    Client(transport).get_session("x")
            assert caught.value.status == 401
        with HTTPTransport(url + "/faroe", bearer_secret=ENDPOINT_SECRET) as transport:
            assert error_code(Client(transport).get_session("x")) == "invalid_session_token"
