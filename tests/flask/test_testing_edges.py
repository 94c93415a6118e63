"""``faroe_flask.testing``'s edges: the Outbox's filters, the helpers' own passwords, sign-up fields
and identifiers, the client cookie on a configured path and domain, and ``close_faroe``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify

from faroe_flask import Faroe, MemoryUserStore, current_faroe, current_user, login_required
from faroe_flask.flask.hooks import SignupField
from faroe_flask.sql import upgrade_database
from faroe_flask.testing import (
    FAST_PASSWORD_HASHING,
    TEST_PASSWORD,
    Outbox,
    bearer_headers,
    clear_client_session,
    close_faroe,
    memory_faroe,
    memory_parts,
    outbox_of,
    set_client_session,
    sign_in,
    sign_in_client,
    sign_up,
    sign_up_client,
)

from ..conftest import CapturingEmailSender

ADA = "ada@example.com"
BOB = "bob@example.com"
OWN_PASSWORD = "walnut Harbour 9 lighthouse"


def app_with_views(**config: object) -> Flask:
    app = Flask("testing_edges")
    app.config.update(TESTING=True, **config)
    memory_faroe(app)

    @app.get("/me")
    @login_required
    def me() -> Any:
        return jsonify(email=current_user.email_address)

    @app.get("/app/me")
    @login_required
    def app_me() -> Any:
        return jsonify(email=current_user.email_address)

    return app


# The Outbox ------------------------------------------------------------------------------------


def test_the_outbox_filters_by_address_and_kind() -> None:
    app = app_with_views()
    sign_up(ADA, app=app)
    sign_up(BOB, app=app)
    sign_in(ADA, app=app)
    outbox = outbox_of(app)
    assert [(email.to, email.message) for email in outbox.to(ADA)] == [
        (ADA, "signup_email_address_verification_code"),
        (ADA, "user_signed_in_notification"),
    ]
    assert [email.to for email in outbox.to(ADA, "user_signed_in_notification")] == [ADA]
    assert outbox.to(BOB, "user_signed_in_notification") == []
    # The newest message, of an address, of a kind, or both.
    assert (outbox.last().to, outbox.last().message) == (ADA, "user_signed_in_notification")
    assert outbox.last(BOB).message == "signup_email_address_verification_code"
    assert outbox.last(message="signup_email_address_verification_code").to == BOB
    assert outbox.last(ADA, "signup_email_address_verification_code").code == outbox.code_for(ADA)
    with pytest.raises(AssertionError, match="^no such message in the outbox"):
        outbox.last(BOB, "user_signed_in_notification")


def test_the_temporary_password_is_found_behind_newer_messages() -> None:
    app = app_with_views()
    sign_up(ADA, app=app)
    with app.app_context():
        assert current_faroe.invoke("create_user_password_reset", {"user_email_address": ADA}).ok
    outbox = outbox_of(app)
    temporary = outbox.temporary_password_for(ADA)
    sign_in(ADA, app=app)  # a newer message to the same address, without a temporary password
    assert outbox.last(ADA).message == "user_signed_in_notification"
    assert outbox.temporary_password_for(ADA) == temporary
    sign_up(BOB, app=app)
    with pytest.raises(AssertionError, match="^no temporary password was sent to that address$"):
        outbox.temporary_password_for(BOB)


def test_notifications_to_invalid_addresses_are_not_kept_but_codes_are() -> None:
    app = app_with_views()
    sign_up("someone@example.invalid", app=app)
    sign_in("someone@example.invalid", app=app)
    assert [email.message for email in outbox_of(app).messages] == ["signup_email_address_verification_code"]


def change_email_address(app: Flask, old: str, new: str) -> None:
    """The whole email address update flow, in-process."""
    signed = sign_in(old, app=app)
    outbox = outbox_of(app)
    with app.app_context():

        def run(action: str, **arguments: str) -> dict[str, Any]:
            result = current_faroe.invoke(action, {"session_token": signed.session_token, **arguments})
            assert result.ok, (action, result.error_code)
            return result.values

        update = run("create_user_email_address_update", new_email_address=new)["user_email_address_update_token"]
        run("verify_user_email_address_update_email_address_verification_code", user_email_address_update_token=update,
            email_address_verification_code=outbox.code_for(new))
        run("verify_user_email_address_update_user_password", user_email_address_update_token=update,
            password=TEST_PASSWORD)
        run("complete_user_email_address_update", user_email_address_update_token=update)


@pytest.mark.parametrize("with_app", [True, False])
def test_the_outbox_renders_for_the_recipient_with_or_without_the_app(with_app: bool) -> None:
    app = Flask("testing_render")
    app.config.update(TESTING=True)
    memory_faroe(app, email_sender=Outbox(app) if with_app else Outbox())
    sign_up(ADA, app=app)
    change_email_address(app, ADA, BOB)
    outbox = outbox_of(app)
    code = outbox.last(BOB, "user_email_address_update_email_verification_code")
    assert f"To use {BOB} as your new email address" in code.text and code.code is not None
    assert code.subject == "Verify your new email address"
    updated = outbox.last(ADA, "user_email_address_updated_notification")
    assert updated.new_email_address == BOB and BOB in updated.text
    assert outbox.last(ADA, "signup_email_address_verification_code").new_email_address is None
    with pytest.raises(AssertionError, match="^no verification code was sent to that address$"):
        outbox.code_for("nobody@example.com")


def test_the_outbox_renders_the_apps_templates_in_its_app_context(tmp_path: Path) -> None:
    folder = tmp_path / "faroe" / "email"
    folder.mkdir(parents=True)
    (folder / "signup_email_address_verification_code.txt").write_text(
        "{{ code }} at {{ url_for('home', _external=True) }}"
    )
    app = Flask("testing_url_for", template_folder=str(tmp_path))
    app.config.update(TESTING=True, SERVER_NAME="example.com")
    app.add_url_rule("/home", "home", lambda: "home")
    memory_faroe(app)
    sign_up(ADA, app=app)
    email = outbox_of(app).last(ADA)
    assert email.text == f"{email.code} at http://example.com/home"


def test_memory_faroe_turns_the_client_limits_off_unless_configured() -> None:
    def signups(app: Flask) -> list[int]:
        client = app.test_client()
        return [
            client.post("/faroe", json={"action": "create_signup", "arguments": {"email_address": f"u{n}@example.com"}})
            .status_code
            for n in range(11)
        ]

    assert app_with_views().config["FAROE_CLIENT_LIMITS"] == "off"
    assert signups(app_with_views()) == [200] * 11
    assert signups(app_with_views(FAROE_CLIENT_LIMITS="on")) == [200] * 10 + [429]


# Signing up and in -----------------------------------------------------------------------------


def test_the_helpers_pass_their_own_password_on() -> None:
    app = app_with_views()
    client = app.test_client()
    sign_up_client(client, ADA, OWN_PASSWORD)
    clear_client_session(client)
    assert client.get("/me").status_code == 401
    sign_in_client(client, ADA, OWN_PASSWORD)
    assert client.get("/me").json == {"email": ADA}


def test_sign_in_uses_the_current_app_and_says_which_step_failed() -> None:
    app = app_with_views()
    sign_up(ADA, app=app)
    with app.app_context():
        assert sign_in(ADA).email_address == ADA
    with pytest.raises(AssertionError, match="^create_signin failed with user_not_found$"):
        sign_in(BOB, app=app)


def test_sign_up_client_hands_the_fields_on_and_sign_in_resolves_the_identifier() -> None:
    app = Flask("testing_fields")
    app.config.update(TESTING=True)
    faroe = memory_faroe(app)
    faroe.signup_fields = [SignupField("username", "Username")]
    usernames: dict[str, str] = {}

    @faroe.signup_fields_receiver
    def save(user_id: str, fields: Mapping[str, str]) -> None:
        usernames[fields["username"]] = user_id

    @faroe.identifier_resolver
    def resolve(identifier: str) -> str | None:
        if "@" in identifier:
            return identifier
        return app.extensions["faroe"].user_store.get_user(usernames[identifier]).email_address if identifier in usernames else None

    client = app.test_client()
    signed_up = sign_up_client(client, ADA, fields={"username": "ada"})
    assert usernames == {"ada": signed_up.user_id}
    signed_in = sign_in("ada", app=app)
    assert (signed_in.user_id, signed_in.email_address) == (signed_up.user_id, ADA)


def test_a_failing_last_step_fails_sign_up_loudly() -> None:
    class FullUserStore(MemoryUserStore):
        def create_user(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("the users database is full")

    app = Flask("testing_full")
    app.config.update(TESTING=True)
    memory_faroe(app, user_store=FullUserStore())
    with pytest.raises(AssertionError, match="^complete_signup failed with internal_error$"):
        sign_up(ADA, app=app)


def test_signed_in_carries_its_token_in_its_session() -> None:
    signed = sign_up(ADA, app=app_with_views())
    assert signed.session.token == signed.session_token and signed.session.user_id == signed.user_id


def test_outbox_subjects_and_finding_the_outbox() -> None:
    app = Flask("testing_subjects")
    app.config.update(TESTING=True)
    memory_faroe(app, email_sender=Outbox(app, subjects={"signup_email_address_verification_code": "Your code"}))
    sign_up(ADA, app=app)
    with app.app_context():
        outbox = outbox_of()  # the current app's
    assert outbox is outbox_of(app) and outbox.last(ADA).subject == "Your code"
    with pytest.raises(RuntimeError, match="^the Faroe extension is not initialised on this app$"):
        outbox_of(Flask("without_faroe"))
    other = Flask("other_sender")
    other.config.update(TESTING=True, **FAST_PASSWORD_HASHING)
    Faroe(other, **memory_parts(email_sender=CapturingEmailSender()))
    with pytest.raises(
        RuntimeError, match=r"^this app's Faroe does not send through an Outbox: pass memory_parts\(\)$"
    ):
        outbox_of(other)


# The client's cookie ---------------------------------------------------------------------------


def test_the_client_cookie_follows_the_configured_path_and_domain() -> None:
    app = app_with_views(FAROE_SESSION_COOKIE_PATH="/app", FAROE_SESSION_COOKIE_DOMAIN="example.com")
    client = app.test_client()
    signed = sign_up(ADA, app=app)
    set_client_session(client, signed.session_token)  # a token alone will do
    assert client.get("/app/me", base_url="https://example.com").json == {"email": ADA}
    assert client.get("/me", base_url="https://example.com").status_code == 401  # outside the path
    clear_client_session(client)
    assert client.get("/app/me", base_url="https://example.com").status_code == 401


def test_bearer_headers_for_a_token() -> None:
    assert bearer_headers("abc.def") == {"Authorization": "Bearer abc.def"}


# close_faroe -----------------------------------------------------------------------------------


def test_close_faroe_closes_the_apps_connections(tmp_path: Path) -> None:
    database = tmp_path / "faroe.db"
    url = f"sqlite:///{database}"
    upgrade_database(url)
    app = Flask("testing_close")
    app.config.update(TESTING=True, FAROE_DATABASE_URL=url, FAROE_PASSWORD_STRENGTH_CHECK="offline",
                      **FAST_PASSWORD_HASHING)
    Faroe(app, email_sender=Outbox(app))
    sign_up(ADA, app=app)

    def wal_files() -> list[str]:
        return sorted(path.name for path in tmp_path.glob("faroe.db-*"))

    assert wal_files() != []
    close_faroe(app)
    assert wal_files() == []
    close_faroe(Flask("without_faroe"))  # nothing to close
