"""The application's own user model as ``current_user``: a loader, as Flask-Login's ``user_loader``.

    faroe = Faroe(app)

    @faroe.user_loader
    def load_user(faroe_user: FaroeUser) -> Account | None:
        return db.session.get(Account, faroe_user.id)     # or build it from faroe_user alone

The loader is called at most once per request, lazily: the first time the request asks for
``current_user`` (or ``login_required`` runs, which then requires the loader to return a user).
It gets the ``FaroeUser`` of the request's valid session (``id``, ``email_address``,
``display_name``, ``record``: the user store's ``User``) and returns the application's object, or
``None`` for "not signed in" (``current_user`` is then ``ANONYMOUS_USER``). The object must have
``is_authenticated`` (and should have ``is_active``, ``is_anonymous`` and ``get_id()``): inherit
``UserMixin`` (this one or Flask-Login's, they are the same). A loader that raises is logged and
the request is not signed in, as with a failing user store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["UserLoader", "UserMixin", "load_app_user"]

_logger = logging.getLogger("faroe_flask")

#: ``loader(faroe_user) -> the application's user, or None``.
UserLoader = Callable[[Any], Any]
L = TypeVar("L", bound=UserLoader)


class UserMixin:
    """``is_authenticated``, ``is_active``, ``is_anonymous`` and ``get_id()`` for an application's
    user class (``get_id`` returns ``str(self.id)``), as Flask-Login's ``UserMixin``."""

    __slots__ = ()

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)  # type: ignore[attr-defined]


class NoAuthenticationFlag(TypeError):
    """The loader's object has no ``is_authenticated``: a programming error, raised loudly."""


def load_app_user(loader: UserLoader, faroe_user: Any) -> Any | None:
    """``loader(faroe_user)``, checked: ``None`` when it returned ``None`` or raised (logged)."""
    try:
        user = loader(faroe_user)
    except Exception:  # noqa: BLE001 - a broken loader answers "not signed in", as the store does
        _logger.exception("the Faroe user loader raised; the request is not signed in")
        return None
    if user is not None and not hasattr(user, "is_authenticated"):
        raise NoAuthenticationFlag(
            f"the Faroe user loader returned a {type(user).__name__} without is_authenticated: "
            "inherit faroe_flask.UserMixin (or flask_login.UserMixin)"
        )
    return user
