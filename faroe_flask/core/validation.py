"""Email address and new-password rules (foundations.md F4.1 and F5.1)."""

from __future__ import annotations

import string

MAX_EMAIL_ADDRESS_BYTES = 100
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 100

_ASCII_LETTERS_AND_DIGITS = string.ascii_letters + string.digits
_LOCAL_PART_CHARACTERS = frozenset(_ASCII_LETTERS_AND_DIGITS + "!#%&'*+-/=?^_{|}~.")
_DOMAIN_PART_CHARACTERS = frozenset(_ASCII_LETTERS_AND_DIGITS + ".-")


def is_valid_email_address(email_address: str) -> bool:
    """At most 100 bytes, exactly one ``@``, and non-empty parts of the allowed characters."""
    if len(email_address.encode("utf-8", "surrogatepass")) > MAX_EMAIL_ADDRESS_BYTES:
        return False
    parts = email_address.split("@")
    if len(parts) != 2:
        return False
    local_part, domain_part = parts
    return (
        local_part != ""
        and domain_part != ""
        and _LOCAL_PART_CHARACTERS.issuperset(local_part)
        and _DOMAIN_PART_CHARACTERS.issuperset(domain_part)
    )


def is_valid_password_length(password: str) -> bool:
    """Between 10 and 100 Unicode code points inclusive."""
    return MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH
