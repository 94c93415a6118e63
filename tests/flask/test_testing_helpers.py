"""``faroe_flask.testing``: memory parts, cheap hashing, the Outbox and the one-call sign-up/in."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, jsonify

from faroe_flask import Faroe, MemoryStorage, MemoryUserStore, current_user, login_required
from faroe_flask.testing import (
    FAST_PASSWORD_HASHING,
    TEST_PASSWORD,
    Outbox,
    bearer_headers,
    clear_client_session,
    memory_faroe,
    memory_parts,
    outbox_of,
    sign_in,
    sign_in_client,
    sign_up,
    sign_up_client,
)

from ..conftest import CapturingEmailSender

EMAIL = "lin@example.com"


def protected_app(**config: object) -> Flask:
    app = Flask("helpers_test")
    app.config.update(TESTING=True, **config)
    memory_faroe(app)

    @app.get("/profile")
    @login_required
    def profile() -> object:
        return jsonify(email=current_user.email_address)

    return app


def test_a_protected_view_test_is_a_few_lines() -> None:
    client = protected_app().test_client()
    assert client.get("/profile").status_code == 401
    sign_up_client(client, EMAIL)
    assert client.get("/profile").json == {"email": EMAIL}
    clear_client_session(client)
    assert client.get("/profile").status_code == 401
    sign_in_client(client, EMAIL)
    assert client.get("/profile").status_code == 200


def test_sign_in_and_bearer_headers() -> None:
    app = protected_app()
    first = sign_up(EMAIL, app=app)
    second = sign_in(EMAIL, app=app)
    assert first.user_id == second.user_id and first.session.id != second.session.id
    assert first.email_address == EMAIL
    assert second.session_token not in repr(second)
    response = app.test_client().get("/profile", headers=bearer_headers(second))
    assert response.json == {"email": EMAIL}


def test_a_wrong_password_fails_loudly() -> None:
    app = protected_app()
    sign_up(EMAIL, app=app)
    with pytest.raises(AssertionError, match="verify_signin_user_password failed"):
        sign_in(EMAIL, "not the password", app=app)


def test_the_current_app_is_used_without_app() -> None:
    app = protected_app()
    with app.app_context():
        signed = sign_up(EMAIL)
    assert signed.email_address == EMAIL


def test_memory_faroe_uses_cheap_hashing_unless_configured() -> None:
    app = protected_app()
    for key, value in FAST_PASSWORD_HASHING.items():
        assert app.config[key] == value
    passwords = app.extensions["faroe"].server.passwords
    assert passwords.user_algorithms[0].id == "argon2id.64.1.1.32"
    assert passwords.temporary_algorithm.id == "argon2id.32.1.1.32"
    custom = protected_app(FAROE_USER_PASSWORD_ARGON2_MEMORY_COST=128)
    assert custom.extensions["faroe"].server.passwords.user_algorithms[0].id == "argon2id.128.1.1.32"
    sign_up(EMAIL, app=custom)  # the offline strength check accepts TEST_PASSWORD; no internet


def test_memory_parts_are_fresh_and_overridable() -> None:
    first, second = memory_parts(), memory_parts()
    assert isinstance(first["storage"], MemoryStorage) and first["storage"] is not second["storage"]
    assert isinstance(first["user_store"], MemoryUserStore)
    assert isinstance(first["email_sender"], Outbox)
    users = MemoryUserStore()
    assert memory_parts(user_store=users)["user_store"] is users


def test_the_outbox_renders_the_real_messages_and_takes_the_secrets_out() -> None:
    app = protected_app()
    sign_up(EMAIL, app=app)
    outbox = outbox_of(app)
    code_email = outbox.last(EMAIL, "signup_email_address_verification_code")
    assert code_email.code is not None and len(code_email.code) == 8
    assert code_email.code in code_email.text and code_email.code in code_email.html
    assert code_email.subject == "Your email address verification code"
    assert code_email.code not in repr(code_email)
    assert outbox.code_for(EMAIL) == code_email.code

    with app.app_context():
        state = app.extensions["faroe"]
        assert state.invoke("create_user_password_reset", {"user_email_address": EMAIL}).ok
    temporary = outbox.temporary_password_for(EMAIL)
    assert len(temporary) == 12
    reset_email = outbox.last(EMAIL, "user_password_reset_temporary_password")
    assert temporary in reset_email.text and temporary not in repr(reset_email)

    sign_in(EMAIL, app=app)
    assert [email.message for email in outbox.to(EMAIL)] == [
        "signup_email_address_verification_code",
        "user_password_reset_temporary_password",
        "user_signed_in_notification",
    ]
    outbox.clear()
    assert outbox.messages == []
    with pytest.raises(AssertionError):
        outbox.code_for(EMAIL)
    with pytest.raises(AssertionError):
        outbox.temporary_password_for(EMAIL)
    with pytest.raises(AssertionError):
        outbox.last()


def test_the_outbox_uses_the_apps_templates(tmp_path: Path) -> None:
    folder = tmp_path / "faroe" / "email"
    folder.mkdir(parents=True)
    (folder / "signup_email_address_verification_code.txt").write_text("Our code: {{ code }}!")
    app = Flask("templated", template_folder=str(tmp_path))
    app.config.update(TESTING=True)
    memory_faroe(app)
    sign_up(EMAIL, app=app)
    email = outbox_of(app).last(EMAIL)
    assert email.text == f"Our code: {email.code}!"


def test_the_outbox_can_forward_to_another_sender() -> None:
    inner = CapturingEmailSender()
    app = Flask("forwarding")
    app.config.update(TESTING=True)
    memory_faroe(app, email_sender=Outbox(app, forward_to=inner))
    sign_up(EMAIL, app=app)
    sign_in(EMAIL, app=app)
    assert inner.last("signup_code")["code"] == outbox_of(app).code_for(EMAIL)
    assert inner.last("signed_in")["email_address"] == EMAIL


def test_helpers_need_an_outbox() -> None:
    app = Flask("no_outbox")
    app.config.update(TESTING=True, **FAST_PASSWORD_HASHING)
    Faroe(app, **memory_parts(email_sender=CapturingEmailSender()))
    with pytest.raises(RuntimeError, match="Outbox"):
        sign_up(EMAIL, TEST_PASSWORD, app=app)
