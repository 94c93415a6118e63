"""What the account pages say for each action error code.

``message_for(error_code)`` turns a Faroe error code into a sentence a person understands. The
pages look up ``(page, code)`` first, so that one code can read differently in one flow (an
expired token says which flow to start again), then the code alone, then a general sentence.
Where the application resolves identifiers ("email address or username", ``identifier=True``), the
sign-in and reset read ``IDENTIFIER_MESSAGES`` first. Apps change a sentence with
``FAROE_PAGES_MESSAGES={"rate_limited": "..."}`` (by code; it wins everywhere).
"""

from __future__ import annotations

from collections.abc import Mapping

from .deletion import USER_DELETION_REFUSED_MESSAGE
from .identity import SIGNUP_NOT_FINISHED

__all__ = ["MESSAGES", "FLOW_MESSAGES", "GENERAL_MESSAGE", "IDENTIFIER_MESSAGES", "INVALID_FIELDS", "message_for"]

GENERAL_MESSAGE = "Something went wrong on our side. Please try again in a moment."

#: One sentence per error code of the actions the pages call.
MESSAGES: Mapping[str, str] = {
    "invalid_email_address": "Enter a valid email address, such as name@example.com.",
    "email_address_already_used": "An account with this email address already exists.",
    "email_address_not_allowed": "This email address cannot be used here.",
    "rate_limited": "Too many attempts. Please wait a few minutes, then try again.",
    "incorrect_email_address_verification_code": (
        "That code is not right. Check the code in the email we sent and try again."
    ),
    "incorrect_temporary_password": (
        "That temporary password is not right. Check the email we sent and try again."
    ),
    "incorrect_password": "The password is not right.",
    "invalid_password_length": "Choose a password of 10 to 100 characters.",
    "weak_password": (
        "This password is too common or has appeared in a data breach. Choose another one."
    ),
    "user_not_found": "There is no account with this email address.",
    "user_disabled": "This account is disabled.",
    "email_address_not_verified": "Verify your email address first.",
    "password_not_set": "Choose a password first.",
    "user_identity_not_verified": "Enter your current password first.",
    "session_not_created": (
        "Your account is ready, but signing you in failed. Please sign in."
    ),
    "invalid_session_token": "Your session has ended. Please sign in again.",
    "session_mismatch": "This request belongs to another session. Please start again.",
    "invalid_signup_token": "Your sign-up has expired or is finished. Please start again.",
    "invalid_signin_token": "Your sign-in attempt expired. Please try again.",
    "invalid_user_password_reset_token": (
        "This password reset has expired or is finished. Please start again."
    ),
    "invalid_user_email_address_update_token": (
        "This email address change has expired, or the address can no longer be used. "
        "Please start again."
    ),
    "invalid_password_update_token": "This password change expired. Please try again.",
    "invalid_user_password_update_token": "This password change expired. Please try again.",
    "invalid_user_deletion_token": "This account deletion expired. Please try again.",
    "internal_conflict": "Something else changed your account at the same moment. Please try again.",
    "internal_error": GENERAL_MESSAGE,
    # The pages' own codes: generic-responses mode's sign-in, the application's sign-up fields
    # (each field's own sentence is shown beside it), a deletion the database refused.
    "incorrect_credentials": "The email address or password is incorrect.",
    "invalid_signup_fields": "Please correct the fields marked below.",
    "signup_not_finished": SIGNUP_NOT_FINISHED,
    "user_deletion_refused": USER_DELETION_REFUSED_MESSAGE,
}

#: Sign-in and reset, when the identifier is "email address or username": an unknown username
#: and an unknown address get the same sentence.
IDENTIFIER_MESSAGES: Mapping[str, str] = {
    "user_not_found": "There is no account with this email address or username.",
    "incorrect_credentials": "The email address, username or password is incorrect.",
}

#: Sentences that depend on the page: ``(page, code)``.
FLOW_MESSAGES: Mapping[tuple[str, str], str] = {
    ("email", "email_address_already_used"): "This email address is already used by an account.",
    ("reset", "rate_limited"): (
        "Too many temporary passwords or attempts for this account. Please wait, then try again."
    ),
    ("reset", "session_not_created"): (
        "Your password was changed, but signing you in failed. Please sign in with your new password."
    ),
}


#: The form fields an error code is about (they get ``aria-invalid``); others concern the form.
INVALID_FIELDS: Mapping[str, tuple[str, ...]] = {
    "invalid_email_address": ("email_address", "new_email_address"),
    "email_address_already_used": ("email_address", "new_email_address"),
    "email_address_not_allowed": ("email_address", "new_email_address"),
    "user_not_found": ("email_address",),
    "incorrect_email_address_verification_code": ("code",),
    "incorrect_temporary_password": ("temporary_password",),
    "incorrect_password": ("password", "current_password"),
    "invalid_password_length": ("password", "new_password"),
    "weak_password": ("password", "new_password"),
    "incorrect_credentials": ("email_address", "password"),
}


def message_for(
    error_code: str | None,
    page: str = "",
    overrides: Mapping[str, str] | None = None,
    *,
    identifier: bool = False,
) -> str:
    """The sentence for ``error_code`` on ``page``; ``overrides`` (by code) win. ``identifier``:
    the page asked for "email address or username"."""
    code = error_code or "internal_error"
    if overrides and code in overrides:
        return overrides[code]
    return (
        (IDENTIFIER_MESSAGES.get(code) if identifier else None)
        or FLOW_MESSAGES.get((page, code))
        or MESSAGES.get(code)
        or GENERAL_MESSAGE
    )
