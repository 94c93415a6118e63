"""A Flask blueprint that serves any ``UserStore`` as a user server (user-server.md U9).

This lets a Faroe server elsewhere (this package's ``Server`` with a ``UserServerClient``, or the
Go reference) use the users of a Flask app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Union

from flask import Blueprint, Request, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..bearer import bearer_matches, secret_digest
from ..core.strict_json import dump_compact
from ..core.credentials import generate_id
from ..core.envelope import parse_json_object
from ..core.interfaces import (
    InvalidActionInvocationRequestError,
    UserEmailAddressAlreadyUsedError,
    UserNotFoundError,
    UserStore,
)
from ..client.transport import is_token_secret
from ..flask.rejections import RejectionLog
from .protocol import ACTION_ARGUMENTS, decode_bytes, encode_user, is_int32

__all__ = ["user_server_blueprint", "DEFAULT_MAX_REQUEST_BYTES"]

_logger = logging.getLogger("faroe_flask.user_server")

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024

UserStoreSource = Union[UserStore, Callable[[], UserStore]]


class _Rejected(Exception):
    """The request is answered with HTTP 400 and an empty body."""


def _read_arguments(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """U9 item 1: ``action`` a known name, ``arguments`` an object holding every argument with
    the right JSON type. Bytes arguments are decoded here. Other members are ignored."""
    action = document.get("action")
    if not isinstance(action, str):
        raise _Rejected("action missing or not a string")
    arguments = document.get("arguments")
    if not isinstance(arguments, dict):
        raise _Rejected("arguments missing or not an object")
    specification = ACTION_ARGUMENTS.get(action)
    if specification is None:
        raise _Rejected("unknown action")
    values: dict[str, Any] = {}
    for name, kind in specification:
        value = arguments.get(name)
        if kind == "int32":
            if not is_int32(value):
                raise _Rejected(f"argument {name} missing or not an int32")
            values[name] = value
            continue
        if not isinstance(value, str):
            raise _Rejected(f"argument {name} missing or not a string")
        if kind == "bytes":
            try:
                values[name] = decode_bytes(value)
            except ValueError:
                raise _Rejected(f"argument {name} is not base64") from None
        else:
            values[name] = value
    return action, values


def _run(store: UserStore, action: str, a: dict[str, Any]) -> dict[str, Any]:
    """Call the store; return ``values``. Store exceptions propagate."""
    if action == "create_user":
        user = store.create_user(
            a["email_address"], a["password_hash"], a["password_hash_algorithm_id"], a["password_salt"]
        )
        return {"user": encode_user(user)}
    if action == "get_user":
        return {"user": encode_user(store.get_user(a["user_id"]))}
    if action == "get_user_by_email_address":
        return {"user": encode_user(store.get_user_by_email_address(a["email_address"]))}
    if action == "update_user_email_address":
        store.update_user_email_address(
            a["user_id"], a["email_address"], a["user_email_address_counter"]
        )
    elif action == "update_user_password_hash":
        store.update_user_password_hash(
            a["user_id"],
            a["password_hash"],
            a["password_hash_algorithm_id"],
            a["password_salt"],
            a["user_password_hash_counter"],
        )
    elif action == "increment_user_sessions_counter":
        store.increment_user_sessions_counter(a["user_id"], a["user_sessions_counter"])
    elif action == "delete_user":
        store.delete_user(a["user_id"])
    else:  # pragma: no cover - _read_arguments only lets the seven names through
        raise _Rejected("unknown action")
    return {}


def user_server_blueprint(
    user_store: UserStoreSource,
    *,
    secret: str | None = None,
    authenticate: Callable[[Request], bool] | None = None,
    name: str = "faroe_user_server",
    url_prefix: str = "/faroe-user-server",
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    rejection_log_interval: float = 60.0,
) -> Blueprint:
    """A blueprint serving ``POST <url_prefix>`` as a user-server action invocation endpoint.

    * ``user_store``: any ``UserStore``, or a zero-argument callable returning one (resolved at
      every request, e.g. to reach a store the app builds in ``init_app``).
    * Authentication: ``secret`` requires ``Authorization: Bearer <secret>`` (constant-time
      compare); ``authenticate(request) -> bool`` replaces it with your own check (an exception
      in it counts as ``False``). Failure: 401, empty body. With neither, a warning is logged:
      the endpoint gives direct access to user data and must then be reachable by Faroe only.
    * A body that is not a valid request (not one JSON object, repeated member names, unknown
      action, missing or mistyped argument, bad base64, counter outside int32): 400, empty
      body. Bodies over ``max_request_bytes``: 413. A 400 is logged at INFO with its reason (never
      a value from the body), the first of each reason in ``rejection_log_interval`` seconds; the
      rest are summed up in one line at the end of the interval
      (``faroe_flask.flask.rejections.RejectionLog``), so a flood cannot flood the log.
    * Everything else is 200 with a result (U3): store ``UserNotFoundError`` and
      ``UserEmailAddressAlreadyUsedError`` become ``user_not_found`` and
      ``email_address_already_used``; any other exception becomes ``internal_error`` and is
      logged (type and message only; never an argument).
    """
    if secret is not None and authenticate is not None:
        raise ValueError("pass either secret or authenticate, not both")
    if secret is not None and not is_token_secret(secret):
        raise ValueError("secret must be a non-empty string of visible ASCII characters")
    if max_request_bytes < 1:
        raise ValueError("max_request_bytes must be positive")
    expected_digest = secret_digest(secret) if secret is not None else None
    rejections = RejectionLog(rejection_log_interval, logger=_logger, subject="user server")
    if secret is None and authenticate is None:
        _logger.warning(
            "the user server endpoint %s has no authentication: restrict it to the Faroe server",
            url_prefix or "/",
        )

    def resolve_store() -> UserStore:
        if isinstance(user_store, UserStore):
            return user_store
        return user_store()

    blueprint = Blueprint(name, __name__, url_prefix=url_prefix or None)

    def is_authenticated() -> bool:
        if expected_digest is not None:
            return bearer_matches(request.headers.get("Authorization"), expected_digest)
        if authenticate is not None:
            try:
                return bool(authenticate(request))
            except Exception:  # noqa: BLE001 - fail closed
                _logger.exception("the user server authenticate callable raised")
                return False
        return True

    def endpoint() -> Response:
        if not is_authenticated():
            return Response(status=401, headers={"WWW-Authenticate": "Bearer"})
        length = request.content_length
        if length is not None and length > max_request_bytes:
            return Response(status=413)
        try:
            body = request.stream.read(max_request_bytes + 1)
        except RequestEntityTooLarge:  # the app's MAX_CONTENT_LENGTH
            return Response(status=413)
        except Exception as exc:  # noqa: BLE001 - an unreadable body is a bad request
            rejections.record(400, "bad_request", f"unreadable body ({type(exc).__name__})")
            return Response(status=400)
        if len(body) > max_request_bytes:
            return Response(status=413)
        try:
            action, arguments = _read_arguments(parse_json_object(body))
        except (_Rejected, InvalidActionInvocationRequestError) as rejection:
            # The reason names what is wrong, never a value from the body.
            rejections.record(400, "bad_request", str(rejection))
            return Response(status=400)
        invocation_id = generate_id()
        result: dict[str, Any]
        try:
            values = _run(resolve_store(), action, arguments)
            result = {"ok": True, "action_invocation_id": invocation_id, "values": values}
        except UserNotFoundError:
            result = {"ok": False, "action_invocation_id": invocation_id, "error_code": "user_not_found"}
        except UserEmailAddressAlreadyUsedError:
            result = {
                "ok": False,
                "action_invocation_id": invocation_id,
                "error_code": "email_address_already_used",
            }
        except Exception as exc:  # noqa: BLE001 - U9 item 8: anything else is internal_error
            _logger.error(
                "user server action %s failed (invocation %s): %s: %s",
                action,
                invocation_id,
                type(exc).__name__,
                exc,
            )
            result = {"ok": False, "action_invocation_id": invocation_id, "error_code": "internal_error"}
        try:
            payload = dump_compact(result)
        except Exception as exc:  # noqa: BLE001 - e.g. a store returned a string it cannot encode
            _logger.error(
                "user server action %s: cannot encode the result (invocation %s): %s",
                action,
                invocation_id,
                type(exc).__name__,
            )
            payload = dump_compact(
                {"ok": False, "action_invocation_id": invocation_id, "error_code": "internal_error"}
            )
        return Response(payload, status=200, mimetype="application/json")

    rule = "" if url_prefix else "/"
    blueprint.add_url_rule(rule, "endpoint", endpoint, methods=["POST"])
    return blueprint
