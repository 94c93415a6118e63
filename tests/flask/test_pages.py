"""The account pages through Flask's test client: every flow's errors and messages, CSRF, safe
``next``, tokens kept out of URLs and pages, overridable templates, accessible forms."""

from __future__ import annotations

import html.parser
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from faroe_flask import MemoryStorage, MemoryUserStore, create_pages_blueprint, current_faroe
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.pages_messages import MESSAGES
from faroe_flask.flask.pages_state import FLOW_KEY, storage_key, unseal

from ..conftest import WEAK_PASSWORD, CapturingEmailSender, FakeClock
from .conftest import NEW_PASSWORD, PASSWORD, AppFactory

EMAIL = "page.user@example.com"
PAGES_CONFIG = {"SECRET_KEY": "pages-test-key", "FAROE_SESSION_COOKIE_SECURE": False}
TOKEN = re.compile(r"[a-z2-9]{24}\.[a-z2-9]{24}")
SESSION_RECORDS, RESET_RECORDS = "aaah.", "aaan."


class Pages:
    """A person using the pages through the test client; remembers every URL and page seen."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.seen: list[str] = []

    def _record(self, response: TestResponse) -> TestResponse:
        self.seen.append(response.headers.get("Location", ""))
        self.seen.append(response.get_data(as_text=True))
        return response

    def get(self, path: str) -> TestResponse:
        return self._record(self.client.get(path))

    def csrf(self) -> str:
        page = self.client.get("/account/signin").get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match
        return match.group(1)

    def post(self, path: str, **form: str) -> TestResponse:
        return self._record(self.client.post(path, data={"csrf_token": self.csrf(), **form}))


def location(response: TestResponse) -> str:
    return unquote(response.headers["Location"])


def error_of(response: TestResponse) -> str:
    match = re.search(r'id="form-error"[^>]*>\s*<p>([^<]+)</p>', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return html.unescape(match.group(1))


def flashed(response: TestResponse) -> list[str]:
    return [html.unescape(text) for text in re.findall(r'class="notice notice-\w+"[^>]*>([^<]+)<', response.get_data(as_text=True))]


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    app = make_app(config=PAGES_CONFIG)
    app.register_blueprint(create_pages_blueprint())

    @app.get("/private")
    def private() -> str:
        return "private"

    return app


@pytest.fixture
def pages(app: Flask) -> Pages:
    return Pages(app.test_client())


def sign_up(pages: Pages, email_sender: CapturingEmailSender, email: str = EMAIL, password: str = PASSWORD) -> TestResponse:
    assert pages.post("/account/signup", email_address=email).status_code == 302
    code = email_sender.last("signup_code")["code"]
    assert pages.post("/account/signup/verify", code=code).headers["Location"] == "/account/signup/password"
    return pages.post("/account/signup/password", password=password)


def sign_in(pages: Pages, email: str = EMAIL, password: str = PASSWORD) -> TestResponse:
    return pages.post("/account/signin", email_address=email, password=password)


# The blueprint --------------------------------------------------------------------------------


def test_nothing_is_served_unless_the_blueprint_is_registered(make_app: AppFactory) -> None:
    client = make_app(config=PAGES_CONFIG).test_client()
    assert client.get("/account/signin").status_code == 404
    assert client.get("/account/static/pages.css").status_code == 404


def test_the_blueprint_needs_a_secret_key_and_the_extension(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_app().register_blueprint(create_pages_blueprint())
    bare = Flask("bare")
    bare.config["SECRET_KEY"] = "x"
    with pytest.raises(RuntimeError, match="Faroe extension"):
        bare.register_blueprint(create_pages_blueprint())


def test_own_name_and_prefix(make_app: AppFactory) -> None:
    app = make_app(config=PAGES_CONFIG)
    app.register_blueprint(create_pages_blueprint("auth", url_prefix="/auth"))
    client = app.test_client()
    page = client.get("/auth/signin").get_data(as_text=True)
    assert 'action="/auth/signin"' in page and 'href="/auth/static/pages.css"' in page
    assert location(client.get("/auth/")) == "/auth/signin?next=/auth/"
    assert client.get("/account/signin").status_code == 404


def test_an_app_login_view_is_kept(make_app: AppFactory) -> None:
    app = make_app(config={**PAGES_CONFIG, "FAROE_LOGIN_VIEW": "/my-login"})
    app.register_blueprint(create_pages_blueprint())
    assert location(app.test_client().get("/account/")) == "/my-login?next=/account/"


def test_css_is_served_from_the_package(pages: Pages) -> None:
    response = pages.get("/account/static/pages.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert b"http" not in response.data  # no CDN, no web fonts


# CSRF and redirects ---------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    client = app.test_client()
    for path in ("/account/signup", "/account/signin", "/account/reset", "/account/signout"):
        response = client.post(path, data={"email_address": EMAIL, "password": PASSWORD})
        assert response.status_code == 400, path
        assert "This form has expired" in response.get_data(as_text=True)
        forged = client.post(path, data={"csrf_token": "forged", "email_address": EMAIL})
        assert forged.status_code == 400, path
    assert email_sender.messages == []  # no action ran
    sign_up(pages, email_sender)
    for path in ("/account/email", "/account/password", "/account/delete", "/account/signout-everywhere"):
        response = pages.client.post(path, data={"current_password": PASSWORD, "new_email_address": "x@example.com"})
        assert response.status_code == 400, path
    assert pages.get("/account/").status_code == 200  # still signed in, nothing changed


def test_csrf_can_be_turned_off_like_the_rest_of_flask_wtf(make_app: AppFactory) -> None:
    app = make_app(config={**PAGES_CONFIG, "WTF_CSRF_ENABLED": False})
    app.register_blueprint(create_pages_blueprint())
    response = app.test_client().post("/account/signup", data={"email_address": EMAIL})
    assert response.headers["Location"] == "/account/signup/verify"


def test_pages_work_beside_an_apps_csrfprotect(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    from flask_wtf.csrf import CSRFProtect

    app = make_app(config=PAGES_CONFIG)
    CSRFProtect(app)
    app.register_blueprint(create_pages_blueprint())
    response = sign_up(Pages(app.test_client()), email_sender)
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil"]
)
def test_next_never_leaves_the_site(pages: Pages, email_sender: CapturingEmailSender, target: str) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    response = pages.post("/account/signin", email_address=EMAIL, password=PASSWORD, next=target)
    assert response.headers["Location"] == "/"


def test_next_within_the_site_is_followed(pages: Pages, email_sender: CapturingEmailSender) -> None:
    assert pages.post("/account/signup", email_address=EMAIL, next="/private?tab=1").status_code == 302
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    assert pages.post("/account/signup/password", password=PASSWORD).headers["Location"] == "/private?tab=1"
    pages.post("/account/signout")
    assert location(pages.get("/account/")) == "/account/signin?next=/account/"
    response = pages.post("/account/signin", email_address=EMAIL, password=PASSWORD, next="/account/")
    assert response.headers["Location"] == "/account/"


# Sign up, sign in, sign out -------------------------------------------------------------------


def test_signup_messages_and_completion(pages: Pages, email_sender: CapturingEmailSender) -> None:
    response = pages.post("/account/signup", email_address="not an address")
    assert response.status_code == 422 and error_of(response) == MESSAGES["invalid_email_address"]
    assert 'value="not an address"' in response.get_data(as_text=True)  # what was typed stays
    pages.post("/account/signup", email_address=EMAIL)
    assert EMAIL in pages.get("/account/signup/verify").get_data(as_text=True)
    wrong = pages.post("/account/signup/verify", code="WRONGCDE")
    assert error_of(wrong) == MESSAGES["incorrect_email_address_verification_code"]
    resent = pages.client.post("/account/signup/resend", data={"csrf_token": pages.csrf()}, follow_redirects=True)
    assert "We sent the code again." in flashed(resent)
    assert len(email_sender.of_kind("signup_code")) == 2
    code = email_sender.last("signup_code")["code"]
    pages.post("/account/signup/verify", code=" " + code.lower() + " ")
    short = pages.post("/account/signup/password", password="short")
    assert error_of(short) == MESSAGES["invalid_password_length"]
    weak = pages.post("/account/signup/password", password=WEAK_PASSWORD)
    assert error_of(weak) == MESSAGES["weak_password"]
    done = pages.post("/account/signup/password", password=PASSWORD)
    assert done.headers["Location"] == "/"
    cookie = pages.client.get_cookie("faroe_session")
    assert cookie is not None and cookie.http_only
    account = pages.get("/account/")
    assert account.status_code == 200 and EMAIL in account.get_data(as_text=True)
    # The address is taken now.
    again = Pages(pages.client.application.test_client()).post("/account/signup", email_address=EMAIL)
    assert error_of(again) == MESSAGES["email_address_already_used"]
    # No flow or session token was ever in a URL or a page.
    assert not [text for text in pages.seen if TOKEN.search(text)]


def test_signup_steps_without_a_flow_go_back_to_the_start(pages: Pages) -> None:
    for path in ("/account/signup/verify", "/account/signup/password"):
        assert pages.get(path).headers["Location"] == "/account/signup"
    assert pages.post("/account/signup/resend").headers["Location"] == "/account/signup"


def test_an_expired_signup_starts_again(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    pages.post("/account/signup", email_address=EMAIL)
    clock.advance(21 * 60)
    response = pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    assert response.headers["Location"] == "/account/signup"
    assert MESSAGES["invalid_signup_token"] in flashed(pages.get("/account/signup"))
    assert pages.get("/account/signup/verify").headers["Location"] == "/account/signup"


def test_rate_limited_signup_codes(pages: Pages, email_sender: CapturingEmailSender) -> None:
    pages.post("/account/signup", email_address=EMAIL)
    for _ in range(5):
        assert pages.post("/account/signup/verify", code="WRONGCDE").status_code == 422
    limited = pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    assert limited.status_code == 429 and error_of(limited) == MESSAGES["rate_limited"]


def test_signin_messages(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    assert error_of(sign_in(pages)) == MESSAGES["user_not_found"]
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    wrong = sign_in(pages, password=NEW_PASSWORD)
    assert wrong.status_code == 422 and error_of(wrong) == MESSAGES["incorrect_password"]
    assert 'value="' + EMAIL + '"' in wrong.get_data(as_text=True)
    assert NEW_PASSWORD not in wrong.get_data(as_text=True)  # a password is never echoed
    for _ in range(4):
        sign_in(pages, password=NEW_PASSWORD)
    limited = sign_in(pages)
    assert limited.status_code == 429 and error_of(limited) == MESSAGES["rate_limited"]
    clock.advance(61)
    assert sign_in(pages).headers["Location"] == "/"
    assert pages.get("/account/").status_code == 200


def test_signout_ends_the_session(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    token = pages.client.get_cookie("faroe_session")
    assert token is not None
    response = pages.post("/account/signout")
    assert response.headers["Location"] == "/"
    assert pages.client.get_cookie("faroe_session") is None
    with app.app_context():
        assert current_faroe.invoke("get_session", {"session_token": token.value}).error_code == "invalid_session_token"
    assert "You are signed out." in flashed(pages.get("/account/signin"))


# Password reset -------------------------------------------------------------------------------


def test_password_reset(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    assert error_of(pages.post("/account/reset", email_address="nobody@example.com")) == MESSAGES["user_not_found"]
    assert pages.post("/account/reset", email_address=EMAIL).headers["Location"] == "/account/reset/verify"
    wrong = pages.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM")
    assert error_of(wrong) == MESSAGES["incorrect_temporary_password"]
    temporary = email_sender.last("temporary_password")["temporary_password"]
    assert pages.post("/account/reset/verify", temporary_password=temporary).headers["Location"] == "/account/reset/password"
    assert error_of(pages.post("/account/reset/password", password=WEAK_PASSWORD)) == MESSAGES["weak_password"]
    done = pages.post("/account/reset/password", password=NEW_PASSWORD)
    assert done.headers["Location"] == "/account/"
    assert "Your password was changed, and you are signed in." in flashed(pages.get("/account/"))
    pages.post("/account/signout")
    assert error_of(sign_in(pages)) == MESSAGES["incorrect_password"]
    assert sign_in(pages, password=NEW_PASSWORD).headers["Location"] == "/"
    assert not [text for text in pages.seen if TOKEN.search(text) or temporary in text]


# Signed-in pages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/account/", "/account/email", "/account/email/verify", "/account/password",
             "/account/signout-everywhere", "/account/delete"]
)
def test_signed_in_pages_ask_to_sign_in(pages: Pages, path: str) -> None:
    assert location(pages.get(path)) == f"/account/signin?next={path}"


def test_change_password(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    wrong = pages.post("/account/password", current_password=NEW_PASSWORD, new_password=NEW_PASSWORD)
    assert error_of(wrong) == MESSAGES["incorrect_password"]
    weak = pages.post("/account/password", current_password=PASSWORD, new_password=WEAK_PASSWORD)
    assert error_of(weak) == MESSAGES["weak_password"]
    done = pages.post("/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert done.headers["Location"] == "/account/"
    assert email_sender.of_kind("password_updated")
    pages.post("/account/signout")
    assert sign_in(pages, password=NEW_PASSWORD).headers["Location"] == "/"


def test_change_email_address(make_app: AppFactory, pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender, email="other@example.com")
    pages.post("/account/signout")
    sign_up(pages, email_sender)
    taken = pages.post("/account/email", new_email_address="other@example.com")
    assert error_of(taken) == "This email address is already used by an account."
    new = "renamed@example.com"
    assert pages.post("/account/email", new_email_address=new).headers["Location"] == "/account/email/verify"
    code = email_sender.last("update_code")
    assert code["email_address"] == new
    wrong_code = pages.post("/account/email/verify", code="WRONGCDE", password=PASSWORD)
    assert error_of(wrong_code) == MESSAGES["incorrect_email_address_verification_code"]
    wrong_password = pages.post("/account/email/verify", code=code["code"], password=NEW_PASSWORD)
    assert error_of(wrong_password) == MESSAGES["incorrect_password"]
    # The code is verified already: a second try needs only the right password.
    done = pages.post("/account/email/verify", code=code["code"], password=PASSWORD)
    assert done.headers["Location"] == "/account/"
    account = pages.get("/account/").get_data(as_text=True)
    assert f"Your email address is now {new}." in account and f'id="account-email">{new}<' in account
    assert email_sender.last("email_updated")["email_address"] == EMAIL


def test_sign_out_everywhere(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    other = Pages(app.test_client())
    assert sign_in(other).status_code == 302
    assert other.get("/account/").status_code == 200
    response = pages.post("/account/signout-everywhere")
    assert response.headers["Location"] == "/account/signin"
    assert pages.client.get_cookie("faroe_session") is None
    assert location(other.get("/account/")) == "/account/signin?next=/account/"


def test_an_ended_session_is_asked_to_sign_in_again(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    other = Pages(app.test_client())
    sign_in(other)
    other.post("/account/signout-everywhere")
    response = pages.post("/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert response.headers["Location"].startswith("/account/signin")


def test_delete_account(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    wrong = pages.post("/account/delete", current_password=NEW_PASSWORD)
    assert error_of(wrong) == MESSAGES["incorrect_password"]
    assert pages.get("/account/").status_code == 200
    done = pages.post("/account/delete", current_password=PASSWORD)
    assert done.headers["Location"] == "/"
    assert pages.client.get_cookie("faroe_session") is None
    assert "Your account was deleted." in flashed(pages.get("/account/signin"))
    assert error_of(sign_in(pages)) == MESSAGES["user_not_found"]


# Messages and templates -----------------------------------------------------------------------


def test_an_error_on_our_side_shows_a_reference(pages: Pages, email_sender: CapturingEmailSender) -> None:
    email_sender.failing.add("signup_code")
    response = pages.post("/account/signup", email_address=EMAIL)
    assert response.status_code == 503
    assert error_of(response) == MESSAGES["internal_error"]
    assert re.search(r"Reference: <code>[a-z2-9]{24}</code>", response.get_data(as_text=True))


def test_messages_can_be_replaced(make_app: AppFactory) -> None:
    app = make_app(config={**PAGES_CONFIG, "FAROE_PAGES_MESSAGES": {"user_not_found": "Who are you?"}})
    app.register_blueprint(create_pages_blueprint())
    assert error_of(sign_in(Pages(app.test_client()))) == "Who are you?"


def test_templates_are_overridden_from_the_app(make_app: AppFactory, tmp_path: Path) -> None:
    (tmp_path / "faroe" / "pages").mkdir(parents=True)
    (tmp_path / "faroe" / "pages" / "base.html").write_text(
        "<html><body class=mine>{% block content %}{% endblock %}</body></html>"
    )
    (tmp_path / "faroe" / "pages" / "reset.html").write_text(
        '{% extends "faroe/pages/base.html" %}{% block content %}My own reset page{% endblock %}'
    )
    app = make_app(config=PAGES_CONFIG)
    app.template_folder = str(tmp_path)
    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()
    assert client.get("/account/reset").get_data(as_text=True) == "<html><body class=mine>My own reset page</body></html>"
    assert "<body class=mine>" in client.get("/account/signin").get_data(as_text=True)


class _Fields(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labels: set[str] = set()
        self.inputs: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.labels.add(str(attributes.get("for")))
        if tag == "input" and attributes.get("type") not in ("hidden",) and "hidden" not in attributes:
            self.inputs.append(attributes)


EXPECTED_AUTOCOMPLETE = {
    "/account/signup": {"email_address": "email"},
    "/account/signin": {"email_address": "username", "password": "current-password"},
    "/account/reset": {"email_address": "email"},
    "/account/signup/verify": {"code": "one-time-code"},
    "/account/signup/password": {"password": "new-password"},
    "/account/reset/verify": {"temporary_password": "one-time-code"},
    "/account/reset/password": {"password": "new-password"},
    "/account/email": {"new_email_address": "email"},
    "/account/email/verify": {"code": "one-time-code", "password": "current-password"},
    "/account/password": {"current_password": "current-password", "new_password": "new-password"},
    "/account/delete": {"current_password": "current-password"},
}


def test_every_field_has_a_label_and_autocomplete(pages: Pages, email_sender: CapturingEmailSender) -> None:
    pages.post("/account/signup", email_address="flow@example.com")
    pages.post("/account/reset", email_address="nobody@example.com")  # no flow: the steps redirect
    sign_up(pages, email_sender)
    pages.post("/account/email", new_email_address="new@example.com")
    pages.post("/account/signup", email_address="flow@example.com")
    pages.post("/account/reset", email_address=EMAIL)
    for path, expected in EXPECTED_AUTOCOMPLETE.items():
        response = pages.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert '<html lang="en">' in page and "<main" in page
        parser = _Fields()
        parser.feed(page)
        assert {field["name"]: field.get("autocomplete") for field in parser.inputs} == expected, path
        for field in parser.inputs:
            assert field["id"] in parser.labels, (path, field["name"])


def test_the_field_an_error_is_about_is_marked_invalid(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    page = pages.post("/account/password", current_password=NEW_PASSWORD, new_password=NEW_PASSWORD).get_data(as_text=True)
    current = re.search(r'<input id="current_password"[^>]*>', page)
    new = re.search(r'<input id="new_password"[^>]*>', page)
    assert current and new
    assert 'aria-invalid="true"' in current.group(0) and "form-error" in current.group(0)
    assert 'aria-invalid' not in new.group(0) and 'aria-describedby="new_password-hint"' in new.group(0)


def test_an_expired_reset_starts_again(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    clock.advance(21 * 60)
    temporary = email_sender.last("temporary_password")["temporary_password"]
    response = pages.post("/account/reset/verify", temporary_password=temporary)
    assert response.headers["Location"] == "/account/reset"
    assert MESSAGES["invalid_user_password_reset_token"] in flashed(pages.get("/account/reset"))
    assert pages.get("/account/reset/password").headers["Location"] == "/account/reset"


def test_email_change_code_can_be_sent_again(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    assert pages.post("/account/email/resend").headers["Location"] == "/account/email"  # no change yet
    pages.post("/account/email", new_email_address="renamed@example.com")
    resent = pages.client.post("/account/email/resend", data={"csrf_token": pages.csrf()}, follow_redirects=True)
    assert "We sent the code again." in flashed(resent)
    codes = email_sender.of_kind("update_code")
    assert len(codes) == 2 and codes[0]["code"] == codes[1]["code"]


# Notices after a redirect: word for word, with their kind (success, info, error) --------------


_NOTICE = re.compile(r'<p class="notice notice-([^"]*)" role="([^"]*)">([^<]*)</p>')


def notices(response: TestResponse) -> list[tuple[str, str]]:
    """``(kind, sentence)`` of each notice on the page; an error's role is ``alert``."""
    found = []
    for kind, role, text in _NOTICE.findall(response.get_data(as_text=True)):
        assert role == ("alert" if kind == "error" else "status")
        found.append((kind, html.unescape(text)))
    return found


def test_signup_notices(pages: Pages, email_sender: CapturingEmailSender) -> None:
    assert pages.post("/account/signup", email_address=EMAIL).headers["Location"] == "/account/signup/verify"
    assert pages.post("/account/signup/resend").headers["Location"] == "/account/signup/verify"
    assert notices(pages.get("/account/signup/verify")) == [("info", "We sent the code again.")]
    cancelled = pages.post("/account/signup/cancel")
    assert cancelled.headers["Location"] == "/"
    assert notices(pages.get("/account/signin")) == [("info", "The sign-up was cancelled.")]
    assert notices(pages.get("/account/signin")) == []  # shown once
    assert sign_up(pages, email_sender).headers["Location"] == "/"
    assert notices(pages.get("/account/")) == [("success", "Welcome! Your account is ready and you are signed in.")]
    assert pages.post("/account/signout").headers["Location"] == "/"
    assert notices(pages.get("/account/signin")) == [("info", "You are signed out.")]


def test_asking_for_the_code_again_once_verified_goes_on(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    assert pages.post("/account/signup", email_address="second@example.com").status_code == 302
    code = email_sender.last("signup_code")["code"]
    assert pages.post("/account/signup/verify", code=code).headers["Location"] == "/account/signup/password"
    # The code is verified: asking for it again goes on to the password.
    assert pages.post("/account/signup/resend").headers["Location"] == "/account/signup/password"
    assert notices(pages.get("/account/signup/password")) == []


def test_password_reset_notices(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.get("/account/signin")
    assert pages.post("/account/reset", email_address=EMAIL).headers["Location"] == "/account/reset/verify"
    assert pages.post("/account/reset/cancel").headers["Location"] == "/account/signin"
    assert notices(pages.get("/account/signin")) == [("info", "The password reset was cancelled.")]
    assert pages.post("/account/reset", email_address=EMAIL).status_code == 302
    temporary = email_sender.last("temporary_password")["temporary_password"]
    assert pages.post("/account/reset/verify", temporary_password=temporary).status_code == 302
    assert pages.post("/account/reset/password", password=NEW_PASSWORD).headers["Location"] == "/account/"
    assert notices(pages.get("/account/")) == [("success", "Your password was changed, and you are signed in.")]


def test_account_notices(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.get("/account/")
    new = "renamed@example.com"
    assert pages.post("/account/email", new_email_address=new).headers["Location"] == "/account/email/verify"
    assert pages.post("/account/email/resend").headers["Location"] == "/account/email/verify"
    assert notices(pages.get("/account/email/verify")) == [("info", "We sent the code again.")]
    assert pages.post("/account/email/cancel").headers["Location"] == "/account/"
    assert notices(pages.get("/account/")) == [("info", "The email address change was cancelled.")]
    assert pages.post("/account/email", new_email_address=new).status_code == 302
    code = email_sender.last("update_code")["code"]
    assert pages.post("/account/email/verify", code=code, password=PASSWORD).headers["Location"] == "/account/"
    assert notices(pages.get("/account/")) == [("success", f"Your email address is now {new}.")]
    changed = pages.post("/account/password", current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert changed.headers["Location"] == "/account/"
    assert notices(pages.get("/account/")) == [("success", "Your password was changed.")]
    assert pages.post("/account/signout-everywhere").headers["Location"] == "/account/signin"
    assert notices(pages.get("/account/signin")) == [("info", "You are signed out on every device.")]
    sign_in(pages, email=new, password=NEW_PASSWORD)
    assert pages.post("/account/delete", current_password=NEW_PASSWORD).headers["Location"] == "/"
    assert notices(pages.get("/account/signin")) == [("info", "Your account was deleted.")]


# Passwords as typed ---------------------------------------------------------------------------


SPACED = f"  {PASSWORD} "
NEW_SPACED = f" {NEW_PASSWORD}  "


def test_spaces_around_a_password_are_kept_in_every_form(
    pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    # Sign-up: the address and the code are trimmed, the password is not.
    assert pages.post("/account/signup", email_address=f"  {EMAIL} ").headers["Location"] == "/account/signup/verify"
    code = email_sender.last("signup_code")["code"]
    assert pages.post("/account/signup/verify", code=f" {code[:4]} {code[4:]} ").status_code == 302
    assert pages.post("/account/signup/password", password=SPACED).headers["Location"] == "/"
    pages.post("/account/signout")
    assert error_of(sign_in(pages, password=PASSWORD)) == MESSAGES["incorrect_password"]
    assert sign_in(pages, email=f" {EMAIL}", password=SPACED).headers["Location"] == "/"

    clock.advance(300)  # the password attempts refill (5, one more a minute)
    # Password change: the current password and the new one as typed.
    stripped = pages.post("/account/password", current_password=PASSWORD, new_password=NEW_SPACED)
    assert error_of(stripped) == MESSAGES["incorrect_password"]
    changed = pages.post("/account/password", current_password=SPACED, new_password=NEW_SPACED)
    assert changed.headers["Location"] == "/account/"
    pages.post("/account/signout")
    assert error_of(sign_in(pages, password=NEW_PASSWORD)) == MESSAGES["incorrect_password"]
    assert sign_in(pages, password=NEW_SPACED).headers["Location"] == "/"

    clock.advance(300)  # the password attempts refill (5, one more a minute)
    # Email change: the password that confirms it as typed.
    renamed = "renamed@example.com"
    assert pages.post("/account/email", new_email_address=f" {renamed} ").headers["Location"] == "/account/email/verify"
    update = email_sender.last("update_code")
    assert update["email_address"] == renamed
    wrong = pages.post("/account/email/verify", code=update["code"], password=NEW_PASSWORD)
    assert error_of(wrong) == MESSAGES["incorrect_password"]
    done = pages.post("/account/email/verify", code=f" {update['code']} ", password=NEW_SPACED)
    assert done.headers["Location"] == "/account/"
    pages.post("/account/signout")

    clock.advance(300)  # the password attempts refill (5, one more a minute)
    # Reset: the temporary password loses its spaces (it is shown in groups), the new password keeps them.
    assert pages.post("/account/reset", email_address=f" {renamed}  ").headers["Location"] == "/account/reset/verify"
    temporary = email_sender.last("temporary_password")["temporary_password"]
    spaced_temporary = " ".join(temporary[i:i + 4] for i in range(0, len(temporary), 4))
    verified = pages.post("/account/reset/verify", temporary_password=f" {spaced_temporary} ")
    assert verified.headers["Location"] == "/account/reset/password"
    assert pages.post("/account/reset/password", password=SPACED).headers["Location"] == "/account/"
    pages.post("/account/signout")
    assert error_of(sign_in(pages, email=renamed, password=PASSWORD)) == MESSAGES["incorrect_password"]
    assert sign_in(pages, email=renamed, password=SPACED).headers["Location"] == "/"

    clock.advance(300)  # the password attempts refill (5, one more a minute)
    # Deletion: the current password as typed.
    assert error_of(pages.post("/account/delete", current_password=PASSWORD)) == MESSAGES["incorrect_password"]
    assert pages.post("/account/delete", current_password=SPACED).headers["Location"] == "/"
    assert error_of(sign_in(pages, email=renamed, password=SPACED)) == MESSAGES["user_not_found"]


# Flows kept on the server: their state, their errors, their ends --------------------------------


def flow_values(app: Flask, pages: Pages) -> dict[str, Any]:
    """What the browser's flow state on the server holds (opened with the handle in its cookie)."""
    with pages.client.session_transaction() as session:
        handle = session.get(FLOW_KEY)
    assert isinstance(handle, str)
    with app.app_context():
        server = current_faroe.server
        sealed, _ = server.storage.get(server.storage_key_prefix + storage_key(handle))
    plaintext = unseal(handle, sealed)
    assert plaintext is not None
    values: dict[str, Any] = json.loads(plaintext)["values"]
    return values


def test_a_new_password_set_by_a_double_submit_still_completes_the_reset(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    temporary = email_sender.last("temporary_password")["temporary_password"]
    assert pages.post("/account/reset/verify", temporary_password=temporary).status_code == 302
    # The first of two submits of the form set the new password; the second goes on to completion.
    token = flow_values(app, pages)["reset_token"]
    with app.app_context():
        assert current_faroe.invoke("set_user_password_reset_new_password",
                                    {"user_password_reset_token": token, "password": NEW_PASSWORD}).ok
    done = pages.post("/account/reset/password", password=NEW_PASSWORD)
    assert done.headers["Location"] == "/account/"
    assert pages.client.get_cookie("faroe_session") is not None
    pages.post("/account/signout")
    assert sign_in(pages, password=NEW_PASSWORD).headers["Location"] == "/"


def test_error_pages_of_a_flow_still_name_its_address(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    wrong = pages.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM")
    assert f"We sent a temporary password to <strong>{EMAIL}</strong>" in wrong.get_data(as_text=True)
    temporary = email_sender.last("temporary_password")["temporary_password"]
    pages.post("/account/reset/verify", temporary_password=temporary)
    weak = pages.post("/account/reset/password", password=WEAK_PASSWORD)
    assert error_of(weak) == MESSAGES["weak_password"] and weak.status_code == 422
    assert f'name="username" value="{EMAIL}"' in weak.get_data(as_text=True)  # for password managers


class SessionlessStorage(MemoryStorage):
    """Memory storage that cannot keep a new session while ``full``."""

    full = False

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        if self.full and key.startswith(SESSION_RECORDS):
            raise ConnectionError("the storage is full")
        super().add(key, value, expires_at)


def test_a_reset_whose_session_cannot_be_created_ends_and_asks_to_sign_in(
    make_app: AppFactory, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SessionlessStorage()
    app = make_app(config=PAGES_CONFIG, storage=storage)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    temporary = email_sender.last("temporary_password")["temporary_password"]
    pages.post("/account/reset/verify", temporary_password=temporary)
    reset_records = [key for key in storage.keys() if key.startswith(RESET_RECORDS)]
    assert len(reset_records) == 1
    storage.full = True
    done = pages.post("/account/reset/password", password=NEW_PASSWORD)
    assert done.headers["Location"] == "/account/signin"
    assert notices(pages.get("/account/signin")) == [
        ("error", "Your password was changed, but signing you in failed. Please sign in with your new password.")
    ]
    assert pages.client.get_cookie("faroe_session") is None
    # The reset is over, on the server and in the browser; the new password holds.
    assert reset_records[0] not in storage.keys()
    assert pages.get("/account/reset/password").headers["Location"] == "/account/reset"
    storage.full = False
    assert sign_in(pages, password=NEW_PASSWORD).headers["Location"] == "/"
    assert "ending a reset flow" not in caplog.text


class BrokenResetStorage(MemoryStorage):
    """Memory storage whose password reset records cannot be read while ``broken``."""

    broken = False

    def get(self, key: str) -> tuple[bytes, int]:
        if self.broken and key.startswith(RESET_RECORDS):
            raise ConnectionError("the storage is unreachable")
        return super().get(key)


def test_a_flow_that_cannot_be_ended_on_the_server_is_logged_and_forgotten(
    make_app: AppFactory, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    storage = BrokenResetStorage()
    app = make_app(config=PAGES_CONFIG, storage=storage)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    storage.broken = True
    caplog.clear()
    with caplog.at_level("WARNING", logger="faroe_flask"):
        cancelled = pages.post("/account/reset/cancel")
    assert cancelled.headers["Location"] == "/account/signin"
    warnings = [r.getMessage() for r in caplog.records if r.name == "faroe_flask" and r.levelname == "WARNING"]
    assert warnings == ["ending a reset flow answered internal_error"]
    assert pages.get("/account/reset/verify").headers["Location"] == "/account/reset"  # forgotten all the same


def test_ending_a_flow_whose_session_is_gone_or_another_is_not_a_warning(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    sign_up(pages, email_sender)
    other = Pages(app.test_client())
    assert sign_in(other).status_code == 302
    caplog.set_level("WARNING", logger="faroe_flask")
    # The browser's session changed under its email change (the app signed it in again).
    pages.post("/account/email", new_email_address="renamed@example.com")
    own = pages.client.get_cookie("faroe_session")
    second = other.client.get_cookie("faroe_session")
    assert own is not None and second is not None
    pages.client.set_cookie("faroe_session", second.value)
    assert pages.post("/account/email/cancel").headers["Location"] == "/account/"  # session_mismatch
    # An email change ended at sign-out after the browser's session was (a copy of its cookie
    # signed out elsewhere).
    pages.client.set_cookie("faroe_session", own.value)
    pages.post("/account/email", new_email_address="renamed@example.com")
    csrf = pages.csrf()  # before the session ends: a page seen after it drops the cookie
    copy = Pages(app.test_client())
    copy.client.set_cookie("faroe_session", own.value)
    assert copy.post("/account/signout").headers["Location"] == "/"
    signed_out = pages.client.post("/account/signout", data={"csrf_token": csrf})  # invalid_session_token
    assert signed_out.headers["Location"] == "/"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_signup_steps_out_of_order_lead_to_the_missing_step(pages: Pages, email_sender: CapturingEmailSender) -> None:
    assert pages.get("/account/signup/fields").headers["Location"] == "/account/signup"  # no flow yet
    assert pages.post("/account/signup/fields").headers["Location"] == "/account/signup"
    pages.post("/account/signup", email_address=EMAIL)
    # A password or the fields before the code: first the code.
    for path, form in (("/account/signup/password", {"password": PASSWORD}), ("/account/signup/fields", {})):
        early = pages.post(path, **form)
        assert early.headers["Location"] == "/account/signup/verify", path
        assert notices(pages.get("/account/signup/verify")) == [("error", MESSAGES["email_address_not_verified"])]
    code = email_sender.last("signup_code")["code"]
    assert pages.post("/account/signup/verify", code=code).headers["Location"] == "/account/signup/password"
    # The code again (a second tab): on to the password.
    assert pages.post("/account/signup/verify", code=code).headers["Location"] == "/account/signup/password"
    # The fields before the password: first the password.
    early = pages.post("/account/signup/fields")
    assert early.headers["Location"] == "/account/signup/password"
    assert notices(pages.get("/account/signup/password")) == [("error", MESSAGES["password_not_set"])]
    assert pages.post("/account/signup/password", password=PASSWORD).headers["Location"] == "/"
    assert pages.client.get_cookie("faroe_session") is not None


def test_asking_for_a_signup_code_too_often_says_so(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    pages.post("/account/signup", email_address=EMAIL)
    for _ in range(4):
        assert pages.post("/account/signup/resend").headers["Location"] == "/account/signup/verify"
    assert len(email_sender.of_kind("signup_code")) == 5
    pages.get("/account/signin")  # the notices so far
    limited = pages.post("/account/signup/resend")
    assert limited.headers["Location"] == "/account/signup/verify"
    assert notices(pages.get("/account/signup/verify")) == [("error", MESSAGES["rate_limited"])]
    assert len(email_sender.of_kind("signup_code")) == 5
    clock.advance(21 * 60)  # the sign-up expires
    expired = pages.post("/account/signup/resend")
    assert expired.headers["Location"] == "/account/signup"
    assert notices(pages.get("/account/signup")) == [("error", MESSAGES["invalid_signup_token"])]
    assert pages.get("/account/signup/verify").headers["Location"] == "/account/signup"


def test_reset_steps_out_of_order_lead_to_the_missing_step(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    early = pages.post("/account/reset/password", password=NEW_PASSWORD)
    assert early.headers["Location"] == "/account/reset/verify"
    temporary = email_sender.last("temporary_password")["temporary_password"]
    assert pages.post("/account/reset/verify", temporary_password=temporary).headers["Location"] == "/account/reset/password"
    again = pages.post("/account/reset/verify", temporary_password=temporary)  # a second tab
    assert again.headers["Location"] == "/account/reset/password"
    assert pages.post("/account/reset/password", password=NEW_PASSWORD).headers["Location"] == "/account/"


def test_email_change_code_sent_too_often_or_too_late(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/email", new_email_address="renamed@example.com")
    for _ in range(4):
        assert pages.post("/account/email/resend").headers["Location"] == "/account/email/verify"
    pages.get("/account/")
    limited = pages.post("/account/email/resend")
    assert limited.headers["Location"] == "/account/email/verify"
    assert notices(pages.get("/account/email/verify")) == [("error", MESSAGES["rate_limited"])]
    assert len(email_sender.of_kind("update_code")) == 5
    clock.advance(21 * 60)  # the change expires; the session lives on
    expired = pages.post("/account/email/resend")
    assert expired.headers["Location"] == "/account/email"
    assert notices(pages.get("/account/email")) == [("error", MESSAGES["invalid_user_email_address_update_token"])]
    assert pages.get("/account/email/verify").headers["Location"] == "/account/email"


# The blueprint's checks and context, and the sentences -----------------------------------------


def test_registration_errors_say_what_is_missing(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError) as no_key:
        make_app().register_blueprint(create_pages_blueprint())
    assert str(no_key.value) == "the account pages need SECRET_KEY (Flask's signed session)"
    bare = Flask("bare")
    bare.config["SECRET_KEY"] = "x"
    with pytest.raises(RuntimeError) as no_extension:
        bare.register_blueprint(create_pages_blueprint())
    assert str(no_extension.value) == "initialise the Faroe extension before registering the pages blueprint"


def test_pages_nested_in_a_blueprint_send_people_to_their_own_sign_in(make_app: AppFactory) -> None:
    from flask import Blueprint

    app = make_app(config=PAGES_CONFIG)
    parent = Blueprint("site", __name__, url_prefix="/site")
    parent.register_blueprint(create_pages_blueprint("auth", url_prefix="/auth/"))
    app.register_blueprint(parent)
    client = app.test_client()
    assert location(client.get("/site/auth/")) == "/site/auth/signin?next=/site/auth/"
    page = client.get("/site/auth/signin")
    assert page.status_code == 200 and 'action="/site/auth/signin"' in page.get_data(as_text=True)
    assert page.headers["X-Frame-Options"] == "DENY"  # the settings are found under the full name


def test_the_site_name_and_the_defaults_of_the_pages(make_app: AppFactory) -> None:
    app = make_app(config={**PAGES_CONFIG, "FAROE_PAGES_SITE_NAME": "Harbour Club"})
    app.register_blueprint(create_pages_blueprint())
    page = app.test_client().get("/account/signin").get_data(as_text=True)
    assert "<title>Sign in · Harbour Club</title>" in page and '<a class="brand" href="/">Harbour Club</a>' in page
    assert app.config["FAROE_PAGES_HOME_URL"] == "/" and app.config["FAROE_PAGES_MESSAGES"] == {}
    default = make_app(config=PAGES_CONFIG)
    default.register_blueprint(create_pages_blueprint())
    assert "<title>Sign in · Account</title>" in default.test_client().get("/account/signin").get_data(as_text=True)


def test_a_refused_csrf_token_is_a_page_saying_so(app: Flask, pages: Pages) -> None:
    refused = app.test_client().post("/account/signin", data={"email_address": EMAIL, "password": PASSWORD})
    assert refused.status_code == 400 and refused.headers["Content-Type"] == "text/html; charset=utf-8"
    text = refused.get_data(as_text=True)
    assert "<h1>This form has expired</h1>" in text and '<a href="/account/signin">Continue</a>' in text
    assert refused.headers["X-Frame-Options"] == "DENY"
    # A GET needs no token; a POST with the right one goes through.
    assert app.test_client().get("/account/signin").status_code == 200
    assert sign_in(pages).status_code == 422


def test_a_next_of_the_longest_kept_length_is_followed(pages: Pages, email_sender: CapturingEmailSender) -> None:
    from faroe_flask.flask.pages_state import MAX_NEXT_CHARACTERS

    longest = "/" + "y" * (MAX_NEXT_CHARACTERS - 1)
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    assert sign_in_with_next(pages, longest) == longest
    pages.post("/account/signout")
    assert sign_in_with_next(pages, longest + "y") == "/"


def sign_in_with_next(pages: Pages, target: str) -> str:
    response = pages.post(f"/account/signin?next={target}", email_address=EMAIL, password=PASSWORD)
    return location(response)


def test_message_for_looks_up_the_page_then_the_code() -> None:
    from faroe_flask.flask.pages_messages import FLOW_MESSAGES, GENERAL_MESSAGE, IDENTIFIER_MESSAGES, message_for

    assert message_for("rate_limited") == MESSAGES["rate_limited"]
    assert message_for("rate_limited", "reset") == FLOW_MESSAGES[("reset", "rate_limited")]
    assert message_for("rate_limited", "reset", {"rate_limited": "Slow down."}) == "Slow down."
    assert message_for("rate_limited", "reset", {"other_code": "Slow down."}) == FLOW_MESSAGES[("reset", "rate_limited")]
    assert message_for("user_not_found", "signin") == MESSAGES["user_not_found"]
    assert message_for("user_not_found", "signin", identifier=True) == IDENTIFIER_MESSAGES["user_not_found"]
    assert message_for("weak_password", "signin", identifier=True) == MESSAGES["weak_password"]
    assert message_for("email_address_already_used", "email", identifier=True) == (
        FLOW_MESSAGES[("email", "email_address_already_used")]
    )
    assert message_for(None) == GENERAL_MESSAGE == message_for("no_such_code", "signin")
    assert message_for(None, "", {"internal_error": "Our fault."}) == "Our fault."


def stored(app: Flask, prefix: str) -> list[str]:
    with app.app_context():
        storage = current_faroe.server.storage
    assert isinstance(storage, MemoryStorage)
    return [key for key in storage.keys() if key.startswith(prefix)]


SIGNIN_RECORDS, PASSWORD_UPDATE_RECORDS, DELETION_RECORDS = "aaaj.", "aaam.", "aaap."


def test_a_failed_step_leaves_nothing_behind_on_the_server(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender)
    wrong = pages.post("/account/password", current_password=NEW_PASSWORD, new_password=NEW_PASSWORD)
    assert error_of(wrong) == MESSAGES["incorrect_password"]
    weak = pages.post("/account/password", current_password=PASSWORD, new_password=WEAK_PASSWORD)
    assert error_of(weak) == MESSAGES["weak_password"]
    assert stored(app, PASSWORD_UPDATE_RECORDS) == []  # each attempt's update was deleted
    assert error_of(pages.post("/account/delete", current_password=NEW_PASSWORD)) == MESSAGES["incorrect_password"]
    assert stored(app, DELETION_RECORDS) == []
    pages.post("/account/signout")
    assert error_of(sign_in(pages, password=NEW_PASSWORD)) == MESSAGES["incorrect_password"]
    assert stored(app, SIGNIN_RECORDS) == []


def test_a_signin_whose_session_cannot_be_created_leaves_nothing_behind(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    storage = SessionlessStorage()
    app = make_app(config=PAGES_CONFIG, storage=storage)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    storage.full = True
    failed = sign_in(pages)
    assert failed.status_code == 503 and error_of(failed) == MESSAGES["internal_error"]
    assert re.search(r"Reference: <code>[a-z2-9]{24}</code>", failed.get_data(as_text=True))
    assert f'value="{EMAIL}"' in failed.get_data(as_text=True)
    assert pages.client.get_cookie("faroe_session") is None
    assert stored(app, SIGNIN_RECORDS) == []
    storage.full = False
    assert sign_in(pages).headers["Location"] == "/"


def test_an_email_change_verified_by_a_double_submit_still_completes(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender)
    new = "renamed@example.com"
    pages.post("/account/email", new_email_address=new)
    code = email_sender.last("update_code")["code"]
    token = flow_values(app, pages)["email_token"]
    session = pages.client.get_cookie("faroe_session")
    assert session is not None
    # The first of two submits verified the code and the password; the second completes.
    arguments = {"session_token": session.value, "user_email_address_update_token": token}
    with app.app_context():
        assert current_faroe.invoke("verify_user_email_address_update_email_address_verification_code",
                                    {**arguments, "email_address_verification_code": code}).ok
        assert current_faroe.invoke("verify_user_email_address_update_user_password",
                                    {**arguments, "password": PASSWORD}).ok
    done = pages.post("/account/email/verify", code=code, password=PASSWORD)
    assert done.headers["Location"] == "/account/"
    assert notices(pages.get("/account/")) == [("success", f"Your email address is now {new}.")]


def test_an_expired_email_change_starts_again(pages: Pages, email_sender: CapturingEmailSender, clock: FakeClock) -> None:
    sign_up(pages, email_sender)
    bad = pages.post("/account/email", new_email_address="not an address")
    assert error_of(bad) == MESSAGES["invalid_email_address"] and 'value="not an address"' in bad.get_data(as_text=True)
    pages.post("/account/email", new_email_address="renamed@example.com")
    clock.advance(21 * 60)
    code = email_sender.last("update_code")["code"]
    expired = pages.post("/account/email/verify", code=code, password=PASSWORD)
    assert expired.headers["Location"] == "/account/email"
    assert notices(pages.get("/account/email")) == [("error", MESSAGES["invalid_user_email_address_update_token"])]
    assert pages.get("/account/email/verify").headers["Location"] == "/account/email"


def test_the_reset_form_is_filled_from_the_link_that_asks_for_another_password(
    pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    verify = pages.get("/account/reset/verify").get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)">Send another temporary password</a>', verify)
    assert link and html.unescape(link.group(1)) == f"/account/reset?email_address={EMAIL}"
    form = pages.get(html.unescape(link.group(1))).get_data(as_text=True)
    assert f'value="{EMAIL}"' in form
    long = "a" * 95 + "@example.com"
    assert f'value="{long[:100]}"' in pages.get(f"/account/reset?email_address={long}").get_data(as_text=True)
    assert 'value="' not in pages.get("/account/reset").get_data(as_text=True).split('id="email_address"')[1].split(">")[0]


@pytest.mark.parametrize("field_name", [None, "xsrf"])
def test_rotation_mints_a_new_csrf_token_even_when_the_app_made_one_earlier_in_the_request(
    make_app: AppFactory, email_sender: CapturingEmailSender, field_name: str | None
) -> None:
    from flask import g
    from flask_wtf.csrf import generate_csrf

    config = {**PAGES_CONFIG, **({"WTF_CSRF_FIELD_NAME": field_name} if field_name else {})}
    app = make_app(config=config)
    app.register_blueprint(create_pages_blueprint())

    @app.before_request
    def offer_the_token() -> None:  # an app that makes the token on every request
        g.offered = generate_csrf()

    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    key = field_name or "csrf_token"
    pages.csrf()
    with pages.client.session_transaction() as session:
        before = session[key]
    assert sign_in(pages).headers["Location"] == "/"
    with pages.client.session_transaction() as session:
        assert set(session) == {key} and session[key] != before  # a new raw token, nothing else


def test_the_sign_in_form_keeps_next_through_an_error(pages: Pages, email_sender: CapturingEmailSender) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    kept = '<input type="hidden" name="next" value="/private">'
    assert kept in pages.get("/account/signin?next=/private").get_data(as_text=True)
    wrong = pages.post("/account/signin?next=/private", email_address=EMAIL, password=NEW_PASSWORD)
    assert error_of(wrong) == MESSAGES["incorrect_password"] and kept in wrong.get_data(as_text=True)
    field = wrong.get_data(as_text=True).split('<input id="email_address"')[1].split(">")[0]
    assert 'autocomplete="username"' in field and f'value="{EMAIL}"' in field  # still the sign-in's field
    assert 'href="/account/signup?next=/private"' in wrong.get_data(as_text=True)
    assert location(pages.post("/account/signin", email_address=EMAIL, password=PASSWORD, next="/private")) == "/private"


def action_log(app: Flask) -> list[tuple[str, str]]:
    """Every action the app's Faroe server runs from now on (but session lookups), with its
    outcome, recorded by a core action observer."""
    seen: list[tuple[str, str]] = []

    def observe(action: str, arguments: dict[str, str], run: Any) -> Any:
        result = run(action, arguments)
        if action != "get_session":
            seen.append((action, "ok" if result.ok else result.error_code))
        return result

    with app.app_context():
        current_faroe.server.add_action_observer(observe)
    return seen


def test_each_step_runs_exactly_its_actions(app: Flask, pages: Pages, email_sender: CapturingEmailSender) -> None:
    seen = action_log(app)

    def ran() -> list[tuple[str, str]]:
        done = list(seen)
        seen.clear()
        return done

    pages.post("/account/signup", email_address="first@example.com")
    assert ran() == [("create_signup", "ok")]
    pages.post("/account/signup", email_address=EMAIL)  # a second sign-up ends the first
    assert ran() == [("delete_signup", "ok"), ("create_signup", "ok")]
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    pages.post("/account/signup/password", password=PASSWORD)  # completed: not ended again
    assert ran() == [("verify_signup_email_address_verification_code", "ok"), ("set_signup_password", "ok"),
                     ("complete_signup", "ok")]
    pages.post("/account/email", new_email_address="renamed@example.com")
    pages.post("/account/signout")  # the email change ends with the session
    assert ran() == [("create_user_email_address_update", "ok"), ("delete_user_email_address_update", "ok"),
                     ("delete_session", "ok")]
    sign_in(pages, password=NEW_PASSWORD)
    assert ran() == [("create_signin", "ok"), ("verify_signin_user_password", "incorrect_password"),
                     ("delete_signin", "ok")]
    pages.post("/account/reset", email_address=EMAIL)
    pages.post("/account/reset", email_address=EMAIL)  # a second reset ends the first
    pages.post("/account/reset/cancel")
    assert ran() == [("create_user_password_reset", "ok"), ("delete_user_password_reset", "ok"),
                     ("create_user_password_reset", "ok"), ("delete_user_password_reset", "ok")]
    pages.post("/account/reset", email_address=EMAIL)
    pages.post("/account/reset/verify", temporary_password=email_sender.last("temporary_password")["temporary_password"])
    pages.post("/account/reset/password", password=NEW_PASSWORD)  # completed: not ended again
    assert ran() == [("create_user_password_reset", "ok"), ("verify_user_password_reset_temporary_password", "ok"),
                     ("set_user_password_reset_new_password", "ok"), ("complete_user_password_reset", "ok")]
    pages.post("/account/password", current_password=NEW_PASSWORD, new_password=WEAK_PASSWORD)
    assert ran() == [("create_user_password_update", "ok"), ("verify_user_password_update_user_password", "ok"),
                     ("set_user_password_update_new_password", "weak_password"), ("delete_user_password_update", "ok")]
    pages.post("/account/signout-everywhere")
    assert ran() == [("delete_all_sessions", "ok"), ("delete_session", "invalid_session_token")]
    sign_in(pages, password=NEW_PASSWORD)
    pages.post("/account/delete", current_password=NEW_PASSWORD)
    assert ran() == [("create_signin", "ok"), ("verify_signin_user_password", "ok"), ("complete_signin", "ok"),
                     ("create_user_deletion", "ok"), ("verify_user_deletion_user_password", "ok"),
                     ("complete_user_deletion", "ok"), ("delete_session", "invalid_session_token")]


class StuckUserStore(MemoryUserStore):
    """Memory user store whose methods named in ``stuck`` raise, as an unreachable store would."""

    def __init__(self) -> None:
        super().__init__()
        self.stuck: set[str] = set()

    def _reach(self, method: str) -> None:
        if method in self.stuck:
            raise ConnectionError("the user store is unreachable")

    def create_user(self, *args: Any, **kwargs: Any) -> Any:
        self._reach("create_user")
        return super().create_user(*args, **kwargs)

    def update_user_password_hash(self, *args: Any, **kwargs: Any) -> Any:
        self._reach("update_user_password_hash")
        return super().update_user_password_hash(*args, **kwargs)

    def increment_user_sessions_counter(self, *args: Any, **kwargs: Any) -> Any:
        self._reach("increment_user_sessions_counter")
        return super().increment_user_sessions_counter(*args, **kwargs)


def test_a_reset_that_cannot_complete_ends_and_starts_again(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    users = StuckUserStore()
    app = make_app(config=PAGES_CONFIG, user_store=users)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    pages.post("/account/reset/verify", temporary_password=email_sender.last("temporary_password")["temporary_password"])
    users.stuck = {"update_user_password_hash"}
    failed = pages.post("/account/reset/password", password=NEW_PASSWORD)
    assert failed.headers["Location"] == "/account/reset"
    assert notices(pages.get("/account/reset")) == [("error", MESSAGES["internal_error"])]
    assert pages.get("/account/reset/password").headers["Location"] == "/account/reset"  # the flow is over
    assert stored(app, RESET_RECORDS) == []
    users.stuck = set()
    assert sign_in(pages).headers["Location"] == "/"  # the old password holds


@pytest.mark.parametrize(("path", "form", "action"), [
    ("/account/email", {"new_email_address": "renamed@example.com"}, "create_user_email_address_update"),
    ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, "create_user_password_update"),
    ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
     "verify_user_password_update_user_password"),
    ("/account/signout-everywhere", {}, "delete_all_sessions"),
    ("/account/delete", {"current_password": PASSWORD}, "create_user_deletion"),
    ("/account/email/verify", {"code": "ABCDEFGH", "password": PASSWORD},
     "verify_user_email_address_update_email_address_verification_code"),
    ("/account/email/resend", {}, "send_user_email_address_update_email_address_verification_code"),
])
def test_a_session_ended_during_a_step_asks_to_sign_in_again(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender, path: str, form: dict[str, str], action: str
) -> None:
    sign_up(pages, email_sender)
    if path.startswith("/account/email/"):
        assert pages.post("/account/email", new_email_address="renamed@example.com").status_code == 302
    ending = {"armed": True}

    with app.app_context():
        server = current_faroe.server

    def end_the_session_first(name: str, arguments: dict[str, str], run: Any) -> Any:
        if name == action and ending.pop("armed", False):  # another device signs out everywhere, just now
            assert server.invoke("delete_all_sessions", {"session_token": arguments["session_token"]}).ok
        return run(name, arguments)

    server.add_action_observer(end_the_session_first)
    csrf = pages.csrf()
    answer = pages.client.post(path, data={"csrf_token": csrf, **form})
    assert location(answer) == f"/account/signin?next={path}"
    assert pages.client.get_cookie("faroe_session") is None
    assert notices(pages.get("/account/signin")) == [("error", MESSAGES["invalid_session_token"])]
    with pages.client.session_transaction() as session:
        assert csrf not in repr(dict(session))


@pytest.mark.parametrize("path", ["/account/email/verify", "/account/email/resend"])
def test_an_email_change_of_another_session_starts_again(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender, path: str
) -> None:
    sign_up(pages, email_sender)
    other = Pages(app.test_client())
    assert sign_in(other).status_code == 302
    pages.post("/account/email", new_email_address="renamed@example.com")
    second = other.client.get_cookie("faroe_session")
    assert second is not None
    pages.client.set_cookie("faroe_session", second.value)  # the browser is signed in again meanwhile
    answer = pages.post(path, code=email_sender.last("update_code")["code"], password=PASSWORD)
    assert answer.headers["Location"] == "/account/email"
    assert notices(pages.get("/account/email")) == [("error", MESSAGES["session_mismatch"])]
    assert pages.get("/account/email/verify").headers["Location"] == "/account/email"  # dropped


def test_only_an_error_on_our_side_shows_a_reference(pages: Pages, email_sender: CapturingEmailSender) -> None:
    wrong = pages.post("/account/signup", email_address="not an address")
    assert wrong.status_code == 422 and "Reference:" not in wrong.get_data(as_text=True)
    assert 'data-error-code="invalid_email_address"' in wrong.get_data(as_text=True)
    assert 'aria-invalid="true"' in wrong.get_data(as_text=True).split('id="email_address"')[1].split(">")[0]


def test_finishing_a_signup_ends_the_other_flows_of_the_browser(
    app: Flask, pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender, email="owner@example.com")
    pages.post("/account/signout")
    pages.post("/account/reset", email_address="owner@example.com")  # a reset left in progress
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    seen = action_log(app)
    assert pages.post("/account/signup/password", password=PASSWORD).headers["Location"] == "/"
    assert seen == [("set_signup_password", "ok"), ("complete_signup", "ok"), ("delete_user_password_reset", "ok")]
    assert stored(app, RESET_RECORDS) == []


def test_reset_errors_keep_what_was_typed_and_speak_of_the_reset(pages: Pages, email_sender: CapturingEmailSender) -> None:
    from faroe_flask.flask.pages_messages import FLOW_MESSAGES

    unknown = pages.post("/account/reset", email_address="nobody@example.com")
    assert error_of(unknown) == MESSAGES["user_not_found"]
    field = unknown.get_data(as_text=True).split('<input id="email_address"')[1].split(">")[0]
    assert 'value="nobody@example.com"' in field and 'type="email"' in field and 'autocomplete="email"' in field
    sign_up(pages, email_sender)
    pages.post("/account/signout")
    pages.post("/account/reset", email_address=EMAIL)
    for _ in range(5):
        assert pages.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM").status_code == 422
    limited = pages.post("/account/reset/verify", temporary_password="ABCDEFGHJKLM")
    assert limited.status_code == 429 and error_of(limited) == FLOW_MESSAGES[("reset", "rate_limited")]
    assert f"<strong>{EMAIL}</strong>" in limited.get_data(as_text=True)


def test_a_form_sent_without_its_fields_is_read_as_empty(pages: Pages) -> None:
    answer = pages.post("/account/reset")  # no email_address at all
    assert error_of(answer) == MESSAGES["invalid_email_address"]
    field = answer.get_data(as_text=True).split('<input id="email_address"')[1].split(">")[0]
    assert "value=" not in field


def test_each_app_gets_its_own_copy_of_the_pages_mapping_defaults(make_app: AppFactory) -> None:
    from faroe_flask.flask.config import PAGES_DEFAULTS

    first = make_app(config=PAGES_CONFIG)
    first.register_blueprint(create_pages_blueprint())
    first.config["FAROE_PAGES_MESSAGES"]["user_not_found"] = "Who are you?"
    second = make_app(config=PAGES_CONFIG)
    second.register_blueprint(create_pages_blueprint())
    assert second.config["FAROE_PAGES_MESSAGES"] == {} and dict(PAGES_DEFAULTS["FAROE_PAGES_MESSAGES"]) == {}
    assert error_of(sign_in(Pages(first.test_client()))) == "Who are you?"
    assert error_of(sign_in(Pages(second.test_client()))) == MESSAGES["user_not_found"]


def test_the_default_endpoint_names_and_names_that_start_like_a_mutation(make_app: AppFactory) -> None:
    from flask import url_for

    app = make_app(config=PAGES_CONFIG)
    app.register_blueprint(create_pages_blueprint())
    app.register_blueprint(create_pages_blueprint("Xauth", url_prefix="/Xs/X/"))
    with app.test_request_context("/"):
        assert url_for("faroe_pages.signin") == "/account/signin"
        assert url_for("Xauth.signin") == "/Xs/X/signin"
    client = app.test_client()
    assert location(client.get("/Xs/X/")) == "/account/signin?next=/Xs/X/"  # the first pages' sign-in
    assert client.get("/Xs/X/signin").headers["X-Frame-Options"] == "DENY"
    only = make_app(config=PAGES_CONFIG)
    only.register_blueprint(create_pages_blueprint("Xauth", url_prefix="/Xs/X/"))
    assert location(only.test_client().get("/Xs/X/")) == "/Xs/X/signin?next=/Xs/X/"


def test_only_the_slashes_of_a_prefix_are_stripped(make_app: AppFactory) -> None:
    app = make_app(config=PAGES_CONFIG)
    app.register_blueprint(create_pages_blueprint(url_prefix="/auth "))
    client = app.test_client()
    assert client.get("/auth%20/signin").status_code == 200
    assert client.get("/auth/signin").status_code == 404


@pytest.mark.parametrize(("home", "expected"), [("/welcome", "/welcome"), ("", "/")])
def test_the_home_url_is_where_the_pages_lead_without_next(
    make_app: AppFactory, email_sender: CapturingEmailSender, home: str, expected: str
) -> None:
    app = make_app(config={**PAGES_CONFIG, "FAROE_PAGES_HOME_URL": home})
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    assert sign_up(pages, email_sender).headers["Location"] == expected
    assert pages.post("/account/signout").headers["Location"] == expected
    assert sign_in(pages).headers["Location"] == expected
    assert location(pages.post("/account/signin?next=https://elsewhere.example/", email_address=EMAIL,
                               password=PASSWORD)) == expected
    pages.post("/account/signup", email_address="other@example.com")
    assert pages.post("/account/signup/cancel").headers["Location"] == expected
    assert pages.post("/account/delete", current_password=PASSWORD).headers["Location"] == expected


def test_an_email_change_code_with_spaces_and_a_resend_once_verified(
    pages: Pages, email_sender: CapturingEmailSender
) -> None:
    sign_up(pages, email_sender)
    pages.post("/account/email", new_email_address="renamed@example.com")
    code = email_sender.last("update_code")["code"]
    spaced = f"{code[:4]} {code[4:]}"
    wrong = pages.post("/account/email/verify", code=spaced, password=NEW_PASSWORD)  # the code holds
    assert error_of(wrong) == MESSAGES["incorrect_password"]
    assert "<strong>renamed@example.com</strong>" in wrong.get_data(as_text=True)
    pages.get("/account/")
    resent = pages.post("/account/email/resend")  # verified already: nothing to send
    assert resent.headers["Location"] == "/account/email/verify"
    assert notices(pages.get("/account/email/verify")) == []
    assert len(email_sender.of_kind("update_code")) == 1
    assert pages.post("/account/email/verify", code="", password=PASSWORD).headers["Location"] == "/account/"


def test_the_signup_fields_page_names_the_address(pages: Pages, email_sender: CapturingEmailSender) -> None:
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    page = pages.get("/account/signup/fields").get_data(as_text=True)
    assert f"Your address <strong>{EMAIL}</strong> is verified" in page


def test_a_decoy_signup_out_of_order_answers_as_a_real_one(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    app = make_app(config={**PAGES_CONFIG, "FAROE_PAGES_GENERIC_RESPONSES": True})
    app.register_blueprint(create_pages_blueprint())
    owner = Pages(app.test_client())
    sign_up(owner, email_sender)
    answers = []
    for address in (EMAIL, "fresh@example.com"):  # a taken address (a decoy) and a new one
        pages = Pages(app.test_client())
        assert pages.post("/account/signup", email_address=address).headers["Location"] == "/account/signup/verify"
        early = pages.post("/account/signup/fields")
        answers.append((early.headers["Location"], notices(pages.get("/account/signup/verify"))))
    assert answers[0] == answers[1] == ("/account/signup/verify", [("error", MESSAGES["email_address_not_verified"])])


def test_a_signup_that_expires_or_cannot_sign_in_at_completion(
    make_app: AppFactory, email_sender: CapturingEmailSender, clock: FakeClock
) -> None:
    storage = SessionlessStorage()
    app = make_app(config=PAGES_CONFIG, storage=storage)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    clock.advance(21 * 60)
    seen = action_log(app)
    expired = pages.post("/account/signup/fields")
    assert expired.headers["Location"] == "/account/signup"
    assert seen == [("complete_signup", "invalid_signup_token")]  # over on the server: not ended again
    assert notices(pages.get("/account/signup")) == [("error", MESSAGES["invalid_signup_token"])]
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    storage.full = True
    done = pages.post("/account/signup/password", password=PASSWORD)
    assert done.headers["Location"] == "/account/signin"
    assert notices(pages.get("/account/signin")) == [("error", MESSAGES["session_not_created"])]
    assert pages.get("/account/signup/password").headers["Location"] == "/account/signup"  # over
    storage.full = False
    assert sign_in(pages).headers["Location"] == "/"  # the account is ready


# Edges found by mutation testing, round 3 ---------------------------------------------------------


def test_the_password_step_names_the_address_for_password_managers(
    pages: Pages, email_sender: CapturingEmailSender
) -> None:
    """The password step's form holds the address as a hidden ``username`` (so that a password
    manager saves the new password under it), on the page and when it comes back with an error."""
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    hidden = f'<input type="email" name="username" value="{EMAIL}" autocomplete="username" hidden readonly>'
    shown = pages.get("/account/signup/password")
    assert shown.status_code == 200 and hidden in shown.get_data(as_text=True)
    weak = pages.post("/account/signup/password", password=WEAK_PASSWORD)
    assert weak.status_code == 422 and error_of(weak) == MESSAGES["weak_password"]
    assert hidden in weak.get_data(as_text=True)


def test_a_signup_that_fails_at_completion_ends_and_starts_again(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    """complete_signup answers internal_error (the user store is down): the browser is sent back
    to the start with the sentence, signed out, and the flow is over on both sides."""
    users = StuckUserStore()
    app = make_app(config=PAGES_CONFIG, user_store=users)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    pages.post("/account/signup", email_address=EMAIL)
    pages.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    users.stuck = {"create_user"}
    seen = action_log(app)
    failed = pages.post("/account/signup/password", password=PASSWORD)
    assert failed.headers["Location"] == "/account/signup"
    assert seen == [("set_signup_password", "ok"), ("complete_signup", "internal_error"), ("delete_signup", "ok")]
    assert notices(pages.get("/account/signup")) == [("error", MESSAGES["internal_error"])]
    assert pages.client.get_cookie("faroe_session") is None
    assert pages.get("/account/signup/password").headers["Location"] == "/account/signup"  # over
    users.stuck = set()
    assert sign_up(pages, email_sender).headers["Location"] == "/"  # a new sign-up goes through


class FailingWritesStorage(MemoryStorage):
    """Memory storage that cannot add a record under ``failing`` (a key prefix), as an
    unreachable database would."""

    failing = ""

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        if self.failing and key.startswith(self.failing):
            raise ConnectionError("the storage is unreachable")
        super().add(key, value, expires_at)


@pytest.mark.parametrize(("path", "form", "records"), [
    ("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, PASSWORD_UPDATE_RECORDS),
    ("/account/delete", {"current_password": PASSWORD}, DELETION_RECORDS),
])
def test_a_flow_that_cannot_start_shows_its_own_form_with_a_reference(
    make_app: AppFactory, email_sender: CapturingEmailSender, path: str, form: dict[str, str], records: str
) -> None:
    storage = FailingWritesStorage()
    app = make_app(config=PAGES_CONFIG, storage=storage)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    storage.failing = records
    failed = pages.post(path, **form)
    body = failed.get_data(as_text=True)
    assert failed.status_code == 503 and error_of(failed) == MESSAGES["internal_error"]
    assert f'action="{path}"' in body and re.search(r"Reference: <code>[a-z2-9]{24}</code>", body)
    assert pages.get("/account/").status_code == 200  # still signed in
    storage.failing = ""
    assert pages.post(path, **form).status_code == 302  # and it works once the storage is back


def test_signing_out_everywhere_that_fails_says_so_and_stays_signed_in(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    users = StuckUserStore()
    app = make_app(config=PAGES_CONFIG, user_store=users)
    app.register_blueprint(create_pages_blueprint())
    pages = Pages(app.test_client())
    sign_up(pages, email_sender)
    users.stuck = {"increment_user_sessions_counter"}
    failed = pages.post("/account/signout-everywhere")
    body = failed.get_data(as_text=True)
    assert failed.status_code == 503 and error_of(failed) == MESSAGES["internal_error"]
    assert 'action="/account/signout-everywhere"' in body and "<h1>Sign out everywhere</h1>" in body
    assert re.search(r"Reference: <code>[a-z2-9]{24}</code>", body)
    assert pages.client.get_cookie("faroe_session") is not None and pages.get("/account/").status_code == 200
    users.stuck = set()
    assert pages.post("/account/signout-everywhere").headers["Location"] == "/account/signin"


def test_the_signup_form_keeps_where_to_go_afterwards(pages: Pages) -> None:
    form = pages.get("/account/signup?next=/private").get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/private">' in form
    assert 'href="/account/signin?next=/private"' in form


def test_a_wrong_code_keeps_the_address_on_the_page(pages: Pages, email_sender: CapturingEmailSender) -> None:
    pages.post("/account/signup", email_address=EMAIL)
    wrong = pages.post("/account/signup/verify", code="WRONGCDE")
    assert wrong.status_code == 422 and error_of(wrong) == MESSAGES["incorrect_email_address_verification_code"]
    assert f"We sent a code to <strong>{EMAIL}</strong>." in wrong.get_data(as_text=True)
