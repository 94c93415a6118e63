"""Hypothesis strategies for the "no body causes a server error" property tests.

Random bytes almost never form a valid request, so a property over them alone would pass even if
every action crashed. ``faroe_invocations`` and ``user_server_invocations`` build requests that
name a real action and carry its arguments with the right JSON types most of the time (with
plausible values among random ones), sometimes wrongly typed or with extra members; the tests
count how many examples reached an action, so that they show the actions really ran.
``request_noise`` is the rest: random bytes and text, and any JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from faroe_flask.core.server import ACTION_TABLE
from faroe_flask.user_server.protocol import ACTION_ARGUMENTS, INT32_MAX, INT32_MIN

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)

_PLAUSIBLE_STRINGS = [
    "",
    "user@example.com",
    "User@Example.com",
    "a" * 24 + "." + "b" * 24,
    "a" * 24,
    "ABCD2345",
    "correct horse battery staple",
    "password123",
]


@st.composite
def faroe_invocations(draw: st.DrawFn, known: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """``(action, arguments)`` for the Faroe endpoint; ``known`` adds strings to the plausible
    argument values (for example the tokens of records the test created, to reach past the
    token checks)."""
    if draw(st.integers(0, 9)) > 0:  # nine in ten name a real action
        action = draw(st.sampled_from(sorted(ACTION_TABLE)))
    else:
        action = draw(st.text(max_size=20))
    names = ACTION_TABLE[action].arguments if action in ACTION_TABLE else ()
    strings = st.sampled_from([*known, *_PLAUSIBLE_STRINGS]) | st.text(max_size=60)
    arguments: dict[str, Any] = {}
    for name in names:
        if draw(st.integers(0, 9)) > 0:  # nine in ten arguments have the right type
            arguments[name] = draw(strings)
        elif draw(st.booleans()):
            arguments[name] = draw(json_values)
    arguments.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return action, arguments


_int32s = st.integers(INT32_MIN, INT32_MAX)
_base64 = st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode("ascii"))


@st.composite
def user_server_invocations(draw: st.DrawFn, known: Sequence[str] = ()) -> bytes:
    """A user-server request body (user-server.md U5) as bytes; ``known`` as for
    ``faroe_invocations`` (for example the id and email address of an existing user)."""
    action = draw(st.sampled_from(sorted(ACTION_ARGUMENTS)))
    strings = st.sampled_from([*known, *_PLAUSIBLE_STRINGS]) | st.text(max_size=60)
    arguments: dict[str, Any] = {}
    for name, kind in ACTION_ARGUMENTS[action]:
        if draw(st.integers(0, 9)) == 0:  # one in ten arguments is missing or of another type
            if draw(st.booleans()):
                arguments[name] = draw(json_values)
            continue
        if kind == "int32":
            arguments[name] = draw(st.sampled_from([0, 1]) | _int32s)
        elif kind == "bytes":
            arguments[name] = draw(_base64)
        else:
            arguments[name] = draw(strings)
    arguments.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return json.dumps({"action": action, "arguments": arguments}).encode("utf-8")


def invocation_body(invocation: tuple[str, dict[str, Any]]) -> bytes:
    """The JSON body of an ``(action, arguments)`` call."""
    action, arguments = invocation
    return json.dumps({"action": action, "arguments": arguments}).encode("utf-8")


#: Bodies that are almost never a valid call: random bytes and text, and any JSON.
request_noise: st.SearchStrategy[bytes] = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode("utf-8")),
)
