"""The signed-out pages: sign up (address, code, password), resend the code, sign in, sign out,
and the forgotten-password reset (address, temporary password, new password).

Each step is a GET that shows a form and a POST that runs the step's actions through
``current_faroe.invoke``; a success redirects to the next step (POST/redirect/GET), an error
shows the form again with its sentence. The flow's token stays on the server (``pages_state``);
a flow ends through its ``delete_*`` action when it completes, when another of its kind starts,
on its Cancel button and at sign-out (``pages_flows``). Signing in, finishing a sign-up or a
reset and signing out rotate Flask's session (``pages_session``). In generic-responses mode an
unknown address gets the answers of a known one (``core.decoys``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..core.decoys import INCORRECT_CREDENTIALS, decoy_signin, start_reset_decoy, start_signup_decoy
from ..core.envelope import ActionError
from .extension import current_faroe
from .pages_flows import FLOWS, drop_flow, end_flow, has_flow, keep, step
from .pages_forms import SIGNUP_FIELDS_KEY, FormValues, Page, hand_over_signup_fields, read_form
from .pages_session import rotate_session
from .pages_settings import current_pages
from .pages_state import MAX_NEXT_CHARACTERS, recall, recall_mapping, remember
from .pages_support import flash_error, form_value, home_url, invoke, render_page, show_error
from .views import end_session, next_url, start_session

__all__ = ["register_auth_pages"]


def register_auth_pages(blueprint: Blueprint) -> None:
    for rule, view in (
        ("/signup", signup),
        ("/signup/verify", signup_verify),
        ("/signup/password", signup_password),
        ("/signin", signin),
        ("/reset", reset),
        ("/reset/verify", reset_verify),
        ("/reset/password", reset_password),
    ):
        blueprint.add_url_rule(rule, view_func=view, methods=["GET", "POST"])
    for rule, view in (
        ("/signup/resend", signup_resend),
        ("/signup/cancel", signup_cancel),
        ("/signout", signout),
        ("/reset/cancel", reset_cancel),
    ):
        blueprint.add_url_rule(rule, view_func=view, methods=["POST"])


def _next_target() -> str:
    target = next_url(home_url())
    return target if len(target) <= MAX_NEXT_CHARACTERS else home_url()


def _generic() -> bool:
    return current_pages().settings.generic_responses


def _started_at() -> str:
    return str(current_faroe.server.clock.now().timestamp())


def _restart(endpoint: str) -> Response:
    return redirect(url_for(endpoint))


def _expired(result: ActionError, flow: str) -> Response | None:
    """For the flow's invalid-token code: forget the flow, say so, and go back to its start."""
    if result.error_code != FLOWS[flow].expired_code:
        return None
    drop_flow(flow)
    flash_error(result)
    return _restart(FLOWS[flow].start_endpoint)


def _entry_form(page: Page, typed: FormValues | None = None, **context: Any) -> dict[str, Any]:
    """The template context of an entry form: its fields and what was typed."""
    values = typed.values if typed is not None else {}
    return {
        "form": current_pages().forms.fields(page),
        "values": values,
        "email_address": values.get("email_address", ""),
        **context,
    }


def _submitted(page: Page, **context: Any) -> tuple[FormValues, dict[str, Any], ResponseReturnValue | None]:
    """What was typed into an entry form, its template context, and the form again (with its
    error) when one of the application's fields is missing or too long."""
    typed = read_form(current_pages().forms.fields(page))
    context = _entry_form(page, typed, **context)
    if not typed.invalid:
        return typed, context, None
    code = "missing_field" if typed.missing else "field_too_long"
    return typed, context, show_error(page, page, ActionError("", code), invalid_fields=typed.invalid, **context)


# Sign up --------------------------------------------------------------------------------------


def signup() -> ResponseReturnValue:
    next_target = _next_target()
    if request.method == "GET":
        return render_page("signup", **_entry_form("signup", next=next_target))
    typed, context, invalid = _submitted("signup", next=next_target)
    if invalid is not None:
        return invalid
    email_address = typed.identifier
    end_flow("signup")  # starting a sign-up ends the one in progress
    result = invoke("create_signup", email_address=email_address)
    decoy = not result.ok and _generic() and result.error_code == "email_address_already_used"
    if decoy:
        result = start_signup_decoy(current_faroe.server, email_address)
    if not result.ok:
        return show_error("signup", "signup", result, **context)
    kept: dict[str, Any] = {"signup_email": email_address, "next": next_target, SIGNUP_FIELDS_KEY: typed.extra}
    if decoy:
        remember(signup_decoy=email_address, signup_started_at=_started_at(), **kept)
    else:
        keep("signup", result.values["signup_token"], **kept)
    return redirect(url_for(".signup_verify"))


def signup_verify() -> ResponseReturnValue:
    if not has_flow("signup"):
        return _restart(".signup")
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
    return _expired(result, "signup") or show_error("signup_verify", "signup", result, **context)


def signup_resend() -> ResponseReturnValue:
    if not has_flow("signup"):
        return _restart(".signup")
    result = step("signup", "send_signup_email_address_verification_code")
    if result.ok:
        flash("We sent the code again.", "info")
    elif result.error_code == "email_address_already_verified":
        return redirect(url_for(".signup_password"))
    else:
        expired = _expired(result, "signup")
        if expired is not None:
            return expired
        flash_error(result)
    return redirect(url_for(".signup_verify"))


def signup_password() -> ResponseReturnValue:
    if not has_flow("signup"):
        return _restart(".signup")
    context: dict[str, Any] = {"email_address": recall("signup_email") or ""}
    if request.method == "GET":
        return render_page("signup_password", **context)
    result = step("signup", "set_signup_password", password=form_value("password", strip=False))
    if not result.ok and result.error_code != "password_already_set":
        if result.error_code == "email_address_not_verified":
            flash_error(result)
            return redirect(url_for(".signup_verify"))
        return _expired(result, "signup") or show_error("signup_password", "signup", result, **context)
    next_target = recall("next") or home_url()  # checked by next_url when it was stored
    # The application's sign-up fields, for whoever handles the new user in this request.
    hand_over_signup_fields(recall_mapping(SIGNUP_FIELDS_KEY))
    completed = step("signup", "complete_signup")
    if not completed.ok:
        end_flow("signup")
        flash_error(completed)
        return redirect(url_for(".signin") if completed.error_code == "session_not_created" else url_for(".signup"))
    rotate_session(finished="signup")  # complete_signup deleted it on the server
    flash("Welcome! Your account is ready and you are signed in.", "success")
    response = redirect(next_target)
    start_session(completed, response)
    return response


def signup_cancel() -> ResponseReturnValue:
    end_flow("signup")
    flash("The sign-up was cancelled.", "info")
    return redirect(home_url())


# Sign in and out ------------------------------------------------------------------------------


def signin() -> ResponseReturnValue:
    next_target = _next_target()
    if request.method == "GET":
        return render_page("signin", **_entry_form("signin", next=next_target))
    typed, context, invalid = _submitted("signin", next=next_target)
    if invalid is not None:
        return invalid
    email_address, password = typed.identifier, form_value("password", strip=False)
    created = invoke("create_signin", user_email_address=email_address)
    if not created.ok:
        if _generic() and created.error_code in ("user_not_found", "user_disabled"):
            current_faroe.admit("verify_signin_user_password")  # its hash counts as a password check
            created = decoy_signin(current_faroe.server, email_address, password)
        return show_error("signin", "signin", created, **context)
    token = created.values["signin_token"]
    verified = invoke("verify_signin_user_password", signin_token=token, password=password)
    if not verified.ok:
        invoke("delete_signin", signin_token=token)  # best effort: it would expire in 10 minutes
        if _generic() and verified.error_code == "incorrect_password":
            verified = ActionError(verified.action_invocation_id, INCORRECT_CREDENTIALS)
        return show_error("signin", "signin", verified, **context)
    completed = invoke("complete_signin", signin_token=token)
    if not completed.ok:
        invoke("delete_signin", signin_token=token)  # best effort, as above
        return show_error("signin", "signin", completed, **context)
    rotate_session()
    response = redirect(next_target)
    start_session(completed, response)
    return response


def signout() -> ResponseReturnValue:
    response = redirect(home_url())
    rotate_session()  # ends every flow (an email change needs the session still valid)
    end_session(response)  # delete_session; an ended session is signed out already
    flash("You are signed out.", "info")
    return response


# Forgotten password ---------------------------------------------------------------------------


def reset() -> ResponseReturnValue:
    if request.method == "GET":
        typed = FormValues({"email_address": request.args.get("email_address", "")[:100]})
        return render_page("reset", **_entry_form("reset", typed))
    typed, context, invalid = _submitted("reset")
    if invalid is not None:
        return invalid
    email_address = typed.identifier
    end_flow("reset")  # starting a reset ends the one in progress
    result = invoke("create_user_password_reset", user_email_address=email_address)
    code = None if result.ok else result.error_code
    decoy = _generic() and code in ("user_not_found", "user_disabled")
    if decoy:
        result = start_reset_decoy(current_faroe.server, email_address, disabled=code == "user_disabled")
    if not result.ok:
        return show_error("reset", "reset", result, **context)
    if decoy:
        remember(reset_decoy=email_address, reset_started_at=_started_at(), reset_email=email_address)
    else:
        keep("reset", result.values["user_password_reset_token"], reset_email=email_address)
    return redirect(url_for(".reset_verify"))


def reset_verify() -> ResponseReturnValue:
    if not has_flow("reset"):
        return _restart(".reset")
    context: dict[str, Any] = {"email_address": recall("reset_email") or ""}
    if request.method == "GET":
        return render_page("reset_verify", **context)
    result = step(
        "reset",
        "verify_user_password_reset_temporary_password",
        temporary_password=form_value("temporary_password").replace(" ", ""),
    )
    if result.ok or result.error_code == "user_first_factor_already_verified":
        return redirect(url_for(".reset_password"))
    return _expired(result, "reset") or show_error("reset_verify", "reset", result, **context)


def reset_password() -> ResponseReturnValue:
    if not has_flow("reset"):
        return _restart(".reset")
    context: dict[str, Any] = {"email_address": recall("reset_email") or ""}
    if request.method == "GET":
        return render_page("reset_password", **context)
    result = step("reset", "set_user_password_reset_new_password", password=form_value("password", strip=False))
    if not result.ok and result.error_code != "new_password_already_set":
        if result.error_code == "user_first_factor_not_verified":
            return redirect(url_for(".reset_verify"))
        return _expired(result, "reset") or show_error("reset_password", "reset", result, **context)
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
