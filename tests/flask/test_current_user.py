"""``current_user`` as the application's own model (the user loader), the typed path behind it, and
the cookie sent only when it changes, through Flask's test client on memory parts."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest
from flask import Flask, jsonify, render_template_string
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from faroe_flask import (
    ANONYMOUS_USER,
    Faroe,
    FaroeUser,
    MemoryUserStore,
    User,
    UserMixin,
    current_faroe_user,
    current_session,
    current_user,
    login_required,
)
from faroe_flask.flask.user_loader import NoAuthenticationFlag
from faroe_flask.testing import bearer_headers, memory_faroe, sign_up, sign_up_client

from ..conftest import FakeClock

EMAIL = "grace@example.com"


class CountingUsers(MemoryUserStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_user(self, user_id: str) -> User:
        self.reads += 1
        return super().get_user(user_id)


@dataclasses.dataclass
class Account(UserMixin):
    """The application's own user."""

    id: str
    name: str


class Loader:
    """A user loader that counts its calls; ``answer`` decides what it returns."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.answer: Any = "account"

    def __call__(self, faroe_user: FaroeUser) -> Any:
        assert isinstance(faroe_user, FaroeUser)
        self.calls.append(faroe_user.id)
        if self.answer == "account":
            return Account(faroe_user.id, faroe_user.email_address.split("@")[0].title())
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def build(clock: FakeClock, config: dict[str, Any] | None = None, **parts: Any) -> tuple[Flask, Faroe]:
    app = Flask("current_user_test")
    app.config.update(TESTING=True, **(config or {}))
    faroe = memory_faroe(app, clock=clock, **parts)

    @app.get("/me")
    @login_required
    def me() -> Any:
        # current_user three times and a template: the loader still runs once.
        page = render_template_string("{{ current_user.name }}|{{ current_user.is_authenticated }}")
        return jsonify(name=current_user.name, id=current_user.get_id(), page=page,
                       faroe=current_faroe_user.email_address)

    @app.get("/who")
    def who() -> Any:
        page = render_template_string("{{ current_user.is_authenticated }}")
        return jsonify(page=page, session=bool(current_session), faroe=current_faroe_user.is_authenticated)

    @app.get("/session-only")
    @login_required
    def session_only() -> Any:
        return jsonify(session=current_session.id)  # type: ignore[union-attr]

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    return app, faroe


@pytest.fixture
def loader() -> Loader:
    return Loader()


@pytest.fixture
def users() -> CountingUsers:
    return CountingUsers()


@pytest.fixture
def app(clock: FakeClock, loader: Loader, users: CountingUsers) -> Flask:
    app, faroe = build(clock, user_store=users)
    faroe.user_loader(loader)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def session_cookies(response: TestResponse) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith("faroe_session=")]


# The user loader -------------------------------------------------------------------------------


def test_current_user_is_the_applications_object_loaded_once_per_request(
    client: FlaskClient, loader: Loader, users: CountingUsers
) -> None:
    signed = sign_up_client(client, EMAIL)
    reads = users.reads
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json == {"name": "Grace", "id": signed.user_id, "page": "Grace|True", "faroe": EMAIL}
    assert loader.calls == [signed.user_id]
    # The user the validation read is the one the loader got: no second read.
    assert users.reads == reads + 1
    client.get("/me")
    assert loader.calls == [signed.user_id] * 2


def test_without_a_session_the_loader_is_not_called(client: FlaskClient, loader: Loader) -> None:
    assert client.get("/who").json == {"page": "False", "session": False, "faroe": False}
    assert client.get("/me", headers={"Accept": "application/json"}).status_code == 401
    assert loader.calls == []


def test_nothing_is_loaded_for_requests_that_do_not_ask(client: FlaskClient, loader: Loader, users: CountingUsers) -> None:
    sign_up_client(client, EMAIL)
    reads = users.reads
    assert client.get("/plain").data == b"plain"
    assert loader.calls == [] and users.reads == reads


@pytest.mark.parametrize("answer", [None, ValueError("the accounts database is down")])
def test_a_loader_that_finds_no_user_means_not_signed_in(
    client: FlaskClient, loader: Loader, answer: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sign_up_client(client, EMAIL)
    loader.answer = answer
    response = client.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json == {"error": "login_required"}
    assert session_cookies(response) == []  # the Faroe session itself is fine: not cleared
    # Faroe's own user is still there (the session is valid); the app's is anonymous.
    assert client.get("/who").json == {"page": "False", "session": True, "faroe": True}
    if answer is not None:
        assert "the Faroe user loader raised" in caplog.text


def test_a_loader_object_without_is_authenticated_is_a_clear_error(
    client: FlaskClient, loader: Loader
) -> None:
    sign_up_client(client, EMAIL)
    loader.answer = object()
    with pytest.raises(NoAuthenticationFlag, match="inherit faroe_flask.UserMixin"):
        client.get("/me")


def test_without_a_loader_current_user_is_the_faroe_user(clock: FakeClock) -> None:
    app, _ = build(clock)

    @app.get("/plain-user")
    def plain_user() -> Any:
        return jsonify(same=current_user._get_current_object() is current_faroe_user._get_current_object(),  # type: ignore[attr-defined]
                       active=current_user.is_active, id=current_user.get_id())

    client = app.test_client()
    assert client.get("/plain-user").json == {"same": True, "active": False, "id": None}
    signed = sign_up_client(client, EMAIL)
    assert client.get("/plain-user").json == {"same": True, "active": True, "id": signed.user_id}


# With the user cache, the user is read and checked when asked for ------------------------------


def test_with_the_user_cache_a_session_only_view_reads_no_user(
    clock: FakeClock, users: CountingUsers, loader: Loader
) -> None:
    app, faroe = build(clock, {"FAROE_SESSION_USER_CACHE_EXPIRATION": 300}, user_store=users)
    client = app.test_client()
    sign_up_client(client, EMAIL)
    assert client.get("/session-only").status_code == 200  # checks the new session's user
    reads = users.reads
    assert client.get("/session-only").status_code == 200
    assert users.reads == reads  # the cache vouched
    faroe.user_loader(loader)
    # login_required with a loader needs the user: read (and checked) once, then loaded.
    assert client.get("/me").json["name"] == "Grace"  # type: ignore[index]
    assert users.reads == reads + 1 and len(loader.calls) == 1


@pytest.mark.parametrize("change", ["disable", "sessions", "delete"])
def test_with_the_user_cache_current_user_ends_a_stale_session(
    clock: FakeClock, users: CountingUsers, loader: Loader, change: str
) -> None:
    app, faroe = build(clock, {"FAROE_SESSION_USER_CACHE_EXPIRATION": 300}, user_store=users)
    faroe.user_loader(loader)
    client = app.test_client()
    signed = sign_up_client(client, EMAIL)
    assert client.get("/me").status_code == 200
    if change == "disable":
        users.set_user_disabled(signed.user_id, True)
    elif change == "sessions":
        users.increment_user_sessions_counter(signed.user_id, 0)
    else:
        users.delete_user(signed.user_id)
    # The cache still vouches for the session, but current_user checks the user: not signed in,
    # the session deleted and its cookie cleared.
    response = client.get("/me", headers={"Accept": "application/json"})
    assert response.status_code == 401
    [cleared] = session_cookies(response)
    assert cleared.startswith("faroe_session=;")
    assert len(loader.calls) == 1
    with app.app_context():
        assert faroe.server.get_session(signed.session_token).ok is False


def test_the_pages_show_faroes_user_whatever_the_loader_returns(clock: FakeClock, loader: Loader) -> None:
    from faroe_flask import create_pages_blueprint

    app, faroe = build(clock, {"SECRET_KEY": "test", "FAROE_SESSION_COOKIE_SECURE": False})
    faroe.user_loader(loader)
    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()
    sign_up_client(client, EMAIL)
    page = client.get("/account/").get_data(as_text=True)
    assert EMAIL in page


# The cookie: sent when it changes --------------------------------------------------------------


def test_set_cookie_on_at_most_1_in_100_responses_within_an_activity_interval(
    client: FlaskClient, clock: FakeClock
) -> None:
    sign_up_client(client, EMAIL)
    responses = []
    for _ in range(199):  # a request every 0.6 s for 119.4 s: two activity-check intervals
        clock.advance(0.6)
        responses.append(client.get("/me"))
    assert all(response.status_code == 200 for response in responses)
    sent = [n for n, response in enumerate(responses) if session_cookies(response)]
    # Only the request that moved the inactivity deadline (the first one 60 s after sign-up).
    assert sent == [99]
    [cookie] = session_cookies(responses[99])
    assert "Max-Age=2592000" in cookie and "HttpOnly" in cookie
    assert all("Cookie" in response.headers["Vary"] for response in responses)


def test_refresh_each_request_off_never_resends_it(clock: FakeClock) -> None:
    app, _ = build(clock, {"FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST": False})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    for _ in range(3):
        clock.advance(61)
        response = client.get("/session-only")
        assert response.status_code == 200 and session_cookies(response) == []


def test_vary_cookie_only_where_the_cookie_was_read(app: Flask, client: FlaskClient) -> None:
    assert "Vary" not in client.get("/plain").headers
    # Not signed in: the answer still depends on the (absent) cookie.
    assert "Cookie" in client.get("/who").headers["Vary"]
    signed = sign_up(EMAIL, app=app)
    api = app.test_client()
    response = api.get("/me", headers=bearer_headers(signed))
    assert response.status_code == 200
    assert "Cookie" not in response.headers.get("Vary", "") and session_cookies(response) == []


def test_the_refresh_keeps_the_absolute_expiry(clock: FakeClock) -> None:
    app, _ = build(clock, {"FAROE_SESSION_EXPIRATION": 3600})
    client = app.test_client()
    sign_up_client(client, EMAIL)
    clock.advance(30)
    assert session_cookies(client.get("/session-only")) == []
    clock.advance(1000)
    [cookie] = session_cookies(client.get("/session-only"))
    assert "Max-Age=2570" in cookie


def test_the_anonymous_user_is_one_object(client: FlaskClient, app: Flask) -> None:
    with app.test_request_context("/"):
        assert current_user._get_current_object() is ANONYMOUS_USER  # type: ignore[attr-defined]
        assert current_user.get_id() is None


def test_a_failing_loader_is_logged_without_the_users_details(
    client: FlaskClient, loader: Loader, caplog: pytest.LogCaptureFixture
) -> None:
    sign_up_client(client, EMAIL)
    loader.answer = RuntimeError("boom")
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        client.get("/me")
    assert EMAIL not in caplog.text


def test_metrics_count_the_view_glues_get_session(app: Flask, client: FlaskClient) -> None:
    from prometheus_client import CollectorRegistry

    from faroe_flask.flask.metrics import enable_metrics

    registry = CollectorRegistry()
    enable_metrics(app, registry=registry)

    def count(result: str) -> float:
        labels = {"action": "get_session", "result": result}
        return registry.get_sample_value("faroe_action_invocations_total", labels) or 0.0

    sign_up_client(client, EMAIL)
    client.get("/me")
    client.get("/me")
    forged = app.test_client()
    forged.set_cookie("faroe_session", "x" * 24 + "." + "y" * 24)
    forged.get("/me")
    assert count("ok") == 2 and count("invalid_session_token") == 1
    assert registry.get_sample_value("faroe_action_duration_seconds_count", {"action": "get_session"}) == 3
