"""The signed-in pages: the account overview, change the email address (with the code sent to
the new address), change the password, sign out everywhere, and delete the account.

Each change asks for the current password, so a session left open on a shared computer cannot
change the address or the password, or delete the account, on its own. An ended session
(``invalid_session_token``) sends the person to the sign-in page. The email change is the one
flow kept between requests: it ends through ``delete_user_email_address_update`` when another
starts, on its Cancel button and at sign-out (``pages_flows``); signing out everywhere and
deleting the account rotate Flask's session as signing out does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from ..core.envelope import ActionError
from .pages_flows import drop_flow, end_flow, has_flow, keep, step
from .pages_session import rotate_session
from .pages_state import recall
from .pages_support import flash_error, form_value, home_url, invoke, render_page, show_error
from .views import end_session, get_session_token, login_required

__all__ = ["register_account_pages"]


def register_account_pages(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/", view_func=login_required(account), endpoint="account")
    for rule, view in (
        ("/email", email),
        ("/email/verify", email_verify),
        ("/password", password),
        ("/signout-everywhere", signout_everywhere),
        ("/delete", delete),
    ):
        blueprint.add_url_rule(rule, view_func=login_required(view), methods=["GET", "POST"])
    blueprint.add_url_rule("/email/resend", view_func=login_required(email_resend), methods=["POST"])
    blueprint.add_url_rule("/email/cancel", view_func=login_required(email_cancel), methods=["POST"])


def _token() -> str:
    token = get_session_token()
    assert token is not None  # login_required ran first
    return token


def _session_ended(result: ActionError) -> Response | None:
    """For ``invalid_session_token``: forget the cookie and ask to sign in again."""
    if result.error_code != "invalid_session_token":
        return None
    rotate_session()
    flash_error(result)
    response = redirect(url_for(".signin", next=request.path))
    end_session(response)
    return response


def account() -> ResponseReturnValue:
    return render_page("account")


# Email address --------------------------------------------------------------------------------


def email() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("email")
    new_email_address = form_value("new_email_address")
    end_flow("email")  # starting a change ends the one in progress
    result = invoke(
        "create_user_email_address_update", session_token=_token(), new_email_address=new_email_address
    )
    if not result.ok:
        return _session_ended(result) or show_error("email", "email", result, new_email_address=new_email_address)
    keep("email", result.values["user_email_address_update_token"], email_new=new_email_address)
    return redirect(url_for(".email_verify"))


def _email_flow_gone(result: ActionError) -> Response | None:
    if result.error_code not in ("invalid_user_email_address_update_token", "session_mismatch"):
        return None
    drop_flow("email")
    flash_error(result)
    return redirect(url_for(".email"))


def email_verify() -> ResponseReturnValue:
    if not has_flow("email"):
        return redirect(url_for(".email"))
    context: dict[str, Any] = {"new_email_address": recall("email_new") or ""}
    if request.method == "GET":
        return render_page("email_verify", **context)
    steps: tuple[tuple[str, dict[str, str], str | None], ...] = (
        ("verify_user_email_address_update_email_address_verification_code",
         {"email_address_verification_code": form_value("code").replace(" ", "")},
         "email_address_already_verified"),
        ("verify_user_email_address_update_user_password",
         {"password": form_value("password", strip=False)},
         "user_identity_already_verified"),
        ("complete_user_email_address_update", {}, None),
    )
    for action, extra, done_already in steps:
        result = step("email", action, session_token=_token(), **extra)
        if not result.ok and result.error_code != done_already:
            return (
                _session_ended(result)
                or _email_flow_gone(result)
                or show_error("email_verify", "email", result, **context)
            )
    drop_flow("email")  # complete_user_email_address_update deleted it on the server
    flash(f"Your email address is now {context['new_email_address']}.", "success")
    return redirect(url_for(".account"))


def email_resend() -> ResponseReturnValue:
    if not has_flow("email"):
        return redirect(url_for(".email"))
    result = step(
        "email", "send_user_email_address_update_email_address_verification_code", session_token=_token()
    )
    if result.ok:
        flash("We sent the code again.", "info")
        return redirect(url_for(".email_verify"))
    if result.error_code == "email_address_already_verified":
        return redirect(url_for(".email_verify"))
    response = _session_ended(result) or _email_flow_gone(result)
    if response is not None:
        return response
    flash_error(result)
    return redirect(url_for(".email_verify"))


def email_cancel() -> ResponseReturnValue:
    end_flow("email")
    flash("The email address change was cancelled.", "info")
    return redirect(url_for(".account"))


# Password, sessions, deletion -----------------------------------------------------------------


def _run_with_password(
    template: str, page: str, create: str, token_name: str, verify: str, then: tuple[tuple[str, dict[str, str]], ...],
    cancel: str,
) -> ResponseReturnValue | None:
    """Create a flow, verify the current password, run ``then``; on an error cancel the flow and
    show the form again. ``None`` means every step succeeded."""
    session_token = _token()
    created = invoke(create, session_token=session_token)
    if not created.ok:
        return _session_ended(created) or show_error(template, page, created)
    assert created.values is not None
    arguments = {"session_token": session_token, token_name: created.values[token_name]}
    steps = ((verify, {"password": form_value("current_password", strip=False)}), *then)
    for action, extra in steps:
        result = invoke(action, **arguments, **extra)
        if not result.ok:
            invoke(cancel, **arguments)  # best effort: an unfinished flow expires by itself
            return _session_ended(result) or show_error(template, page, result)
    return None


def password() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("password")
    failed = _run_with_password(
        "password", "password", "create_user_password_update", "user_password_update_token",
        "verify_user_password_update_user_password",
        (("set_user_password_update_new_password", {"password": form_value("new_password", strip=False)}),
         ("complete_user_password_update", {})),
        "delete_user_password_update",
    )
    if failed is not None:
        return failed
    flash("Your password was changed.", "success")
    return redirect(url_for(".account"))


def signout_everywhere() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("signout_everywhere")
    result = invoke("delete_all_sessions", session_token=_token())
    if not result.ok:
        return _session_ended(result) or show_error("signout_everywhere", "sessions", result)
    rotate_session()
    flash("You are signed out on every device.", "info")
    response = redirect(url_for(".signin"))
    end_session(response)  # this session is already ended: clears the cookie
    return response


def delete() -> ResponseReturnValue:
    if request.method == "GET":
        return render_page("delete")
    failed = _run_with_password(
        "delete", "delete", "create_user_deletion", "user_deletion_token",
        "verify_user_deletion_user_password", (("complete_user_deletion", {}),),
        "delete_user_deletion",
    )
    if failed is not None:
        return failed
    rotate_session()
    flash("Your account was deleted.", "info")
    response = redirect(home_url())
    end_session(response)  # the user is gone: removes the session record, clears the cookie
    return response
