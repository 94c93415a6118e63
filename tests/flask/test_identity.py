"""The application's identity hooks and their view glue (faroe_flask.flask.hooks / identity), on
in-memory parts: sign-in and reset by an identifier, the application's own sign-up fields."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask

from faroe_flask import MemoryUserStore, UserNotFoundError
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import Faroe
from faroe_flask.flask.hooks import SignupField
from faroe_flask.flask.identity import (
    SIGNUP_NOT_FINISHED,
    InvalidSignupFields,
    complete_signup,
    read_signup_fields,
    resolve_identifier,
    sign_in,
    start_password_reset,
    start_signin,
)
from faroe_flask.testing import TEST_PASSWORD, memory_faroe, outbox_of, sign_up
from faroe_flask.testing import sign_in as sign_in_helper

USERNAMES = {"ada": "ada@example.com"}


def make_app() -> tuple[Flask, Faroe, list[str]]:
    """An app whose resolver knows ``USERNAMES``; the list records the actions that ran."""
    app = Flask("identity_test")
    app.config.update(TESTING=True)
    faroe = memory_faroe(app)
    actions: list[str] = []

    def record(action: str, arguments: dict[str, str], run: Any) -> Any:
        actions.append(action)
        return run(action, arguments)

    faroe.get_state(app).server.add_action_observer(record)

    @faroe.identifier_resolver
    def resolve(identifier: str) -> str | None:
        if identifier == "boom":
            raise LookupError("the directory is down: ada@example.com")
        return identifier if "@" in identifier else USERNAMES.get(identifier)

    return app, faroe, actions


def test_sign_in_by_username_or_address() -> None:
    app, _, actions = make_app()
    user = sign_up("ada@example.com", app=app)
    with app.app_context():
        assert resolve_identifier("ada") == "ada@example.com"
        for identifier in ("ada", "ada@example.com"):
            result = sign_in(identifier, TEST_PASSWORD)
            assert result.ok and result.values["session"]["user_id"] == user.user_id
        actions.clear()
        wrong = sign_in("ada", "not the password")
        assert not wrong.ok and wrong.error_code == "incorrect_password"
        # A wrong password deletes the signin, as the pages do.
        assert actions == ["create_signin", "verify_signin_user_password", "delete_signin"]


def test_an_unknown_identifier_answers_user_not_found_without_an_action() -> None:
    app, _, actions = make_app()
    with app.app_context():
        actions.clear()
        for result in (start_signin("nobody"), sign_in("nobody", TEST_PASSWORD), start_password_reset("nobody")):
            assert not result.ok and result.error_code == "user_not_found"
        assert actions == []
        # An address goes to the action, which answers for itself.
        assert start_signin("nobody@example.com").error_code == "user_not_found"
        assert actions == ["create_signin"]


def test_a_failing_resolver_is_an_internal_error_logged_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    app, _, actions = make_app()
    with app.app_context(), caplog.at_level(logging.ERROR, logger="faroe_flask"):
        actions.clear()
        result = sign_in("boom", TEST_PASSWORD)
    assert not result.ok and result.error_code == "internal_error" and actions == []
    (line,) = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert "LookupError" in line and "ada@example.com" not in line


def test_password_reset_by_username_mails_the_account() -> None:
    app, _, _ = make_app()
    sign_up("ada@example.com", app=app)
    with app.app_context():
        assert start_password_reset("ada").ok
    assert outbox_of(app).temporary_password_for("ada@example.com")


def test_without_a_resolver_the_identifier_is_the_address() -> None:
    app = Flask("plain")
    memory_faroe(app)
    sign_up("grace@example.com", app=app)
    with app.app_context():
        assert resolve_identifier("grace") == "grace"
        assert sign_in("grace@example.com", TEST_PASSWORD).ok
        assert sign_in("grace", TEST_PASSWORD).error_code == "invalid_email_address"


# Sign-up fields ---------------------------------------------------------------------------------


def fields_app() -> tuple[Flask, Faroe, list[tuple[str, Mapping[str, str]]]]:
    app, faroe, _ = make_app()
    taken = {"ada"}
    received: list[tuple[str, Mapping[str, str]]] = []

    def check_username(value: str) -> str | None:
        if value == "crash":
            raise RuntimeError("the check failed for ada@example.com")
        return "This username is taken." if value in taken else None

    faroe.signup_fields = [
        SignupField("username", "Username", max_length=10, validate=check_username, autocomplete="username"),
        SignupField("nickname", "Nickname", required=False),
    ]

    @faroe.signup_fields_receiver
    def receive(user_id: str, fields: Mapping[str, str]) -> None:
        if fields["username"] == "explode":
            raise RuntimeError("the username column refused")
        received.append((user_id, dict(fields)))
        taken.add(fields["username"])

    return app, faroe, received


def test_read_signup_fields_checks_each_field(caplog: pytest.LogCaptureFixture) -> None:
    app, _, _ = fields_app()
    with app.app_context():
        assert read_signup_fields({"username": "  lin  ", "other": "x"}) == ({"username": "lin", "nickname": ""}, {})
        assert read_signup_fields({}) == ({"username": "", "nickname": ""}, {"username": "Username is required."})
        assert read_signup_fields({"username": "x" * 11})[1] == {"username": "Username must be at most 10 characters long."}
        assert read_signup_fields({"username": "ada"})[1] == {"username": "This username is taken."}
        with caplog.at_level(logging.ERROR, logger="faroe_flask"):
            errors = read_signup_fields({"username": "crash"})[1]
        assert errors == {"username": "This could not be checked just now. Please try again."}
        assert "RuntimeError" in caplog.text and "ada@example.com" not in caplog.text
        assert read_signup_fields({"username": ["not", "a", "string"]})[1] == {"username": "Username is required."}


def test_the_fields_reach_the_receiver_in_the_request_that_creates_the_user() -> None:
    app, _, received = fields_app()
    user = sign_up("lin@example.com", app=app, fields={"username": "lin", "nickname": " L "})
    assert received == [(user.user_id, {"username": "lin", "nickname": "L"})]


def test_fields_taken_meanwhile_are_refused_before_anything_is_created() -> None:
    app, _, received = fields_app()
    signup_token = _verified_signup(app, "lin@example.com")
    sign_up("mo@example.com", app=app, fields={"username": "lin"})  # takes "lin" first
    with app.app_context():
        with pytest.raises(InvalidSignupFields) as invalid:
            complete_signup(signup_token, {"username": "lin"})
        assert invalid.value.errors == {"username": "This username is taken."}
        # Nothing was created and the signup is still there: another username completes it.
        result = complete_signup(signup_token, {"username": "lin2"})
        assert result.ok
    assert [fields["username"] for _, fields in received] == ["lin", "lin2"]


def test_a_receiver_that_raises_undoes_the_new_user(caplog: pytest.LogCaptureFixture) -> None:
    app, faroe, received = fields_app()
    signup_token = _verified_signup(app, "zed@example.com")
    with app.app_context(), caplog.at_level(logging.ERROR, logger="faroe_flask"):
        with pytest.raises(InvalidSignupFields) as invalid:
            complete_signup(signup_token, {"username": "explode"})
    assert invalid.value.errors == {"": SIGNUP_NOT_FINISHED}
    assert "RuntimeError" in caplog.text and "refused" not in caplog.text
    store = faroe.get_state(app).user_store
    with pytest.raises(UserNotFoundError):
        store.get_user_by_email_address("zed@example.com")
    # The person can sign up again with the same address.
    assert sign_up("zed@example.com", app=app, fields={"username": "zed"}).email_address == "zed@example.com"
    assert [fields["username"] for _, fields in received] == ["zed"]


def _verified_signup(app: Flask, email_address: str) -> str:
    state = app.extensions["faroe"]
    token: str = state.invoke("create_signup", {"email_address": email_address}).values["signup_token"]
    code = outbox_of(app).code_for(email_address)
    assert state.invoke("verify_signup_email_address_verification_code", {"signup_token": token, "email_address_verification_code": code}).ok
    assert state.invoke("set_signup_password", {"signup_token": token, "password": TEST_PASSWORD}).ok
    return token


# Deletion hook and setting on an extension with its own store ----------------------------------


def test_the_deletion_settings_apply_to_the_store_the_extension_builds() -> None:
    faroe = Faroe(user_store=MemoryUserStore())
    with pytest.raises(RuntimeError, match="before_delete"):
        faroe.before_user_delete(lambda deletion: None)
    app = Flask("own_store")
    app.config.update(FAROE_USER_DELETION="anonymise")
    with pytest.raises(ConfigError, match="FAROE_USER_DELETION"):
        memory_faroe(app)
    app = Flask("bad_value")
    app.config.update(FAROE_USER_DELETION="shred", FAROE_DATABASE_URL="sqlite:///unused.db")
    with pytest.raises(ConfigError, match="FAROE_USER_DELETION"):
        Faroe(app)


def test_signup_field_names_are_identifiers() -> None:
    with pytest.raises(ValueError):
        SignupField("user name", "Username")
    with pytest.raises(ValueError):
        SignupField("username", "Username", max_length=0)


def test_the_fields_reach_the_receiver_when_the_new_session_is_not_stored() -> None:
    """``session_not_created``: the user exists without a session; its fields still reach the
    application, in that request, and the person signs in afterwards."""
    from faroe_flask import MemoryStorage

    from ..core.wrappers import SESSION, InterferingStorage

    app = Flask("no_session")
    app.config.update(TESTING=True)
    storage = InterferingStorage(MemoryStorage())
    faroe = memory_faroe(app, storage=storage)
    faroe.signup_fields = [SignupField("username", "Username")]
    received: list[tuple[str, Mapping[str, str]]] = []
    faroe.signup_fields_receiver(lambda user_id, fields: received.append((user_id, dict(fields))))
    signup_token = _verified_signup(app, "ivy@example.com")
    storage.fail("add", SESSION)
    with app.app_context():
        result = complete_signup(signup_token, {"username": "ivy"})
        assert not result.ok and result.error_code == "session_not_created"
        user = faroe.get_state(app).user_store.get_user_by_email_address("ivy@example.com")
    assert received == [(user.id, {"username": "ivy"})]
    assert sign_in_helper("ivy@example.com", app=app).user_id == user.id


def test_an_unknown_identifier_counts_against_the_clients_limit_before_the_resolver_runs() -> None:
    from faroe_flask import ClientLimitExceeded

    app = Flask("limited")
    app.config.update(TESTING=True, FAROE_CLIENT_LIMITS="on", FAROE_CLIENT_EMAIL_LIMIT="2/minute")
    faroe = memory_faroe(app)
    asked: list[str] = []

    @faroe.identifier_resolver
    def resolve(identifier: str) -> str | None:
        asked.append(identifier)
        return None

    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.9"}):
        for _ in range(2):
            assert start_password_reset("nobody").error_code == "user_not_found"
        with pytest.raises(ClientLimitExceeded):
            start_password_reset("nobody")
    assert asked == ["nobody", "nobody"]
