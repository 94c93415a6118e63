"""Edges of the per-client limits found by mutation testing: the rate syntax, the names of limits
and clients, the bounds of the IPv6 prefix, and what the guard does with each answer."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import render_template_string
from flask.testing import FlaskClient

from faroe_flask.core.ratelimit import BucketKind
from faroe_flask.flask.client_limits import (
    EMAIL_ACTIONS,
    PASSWORD_ACTIONS,
    ClientLimit,
    ClientLimits,
    ClientLimitSettings,
    client_key,
    client_limits_from_config,
    parse_rate,
)
from faroe_flask.flask.config import ConfigError
from faroe_flask.flask.extension import current_faroe
from faroe_flask.flask.guard import RequestGuard

from ..conftest import FakeClock
from .conftest import AppFactory


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 10 / minute ", (10, 6)), ("10 PER 2 MINUTES", (10, 12)), ("2/second", None), ("1/1 hour", (1, 3600)),
     ([4, 15], (4, 15)), ((1, 1), (1, 1)), ((1, 60), (1, 60)), ((60, 1), (60, 1)), ("OFF", None), (" none ", None), ("", None), (False, None), ("0", None)],
)
def test_more_rates(value: Any, expected: Any) -> None:
    if expected is None and value == "2/second":
        with pytest.raises(ConfigError, match=(
            '^K: the period divided by the count must be a whole number of seconds [(]one token comes back at a '
            'time[)], for example "10/minute", "30/minute", "100/hour"$'
        )):
            parse_rate(value, "K")
        return
    assert parse_rate(value, "K") == expected


@pytest.mark.parametrize("value", [True, (3,), (1, 2, 3), (1.0, 5), (3, False), "x10/minute", "10/minute!", "0/minute"])
def test_more_unusable_rates(value: Any) -> None:
    with pytest.raises(ConfigError, match="^K"):
        parse_rate(value, "K")


@pytest.mark.parametrize("name", ["", "Email", "a" * 41, "e mail", "e.mail"])
def test_a_limits_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="^a limit's name is 1-40 lowercase letters, digits, '-' or '_'$"):
        ClientLimit.of(name, ["create_signup"], 1, 1)


def test_a_limits_bucket_is_named_after_it() -> None:
    limit = ClientLimit.of("a" * 40, ["create_signup", "create_signin"], 3, 7)
    assert limit.actions == {"create_signup", "create_signin"}
    assert (limit.bucket.prefix, limit.bucket.capacity, limit.bucket.refill_interval) == ("client." + "a" * 40 + ".", 3, 7)
    assert ClientLimit.of("x-1_", [], 1, 1).name == "x-1_"


@pytest.mark.parametrize("prefix", [0, 129, -1])
def test_the_ipv6_prefix_is_between_1_and_128(prefix: int) -> None:
    with pytest.raises(ValueError, match="^ipv6_prefix must be between 1 and 128$"):
        ClientLimits([], prefix)


def test_limits_by_action() -> None:
    one = ClientLimit.of("one", ["create_signup", "create_signin"], 1, 1)
    two = ClientLimit.of("two", ["create_signin"], 1, 1)
    limits = ClientLimits([one, two], 1)
    assert limits.ipv6_prefix == 1 and ClientLimits([], 128).ipv6_prefix == 128
    assert ClientLimits([]).ipv6_prefix == 64 and ClientLimits([]).actions == frozenset()
    assert limits.limits == (one, two)
    assert limits.by_action == {"create_signup": (one,), "create_signin": (one, two)}
    assert limits.actions == {"create_signup", "create_signin"}


# The configuration ----------------------------------------------------------------------------


def _settings(**config: Any) -> ClientLimitSettings:
    defaults = {"FAROE_CLIENT_LIMITS": "on", "FAROE_CLIENT_EMAIL_LIMIT": "10/minute",
                "FAROE_CLIENT_PASSWORD_LIMIT": "30/minute", "FAROE_CLIENT_ADDRESS_HEADER": "Faroe-Client-Address",
                "FAROE_CLIENT_IPV6_PREFIX": 64}
    return client_limits_from_config({**defaults, **config})


def test_the_settings_build_both_limits() -> None:
    settings = _settings()
    assert settings.address_header == "Faroe-Client-Address"
    assert settings.limits is not None and settings.limits.ipv6_prefix == 64
    email, password = settings.limits.limits
    assert (email.name, email.actions, email.bucket) == ("email", EMAIL_ACTIONS, BucketKind("client.email.", 10, 6))
    assert (password.name, password.actions, password.bucket) == (
        "password", PASSWORD_ACTIONS, BucketKind("client.password.", 30, 2))
    only_password = _settings(FAROE_CLIENT_EMAIL_LIMIT=None, FAROE_CLIENT_IPV6_PREFIX=128).limits
    assert only_password is not None and [limit.name for limit in only_password.limits] == ["password"]
    assert only_password.ipv6_prefix == 128 and _settings(FAROE_CLIENT_IPV6_PREFIX=1).limits is not None


def test_no_limit_set_means_no_limits_and_none_means_on() -> None:
    assert _settings(FAROE_CLIENT_EMAIL_LIMIT="off", FAROE_CLIENT_PASSWORD_LIMIT=None).limits is None
    assert _settings(FAROE_CLIENT_LIMITS=None).limits is not None
    assert _settings(FAROE_CLIENT_LIMITS=True).limits is not None
    off = _settings(FAROE_CLIENT_LIMITS="no", FAROE_CLIENT_IPV6_PREFIX=0, FAROE_CLIENT_EMAIL_LIMIT="nonsense")
    assert off.limits is None and off.address_header == "Faroe-Client-Address"


@pytest.mark.parametrize("header", ["", None])
def test_no_address_header(header: Any) -> None:
    assert _settings(FAROE_CLIENT_ADDRESS_HEADER=header).address_header is None


@pytest.mark.parametrize(("key", "value"), [("FAROE_CLIENT_ADDRESS_HEADER", 7), ("FAROE_CLIENT_ADDRESS_HEADER", "X_Y"),
                                            ("FAROE_CLIENT_ADDRESS_HEADER", "X-Y\n"),
                                            ("FAROE_CLIENT_IPV6_PREFIX", 0), ("FAROE_CLIENT_IPV6_PREFIX", 129)])
def test_unusable_settings(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"^{key} must"):
        _settings(**{key: value})


# The doors --------------------------------------------------------------------------------------

SECRET = "client-limits-edges-secret"


def _signup(client: FlaskClient, email: str, address: str = "127.0.0.2", **headers: str) -> Any:
    body = json.dumps({"action": "create_signup", "arguments": {"email_address": email}})
    return client.post("/faroe", data=body, headers=headers, environ_base={"REMOTE_ADDR": address})


def test_a_forwarded_address_is_trimmed_and_a_bad_one_is_a_logged_400(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": SECRET, "FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})
    client = app.test_client()
    authorised = {"Authorization": f"Bearer {SECRET}"}
    assert _signup(client, "a@example.com", **authorised, **{"Faroe-Client-Address": "\t198.51.100.1 "}).status_code == 200
    assert _signup(client, "b@example.com", **authorised, **{"Faroe-Client-Address": "198.51.100.1"}).status_code == 429
    # An IPv6 end user (the form of the header that ip_address accepts) is limited by network.
    assert _signup(client, "c@example.com", **authorised, **{"Faroe-Client-Address": "2001:db8::1"}).status_code == 200
    assert _signup(client, "d@example.com", **authorised, **{"Faroe-Client-Address": "2001:db8::2"}).status_code == 429
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        bad = _signup(client, "e@example.com", **authorised, **{"Faroe-Client-Address": "198.51.100.1, 10.0.0.1"})
    assert bad.status_code == 400
    assert "faroe request rejected with 400: the Faroe-Client-Address header is not an IP address" in caplog.text
    rejections = app.extensions["faroe"].rejections
    assert rejections.totals == {(429, "client_limit:email"): 2, (400, "bad_request"): 1}


def test_the_guard_trusts_the_header_only_behind_authentication(make_app: AppFactory) -> None:
    assert make_app().extensions["faroe"].guard.address_header is None
    secured = make_app({"FAROE_ENDPOINT_SECRET": SECRET}).extensions["faroe"].guard
    assert secured.address_header == "Faroe-Client-Address"
    assert make_app({"FAROE_ENDPOINT_SECRET": SECRET, "FAROE_CLIENT_ADDRESS_HEADER": None}).extensions[
        "faroe"].guard.address_header is None


def test_a_retry_after_is_rounded_up_to_whole_seconds(make_app: AppFactory, clock: FakeClock) -> None:
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"}).test_client()
    assert _signup(client, "a@example.com").status_code == 200
    clock.advance(2.5)
    refused = _signup(client, "b@example.com")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "58"
    clock.advance(57)
    assert _signup(client, "c@example.com").headers["Retry-After"] == "1"


def test_an_escaping_refusal_is_werkzeugs_429_page(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})

    @app.post("/join")
    def join() -> str:
        current_faroe.invoke("create_signup", {"email_address": "x@example.com"})
        return "ok"

    client = app.test_client()
    assert client.post("/join").status_code == 200
    refused = client.post("/join")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "<p>Too many attempts from your address. Please wait and try again.</p>" in refused.get_data(as_text=True)


def test_the_rejection_log_interval_is_configured(make_app: AppFactory) -> None:
    assert make_app({"FAROE_REJECTION_LOG_INTERVAL": 7}).extensions["faroe"].rejections.interval == 7.0
    with pytest.raises(ConfigError, match="FAROE_REJECTION_LOG_INTERVAL"):
        make_app({"FAROE_REJECTION_LOG_INTERVAL": 0})


def test_no_guard_without_limits_or_captcha(make_app: AppFactory) -> None:
    app = make_app({"FAROE_CLIENT_EMAIL_LIMIT": None, "FAROE_CLIENT_PASSWORD_LIMIT": None})
    assert app.extensions["faroe"].guard is None
    with app.test_request_context():
        assert render_template_string("{{ faroe_captcha is defined }}") == "False"


def test_a_scope_is_cut_at_its_first_percent_sign() -> None:
    assert client_key("fe80::1%eth0%1") == client_key("fe80::1%") == "fe80::/64"
    assert client_key("203.0.113.7%eth0") == client_key("203.0.113.7%a%b") == "203.0.113.7"
    assert client_key("::ffff:203.0.113.7%1") == "203.0.113.7"
    assert client_key("fe80::1 %eth0") == client_key("%fe80::1") == "unknown"


def test_the_configured_ipv6_prefix_names_the_clients(make_app: AppFactory) -> None:
    client = make_app({"FAROE_CLIENT_EMAIL_LIMIT": "1/minute", "FAROE_CLIENT_IPV6_PREFIX": 48}).test_client()
    assert _signup(client, "a@example.com", "2001:db8:0:1::1").status_code == 200
    assert _signup(client, "b@example.com", "2001:db8:0:2::1").status_code == 429  # the same /48
    assert _signup(client, "c@example.com", "2001:db8:1::1").status_code == 200


def test_a_guard_trusts_no_header_unless_told(make_app: AppFactory) -> None:
    state = make_app().extensions["faroe"]
    assert RequestGuard(state.server, state.rejections, address_header="X-End-User").address_header is None
    trusted = RequestGuard(state.server, state.rejections, address_header="X-End-User", trust_address_header=True)
    assert trusted.address_header == "X-End-User" and trusted.actions == frozenset()
