"""The findings of issue 19, reproduced over real HTTP (waitress on loopback, cookie jars, each
client on its own loopback address, the CSRF token parsed from the served form), and fixed:

1. a flow outlives sign-out (a copied cookie finished a password reset after it);
2. no anti-framing or caching headers;
3. Flask's session is not rotated at sign-in (a CSRF token minted before is accepted after);
4. Flask's session cookie is not Secure by default;
plus what the fix promises: no Faroe token in Flask's cookie or in the storage, flow state that
expires and stays bounded."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from faroe_flask import MemoryStorage, current_faroe
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.pages_state import FLOW_KEY, MAX_NEXT_CHARACTERS, seal, storage_key, unseal

from ..conftest import CapturingEmailSender, FakeClock
from ..servers import serve
from .conftest import NEW_PASSWORD, PASSWORD, AppFactory
from .pages_http import PAGES_CONFIG, TOKEN, HttpBrowser, base, flask_session, http_app, pages_app  # noqa: F401

EMAIL = "http.user@example.com"

# Storage key prefixes of the records involved (faroe_flask.core.records).
SIGNUP_RECORDS, RESET_RECORDS, EMAIL_UPDATE_RECORDS, FLOW_STATES = "aaai.", "aaan.", "aaak.", "pages.flow."


def storage_of(app: Flask) -> MemoryStorage:
    with app.app_context():
        storage = current_faroe.server.storage
    assert isinstance(storage, MemoryStorage)
    return storage


def records(app: Flask, prefix: str) -> list[str]:
    return [key for key in storage_of(app).keys() if key.startswith(prefix)]


def sign_up(browser: HttpBrowser, sender: CapturingEmailSender, email: str = EMAIL) -> None:
    assert browser.post("/account/signup", email_address=email).location == "/account/signup/verify"
    code = sender.last("signup_code")["code"]
    assert browser.post("/account/signup/verify", code=code).location == "/account/signup/password"
    done = browser.post("/account/signup/password", password=PASSWORD)
    assert done.status == 302 and done.set_cookies("faroe_session")


def sign_in(browser: HttpBrowser, password: str = PASSWORD, email: str = EMAIL) -> HttpBrowser:
    answer = browser.post("/account/signin", email_address=email, password=password)
    assert answer.status == 302 and answer.set_cookies("faroe_session"), answer.body
    return browser


def start_reset(browser: HttpBrowser, sender: CapturingEmailSender) -> None:
    assert browser.post("/account/reset", email_address=EMAIL).location == "/account/reset/verify"
    temporary = sender.last("temporary_password")["temporary_password"]
    assert browser.post("/account/reset/verify", temporary_password=temporary).location == "/account/reset/password"


# 1. Flows end on the server ----------------------------------------------------------------------


def test_a_copied_reset_cookie_is_dead_after_sign_out(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    sign_up(HttpBrowser(base), email_sender)
    victim = HttpBrowser(base)
    start_reset(victim, email_sender)  # the temporary password is verified
    copier = victim.copy()
    assert victim.post("/account/signout").location == "/"
    # The copy: the form is not served, and posting the new password changes nothing.
    answer = copier.post("/account/reset/password", password=NEW_PASSWORD)
    assert answer.location == "/account/reset" and not answer.set_cookies("faroe_session")
    assert copier.get("/account/reset/password").location == "/account/reset"
    sign_in(HttpBrowser(base))  # the password is still the old one
    assert HttpBrowser(base).post("/account/signin", email_address=EMAIL, password=NEW_PASSWORD).status == 422
    # Ended on the server: no reset record, no flow state.
    assert records(http_app, RESET_RECORDS) == [] and records(http_app, FLOW_STATES) == []


def test_a_copied_signup_cookie_is_dead_after_sign_out(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    victim = HttpBrowser(base)
    victim.post("/account/signup", email_address=EMAIL)
    victim.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    copier = victim.copy()
    assert len(records(http_app, SIGNUP_RECORDS)) == 1
    victim.post("/account/signout")
    assert copier.get("/account/signup/password").location == "/account/signup"
    assert copier.post("/account/signup/password", password=PASSWORD).location == "/account/signup"
    assert records(http_app, SIGNUP_RECORDS) == [] and records(http_app, FLOW_STATES) == []


def test_a_completed_flow_cannot_be_replayed(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    sign_up(HttpBrowser(base), email_sender)
    person = HttpBrowser(base)
    start_reset(person, email_sender)
    copier = person.copy()
    assert person.post("/account/reset/password", password=NEW_PASSWORD).location == "/account/"
    assert records(http_app, RESET_RECORDS) == []
    answer = copier.post("/account/reset/password", password="another Password 4 you")
    assert answer.location == "/account/reset" and not answer.set_cookies("faroe_session")


@pytest.mark.parametrize("flow", ["signup", "reset", "email"])
def test_starting_another_flow_of_a_kind_ends_the_first(http_app: Flask, base: str, email_sender: CapturingEmailSender, flow: str) -> None:
    person = HttpBrowser(base)
    if flow == "signup":
        path, field, prefix, first, second = "/account/signup", "email_address", SIGNUP_RECORDS, "first@example.com", "second@example.com"
    else:
        sign_up(HttpBrowser(base), email_sender)
        sign_up(HttpBrowser(base), email_sender, "second@example.com")
        if flow == "reset":
            path, field, prefix, first, second = "/account/reset", "email_address", RESET_RECORDS, EMAIL, "second@example.com"
        else:
            sign_in(person)
            path, field, prefix, first, second = "/account/email", "new_email_address", EMAIL_UPDATE_RECORDS, "new1@example.com", "new2@example.com"
    person.post(path, **{field: first})
    copier = person.copy()
    person.post(path, **{field: second})
    assert len(records(http_app, prefix)) == 1  # the first flow was deleted on the server
    assert len(records(http_app, FLOW_STATES)) == 1
    assert copier.get(path + "/verify").status == 302  # the copy's state is gone
    assert second in person.get(path + "/verify").body


@pytest.mark.parametrize("flow", ["signup", "reset", "email"])
def test_cancel_ends_the_flow(http_app: Flask, base: str, email_sender: CapturingEmailSender, flow: str) -> None:
    if flow != "signup":
        sign_up(HttpBrowser(base), email_sender)
    person = HttpBrowser(base)
    if flow == "signup":
        person.post("/account/signup", email_address=EMAIL)
        page, prefix, after = "/account/signup/verify", SIGNUP_RECORDS, "/"
    elif flow == "reset":
        person.post("/account/reset", email_address=EMAIL)
        page, prefix, after = "/account/reset/verify", RESET_RECORDS, "/account/signin"
    else:
        sign_in(person)
        person.post("/account/email", new_email_address="renamed@example.com")
        page, prefix, after = "/account/email/verify", EMAIL_UPDATE_RECORDS, "/account/"
    form = person.get(page)
    assert f'action="/account/{flow}/cancel"' in form.body
    copier = person.copy()
    assert len(records(http_app, prefix)) == 1
    assert person.post(f"/account/{flow}/cancel", csrf=form.csrf).location == after
    assert records(http_app, prefix) == [] and records(http_app, FLOW_STATES) == []
    assert copier.get(page).status == 302  # back to the flow's start
    assert person.get(page).status == 302


def test_no_faroe_token_in_the_cookie_nor_in_the_storage(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    person = HttpBrowser(base)
    seen: list[dict[str, object]] = []
    person.post("/account/signup", email_address=EMAIL)
    seen.append(flask_session(http_app, person))
    person.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    seen.append(flask_session(http_app, person))
    for state in seen:
        assert set(state) <= {"csrf_token", FLOW_KEY, "_flashes"}
        assert not TOKEN.search(repr(state)) and EMAIL not in repr(state)
    handle = seen[-1][FLOW_KEY]
    assert isinstance(handle, str) and len(handle) == 43
    # The state on the server is sealed: neither the token nor the address can be read there.
    storage = storage_of(http_app)
    [key] = records(http_app, FLOW_STATES)
    value, _ = storage.get(key)
    assert not TOKEN.search(value.decode("latin-1")) and EMAIL.encode() not in value
    assert handle not in key  # the key does not reveal the handle either
    # A step that changes nothing keeps the handle; a change moves the state to a new one.
    assert seen[0][FLOW_KEY] == handle
    person.post("/account/signup", email_address="other@example.com")
    assert flask_session(http_app, person)[FLOW_KEY] != handle
    assert key not in records(http_app, FLOW_STATES)


def test_flow_state_expires(http_app: Flask, base: str, clock: FakeClock) -> None:
    person = HttpBrowser(base)
    person.post("/account/reset", email_address="nobody@example.com")  # no flow: nothing stored
    assert records(http_app, FLOW_STATES) == []
    person.post("/account/signup", email_address=EMAIL)
    assert person.get("/account/signup/verify").status == 200
    clock.advance(1800)
    assert person.get("/account/signup/verify").location == "/account/signup"
    assert records(http_app, FLOW_STATES) == []  # deleted when found expired


def test_flow_state_is_bounded_per_client_and_purged(make_app: AppFactory, email_sender: CapturingEmailSender, clock: FakeClock, tmp_path: Path) -> None:
    from sqlalchemy import MetaData

    from faroe_flask.sql import SQLStorage, create_engine, make_storage_table

    engine = create_engine(f"sqlite:///{tmp_path / 'storage.sqlite3'}")
    table = make_storage_table(MetaData(), "faroe_storage")
    table.create(engine)
    storage = SQLStorage(engine, table)
    # One address starts 30 sign-ups here: the per-client email limit (test_client_limits.py)
    # would stop it after 10, and this test is about what the flow state keeps.
    app = make_app(config={"SECRET_KEY": "k", "FAROE_SESSION_COOKIE_SECURE": False, "FAROE_CLIENT_LIMITS": "off"},
                   storage=storage)
    from faroe_flask import create_pages_blueprint

    app.register_blueprint(create_pages_blueprint())

    def flow_states() -> int:
        with engine.connect() as connection:
            rows = connection.execute(table.select().where(table.c.key.like(FLOW_STATES + "%"))).fetchall()
        return len(rows)

    with serve(app) as url:
        hostile = HttpBrowser(url)
        csrf = hostile.csrf()
        for n in range(20):  # one browser, many flows: one state, one live sign-up
            hostile.post("/account/signup", csrf=csrf, email_address=f"a{n}@example.com", next="/" + "x" * 5000)
        assert flow_states() == 1
        assert "a19@example.com" in hostile.get("/account/signup/verify").body
        for n in range(10):  # clients that drop their cookies: one state each, all expiring
            HttpBrowser(url).post("/account/signup", email_address=f"b{n}@example.com")
        assert flow_states() == 11
    clock.advance(1800)
    storage.delete_expired(clock.now())
    assert flow_states() == 0
    engine.dispose()


def test_a_long_next_is_not_kept(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    person = HttpBrowser(base)
    person.post("/account/signup", email_address=EMAIL, next="/" + "y" * MAX_NEXT_CHARACTERS)
    person.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
    assert person.post("/account/signup/password", password=PASSWORD).location == "/"


# 2. Headers ---------------------------------------------------------------------------------------

HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def test_every_page_answer_carries_the_security_headers(base: str, email_sender: CapturingEmailSender) -> None:
    person = HttpBrowser(base)
    answers = [person.get("/account/signin"), person.get("/account/signup"), person.get("/account/")]
    answers.append(person.request("/account/signout", {"csrf_token": "forged"}))  # 400
    sign_up(person, email_sender)
    answers += [person.get("/account/"), person.get("/account/signout-everywhere")]
    assert [answer.status for answer in answers] == [200, 200, 302, 400, 200, 200]
    for answer in answers:
        assert {name: answer.headers.get(name) for name in HEADERS} == HEADERS
    assert EMAIL in answers[-2].body  # the account page, with the address: never stored by a cache
    css = person.get("/account/static/pages.css")
    assert css.status == 200 and css.headers["X-Frame-Options"] == "DENY"
    assert css.headers["Cache-Control"] != "no-store"  # the stylesheet keeps its own caching
    assert "X-Frame-Options" not in person.get("/faroe").headers  # only the pages


def test_the_application_changes_the_headers(make_app: AppFactory) -> None:
    app = pages_app(
        make_app,
        FAROE_PAGES_SECURITY_HEADERS={
            "Content-Security-Policy": "frame-ancestors 'self'; script-src 'self' https://challenges.example",
            "x-frame-options": "SAMEORIGIN",
            "Referrer-Policy": None,
            "Permissions-Policy": "camera=()",
            "X-Robots-Tag": "noindex",
        },
    )
    with serve(app) as url:
        headers = HttpBrowser(url).get("/account/signin").headers
    assert headers["Content-Security-Policy"] == "frame-ancestors 'self'; script-src 'self' https://challenges.example"
    assert headers.get_all("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["Referrer-Policy"] is None and headers["Permissions-Policy"] == "camera=()"
    assert headers["X-Robots-Tag"] == "noindex"
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "value", [
        "frame-ancestors", ["X-Frame-Options"], {"X-Frame-Options": "DENY\r\nSet-Cookie: a=b"},
        {"X-Frame-Options": "DENY\rSet-Cookie: a=b"}, {"X-Frame-Options": "DENY\nSet-Cookie: a=b"},
        {"Bad Name": "x"}, {"Bad:Name": "x"}, {"Bad\rName": "x"}, {"Bad\nName": "x"}, {"": "x"}, {1: "x"},
        {"X": 1}, {"X": b"DENY"},
    ]
)
def test_unusable_headers_are_refused_at_registration(make_app: AppFactory, value: object) -> None:
    with pytest.raises(ConfigError) as refused:
        pages_app(make_app, FAROE_PAGES_SECURITY_HEADERS=value)
    assert str(refused.value) == "FAROE_PAGES_SECURITY_HEADERS must map header names to strings or None"


def test_headers_are_dropped_whatever_the_letter_case_and_none_means_the_defaults(make_app: AppFactory) -> None:
    dropped = pages_app(make_app, FAROE_PAGES_SECURITY_HEADERS={"referrer-POLICY": None, "cache-control": "private"})
    headers = dropped.test_client().get("/account/signin").headers
    assert "Referrer-Policy" not in headers and headers.get_all("Cache-Control") == ["private"]
    assert headers["X-Frame-Options"] == "DENY"
    for value in (None, {}):
        defaults = pages_app(make_app, FAROE_PAGES_SECURITY_HEADERS=value).test_client().get("/account/signin").headers
        assert {name: defaults[name] for name in HEADERS} == HEADERS


def test_the_flow_state_lives_at_least_a_minute(make_app: AppFactory, clock: FakeClock) -> None:
    with pytest.raises(ConfigError, match="FAROE_PAGES_FLOW_STATE_LIFETIME"):
        pages_app(make_app, FAROE_PAGES_FLOW_STATE_LIFETIME=59)
    client = pages_app(make_app, FAROE_PAGES_FLOW_STATE_LIFETIME=60, WTF_CSRF_ENABLED=False).test_client()
    assert client.post("/account/signup", data={"email_address": EMAIL}).status_code == 302
    clock.advance(59)
    assert client.get("/account/signup/verify").status_code == 200
    clock.advance(1)
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"


# 3. Rotation --------------------------------------------------------------------------------------


def test_signing_in_rotates_the_session_and_its_csrf_token(http_app: Flask, base: str, email_sender: CapturingEmailSender) -> None:
    sign_up(HttpBrowser(base), email_sender)
    HttpBrowser(base).post("/account/signout")
    # An attacker gets a session cookie and its CSRF token, and plants the cookie in a browser.
    attacker = HttpBrowser(base)
    planted_token = attacker.csrf()
    victim = attacker.copy()
    before = victim.cookie("session")
    answer = victim.post("/account/signin", csrf=planted_token, email_address=EMAIL, password=PASSWORD)
    assert answer.status == 302 and answer.set_cookies("faroe_session")
    assert victim.cookie("session") != before
    assert flask_session(http_app, victim)["csrf_token"] != flask_session(http_app, attacker)["csrf_token"]
    # The token minted before sign-in is refused after it; a fresh one works.
    refused = victim.post("/account/signout-everywhere", csrf=planted_token)
    assert refused.status == 400 and "This form has expired" in refused.body
    assert victim.get("/account/").status == 200  # still signed in
    assert victim.post("/account/signout-everywhere").location == "/account/signin"


@pytest.mark.parametrize("completion", ["signup", "reset"])
def test_finishing_a_signup_or_a_reset_rotates_the_session(base: str, email_sender: CapturingEmailSender, completion: str) -> None:
    person = HttpBrowser(base)
    if completion == "signup":
        person.post("/account/signup", email_address=EMAIL)
        person.post("/account/signup/verify", code=email_sender.last("signup_code")["code"])
        path, form = "/account/signup/password", {"password": PASSWORD}
    else:
        sign_up(HttpBrowser(base), email_sender)
        start_reset(person, email_sender)
        path, form = "/account/reset/password", {"password": NEW_PASSWORD}
    token = person.csrf(path)
    before = person.cookie("session")
    assert person.post(path, csrf=token, **form).set_cookies("faroe_session")
    assert person.cookie("session") != before
    assert person.post("/account/signout", csrf=token).status == 400
    assert person.post("/account/signout").location == "/"


# 4. The Secure flag -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "secure"),
    [
        ({}, True),  # FAROE_SESSION_COOKIE_SECURE defaults to True
        ({"FAROE_SESSION_COOKIE_SECURE": False}, False),  # plain-HTTP development, explicitly
        ({"FAROE_SESSION_COOKIE_SECURE": "false"}, False),  # as an environment variable gives it
        ({"FAROE_SESSION_COOKIE_SECURE": False, "SESSION_COOKIE_SECURE": True}, True),  # the app's own
        ({"SESSION_COOKIE_SECURE": False}, True),  # Flask's default value follows Faroe's setting
    ],
)
def test_the_session_cookie_is_secure_unless_told_otherwise(make_app: AppFactory, config: dict[str, object], secure: bool) -> None:
    app = make_app(config={"SECRET_KEY": "k", **config})
    from faroe_flask import create_pages_blueprint

    app.register_blueprint(create_pages_blueprint())
    with serve(app) as url:
        [cookie] = HttpBrowser(url).get("/account/signin").set_cookies("session")
    assert ("; Secure" in cookie) is secure
    assert "HttpOnly" in cookie


# Robustness of the flow state ---------------------------------------------------------------------


class FlakyStorage(MemoryStorage):
    """Memory storage whose reads and writes of the pages' flow state fail while ``down``."""

    down = False

    def _check(self, key: str) -> None:
        if self.down and key.startswith(FLOW_STATES):
            raise ConnectionError("the storage is unreachable")

    def get(self, key: str) -> tuple[bytes, int]:
        self._check(key)
        return super().get(key)

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        self._check(key)
        super().add(key, value, expires_at)


def test_an_unreachable_flow_state_is_a_503_page_and_sign_out_still_works(
    make_app: AppFactory, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FlakyStorage()
    app = make_app(config={**PAGES_CONFIG}, storage=storage)
    from faroe_flask import create_pages_blueprint

    app.register_blueprint(create_pages_blueprint())
    with serve(app) as url:
        person = HttpBrowser(url)
        person.post("/account/signup", email_address=EMAIL)
        storage.down = True
        answer = person.get("/account/signup/verify")
        assert answer.status == 503 and "Something went wrong on our side" in answer.body
        assert answer.headers["Cache-Control"] == "no-store"
        other = HttpBrowser(url)
        assert other.post("/account/signup", email_address="other@example.com").status == 503
        # The sign-up started for a state that could not be kept was deleted again.
        assert len([key for key in storage.keys() if key.startswith(SIGNUP_RECORDS)]) == 1
        assert person.post("/account/signout").location == "/"  # the flow state is dropped
        storage.down = False
        assert person.get("/account/signup/verify").location == "/account/signup"
    assert "ConnectionError" in caplog.text and EMAIL not in caplog.text


def test_an_older_cookie_with_tokens_in_it_is_ignored(http_app: Flask) -> None:
    client = http_app.test_client()
    with client.session_transaction() as session:
        session[FLOW_KEY] = {"signup_token": "a" * 24 + "." + "b" * 24, "signup_email": EMAIL}
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"
    with client.session_transaction() as session:
        assert FLOW_KEY not in session


def test_a_sealed_state_opens_only_with_its_handle_and_unchanged() -> None:
    from faroe_flask.flask.pages_state import seal, storage_key, unseal

    handle, other = "h" * 43, "i" * 43
    sealed = seal(handle, b'{"signup_token":"secret"}')
    assert unseal(handle, sealed) == b'{"signup_token":"secret"}'
    assert b"secret" not in sealed and seal(handle, b"same") != seal(handle, b"same")  # a fresh nonce
    assert unseal(other, sealed) is None
    for position in (0, 5, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[position] ^= 1
        assert unseal(handle, bytes(tampered)) is None
    assert unseal(handle, b"") is None
    assert storage_key(handle) != storage_key(other) and handle not in storage_key(handle)


# 4. The flow state's format, and states that do not open -------------------------------------------


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def _seal_by_hand(handle: str, plaintext: bytes, nonce: bytes, version: bytes = b"\x01") -> bytes:
    """The documented format (faroe_flask.flask.pages_state), written out independently."""
    keystream = hashlib.shake_256(_hmac(handle.encode(), b"encrypt") + nonce).digest(len(plaintext))
    ciphertext = bytes(a ^ b for a, b in zip(plaintext, keystream))
    body = nonce + ciphertext
    return version + body + _hmac(_hmac(handle.encode(), b"authenticate"), body)


def test_the_sealed_format_and_the_storage_key_are_the_documented_ones() -> None:
    handle = "AbC-_" + "x" * 38
    assert storage_key(handle) == "pages.flow." + _hmac(handle.encode(), b"key").hex()
    plaintext = b'\x00{"values":{"signup_token":"t"}}\xff'  # zero and high bytes at either end
    sealed = seal(handle, plaintext)
    assert len(sealed) == 1 + 16 + len(plaintext) + 32 and sealed[:1] == b"\x01"
    assert sealed == _seal_by_hand(handle, plaintext, sealed[1:17])
    by_hand = _seal_by_hand(handle, plaintext, bytes(range(16)))
    assert unseal(handle, by_hand) == plaintext
    assert unseal(handle, _seal_by_hand(handle, b"", bytes(16))) == b""  # the shortest sealed value
    assert unseal(handle, _seal_by_hand(handle, b"", bytes(16))[:-1]) is None
    assert unseal(handle, _seal_by_hand(handle, b"", bytes(15))) is None  # its tag holds, but no whole nonce
    assert unseal(handle, _seal_by_hand(handle, plaintext, bytes(16), version=b"\x02")) is None


def plant(app: Flask, client: FlaskClient, handle: object, sealed: bytes | None = None) -> str:
    """Put ``handle`` in the browser's session and, when given, ``sealed`` under its key."""
    with client.session_transaction() as session:
        session[FLOW_KEY] = handle
    key = storage_key(str(handle))
    if sealed is not None:
        storage_of(app).add(key, sealed, datetime.fromtimestamp(2**31 - 1, timezone.utc))
    return key


def planted(values: object, expires_at: object = 2**31 - 1) -> bytes:
    return json.dumps({"expires_at": expires_at, "values": values}).encode()


def _session_keys(client: FlaskClient) -> set[str]:
    with client.session_transaction() as session:
        return set(session)


@pytest.mark.parametrize("handle", ["x" * 42, "x" * 44, "x" * 42 + ".", 43, ["x" * 43]])
def test_a_malformed_handle_is_dropped(http_app: Flask, handle: object) -> None:
    client = http_app.test_client()
    plant(http_app, client, handle)
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"
    assert FLOW_KEY not in _session_keys(client)


NOT_SEALED = b"\x01" + b"\x00" * 60


@pytest.mark.parametrize(("sealed", "deleted"), [
    (NOT_SEALED, False),  # not sealed with this handle
    (b"not json", False),
    (b"[1, 2]", False),
    (planted(["not", "a", "mapping"]), False),
    (json.dumps({"expires_at": 2**31 - 1}).encode(), False),
    (json.dumps({"values": {"signup_decoy": "a@example.com"}}).encode(), True),  # no deadline
    (planted({"signup_decoy": "a@example.com"}, expires_at="2100-01-01"), True),
    (planted({"signup_decoy": "a@example.com"}, expires_at=0), True),  # long expired
])
def test_a_state_that_does_not_open_or_has_expired_is_empty(http_app: Flask, sealed: bytes, deleted: bool) -> None:
    client = http_app.test_client()
    handle = "h" * 43
    key = plant(http_app, client, handle, sealed if sealed == NOT_SEALED else seal(handle, sealed))
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"
    assert FLOW_KEY not in _session_keys(client)
    assert (key not in storage_of(http_app).keys()) == deleted


def test_a_planted_state_that_opens_is_the_flow(http_app: Flask) -> None:
    client = http_app.test_client()
    plant(http_app, client, "h" * 43, seal("h" * 43, planted({"signup_decoy": "a@example.com",
                                                               "signup_email": "a@example.com",
                                                               "signup_started_at": "1e12"})))
    page = client.get("/account/signup/verify")
    assert page.status_code == 200 and "a@example.com" in page.get_data(as_text=True)


def test_a_decoy_without_its_start_has_expired(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    app = pages_app(make_app, FAROE_PAGES_GENERIC_RESPONSES=True, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    plant(app, client, "h" * 43, seal("h" * 43, planted({"signup_decoy": "a@example.com",
                                                          "signup_email": "a@example.com"})))
    answer = client.post("/account/signup/verify", data={"code": "ABCDEFGH"})
    assert answer.headers["Location"] == "/account/signup"  # started at 0: long expired
    assert FLOW_KEY not in _session_keys(client)


def test_the_flow_state_lives_its_configured_lifetime(make_app: AppFactory, clock: FakeClock) -> None:
    added: list[datetime] = []

    class Recording(MemoryStorage):
        def add(self, key: str, value: bytes, expires_at: datetime) -> None:
            if key.startswith(FLOW_STATES):
                added.append(expires_at)
            super().add(key, value, expires_at)

    app = make_app(config={**PAGES_CONFIG, "FAROE_PAGES_FLOW_STATE_LIFETIME": 600, "WTF_CSRF_ENABLED": False},
                   storage=Recording())
    from faroe_flask import create_pages_blueprint

    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()
    assert client.post("/account/signup", data={"email_address": EMAIL}).status_code == 302
    assert added == [clock.now() + timedelta(seconds=600)]  # the storage's expiry hint
    clock.advance(599)
    assert client.get("/account/signup/verify").status_code == 200
    clock.advance(1)
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"


def test_the_flow_state_is_at_most_32_kib(http_app: Flask, clock: FakeClock) -> None:
    from faroe_flask.flask.pages_state import MAX_STATE_BYTES, recall, remember

    expires_at = (clock.now() + timedelta(seconds=1800)).timestamp()
    overhead = len(json.dumps({"expires_at": expires_at, "values": {"x": ""}}, separators=(",", ":")))
    with http_app.test_request_context("/account/signup"):
        remember(x="a" * (MAX_STATE_BYTES - overhead))
        assert recall("x") == "a" * (MAX_STATE_BYTES - overhead)
        with pytest.raises(ValueError) as refused:
            remember(x="a" * (MAX_STATE_BYTES - overhead + 1))
        assert str(refused.value) == "the pages' flow state is too large"


class FailingFlowStateStorage(MemoryStorage):
    """Memory storage whose reads, writes or deletes of the pages' flow state fail, as chosen."""

    failing: frozenset[str] = frozenset()

    def _check(self, operation: str, key: str) -> None:
        if operation in self.failing and key.startswith(FLOW_STATES):
            raise ConnectionError("the storage is unreachable")

    def get(self, key: str) -> tuple[bytes, int]:
        self._check("get", key)
        return super().get(key)

    def add(self, key: str, value: bytes, expires_at: datetime) -> None:
        self._check("add", key)
        super().add(key, value, expires_at)

    def delete(self, key: str) -> None:
        self._check("delete", key)
        super().delete(key)


def test_flow_state_failures_are_logged_by_kind_without_details(
    make_app: AppFactory, email_sender: CapturingEmailSender, caplog: pytest.LogCaptureFixture
) -> None:
    storage = FailingFlowStateStorage()
    app = make_app(config={**PAGES_CONFIG, "WTF_CSRF_ENABLED": False}, storage=storage)
    from faroe_flask import create_pages_blueprint

    app.register_blueprint(create_pages_blueprint())
    client = app.test_client()

    def errors() -> list[str]:
        found = [r.getMessage() for r in caplog.records if r.name == "faroe_flask" and r.levelname == "ERROR"]
        caplog.clear()
        return found

    assert client.post("/account/signup", data={"email_address": EMAIL}).status_code == 302
    storage.failing = frozenset({"delete"})  # a new state is written; the old one stays behind
    caplog.clear()
    assert client.post("/account/signup", data={"email_address": "second@example.com"}).status_code == 302
    assert errors() == ["deleting the pages' flow state failed: ConnectionError"]
    storage.failing = frozenset({"get"})
    assert client.get("/account/signup/verify").status_code == 503
    assert errors() == ["reading the pages' flow state failed: ConnectionError"]
    storage.failing = frozenset({"add"})
    assert client.post("/account/signup", data={"email_address": "third@example.com"}).status_code == 503
    assert errors() == ["writing the pages' flow state failed: ConnectionError"]
    storage.failing = frozenset()
    # Starting the third sign-up ended the second before its state could not be kept.
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"
    assert errors() == []


@pytest.mark.parametrize("token", ["", 5, ["t"], {"t": "t"}])
def test_a_state_without_a_usable_token_is_no_flow(make_app: AppFactory, token: object) -> None:
    app = pages_app(make_app, WTF_CSRF_ENABLED=False)
    ran: list[str] = []

    def observe(action: str, arguments: dict[str, str], run: Any) -> Any:
        ran.append(action)
        return run(action, arguments)

    storage_of(app)  # the server exists
    with app.app_context():
        current_faroe.server.add_action_observer(observe)
    client = app.test_client()
    plant(app, client, "h" * 43, seal("h" * 43, planted({"signup_token": token, "signup_decoy": token,
                                                         "signup_email": "a@example.com"})))
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"
    assert client.post("/account/signout").headers["Location"] == "/"
    assert ran == []  # no flow to end on the server


def test_the_pages_settings_are_found_only_in_a_request_to_the_pages(http_app: Flask) -> None:
    from faroe_flask.flask.pages_settings import DEFAULT_SECURITY_HEADERS, current_pages

    with http_app.test_request_context("/account/signin"):
        settings = current_pages().settings
        assert settings.generic_responses is False and settings.flow_state_lifetime == 1800
        assert dict(settings.security_headers) == dict(DEFAULT_SECURITY_HEADERS)
    with http_app.test_request_context("/elsewhere"), pytest.raises(RuntimeError) as outside:
        current_pages()
    assert str(outside.value) == "not a request to a Faroe pages blueprint"


def test_ending_one_flow_keeps_the_others_and_no_change_keeps_the_handle(
    make_app: AppFactory, email_sender: CapturingEmailSender
) -> None:
    app = pages_app(make_app, WTF_CSRF_ENABLED=False)
    client = app.test_client()

    def handle() -> object:
        with client.session_transaction() as session:
            return session.get(FLOW_KEY)

    assert client.post("/account/signup", data={"email_address": "other@example.com"}).status_code == 302
    client.post("/account/signup/verify", data={"code": email_sender.last("signup_code")["code"]})
    client.post("/account/signup/password", data={"password": PASSWORD})
    client.post("/account/signout")
    assert client.post("/account/reset", data={"email_address": "other@example.com"}).status_code == 302
    before = handle()
    assert client.post("/account/signup/cancel").headers["Location"] == "/"  # no sign-up to end
    assert handle() == before  # nothing changed, nothing written
    assert client.post("/account/signup", data={"email_address": EMAIL}).status_code == 302
    assert client.post("/account/signup", data={"email_address": EMAIL}).status_code == 302  # ends the first
    assert client.post("/account/signup/cancel").headers["Location"] == "/"
    assert client.get("/account/reset/verify").status_code == 200  # the reset goes on
    assert client.get("/account/signup/verify").headers["Location"] == "/account/signup"


def test_a_reset_state_without_its_address_names_none(http_app: Flask) -> None:
    client = http_app.test_client()
    plant(http_app, client, "h" * 43, seal("h" * 43, planted({"reset_decoy": "a@example.com",
                                                               "reset_started_at": "1e12"})))
    page = client.get("/account/reset/verify")
    assert page.status_code == 200 and "We sent a temporary password to <strong></strong>." in page.get_data(as_text=True)
