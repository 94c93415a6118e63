"""Closing the connections an app's Faroe parts hold: ``faroe.close(app)`` or
``current_faroe.close()``.

For one app, each part that has a ``close()`` method is closed once:

* ``SQLStorage`` / ``SQLUserStore``: ``engine.dispose()`` closes the engine's idle pooled
  connections and the connections its statement runner keeps (SQLite removes its ``-wal`` and
  ``-shm`` files when the last connection to the database closes); the engine the extension built
  from ``FAROE_DATABASE_URL`` is disposed too;
* ``RedisStorage``: its client's connection pool;
* ``UserServerClient``: its HTTP connections;
* ``FlaskMailEmailSender``: waits, at most its deadline, for the SMTP helper threads still sending.
* the rejection log: writes the summary of the rejections it held back (``faroe_flask.flask.rejections``).

A part whose ``close`` fails is logged (the exception's type) and the others are still closed.
Nothing is torn down for good: a part used again reconnects. An application with its own engine
(``SQLUserStore(engine, ...)``) shares it with Faroe's store, so closing Faroe disposes that engine
too, which SQLAlchemy allows at any time (the connections in use are left alone).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .extension import FaroeState

__all__ = ["close_state"]

_logger = logging.getLogger("faroe_flask")


def close_state(state: FaroeState) -> None:
    """Close the parts of one app's Faroe (see the module text)."""
    server = state.server
    done: set[int] = set()
    for part in (state.rejections, server.storage, server.user_store, server.email_sender, state.engine):
        if part is None or id(part) in done:
            continue
        done.add(id(part))
        close = getattr(part, "close", None) or getattr(part, "dispose", None)
        if not callable(close):
            continue
        try:
            close()
        except Exception as exc:  # noqa: BLE001 - the other parts are still closed
            _logger.error("closing the Faroe %s failed: %s", type(part).__name__, type(exc).__name__)


def close_app(app: Any) -> None:
    """``close_state`` for the app's Faroe, if the app has one (the pytest plugin calls this)."""
    state = getattr(app, "extensions", {}).get("faroe")
    if state is not None:
        close_state(state)
