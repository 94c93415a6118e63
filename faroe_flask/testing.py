"""Helpers for testing an application that uses faroe-flask (needs Flask, like the extension).

A test of a protected view, in a few lines (``create_app`` being the app's factory, which passes
its keyword arguments on to ``Faroe(app, ...)``)::

    from faroe_flask.testing import FAST_PASSWORD_HASHING, memory_parts, sign_up_client

    def test_profile_needs_a_session():
        app = create_app({"TESTING": True, **FAST_PASSWORD_HASHING}, **memory_parts())
        client = app.test_client()
        assert client.get("/profile").status_code == 302
        sign_up_client(client, "ada@example.com")
        assert client.get("/profile").status_code == 200

* ``memory_parts()``: ``MemoryStorage``, ``MemoryUserStore``, an ``Outbox`` and the offline
  password strength check (no internet), as keyword arguments for ``Faroe``.
* ``FAST_PASSWORD_HASHING``: ``FAROE_*_ARGON2_*`` settings with tiny Argon2id parameters (real
  Argon2id, a millisecond per hash). ``memory_faroe`` applies them with ``setdefault``, and
  ``FAROE_CLIENT_LIMITS = "off"`` too (a test client is one address making many requests; set
  it ``"on"`` in a test about the per-client limits).
* ``Outbox``: an email sender that renders Faroe's messages from the real templates (yours
  included) and keeps them, with the verification ``code`` and ``temporary_password`` taken out;
  ``outbox.code_for(address)``, ``outbox.temporary_password_for(address)``.
* ``sign_up(address, password, fields=...)`` / ``sign_in(identifier, password)`` run the whole
  flow in-process, through the application's hooks (``faroe_flask.flask.identity``: the sign-up
  fields, e.g. ``fields={"username": "ada"}``, reach its ``signup_fields_receiver``; the
  identifier, an email address or e.g. a username, goes through its ``identifier_resolver``), and
  return a ``SignedIn`` (``session_token``, ``session``, ``user_id``, ``email_address``);
  ``sign_up_client(client, ...)`` / ``sign_in_client(client, ...)`` also put the session cookie on
  a Flask test client, and ``bearer_headers(signed_in)`` gives ``Authorization`` headers for API
  tests.
* ``close_faroe(app)``: close the connections of the app's Faroe (``Faroe.close``); the pytest
  plugin does it when the ``app`` fixture is torn down.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from flask.testing import FlaskClient

from .core.envelope import ActionResult
from .core.interfaces import EmailSender, PasswordStrengthChecker
from .flask import identity
from .flask.extension import Faroe, FaroeState
from .flask.lifecycle import close_app
from .flask.mail import TemplateEmailSender, is_undeliverable
from .flask.views import FaroeSession
from .memory import MemoryStorage, MemoryUserStore

__all__ = [
    "FAST_PASSWORD_HASHING",
    "TEST_PASSWORD",
    "OutboxEmail",
    "Outbox",
    "SignedIn",
    "memory_parts",
    "memory_faroe",
    "outbox_of",
    "sign_up",
    "sign_in",
    "sign_up_client",
    "sign_in_client",
    "set_client_session",
    "clear_client_session",
    "bearer_headers",
    "close_faroe",
]

#: Real Argon2id with tiny parameters, for tests only (never in production).
FAST_PASSWORD_HASHING: Mapping[str, int] = {
    "FAROE_USER_PASSWORD_ARGON2_MEMORY_COST": 64,
    "FAROE_USER_PASSWORD_ARGON2_TIME_COST": 1,
    "FAROE_USER_PASSWORD_ARGON2_PARALLELISM": 1,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_MEMORY_COST": 32,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_TIME_COST": 1,
    "FAROE_TEMPORARY_PASSWORD_ARGON2_PARALLELISM": 1,
}

#: A password the offline strength check accepts.
TEST_PASSWORD = "tangerine-Viaduct-4821"


@dataclasses.dataclass(frozen=True)
class OutboxEmail:
    """One captured message. ``message`` is its name (``signup_email_address_verification_code``,
    ``user_password_reset_temporary_password``, ...); ``text``/``html`` are the rendered bodies."""

    message: str
    to: str
    subject: str
    text: str = dataclasses.field(repr=False)
    html: str = dataclasses.field(repr=False)
    code: str | None = dataclasses.field(default=None, repr=False)
    temporary_password: str | None = dataclasses.field(default=None, repr=False)
    new_email_address: str | None = None


class Outbox(TemplateEmailSender):
    """An ``EmailSender`` that keeps every message instead of sending it. Thread-safe.

    With ``app``, the app's own templates override the packaged ones, as with the real senders.
    ``forward_to`` also hands every message to another sender (e.g. a real SMTP one).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        subjects: Mapping[str, str] | None = None,
        forward_to: EmailSender | None = None,
    ) -> None:
        super().__init__(app, subjects)
        self.forward_to = forward_to
        self._messages: list[OutboxEmail] = []
        self._lock = threading.Lock()

    @property
    def messages(self) -> list[OutboxEmail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def _send(self, message: str, to: str, **context: Any) -> None:
        if is_undeliverable(message, to):
            return  # as the real senders: no notification to a ``.invalid`` address
        if self.app is not None:
            with self.app.app_context():
                rendered = self.renderer.render(message, to, **context)
        else:
            rendered = self.renderer.render(message, to, **context)
        email = OutboxEmail(
            message=message,
            to=to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            code=context.get("code"),
            temporary_password=context.get("temporary_password"),
            new_email_address=context.get("new_email_address"),
        )
        with self._lock:
            self._messages.append(email)
        if self.forward_to is not None:
            # The context holds the EmailSender methods' own argument names.
            getattr(self.forward_to, "send_" + message)(to, **context)

    def to(self, email_address: str, message: str | None = None) -> list[OutboxEmail]:
        """The messages sent to ``email_address`` (of one kind, when given), oldest first."""
        return [
            email
            for email in self.messages
            if email.to == email_address and (message is None or email.message == message)
        ]

    def last(self, email_address: str | None = None, message: str | None = None) -> OutboxEmail:
        """The newest message (to ``email_address``, of kind ``message``); AssertionError if none."""
        found = [
            email
            for email in self.messages
            if (email_address is None or email.to == email_address)
            and (message is None or email.message == message)
        ]
        assert found, "no such message in the outbox"
        return found[-1]

    def code_for(self, email_address: str) -> str:
        """The newest verification code sent to ``email_address`` (signup or email change)."""
        for email in reversed(self.messages):
            if email.to == email_address and email.code is not None:
                return email.code
        raise AssertionError("no verification code was sent to that address")

    def temporary_password_for(self, email_address: str) -> str:
        """The newest temporary password (password reset) sent to ``email_address``."""
        for email in reversed(self.messages):
            if email.to == email_address and email.temporary_password is not None:
                return email.temporary_password
        raise AssertionError("no temporary password was sent to that address")


def _offline_checker() -> PasswordStrengthChecker:
    from .core.strength import common_passwords_checker

    return common_passwords_checker()


def memory_parts(app: Flask | None = None, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for ``Faroe(...)``: memory storage and users, an ``Outbox`` and the
    offline strength check. ``overrides`` replace any of them (or add others, e.g. ``clock=``)."""
    parts: dict[str, Any] = {
        "storage": MemoryStorage(),
        "user_store": MemoryUserStore(),
        "email_sender": Outbox(app),
        "password_strength_checker": _offline_checker(),
    }
    parts.update(overrides)
    return parts


def memory_faroe(app: Flask, **faroe_kwargs: Any) -> Faroe:
    """``Faroe(app)`` on ``memory_parts(app)`` with ``FAST_PASSWORD_HASHING`` and the per-client
    limits off (setdefault)."""
    for key, value in FAST_PASSWORD_HASHING.items():
        app.config.setdefault(key, value)
    app.config.setdefault("FAROE_CLIENT_LIMITS", "off")
    return Faroe(app, **memory_parts(app, **faroe_kwargs))


def _faroe_state(app: Flask | None) -> FaroeState:
    target = app if app is not None else current_app
    state = target.extensions.get("faroe")
    if state is None:
        raise RuntimeError("the Faroe extension is not initialised on this app")
    return state  # type: ignore[no-any-return]


def outbox_of(app: Flask | None = None) -> Outbox:
    """The ``Outbox`` the app's Faroe sends through (``memory_parts`` / ``memory_faroe``)."""
    sender = _faroe_state(app).server.email_sender
    if not isinstance(sender, Outbox):
        raise RuntimeError("this app's Faroe does not send through an Outbox: pass memory_parts()")
    return sender


@dataclasses.dataclass(frozen=True)
class SignedIn:
    """A new session: ``session_token`` is its (secret) token, ``session`` its details."""

    session_token: str = dataclasses.field(repr=False)
    session: FaroeSession
    user_id: str
    email_address: str


def _run(app: Flask | None, action: str, **arguments: str) -> dict[str, Any]:
    state = _faroe_state(app)
    return _values(action, state.invoke(action, arguments))


def _values(action: str, result: ActionResult) -> dict[str, Any]:
    if not result.ok:
        raise AssertionError(f"{action} failed with {result.error_code}")
    return result.values


def _signed_in(values: Mapping[str, Any], email_address: str) -> SignedIn:
    token = values["session_token"]
    session = FaroeSession.from_model(values["session"], token)
    return SignedIn(token, session, session.user_id, email_address)


def sign_up(
    email_address: str,
    password: str = TEST_PASSWORD,
    *,
    app: Flask | None = None,
    fields: Mapping[str, str] | None = None,
) -> SignedIn:
    """Create an account through the whole signup flow (in-process) and return its session.

    Reads the verification code from the app's ``Outbox``. Without ``app``, uses the current app.
    ``fields`` are the application's own sign-up fields (``faroe.signup_fields``), handed to its
    ``signup_fields_receiver``; unacceptable ones raise ``InvalidSignupFields``.
    """
    target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    outbox = outbox_of(target)
    with target.app_context():
        signup_token = _run(target, "create_signup", email_address=email_address)["signup_token"]
        _run(
            target,
            "verify_signup_email_address_verification_code",
            signup_token=signup_token,
            email_address_verification_code=outbox.code_for(email_address),
        )
        _run(target, "set_signup_password", signup_token=signup_token, password=password)
        completed = identity.complete_signup(signup_token, fields)
        return _signed_in(_values("complete_signup", completed), email_address)


def sign_in(identifier: str, password: str = TEST_PASSWORD, *, app: Flask | None = None) -> SignedIn:
    """Sign an existing user in (in-process) and return the new session. ``identifier`` is an
    email address, or anything the app's ``identifier_resolver`` knows (a username)."""
    target = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]
    with target.app_context():
        signin_token = _values("create_signin", identity.start_signin(identifier))["signin_token"]
        _run(target, "verify_signin_user_password", signin_token=signin_token, password=password)
        completed = _run(target, "complete_signin", signin_token=signin_token)
        return _signed_in(completed, identity.resolve_identifier(identifier) or identifier)


def set_client_session(client: FlaskClient, signed_in: SignedIn | str) -> None:
    """Put a session token in the test client's session cookie (name, path and domain from the
    app's ``FAROE_SESSION_COOKIE_*``)."""
    token = signed_in if isinstance(signed_in, str) else signed_in.session_token
    settings = _faroe_state(client.application).views
    client.set_cookie(
        settings.cookie_name,
        token,
        path=settings.cookie_path,
        domain=settings.cookie_domain or "localhost",
    )


def clear_client_session(client: FlaskClient) -> None:
    """Remove the session cookie from the test client."""
    settings = _faroe_state(client.application).views
    client.delete_cookie(
        settings.cookie_name, path=settings.cookie_path, domain=settings.cookie_domain or "localhost"
    )


def sign_up_client(
    client: FlaskClient,
    email_address: str,
    password: str = TEST_PASSWORD,
    *,
    fields: Mapping[str, str] | None = None,
) -> SignedIn:
    """``sign_up`` on the client's app, then set the session cookie on the client."""
    signed_in = sign_up(email_address, password, app=client.application, fields=fields)
    set_client_session(client, signed_in)
    return signed_in


def sign_in_client(
    client: FlaskClient, identifier: str, password: str = TEST_PASSWORD
) -> SignedIn:
    """``sign_in`` on the client's app, then set the session cookie on the client."""
    signed_in = sign_in(identifier, password, app=client.application)
    set_client_session(client, signed_in)
    return signed_in


def close_faroe(app: Flask) -> None:
    """Close the connections of the app's Faroe parts (nothing when the app has no Faroe)."""
    close_app(app)


def bearer_headers(signed_in: SignedIn | str) -> dict[str, str]:
    """``{"Authorization": "Bearer <session token>"}`` for API requests."""
    token = signed_in if isinstance(signed_in, str) else signed_in.session_token
    return {"Authorization": f"Bearer {token}"}
