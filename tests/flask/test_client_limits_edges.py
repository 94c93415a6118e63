"""Edges of the per-client limits found by mutation testing: the rate syntax, the names of limits
and clients, the bounds of the IPv6 prefix, and what the guard does with each answer."""

from __future__ import annotations

from typing import Any

import pytest

from faroe_flask.flask.client_limits import ClientLimit, ClientLimits, parse_rate
from faroe_flask.flask.config import ConfigError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 10 / minute ", (10, 6)), ("10 PER 2 MINUTES", (10, 12)), ("2/second", None), ("1/1 hour", (1, 3600)),
     ([4, 15], (4, 15)), ("OFF", None), (" none ", None), ("", None), (False, None), ("0", None)],
)
def test_more_rates(value: Any, expected: Any) -> None:
    if expected is None and value == "2/second":
        with pytest.raises(ConfigError, match="^K: the period divided by the count"):
            parse_rate(value, "K")
        return
    assert parse_rate(value, "K") == expected


@pytest.mark.parametrize("value", [True, (3,), (1, 2, 3), (1.0, 5), (3, False), "x10/minute", "10/minute!", "0/minute"])
def test_more_unusable_rates(value: Any) -> None:
    with pytest.raises(ConfigError, match="^K"):
        parse_rate(value, "K")


@pytest.mark.parametrize("name", ["", "Email", "a" * 41, "e mail", "e.mail"])
def test_a_limits_name_is_checked(name: str) -> None:
    with pytest.raises(ValueError, match="1-40 lowercase"):
        ClientLimit.of(name, ["create_signup"], 1, 1)


def test_a_limits_bucket_is_named_after_it() -> None:
    limit = ClientLimit.of("a" * 40, ["create_signup", "create_signin"], 3, 7)
    assert limit.actions == {"create_signup", "create_signin"}
    assert (limit.bucket.prefix, limit.bucket.capacity, limit.bucket.refill_interval) == ("client." + "a" * 40 + ".", 3, 7)
    assert ClientLimit.of("x-1_", [], 1, 1).name == "x-1_"


@pytest.mark.parametrize("prefix", [0, 129, -1])
def test_the_ipv6_prefix_is_between_1_and_128(prefix: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 128"):
        ClientLimits([], prefix)


def test_limits_by_action() -> None:
    one = ClientLimit.of("one", ["create_signup", "create_signin"], 1, 1)
    two = ClientLimit.of("two", ["create_signin"], 1, 1)
    limits = ClientLimits([one, two], 1)
    assert limits.ipv6_prefix == 1 and ClientLimits([], 128).ipv6_prefix == 128
    assert limits.limits == (one, two)
    assert limits.by_action == {"create_signup": (one,), "create_signin": (one, two)}
    assert limits.actions == {"create_signup", "create_signin"}
