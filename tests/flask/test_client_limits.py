"""Per-client limits through Flask's test client (each request's client address is its
``REMOTE_ADDR``): the defaults, the answer, refills on the engine's clock, the forwarded address
of authenticated callers, in-process calls during a request and outside one, the pages, the
configuration, and exactness under concurrency on every storage. The same over real sockets and
across processes: test_client_limits_sockets.py and test_shared_limits.py."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings

from faroe_flask import MemoryStorage, MemoryUserStore
from faroe_flask.core.interfaces import StorageEntryNotFoundError
from faroe_flask.flask.client_limits import (
    EMAIL_ACTIONS,
    PASSWORD_ACTIONS,
    ClientLimitExceeded,
    client_key,
    parse_rate,
)
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import Faroe, current_faroe
from faroe_flask.flask.pages_limits import wait_in_words

from ..backends import open_backend
from ..conftest import BannedPasswords, CapturingEmailSender, FakeClock
from ..strategies import faroe_invocations, invocation_body
from .conftest import FAST_HASHING, PASSWORD, AppFactory

SECRET = "client-limits-endpoint-secret"


def body(action: str, **arguments: str) -> bytes:
    return json.dumps({"action": action, "arguments": arguments}).encode()


def post(client: FlaskClient, action: str, address: str = "127.0.0.2", headers: dict[str, str] | None = None,
         **arguments: str) -> Any:
    return client.post("/faroe", data=body(action, **arguments), headers=headers or {},
                       environ_base={"REMOTE_ADDR": address})


def signups(client: FlaskClient, count: int, address: str = "127.0.0.2", start: int = 0,
            headers: dict[str, str] | None = None) -> list[int]:
    return [
        post(client, "create_signup", address, headers, email_address=f"user{start + index}@example.com").status_code
        for index in range(count)
    ]


def make_users(app: Flask, count: int) -> list[str]:
    """Users created directly in the user store (no request, no limit)."""
    server = app.extensions["faroe"].server
    addresses = []
    for index in range(count):
        address = f"member{index}@example.com"
        password_hash, algorithm_id, salt = server.passwords.hash_user_password(PASSWORD)
        server.user_store.create_user(address, password_hash, algorithm_id, salt)
        addresses.append(address)
    return addresses


# The defaults -------------------------------------------------------------------------------


def test_one_client_sends_at_most_10_emails_then_429_with_retry_after(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    client = make_app().test_client()
    statuses = signups(client, 12)
    assert statuses == [200] * 10 + [429] * 2
    assert len(email_sender.of_kind("signup_code")) == 10
    refused = post(client, "create_signup", email_address="late@example.com")
    assert refused.status_code == 429 and refused.data == b""
    assert refused.headers["Retry-After"] == "6"  # one token every 60/10 s
    assert "Content-Type" not in refused.headers
    # Another client is not affected.
    assert signups(client, 3, "127.0.0.3", start=100) == [200] * 3
    assert len(email_sender.of_kind("signup_code")) == 13


def test_every_kind_of_email_counts_towards_the_same_limit(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "4/minute"})
    client = app.test_client()
    [member] = make_users(app, 1)
    signup = json.loads(post(client, "create_signup", email_address="new@example.com").data)
    token = signup["values"]["signup_token"]
    assert post(client, "send_signup_email_address_verification_code", signup_token=token).status_code == 200
    assert post(client, "create_user_password_reset", user_email_address=member).status_code == 200
    signin = json.loads(post(client, "create_signin", user_email_address=member).data)["values"]["signin_token"]
    assert post(client, "verify_signin_user_password", signin_token=signin, password=PASSWORD).status_code == 200
    session = json.loads(post(client, "complete_signin", signin_token=signin).data)["values"]["session_token"]
    assert post(client, "create_user_email_address_update", session_token=session,
                new_email_address="other@example.com").status_code == 200
    assert post(client, "create_user_password_reset", user_email_address=member).status_code == 429
    assert post(client, "create_user_email_address_update", session_token=session,
                new_email_address="third@example.com").status_code == 429
    sent = [kind for kind, _ in email_sender.messages if kind != "signed_in"]
    assert sent == ["signup_code", "signup_code", "temporary_password", "update_code"]


def test_password_spraying_across_accounts_stops_after_30_checks(make_app: AppFactory) -> None:
    app = make_app()
    client = app.test_client()
    checked: list[str] = []
    refused = 0
    for member in make_users(app, 7):  # 5 wrong passwords each: the per-user limit is never hit
        signin = json.loads(post(client, "create_signin", user_email_address=member).data)
        for _ in range(5):
            response = post(client, "verify_signin_user_password",
                            signin_token=signin["values"]["signin_token"], password="wrong password 1")
            if response.status_code == 429:
                refused += 1
            else:
                checked.append(json.loads(response.data)["error_code"])
    assert checked == ["incorrect_password"] * 30 and refused == 5


def test_reads_and_other_actions_are_never_limited_per_client(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute", "FAROE_CLIENT_PASSWORD_LIMIT": "1/minute"})
    client = app.test_client()
    for _ in range(200):
        assert post(client, "get_session", session_token="x.y").status_code == 200
    guard = app.extensions["faroe"].guard
    assert guard.actions == EMAIL_ACTIONS | PASSWORD_ACTIONS
    assert "get_session" not in guard.actions and "create_signin" not in guard.actions
    assert "verify_signup_email_address_verification_code" not in guard.actions


def test_a_token_comes_back_after_the_refill_interval_on_the_engines_clock(
    make_app: AppFactory, clock: FakeClock
) -> None:
    client = make_app().test_client()
    assert signups(client, 11) == [200] * 10 + [429]
    clock.advance(5)
    refused = post(client, "create_signup", email_address="x@example.com")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.advance(1)
    assert signups(client, 2, start=50) == [200, 429]
    clock.advance(60)
    assert signups(client, 11, start=60) == [200] * 10 + [429]


def test_every_limit_is_configurable_and_off_turns_them_all_off(make_app: AppFactory) -> None:
    assert signups(make_app({"FAROE_CLIENT_EMAIL_LIMIT": "3/hour"}).test_client(), 4) == [200] * 3 + [429]
    hourly = make_app({"FAROE_CLIENT_EMAIL_LIMIT": (2, 1200)}).test_client()
    assert signups(hourly, 3) == [200, 200, 429]
    assert post(hourly, "create_signup", email_address="z@example.com").headers["Retry-After"] == "1200"
    assert signups(make_app({"FAROE_CLIENT_EMAIL_LIMIT": None}).test_client(), 15) == [200] * 15
    for off in ("off", False, "0"):
        app = make_app({"FAROE_CLIENT_LIMITS": off})
        assert app.extensions["faroe"].guard is None
        assert signups(app.test_client(), 15) == [200] * 15


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10/minute", (10, 6)), ("30 per minute", (30, 2)), ("60/5 minutes", (60, 5)), ("24/day", (24, 3600)),
     ("1/second", (1, 1)), ("100/Hours", (100, 36)), ((3, 7), (3, 7)), (None, None), ("off", None), (0, None)],
)
def test_rates(value: Any, expected: Any) -> None:
    assert parse_rate(value, "K") == expected


@pytest.mark.parametrize("value", ["100/minute", "7/minute", "ten/minute", "10/fortnight", (0, 5), (5, 0),
                                   (True, 5), 12, "10/"])
def test_unusable_rates_are_config_errors_naming_the_key(value: Any) -> None:
    with pytest.raises(ConfigError, match="^FAROE_CLIENT_EMAIL_LIMIT"):
        parse_rate(value, "FAROE_CLIENT_EMAIL_LIMIT")


@pytest.mark.parametrize(
    ("config", "key"),
    [({"FAROE_CLIENT_PASSWORD_LIMIT": "fast"}, "FAROE_CLIENT_PASSWORD_LIMIT"),
     ({"FAROE_CLIENT_LIMITS": "sometimes"}, "FAROE_CLIENT_LIMITS"),
     ({"FAROE_CLIENT_IPV6_PREFIX": 129}, "FAROE_CLIENT_IPV6_PREFIX"),
     ({"FAROE_CLIENT_ADDRESS_HEADER": "X Bad: header"}, "FAROE_CLIENT_ADDRESS_HEADER")],
)
def test_unusable_settings_fail_at_init_app(make_app: AppFactory, config: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        make_app(config)


def test_client_names() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    # One IPv6 host usually holds a whole /64: the network is the client.
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("2001:db8:1:2:aaaa::1", 128) == "2001:db8:1:2:aaaa::1/128"
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key(None) == client_key("") == client_key("localhost") == client_key("01.2.3.4") == "unknown"


def test_ipv6_clients_of_one_network_share_their_limit(make_app: AppFactory) -> None:
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "2/minute"}).test_client()
    assert signups(client, 2, "2001:db8::1") == [200, 200]
    assert signups(client, 1, "2001:db8::2", start=10) == [429]
    assert signups(client, 1, "2001:db8:0:1::2", start=20) == [200]


def test_wait_in_words() -> None:
    assert [wait_in_words(s) for s in (0.2, 1, 6, 59, 60, 89, 90, 600, 3599, 3600, 7200)] == [
        "a second", "a second", "6 seconds", "59 seconds", "about a minute", "about a minute",
        "about 2 minutes", "about 10 minutes", "about an hour", "about an hour", "about 2 hours",
    ]
    # Around the hour: minutes up to 59, then an hour until an hour and a half, then hours.
    assert [wait_in_words(s) for s in (3569, 3570, 5399, 5400, 9000, 9001)] == [
        "about 59 minutes", "about an hour", "about an hour", "about 2 hours", "about 2 hours", "about 3 hours",
    ]


# The forwarded address of an authenticated caller ------------------------------------------


def test_an_authenticated_caller_forwards_its_end_users_address(make_app: AppFactory) -> None:
    client = make_app({"FAROE_ENDPOINT_SECRET": SECRET, "FAROE_CLIENT_EMAIL_LIMIT": "2/minute"}).test_client()
    authorised = {"Authorization": f"Bearer {SECRET}"}
    # The app server (127.0.0.1) calls for two end users: each has its own limit.
    for end_user in ("198.51.100.1", "198.51.100.2"):
        headers = {**authorised, "Faroe-Client-Address": end_user}
        assert signups(client, 3, "127.0.0.1", start=hash(end_user) % 1000, headers=headers) == [200, 200, 429]
    # Without the header the app server itself is the client.
    assert signups(client, 3, "127.0.0.1", start=5000, headers=authorised) == [200, 200, 429]
    # A value that is not an IP address is a rejected request.
    bad = post(client, "create_signup", "127.0.0.1", {**authorised, "Faroe-Client-Address": "me, you"},
               email_address="bad@example.com")
    assert bad.status_code == 400 and bad.data == b""
    # No valid secret: 401 before anything else.
    assert post(client, "create_signup", "127.0.0.1", {"Faroe-Client-Address": "198.51.100.9"},
                email_address="c@example.com").status_code == 401


def test_the_header_is_ignored_on_an_open_endpoint(make_app: AppFactory) -> None:
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "2/minute"}).test_client()
    statuses = [
        post(client, "create_signup", "127.0.0.2", {"Faroe-Client-Address": f"198.51.100.{index}"},
             email_address=f"spoof{index}@example.com").status_code
        for index in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_an_authenticate_callable_makes_callers_trusted_and_the_header_name_is_configurable(
    make_app: AppFactory,
) -> None:
    app = make_app({"FAROE_CLIENT_ADDRESS_HEADER": "X-End-User", "FAROE_CLIENT_EMAIL_LIMIT": "1/minute"},
                   authenticate=lambda request: True)
    client = app.test_client()
    assert signups(client, 2, headers={"X-End-User": "198.51.100.1"}) == [200, 429]
    assert signups(client, 1, headers={"X-End-User": "198.51.100.2"}, start=10) == [200]
    # The default header name is not read any more: both come from 127.0.0.2.
    assert signups(client, 2, headers={"Faroe-Client-Address": "198.51.100.3"}, start=20) == [200, 429]


# In-process calls --------------------------------------------------------------------------


def _app_with_own_view(make_app: AppFactory, **config: Any) -> Flask:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "2/minute", **config})

    @app.post("/join")
    def join() -> dict[str, Any]:
        from flask import request

        result = current_faroe.invoke("create_signup", {"email_address": request.form["email"]})
        return {"ok": result.ok}

    return app


def test_an_in_process_call_during_a_request_is_limited_with_a_429(make_app: AppFactory) -> None:
    client = _app_with_own_view(make_app).test_client()
    answers = [
        client.post("/join", data={"email": f"j{index}@example.com"}, environ_base={"REMOTE_ADDR": "127.0.0.2"})
        for index in range(3)
    ]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "30"
    assert client.post("/join", data={"email": "k@example.com"},
                       environ_base={"REMOTE_ADDR": "127.0.0.3"}).status_code == 200


def test_the_exception_can_be_caught_by_the_view(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})

    @app.post("/api/join")
    def api_join() -> tuple[dict[str, Any], int]:
        try:
            current_faroe.invoke("create_signup", {"email_address": "api@example.com"})
        except ClientLimitExceeded as limited:
            return {"error": "slow down", "limit": limited.limit, "retry_after": limited.seconds}, 429
        return {"ok": True}, 200

    client = app.test_client()
    assert client.post("/api/join").status_code == 200
    refused = client.post("/api/join")
    assert refused.status_code == 429 and refused.json == {"error": "slow down", "limit": "email", "retry_after": 60}


def test_no_per_client_limit_outside_a_request(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})
    with app.app_context():
        results = [current_faroe.invoke("create_signup", {"email_address": f"cli{i}@example.com"}) for i in range(5)]
    assert all(result.ok for result in results)
    # ... nor through the engine itself.
    server = app.extensions["faroe"].server
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.2"}):
        assert server.invoke("create_signup", {"email_address": "engine@example.com"}).ok
        current_faroe.invoke("create_signup", {"email_address": "first@example.com"})
        with pytest.raises(ClientLimitExceeded):
            current_faroe.invoke("create_signup", {"email_address": "second@example.com"})


def test_the_endpoint_and_in_process_calls_share_a_clients_limit(make_app: AppFactory) -> None:
    client = _app_with_own_view(make_app).test_client()
    assert signups(client, 1) == [200]
    assert client.post("/join", data={"email": "v@example.com"}, environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code == 200
    assert signups(client, 1, start=9) == [429]


# The pages ---------------------------------------------------------------------------------


def test_the_pages_answer_a_limit_with_a_page_saying_how_long_to_wait(make_app: AppFactory) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False, "FAROE_CLIENT_EMAIL_LIMIT": "2/minute"})
    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()
    for index in range(2):
        response = client.post("/account/signup", data={"email_address": f"p{index}@example.com"},
                               environ_base={"REMOTE_ADDR": "127.0.0.2"})
        assert response.status_code == 302
    page = client.post("/account/signup", data={"email_address": "p3@example.com"},
                       environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert page.status_code == 429 and page.headers["Retry-After"] == "30"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.get_data(as_text=True)
    assert "Too many attempts" in text and "Please wait 30 seconds and try again." in text
    assert 'data-error-code="client_limited"' in text and "pages.css" in text  # the pages' own layout
    assert back_link(page.get_data(as_text=True)) == "/account/signup"  # the form again
    assert client.post("/account/signup", data={"email_address": "p4@example.com"},
                       environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code == 302


def back_link(page: str) -> str:
    """Where a limit or captcha page's "Try again" / "Go back" leads."""
    found = re.findall(r'<a href="([^"]*)">(?:Try again|Go back)</a>', page)
    assert len(found) == 1, page
    return str(found[0])


@pytest.mark.parametrize(("config", "home"), [
    ({"FAROE_PAGES_HOME_URL": "/welcome"}, "/welcome"), ({}, "/"), ({"FAROE_PAGES_HOME_URL": ""}, "/"),
])
def test_a_limited_step_without_a_form_leads_to_the_home_url(
    make_app: AppFactory, email_sender: CapturingEmailSender, config: dict[str, Any], home: str
) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False, "FAROE_CLIENT_EMAIL_LIMIT": "2/minute", **config})
    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert client.post("/account/signup", data={"email_address": "p@example.com"}).status_code == 302
    resent = client.post("/account/signup/resend")
    assert resent.status_code == 302 and resent.headers["Location"] == "/account/signup/verify"
    page = client.post("/account/signup/resend")  # a third email: over the limit
    assert page.status_code == 429 and page.headers["Retry-After"] == "30"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert back_link(page.get_data(as_text=True)) == home  # /signup/resend (POST only) has no form to show
    assert len(email_sender.messages) == 2


# Storage failures and concurrency ------------------------------------------------------------


class FailingStorage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def get(self, key: str) -> tuple[bytes, int]:
        if self.failing and key.startswith("client."):
            raise ConnectionError("storage down")
        return super().get(key)


def test_a_failing_storage_lets_the_request_through_and_logs_one_line(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FailingStorage()
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"}, storage=storage).test_client()
    storage.failing = True
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        assert signups(client, 5) == [200] * 5
    lines = [record for record in caplog.records if "not applied" in record.getMessage()]
    assert [(record.levelno, record.getMessage()) for record in lines] == [
        (logging.WARNING, "faroe: per-client limit email not applied: the storage failed (ConnectionError)")
    ]


@pytest.mark.parametrize("backend_name", ["memory", "sqlite", "postgresql", "mysql", "redis"])
def test_concurrent_requests_of_one_client_take_exactly_the_tokens_there_are(
    backend_name: str, tmp_path: Path, clock: FakeClock
) -> None:
    """24 threads at once, each a create_signup of the same client: exactly 10 get through on
    every storage (a lost compare-and-swap is retried, never double-counted)."""
    _skip_unless_configured(backend_name)
    with open_backend(backend_name, tmp_path, clock) as (storage, user_store):
        sender = CapturingEmailSender()
        app = Flask("faroe_concurrent_limits")
        app.config.update(TESTING=True, **FAST_HASHING)
        Faroe(app, storage=storage, user_store=user_store, email_sender=sender, clock=clock,
              password_strength_checker=BannedPasswords())
        start = threading.Barrier(24)

        def one(index: int) -> int:
            client = app.test_client()
            start.wait(10)
            return int(post(client, "create_signup", email_address=f"race{index}@example.com").status_code)

        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            statuses = list(pool.map(one, range(24)))
    assert sorted(statuses) == [200] * 10 + [429] * 14
    assert len(sender.of_kind("signup_code")) == 10


def _skip_unless_configured(name: str) -> None:
    import os

    from ..backends import MYSQL_URL_VARIABLE, POSTGRESQL_URL_VARIABLE, REDIS_URL_VARIABLE

    variable = {"postgresql": POSTGRESQL_URL_VARIABLE, "mysql": MYSQL_URL_VARIABLE, "redis": REDIS_URL_VARIABLE}.get(name)
    if variable and not os.environ.get(variable):
        pytest.skip(f"{variable} is not set")


def test_no_body_causes_a_500_with_the_limits_on(make_app: AppFactory) -> None:
    """The endpoint's property with tight limits: 200, 400 or 429, never anything else."""
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "2/minute", "FAROE_CLIENT_PASSWORD_LIMIT": "2/minute"}).test_client()
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None)
    @given(invocation=faroe_invocations())
    def check(invocation: tuple[str, dict[str, Any]]) -> None:
        response = client.post("/faroe", data=invocation_body(invocation))
        assert response.status_code in (200, 400, 429)
        if response.status_code != 200:
            assert response.data == b""
        seen.add(response.status_code)

    check()
    assert 429 in seen and 200 in seen


def test_the_limits_keep_no_client_addresses_in_their_logs(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"}).test_client()
    with caplog.at_level(logging.DEBUG, logger="faroe_flask"):
        signups(client, 3, "203.0.113.77")
    assert "203.0.113.77" not in caplog.text and "user1@example.com" not in caplog.text
    assert "faroe request rejected with 429: client limit email" in caplog.text


def test_the_memory_storage_keeps_buckets_under_the_client_prefix(make_app: AppFactory) -> None:
    storage = MemoryStorage()
    app = make_app({"FAROE_STORAGE_KEY_PREFIX": "tenant1:"}, storage=storage, user_store=MemoryUserStore())
    signups(app.test_client(), 1, "203.0.113.5")
    value, _ = storage.get("tenant1:client.email.203.0.113.5")
    assert json.loads(value)["count"] == 9
    with pytest.raises(StorageEntryNotFoundError):
        storage.get("tenant1:client.password.203.0.113.5")


def test_admit_applies_an_actions_limits_without_running_it(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    app = make_app({"FAROE_CLIENT_PASSWORD_LIMIT": "2/minute"})
    with app.test_request_context(environ_base={"REMOTE_ADDR": "127.0.0.2"}):
        current_faroe.admit("verify_signin_user_password")
        current_faroe.admit("get_session")  # never limited
        current_faroe.admit("set_signup_password")
        with pytest.raises(ClientLimitExceeded):
            current_faroe.admit("verify_user_deletion_user_password")
    with app.app_context():
        for _ in range(3):
            current_faroe.admit("verify_signin_user_password")  # outside a request: nothing
    assert email_sender.messages == []


# Generic responses: the decoys count as the actions they stand in for -------------------------


def _generic_pages(make_app: AppFactory) -> FlaskClient:
    from faroe_flask.flask.pages import create_pages_blueprint

    app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False, "FAROE_SESSION_COOKIE_SECURE": False,
                    "FAROE_PAGES_GENERIC_RESPONSES": True, "FAROE_CLIENT_PASSWORD_LIMIT": "2/minute"})
    app.register_blueprint(create_pages_blueprint())
    return app.test_client()


def test_a_decoy_sign_in_is_a_password_check_for_the_clients_limit(make_app: AppFactory) -> None:
    client = _generic_pages(make_app)
    statuses = [
        client.post("/account/signin", data={"email_address": f"nobody{index}@example.com", "password": PASSWORD},
                    environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code
        for index in range(3)
    ]
    assert statuses == [422, 422, 429]  # two hashes of the unknown accounts' decoys, then the limit
    assert client.post("/account/signin", data={"email_address": "nobody@example.com", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "127.0.0.3"}).status_code == 422


def test_a_decoy_reset_step_counts_as_the_action_it_stands_in_for(make_app: AppFactory) -> None:
    client = _generic_pages(make_app)
    started = client.post("/account/reset", data={"email_address": "nobody@example.com"},
                          environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert started.status_code == 302 and started.headers["Location"].endswith("/account/reset/verify")
    statuses = [
        client.post("/account/reset/verify", data={"temporary_password": "ABCDEFGHIJKL"},
                    environ_base={"REMOTE_ADDR": "127.0.0.2"}).status_code
        for _ in range(3)
    ]
    assert statuses == [422, 422, 429]
