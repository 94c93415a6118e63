"""The account pages' answers to a per-client limit (429) and to a failed captcha (403/503).

The pages run their actions through ``current_faroe.invoke``, which raises
``ClientLimitExceeded`` or a ``CaptchaError`` before the action runs; these handlers, registered
on the pages blueprint, answer with a page in the pages' style (``faroe/pages/limited.html``,
``faroe/pages/captcha.html``, overridable as the others) and the matching status and
``Retry-After``.
"""

from __future__ import annotations

import math

from flask import Blueprint, current_app, render_template, request
from werkzeug.wrappers import Response

from .captcha import CaptchaRejected, CaptchaUnavailable
from .client_limits import ClientLimitExceeded

__all__ = ["register_limit_pages", "wait_in_words"]


def wait_in_words(seconds: float) -> str:
    """``6`` -> ``"6 seconds"``, ``75`` -> ``"about a minute"``, ``600`` -> ``"about 10 minutes"``."""
    seconds = max(1, math.ceil(seconds))
    if seconds == 1:
        return "a second"
    if seconds < 60:
        return f"{seconds} seconds"
    if seconds < 90:
        return "about a minute"
    if seconds < 3570:
        return f"about {round(seconds / 60)} minutes"
    if seconds < 5400:
        return "about an hour"
    return f"about {round(seconds / 3600)} hours"


def _back() -> str:
    """Where "try again" leads: this page when it has a form to show, else the home URL."""
    rule = request.url_rule
    if rule is not None and rule.methods is not None and "GET" in rule.methods:
        return request.path
    return str(current_app.config.get("FAROE_PAGES_HOME_URL") or "/")


def _limited(error: ClientLimitExceeded) -> Response:
    body = render_template("faroe/pages/limited.html", wait=wait_in_words(error.seconds), back=_back())
    return Response(body, status=429, headers={"Retry-After": str(error.seconds)}, mimetype="text/html")


def _captcha_rejected(error: CaptchaRejected) -> Response:
    body = render_template("faroe/pages/captcha.html", reason=error.reason, unavailable=False, back=_back())
    return Response(body, status=403, mimetype="text/html")


def _captcha_unavailable(error: CaptchaUnavailable) -> Response:
    body = render_template("faroe/pages/captcha.html", reason=error.reason, unavailable=True, back=_back())
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    return Response(body, status=503, headers=headers, mimetype="text/html")


def register_limit_pages(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(ClientLimitExceeded, _limited)
    blueprint.register_error_handler(CaptchaRejected, _captcha_rejected)
    blueprint.register_error_handler(CaptchaUnavailable, _captcha_unavailable)
