"""An opt-in health check: ``GET <FAROE_HEALTH_PATH>`` and ``flask faroe check``.

The check reads one storage key that never exists and looks up a user id that never exists, so
it goes through the real tables (missing tables fail it too) with the engine's bounded waits
(``FAROE_DATABASE_STATEMENT_TIMEOUT``, ``FAROE_DATABASE_CONNECT_TIMEOUT``). The route answers
``200 {"status":"ok"}`` or ``503 {"status":"unavailable","failed":[...]}``; failures are logged
with the exception type only when the state changes. It is its own URL rule: the action
endpoint is untouched. With ``FAROE_OPERATIONS_TOKEN`` set it needs
``Authorization: Bearer <token>`` (401 otherwise).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING

from flask import Flask, Response, current_app

from ..core.interfaces import FaroeError, StorageEntryNotFoundError, UserNotFoundError

if TYPE_CHECKING:
    from .extension import FaroeState

__all__ = ["check_health", "register_health_route"]

_logger = logging.getLogger("faroe_flask")

_MISSING_KEY = "faroe-health-check.missing"
_MISSING_USER_ID = "faroe-health-check-missing-user"


def check_health(state: FaroeState, *, detail: bool = False) -> dict[str, str | None]:
    """``{"storage": None | "<ExceptionType>", "user_store": ...}``: ``None`` means healthy.

    ``detail`` (for the CLI, not the HTTP route) adds the message of Faroe's own exceptions,
    which never hold a secret or an address (the SQL parts describe database errors safely).
    """
    failures: dict[str, str | None] = {"storage": None, "user_store": None}

    def describe(exc: Exception) -> str:
        if detail and isinstance(exc, FaroeError):
            return f"{type(exc).__name__}: {exc}"
        return type(exc).__name__

    try:
        state.server.storage.get(_MISSING_KEY)
    except StorageEntryNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - any failure is unhealthy
        failures["storage"] = describe(exc)
    try:
        state.server.user_store.get_user(_MISSING_USER_ID)
    except UserNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001
        failures["user_store"] = describe(exc)
    return failures


class _HealthView:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._healthy = True

    def __call__(self) -> Response:
        state: FaroeState = current_app.extensions["faroe"]
        failures = check_health(state)
        failed = [part for part, error in failures.items() if error is not None]
        with self._lock:
            changed, self._healthy = self._healthy != (not failed), not failed
        if changed and failed:
            _logger.warning(
                "faroe health check failed: %s",
                ", ".join(f"{part} ({failures[part]})" for part in failed),
            )
        elif changed:
            _logger.info("faroe health check passes again")
        body: dict[str, object] = {"status": "unavailable", "failed": failed} if failed else {"status": "ok"}
        response = Response(json.dumps(body, separators=(",", ":")), status=503 if failed else 200)
        response.headers["Content-Type"] = "application/json"
        response.headers["Cache-Control"] = "no-store"
        return response


def register_health_route(app: Flask, path: str, endpoint_path: str) -> None:
    """Add ``GET``/``HEAD`` ``path`` to ``app`` (never the action endpoint's own path)."""
    if path.rstrip("/") == endpoint_path.rstrip("/"):
        from .config import ConfigError

        raise ConfigError("FAROE_HEALTH_PATH must differ from the endpoint's path")
    from .operations import token_protected

    app.add_url_rule(
        path, endpoint="faroe_health", view_func=token_protected(app, _HealthView()), methods=["GET"]
    )
