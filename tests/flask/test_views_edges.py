"""The view glue's edges, through Flask's test client and request contexts on memory parts: what
``start_session``/``end_session`` return and leave behind, the cookie's attributes when it is
cleared, unusual headers, the login view read at use, and failures that must not break an answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, Response, jsonify, make_response, request
from flask.testing import FlaskClient

from faroe_flask import (
    ANONYMOUS_USER,
    FaroeSession,
    current_faroe,
    current_faroe_user,
    current_session,
    current_user,
    end_session,
    fresh_login_required,
    get_current_faroe_user,
    get_current_session,
    get_current_user,
    get_session_token,
    login_required,
    next_url,
    session_is_fresh,
    set_session_cookie,
    start_session,
)
from faroe_flask.core.envelope import ActionSuccess
from faroe_flask.testing import TEST_PASSWORD, bearer_headers, set_client_session, sign_in, sign_up, sign_up_client

from ..conftest import START, FakeClock
from .test_views import EMAIL, CountingUserStore, build_app, session_cookie

LOGGER = "faroe_flask"


def complete_signin(email: str = EMAIL) -> ActionSuccess:
    """The three sign-in actions, in-process (inside an app or request context)."""
    created = current_faroe.invoke("create_signin", {"user_email_address": email})
    assert isinstance(created, ActionSuccess)
    token = created.values["signin_token"]
    assert current_faroe.invoke("verify_signin_user_password", {"signin_token": token, "password": TEST_PASSWORD}).ok
    result = current_faroe.invoke("complete_signin", {"signin_token": token})
    assert isinstance(result, ActionSuccess)
    return result


def edge_app(clock: FakeClock, config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
    """``test_views.build_app`` and a few more views."""
    app = build_app(clock, config, **faroe_kwargs)

    @app.get("/details")
    @login_required
    def details() -> Any:
        session = current_session
        assert session is not None
        return jsonify(
            source=session.source,
            created_at=session.created_at.isoformat(),
            expires_at=session.expires_at.isoformat() if session.expires_at else None,
            display_name=current_faroe_user.display_name,
            record_id=current_faroe_user.record.id if current_faroe_user.record else None,
        )

    @app.post("/signin-elsewhere")
    def signin_elsewhere() -> Any:
        # The cookie goes on the response given, never on another one the view returns.
        start_session(complete_signin(), make_response("unused"))
        return "other response"

    @app.post("/signin-own-cookie")
    def signin_own_cookie() -> Any:
        result = complete_signin()
        start_session(result)
        response = jsonify(ok=True)
        set_session_cookie(response, result.values["session_token"], result.values["session"])
        return response

    @app.post("/logout-plain")
    def logout_plain() -> Any:
        ended = end_session()
        return jsonify(ended=ended, token=get_session_token(), session=get_current_session() is None)

    @app.post("/logout-elsewhere")
    def logout_elsewhere() -> Any:
        end_session(make_response("unused"))
        return "other response"

    @app.get("/theme")
    def theme() -> Any:
        response = jsonify(authenticated=current_user.is_authenticated)
        response.set_cookie("theme", "dark")
        return response

    @app.get("/varied")
    def varied() -> Any:
        response = jsonify(authenticated=current_user.is_authenticated)
        response.headers["Vary"] = "Accept-Encoding"
        return response

    @app.get("/fresh")
    def fresh() -> Any:
        return jsonify(fresh=session_is_fresh(), fresh_30=session_is_fresh(30))

    @app.get("/recent-30")
    @login_required(max_age=30)
    def recent_30() -> str:
        return "recent"

    @app.get("/sensitive-60")
    @fresh_login_required(max_age=timedelta(seconds=60))
    def sensitive_60() -> str:
        return "sensitive"

    @app.get("/cookie-for")
    def cookie_for() -> Any:
        response = make_response("cookie")
        set_session_cookie(response, "token", {"expires_at": request.args["expires_at"]})
        return response

    @app.get("/next-plain")
    def show_next_plain() -> str:
        return next_url()

    return app


@pytest.fixture
def make(clock: FakeClock) -> Callable[..., Flask]:
    def factory(config: dict[str, Any] | None = None, **faroe_kwargs: Any) -> Flask:
        return edge_app(clock, config, **faroe_kwargs)

    return factory


@pytest.fixture
def app(make: Callable[..., Flask]) -> Flask:
    return make()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER and record.levelno >= logging.ERROR]


def faroe_cookies(response: Any) -> list[str]:
    return [header for header in response.headers.getlist("Set-Cookie") if header.startswith("faroe_session=")]


# What start_session returns and what the request sees afterwards -------------------------------


def test_start_session_returns_the_new_session_and_the_request_sees_its_user(
    make: Callable[..., Flask],
) -> None:
    app = make({"FAROE_SESSION_EXPIRATION": 3600})
    sign_up(EMAIL, app=app)
    calls: list[str] = []

    def observe(action: str, arguments: dict[str, str], run: Any) -> Any:
        calls.append(action)
        return run(action, arguments)

    app.extensions["faroe"].server.add_action_observer(observe)
    with app.test_request_context("/"):
        result = complete_signin()
        session = start_session(result)
        values: Any = result.values
        assert session.token == values["session_token"]
        assert session.source == "cookie"
        assert session.id == values["session"]["id"] and session.user_id == values["session"]["user_id"]
        assert session.created_at == START
        assert session.expires_at == START + timedelta(seconds=3600)
        # The rest of the request: this session and its user, with no new validation.
        assert get_current_session() is session
        user = get_current_faroe_user()
        assert user.email_address == EMAIL and user.id == session.user_id
        assert user.record is not None and user.record.id == session.user_id
        assert get_current_user() is user
        assert get_session_token() == session.token
    assert calls == ["create_signin", "verify_signin_user_password", "complete_signin"]


def test_start_session_takes_the_values_and_refuses_anything_else(app: Flask) -> None:
    sign_up(EMAIL, app=app)
    with app.test_request_context("/"):
        result = complete_signin()
        values: Any = result.values
        assert start_session(values).id == values["session"]["id"]
        failed = current_faroe.invoke("complete_signin", {"signin_token": "nonsense"})
        assert not failed.ok
        with pytest.raises(ValueError, match="^start_session needs a successful result$"):
            start_session(failed)
        for bad in ({"session_token": values["session_token"]}, {"session": values["session"]}, {}):
            with pytest.raises(
                ValueError,
                match="^start_session needs the values of complete_signup, complete_signin or "
                "complete_user_password_reset$",
            ):
                start_session(bad)


def test_a_session_without_absolute_expiry_has_none(app: Flask) -> None:
    signed = sign_up(EMAIL, app=app)
    assert signed.session.expires_at is None
    assert signed.session.source == "cookie"  # FaroeSession.from_model's default
    assert signed.session.token == signed.session_token


def test_a_session_from_a_protocol_model_keeps_the_source_given() -> None:
    model = {"id": "s" * 24, "user_id": "u" * 24, "created_at": int(START.timestamp())}
    session = FaroeSession.from_model(model, "s" * 24 + ".secret", "bearer")
    assert (session.source, session.created_at, session.expires_at) == ("bearer", START, None)
    assert FaroeSession.from_model(model, "s" * 24 + ".secret").source == "cookie"
    assert "secret" not in repr(session)


def test_the_user_of_a_new_session_is_read_from_the_user_store(
    make: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    users = CountingUserStore()
    app = make(user_store=users)
    sign_up(EMAIL, app=app)
    response = app.test_client().post("/signin", data={"email": EMAIL, "password": TEST_PASSWORD})
    assert response.json["user"] == EMAIL  # type: ignore[index]
    with app.test_request_context("/"):
        result = complete_signin()
        users.failing = True
        with caplog.at_level(logging.ERROR, logger=LOGGER):
            start_session(result)
            assert get_current_user() is ANONYMOUS_USER
        assert errors(caplog) == [
            "loading the signed-in user failed"
        ]


def test_start_session_with_a_response_leaves_the_returned_response_alone(
    make: Callable[..., Flask],
) -> None:
    app = make({"FAROE_SESSION_EXPIRATION": 3600})
    sign_up(EMAIL, app=app)
    client = app.test_client()
    response = client.post("/signin-elsewhere")
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    # The cookie set on the given response has the session's absolute expiry as Max-Age.
    response = client.post("/signin", data={"email": EMAIL, "password": TEST_PASSWORD}, query_string={"response": "1"})
    assert session_cookie(response)[1]["max-age"] == "3600"  # type: ignore[index]


def test_a_view_that_sets_the_cookie_itself_gets_it_once(app: Flask, client: FlaskClient) -> None:
    sign_up(EMAIL, app=app)
    response = client.post("/signin-own-cookie")
    assert len(faroe_cookies(response)) == 1
    assert client.get("/private").status_code == 200


# The session from a request --------------------------------------------------------------------


def test_current_session_knows_where_its_token_came_from(make: Callable[..., Flask], clock: FakeClock) -> None:
    app = make({"FAROE_SESSION_EXPIRATION": 3600, "FAROE_SESSION_INACTIVITY_TIMEOUT": 600})
    client = app.test_client()
    signed = sign_up_client(client, EMAIL)
    assert client.get("/details").json == {
        "source": "cookie",
        "created_at": START.isoformat(),
        "expires_at": (START + timedelta(seconds=3600)).isoformat(),
        "display_name": "",
        "record_id": signed.user_id,
    }
    api = app.test_client()
    clock.advance(300)  # the validation moves the inactivity deadline
    response = api.get("/details", headers=bearer_headers(signed))
    assert response.json["source"] == "bearer"  # type: ignore[index]
    assert response.headers.getlist("Set-Cookie") == []  # a bearer client gets no cookie
    clock.advance(400)  # 700 s after sign-in: the bearer request kept the session alive
    assert client.get("/details").status_code == 200


def test_bearer_headers_with_extra_spaces_and_other_schemes(app: Flask) -> None:
    signed = sign_up(EMAIL, app=app)
    api = app.test_client()
    for value in (f"Bearer  {signed.session_token}", f"Bearer {signed.session_token} ", f"bearer {signed.session_token}"):
        assert api.get("/private", headers={"Authorization": value}).status_code == 200, value
    for value in (f"Basic {signed.session_token}", "Bearer", "Bearer  "):
        response = api.get("/private", headers={"Authorization": value, "Accept": "application/json"})
        assert response.status_code == 401, value


def test_a_cookie_header_that_is_not_utf8_still_carries_the_session(app: Flask) -> None:
    signed = sign_up(EMAIL, app=app)
    header = "theme=\xe9t\xe9; faroe_session=" + signed.session_token
    # Werkzeug's own cookie parser refuses such a header; request.cookies decodes it leniently.
    response = app.test_client(use_cookies=False).get("/private", headers={"Cookie": header})
    assert response.status_code == 200 and response.json["session"] == signed.session.id  # type: ignore[index]


def test_the_stale_session_the_user_cache_vouched_for_is_gone_for_the_request(
    clock: FakeClock,
) -> None:
    users = CountingUserStore()
    app = edge_app(clock, {"FAROE_SESSION_USER_CACHE_EXPIRATION": 300}, user_store=users)

    @app.get("/user-then-session")
    def user_then_session() -> Any:
        return jsonify(authenticated=current_user.is_authenticated, session=get_current_session() is None)

    client = app.test_client()
    signed = sign_up_client(client, EMAIL)
    assert client.get("/session-only").status_code == 200
    users.set_user_disabled(signed.user_id, True)
    response = client.get("/user-then-session")
    assert response.json == {"authenticated": False, "session": True}
    assert faroe_cookies(response)[0].startswith("faroe_session=;")


def test_outside_an_initialised_app_the_view_glue_says_so() -> None:
    app = Flask("no_faroe")
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="^the Faroe extension is not initialised on the current app$"):
            get_current_session()


# The cookie ------------------------------------------------------------------------------------


def test_max_age_of_an_unreadable_or_past_expiry(client: FlaskClient) -> None:
    response = client.get("/cookie-for", query_string={"expires_at": "soon"})
    assert session_cookie(response)[1]["max-age"] == str(30 * 24 * 3600)  # type: ignore[index]
    past = str(int(START.timestamp()) - 10)
    response = client.get("/cookie-for", query_string={"expires_at": past})
    assert session_cookie(response)[1]["max-age"] == "0"  # type: ignore[index]


def test_the_cleared_cookie_has_the_attributes_of_the_set_one(make: Callable[..., Flask]) -> None:
    app = make({"FAROE_SESSION_COOKIE_PATH": "/app", "FAROE_SESSION_COOKIE_DOMAIN": "example.com",
                "FAROE_SESSION_COOKIE_SAMESITE": "Strict"})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    cookie = session_cookie(client.post("/logout"))
    assert cookie is not None
    value, attributes = cookie
    assert value == "" and attributes["max-age"] == "0"
    assert attributes["path"] == "/app" and attributes["domain"] == "example.com"
    assert attributes["secure"] == "True" and attributes["httponly"] == "True"
    assert attributes["samesite"] == "Strict"


def test_vary_cookie_is_added_to_the_views_own_vary(app: Flask, client: FlaskClient) -> None:
    assert client.get("/varied").headers.getlist("Vary") == ["Accept-Encoding, Cookie"]
    assert client.get("/whoami").headers.getlist("Vary") == ["Cookie"]
    sign_up_client(client, EMAIL)
    assert client.get("/varied").headers.getlist("Vary") == ["Accept-Encoding, Cookie"]


def test_another_cookie_set_by_the_view_does_not_stop_the_clearing(app: Flask) -> None:
    forged = app.test_client()
    forged.set_cookie("faroe_session", "forged")
    response = forged.get("/theme")
    assert response.json == {"authenticated": False}
    assert [header.split(";")[0] for header in response.headers.getlist("Set-Cookie")] == [
        "theme=dark",
        "faroe_session=",
    ]


def test_a_failure_while_setting_the_cookie_is_logged_and_the_answer_stands(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    class NoCookies(Response):
        def set_cookie(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("no cookies on this response")

    app = edge_app(clock)
    app.response_class = NoCookies
    client = app.test_client()
    client.set_cookie("faroe_session", "forged")
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        response = client.get("/whoami")
    assert response.status_code == 200 and response.json["authenticated"] is False  # type: ignore[index]
    assert response.headers.getlist("Set-Cookie") == []
    assert errors(caplog) == [
        "updating the session cookie failed"
    ]


# Signing out -----------------------------------------------------------------------------------


def test_end_session_ends_only_this_session_by_default(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    other = app.test_client()
    set_client_session(other, sign_in(EMAIL, app=app))
    response = client.post("/logout-plain")
    # After end_session the request has no token nor session, even though it sent a cookie.
    assert response.json == {"ended": True, "token": None, "session": True}
    assert client.get("/private").status_code == 302
    assert other.get("/private").status_code == 200


def test_end_session_with_a_response_leaves_the_returned_response_alone(app: Flask, client: FlaskClient) -> None:
    sign_up_client(client, EMAIL)
    response = client.post("/logout-elsewhere")
    assert response.status_code == 200 and response.headers.getlist("Set-Cookie") == []
    assert client.get("/private").status_code == 302  # the session is ended all the same


def test_a_refused_sign_out_is_logged_and_still_clears_the_cookie(
    make: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    # A captcha in front of delete_session: the view's in-process sign-out is refused (403).
    app = make({"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": "site",
                "FAROE_CAPTCHA_SECRET_KEY": "secret", "FAROE_CAPTCHA_ACTIONS": "delete_session"})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        response = client.post("/logout-plain")
    assert response.json == {"ended": False, "token": None, "session": True}
    assert faroe_cookies(response)[0].startswith("faroe_session=;")
    assert errors(caplog) == ["ending the request's session failed"]


# login_required and fresh sessions -------------------------------------------------------------


def test_a_browser_preferring_html_is_redirected(client: FlaskClient) -> None:
    response = client.get("/private", headers={"Accept": "text/html, application/json;q=0.5"})
    assert response.status_code == 302
    response = client.get("/private", headers={"Accept": "text/html;q=0.5, application/json"})
    assert response.status_code == 401


def test_next_keeps_the_whole_query(client: FlaskClient) -> None:
    response = client.get("/private?tab=X")
    assert response.headers["Location"] == "/login?next=%2Fprivate%3Ftab%3DX"


def test_the_login_view_is_read_at_use(app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    app.config["FAROE_LOGIN_VIEW"] = "/elsewhere"
    assert client.get("/private").headers["Location"] == "/elsewhere?next=%2Fprivate"
    app.config["FAROE_LOGIN_VIEW"] = None
    assert client.get("/private").headers["Location"] == "/login?next=%2Fprivate"  # the one read at start
    app.config["FAROE_LOGIN_VIEW"] = "no_such_endpoint"
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        response = client.get("/private")
    assert response.status_code == 401 and response.json == {"error": "login_required"}
    assert errors(caplog) == [
        "FAROE_LOGIN_VIEW names an endpoint that does not exist"
    ]


def test_fresh_sessions_with_a_max_age_in_seconds_and_at_the_limit(
    app: Flask, client: FlaskClient, clock: FakeClock
) -> None:
    assert client.get("/fresh").json == {"fresh": False, "fresh_30": False}
    sign_up_client(client, EMAIL)
    assert client.get("/fresh").json == {"fresh": True, "fresh_30": True}
    clock.advance(30)  # exactly the limit: still fresh
    assert client.get("/recent-30").status_code == 200
    assert client.get("/fresh").json == {"fresh": True, "fresh_30": True}
    clock.advance(1)
    assert client.get("/recent-30").status_code == 302
    assert client.get("/fresh").json == {"fresh": True, "fresh_30": False}
    assert client.get("/sensitive-60").status_code == 200
    clock.advance(30)
    assert client.get("/sensitive-60").status_code == 302
    assert client.get("/sensitive").status_code == 200  # FAROE_FRESH_SESSION_MAX_AGE: 10 minutes


def test_next_url_without_next_or_default(client: FlaskClient) -> None:
    assert client.get("/next-plain").get_data(as_text=True) == "/"
    assert client.get("/next").get_data(as_text=True) == "/default"
    assert client.get("/next", query_string={"next": "/Xavier"}).get_data(as_text=True) == "/Xavier"
