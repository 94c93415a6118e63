"""Edges of the captcha found by mutation testing: the verifier's arguments, what it sends to the
provider, the answers it refuses, where the token is read from, and the configuration keys."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient

from faroe_flask.flask.captcha import (
    MAX_RESPONSE_BYTES,
    MAX_TOKEN_LENGTH,
    PROVIDERS,
    CaptchaProvider,
    CaptchaRejected,
    CaptchaUnavailable,
    CaptchaVerifier,
    captcha_from_config,
    token_from_request,
)
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import current_faroe

from ..servers import run_http_server
from .conftest import AppFactory
from .test_captcha import GOOD, SECRET_KEY, SITE_KEY


@pytest.mark.parametrize(
    ("arguments", "message"),
    [({"secret_key": ""}, "^secret_key is required$"), ({"timeout": 0}, "^timeout must be positive$"),
     ({"timeout": -1}, "^timeout must be positive$"), ({"verify_url": "ftp://example.com/x"}, "^verify_url must be an http:// or https:// URL$"),
     ({"verify_url": "https:///x"}, "^verify_url must be"), ({"max_concurrent_checks": 0}, "^max_concurrent_checks must be at least 1$")],
)
def test_unusable_verifier_arguments(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CaptchaVerifier("turnstile", **{"secret_key": SECRET_KEY, **arguments})  # type: ignore[arg-type]


def test_the_widget_and_the_defaults() -> None:
    verifier = CaptchaVerifier("recaptcha", SECRET_KEY, SITE_KEY)
    assert verifier.provider is PROVIDERS["recaptcha"]
    assert verifier.verify_url == "https://www.google.com/recaptcha/api/siteverify"
    assert verifier.actions == {"create_signup", "create_signin", "create_user_password_reset"}
    assert verifier.timeout == 5.0 and verifier.min_score is None
    widget = verifier.widget
    assert (widget.site_key, widget.script_url, widget.widget_class, widget.actions) == (
        SITE_KEY, "https://www.google.com/recaptcha/api.js", "g-recaptcha", verifier.actions)
    assert repr(verifier) == "CaptchaVerifier('recaptcha', verify_url='https://www.google.com/recaptcha/api/siteverify')"


# What the verifier sends, and the answers it refuses ----------------------------------------


class Recorder(ThreadingHTTPServer):
    """A ``siteverify`` that records each request (method, path, headers, body) and answers
    ``answer`` with ``status``."""

    daemon_threads = True

    def __init__(self, answer: bytes, status: int = 200) -> None:
        super().__init__(("127.0.0.1", 0), _Recording)
        self.answer = answer
        self.status = status
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []


class _Recording(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.command, self.path, dict(self.headers.items()), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(self.server.answer)))
        self.end_headers()
        self.wfile.write(self.server.answer)


@contextlib.contextmanager
def recorder(answer: Any = None, status: int = 200) -> Iterator[tuple[Recorder, str]]:
    raw = answer if isinstance(answer, bytes) else json.dumps({"success": True} if answer is None else answer).encode()
    server = Recorder(raw, status)
    with run_http_server(server) as base_url:
        yield server, base_url


def test_the_check_is_a_form_post_to_the_verify_url_with_its_query() -> None:
    with recorder() as (server, base):
        CaptchaVerifier("turnstile", SECRET_KEY, verify_url=f"{base}/v0/siteverify?tenant=a&b=c").verify(GOOD, "::1")
        CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify(GOOD)
    (method, path, headers, body), (_, bare_path, _, bare_body) = server.requests
    assert (method, path, bare_path) == ("POST", "/v0/siteverify?tenant=a&b=c", "/")
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["Accept"] == "application/json" and headers["User-Agent"] == "faroe-flask"
    assert urllib.parse.parse_qs(body.decode("ascii"), strict_parsing=True) == {
        "secret": [SECRET_KEY], "response": [GOOD], "remoteip": ["::1"]}
    assert urllib.parse.parse_qs(bare_body.decode("ascii")) == {"secret": [SECRET_KEY], "response": [GOOD]}


def test_an_answer_of_64_kib_is_read_and_a_longer_one_refused() -> None:
    padding = 64 * 1024 - len(b'{"success": true, "x": ""}')
    exact = b'{"success": true, "x": "' + b"a" * padding + b'"}'
    assert len(exact) == MAX_RESPONSE_BYTES
    with recorder(exact) as (_, base):
        CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify(GOOD)
    with recorder(exact[:-2] + b'a"}') as (_, base):
        with pytest.raises(CaptchaUnavailable) as unavailable:
            CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify(GOOD)
    assert unavailable.value.detail == "ValueError"


@pytest.mark.parametrize(
    ("answer", "detail"),
    [([True], "the answer has no success member"), ({"success": 1}, "the answer has no success member"),
     ({"success": "true"}, "the answer has no success member"), ({}, "the answer has no success member"),
     (b"\xff\xfe{", "the answer is not JSON")],
)
def test_answers_without_a_boolean_success_fail_closed(answer: Any, detail: str) -> None:
    with recorder(answer) as (_, base):
        with pytest.raises(CaptchaUnavailable) as unavailable:
            CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify(GOOD)
    assert unavailable.value.detail == detail and unavailable.value.reason == "unavailable"
    assert unavailable.value.code == 503 and unavailable.value.retry_after == 5


@pytest.mark.parametrize("status", [201, 204, 302, 403])
def test_any_status_but_200_fails_closed(status: int) -> None:
    with recorder(status=status) as (_, base):
        with pytest.raises(CaptchaUnavailable) as unavailable:
            CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify(GOOD)
    assert unavailable.value.detail == f"HTTP status {status}"


@pytest.mark.parametrize(
    ("score", "accepted"),
    [(0.5, True), (1, True), (0.49, False), (True, False), ("0.9", False), (None, False)],
)
def test_the_score_must_be_a_number_of_at_least_the_minimum(score: Any, accepted: bool) -> None:
    with recorder({"success": True, "score": score}) as (_, base):
        verifier = CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=base, min_score=0.5)
        if accepted:
            verifier.verify(GOOD)
        else:
            with pytest.raises(CaptchaRejected) as refused:
                verifier.verify(GOOD)
            assert refused.value.reason == "invalid" and refused.value.code == 403
    with recorder({"success": True, "score": 0.0}) as (_, base):
        CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=base, min_score=0.0).verify(GOOD)


def test_a_token_of_the_longest_length_is_sent() -> None:
    with recorder() as (server, base):
        CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base).verify("t" * MAX_TOKEN_LENGTH)
    assert len(server.requests) == 1


def test_a_refusal_is_not_a_success_false_answer() -> None:
    with recorder({"success": False, "score": 0.9}) as (_, base):
        with pytest.raises(CaptchaRejected) as refused:
            CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=base).verify(GOOD)
    assert refused.value.reason == "invalid"


# The doors --------------------------------------------------------------------------------------


def _config(url: str, **extra: Any) -> dict[str, Any]:
    return {"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": SITE_KEY,
            "FAROE_CAPTCHA_SECRET_KEY": SECRET_KEY, "FAROE_CAPTCHA_VERIFY_URL": url, **extra}


def _post(client: FlaskClient, action: str, address: str = "203.0.113.4", **headers: str) -> Any:
    arguments = {"email_address": "a@example.com"} if action == "create_signup" else {"user_email_address": "a@example.com"}
    return client.post("/faroe", data=json.dumps({"action": action, "arguments": arguments}), headers=headers,
                       environ_base={"REMOTE_ADDR": address})


def test_the_limit_is_checked_before_the_captcha_and_each_applies_to_its_own_actions(make_app: AppFactory) -> None:
    with recorder() as (server, base):
        app = make_app({**_config(base, FAROE_CAPTCHA_ACTIONS="create_signin"), "FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})
        client = app.test_client()
        # create_signup is limited but needs no captcha; create_signin needs a captcha, no limit.
        assert _post(client, "create_signup").status_code == 200
        assert _post(client, "create_signup", **{"X-Captcha-Token": GOOD}).status_code == 429
        assert server.requests == []
        assert _post(client, "create_signin").status_code == 403
        assert _post(client, "create_signin", **{"X-Captcha-Token": GOOD}).status_code == 200
        guard = app.extensions["faroe"].guard
        assert guard.actions == guard.limits.actions | {"create_signin"}
    assert len(server.requests) == 1


def test_a_captcha_without_limits(make_app: AppFactory) -> None:
    with recorder() as (server, base):
        app = make_app({**_config(base), "FAROE_CLIENT_LIMITS": "off"})
        guard = app.extensions["faroe"].guard
        assert guard.limits is None and guard.actions == {"create_signup", "create_signin", "create_user_password_reset"}
        client = app.test_client()
        assert _post(client, "create_signup").status_code == 403
        assert _post(client, "create_signup", **{"X-Captcha-Token": GOOD}).status_code == 200


def test_the_provider_gets_the_forwarded_address_of_an_authenticated_caller(make_app: AppFactory) -> None:
    with recorder() as (server, base):
        app = make_app({**_config(base), "FAROE_ENDPOINT_SECRET": "captcha-edges-secret"})
        client = app.test_client()
        headers = {"Authorization": "Bearer captcha-edges-secret", "X-Captcha-Token": GOOD}
        assert _post(client, "create_signup", **headers, **{"Faroe-Client-Address": "198.51.100.8"}).status_code == 200
        assert _post(client, "create_signup", **headers).status_code == 200
    addresses = [urllib.parse.parse_qs(body.decode())["remoteip"] for _, _, _, body in server.requests]
    assert addresses == [["198.51.100.8"], ["203.0.113.4"]]


def test_the_endpoint_reads_no_form_field(make_app: AppFactory) -> None:
    """A body that is a JSON document and, read as a form, holds the widget's field: the endpoint
    reads the token from X-Captcha-Token only."""
    with recorder() as (server, base):
        client = make_app(_config(base)).test_client()
        body = json.dumps({"action": "create_signup", "arguments": {"email_address": f"&cf-turnstile-response={GOOD}&"}})
        for content_type in ("application/x-www-form-urlencoded", "application/json"):
            refused = client.post("/faroe", data=body, content_type=content_type)
            assert refused.status_code == 403
    assert server.requests == []


def test_each_request_is_checked_again(make_app: AppFactory) -> None:
    with recorder() as (server, base):
        client = make_app(_config(base)).test_client()
        for _ in range(2):
            assert _post(client, "create_signup", **{"X-Captcha-Token": GOOD}).status_code == 200
        assert _post(client, "create_signup").status_code == 403
    assert len(server.requests) == 2


def test_an_unavailable_provider_is_counted_and_logged_without_the_token(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with recorder(status=502) as (_, base):
        app = make_app(_config(base))
        with caplog.at_level(logging.INFO, logger="faroe_flask"):
            assert _post(app.test_client(), "create_signup", **{"X-Captcha-Token": GOOD}).status_code == 503
    assert app.extensions["faroe"].rejections.totals == {(503, "captcha_unavailable"): 1}
    assert "faroe request rejected with 503: captcha unavailable (HTTP status 502)" in caplog.text
    assert GOOD not in caplog.text


def test_an_invalid_token_is_logged_as_such(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    with recorder({"success": False}) as (_, base):
        app = make_app(_config(base))
        with caplog.at_level(logging.INFO, logger="faroe_flask"):
            assert _post(app.test_client(), "create_signup", **{"X-Captcha-Token": "forged"}).status_code == 403
            assert _post(app.test_client(), "create_signup").status_code == 403
    assert "faroe request rejected with 403: captcha invalid" in caplog.text
    assert "faroe request rejected with 403: captcha missing" in caplog.text


def test_escaping_refusals_are_werkzeugs_pages(make_app: AppFactory) -> None:
    with recorder(status=500) as (_, base):
        app = make_app(_config(base))

        @app.post("/join")
        def join() -> str:
            current_faroe.invoke("create_signup", {"email_address": "x@example.com"})
            return "ok"

        client = app.test_client()
        refused = client.post("/join")
        assert refused.status_code == 403
        assert "<p>Please complete the check that you are a person.</p>" in refused.get_data(as_text=True)
        unavailable = client.post("/join", headers={"X-Captcha-Token": GOOD})
        assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "5"
        assert ("<p>The check that you are a person is not available. Please try again shortly.</p>"
                in unavailable.get_data(as_text=True))


@pytest.mark.parametrize(
    ("config", "allowed"),
    [({}, "Content-Type, X-Captcha-Token"), ({"FAROE_CORS_ALLOWED_HEADERS": ""}, "X-Captcha-Token"),
     ({"FAROE_CORS_ALLOWED_HEADERS": "content-type, x-captcha-token"}, "content-type, x-captcha-token"),
     ({"FAROE_CORS_ALLOWED_HEADERS": ["X-Requested-With"]}, "X-Requested-With, X-Captcha-Token"),
     ({"FAROE_CORS_ALLOWED_ORIGINS": None}, "Content-Type")],
)
def test_the_cors_headers_take_the_token_header_once(make_app: AppFactory, config: dict[str, Any], allowed: str) -> None:
    app = make_app({**_config("https://example.com/siteverify"), **config})
    assert app.extensions["faroe"].endpoint.cors_allowed_headers == allowed


def test_templates_see_the_widget(make_app: AppFactory) -> None:
    app = make_app(_config("https://example.com/siteverify", FAROE_CAPTCHA_SCRIPT_URL="https://example.com/w.js"))
    with app.test_request_context():
        rendered = render_template_string(
            "{{ faroe_captcha.site_key }} {{ faroe_captcha.script_url }} {{ faroe_captcha.widget_class }}")
    assert rendered == f"{SITE_KEY} https://example.com/w.js cf-turnstile"


# Where the token is read from -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "form", "expected"),
    [({"headers": {"X-Captcha-Token": "from-header"}, "data": {"cf-turnstile-response": "field"}}, True, "from-header"),
     ({"data": {"cf-turnstile-response": "field"}}, True, "field"),
     ({"data": {"cf-turnstile-response": "field"}}, False, None),
     ({"data": {"cf-turnstile-response": ""}}, True, None),
     ({"data": {"h-captcha-response": "other"}}, True, None),
     ({"data": {"cf-turnstile-response": "multi", "file": (io.BytesIO(b"x"), "x.txt")}}, True, "multi"),
     ({"data": "cf-turnstile-response=raw", "content_type": "text/plain"}, True, None),
     ({"headers": {"X-Captcha-Token": ""}, "data": {"cf-turnstile-response": "field"}}, True, "field"),
     ({}, True, None)],
)
def test_token_from_request(options: dict[str, Any], form: bool, expected: str | None) -> None:
    app = Flask("captcha_token")
    with app.test_request_context("/", method="POST", **options) as context:
        assert token_from_request(context.request, PROVIDERS["turnstile"], form=form) == expected


# The configuration ------------------------------------------------------------------------------


BASE = {"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": SITE_KEY,
        "FAROE_CAPTCHA_SECRET_KEY": SECRET_KEY, "FAROE_CAPTCHA_TIMEOUT": 5.0, "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 2}


def test_configured_values() -> None:
    assert captcha_from_config({**BASE, "FAROE_CAPTCHA_PROVIDER": ""}) is None
    verifier = captcha_from_config({**BASE, "FAROE_CAPTCHA_PROVIDER": " ReCaptcha ", "FAROE_CAPTCHA_TIMEOUT": 1.5,
                                    "FAROE_CAPTCHA_VERIFY_URL": "http://127.0.0.1:9/v",
                                    "FAROE_CAPTCHA_SCRIPT_URL": "https://example.com/a.js",
                                    "FAROE_CAPTCHA_ACTIONS": ["create_signin"], "FAROE_CAPTCHA_MIN_SCORE": 0})
    assert verifier is not None and verifier.provider.name == "recaptcha"
    assert verifier.site_key == SITE_KEY and verifier.timeout == 1.5 and verifier.min_score == 0.0
    assert verifier.verify_url == "http://127.0.0.1:9/v" and verifier.script_url == "https://example.com/a.js"
    assert verifier.actions == {"create_signin"}
    defaults = captcha_from_config({**BASE, "FAROE_CAPTCHA_VERIFY_URL": "", "FAROE_CAPTCHA_MIN_SCORE": ""})
    assert defaults is not None and defaults.actions == frozenset() and defaults.min_score is None
    assert defaults.verify_url == PROVIDERS["turnstile"].verify_url
    assert defaults.script_url == PROVIDERS["turnstile"].script_url
    assert captcha_from_config({**BASE, "FAROE_CAPTCHA_MIN_SCORE": "1"}).min_score == 1.0  # type: ignore[union-attr]


def test_the_concurrent_checks_setting_bounds_the_checks(make_app: AppFactory) -> None:
    verifier = captcha_from_config({**BASE, "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 1})
    assert verifier is not None
    with pytest.raises(ConfigError, match="^FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS must"):
        captcha_from_config({**BASE, "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 0})


@pytest.mark.parametrize(
    ("change", "message"),
    [({"FAROE_CAPTCHA_PROVIDER": 3}, "^FAROE_CAPTCHA_PROVIDER must be one of turnstile, hcaptcha, recaptcha$"),
     ({"FAROE_CAPTCHA_SITE_KEY": ""}, "^FAROE_CAPTCHA_PROVIDER needs FAROE_CAPTCHA_SITE_KEY and FAROE_CAPTCHA_SECRET_KEY$"),
     ({"FAROE_CAPTCHA_SITE_KEY": 5}, "needs FAROE_CAPTCHA_SITE_KEY"),
     ({"FAROE_CAPTCHA_SECRET_KEY": ""}, "needs FAROE_CAPTCHA_SITE_KEY"),
     ({"FAROE_CAPTCHA_SECRET_KEY": b"x"}, "needs FAROE_CAPTCHA_SITE_KEY"),
     ({"FAROE_CAPTCHA_MIN_SCORE": "high"}, "^FAROE_CAPTCHA_MIN_SCORE must be a number between 0 and 1$"),
     ({"FAROE_CAPTCHA_MIN_SCORE": [1]}, "^FAROE_CAPTCHA_MIN_SCORE must be"),
     ({"FAROE_CAPTCHA_MIN_SCORE": -0.1}, "^FAROE_CAPTCHA_MIN_SCORE must be"),
     ({"FAROE_CAPTCHA_MIN_SCORE": 1.01}, "^FAROE_CAPTCHA_MIN_SCORE must be"),
     ({"FAROE_CAPTCHA_ACTIONS": "create_signup, nope"}, "^FAROE_CAPTCHA_ACTIONS"),
     ({"FAROE_CAPTCHA_SCRIPT_URL": "//example.com/a.js"}, "^FAROE_CAPTCHA_SCRIPT_URL must be an http:// or https:// URL$"),
     ({"FAROE_CAPTCHA_VERIFY_URL": 7}, "^FAROE_CAPTCHA_VERIFY_URL must be")],
)
def test_unusable_configuration(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        captcha_from_config({**BASE, **change})


# The connection ---------------------------------------------------------------------------------


def test_an_https_verify_url_is_asked_over_tls() -> None:
    """A plain HTTP server behind an https:// URL: the TLS handshake fails, the check fails closed."""
    with recorder() as (server, base):
        verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base.replace("http://", "https://"), timeout=3)
        with pytest.raises(CaptchaUnavailable) as unavailable:
            verifier.verify(GOOD)
    assert unavailable.value.detail in ("SSLError", "SSLEOFError", "ConnectionResetError", "RemoteDisconnected")
    assert server.requests == []


class _Stalling(ThreadingHTTPServer):
    """Announces a long answer, sends its first ``sent`` bytes, then waits until told to stop."""

    daemon_threads = True

    def __init__(self, sent: int) -> None:
        super().__init__(("127.0.0.1", 0), _StallingHandler)
        self.sent = sent
        self.stop = threading.Event()


class _StallingHandler(BaseHTTPRequestHandler):
    server: _Stalling

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", str(10 * MAX_RESPONSE_BYTES))
        self.end_headers()
        self.wfile.write(b" " * self.server.sent)
        self.wfile.flush()
        self.server.stop.wait(10)


def test_a_long_answer_is_refused_as_soon_as_it_passes_the_limit() -> None:
    server = _Stalling(MAX_RESPONSE_BYTES + 1)
    with run_http_server(server) as base:
        try:
            verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base, timeout=2)
            started = time.monotonic()
            with pytest.raises(CaptchaUnavailable) as unavailable:
                verifier.verify(GOOD)
            assert time.monotonic() - started < 1.5
        finally:
            server.stop.set()
    assert unavailable.value.detail == "ValueError"


def test_a_connection_that_is_never_accepted_ends_its_helper_at_the_timeout() -> None:
    """A listening socket whose queue is full drops new connections' SYNs: connect() hangs, where
    the deadline cannot shut a socket down; the connection's own timeout ends the helper."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        with contextlib.ExitStack() as stack:
            for _ in range(2):  # fill the accept queue
                filler = stack.enter_context(socket.socket())
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.1)
            before = set(threading.enumerate())
            verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=f"http://127.0.0.1:{port}/v", timeout=0.5)
            with pytest.raises(CaptchaUnavailable) as unavailable:
                verifier.verify(GOOD)
            assert unavailable.value.detail == "TimeoutError"
            [helper] = [thread for thread in set(threading.enumerate()) - before if thread.name == "faroe-captcha-check"]
            helper.join(1.5)
            assert not helper.is_alive()


def test_two_checks_run_at_once_by_default() -> None:
    server = _Stalling(0)
    with run_http_server(server) as base:
        try:
            verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=base, timeout=5)
            outcomes: list[str] = []

            def check() -> None:
                try:
                    verifier.verify(GOOD)
                except CaptchaUnavailable as unavailable:
                    outcomes.append(unavailable.detail)

            threads = [threading.Thread(target=check) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 5
            while sum(t.name == "faroe-captcha-check" for t in threading.enumerate()) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            with pytest.raises(CaptchaUnavailable) as busy:
                verifier.verify(GOOD)
            assert busy.value.detail == "TooManyPendingCalls"
        finally:
            server.stop.set()  # the two answers end short: neither check was refused as busy
        for thread in threads:
            thread.join(10)
    assert len(outcomes) == 2 and "TooManyPendingCalls" not in outcomes, outcomes


def test_a_provider_of_ones_own() -> None:
    provider = CaptchaProvider("friendly", "http://127.0.0.1:9/verify", "https://example.com/f.js", "f-widget", "f-response")
    verifier = CaptchaVerifier(provider, SECRET_KEY)
    assert verifier.provider is provider and verifier.verify_url == "http://127.0.0.1:9/verify"
    assert verifier.site_key == "" and verifier.widget.site_key == "" and verifier.widget.widget_class == "f-widget"
    assert verifier.script_url == "https://example.com/f.js"
