"""The fields of the pages' entry forms (sign in, sign up, password reset).

Each entry form starts with the identifier, the input ``email_address``. On sign-in and reset it
takes an email address, or, when the application has an ``identifier_resolver``, "email address
or username" (``Faroe.identifier_label``, a text input), resolved by ``identity.start_signin`` /
``identity.start_password_reset``. The sign-up form goes on with the application's own
``Faroe.signup_fields`` (``hooks.SignupField``), read and checked by
``identity.read_signup_fields`` and handed to its ``signup_fields_receiver`` when the user is
created: the same fields, checks and receiver as the view glue and the testing helpers.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from .extension import current_faroe
from .hooks import SignupField

__all__ = ["IDENTIFIER", "Page", "entry_form", "identifier_field", "resolves_identifiers"]

Page = Literal["signin", "signup", "reset"]

#: The input every entry form starts with.
IDENTIFIER = "email_address"
_EMAIL_ADDRESS = SignupField(
    IDENTIFIER, "Email address", max_length=100, input_type="email", autocomplete="email",
    attributes={"spellcheck": "false"},
)


def resolves_identifiers(page: str) -> bool:
    """Whether ``page``'s identifier is "email address or username" (a resolver is set)."""
    return page in ("signin", "reset") and current_faroe.extension.resolves_identifiers


def identifier_field(page: Page) -> SignupField:
    if resolves_identifiers(page):
        label = current_faroe.extension.identifier_label
        return dataclasses.replace(
            _EMAIL_ADDRESS, label=label, input_type="text", autocomplete="username",
            attributes={"spellcheck": "false", "autocapitalize": "none"},
        )
    # On the sign-in form the address is what password managers call the username.
    return dataclasses.replace(_EMAIL_ADDRESS, autocomplete="username") if page == "signin" else _EMAIL_ADDRESS


def entry_form(page: Page, values: dict[str, str] | None = None, **context: Any) -> dict[str, Any]:
    """The template context of an entry form: its fields and what was typed."""
    fields = (identifier_field(page), *(current_faroe.extension.signup_fields if page == "signup" else ()))
    values = values or {}
    return {"form": fields, "values": values, "email_address": values.get(IDENTIFIER, ""), **context}
