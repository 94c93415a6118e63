"""The account pages over real HTTP: an app with the pages served by waitress on loopback, and
browsers made of urllib, a cookie jar and a loopback source address of their own (127.0.0.2,
127.0.0.3, ...: distinct clients). Redirects are not followed, so every answer is checked; each
POST carries the CSRF token parsed from a form the same browser was served."""

from __future__ import annotations

import copy
import dataclasses
import functools
import html
import http.client
import http.cookiejar
import itertools
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from faroe_flask import create_pages_blueprint

from ..servers import serve
from .conftest import AppFactory

PAGES_CONFIG = {"SECRET_KEY": "pages-http-key", "FAROE_SESSION_COOKIE_SECURE": False}
TOKEN = re.compile(r"[a-z2-9]{24}\.[a-z2-9]{24}")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ERROR = re.compile(r'id="form-error"[^>]*>\s*<p>([^<]+)</p>')
_SOURCES = (f"127.0.0.{n}" for n in itertools.count(2))


@dataclasses.dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return urllib.parse.unquote(self.headers.get("Location", ""))

    def set_cookies(self, name: str) -> list[str]:
        return [value for value in self.headers.get_all("Set-Cookie") or [] if value.startswith(name + "=")]

    @property
    def error(self) -> str:
        match = _ERROR.search(self.body)
        assert match, self.body
        return html.unescape(match.group(1))

    @property
    def csrf(self) -> str:
        match = _CSRF.search(self.body)
        assert match, self.body
        return match.group(1)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _FromSource(urllib.request.HTTPHandler):
    """Connects from ``source`` (a loopback address of the client's own)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def http_open(self, req: Any) -> Any:
        connection = functools.partial(http.client.HTTPConnection, source_address=(self.source, 0))
        return self.do_open(connection, req)


class HttpBrowser:
    def __init__(self, base: str, jar: http.cookiejar.CookieJar | None = None) -> None:
        self.base = base
        self.source = next(_SOURCES)
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            _FromSource(self.source), urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> Answer:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data)
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read().decode())

    def get(self, path: str) -> Answer:
        return self.request(path)

    def csrf(self, page: str = "/account/signin") -> str:
        return self.get(page).csrf

    def post(self, path: str, *, csrf: str | None = None, **form: str) -> Answer:
        """POST with the CSRF token of a form this browser gets first (or ``csrf``)."""
        return self.request(path, {"csrf_token": csrf if csrf is not None else self.csrf(), **form})

    def cookie(self, name: str) -> str | None:
        return next((cookie.value for cookie in self.jar if cookie.name == name), None)

    def copy(self) -> HttpBrowser:
        """Another client (its own source address) holding a copy of this browser's cookies."""
        jar = http.cookiejar.CookieJar()
        for cookie in self.jar:
            jar.set_cookie(copy.copy(cookie))
        return HttpBrowser(self.base, jar)


def flask_session(app: Flask, browser: HttpBrowser) -> dict[str, Any]:
    """What Flask's session cookie of ``browser`` holds (its signature checked)."""
    value = browser.cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    if value is None:
        return {}
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    loaded: dict[str, Any] = serializer.loads(value)
    return loaded


def pages_app(make_app: AppFactory, **config: Any) -> Flask:
    app = make_app(config={**PAGES_CONFIG, **config})
    app.register_blueprint(create_pages_blueprint())
    return app


@pytest.fixture
def http_app(make_app: AppFactory) -> Flask:
    return pages_app(make_app)


@pytest.fixture
def base(http_app: Flask) -> Iterator[str]:
    with serve(http_app) as url:
        yield url
