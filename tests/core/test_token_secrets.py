"""A token's secret must match exactly (policy items 2 and 8), for every kind of record a token names.

The right id with any other secret is rejected with the kind's invalid-token error, deletes
nothing and logs nothing, and the right token keeps working: a case-changed secret, near misses,
secrets whose SHA-256 shares its first bytes with the right one's, and random secrets.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from faroe_flask import Server
from faroe_flask.core.credentials import LOWERCASE_ALPHABET

from ..conftest import CapturingEmailSender, CapturingErrorLogger
from .helpers import error, ok, sign_up
from .wrappers import PASSWORD_RESET, SESSION, secret_part, token_id

EMAIL = "user@example.com"


@dataclasses.dataclass(frozen=True)
class Kind:
    """A record named by a token, and the action that reads it."""

    prefix: str
    action: str
    argument: str
    error_code: str
    issue: Callable[[Server, CapturingEmailSender], str]


def _session(server: Server, email_sender: CapturingEmailSender) -> str:
    return sign_up(server, email_sender, EMAIL)[0]


def _signup(server: Server, email_sender: CapturingEmailSender) -> str:
    token: str = ok(server, "create_signup", email_address="new@example.com")["signup_token"]
    return token


def _signin(server: Server, email_sender: CapturingEmailSender) -> str:
    sign_up(server, email_sender, EMAIL)
    token: str = ok(server, "create_signin", user_email_address=EMAIL)["signin_token"]
    return token


def _password_reset(server: Server, email_sender: CapturingEmailSender) -> str:
    sign_up(server, email_sender, EMAIL)
    token: str = ok(server, "create_user_password_reset", user_email_address=EMAIL)["user_password_reset_token"]
    return token


KINDS = [
    pytest.param(Kind(SESSION, "get_session", "session_token", "invalid_session_token", _session), id="session"),
    pytest.param(Kind("aaai.", "get_signup", "signup_token", "invalid_signup_token", _signup), id="signup"),
    pytest.param(Kind("aaaj.", "get_signin", "signin_token", "invalid_signin_token", _signin), id="signin"),
    pytest.param(
        Kind(PASSWORD_RESET, "get_user_password_reset", "user_password_reset_token",
             "invalid_user_password_reset_token", _password_reset),
        id="password-reset",
    ),
]


@dataclasses.dataclass
class Issued:
    server: Server
    storage: Any
    kind: Kind
    token: str
    stored: tuple[bytes, int]

    def read(self, token: str) -> str | None:
        """The error code of reading the record with ``token``, ``None`` for a success."""
        if token == self.token:
            ok(self.server, self.kind.action, **{self.kind.argument: token})
            return None
        return error(self.server, self.kind.action, **{self.kind.argument: token})

    def assert_rejected_and_kept(self, secret: str) -> None:
        assert secret != secret_part(self.token)
        assert self.read(f"{token_id(self.token)}.{secret}") == self.kind.error_code
        assert self.storage.get(self.kind.prefix + token_id(self.token)) == self.stored


@pytest.fixture(params=KINDS)
def issued(request: pytest.FixtureRequest, server: Server, storage: Any, email_sender: CapturingEmailSender) -> Issued:
    kind: Kind = request.param
    token = kind.issue(server, email_sender)
    return Issued(server, storage, kind, token, storage.get(kind.prefix + token_id(token)))


def _shifted(secret: str) -> str:
    """``secret`` with every character replaced by the next one of the token alphabet."""
    return "".join(LOWERCASE_ALPHABET[(LOWERCASE_ALPHABET.index(char) + 1) % 32] for char in secret)


def _secret_sharing_hash_prefix(secret: str, length: int) -> str:
    """A 24-character secret of the token alphabet, not ``secret``, whose SHA-256 begins with the
    same ``length`` bytes as that of ``secret`` (about 256**length tries, at most 32**5)."""
    target = hashlib.sha256(secret.encode()).digest()[:length]
    base = _shifted(secret[:19])  # differs from secret in every position
    for tail in itertools.product(LOWERCASE_ALPHABET, repeat=5):
        candidate = base + "".join(tail)
        if hashlib.sha256(candidate.encode()).digest()[:length] == target:
            return candidate
    raise AssertionError("no candidate found")  # pragma: no cover - about e**-500 for two bytes


def test_a_case_changed_secret_is_rejected(issued: Issued, error_logger: CapturingErrorLogger) -> None:
    secret = secret_part(issued.token)
    letter = next(index for index, char in enumerate(secret) if char.isalpha())
    issued.assert_rejected_and_kept(secret.upper())
    issued.assert_rejected_and_kept(secret[:letter] + secret[letter].upper() + secret[letter + 1 :])
    assert issued.read(issued.token) is None
    assert error_logger.entries == []


def test_near_misses_are_rejected(issued: Issued, error_logger: CapturingErrorLogger) -> None:
    secret = secret_part(issued.token)
    near_misses = [
        "",
        secret[:-1],
        secret[1:],
        secret + "a",
        secret + " ",
        " " + secret,
        *(secret[:index] + _shifted(secret[index]) + secret[index + 1 :] for index in range(len(secret))),
        secret[::-1] if secret[::-1] != secret else secret + secret,
        secret.encode().hex()[:24],
        hashlib.sha256(secret.encode()).hexdigest(),
        _secret_sharing_hash_prefix(secret, 1),
        _secret_sharing_hash_prefix(secret, 2),
    ]
    for near_miss in near_misses:
        issued.assert_rejected_and_kept(near_miss)
    assert issued.read(issued.token) is None
    assert error_logger.entries == []


_secrets = st.one_of(
    st.text(alphabet=LOWERCASE_ALPHABET, min_size=24, max_size=24),  # the shape of a real secret
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="."), max_size=60),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=_secrets)
def test_random_wrong_secrets_are_rejected(issued: Issued, error_logger: CapturingErrorLogger, secret: str) -> None:
    assume(secret != secret_part(issued.token))
    issued.assert_rejected_and_kept(secret)
    assert error_logger.entries == []
