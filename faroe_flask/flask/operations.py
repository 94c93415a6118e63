"""``FAROE_OPERATIONS_TOKEN``: the health and metrics routes behind a bearer token.

Unset (the default), the two routes are open, as before: serve them on an internal address or
keep them from the proxy. Set, each needs ``Authorization: Bearer <token>`` (compared in
constant time) and answers an empty 401 otherwise, counted as a rejection.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import Flask, Response, current_app, request

from ..bearer import bearer_matches, secret_digest
from .config import ConfigError

__all__ = ["token_protected"]


def token_protected(app: Flask, view: Callable[[], Response]) -> Callable[[], Response]:
    """``view`` as is when ``FAROE_OPERATIONS_TOKEN`` is unset, else behind the token."""
    token = app.config.get("FAROE_OPERATIONS_TOKEN") or None
    if token is None:
        return view
    if not isinstance(token, str):
        raise ConfigError("FAROE_OPERATIONS_TOKEN must be a string")
    digest = secret_digest(token)

    @functools.wraps(view)
    def protected() -> Response:
        if bearer_matches(request.headers.get("Authorization"), digest):
            return view()
        state = current_app.extensions.get("faroe")
        if state is not None:
            state.rejections.record(401, "unauthorized", "operations route without its token")
        return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})

    return protected
