"""Sign-in by "email address or username", and the application's own sign-up fields, for the
application's views (and the account pages): the glue around the hooks of
``faroe_flask.flask.hooks``. Everything runs actions in-process (``current_faroe.invoke``) in the
current app context, and returns the ``ActionResult`` of the last action it ran.

A sign-in view that accepts a username or an email address::

    from faroe_flask import start_session
    from faroe_flask.flask.identity import sign_in

    result = sign_in(request.form["identifier"], request.form["password"])
    if result.ok:
        start_session(result)
        return redirect(next_url())
    error = result.error_code          # user_not_found, incorrect_password, rate_limited, ...

A sign-up that collects a username (declared in ``faroe.signup_fields``)::

    fields, errors = read_signup_fields(request.form)          # first step, with the address
    ...                                                        # keep ``fields`` with the flow
    try:
        result = complete_signup(signup_token, fields)         # last step
    except InvalidSignupFields as invalid:
        errors = invalid.errors                                # {field name or "": sentence}

* ``resolve_identifier(identifier)``: the account's email address, through the application's
  ``identifier_resolver`` (without one, the identifier itself); ``None``: no such account.
* ``start_signin(identifier)`` / ``start_password_reset(identifier)``: ``create_signin`` /
  ``create_user_password_reset`` for the identifier's address. An identifier the resolver knows
  nothing of answers ``user_not_found`` without running an action (its ``action_invocation_id``
  is then a fresh id that names no invocation); the per-client limits and captcha of the action
  apply to it all the same, before the resolver runs.
* ``sign_in(identifier, password)``: ``start_signin``, ``verify_signin_user_password`` (a wrong
  password deletes the signin) and ``complete_signin``; hand a success to ``start_session``.
* ``read_signup_fields(form)``: the declared fields' values (stripped) and an error sentence for
  each unacceptable one (required, ``max_length``, the field's ``validate``).
* ``complete_signup(signup_token, fields)``: checks the fields again (``InvalidSignupFields``
  before anything is created), runs ``complete_signup``, then hands the fields to the
  application's ``signup_fields_receiver`` in this request (also when the user was created but
  its session was not: ``session_not_created``). A receiver that raises is logged (its
  exception type), the new session and user are deleted again, and ``InvalidSignupFields`` with
  the form-level error ``""`` is raised: the sign-up has to start again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.credentials import generate_id
from ..core.envelope import ActionError, ActionResult
from .extension import current_faroe

if TYPE_CHECKING:
    from .hooks import FaroeHooks, SignupField

__all__ = [
    "SIGNUP_NOT_FINISHED",
    "InvalidSignupFields",
    "complete_signup",
    "read_signup_fields",
    "resolve_identifier",
    "sign_in",
    "start_password_reset",
    "start_signin",
]

_logger = logging.getLogger("faroe_flask")

#: The form-level error (key ``""``) when the application could not take the sign-up fields.
SIGNUP_NOT_FINISHED = "Your account could not be finished. Please sign up again."
#: When a field's ``validate`` raised.
_NOT_CHECKED = "This could not be checked just now. Please try again."


class InvalidSignupFields(ValueError):
    """The application's sign-up fields are not acceptable: ``errors`` maps a field's name (or
    ``""`` for the whole form) to a sentence for the person signing up."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("sign-up fields not acceptable: " + ", ".join(sorted(errors)))
        self.errors = dict(errors)


def _hooks() -> FaroeHooks:
    return current_faroe.extension


def _invoke(action: str, **arguments: str) -> ActionResult:
    return current_faroe.invoke(action, arguments)


# Identifiers ------------------------------------------------------------------------------------


def resolve_identifier(identifier: str) -> str | None:
    """The email address of the account ``identifier`` names (the application's resolver), or
    the identifier itself when the application has none; ``None``: no such account."""
    resolver = _hooks()._identifier_resolver
    return identifier if resolver is None else resolver(identifier)


def _with_identifier(action: str, identifier: str) -> ActionResult:
    # The client's limits and captcha first, as for an unknown address: the resolver's query
    # runs only for an admitted request, and an unknown identifier costs the client's budget.
    current_faroe.admit(action)
    try:
        email_address = resolve_identifier(identifier)
    except Exception as exc:  # noqa: BLE001 - what a person typed must not become a 500
        _logger.error("the Faroe identifier resolver raised %s", type(exc).__name__)
        return ActionError(generate_id(), "internal_error")
    if email_address is None:
        return ActionError(generate_id(), "user_not_found")
    return current_faroe.server.invoke(action, {"user_email_address": email_address})  # admitted above


def start_signin(identifier: str) -> ActionResult:
    """``create_signin`` for the account ``identifier`` names."""
    return _with_identifier("create_signin", identifier)


def start_password_reset(identifier: str) -> ActionResult:
    """``create_user_password_reset`` for the account ``identifier`` names."""
    return _with_identifier("create_user_password_reset", identifier)


def sign_in(identifier: str, password: str) -> ActionResult:
    """Sign in with an identifier and a password; a success is ``complete_signin``'s result
    (give it to ``start_session``), a failure the first failing step's."""
    created = start_signin(identifier)
    if not created.ok:
        return created
    token = str(created.values["signin_token"])
    verified = _invoke("verify_signin_user_password", signin_token=token, password=password)
    if not verified.ok:
        _invoke("delete_signin", signin_token=token)  # best effort: it expires in 10 minutes
        return verified
    return _invoke("complete_signin", signin_token=token)


# Sign-up fields ---------------------------------------------------------------------------------


def _problem(field: SignupField, value: str) -> str | None:
    if not value:
        return f"{field.label} is required." if field.required else None
    if len(value) > field.max_length:
        return f"{field.label} must be at most {field.max_length} characters long."
    if field.validate is None:
        return None
    try:
        return field.validate(value)
    except Exception as exc:  # noqa: BLE001 - reported on the form, not as a 500
        _logger.error("the validate of the Faroe sign-up field %s raised %s", field.name, type(exc).__name__)
        return _NOT_CHECKED


def read_signup_fields(form: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The values of the application's sign-up fields in ``form`` (a request's form, or the
    values kept from it), stripped, and an error sentence per unacceptable field (empty: none)."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for field in _hooks().signup_fields:
        raw = form.get(field.name)
        value = raw.strip() if isinstance(raw, str) else ""
        values[field.name] = value
        problem = _problem(field, value)
        if problem is not None:
            errors[field.name] = problem
    return values, errors


def complete_signup(signup_token: str, fields: Mapping[str, Any] | None = None) -> ActionResult:
    """``complete_signup`` with the application's sign-up fields (see the module text)."""
    values, errors = read_signup_fields(fields or {})
    if errors:
        raise InvalidSignupFields(errors)
    receiver = _hooks()._signup_fields_receiver
    if receiver is None:
        return _invoke("complete_signup", signup_token=signup_token)
    # The address, in case the user is created but its session is not (session_not_created):
    # the fields still go to the receiver, for the user the person will sign in to.
    email_address = _signup_email_address(signup_token)
    result = _invoke("complete_signup", signup_token=signup_token)
    session_token: str | None = None
    if result.ok:
        user_id = str(result.values["session"]["user_id"])
        session_token = str(result.values["session_token"])
    elif result.error_code == "session_not_created" and email_address is not None:
        try:
            user_id = current_faroe.user_store.get_user_by_email_address(email_address).id
        except Exception as exc:  # noqa: BLE001 - the sign-up already answers an error
            _logger.error("finding the new user without a session failed: %s", type(exc).__name__)
            return result
    else:
        return result
    try:
        receiver(user_id, values)
    except Exception as exc:  # noqa: BLE001 - undone below, then reported on the form
        _logger.error(
            "the Faroe sign-up fields receiver raised %s; the new user is deleted again",
            type(exc).__name__,
        )
        _undo_signup(session_token, user_id)
        raise InvalidSignupFields({"": SIGNUP_NOT_FINISHED}) from None
    return result


def _signup_email_address(signup_token: str) -> str | None:
    read = current_faroe.server.invoke("get_signup", {"signup_token": signup_token})
    return str(read.values["signup"]["email_address"]) if read.ok else None


def _undo_signup(session_token: str | None, user_id: str) -> None:
    try:
        if session_token is not None:
            _invoke("delete_session", session_token=session_token)
        current_faroe.user_store.delete_user(user_id)
    except Exception as exc:  # noqa: BLE001 - logged; the sign-up already answers an error
        _logger.error("deleting the half-made user again failed: %s", type(exc).__name__)
