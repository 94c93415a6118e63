"""Signals (blinker, as Flask's own) sent after an action succeeded.

Each is sent with the app as sender and the keyword arguments ``user_id``, ``session_id`` (the
session created, ended or used; never ``None`` for these eight) and ``action_invocation_id``.
Tokens, codes and passwords are never sent.

================================  ================================
signal                            after a successful
================================  ================================
``signup_completed``              ``complete_signup``
``signed_in``                     ``complete_signin``
``signed_out``                    ``delete_session``
``all_sessions_ended``            ``delete_all_sessions``
``email_address_changed``         ``complete_user_email_address_update``
``password_changed``              ``complete_user_password_update``
``password_reset``                ``complete_user_password_reset``
``user_deleted``                  ``complete_user_deletion``
================================  ================================

They fire for in-process calls (``current_faroe.invoke``, ``start_session``/``end_session``) and
for the HTTP endpoint alike: ``install`` adds an action observer to the engine, which costs
one dictionary look-up per action while no receiver is connected (a ``server=`` shared by
several apps sends once per app, each with its own app as sender). A receiver that raises is logged
(its exception type only) and the remaining receivers still run; the action's answer is
unchanged::

    from faroe_flask.flask.signals import signed_in

    @signed_in.connect_via(app)
    def remember_login(app, user_id, session_id, **extra):
        ...
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from blinker import Namespace, Signal
from flask import Flask

from ..core.credentials import parse_token
from ..core.envelope import ActionResult, ActionSuccess
from ..core.interfaces import StorageEntryNotFoundError
from ..core.records import Session
from ..core.server import RunAction, Server

__all__ = [
    "faroe_signals",
    "signup_completed",
    "signed_in",
    "signed_out",
    "all_sessions_ended",
    "email_address_changed",
    "password_changed",
    "password_reset",
    "user_deleted",
    "SIGNAL_FOR_ACTION",
]

_logger = logging.getLogger("faroe_flask")

faroe_signals = Namespace()

signup_completed: Signal = faroe_signals.signal("faroe.signup-completed")
signed_in: Signal = faroe_signals.signal("faroe.signed-in")
signed_out: Signal = faroe_signals.signal("faroe.signed-out")
all_sessions_ended: Signal = faroe_signals.signal("faroe.all-sessions-ended")
email_address_changed: Signal = faroe_signals.signal("faroe.email-address-changed")
password_changed: Signal = faroe_signals.signal("faroe.password-changed")
password_reset: Signal = faroe_signals.signal("faroe.password-reset")
user_deleted: Signal = faroe_signals.signal("faroe.user-deleted")

#: The action whose success sends each signal.
SIGNAL_FOR_ACTION: Mapping[str, Signal] = {
    "complete_signup": signup_completed,
    "complete_signin": signed_in,
    "complete_user_password_reset": password_reset,
    "delete_session": signed_out,
    "delete_all_sessions": all_sessions_ended,
    "complete_user_email_address_update": email_address_changed,
    "complete_user_password_update": password_changed,
    "complete_user_deletion": user_deleted,
}

def install(app: Flask, server: Server) -> None:
    """Called by ``Faroe.init_app``: send the signals for every action ``server`` runs."""

    def observe(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        signal = SIGNAL_FOR_ACTION.get(action)
        if signal is None or not signal.receivers:
            return run(action, arguments)
        before = _session_of(server, arguments)
        result = run(action, arguments)
        if result.ok:
            try:
                _send(app, signal, action, result, before)
            except Exception as exc:  # noqa: BLE001 - nothing here may change the answer
                _logger.error("sending the Faroe %s signal failed: %s", action, type(exc).__name__)
        return result

    server.add_action_observer(observe)


def _session_of(server: Server, arguments: Mapping[str, str]) -> tuple[str, str] | None:
    """``(session_id, user_id)`` of the session the token names, read before the action runs
    (``delete_session`` removes it). Used only if the action then succeeds, which proves the
    token; the secret is not checked here."""
    token = arguments.get("session_token")
    parsed = parse_token(token) if isinstance(token, str) else None
    if parsed is None:
        return None
    session_id = parsed[0]
    try:
        value, _ = server.storage.get(server.storage_key_prefix + Session.PREFIX + session_id)
        return session_id, Session.decode(value).user_id
    except StorageEntryNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - the action itself will report a broken storage
        _logger.warning("reading the session for a Faroe signal failed: %s", type(exc).__name__)
        return None


def _send(
    app: Flask,
    signal: Signal,
    action: str,
    result: ActionSuccess,
    before: tuple[str, str] | None,
) -> None:
    model = result.values.get("session")
    if isinstance(model, Mapping):
        session_id, user_id = str(model.get("id")), str(model.get("user_id"))
    elif before is not None:
        session_id, user_id = before
    else:
        _logger.warning("no session known for the %s signal; not sent", action)
        return
    for receiver in signal.receivers_for(app):
        try:
            receiver(
                app,
                user_id=user_id,
                session_id=session_id,
                action_invocation_id=result.action_invocation_id,
            )
        except Exception as exc:  # noqa: BLE001 - a receiver must not change the answer
            _logger.error(
                "a receiver of the Faroe %s signal raised %s (invocation %s)",
                action,
                type(exc).__name__,
                result.action_invocation_id,
            )
