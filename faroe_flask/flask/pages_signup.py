"""The sign-up pages: address and the application's own fields, the emailed code, a password;
signed in at the end.

The first form carries the application's ``Faroe.signup_fields`` after the address. They are read
and checked by ``identity.read_signup_fields`` (each error shown beside its field; nothing is
started, no email sent, while one is wrong), kept on the server with the flow, and handed to the
application's ``signup_fields_receiver`` by ``identity.complete_signup`` in the request that
creates the user, after a last check. Should that check fail (a username taken meanwhile), nothing
is created and the fields' page (``/signup/fields``) asks for them again; the sign-up goes on from
there. Should the receiver fail, the new user is deleted again and the sign-up starts over.

In generic-responses mode a taken address goes on as a decoy (``core.decoys``), and its owner is
told by email.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from ..core.decoys import start_signup_decoy
from ..core.envelope import ActionResult
from .extension import current_faroe
from .identity import InvalidSignupFields, complete_signup, read_signup_fields
from .pages_flows import drop_flow, end_flow, expired, has_flow, is_decoy, keep, restart, started_at, step
from .pages_forms import IDENTIFIER, entry_form
from .pages_session import rotate_session
from .pages_state import recall, recall_mapping, remember
from .pages_support import flash_error, form_value, generic, home_url, next_target, render_page, show_error, show_message
from .views import start_session

__all__ = ["SIGNUP_FIELDS_KEY", "register_signup_pages"]

#: Where the flow keeps the application's sign-up fields between its steps.
SIGNUP_FIELDS_KEY = "signup_fields"


def register_signup_pages(blueprint: Blueprint) -> None:
    for rule, view in (
        ("/signup", signup),
        ("/signup/verify", signup_verify),
        ("/signup/password", signup_password),
        ("/signup/fields", signup_fields),
    ):
        blueprint.add_url_rule(rule, view_func=view, methods=["GET", "POST"])
    blueprint.add_url_rule("/signup/resend", view_func=signup_resend, methods=["POST"])
    blueprint.add_url_rule("/signup/cancel", view_func=signup_cancel, methods=["POST"])


def signup() -> ResponseReturnValue:
    target = next_target()
    if request.method == "GET":
        return render_page("signup", **entry_form("signup", next=target))
    email_address = form_value(IDENTIFIER)
    # The client's limits and captcha come first: the application's checks (a query for a
    # username) run only for an admitted request.
    current_faroe.admit("create_signup")
    fields, errors = read_signup_fields(request.form)
    context = entry_form("signup", {IDENTIFIER: email_address, **fields}, next=target)
    if errors:
        return show_message("signup", "signup", "invalid_signup_fields", field_errors=errors, **context)
    end_flow("signup")  # starting a sign-up ends the one in progress
    result = current_faroe.server.invoke("create_signup", {"email_address": email_address})  # admitted above
    decoy = not result.ok and generic() and result.error_code == "email_address_already_used"
    if decoy:
        result = start_signup_decoy(current_faroe.server, email_address)
    if not result.ok:
        return show_error("signup", "signup", result, **context)
    kept: dict[str, Any] = {"signup_email": email_address, "next": target, SIGNUP_FIELDS_KEY: fields}
    if decoy:
        remember(signup_decoy=email_address, signup_started_at=started_at(), **kept)
    else:
        keep("signup", result.values["signup_token"], **kept)
    return redirect(url_for(".signup_verify"))


def signup_verify() -> ResponseReturnValue:
    if not has_flow("signup"):
        return restart(".signup")
    context: dict[str, Any] = {"email_address": recall("signup_email") or ""}
    if request.method == "GET":
        return render_page("signup_verify", **context)
    result = step(
        "signup",
        "verify_signup_email_address_verification_code",
        email_address_verification_code=form_value("code").replace(" ", ""),
    )
    if result.ok or result.error_code == "email_address_already_verified":
        return redirect(url_for(".signup_password"))
    return expired(result, "signup") or show_error("signup_verify", "signup", result, **context)


def signup_resend() -> ResponseReturnValue:
    if not has_flow("signup"):
        return restart(".signup")
    result = step("signup", "send_signup_email_address_verification_code")
    if result.ok:
        flash("We sent the code again.", "info")
    elif result.error_code == "email_address_already_verified":
        return redirect(url_for(".signup_password"))
    else:
        gone = expired(result, "signup")
        if gone is not None:
            return gone
        flash_error(result)
    return redirect(url_for(".signup_verify"))


def signup_password() -> ResponseReturnValue:
    if not has_flow("signup"):
        return restart(".signup")
    context: dict[str, Any] = {"email_address": recall("signup_email") or ""}
    if request.method == "GET":
        return render_page("signup_password", **context)
    result = step("signup", "set_signup_password", password=form_value("password", strip=False))
    if not result.ok and result.error_code != "password_already_set":
        if result.error_code == "email_address_not_verified":
            flash_error(result)
            return redirect(url_for(".signup_verify"))
        return expired(result, "signup") or show_error("signup_password", "signup", result, **context)
    return _complete()


def _fields_context(values: dict[str, str]) -> dict[str, Any]:
    return {
        "form": current_faroe.extension.signup_fields,
        "values": values,
        "email_address": recall("signup_email") or "",
    }


def signup_fields() -> ResponseReturnValue:
    """The application's fields again, when the last check refused them (or on a GET)."""
    if not has_flow("signup"):
        return restart(".signup")
    if request.method == "GET":
        return render_page("signup_fields", **_fields_context(recall_mapping(SIGNUP_FIELDS_KEY)))
    fields, errors = read_signup_fields(request.form)
    if errors:
        return show_message("signup_fields", "signup", "invalid_signup_fields", field_errors=errors,
                            **_fields_context(fields))
    remember(**{SIGNUP_FIELDS_KEY: fields})
    return _complete()


def _complete() -> ResponseReturnValue:
    """``complete_signup`` with the kept fields, which reach the application's receiver in this
    request; signed in and on to ``next``."""
    target = recall("next") or home_url()  # checked by next_url when it was stored
    kept = recall_mapping(SIGNUP_FIELDS_KEY)
    token = recall("signup_token")
    try:
        completed: ActionResult = (
            step("signup", "complete_signup") if is_decoy("signup") or token is None else complete_signup(token, kept)
        )
    except InvalidSignupFields as invalid:
        if "" in invalid.errors:
            # The application could not take the fields: the new user was deleted again.
            drop_flow("signup")  # complete_signup used the signup up
            flash_error("signup_not_finished")
            return restart(".signup")
        # Refused before anything was created (a username taken meanwhile): ask again.
        return show_message("signup_fields", "signup", "invalid_signup_fields", field_errors=invalid.errors,
                            **_fields_context(kept))
    if not completed.ok:
        if completed.error_code in ("email_address_not_verified", "password_not_set"):
            flash_error(completed)
            return redirect(url_for(".signup_verify" if completed.error_code == "email_address_not_verified" else ".signup_password"))
        gone = expired(completed, "signup")
        if gone is not None:
            return gone
        end_flow("signup")
        flash_error(completed)
        return redirect(url_for(".signin") if completed.error_code == "session_not_created" else url_for(".signup"))
    rotate_session(finished="signup")  # complete_signup deleted it on the server
    flash("Welcome! Your account is ready and you are signed in.", "success")
    response = redirect(target)
    start_session(completed, response)
    return response


def signup_cancel() -> ResponseReturnValue:
    end_flow("signup")
    flash("The sign-up was cancelled.", "info")
    return redirect(home_url())
