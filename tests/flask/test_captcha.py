"""The captcha: a fake ``siteverify`` served over real HTTP on loopback (accepting, refusing,
slow, dripping, down, broken), the verifier's bounded wait and fail-closed answers, the endpoint's
``X-Captcha-Token``, in-process calls and the pages' widget."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from faroe_flask.flask.captcha import (
    CaptchaRejected,
    CaptchaUnavailable,
    CaptchaVerifier,
    captcha_from_config,
)
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import current_faroe

from ..servers import run_http_server
from .conftest import AppFactory

GOOD = "good-token-" + "A" * 40
SITE_KEY = "1x00000000000000000000AA"
SECRET_KEY = "fake-siteverify-secret"
WIDGET_SCRIPT = f"""
document.querySelectorAll(".cf-turnstile").forEach(function (widget) {{
  var field = document.createElement("input");
  field.type = "hidden";
  field.name = "cf-turnstile-response";
  field.value = "{GOOD}";
  widget.appendChild(field);
}});
"""


class FakeSiteverify(ThreadingHTTPServer):
    """Answers like Turnstile/hCaptcha/reCAPTCHA: ``success`` is true for ``GOOD`` only.
    ``mode``: ``ok``, ``slow`` (waits ``delay`` s first), ``drip`` (sends its answer a byte at a
    time), ``status`` (HTTP 500), ``garbage`` (not JSON), ``shapeless`` (JSON without success)."""

    daemon_threads = True

    def __init__(self, mode: str = "ok", delay: float = 5.0, score: float | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.delay = delay
        self.score = score
        self.calls: list[dict[str, str]] = []
        self.stop = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: FakeSiteverify

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        """``/api.js``: a stand-in for the provider's widget script, which puts ``GOOD`` in the
        widget's form field as the real widget does once solved."""
        if self.path != "/api.js":
            self.send_error(404)
            return
        script = WIDGET_SCRIPT.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript")
        self.send_header("Content-Length", str(len(script)))
        self.end_headers()
        self.wfile.write(script)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        self.server.calls.append(fields)
        mode = self.server.mode
        if mode == "slow" and self.server.stop.wait(self.server.delay):
            return
        verdict: dict[str, Any] = {"success": fields.get("secret") == SECRET_KEY and fields.get("response") == GOOD}
        if self.server.score is not None:
            verdict["score"] = self.server.score
        answer = {"garbage": b"<html>oops</html>", "shapeless": b'{"ok": true}'}.get(mode, json.dumps(verdict).encode())
        self.send_response(500 if mode == "status" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if mode == "drip":
            for byte in answer:
                if self.server.stop.wait(0.3):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return
        self.wfile.write(answer)


@contextlib.contextmanager
def siteverify(mode: str = "ok", **options: Any) -> Iterator[tuple[FakeSiteverify, str]]:
    server = FakeSiteverify(mode, **options)
    with run_http_server(server) as base_url:
        try:
            yield server, f"{base_url}/siteverify"
        finally:
            server.stop.set()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/siteverify"


def helpers_alive() -> int:
    return sum(thread.name == "faroe-captcha-check" for thread in threading.enumerate())


def wait_for_no_helpers(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while helpers_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert helpers_alive() == 0


# The verifier ------------------------------------------------------------------------------


def test_the_provider_decides_and_gets_secret_token_and_address() -> None:
    with siteverify() as (server, url):
        verifier = CaptchaVerifier("turnstile", SECRET_KEY, SITE_KEY, verify_url=url)
        verifier.verify(GOOD, "198.51.100.7")
        with pytest.raises(CaptchaRejected) as refused:
            verifier.verify("forged-token", None)
        assert refused.value.reason == "invalid" and refused.value.code == 403
    assert server.calls == [
        {"secret": SECRET_KEY, "response": GOOD, "remoteip": "198.51.100.7"},
        {"secret": SECRET_KEY, "response": "forged-token"},
    ]


def test_no_token_or_an_impossible_one_is_refused_without_asking() -> None:
    with siteverify() as (server, url):
        verifier = CaptchaVerifier("hcaptcha", SECRET_KEY, verify_url=url)
        for token, reason in ((None, "missing"), ("", "missing"), ("x" * 4097, "invalid"), ("tok\nen", "invalid"),
                              ("jeton-é", "invalid")):
            with pytest.raises(CaptchaRejected) as refused:
                verifier.verify(token)
            assert refused.value.reason == reason
    assert server.calls == []


@pytest.mark.parametrize("mode", ["slow", "drip"])
def test_a_slow_provider_fails_closed_within_the_timeout(mode: str) -> None:
    with siteverify(mode) as (server, url):
        verifier = CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=url, timeout=0.6)
        started = time.monotonic()
        with pytest.raises(CaptchaUnavailable) as unavailable:
            verifier.verify(GOOD)
        elapsed = time.monotonic() - started
        assert 0.55 < elapsed < 0.6 + 1.0, elapsed
        assert unavailable.value.code == 503 and unavailable.value.detail == "TimeoutError"
        assert len(server.calls) == 1
        wait_for_no_helpers()  # the helper's socket was shut down: it ended


def test_a_provider_that_is_down_fails_closed_at_once() -> None:
    verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=closed_port_url(), timeout=3)
    started = time.monotonic()
    with pytest.raises(CaptchaUnavailable) as unavailable:
        verifier.verify(GOOD)
    assert time.monotonic() - started < 1.0
    assert unavailable.value.detail == "ConnectionRefusedError"


@pytest.mark.parametrize(("mode", "detail"), [("status", "HTTP status 500"), ("garbage", "the answer is not JSON"),
                                              ("shapeless", "the answer has no success member")])
def test_an_unusable_answer_fails_closed(mode: str, detail: str) -> None:
    with siteverify(mode) as (_, url):
        with pytest.raises(CaptchaUnavailable) as unavailable:
            CaptchaVerifier("turnstile", SECRET_KEY, verify_url=url).verify(GOOD)
    assert unavailable.value.detail == detail


def test_at_most_the_configured_checks_run_at_once() -> None:
    with siteverify("slow", delay=1.0) as (server, url):
        verifier = CaptchaVerifier("turnstile", SECRET_KEY, verify_url=url, timeout=3, max_concurrent_checks=1)
        outcome: list[BaseException | None] = []

        def first() -> None:
            try:
                verifier.verify(GOOD)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001
                outcome.append(exc)

        thread = threading.Thread(target=first)
        thread.start()
        deadline = time.monotonic() + 5
        while not server.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(CaptchaUnavailable) as busy:
            verifier.verify(GOOD)
        assert time.monotonic() - started < 0.3 and busy.value.detail == "TooManyPendingCalls"
        thread.join(10)
        assert outcome == [None]  # the first one still got its answer
        verifier.verify(GOOD)


def test_a_recaptcha_v3_score_below_the_minimum_is_refused() -> None:
    with siteverify(score=0.3) as (_, url):
        with pytest.raises(CaptchaRejected):
            CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=url, min_score=0.5).verify(GOOD)
        CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=url, min_score=0.3).verify(GOOD)
    with siteverify() as (_, url):  # no score at all, and one is required
        with pytest.raises(CaptchaRejected):
            CaptchaVerifier("recaptcha", SECRET_KEY, verify_url=url, min_score=0.1).verify(GOOD)


def test_configuration() -> None:
    assert captcha_from_config({"FAROE_CAPTCHA_PROVIDER": None}) is None
    verifier = captcha_from_config({
        "FAROE_CAPTCHA_PROVIDER": "hCaptcha", "FAROE_CAPTCHA_SITE_KEY": SITE_KEY,
        "FAROE_CAPTCHA_SECRET_KEY": SECRET_KEY, "FAROE_CAPTCHA_ACTIONS": "create_signup, create_signin",
        "FAROE_CAPTCHA_TIMEOUT": 2, "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 3, "FAROE_CAPTCHA_MIN_SCORE": "0.5",
    })
    assert verifier is not None and verifier.provider.name == "hcaptcha"
    assert verifier.verify_url == "https://api.hcaptcha.com/siteverify"
    assert verifier.actions == {"create_signup", "create_signin"} and verifier.min_score == 0.5
    assert SECRET_KEY not in repr(verifier) and SECRET_KEY not in repr(verifier.widget)
    base = {"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": SITE_KEY,
            "FAROE_CAPTCHA_SECRET_KEY": SECRET_KEY, "FAROE_CAPTCHA_TIMEOUT": 5.0,
            "FAROE_CAPTCHA_MAX_CONCURRENT_CHECKS": 2}
    for change, key in (
        ({"FAROE_CAPTCHA_PROVIDER": "geetest"}, "FAROE_CAPTCHA_PROVIDER"),
        ({"FAROE_CAPTCHA_SECRET_KEY": None}, "FAROE_CAPTCHA_SECRET_KEY"),
        ({"FAROE_CAPTCHA_ACTIONS": "create_singup"}, "FAROE_CAPTCHA_ACTIONS"),
        ({"FAROE_CAPTCHA_MIN_SCORE": 2}, "FAROE_CAPTCHA_MIN_SCORE"),
        ({"FAROE_CAPTCHA_TIMEOUT": 0}, "FAROE_CAPTCHA_TIMEOUT"),
        ({"FAROE_CAPTCHA_VERIFY_URL": "ftp://x"}, "FAROE_CAPTCHA_VERIFY_URL"),
    ):
        with pytest.raises(ConfigError, match=key):
            captcha_from_config({**base, **change})


# The doors ---------------------------------------------------------------------------------


def captcha_config(url: str, **extra: Any) -> dict[str, Any]:
    return {"FAROE_CAPTCHA_PROVIDER": "turnstile", "FAROE_CAPTCHA_SITE_KEY": SITE_KEY,
            "FAROE_CAPTCHA_SECRET_KEY": SECRET_KEY, "FAROE_CAPTCHA_VERIFY_URL": url, **extra}


def call(app: Flask, action: str, token: str | None = None, **arguments: str) -> Any:
    headers = {"X-Captcha-Token": token} if token is not None else {}
    return app.test_client().post("/faroe", data=json.dumps({"action": action, "arguments": arguments}),
                                  headers=headers, environ_base={"REMOTE_ADDR": "203.0.113.4"})


def test_the_endpoint_reads_x_captcha_token_for_the_chosen_actions(make_app: AppFactory) -> None:
    with siteverify() as (server, url):
        app = make_app(captcha_config(url))
        missing = call(app, "create_signup", email_address="a@example.com")
        assert missing.status_code == 403 and missing.data == b""
        assert call(app, "create_signup", "forged", email_address="a@example.com").status_code == 403
        ok = call(app, "create_signup", GOOD, email_address="a@example.com")
        assert ok.status_code == 200 and json.loads(ok.data)["ok"] is True
        assert call(app, "create_user_password_reset", user_email_address="b@example.com").status_code == 403
        assert call(app, "create_signin", user_email_address="b@example.com").status_code == 403
        # Other actions need none.
        assert call(app, "get_session", session_token="x.y").status_code == 200
        assert call(app, "get_signup", signup_token="x.y").status_code == 200
    assert [fields["remoteip"] for fields in server.calls] == ["203.0.113.4"] * 2
    assert app.extensions["faroe"].rejections.totals == {(403, "captcha_missing"): 3, (403, "captcha_invalid"): 1}


def test_the_endpoint_answers_503_with_retry_after_when_the_provider_is_down(make_app: AppFactory) -> None:
    app = make_app(captcha_config(closed_port_url()))
    refused = call(app, "create_signup", GOOD, email_address="a@example.com")
    assert refused.status_code == 503 and refused.data == b""
    assert refused.headers["Retry-After"] == "5"
    assert refused.headers["Access-Control-Expose-Headers"] == "Retry-After"


def test_cors_lets_browsers_send_the_token(make_app: AppFactory) -> None:
    with siteverify() as (_, url):
        app = make_app(captcha_config(url))
        preflight = app.test_client().options("/faroe", headers={"Origin": "https://example.com"})
        assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Captcha-Token"


def test_in_process_calls_during_a_request_need_the_token_and_check_it_once(make_app: AppFactory) -> None:
    with siteverify() as (server, url):
        app = make_app(captcha_config(url, FAROE_CAPTCHA_ACTIONS="create_signup, send_signup_email_address_verification_code"))

        @app.post("/join")
        def join() -> dict[str, Any]:
            created = current_faroe.invoke("create_signup", {"email_address": "j@example.com"})
            token = created.values["signup_token"]
            again = current_faroe.invoke("send_signup_email_address_verification_code", {"signup_token": token})
            return {"ok": again.ok}

        client = app.test_client()
        assert client.post("/join").status_code == 403
        assert client.post("/join", headers={"X-Captcha-Token": GOOD}).json == {"ok": True}
        # Outside a request: no captcha.
        with app.app_context():
            assert current_faroe.invoke("create_signup", {"email_address": "cli@example.com"}).ok
    assert [fields["response"] for fields in server.calls] == [GOOD]  # one check for both actions


@pytest.mark.parametrize(("provider", "field", "widget"), [
    ("turnstile", "cf-turnstile-response", "cf-turnstile"),
    ("hcaptcha", "h-captcha-response", "h-captcha"),
    ("recaptcha", "g-recaptcha-response", "g-recaptcha"),
])
def test_the_pages_show_the_widget_and_send_its_token(
    make_app: AppFactory, provider: str, field: str, widget: str
) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    with siteverify() as (server, url):
        app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False,
                        **captcha_config(url, FAROE_CAPTCHA_PROVIDER=provider)})
        app.register_blueprint(create_pages_blueprint())
        client = app.test_client()
        for page in ("/account/signup", "/account/signin", "/account/reset"):
            html = client.get(page).get_data(as_text=True)
            assert f'<div class="{widget}" data-sitekey="{SITE_KEY}"></div>' in html, page
            assert "<script src=\"https://" in html and SECRET_KEY not in html
        refused = client.post("/account/signup", data={"email_address": "p@example.com"})
        assert refused.status_code == 403
        assert "We could not confirm that you are a person" in refused.get_data(as_text=True)
        accepted = client.post("/account/signup", data={"email_address": "p@example.com", field: GOOD})
        assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/account/signup/verify")
        # The verification step needs no captcha: no widget there.
        assert widget not in client.get("/account/signup/verify").get_data(as_text=True)
    assert [fields["response"] for fields in server.calls] == [GOOD]


def test_the_pages_say_when_the_check_is_unavailable(make_app: AppFactory) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False, **captcha_config(closed_port_url())})
    app.register_blueprint(create_pages_blueprint())
    page = app.test_client().post("/account/signin", data={"email_address": "p@example.com", "password": "x",
                                                             "cf-turnstile-response": GOOD})
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.get_data(as_text=True)
    assert "not available right now" in text and 'data-error-code="captcha_unavailable"' in text
    assert re.findall(r'<a href="([^"]*)">Go back</a>', text) == ["/account/signin"]


@pytest.mark.parametrize(("sent", "reason"), [({}, "missing"), ({"cf-turnstile-response": "bad-token"}, "invalid")])
def test_the_pages_say_why_a_check_was_refused(make_app: AppFactory, sent: dict[str, str], reason: str) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    with siteverify() as (_, url):
        app = make_app({"SECRET_KEY": "pages", "WTF_CSRF_ENABLED": False, **captcha_config(url)})
        app.register_blueprint(create_pages_blueprint())
        page = app.test_client().post("/account/reset", data={"email_address": "p@example.com", **sent})
    assert page.status_code == 403 and "Retry-After" not in page.headers
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    text = page.get_data(as_text=True)
    assert "<h1>Please complete the check</h1>" in text and f'data-error-code="captcha_{reason}"' in text
    assert re.findall(r'<a href="([^"]*)">Go back</a>', text) == ["/account/reset"]


def test_without_a_captcha_the_pages_show_no_widget(make_app: AppFactory) -> None:
    from faroe_flask.flask.pages import create_pages_blueprint

    app = make_app({"SECRET_KEY": "pages"})
    app.register_blueprint(create_pages_blueprint())
    html = app.test_client().get("/account/signup").get_data(as_text=True)
    assert "data-sitekey" not in html and "<script" not in html
