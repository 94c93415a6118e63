"""The signed-out pages besides sign-up (``pages_signup``): sign in, sign out, and the
forgotten-password reset (identifier, temporary password, new password).

Each step is a GET that shows a form and a POST that runs the step's actions through
``current_faroe.invoke``; a success redirects to the next step (POST/redirect/GET), an error
shows the form again with its sentence. The flow's token stays on the server (``pages_state``);
a flow ends through its ``delete_*`` action when it completes, when another of its kind starts,
on its Cancel button and at sign-out (``pages_flows``). Signing in, finishing a reset and signing
out rotate Flask's session (``pages_session``).

Sign-in and reset take what the person types through the application's ``identifier_resolver``
(``identity.start_signin`` / ``start_password_reset``): an identifier it does not know answers
as an unknown address does. In generic-responses mode both get the answers of a known one
(``core.decoys``). The pages never show the address a username resolved to: the reset's pages
name what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from ..core.decoys import INCORRECT_CREDENTIALS, decoy_signin, start_reset_decoy
from ..core.envelope import ActionError
from .extension import current_faroe
from .identity import start_password_reset, start_signin
from .pages_flows import end_flow, expired, has_flow, keep, restart, started_at, step
from .pages_forms import IDENTIFIER, entry_form, resolves_identifiers
from .pages_session import rotate_session
from .pages_state import recall, remember
from .pages_support import flash_error, form_value, generic, home_url, invoke, next_target, render_page, show_error
from .views import end_session, start_session

__all__ = ["register_auth_pages"]


def register_auth_pages(blueprint: Blueprint) -> None:
    for rule, view in (
        ("/signin", signin),
        ("/reset", reset),
        ("/reset/verify", reset_verify),
        ("/reset/password", reset_password),
    ):
        blueprint.add_url_rule(rule, view_func=view, methods=["GET", "POST"])
    for rule, view in (("/signout", signout), ("/reset/cancel", reset_cancel)):
        blueprint.add_url_rule(rule, view_func=view, methods=["POST"])


# Sign in and out ------------------------------------------------------------------------------


def signin() -> ResponseReturnValue:
    target = next_target()
    if request.method == "GET":
        return render_page("signin", **entry_form("signin", next=target))
    identifier, password = form_value(IDENTIFIER), form_value("password", strip=False)
    context = entry_form("signin", {IDENTIFIER: identifier}, next=target)
    created = start_signin(identifier)  # an unknown username answers as an unknown address
    if not created.ok:
        if generic() and created.error_code in ("user_not_found", "user_disabled"):
            current_faroe.admit("verify_signin_user_password")  # its hash counts as a password check
            created = decoy_signin(current_faroe.server, identifier, password)
        return show_error("signin", "signin", created, **context)
    token = created.values["signin_token"]
    verified = invoke("verify_signin_user_password", signin_token=token, password=password)
    if not verified.ok:
        invoke("delete_signin", signin_token=token)  # best effort: it would expire in 10 minutes
        if generic() and verified.error_code == "incorrect_password":
            verified = ActionError(verified.action_invocation_id, INCORRECT_CREDENTIALS)
        return show_error("signin", "signin", verified, **context)
    completed = invoke("complete_signin", signin_token=token)
    if not completed.ok:
        invoke("delete_signin", signin_token=token)  # best effort, as above
        return show_error("signin", "signin", completed, **context)
    rotate_session()
    response = redirect(target)
    start_session(completed, response)
    return response


def signout() -> ResponseReturnValue:
    response = redirect(home_url())
    rotate_session()  # ends every flow (an email change needs the session still valid)
    end_session(response)  # delete_session; an ended session is signed out already
    flash("You are signed out.", "info")
    return response


# Forgotten password ---------------------------------------------------------------------------


def _reset_context() -> dict[str, Any]:
    """What the reset's later pages show: what was typed (never the address a username
    resolved to), and whether it may have been a username."""
    return {"email_address": recall("reset_email") or "", "by_identifier": resolves_identifiers("reset")}


def reset() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("reset", **entry_form("reset", {IDENTIFIER: request.args.get(IDENTIFIER, "")[:100]}))
    identifier = form_value(IDENTIFIER)
    context = entry_form("reset", {IDENTIFIER: identifier})
    end_flow("reset")  # starting a reset ends the one in progress
    result = start_password_reset(identifier)  # an unknown username answers as an unknown address
    code = None if result.ok else result.error_code
    decoy = generic() and code in ("user_not_found", "user_disabled")
    if decoy:
        result = start_reset_decoy(current_faroe.server, identifier, disabled=code == "user_disabled")
    if not result.ok:
        return show_error("reset", "reset", result, **context)
    if decoy:
        remember(reset_decoy=identifier, reset_started_at=started_at(), reset_email=identifier)
    else:
        keep("reset", result.values["user_password_reset_token"], reset_email=identifier)
    return redirect(url_for(".reset_verify"))


def reset_verify() -> ResponseReturnValue:
    if not has_flow("reset"):
        return restart(".reset")
    context = _reset_context()
    if request.method == "GET":
        return render_page("reset_verify", **context)
    result = step(
        "reset",
        "verify_user_password_reset_temporary_password",
        temporary_password=form_value("temporary_password").replace(" ", ""),
    )
    if result.ok or result.error_code == "user_first_factor_already_verified":
        return redirect(url_for(".reset_password"))
    return expired(result, "reset") or show_error("reset_verify", "reset", result, **context)


def reset_password() -> ResponseReturnValue:
    if not has_flow("reset"):
        return restart(".reset")
    context = _reset_context()
    if request.method == "GET":
        return render_page("reset_password", **context)
    result = step("reset", "set_user_password_reset_new_password", password=form_value("password", strip=False))
    if not result.ok and result.error_code != "new_password_already_set":
        if result.error_code == "user_first_factor_not_verified":
            return redirect(url_for(".reset_verify"))
        return expired(result, "reset") or show_error("reset_password", "reset", result, **context)
    completed = step("reset", "complete_user_password_reset")
    if not completed.ok:
        # The reset is spent or stale (or the password is already changed): start again.
        end_flow("reset")
        flash_error(completed, "reset")
        return redirect(url_for(".signin" if completed.error_code == "session_not_created" else ".reset"))
    rotate_session(finished="reset")  # complete_user_password_reset deleted it on the server
    flash("Your password was changed, and you are signed in.", "success")
    response = redirect(url_for(".account"))
    start_session(completed, response)
    return response


def reset_cancel() -> ResponseReturnValue:
    end_flow("reset")
    flash("The password reset was cancelled.", "info")
    return redirect(url_for(".signin"))
