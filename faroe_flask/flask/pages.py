"""Ready-made account pages: an optional blueprint with every account flow.

    from faroe_flask.flask.pages import create_pages_blueprint
    app.register_blueprint(create_pages_blueprint())          # /account/...

Nothing is served unless the blueprint is registered. It needs the ``Faroe`` extension on the app
and ``SECRET_KEY`` (Flask's signed session keeps the CSRF token and the handle of the flow state,
which is kept on the server: ``pages_state``). Pages are server-rendered from
``faroe/pages/<page>.html`` (an app's own ``templates/faroe/pages/...`` wins), work without
JavaScript, and every POST carries a CSRF token. Every answer carries the security headers of
``FAROE_PAGES_SECURITY_HEADERS``; Flask's session cookie follows ``FAROE_SESSION_COOKIE_SECURE``
and is rotated when who is signed in changes (``pages_session``). docs/pages-security.md explains
each choice. The entry forms follow the extension's hooks (``faroe_flask.flask.hooks``): sign-in
and reset take "email address or username" when the application has an ``identifier_resolver``,
and the sign-up form carries its ``signup_fields`` (``pages_forms``, ``pages_signup``).

Endpoints (relative to the blueprint's name): ``signup``, ``signup_verify``, ``signup_resend``,
``signup_password``, ``signup_fields``, ``signup_cancel``, ``signin``, ``signout``, ``reset``, ``reset_verify``,
``reset_password``, ``reset_cancel``, ``account``, ``email``, ``email_verify``, ``email_resend``,
``email_cancel``, ``password``, ``signout_everywhere``, ``delete``; ``static`` serves ``pages.css``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, request
from flask.sansio.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from .config import PAGES_DEFAULTS, ConfigError
from .pages_limits import register_limit_pages

try:
    from .pages_account import register_account_pages
    from .pages_auth import register_auth_pages
    from ..core.decoys import AttemptNoticeSender
    from .pages_session import add_security_headers, secure_session_cookie
    from .pages_settings import PagesSettings, PagesState, register
    from .pages_signup import register_signup_pages
    from .pages_state import FlowStateUnavailable
    from .pages_support import csrf_is_valid, csrf_token, render_page
except ModuleNotFoundError as missing:  # pragma: no cover - the extra is installed in tests
    if missing.name != "flask_wtf":
        raise
    raise ImportError(
        "the Faroe account pages need Flask-WTF: pip install 'faroe-flask[pages]'"
    ) from None
from .views import current_faroe_user

__all__ = ["create_pages_blueprint", "PAGES_DEFAULTS"]

_PACKAGE = Path(__file__).resolve().parent.parent



def create_pages_blueprint(name: str = "faroe_pages", url_prefix: str = "/account") -> Blueprint:
    """A new pages blueprint; register it once per name (``app.register_blueprint(...)``)."""
    blueprint = Blueprint(
        name,
        __name__,
        url_prefix=url_prefix.rstrip("/") or None,
        template_folder=str(_PACKAGE / "templates"),
        static_folder=str(_PACKAGE / "static" / "faroe"),
        static_url_path="/static",
    )
    blueprint.record(_check_app)
    blueprint.before_request(_check_csrf)
    blueprint.after_request(add_security_headers)
    blueprint.register_error_handler(FlowStateUnavailable, _unavailable)
    register_signup_pages(blueprint)
    register_auth_pages(blueprint)
    register_account_pages(blueprint)
    register_limit_pages(blueprint)
    return blueprint


def _check_app(setup: BlueprintSetupState) -> None:
    app = setup.app
    if "faroe" not in app.extensions:
        raise RuntimeError("initialise the Faroe extension before registering the pages blueprint")
    if not app.config.get("SECRET_KEY"):
        raise ConfigError("the account pages need SECRET_KEY (Flask's signed session)")
    state = app.extensions["faroe"]
    signin_endpoint = f"{setup.name_prefix}.{setup.name}.signin".lstrip(".")
    if state.views.login_view is None:
        # ``login_required`` views (the pages' own and the app's) send people to this sign-in.
        state.views = dataclasses.replace(state.views, login_view=signin_endpoint)
    for key, value in PAGES_DEFAULTS.items():
        app.config.setdefault(key, dict(value) if isinstance(value, Mapping) else value)
    settings = PagesSettings.from_config(app.config)
    if settings.generic_responses and not isinstance(state.server.email_sender, AttemptNoticeSender):
        raise ConfigError(
            "FAROE_PAGES_GENERIC_RESPONSES needs an email sender with send_signup_attempt_notification "
            "and send_user_password_reset_attempt_notification (TemplateEmailSender has them)"
        )
    full_name = f"{setup.name_prefix}.{setup.name}".lstrip(".")
    register(app, full_name, PagesState(settings))
    secure_session_cookie(app, state.views.cookie_secure)
    # App-wide, so that the app's own templates can extend ``faroe/pages/base.html``.
    app.context_processor(functools.partial(_template_context, full_name))


def _check_csrf() -> ResponseReturnValue | None:
    if request.method != "POST" or csrf_is_valid(request.form.get("csrf_token")):
        return None
    return render_page("csrf", status=400)


def _unavailable(error: FlowStateUnavailable) -> ResponseReturnValue:
    return render_page("unavailable", status=503)


def _template_context(name: str) -> dict[str, Any]:
    """``pages`` is the blueprint's name, for ``url_for(pages + '.signin')``."""
    return {
        "csrf_token": csrf_token,
        "current_user": current_faroe_user,  # Faroe's own user, whatever the app's loader returns
        "site_name": current_app.config.get("FAROE_PAGES_SITE_NAME"),
        "pages": name,
    }


