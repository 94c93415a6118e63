"""The action invocation endpoint as a Flask blueprint (foundations.md F2.1).

``create_blueprint()`` returns a blueprint with one URL, ``<url_prefix>`` (default ``/faroe``):

* ``POST``: 200 ``application/json`` with the action result for every accepted body (action
  errors included), 400 with an empty body for every rejected one, 413 above
  ``FAROE_MAX_REQUEST_BYTES``, 401 when authentication fails. The ``Content-Type`` is not read.
* ``OPTIONS``: 204 with the CORS headers (no authentication: browsers send none in a preflight).
* any other method: 404, as the reference's local server.

The view reads its settings from ``current_app.extensions["faroe"]``, so ``Faroe.init_app``
must run before the blueprint is registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, request
from flask.sansio.app import App
from flask.sansio.blueprints import BlueprintSetupState

from ..core.interfaces import InvalidActionInvocationRequestError

if TYPE_CHECKING:
    from .extension import FaroeState

__all__ = ["create_blueprint"]

_logger = logging.getLogger("faroe_flask")

_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]
_READ_CHUNK = 16 * 1024


def create_blueprint(name: str = "faroe", url_prefix: str | None = None) -> Blueprint:
    """A new endpoint blueprint. ``url_prefix`` defaults to the app's ``FAROE_URL_PREFIX``.

    ``""`` or ``"/"`` serves the endpoint at ``/``. Register it on an app whose ``Faroe``
    extension is already initialised; each registration logs a warning when the endpoint has
    neither ``FAROE_ENDPOINT_SECRET`` nor an ``authenticate`` callable.
    """
    blueprint = Blueprint(name, __name__)
    blueprint.record(_on_register(url_prefix))
    return blueprint


def _on_register(url_prefix: str | None) -> Callable[[BlueprintSetupState], None]:
    def register(setup: BlueprintSetupState) -> None:
        state = _state(setup.app)
        prefix = state.url_prefix if url_prefix is None else url_prefix.rstrip("/")
        if setup.url_prefix is not None:
            # ``app.register_blueprint(bp, url_prefix=...)`` wins, as for any blueprint.
            prefix = setup.url_prefix.rstrip("/")
        rule = "/" + prefix.strip("/") if prefix.strip("/") else "/"
        setup.app.add_url_rule(
            rule,
            endpoint=f"{setup.name_prefix}.{setup.name}.invoke".lstrip("."),
            view_func=invoke_endpoint,
            methods=["POST", "OPTIONS", *_OTHER_METHODS],
            provide_automatic_options=False,
        )
        if state.endpoint_is_open:
            _logger.warning(
                "the Faroe endpoint %s is open: set FAROE_ENDPOINT_SECRET or pass authenticate= "
                "unless something in front of it restricts access",
                rule,
            )

    return register


def _state(app: App) -> FaroeState:
    state = app.extensions.get("faroe")
    if state is None:
        raise RuntimeError("initialise the Faroe extension (Faroe(app) or init_app) before registering its blueprint")
    return state  # type: ignore[no-any-return]


def invoke_endpoint() -> Response:
    state = _state(current_app)
    if request.method == "OPTIONS":
        return _answer(state, 204)
    if request.method != "POST":
        return Response(b"", status=404)
    if not state.is_authorised(request):
        response = _answer(state, 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    body = _read_body(state.endpoint.max_request_bytes)
    if body is None:
        return _answer(state, 413)
    try:
        result = state.server.resolve_action_invocation_request(
            body, blocklist=state.endpoint.blocklist, allowlist=state.endpoint.allowlist
        )
    except InvalidActionInvocationRequestError as rejection:
        # The reason names what is wrong, never a value from the body.
        _logger.info("faroe request rejected with 400: %s", rejection)
        return _answer(state, 400)
    return _answer(state, 200, result)


def _read_body(limit: int) -> bytes | None:
    """The request body, or ``None`` when it is larger than ``limit`` bytes."""
    length = request.content_length
    if length is not None and length > limit:
        return None
    stream = request.stream
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        return None
    return b"".join(chunks)


def _answer(state: FaroeState, status: int, body: str = "") -> Response:
    response = Response(body.encode("utf-8"), status=status)
    if status == 200:
        response.headers["Content-Type"] = "application/json"
    else:
        del response.headers["Content-Type"]
    origins = state.endpoint.cors_allowed_origins
    if origins:
        origin = request.headers.get("Origin")
        if "*" in origins:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin is not None and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
        if "*" not in origins:
            response.vary.add("Origin")
        if state.endpoint.cors_allowed_headers:
            response.headers["Access-Control-Allow-Headers"] = state.endpoint.cors_allowed_headers
        if status == 204:
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    return response
