"""Flask's session around the pages: rotated when who is signed in changes, Secure by default,
and the pages' security headers.

* ``rotate_session()`` ends every flow of the browser (``pages_flows.end_all_flows``), clears
  Flask's session and mints a new CSRF token at once, so the cookie is re-issued with nothing
  of the old one: a CSRF token minted before (by whoever planted or copied the old cookie) is
  refused after. The pages call it at sign-in, at the end of sign-up and of a password reset,
  and at sign-out (also everywhere, and after deleting the account). Whatever else the
  application kept in Flask's session is dropped too.
* ``secure_session_cookie(app, faroe_cookie_secure)``: Flask's session cookie follows
  ``FAROE_SESSION_COOKIE_SECURE`` unless the application set ``SESSION_COOKIE_SECURE=True``.
  Flask's default config holds ``False``, so an explicit ``False`` cannot be told from the
  default: both follow ``FAROE_SESSION_COOKIE_SECURE``. That is never the weaker choice: with
  ``FAROE_SESSION_COOKIE_SECURE`` on, the ``faroe_session`` cookie needs HTTPS anyway, and
  plain-HTTP development sets ``FAROE_SESSION_COOKIE_SECURE=False`` for both cookies.
* ``add_security_headers(response)``: the headers of ``FAROE_PAGES_SECURITY_HEADERS`` on every
  answer of the blueprint; a header the view set itself (``Cache-Control`` on ``pages.css``) is
  kept.
"""

from __future__ import annotations

from flask import current_app, g, session
from flask.sansio.app import App
from werkzeug.wrappers import Response

from .pages_flows import end_all_flows
from .pages_settings import current_pages
from .pages_support import csrf_token

__all__ = ["add_security_headers", "rotate_session", "secure_session_cookie"]


def rotate_session(finished: str | None = None) -> None:
    """``finished``: a flow that has just completed (its record is gone already)."""
    end_all_flows(finished)
    session.clear()
    field_name = current_app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    g.pop(field_name, None)  # Flask-WTF caches the signed token of this request on ``g``
    csrf_token()  # the new raw token goes into the cleared session: a new cookie


def secure_session_cookie(app: App, faroe_cookie_secure: bool) -> None:
    if not app.config.get("SESSION_COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = faroe_cookie_secure


def add_security_headers(response: Response) -> Response:
    for name, value in current_pages().settings.security_headers.items():
        if name not in response.headers:
            response.headers[name] = value
    return response
