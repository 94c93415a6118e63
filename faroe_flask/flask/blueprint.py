"""The action invocation endpoint as a Flask blueprint (foundations.md F2.1).

``create_blueprint()`` returns a blueprint with one URL, ``<url_prefix>`` (default ``/faroe``):

* ``POST``: 200 ``application/json`` with the action result for every accepted body (action
  errors included), 400 with an empty body for every rejected one, 413 above
  ``FAROE_MAX_REQUEST_BYTES``, 401 when authentication fails, 429 with ``Retry-After`` when the
  client reached a per-client limit, 403 / 503 when the action needs a captcha and the token is
  missing or refused / could not be checked (``faroe_flask.flask.guard``). Every non-200 answer
  has an empty body. The ``Content-Type`` is not read.
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
from werkzeug.exceptions import HTTPException

from ..core.interfaces import InvalidActionInvocationRequestError

if TYPE_CHECKING:
    from .extension import FaroeState

__all__ = ["create_blueprint"]

_logger = logging.getLogger("faroe_flask")

_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


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
        state.rejections.record(401, "unauthorized", "not authorised")
        response = _answer(state, 401)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    body = _read_body(state.endpoint.max_request_bytes)
    if body is None:
        state.rejections.record(413, "too_large", "body too large")
        return _answer(state, 413)
    guard = state.guard
    try:
        result = state.server.resolve_action_invocation_request(
            body,
            blocklist=state.endpoint.blocklist,
            allowlist=state.endpoint.allowlist,
            admit=guard.admit_endpoint if guard is not None else None,
        )
    except InvalidActionInvocationRequestError as rejection:
        # The reason names what is wrong, never a value from the body; logged summarised.
        state.rejections.record(400, "bad_request", str(rejection))
        return _answer(state, 400)
    except HTTPException as refusal:  # a per-client limit or the captcha (already recorded)
        response = _answer(state, refusal.code or 400)
        retry_after = getattr(refusal, "retry_after", None)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
            if state.endpoint.cors_allowed_origins:
                response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        return response
    return _answer(state, 200, result)


def _read_body(limit: int) -> bytes | None:
    """The request body, or ``None`` when it is larger than ``limit`` bytes.

    Reads at most ``limit + 1`` bytes whatever the client sends (a chunked body has no length,
    and is read through Werkzeug's stream).
    """
    length = request.content_length
    if length is not None:
        if length > limit:
            return None
        # The server hands over exactly the declared bytes: read them in one call.
        body: bytes = request.environ["wsgi.input"].read(length)
        return body
    stream = request.stream
    body = stream.read(limit + 1)
    while len(body) <= limit:
        more = stream.read(limit + 1 - len(body))
        if not more:
            return body
        body += more
    return None


class _EndpointResponse(Response):
    """A response with no ``Content-Type`` unless one is given (the empty 204/400/401/413)."""

    default_mimetype = None


def _answer(state: FaroeState, status: int, body: str = "") -> Response:
    headers = [("Content-Type", "application/json")] if status == 200 else []
    endpoint = state.endpoint
    origins = endpoint.cors_allowed_origins
    if origins:
        if "*" in origins:
            headers.append(("Access-Control-Allow-Origin", "*"))
        else:
            origin = request.headers.get("Origin")
            if origin is not None and origin in origins:
                headers.append(("Access-Control-Allow-Origin", origin))
            headers.append(("Vary", "Origin"))
        if endpoint.cors_allowed_headers:
            headers.append(("Access-Control-Allow-Headers", endpoint.cors_allowed_headers))
        if status == 204:
            headers.append(("Access-Control-Allow-Methods", "POST, OPTIONS"))
    return _EndpointResponse(body.encode("utf-8"), status=status, headers=headers)
