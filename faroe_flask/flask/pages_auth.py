"""The signed-out pages: sign up (address, code, password), resend the code, sign in, sign out,
and the forgotten-password reset (address, temporary password, new password).

Each step is a GET that shows a form and a POST that runs the step's actions through
``current_faroe.invoke``; a success redirects to the next step (POST/redirect/GET), an error
shows the form again with its sentence. The flow's token stays in the signed session.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..core.envelope import ActionError
from .pages_support import (
    flash_error,
    forget,
    forget_all,
    form_value,
    home_url,
    invoke,
    recall,
    remember,
    render_page,
    show_error,
)
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
    blueprint.add_url_rule("/signup/resend", view_func=signup_resend, methods=["POST"])
    blueprint.add_url_rule("/signout", view_func=signout, methods=["POST"])


def _next_target() -> str:
    return next_url(home_url())


def _restart(endpoint: str) -> Response:
    return redirect(url_for(endpoint))


def _expired(result: ActionError, flow: str) -> Response | None:
    """For the flow's invalid-token code: forget the flow, say so, and go back to its start."""
    code, endpoint, keys = _FLOWS[flow]
    if result.error_code != code:
        return None
    forget(*keys)
    flash_error(result)
    return _restart(endpoint)


_FLOWS = {
    "signup": ("invalid_signup_token", ".signup", ("signup_token", "signup_email")),
    "reset": ("invalid_user_password_reset_token", ".reset", ("reset_token", "reset_email")),
}


# Sign up --------------------------------------------------------------------------------------


def signup() -> ResponseReturnValue:
    next_target = _next_target()
    if request.method == "GET":
        return render_page("signup", next=next_target)
    email_address = form_value("email_address")
    result = invoke("create_signup", email_address=email_address)
    if not result.ok:
        return show_error("signup", "signup", result, email_address=email_address, next=next_target)
    remember(signup_token=result.values["signup_token"], signup_email=email_address, next=next_target)
    return redirect(url_for(".signup_verify"))


def signup_verify() -> ResponseReturnValue:
    token = recall("signup_token")
    if token is None:
        return _restart(".signup")
    context: dict[str, Any] = {"email_address": recall("signup_email") or ""}
    if request.method == "GET":
        return render_page("signup_verify", **context)
    result = invoke(
        "verify_signup_email_address_verification_code",
        signup_token=token,
        email_address_verification_code=form_value("code").replace(" ", ""),
    )
    if result.ok or result.error_code == "email_address_already_verified":
        return redirect(url_for(".signup_password"))
    return _expired(result, "signup") or show_error("signup_verify", "signup", result, **context)


def signup_resend() -> ResponseReturnValue:
    token = recall("signup_token")
    if token is None:
        return _restart(".signup")
    result = invoke("send_signup_email_address_verification_code", signup_token=token)
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
    token = recall("signup_token")
    if token is None:
        return _restart(".signup")
    context: dict[str, Any] = {"email_address": recall("signup_email") or ""}
    if request.method == "GET":
        return render_page("signup_password", **context)
    result = invoke("set_signup_password", signup_token=token, password=form_value("password", strip=False))
    if not result.ok and result.error_code != "password_already_set":
        if result.error_code == "email_address_not_verified":
            flash_error(result)
            return redirect(url_for(".signup_verify"))
        return _expired(result, "signup") or show_error("signup_password", "signup", result, **context)
    completed = invoke("complete_signup", signup_token=token)
    next_target = recall("next") or home_url()  # checked by next_url when it was stored
    if not completed.ok:
        forget("signup_token", "signup_email")
        flash_error(completed)
        return redirect(url_for(".signin") if completed.error_code == "session_not_created" else url_for(".signup"))
    forget("signup_token", "signup_email", "next")
    flash("Welcome! Your account is ready and you are signed in.", "success")
    response = redirect(next_target)
    start_session(completed, response)
    return response


# Sign in and out ------------------------------------------------------------------------------


def signin() -> ResponseReturnValue:
    next_target = _next_target()
    if request.method == "GET":
        return render_page("signin", next=next_target)
    email_address = form_value("email_address")
    context = {"email_address": email_address, "next": next_target}
    created = invoke("create_signin", user_email_address=email_address)
    if not created.ok:
        return show_error("signin", "signin", created, **context)
    assert created.values is not None
    token = created.values["signin_token"]
    verified = invoke("verify_signin_user_password", signin_token=token, password=form_value("password", strip=False))
    if not verified.ok:
        invoke("delete_signin", signin_token=token)  # best effort: it would expire in 10 minutes
        return show_error("signin", "signin", verified, **context)
    completed = invoke("complete_signin", signin_token=token)
    if not completed.ok:
        return show_error("signin", "signin", completed, **context)
    response = redirect(next_target)
    start_session(completed, response)
    return response


def signout() -> ResponseReturnValue:
    response = redirect(home_url())
    end_session(response)  # delete_session; an ended session is signed out already
    forget_all()
    flash("You are signed out.", "info")
    return response


# Forgotten password ---------------------------------------------------------------------------


def reset() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("reset", email_address=request.args.get("email_address", "")[:100])
    email_address = form_value("email_address")
    result = invoke("create_user_password_reset", user_email_address=email_address)
    if not result.ok:
        return show_error("reset", "reset", result, email_address=email_address)
    remember(reset_token=result.values["user_password_reset_token"], reset_email=email_address)
    return redirect(url_for(".reset_verify"))


def reset_verify() -> ResponseReturnValue:
    token = recall("reset_token")
    if token is None:
        return _restart(".reset")
    context: dict[str, Any] = {"email_address": recall("reset_email") or ""}
    if request.method == "GET":
        return render_page("reset_verify", **context)
    result = invoke(
        "verify_user_password_reset_temporary_password",
        user_password_reset_token=token,
        temporary_password=form_value("temporary_password").replace(" ", ""),
    )
    if result.ok or result.error_code == "user_first_factor_already_verified":
        return redirect(url_for(".reset_password"))
    return _expired(result, "reset") or show_error("reset_verify", "reset", result, **context)


def reset_password() -> ResponseReturnValue:
    token = recall("reset_token")
    if token is None:
        return _restart(".reset")
    context: dict[str, Any] = {"email_address": recall("reset_email") or ""}
    if request.method == "GET":
        return render_page("reset_password", **context)
    result = invoke(
        "set_user_password_reset_new_password",
        user_password_reset_token=token,
        password=form_value("password", strip=False),
    )
    if not result.ok and result.error_code != "new_password_already_set":
        if result.error_code == "user_first_factor_not_verified":
            return redirect(url_for(".reset_verify"))
        return _expired(result, "reset") or show_error("reset_password", "reset", result, **context)
    completed = invoke("complete_user_password_reset", user_password_reset_token=token)
    forget("reset_token", "reset_email")
    if not completed.ok:
        # The reset is spent or stale (or the password is already changed): start again.
        flash_error(completed, "reset")
        return redirect(url_for(".signin" if completed.error_code == "session_not_created" else ".reset"))
    flash("Your password was changed, and you are signed in.", "success")
    response = redirect(url_for(".account"))
    start_session(completed, response)
    return response
