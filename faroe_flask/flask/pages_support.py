"""What every account page needs: CSRF checks, same-site ``next`` targets, rendering and errors.

* **CSRF**: Flask-WTF's signed double-submit token (``flask_wtf.csrf``). Every form carries
  ``csrf_token``; every POST to the pages is checked before its view runs. An app that already
  uses ``CSRFProtect`` gets the same token (one per session), so both checks agree.
  ``WTF_CSRF_ENABLED = False`` turns the check off, as for the rest of Flask-WTF.
* **next**: read with ``views.next_url`` (a path on this site only); anything else falls back
  to the home URL.
* **Flow tokens** (signup, password reset, email change) are kept on the server
  (``pages_state``): never in a URL, a form field or a cookie.
"""

from __future__ import annotations

from typing import Any, cast

from flask import current_app, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import ValidationError, generate_csrf, validate_csrf

from ..core.envelope import ActionError, ActionResult
from .deletion import user_deletion_refused
from .pages_forms import resolves_identifiers
from .pages_messages import INVALID_FIELDS, message_for
from .pages_settings import current_pages
from .pages_state import MAX_NEXT_CHARACTERS
from .views import next_url

__all__ = [
    "csrf_token",
    "csrf_is_valid",
    "invoke",
    "render_page",
    "show_error",
    "show_message",
    "flash_error",
    "form_value",
    "generic",
    "home_url",
    "next_target",
]


def csrf_token() -> str:
    return cast(str, generate_csrf())


def csrf_is_valid(submitted: str | None) -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(submitted)
    except ValidationError:
        return False
    return True


# Rendering ------------------------------------------------------------------------------------

#: HTTP status of a page that shows an error (others: 422).
_ERROR_STATUS = {"rate_limited": 429, "internal_conflict": 409, "internal_error": 503, "user_deletion_refused": 409}


def invoke(action: str, **arguments: str) -> ActionResult:
    """Run an action in-process on the current app's Faroe server."""
    from .extension import current_faroe

    return current_faroe.invoke(action, arguments)


def render_page(template: str, *, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("generic_responses", current_pages().settings.generic_responses)
    context.setdefault("field_errors", {})
    return render_template(f"faroe/pages/{template}.html", **context), status


def _message(code: str, page: str) -> str:
    overrides = current_app.config.get("FAROE_PAGES_MESSAGES")
    return message_for(code, page, overrides, identifier=resolves_identifiers(page))


def show_message(
    template: str,
    page: str,
    code: str,
    *,
    reference: str | None = None,
    invalid_fields: tuple[str, ...] | None = None,
    field_errors: dict[str, str] | None = None,
    **context: Any,
) -> ResponseReturnValue:
    """The form again, with the sentence for ``code`` (and ``reference``, an invocation id a
    person can quote); ``field_errors`` are sentences shown beside their fields."""
    field_errors = field_errors or {}
    if invalid_fields is None:
        invalid_fields = tuple(field_errors) or INVALID_FIELDS.get(code, ())
    return render_page(
        template,
        status=_ERROR_STATUS.get(code, 422),
        error=_message(code, page),
        error_code=code,
        invalid_fields=invalid_fields,
        field_errors=field_errors,
        reference=reference,
        **context,
    )


def show_error(template: str, page: str, result: ActionError, **context: Any) -> ResponseReturnValue:
    """The form again, with the sentence for the result's error code (and, for an error on
    our side, the invocation id a person can quote). A deletion the database refused has its
    own sentence (``user_deletion_refused``)."""
    code = result.error_code or "internal_error"
    reference = result.action_invocation_id if code == "internal_error" else None
    if user_deletion_refused(result):
        code = "user_deletion_refused"
    return show_message(template, page, code, reference=reference, **context)


def flash_error(result: ActionError | str, page: str = "") -> None:
    """Flash the sentence of a result's error code (or of a code)."""
    code = result if isinstance(result, str) else result.error_code or "internal_error"
    flash(_message(code, page), "error")


def form_value(name: str, *, strip: bool = True) -> str:
    """A submitted form field as a string (``""`` when absent); passwords are not stripped."""
    value = request.form.get(name, "")
    return value.strip() if strip else value


def home_url() -> str:
    return str(current_app.config.get("FAROE_PAGES_HOME_URL") or "/")


def next_target() -> str:
    """The request's same-site ``next`` (``views.next_url``), or the home URL when it is absent,
    foreign or too long to keep with a flow."""
    target = next_url(home_url())
    return target if len(target) <= MAX_NEXT_CHARACTERS else home_url()


def generic() -> bool:
    """Whether the pages answer in generic-responses mode."""
    return current_pages().settings.generic_responses
