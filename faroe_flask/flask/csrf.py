"""Flask-WTF's ``CSRFProtect`` and the Faroe endpoint (docs/csrf.md).

``CSRFProtect(app)`` checks a CSRF token on every POST of the app, the Faroe endpoint's included,
which would then answer every action with Flask-WTF's 400 "The CSRF token is missing". The
endpoint needs no such token: it reads no cookie (its callers authenticate with
``FAROE_ENDPOINT_SECRET`` in an ``Authorization`` header, which a browser never adds to another
site's request, and pass tokens in the JSON body), so a forged cross-site request carries nothing
that acts for a user. ``install`` exempts it, whichever of ``CSRFProtect(app)`` and ``Faroe(app)``
comes first: at once when ``CSRFProtect`` is there already, otherwise at the app's first request
(a ``before_request`` function that runs before ``CSRFProtect``'s, since it was added earlier; it
then takes itself out of the app's list, so later requests pay nothing). Without Flask-WTF
installed there is nothing to do.
"""

from __future__ import annotations

import importlib.util

from flask import Flask

from .blueprint import invoke_endpoint

__all__ = ["install"]


def _exempt(app: Flask) -> bool:
    """Exempt the endpoint from the app's ``CSRFProtect``; whether there was one."""
    csrf = app.extensions.get("csrf")
    if csrf is None or not callable(getattr(csrf, "exempt", None)):
        return False
    csrf.exempt(invoke_endpoint)
    return True


def install(app: Flask) -> None:
    """Called by ``Faroe.init_app``."""
    if _exempt(app) or importlib.util.find_spec("flask_wtf") is None:
        return

    def exempt_from_csrf() -> None:
        _exempt(app)
        # Replaced, not changed in place: a request running now iterates the old list.
        functions = app.before_request_funcs.get(None)
        if isinstance(functions, list):
            app.before_request_funcs[None] = [f for f in functions if f is not exempt_from_csrf]

    app.before_request(exempt_from_csrf)
