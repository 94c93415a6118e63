"""The Flask-Login bridge with real Flask-Login: an app written against ``flask_login`` keeps its
``current_user``, ``login_required`` and ``user_loader``, Faroe's cookie is the source of truth and
``logout_user`` ends the Faroe session. Through the test client, and once over waitress."""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.request
from typing import Any

import flask_login
import pytest
from flask import Flask, jsonify, render_template_string
from flask.testing import FlaskClient

from faroe_flask import Faroe, FaroeUser
from faroe_flask import current_user as faroe_current_user
from faroe_flask.flask.login_bridge import bridge_flask_login
from faroe_flask.testing import memory_faroe, sign_in, sign_up, sign_up_client

from ..conftest import FakeClock
from ..servers import serve

EMAIL = "ada@example.com"


class Account(flask_login.UserMixin):
    """The application's model, keyed by the Faroe user id."""

    def __init__(self, user_id: str, name: str) -> None:
        self.id = user_id
        self.name = name


class Accounts:
    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}
        self.loads: list[str] = []

    def load(self, user_id: str) -> Account | None:
        self.loads.append(user_id)
        return self.rows.get(user_id)


def build(clock: FakeClock, accounts: Accounts, *, bridge: bool = True) -> tuple[Flask, Faroe, Any]:
    app = Flask("login_bridge_test")
    app.config.update(TESTING=True, SECRET_KEY="test", FAROE_SESSION_COOKIE_SECURE=False)
    manager = flask_login.LoginManager(app)
    manager.user_loader(accounts.load)
    faroe = memory_faroe(app, clock=clock)
    if bridge:
        bridge_flask_login(manager, faroe)

    @app.get("/me")
    @flask_login.login_required
    def me() -> Any:
        user = flask_login.current_user
        page = render_template_string("{{ current_user.name }}")
        return jsonify(name=user.name, id=user.get_id(), page=page,
                       same=faroe_current_user._get_current_object() is user._get_current_object())

    @app.post("/logout")
    def logout() -> Any:
        flask_login.logout_user()
        return jsonify(anonymous=flask_login.current_user.is_anonymous)

    @app.post("/legacy-login/<user_id>")
    def legacy_login(user_id: str) -> str:
        flask_login.login_user(Account(user_id, "Legacy"))
        return "ok"

    return app, faroe, manager


@pytest.fixture
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture
def app(clock: FakeClock, accounts: Accounts) -> Flask:
    return build(clock, accounts)[0]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def signed_up(client: FlaskClient, accounts: Accounts, email: str = EMAIL) -> str:
    signed = sign_up_client(client, email)
    accounts.rows[signed.user_id] = Account(signed.user_id, email.split("@")[0].title())
    return signed.session_token


def test_flask_login_views_see_the_faroe_sessions_user(client: FlaskClient, accounts: Accounts) -> None:
    assert client.get("/me").status_code == 401  # Flask-Login's own answer (no login_view)
    signed_up(client, accounts)
    accounts.loads.clear()
    response = client.get("/me")
    assert response.status_code == 200
    user_id = response.json["id"]  # type: ignore[index]
    assert response.json == {"name": "Ada", "id": user_id, "page": "Ada", "same": True}
    assert accounts.loads == [user_id]  # the app's user_loader, once, with the Faroe user id


def test_logout_user_ends_the_faroe_session(app: Flask, client: FlaskClient, accounts: Accounts) -> None:
    token = signed_up(client, accounts)
    assert client.get("/me").status_code == 200
    response = client.post("/logout")
    assert response.json == {"anonymous": True}
    [cleared] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("faroe_session=")]
    assert cleared.startswith("faroe_session=;")
    with app.app_context():
        assert app.extensions["faroe"].server.get_session(token).ok is False
    assert client.get("/me").status_code == 401


def test_flask_logins_own_identity_signs_no_one_in(
    app: Flask, client: FlaskClient, accounts: Accounts, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``_user_id`` in Flask's session (login_user, or left from before the bridge) and a
    remember-me cookie are ignored: only a Faroe session signs in."""
    accounts.rows["someone"] = Account("someone", "Someone")
    assert client.post("/legacy-login/someone").data == b"ok"
    assert "login_user without a Faroe session" in caplog.text
    assert client.get("/me").status_code == 401
    with app.app_context():  # a genuine remember-me cookie for that user, signed by the app
        remember = flask_login.utils.encode_cookie("someone")
    client.set_cookie("remember_token", remember)
    assert client.get("/me").status_code == 401
    # With a Faroe session, its user wins over whatever Flask's session holds.
    signed_up(client, accounts)
    assert client.get("/me").json["name"] == "Ada"  # type: ignore[index]


def test_forged_expired_and_revoked_faroe_sessions_are_anonymous(
    app: Flask, client: FlaskClient, accounts: Accounts, clock: FakeClock
) -> None:
    token = signed_up(client, accounts)
    for forged in ("x", token + "x", token.split(".")[0] + "." + "q" * 24):
        other = app.test_client()
        other.set_cookie("faroe_session", forged)
        assert other.get("/me").status_code == 401
    other = app.test_client()
    other.set_cookie("faroe_session", sign_in(EMAIL, app=app).session_token)
    assert other.get("/me").status_code == 200
    result = app.test_cli_runner().invoke(args=["faroe", "sessions", "revoke", EMAIL])
    assert result.exit_code == 0, result.output
    assert client.get("/me").status_code == 401 and other.get("/me").status_code == 401


def test_a_user_unknown_to_the_app_is_not_signed_in(client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)  # a Faroe user without an Account row
    assert client.get("/me").status_code == 401


def test_a_faroe_user_loader_takes_precedence_for_other_ids(clock: FakeClock, accounts: Accounts) -> None:
    """An app whose ids are not Faroe's (an integer key, a ``faroe_user_id`` column)."""
    app = Flask("login_bridge_ids")
    app.config.update(TESTING=True, SECRET_KEY="test")
    manager = flask_login.LoginManager(app)
    by_faroe_id: dict[str, Account] = {}
    manager.user_loader(lambda user_id: None)  # Flask-Login's ids are the app's integers
    faroe = memory_faroe(app, clock=clock)

    @faroe.user_loader
    def load(faroe_user: FaroeUser) -> Account | None:
        return by_faroe_id.get(faroe_user.id)

    bridge_flask_login(manager, faroe)

    @app.get("/me")
    @flask_login.login_required
    def me() -> str:
        return str(flask_login.current_user.get_id())

    client = app.test_client()
    signed = sign_up_client(client, EMAIL)
    by_faroe_id[signed.user_id] = Account("42", "Ada")
    assert client.get("/me").data == b"42"


def test_without_the_bridge_flask_login_is_untouched(clock: FakeClock, accounts: Accounts) -> None:
    app, _, manager = build(clock, accounts, bridge=False)
    assert manager.user_callback == accounts.load
    client = app.test_client()
    accounts.rows["7"] = Account("7", "Seven")
    client.post("/legacy-login/7")
    assert client.get("/me").json["name"] == "Seven"  # type: ignore[index]
    assert client.post("/logout").json == {"anonymous": True}
    with app.app_context():  # the remember-me cookie the bridged app ignores works here
        client.set_cookie("remember_token", flask_login.utils.encode_cookie("7"))
    assert client.get("/me").json["name"] == "Seven"  # type: ignore[index]


def test_the_bridge_over_waitress(app: Flask, accounts: Accounts) -> None:
    signed = sign_up(EMAIL, app=app)
    accounts.rows[signed.user_id] = Account(signed.user_id, "Ada")
    with serve(app) as base:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def get(path: str, data: bytes | None = None) -> int:
            try:
                with opener.open(urllib.request.Request(base + path, data=data), timeout=30) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                with error:
                    return int(error.code)

        assert get("/me") == 401
        cookie = http.cookiejar.Cookie(
            0, "faroe_session", signed.session_token, None, False, "127.0.0.1", False, False, "/",
            True, False, None, False, None, None, {},
        )
        jar.set_cookie(cookie)
        assert get("/me") == 200
        assert get("/logout", data=b"") == 200
        assert not any(c.name == "faroe_session" for c in jar)
        jar.set_cookie(cookie)  # the old token: its session has ended
        assert get("/me") == 401
