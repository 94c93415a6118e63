"""Flask-Login on Faroe's sessions (the ``flask-login`` extra: ``pip install 'faroe-flask[flask-login]'``).

An application already written against Flask-Login keeps ``flask_login.current_user``,
``flask_login.login_required`` and its ``user_loader``; Faroe's session cookie becomes the one
source of truth for who is signed in::

    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_user(user_id):                    # called with the Faroe user's id
        return db.session.get(Account, user_id)

    faroe = Faroe(app)
    bridge_flask_login(login_manager, faroe)   # after the user_loader is registered

What ``bridge_flask_login`` does:

* Flask-Login loads the user from the request's Faroe session (a ``request_loader``), through
  the view glue's typed path: validated once per request, ``current_user`` loaded once.
* The application's own object: ``@faroe.user_loader`` when registered, else Flask-Login's
  ``user_loader`` called with the Faroe user's id (``faroe_user.id``). If your user ids are not
  Faroe's (an integer key beside a ``faroe_user_id`` column), register ``@faroe.user_loader``
  instead, which receives the whole ``FaroeUser``. ``faroe_flask.current_user`` and
  ``flask_login.current_user`` are then the same object.
* Flask-Login's own identity (the ``_user_id`` in Flask's session cookie, the remember-me cookie)
  no longer signs anyone in: its ``user_loader`` is replaced by one that answers from the Faroe
  session only, so a stale ``_user_id`` or remember cookie is ignored. Sign in with Faroe
  (``start_session`` after ``complete_signin``); ``flask_login.login_user`` alone signs no one in
  on the next request (a warning is logged when it is called without a Faroe session).
* ``flask_login.logout_user()`` ends the Faroe session (``delete_session``) and clears its cookie.
* ``session_protection`` is turned off: it guards Flask's cookie, which no longer carries the
  identity (Faroe's cookie is HttpOnly, Secure and SameSite, and its session ends on the server).

Flask-Login's ``fresh_login_required`` relies on its ``_fresh`` flag, which request-loaded users
never have: use ``faroe_flask.fresh_login_required`` for recent-sign-in checks.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

try:
    from flask_login import user_logged_in, user_logged_out
except ModuleNotFoundError as missing:  # pragma: no cover - the extra is installed in tests
    if missing.name != "flask_login":
        raise
    raise ImportError(
        "the Flask-Login bridge needs Flask-Login: pip install 'faroe-flask[flask-login]'"
    ) from None

from flask import Flask, has_request_context

from .views import end_session, get_current_session, get_current_user, get_session_token

if TYPE_CHECKING:
    from .extension import Faroe

__all__ = ["bridge_flask_login"]

_logger = logging.getLogger("faroe_flask")

#: The login managers bridged (Flask-Login's signals are sent for every app).
_BRIDGED: weakref.WeakSet[Any] = weakref.WeakSet()


def bridge_flask_login(login_manager: Any, faroe: Faroe) -> None:
    """Make ``login_manager`` (a ``flask_login.LoginManager``) load its users from Faroe's
    sessions (see the module text). Call it once, after its ``user_loader`` is registered."""
    app_loader = login_manager.user_callback
    if faroe.load_user is None and app_loader not in (None, _user_from_faroe_by_id):
        # Without either loader, current_user is the FaroeUser itself.

        def load_by_id(faroe_user: Any) -> Any:
            return app_loader(faroe_user.id)

        faroe.load_user = load_by_id
    _BRIDGED.add(login_manager)
    login_manager.user_loader(_user_from_faroe_by_id)
    login_manager.request_loader(_user_from_faroe)
    login_manager.session_protection = None
    user_logged_out.connect(_end_faroe_session, weak=False)
    user_logged_in.connect(_warn_without_faroe_session, weak=False)


def _user_from_faroe(_request: Any = None) -> Any:
    """Flask-Login's ``request_loader``: the user of the request's Faroe session, or ``None``."""
    user = get_current_user()
    return user if user.is_authenticated else None


def _user_from_faroe_by_id(_user_id: str) -> Any:
    """Flask-Login's ``user_loader`` (Flask's session, the remember cookie): whatever id they
    hold, the answer is the Faroe session's user."""
    return _user_from_faroe()


def _is_bridged(app: Flask) -> bool:
    return getattr(app, "login_manager", None) in _BRIDGED and has_request_context()


def _end_faroe_session(app: Flask, **_extra: Any) -> None:
    """``flask_login.logout_user()``: end this request's Faroe session and clear its cookie."""
    if _is_bridged(app) and get_session_token() is not None:
        end_session()


def _warn_without_faroe_session(app: Flask, **_extra: Any) -> None:
    if _is_bridged(app) and get_current_session() is None:
        _logger.warning(
            "flask_login.login_user without a Faroe session: the user is signed in for this "
            "request only (sign in with Faroe and start_session)"
        )
