"""Sessions in the application's own views, through Flask's test client: the cookie and its flags,
Max-Age, the per-request lookup, bearer tokens, login_required and fresh sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask, jsonify, redirect, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from faroe_flask import (
    ConfigError,
    MemoryUserStore,
    User,
    current_faroe,
    current_session,
    current_user,
    end_session,
    fresh_login_required,
    get_current_session,
    login_required,
    next_url,
    start_session,
)
from faroe_flask.testing import (
    TEST_PASSWORD,
    bearer_headers,
    memory_faroe,
    set_client_session,
    sign_in,
    sign_up,
    sign_up_client,
)

from ..conftest import FakeClock

EMAIL = "ada@example.com"
DAY = 24 * 3600


class CountingUserStore(MemoryUserStore):
    def __init__(self) -> None:
        super().__init__()
        self.get_user_calls = 0
        self.failing = False

    def get_user(self, user_id: str) -> User:
        self.get_user_calls += 1
        if self.failing:
            raise ConnectionError("the users database is down")
        return super().get_user(user_id)


def build_app(clock: FakeClock, config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
    app = Flask("views_test")
    app.config.update(TESTING=True, FAROE_LOGIN_VIEW="login")
    app.config.update(config or {})
    memory_faroe(app, clock=clock, **faroe_kwargs)

    @app.get("/login")
    def login() -> str:
        return "the login page"

    @app.post("/signin")
    def signin() -> Any:
        email, password = request.form["email"], request.form["password"]
        token = current_faroe.invoke("create_signin", {"user_email_address": email}).values["signin_token"]  # type: ignore[index]
        current_faroe.invoke("verify_signin_user_password", {"signin_token": token, "password": password})
        result = current_faroe.invoke("complete_signin", {"signin_token": token})
        if request.args.get("response"):
            response = redirect("/private")
            start_session(result, response)
            return response
        session = start_session(result)
        # The rest of this request already sees the new session.
        assert current_session and current_session.id == session.id
        return jsonify(user=current_user.email_address, session=session.id)

    @app.get("/private")
    @login_required
    def private() -> Any:
        return jsonify(id=current_user.id, email=current_user.email_address, session=current_session.id)  # type: ignore[union-attr]

    @app.get("/session-only")
    @login_required
    def session_only() -> Any:
        return jsonify(session=current_session.id, user=current_session.user_id)  # type: ignore[union-attr]

    @app.get("/sensitive")
    @fresh_login_required
    def sensitive() -> str:
        return "sensitive"

    @app.get("/recent")
    @login_required(max_age=timedelta(seconds=60))
    def recent() -> str:
        return "recent"

    @app.get("/whoami")
    def whoami() -> Any:
        return jsonify(
            authenticated=current_user.is_authenticated,
            anonymous=current_user.is_anonymous,
            id=current_user.id,
            session=bool(current_session),
        )

    @app.post("/logout")
    def logout() -> Any:
        ended = end_session(everywhere=request.args.get("everywhere") == "1")
        return jsonify(ended=ended)

    @app.post("/logout-response")
    def logout_response() -> Any:
        response = redirect("/")
        end_session(response)
        return response

    @app.get("/next")
    def show_next() -> str:
        return next_url("/default")

    return app


@pytest.fixture
def make(clock: FakeClock) -> Callable[..., Flask]:
    def factory(config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
        return build_app(clock, config, **faroe_kwargs)

    return factory


@pytest.fixture
def app(make: Callable[..., Flask]) -> Flask:
    return make()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def session_cookie(response: TestResponse, name: str = "faroe_session") -> tuple[str, dict[str, str]] | None:
    """The session cookie a response sets: its value and its attributes (lower-case names)."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            parsed = SimpleCookie()
            parsed.load(header)
            morsel = parsed[name]
            attributes = {key: str(value) for key, value in morsel.items() if value}
            flags = [part.strip().lower() for part in header.split(";")[1:]]
            for flag in ("secure", "httponly"):
                attributes[flag] = str(flag in flags)
            return morsel.value, attributes
    return None


def signin(client: FlaskClient, email: str = EMAIL, **query: str) -> TestResponse:
    return client.post("/signin", data={"email": email, "password": TEST_PASSWORD}, query_string=query)


# The cookie ------------------------------------------------------------------------------------


def test_sign_in_sets_a_cookie_with_the_recommended_flags(app: Flask, client: FlaskClient) -> None:
    sign_up(EMAIL, app=app)
    response = signin(client)
    assert response.status_code == 200
    cookie = session_cookie(response)
    assert cookie is not None
    value, attributes = cookie
    assert value.count(".") == 1 and len(value) == 49
    assert attributes["httponly"] == "True"
    assert attributes["secure"] == "True"
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    assert attributes["max-age"] == str(30 * DAY)  # the inactivity timeout
    assert client.get("/private").json["email"] == EMAIL  # type: ignore[index]


def test_cookie_name_and_flags_follow_the_configuration(make: Callable[..., Flask]) -> None:
    app = make(
        {
            "FAROE_SESSION_COOKIE_NAME": "auth",
            "FAROE_SESSION_COOKIE_SECURE": "false",
            "FAROE_SESSION_COOKIE_SAMESITE": "strict",
            "FAROE_SESSION_COOKIE_PATH": "/app",
            "FAROE_SESSION_COOKIE_DOMAIN": "example.com",
        }
    )
    sign_up(EMAIL, app=app)
    client = app.test_client()
    response = signin(client)
    assert session_cookie(response, "faroe_session") is None
    cookie = session_cookie(response, "auth")
    assert cookie is not None
    _, attributes = cookie
    assert attributes["secure"] == "False"
    assert attributes["httponly"] == "True"
    assert attributes["samesite"] == "Strict"
    assert attributes["path"] == "/app"
    assert attributes["domain"] == "example.com"


def test_max_age_is_the_time_left_to_the_absolute_expiry_when_sooner(
    make: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make({"FAROE_SESSION_EXPIRATION": 3600})
    sign_up(EMAIL, app=app)
    client = app.test_client()
    assert session_cookie(signin(client))[1]["max-age"] == "3600"  # type: ignore[index]
    clock.advance(1000)
    # Each request re-sends the cookie with what is left of the session's lifetime.
    response = client.get("/private")
    assert response.status_code == 200
    assert session_cookie(response)[1]["max-age"] == "2600"  # type: ignore[index]
    clock.advance(2600)
    response = client.get("/private")
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert cookie is not None and cookie[0] == "" and cookie[1]["max-age"] == "0"


def test_max_age_is_the_inactivity_timeout_when_sooner(make: Callable[..., Flask]) -> None:
    app = make({"FAROE_SESSION_EXPIRATION": 3600, "FAROE_SESSION_INACTIVITY_TIMEOUT": 600})
    sign_up(EMAIL, app=app)
    assert session_cookie(signin(app.test_client()))[1]["max-age"] == "600"  # type: ignore[index]


def test_the_cookie_is_refreshed_unless_configured_off(make: Callable[..., Flask], clock: FakeClock) -> None:
    app = make({"FAROE_SESSION_INACTIVITY_TIMEOUT": 600})
    sign_up(EMAIL, app=app)
    client = app.test_client()
    signin(client)
    clock.advance(500)
    response = client.get("/private")
    assert session_cookie(response)[1]["max-age"] == "600"  # type: ignore[index]
    assert "Cookie" in response.headers["Vary"]
    clock.advance(500)  # 1000 s after sign-in, but used 500 s ago: still valid
    assert client.get("/private").status_code == 200

    quiet = make({"FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST": False})
    sign_up(EMAIL, app=quiet)
    quiet_client = quiet.test_client()
    signin(quiet_client)
    response = quiet_client.get("/private")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


def test_start_session_with_a_response_sets_the_cookie_on_it(app: Flask, client: FlaskClient) -> None:
    sign_up(EMAIL, app=app)
    response = signin(client, response="1")
    assert response.status_code == 302
    assert len([h for h in response.headers.getlist("Set-Cookie") if h.startswith("faroe_session=")]) == 1
    assert client.get("/private").status_code == 200


def test_requests_that_never_look_at_the_session_get_no_cookie(app: Flask, client: FlaskClient) -> None:
    signed = sign_up_client(client, EMAIL)
    response = client.get("/login")
    assert response.headers.getlist("Set-Cookie") == []
    # Nor does the Faroe endpoint, which takes tokens in its body.
    response = client.post(
        "/faroe", data=json.dumps({"action": "get_session", "arguments": {"session_token": signed.session_token}})
    )
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FAROE_SESSION_COOKIE_SAMESITE", "sometimes"),
        ("FAROE_SESSION_COOKIE_NAME", "bad name;"),
        ("FAROE_SESSION_COOKIE_NAME", ""),
        ("FAROE_SESSION_COOKIE_PATH", "relative"),
        ("FAROE_SESSION_COOKIE_SECURE", "maybe"),
        ("FAROE_FRESH_SESSION_MAX_AGE", 0),
        ("FAROE_LOGIN_VIEW", 42),
    ],
)
def test_unusable_cookie_settings_are_rejected_at_start_up(
    make: Callable[..., Flask], key: str, value: Any
) -> None:
    with pytest.raises(ConfigError, match=key):
        make({key: value})


def test_samesite_none_requires_secure(make: Callable[..., Flask]) -> None:
    with pytest.raises(ConfigError, match="FAROE_SESSION_COOKIE_SAMESITE"):
        make({"FAROE_SESSION_COOKIE_SAMESITE": "None", "FAROE_SESSION_COOKIE_SECURE": False})
    app = make({"FAROE_SESSION_COOKIE_SAMESITE": "None"})
    sign_up(EMAIL, app=app)
    assert session_cookie(signin(app.test_client()))[1]["samesite"] == "None"  # type: ignore[index]


# The per-request lookup ------------------------------------------------------------------------


def test_the_token_is_validated_once_per_request(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    calls: list[tuple[str, bool]] = []

    def counting(action: str, arguments: dict[str, str], run: Any) -> Any:
        result = run(action, arguments)
        calls.append((action, result.ok))
        return result

    # The view glue's typed path runs through the engine's action observers, as a get_session.
    app.extensions["faroe"].server.add_action_observer(counting)
    assert client.get("/private").status_code == 200  # login_required, current_user, current_session
    assert calls == [("get_session", True)]
    assert client.get("/login").status_code == 200
    assert calls == [("get_session", True)]  # not looked up when nothing asks


def test_the_user_is_loaded_only_when_asked_for(make: Callable[..., Flask]) -> None:
    users = CountingUserStore()
    # With the user cache on, get_session does not read the user on every request.
    app = make({"FAROE_SESSION_USER_CACHE_EXPIRATION": 300}, user_store=users)
    client = app.test_client()
    signed = sign_up_client(client, EMAIL)
    assert client.get("/session-only").status_code == 200  # first validation checks the user
    before = users.get_user_calls
    assert client.get("/session-only").json == {"session": signed.session.id, "user": signed.user_id}
    assert users.get_user_calls == before
    assert client.get("/private").json["id"] == signed.user_id  # type: ignore[index]
    assert users.get_user_calls == before + 1


def test_a_user_store_failure_is_not_signed_in_and_keeps_the_cookie(make: Callable[..., Flask]) -> None:
    users = CountingUserStore()
    app = make(user_store=users)
    client = app.test_client()
    sign_up_client(client, EMAIL)
    users.failing = True
    response = client.get("/private")
    assert response.status_code == 302
    assert session_cookie(response) is None  # a transient failure does not sign the browser out
    users.failing = False
    assert client.get("/private").status_code == 200


def test_anonymous_values(client: FlaskClient) -> None:
    assert client.get("/whoami").json == {"authenticated": False, "anonymous": True, "id": None, "session": False}


def test_outside_a_request_there_is_no_session(app: Flask) -> None:
    with app.app_context():
        assert get_current_session() is None
        assert current_user.is_authenticated is False


# Bad, forged, expired and revoked tokens -------------------------------------------------------


def _forgeries(token: str) -> list[str]:
    session_id, secret = token.split(".")
    return [
        "",
        "x",
        "garbage value",
        ".",
        "a" * 4000,
        session_id,
        session_id + ".",
        session_id + "." + "b" * 24,  # the real id, a wrong secret
        "c" * 24 + "." + secret,  # a made-up id, the real secret
        token + ".extra",
        token.upper(),
        '"' + token + '"',
        "\u00e9\u00e8\u00ff" * 10,
        "%00%ff;,",
    ]


def test_bad_and_forged_cookies_are_anonymous_never_errors(app: Flask, client: FlaskClient) -> None:
    signed = sign_up(EMAIL, app=app)
    for forged in _forgeries(signed.session_token):
        attacker = app.test_client()
        attacker.set_cookie("faroe_session", forged)
        response = attacker.get("/private")
        assert response.status_code == 302, forged
        assert response.headers["Location"] == "/login?next=%2Fprivate"
        json_response = attacker.get("/private", headers={"Accept": "application/json"})
        assert json_response.status_code == 401, forged
        assert json_response.json == {"error": "login_required"}
        if forged:
            cleared = session_cookie(response)
            assert cleared is not None and cleared[0] == "", forged
    # None of them ended the real session.
    set_client_session(client, signed)
    assert client.get("/private").status_code == 200


def test_an_expired_session_is_rejected_and_its_cookie_cleared(
    make: Callable[..., Flask], clock: FakeClock
) -> None:
    app = make({"FAROE_SESSION_INACTIVITY_TIMEOUT": 600})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    clock.advance(601)
    response = client.get("/private")
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert cookie is not None and cookie[0] == "" and cookie[1]["max-age"] == "0"
    assert client.get_cookie("faroe_session") is None


def test_a_revoked_session_is_rejected_at_the_next_request(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    assert client.get("/private").status_code == 200
    result = app.test_cli_runner().invoke(args=["faroe", "sessions", "revoke", EMAIL])
    assert result.exit_code == 0, result.output
    response = client.get("/private")
    assert response.status_code == 302
    cookie = session_cookie(response)
    assert cookie is not None and cookie[0] == "" and cookie[1]["max-age"] == "0"
    assert client.get_cookie("faroe_session") is None


# Bearer tokens ---------------------------------------------------------------------------------


def test_a_bearer_token_reaches_protected_views(app: Flask) -> None:
    signed = sign_up(EMAIL, app=app)
    api = app.test_client()
    response = api.get("/private", headers=bearer_headers(signed))
    assert response.status_code == 200 and response.json["session"] == signed.session.id  # type: ignore[index]
    assert response.headers.getlist("Set-Cookie") == []  # bearer clients get no cookie
    # A wrong or ended bearer token gets a 401 (no redirect: an API client), never a cookie.
    wrong = api.get("/private", headers=bearer_headers(signed.session.id + "." + "z" * 24))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.headers.getlist("Set-Cookie") == []


def test_another_bearer_credential_leaves_the_cookie_in_charge(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    response = client.get("/private", headers={"Authorization": "Bearer some-gateway-credential"})
    assert response.status_code == 200


def test_bearer_tokens_can_be_turned_off(make: Callable[..., Flask]) -> None:
    app = make({"FAROE_SESSION_ACCEPT_BEARER": False})
    signed = sign_up(EMAIL, app=app)
    assert app.test_client().get("/private", headers=bearer_headers(signed)).status_code == 302


# login_required --------------------------------------------------------------------------------


def test_login_required_redirects_browsers_with_next(client: FlaskClient) -> None:
    response = client.get("/private?tab=1&x=%2F")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fprivate%3Ftab%3D1%26x%3D%252F"


def test_login_required_answers_401_to_json_requests(client: FlaskClient) -> None:
    for headers in ({"Accept": "application/json"}, {"Content-Type": "application/json"}):
        response = client.get("/private", headers=headers)
        assert response.status_code == 401
        assert response.json == {"error": "login_required"}


def test_without_a_login_view_every_request_gets_401(make: Callable[..., Flask]) -> None:
    app = make({"FAROE_LOGIN_VIEW": None})
    assert app.test_client().get("/private").status_code == 401


def test_a_login_view_may_be_a_path(make: Callable[..., Flask]) -> None:
    app = make({"FAROE_LOGIN_VIEW": "/accounts/sign-in?lang=en"})
    response = app.test_client().get("/private")
    assert response.headers["Location"] == "/accounts/sign-in?lang=en&next=%2Fprivate"


def test_fresh_login_is_required_for_sensitive_views(app: Flask, client: FlaskClient, clock: FakeClock) -> None:
    sign_up_client(client, EMAIL)
    assert client.get("/sensitive").status_code == 200
    assert client.get("/recent").status_code == 200
    clock.advance(61)
    assert client.get("/recent").status_code == 302
    assert client.get("/sensitive").status_code == 200
    clock.advance(600)  # past FAROE_FRESH_SESSION_MAX_AGE (10 minutes)
    response = client.get("/sensitive")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=%2Fsensitive"
    json_response = client.get("/sensitive", headers={"Accept": "application/json"})
    assert json_response.status_code == 401 and json_response.json == {"error": "fresh_login_required"}
    assert client.get("/private").status_code == 200  # still signed in
    # Signing in again makes the session fresh.
    signin(client)
    assert client.get("/sensitive").status_code == 200


def test_fresh_max_age_follows_the_configuration(make: Callable[..., Flask], clock: FakeClock) -> None:
    app = make({"FAROE_FRESH_SESSION_MAX_AGE": 30})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    clock.advance(31)
    assert client.get("/sensitive").status_code == 302


# Signing out -----------------------------------------------------------------------------------


def test_end_session_deletes_the_session_and_clears_the_cookie(app: Flask, client: FlaskClient) -> None:
    signed = sign_up_client(client, EMAIL)
    response = client.post("/logout")
    assert response.json == {"ended": True}
    cookie = session_cookie(response)
    assert cookie is not None and cookie[0] == ""
    with app.app_context():
        assert current_faroe.invoke("get_session", {"session_token": signed.session_token}).ok is False
    assert client.get("/private").status_code == 302
    # Signing out again (no cookie) is harmless.
    assert client.post("/logout").json == {"ended": False}


def test_end_session_with_a_response(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    response = client.post("/logout-response")
    assert response.status_code == 302
    assert [h for h in response.headers.getlist("Set-Cookie") if h.startswith("faroe_session=")][0].startswith(
        "faroe_session=;"
    )
    assert client.get("/private").status_code == 302


def test_end_session_everywhere_ends_the_other_sessions(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    other = app.test_client()
    set_client_session(other, sign_in(EMAIL, app=app))
    assert other.get("/private").status_code == 200
    assert client.post("/logout", query_string={"everywhere": "1"}).json == {"ended": True}
    assert client.get("/private").status_code == 302
    assert other.get("/private").status_code == 302


# next_url --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/profile?tab=2", "/profile?tab=2"),
        ("", "/default"),
        ("profile", "/default"),
        ("//evil.example", "/default"),
        ("/\\evil.example", "/default"),
        ("https://evil.example/", "/default"),
        ("/ok\r\nSet-Cookie: x", "/default"),
    ],
)
def test_next_url_accepts_only_same_site_paths(client: FlaskClient, target: str, expected: str) -> None:
    assert client.get("/next", query_string={"next": target}).get_data(as_text=True) == expected
