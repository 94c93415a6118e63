"""Decoys: the answers of a flow that does not exist, for a front end that must not tell an
address with no account (or a disabled one) from any other. The account pages use them in their
generic-responses mode (``FAROE_PAGES_GENERIC_RESPONSES``, docs/pages-security.md); they are not
actions and the endpoint never runs them.

* **Sign-in.** An unknown or disabled address costs one password hash of the configured user
  algorithm, as a wrong password does, and gets the same sentence (``incorrect_credentials``).
  Its attempts are counted in a bucket of the same size and refill as the per-user
  password bucket, keyed by the address, so "too many attempts" comes just as soon.
* **Sign-up with a taken address** and **reset of an unknown (or disabled) address** go on to
  the next page ("check your email") like a real flow, as a *decoy*: a flow with no record
  behind it whose steps answer as a real flow of someone who does not have the email would
  (a wrong code, a wrong temporary password, then ``rate_limited``; expired after the flow's
  lifetime). The sign-up decoy uses the very buckets a real sign-up of that address uses; the
  reset decoy a bucket of the same size as the per-user one. The owner of a taken address gets a
  ``signup_attempt_notification`` email; the owner of a disabled one a
  ``user_password_reset_attempt_notification``.

Each decoy runs like an action (a ``Context``, the core's buckets, ``internal_error`` logged)
and answers an ``ActionResult``, so a front end treats both kinds of flow alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from .actions import Context, Values, fail
from .credentials import generate_id, generate_temporary_password
from .envelope import ActionError, ActionResult, ActionSuccess
from .flows.common import send_required
from .interfaces import UserNotFoundError
from .models import SIGNUP_LIFETIME, USER_PASSWORD_RESET_LIFETIME
from .ratelimit import (
    SEND_EMAIL,
    VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE,
    VERIFY_USER_PASSWORD,
    VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD,
    BucketKind,
)
from .server import Server

__all__ = [
    "INCORRECT_CREDENTIALS",
    "AttemptNoticeSender",
    "decoy_signin",
    "decoy_step",
    "start_reset_decoy",
    "start_signup_decoy",
]

#: The pseudo error code of a failed sign-in in generic mode (its sentence names no cause).
INCORRECT_CREDENTIALS = "incorrect_credentials"

# The decoys' own buckets: the size and refill of the per-user ones, keyed by address.
_SIGNIN = BucketKind("decoy.signin.", VERIFY_USER_PASSWORD.capacity, VERIFY_USER_PASSWORD.refill_interval)
_RESET = BucketKind(
    "decoy.reset.",
    VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD.capacity,
    VERIFY_USER_PASSWORD_RESET_TEMPORARY_PASSWORD.refill_interval,
)


@runtime_checkable
class AttemptNoticeSender(Protocol):
    """The two emails of generic mode (``TemplateEmailSender`` has them)."""

    def send_signup_attempt_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None: ...

    def send_user_password_reset_attempt_notification(
        self, email_address: str, display_name: str, timestamp: datetime
    ) -> None: ...


def _run(server: Server, name: str, step: Callable[[Context], Values]) -> ActionResult:
    """Run ``step`` as an action would run: failures become error codes, surprises are logged
    (as an action's: the line ends with the answer, ``; answered internal_error``)."""
    invocation_id = generate_id()
    ctx = Context(server, name, invocation_id, server.clock.now())
    try:
        values = step(ctx)
    except Exception as exc:  # noqa: BLE001 - as an action: its failure's code, or internal_error
        return server._failed(ctx, exc)
    return ActionSuccess(invocation_id, values)


def _notify(ctx: Context, message: str, email_address: str) -> None:
    """Send one of the two notices to the owner of ``email_address``; failure is internal_error,
    as the email of the flow it stands for would be."""
    try:
        display_name = ctx.server.user_store.get_user_by_email_address(email_address).display_name
    except UserNotFoundError:
        display_name = ""
    sender = ctx.server.email_sender
    if not isinstance(sender, AttemptNoticeSender):
        raise TypeError("the email sender cannot send the generic-responses notices")
    send = getattr(sender, f"send_{message}")
    send_required(ctx, lambda: send(email_address, display_name, ctx.now), message.replace("_", " "))


# Sign-in ----------------------------------------------------------------------------------------


def decoy_signin(server: Server, email_address: str, password: str) -> ActionError:
    """For an unknown or disabled address: the cost and the answer of a wrong password."""

    def step(ctx: Context) -> Values:
        _SIGNIN.take(ctx, email_address)
        ctx.server.passwords.hash_user_password(password)
        fail(INCORRECT_CREDENTIALS)

    result = _run(server, "decoy_signin", step)
    assert isinstance(result, ActionError)
    return result


# Starting a decoy -------------------------------------------------------------------------------


def start_signup_decoy(server: Server, email_address: str) -> ActionResult:
    """``create_signup``'s remaining steps for a taken address; the owner gets a notice."""

    def step(ctx: Context) -> Values:
        if not ctx.server.email_address_checker.is_allowed(email_address):
            fail("email_address_not_allowed")
        VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, email_address)
        SEND_EMAIL.take(ctx, email_address)
        _notify(ctx, "signup_attempt_notification", email_address)
        return {}

    return _run(server, "decoy_signup", step)


def start_reset_decoy(server: Server, email_address: str, *, disabled: bool) -> ActionResult:
    """``create_user_password_reset``'s steps for an address with no enabled account; the owner
    of a disabled one gets a notice."""

    def step(ctx: Context) -> Values:
        _RESET.require(ctx, email_address)
        SEND_EMAIL.take(ctx, email_address)
        ctx.server.passwords.hash_temporary_password(generate_temporary_password())
        if disabled:
            _notify(ctx, "user_password_reset_attempt_notification", email_address)
        return {}

    return _run(server, "decoy_reset", step)


# The steps of a decoy ---------------------------------------------------------------------------


def _signup_step(action: str, email_address: str) -> Callable[[Context], Values]:
    def step(ctx: Context) -> Values:
        if action == "verify_signup_email_address_verification_code":
            VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.take(ctx, email_address)
            fail("incorrect_email_address_verification_code")
        if action == "send_signup_email_address_verification_code":
            VERIFY_EMAIL_ADDRESS_VERIFICATION_CODE.require(ctx, email_address)
            SEND_EMAIL.take(ctx, email_address)
            _notify(ctx, "signup_attempt_notification", email_address)
        elif action in ("set_signup_password", "complete_signup"):
            fail("email_address_not_verified")
        return {}

    return step


def _reset_step(action: str, email_address: str) -> Callable[[Context], Values]:
    def step(ctx: Context) -> Values:
        if action == "verify_user_password_reset_temporary_password":
            _RESET.take(ctx, email_address)
            ctx.server.passwords.hash_temporary_password(generate_temporary_password())
            fail("incorrect_temporary_password")
        if action in ("set_user_password_reset_new_password", "complete_user_password_reset"):
            fail("user_first_factor_not_verified")
        return {}

    return step


_KINDS = {
    "signup": (_signup_step, SIGNUP_LIFETIME, "invalid_signup_token"),
    "reset": (_reset_step, USER_PASSWORD_RESET_LIFETIME, "invalid_user_password_reset_token"),
}


def decoy_step(server: Server, flow: str, action: str, email_address: str, started_at: float) -> ActionResult:
    """What ``action`` answers on a decoy of ``flow`` ("signup" or "reset") started at
    ``started_at`` (unix seconds): expired after the flow's lifetime, as a real one."""
    make_step, lifetime, expired_code = _KINDS[flow]
    real_step = make_step(action, email_address)

    def step(ctx: Context) -> Values:
        if ctx.timestamp - started_at >= lifetime:
            fail(expired_code)
        return real_step(ctx)

    return _run(server, f"decoy_{flow}", step)
