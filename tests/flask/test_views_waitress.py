"""The README's views example (examples/views_app.py) on a real waitress server, driven by urllib
with a cookie jar: sign up, sign in, a protected page, sign out, a session revoked with
``flask faroe sessions revoke``, and bad or forged cookies (redirects or 401, never a 500)."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from flask import Flask

from faroe_flask.testing import FAST_PASSWORD_HASHING, TEST_PASSWORD, memory_parts, outbox_of

from ..servers import serve
from .examples import load_example

EMAIL = "margaret@example.com"


def load_views_example() -> ModuleType:
    return load_example("views_app.py", "faroe_views_example")


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """urllib with a cookie jar; redirects are not followed, so every answer can be checked."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirects()
        )

    def request(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, _headers(response), response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _headers(error), error.read().decode()

    def session_cookie(self) -> str | None:
        for cookie in self.jar:
            if cookie.name == "faroe_session":
                return cookie.value
        return None


def _headers(response: Any) -> dict[str, Any]:
    return {
        "location": response.headers.get("Location"),
        "set_cookie": response.headers.get_all("Set-Cookie") or [],
    }


@pytest.fixture
def app() -> Flask:
    config = {"TESTING": True, "SECRET_KEY": "test", "FAROE_SESSION_COOKIE_SECURE": False}
    config.update(FAST_PASSWORD_HASHING)
    app: Flask = load_views_example().create_app(config, **memory_parts())
    return app


@pytest.fixture
def base(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def sign_up(browser: Browser, app: Flask, email: str = EMAIL) -> None:
    status, headers, _ = browser.request("/signup", {"email": email})
    assert status == 302 and headers["location"].endswith("/signup/verify")
    code = outbox_of(app).code_for(email)
    status, headers, _ = browser.request("/signup/verify", {"code": code, "password": TEST_PASSWORD})
    assert status == 302 and headers["location"].endswith("/profile")


def test_sign_up_sign_in_protected_page_and_sign_out(app: Flask, base: str) -> None:
    browser = Browser(base)
    status, headers, _ = browser.request("/profile")
    assert status == 302 and headers["location"] == "/login?next=%2Fprofile"
    assert browser.session_cookie() is None

    sign_up(browser, app)
    assert browser.session_cookie() is not None
    status, _, body = browser.request("/profile")
    assert status == 200 and f"Signed in as {EMAIL}" in body

    status, headers, _ = browser.request("/logout", {})
    assert status == 302
    assert browser.session_cookie() is None
    assert browser.request("/profile")[0] == 302

    # A wrong password: one message, no cookie.
    status, _, body = browser.request("/login", {"email": EMAIL, "password": "not it"})
    assert status == 400 and "Wrong email address or password" in body
    assert browser.session_cookie() is None

    # Signing in goes back to where login_required sent the browser from.
    status, headers, _ = browser.request(
        "/login?next=%2Fprofile", {"email": EMAIL, "password": TEST_PASSWORD, "next": "/profile"}
    )
    assert status == 302 and headers["location"] == "/profile"
    [set_cookie] = [h for h in headers["set_cookie"] if h.startswith("faroe_session=")]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Max-Age=2592000" in set_cookie
    status, _, body = browser.request("/profile")
    assert status == 200 and EMAIL in body

    # An open redirect is refused.
    other = Browser(base)
    status, headers, _ = other.request(
        "/login", {"email": EMAIL, "password": TEST_PASSWORD, "next": "//evil.example/"}
    )
    assert status == 302 and headers["location"] == "/profile"


def test_a_revoked_session_is_rejected_and_its_cookie_cleared(app: Flask, base: str) -> None:
    browser = Browser(base)
    sign_up(browser, app)
    assert browser.request("/profile")[0] == 200
    result = app.test_cli_runner().invoke(args=["faroe", "sessions", "revoke", EMAIL])
    assert result.exit_code == 0, result.output
    status, headers, _ = browser.request("/profile")
    assert status == 302 and headers["location"] == "/login?next=%2Fprofile"
    [cleared] = [h for h in headers["set_cookie"] if h.startswith("faroe_session=")]
    assert cleared.startswith("faroe_session=;") and "Max-Age=0" in cleared
    assert browser.session_cookie() is None
    status, _, body = browser.request("/")
    assert status == 200 and "Not signed in" in body


def test_bad_and_forged_cookies_never_cause_a_500(app: Flask, base: str) -> None:
    owner = Browser(base)
    sign_up(owner, app)
    token = owner.session_cookie()
    assert token is not None
    session_id = token.split(".")[0]
    values = [
        "x",
        "...",
        session_id,
        session_id + "." + "w" * 24,
        "m" * 24 + "." + token.split(".")[1],
        token + "x",
        "a" * 3000,
        '"quoted"',
        "\u00ff\u00fe",
        "faroe_session=nested",
    ]
    for value in values:
        for accept in ("text/html", "application/json"):
            status, headers, body = Browser(base).request(
                "/profile", headers={"Cookie": f"faroe_session={value}", "Accept": accept}
            )
            if accept == "text/html":
                assert status == 302, value
                assert headers["location"] == "/login?next=%2Fprofile"
            else:
                assert status == 401, value
                assert '"login_required"' in body
    # Garbage on the other routes is harmless too, and the real session is untouched.
    for path in ("/", "/login"):
        assert Browser(base).request(path, headers={"Cookie": "faroe_session=%%%"})[0] == 200
    assert owner.request("/profile")[0] == 200


def test_an_api_client_uses_a_bearer_token(app: Flask, base: str) -> None:
    owner = Browser(base)
    sign_up(owner, app)
    token = owner.session_cookie()
    api = Browser(base)
    status, headers, body = api.request("/profile", headers={"Authorization": f"Bearer {token}"})
    assert status == 200 and EMAIL in body and headers["set_cookie"] == []
    status, _, _ = api.request("/profile", headers={"Authorization": "Bearer " + "k" * 24 + ".nope"})
    assert status == 401


def test_the_readme_testing_snippet_works_on_the_example() -> None:
    from faroe_flask.testing import sign_up_client

    create_app = load_views_example().create_app
    app = create_app({"TESTING": True, **FAST_PASSWORD_HASHING}, **memory_parts())
    client = app.test_client()
    assert client.get("/profile").status_code == 302
    sign_up_client(client, "ada@example.com")
    assert client.get("/profile").status_code == 200
