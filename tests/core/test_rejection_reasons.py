"""Rejection reasons are drawn from a closed set of messages: never a value from the body.

The Flask endpoint and the user server log these reasons, so this is what keeps secrets out of
those log lines.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faroe_flask import InvalidActionInvocationRequestError, MemoryStorage, MemoryUserStore, Server
from faroe_flask.core.server import ACTION_TABLE
from faroe_flask.core.strength import StaticPasswordList

from ..conftest import FAST_TEMPORARY_ALGORITHM, FAST_USER_ALGORITHM, CapturingEmailSender

from .test_envelope import REJECTED_BODIES

_ARGUMENT = "|".join(sorted({re.escape(name) for entry in ACTION_TABLE.values() for name in entry.arguments}))
_JSON_SYNTAX = (
    r"Expecting (value|property name enclosed in double quotes|':' delimiter|',' delimiter)"
    r"|Extra data|Invalid control character at|Unterminated string starting at"
    r"|Invalid \\escape|Invalid \\uXXXX escape|Illegal trailing comma before end of (object|array)"
)
ALLOWED_REASONS = re.compile(
    "|".join(
        [
            rf"not a JSON document \(({_JSON_SYNTAX}) at character \d+\)",
            r"(NaN|Infinity|-Infinity) is not valid JSON",
            r"the JSON document is not an object",
            r"the JSON document is nested too deeply",
            r"repeated member name in a JSON object",
            r"a JSON string holds a lone surrogate",
            r"action missing or not a string",
            r"arguments missing or not an object",
            r"action not allowed",
            r"action blocked",
            r"unknown action",
            rf"argument ({_ARGUMENT}) missing or not a string",
            r"unreadable body",
            r"body must be str or bytes",
        ]
    )
)

MARKER = "s3cr3t-Marker"


@pytest.fixture(scope="module")
def server() -> Server:
    """Rejections happen before any part is used, so one in-memory server serves every backend."""
    return Server(
        storage=MemoryStorage(),
        user_store=MemoryUserStore(),
        email_sender=CapturingEmailSender(),
        user_password_hash_algorithms=[FAST_USER_ALGORITHM],
        temporary_password_hash_algorithm=FAST_TEMPORARY_ALGORITHM,
        password_strength_checker=StaticPasswordList(()),
    )

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([MARKER, "get_session", "x.y"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from([MARKER, "session_token", "password", "action"]), children, max_size=3),
    max_leaves=8,
)
_documents = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from([*ACTION_TABLE, MARKER, ""]) | _values,
        "arguments": st.dictionaries(
            st.sampled_from([name for entry in ACTION_TABLE.values() for name in entry.arguments] + [MARKER]),
            _values,
            max_size=4,
        )
        | _values,
    },
)


def _body(document: object, mangle: int, cut: int) -> bytes:
    text = json.dumps(document)
    if mangle == 1:  # a syntax error somewhere, next to the marker
        text = text[:cut] + MARKER + "\\q" + text[cut:]
    elif mangle == 2:
        text = text[:cut]
    return text.encode("utf-8")


def _reason(server: Server, body: bytes, **lists: object) -> str | None:
    try:
        server.resolve_action_invocation_request(body, **lists)  # type: ignore[arg-type]
    except InvalidActionInvocationRequestError as rejection:
        return str(rejection)
    return None


@pytest.mark.parametrize("body", REJECTED_BODIES)
def test_every_known_rejection_has_an_allowed_reason(server: Server, body: bytes) -> None:
    reason = _reason(server, body)
    assert reason is not None and ALLOWED_REASONS.fullmatch(reason), reason


@settings(max_examples=300, deadline=None)
@given(document=_documents, mangle=st.integers(0, 2), cut=st.integers(0, 200), listed=st.booleans())
def test_reasons_never_quote_the_body(server: Server, document: object, mangle: int, cut: int, listed: bool) -> None:
    lists = {"blocklist": {"get_session"}} if listed else {"allowlist": {"get_signup"}}
    reason = _reason(server, _body(document, mangle, cut), **lists)
    if reason is not None:
        assert ALLOWED_REASONS.fullmatch(reason), reason
        assert MARKER not in reason


@settings(max_examples=150, deadline=None)
@given(body=st.binary(max_size=512) | st.text(max_size=512).map(str.encode))
def test_reasons_for_arbitrary_bytes_are_allowed(server: Server, body: bytes) -> None:
    reason = _reason(server, body)
    if reason is not None:
        assert ALLOWED_REASONS.fullmatch(reason), reason
