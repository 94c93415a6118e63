"""Sessions in the application's own views: the cookie, the current session and user, decorators.

Everything here runs actions in-process (``current_faroe.invoke``), never over HTTP.

Starting and ending a session (in the app's sign-up, sign-in, password-reset and sign-out views)::

    result = current_faroe.invoke("complete_signin", {"signin_token": signin_token})
    if result.ok:
        start_session(result)          # the cookie is set on this request's response
        return redirect(next_url())

    end_session()                      # delete_session, then the cookie is cleared
    end_session(everywhere=True)       # delete_all_sessions (every device), then cleared

``start_session(result_or_values, response=None)`` takes the ``ActionResult`` (or its ``values``)
of ``complete_signup``, ``complete_signin`` or ``complete_user_password_reset``; with
``response=`` the cookie goes on that response at once, otherwise on whatever response this
request returns (an ``after_request`` hook the extension installs). ``end_session(response=None,
*, everywhere=False)`` does the same for clearing. The lower-level pair is
``set_session_cookie(response, session_token, session=None)`` / ``clear_session_cookie(response)``.

The cookie is ``FAROE_SESSION_COOKIE_NAME`` (``faroe_session``) with HttpOnly, Secure
(``FAROE_SESSION_COOKIE_SECURE=False`` for plain-HTTP local development), SameSite=Lax, Path
``/``, an optional Domain, and a Max-Age of the session's inactivity timeout or of the time left
to its absolute expiry, whichever is sooner. It is sent when it changes, not on every response:
when a session starts or ends, when a cookie holding an invalid token is cleared, and, while
``FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST`` is on, when this request's validation moved the
session's inactivity deadline (at most once per ``FAROE_SESSION_ACTIVITY_CHECK_INTERVAL``), with
the new Max-Age. Responses that read the cookie carry ``Vary: Cookie``.

Reading the session: ``get_session_token()`` is the token of this request, from
``Authorization: Bearer <token>`` (when ``FAROE_SESSION_ACCEPT_BEARER``) or else the cookie.
``get_current_session()`` validates it once per request through the engine's typed path
(``Server.get_session``: the same validation as the ``get_session`` action, no JSON values) and
keeps the ``FaroeSession`` (or ``None``) and the user the validation read on ``g``.
``get_current_faroe_user()`` is that user as a ``FaroeUser`` (or ``ANONYMOUS_USER``);
``get_current_user()`` is the application's own object when a user loader is registered
(``@faroe.user_loader``, flask/user_loader.py), else the same ``FaroeUser``. When the user cache
(``FAROE_SESSION_USER_CACHE_EXPIRATION``) let the validation skip the user, the first of these
reads the user and checks it as the validation would have (disabled, deleted, signed out
everywhere: the session is deleted and the request is not signed in). The ``current_session``,
``current_faroe_user`` and ``current_user`` proxies are lazy views of the same; templates see
``current_user``. A token that is invalid, expired, revoked or garbage gives no session and never
raises; a cookie holding such a token is cleared on the response.

Protecting views: ``@login_required`` (a valid session and, when a user loader is registered, a user it
returned) answers 401 (JSON ``{"error": "login_required"}``) to JSON and bearer requests and redirects others to ``FAROE_LOGIN_VIEW`` (an endpoint name or a path)
with ``?next=<this path>``, or answers 401 when no login view is set.
``@login_required(max_age=timedelta(minutes=5))`` and ``@fresh_login_required`` (default
``FAROE_FRESH_SESSION_MAX_AGE``) also require a session created at most that long ago, for
sensitive views; a stale one gets the same answer with ``"error": "fresh_login_required"``.
``next_url(default="/")`` reads a safe (same-site, relative) ``next`` from the request.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, overload
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, has_request_context, jsonify, redirect, request, url_for
from werkzeug.http import parse_cookie
from werkzeug.local import LocalProxy
from werkzeug.routing import BuildError

from ..core.credentials import parse_token
from ..core.envelope import ActionError, ActionResult, ActionSuccess
from ..core.interfaces import User, UserNotFoundError
from ..core.records import Session
from ..core.sessions import SessionSuccess
from .user_loader import UserMixin, load_app_user

if TYPE_CHECKING:
    from werkzeug.sansio.response import Response as BaseResponse

    from .config import ViewSettings
    from .extension import FaroeState

__all__ = [
    "ANONYMOUS_USER",
    "AnonymousUser",
    "FaroeSession",
    "FaroeUser",
    "clear_session_cookie",
    "current_faroe_user",
    "current_session",
    "current_user",
    "end_session",
    "fresh_login_required",
    "get_current_faroe_user",
    "get_current_session",
    "get_current_user",
    "get_session_token",
    "login_required",
    "next_url",
    "session_is_fresh",
    "set_session_cookie",
    "start_session",
    "UserMixin",
]

_logger = logging.getLogger("faroe_flask")

_G_KEY = "_faroe_views"
F = TypeVar("F", bound=Callable[..., Any])
TokenSource = Literal["cookie", "bearer"]


@dataclasses.dataclass(frozen=True)
class FaroeSession:
    """A valid session of this request. ``token`` is secret: it is left out of ``repr``."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    token: str = dataclasses.field(repr=False)
    source: TokenSource = "cookie"

    @classmethod
    def from_model(
        cls, model: Mapping[str, Any], token: str, source: TokenSource = "cookie"
    ) -> FaroeSession:
        """From the protocol's session model (``values["session"]``)."""
        expires_at = model.get("expires_at")
        return cls(
            id=str(model["id"]),
            user_id=str(model["user_id"]),
            created_at=datetime.fromtimestamp(int(model["created_at"]), tz=timezone.utc),
            expires_at=(
                datetime.fromtimestamp(int(expires_at), tz=timezone.utc)
                if expires_at is not None
                else None
            ),
            token=token,
            source=source,
        )

    @classmethod
    def from_record(
        cls, session: Session, expires_at: int | None, token: str, source: TokenSource
    ) -> FaroeSession:
        """From the engine's validated record (the typed path)."""
        return cls(
            session.id,
            session.user_id,
            datetime.fromtimestamp(session.created_at, _UTC),
            None if expires_at is None else datetime.fromtimestamp(expires_at, _UTC),
            token,
            source,
        )


_UTC = timezone.utc


@dataclasses.dataclass(frozen=True)
class FaroeUser:
    """The signed-in user as Faroe knows it. ``record`` is the user store's ``User`` (it holds the
    password hash: do not render it)."""

    id: str
    email_address: str
    display_name: str
    record: User = dataclasses.field(repr=False)
    is_authenticated: bool = dataclasses.field(default=True, init=False)
    is_anonymous: bool = dataclasses.field(default=False, init=False)
    is_active: bool = dataclasses.field(default=True, init=False)

    @classmethod
    def from_user(cls, user: User) -> FaroeUser:
        return cls(user.id, user.email_address, user.display_name, user)

    def get_id(self) -> str:
        return self.id


@dataclasses.dataclass(frozen=True)
class AnonymousUser:
    """``current_user`` when there is no valid session."""

    id: None = None
    email_address: str = ""
    display_name: str = ""
    record: None = None
    is_authenticated: bool = dataclasses.field(default=False, init=False)
    is_anonymous: bool = dataclasses.field(default=True, init=False)
    is_active: bool = dataclasses.field(default=False, init=False)

    def get_id(self) -> None:
        return None


ANONYMOUS_USER = AnonymousUser()


class _RequestState:
    """What this request knows about its session (kept on ``g``)."""

    __slots__ = (
        "faroe", "settings", "token", "source", "cookie_read", "looked_up", "session", "validated",
        "record", "refreshed", "faroe_user", "user", "clear_cookie", "pending_cookie",
    )

    def __init__(self, faroe: FaroeState) -> None:
        self.faroe = faroe
        self.settings: ViewSettings = faroe.views
        self.token: str | None = None
        self.source: TokenSource | None = None
        self.cookie_read = False  # the response then varies on Cookie
        self.looked_up = False
        self.session: FaroeSession | None = None
        self.validated: Session | None = None  # the engine's record of ``session``
        self.record: User | None = None  # the user the validation read (None: not read)
        self.refreshed = False  # the validation moved the session's inactivity deadline
        self.faroe_user: FaroeUser | AnonymousUser | None = None
        self.user: Any = None  # current_user, once known
        self.clear_cookie = False
        # ``start_session`` without a response: set on the response in ``after_request``.
        self.pending_cookie: tuple[str, Mapping[str, Any] | FaroeSession | None] | None = None


# Settings ---------------------------------------------------------------------------------------


def _state() -> FaroeState:
    state: FaroeState | None = current_app.extensions.get("faroe")
    if state is None:
        raise RuntimeError("the Faroe extension is not initialised on the current app")
    return state


def _settings() -> ViewSettings:
    return _state().views


def _now() -> datetime:
    return _state().server.clock.now()


# The cookie -------------------------------------------------------------------------------------


def _max_age(session: Mapping[str, Any] | FaroeSession | None) -> int:
    """The session's inactivity timeout, or the time left to its absolute expiry if sooner."""
    state = _state()
    seconds = state.server.session_config.inactivity_seconds
    expires_at: Any = None
    if isinstance(session, FaroeSession):
        expires_at = session.expires_at.timestamp() if session.expires_at is not None else None
    elif session is not None:
        expires_at = session.get("expires_at")
    if expires_at is not None:
        try:
            left = float(expires_at) - state.server.clock.now().timestamp()
        except (TypeError, ValueError):
            left = seconds
        seconds = min(seconds, left)
    return max(0, int(seconds))


def set_session_cookie(
    response: BaseResponse,
    session_token: str,
    session: Mapping[str, Any] | FaroeSession | None = None,
) -> None:
    """Put ``session_token`` in the session cookie of ``response``.

    ``session`` is the session model of the action's values (or a ``FaroeSession``); it gives the
    absolute expiry, so that Max-Age never outlives the session. Without it, Max-Age is the
    inactivity timeout.
    """
    settings = _settings()
    response.set_cookie(
        settings.cookie_name,
        session_token,
        max_age=_max_age(session),
        path=settings.cookie_path,
        domain=settings.cookie_domain,
        secure=settings.cookie_secure,
        httponly=settings.cookie_httponly,
        samesite=settings.cookie_samesite,
    )


def clear_session_cookie(response: BaseResponse) -> None:
    """Expire the session cookie (same name, Path and Domain as when it was set)."""
    settings = _settings()
    response.delete_cookie(
        settings.cookie_name,
        path=settings.cookie_path,
        domain=settings.cookie_domain,
        secure=settings.cookie_secure,
        httponly=settings.cookie_httponly,
        samesite=settings.cookie_samesite,
    )


# The request's token and session ----------------------------------------------------------------


def _request_state() -> _RequestState:
    """This request's state on ``g`` (made on first use). Only inside a request."""
    app_globals = g._get_current_object()
    state: _RequestState | None = app_globals.get(_G_KEY)
    if state is None:
        state = _RequestState(_state())
        setattr(app_globals, _G_KEY, state)
    return state


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def _read_token(state: _RequestState) -> None:
    environ = request.environ
    if state.settings.accept_bearer:
        token = _bearer(environ.get("HTTP_AUTHORIZATION"))
        # Only a value shaped like a session token (``<24-char id>.<secret>``): another bearer
        # credential (an API gateway's, the Faroe endpoint's secret) leaves the cookie in charge.
        if token is not None and parse_token(token) is not None:
            state.token, state.source = token, "bearer"
            return
    state.cookie_read = True
    if "HTTP_COOKIE" not in environ:
        return
    try:
        # The one header ``request.cookies`` would read, without walking every header.
        cookie = parse_cookie(environ).get(state.settings.cookie_name)
    except ValueError:  # not UTF-8: ``request.cookies`` decodes it leniently
        cookie = request.cookies.get(state.settings.cookie_name)
    if cookie:
        state.token, state.source = cookie, "cookie"


def get_session_token() -> str | None:
    """The session token this request carries (bearer header first, then the cookie), valid or
    not; ``None`` outside a request."""
    if not has_request_context():
        return None
    state = _request_state()
    if not state.looked_up and state.token is None:
        _read_token(state)
    return state.token


def get_current_session() -> FaroeSession | None:
    """The valid session of this request, validated once and kept on ``g``."""
    if not has_request_context():
        return None
    return _session_of(_request_state())


def _session_of(state: _RequestState) -> FaroeSession | None:
    if state.looked_up:
        return state.session
    state.looked_up = True
    if state.token is None:
        _read_token(state)
        if state.token is None:
            return None
    token = state.token
    try:
        result = state.faroe.server.get_session(token)
    except Exception:  # noqa: BLE001 - a token must never turn into a 500
        _logger.exception("looking up the request's session failed")
        return None
    if isinstance(result, SessionSuccess):
        state.session = FaroeSession.from_record(
            result.session, result.expires_at, token, state.source or "cookie"
        )
        state.validated = result.session
        state.record = result.user
        state.refreshed = result.activity_refreshed
    elif result.error_code == "invalid_session_token":
        state.clear_cookie = state.source == "cookie"
    return state.session


def get_current_faroe_user() -> FaroeUser | AnonymousUser:
    """The signed-in user as Faroe knows it (the user the validation read), else
    ``ANONYMOUS_USER``."""
    if not has_request_context():
        return ANONYMOUS_USER
    return _faroe_user_of(_request_state())


def _faroe_user_of(state: _RequestState) -> FaroeUser | AnonymousUser:
    if state.faroe_user is not None:
        return state.faroe_user
    session = _session_of(state)
    user: FaroeUser | AnonymousUser = ANONYMOUS_USER
    if session is not None:
        record = state.record if state.record is not None else _checked_user(state)
        if record is not None:
            user = FaroeUser.from_user(record)
    state.faroe_user = user
    return user


def _checked_user(state: _RequestState) -> User | None:
    """The user of a session the user cache vouched for, read and checked now (F9.3 steps 6 to
    9: a deleted, disabled or signed-out-everywhere user's session is deleted)."""
    if state.validated is None:  # a session started in this request: its user is not known
        return _started_user(state)
    try:
        result = state.faroe.server.get_session_user(state.validated)
    except Exception:  # noqa: BLE001 - a broken user store answers "not signed in"
        _logger.exception("loading the signed-in user failed")
        return None
    if isinstance(result, ActionError):
        if result.error_code == "invalid_session_token":
            state.session = None  # ended: the rest of the request is not signed in
            state.clear_cookie = state.source == "cookie"
        return None
    return result


def _started_user(state: _RequestState) -> User | None:
    """The user of a session ``start_session`` began in this request, from the user store."""
    session = state.session
    assert session is not None
    try:
        return state.faroe.user_store.get_user(session.user_id)
    except UserNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a broken user store answers "not signed in"
        _logger.exception("loading the signed-in user failed")
        return None


def get_current_user() -> Any:
    """``current_user``: the application's object when a user loader is registered (``None``
    from it means not signed in), else the ``FaroeUser``; ``ANONYMOUS_USER`` when not signed in."""
    if not has_request_context():
        return ANONYMOUS_USER
    return _user_of(_request_state())


def _user_of(state: _RequestState) -> Any:
    user = state.user
    if user is not None:
        return user
    faroe_user = _faroe_user_of(state)
    loader = state.faroe.extension.load_user
    if loader is not None and faroe_user is not ANONYMOUS_USER:
        user = load_app_user(loader, faroe_user)
        if user is None:
            user = ANONYMOUS_USER
    else:
        user = faroe_user
    state.user = user
    return user


#: The request's ``FaroeSession``, or ``None`` (test it with ``if current_session:``).
current_session: FaroeSession | None = LocalProxy(get_current_session)  # type: ignore[assignment]
#: The request's ``FaroeUser`` or ``ANONYMOUS_USER``, whatever the user loader returns.
current_faroe_user: FaroeUser | AnonymousUser = LocalProxy(get_current_faroe_user)  # type: ignore[assignment]
#: ``current_user.is_authenticated``: the application's user (user loader), else ``FaroeUser``;
#: ``ANONYMOUS_USER`` when not signed in.
current_user: Any = LocalProxy(get_current_user)


def session_is_fresh(max_age: timedelta | float | None = None) -> bool:
    """Whether this request's session was created at most ``max_age`` ago (default
    ``FAROE_FRESH_SESSION_MAX_AGE``): a recent sign-in, for sensitive views."""
    session = get_current_session()
    if session is None:
        return False
    limit = _as_timedelta(max_age) if max_age is not None else _settings().fresh_session_max_age
    return _now() - session.created_at <= limit


def _as_timedelta(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


# Starting and ending sessions ------------------------------------------------------------------


def _session_values(result: ActionResult | Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    values: Mapping[str, Any]
    if isinstance(result, ActionError):
        raise ValueError("start_session needs a successful result")
    if isinstance(result, ActionSuccess):
        values = result.values
    else:
        values = result
    token = values.get("session_token")
    model = values.get("session")
    if not isinstance(token, str) or not isinstance(model, Mapping):
        raise ValueError(
            "start_session needs the values of complete_signup, complete_signin or "
            "complete_user_password_reset"
        )
    return token, model


def start_session(
    result: ActionResult | Mapping[str, Any], response: BaseResponse | None = None
) -> FaroeSession:
    """Sign the browser in with the session a ``complete_*`` action created.

    Sets the cookie on ``response``, or (without one) on the response this request returns. The
    rest of the request sees the new session as ``current_session``/``current_user``.
    """
    token, model = _session_values(result)
    session = FaroeSession.from_model(model, token, "cookie")
    if has_request_context():
        state = _request_state()
        state.token, state.source, state.looked_up = token, "cookie", True
        state.session, state.validated, state.record = session, None, None
        state.faroe_user = state.user = None
        state.clear_cookie = state.refreshed = False
        state.pending_cookie = None if response is not None else (token, model)
    if response is not None:
        set_session_cookie(response, token, model)
    return session


def end_session(response: BaseResponse | None = None, *, everywhere: bool = False) -> bool:
    """Sign out: ``delete_session`` (or ``delete_all_sessions`` with ``everywhere=True``) on this
    request's token, then clear the cookie on ``response`` (or on the response this request
    returns). Returns whether a session was ended; the cookie is cleared either way."""
    token = get_session_token()
    ended = False
    if token is not None:
        action = "delete_all_sessions" if everywhere else "delete_session"
        try:
            ended = _state().invoke(action, {"session_token": token}).ok
        except Exception:  # noqa: BLE001 - signing out must not turn into a 500
            _logger.exception("ending the request's session failed")
    state = _request_state()
    state.looked_up, state.token, state.session, state.validated = True, None, None, None
    state.record, state.faroe_user, state.user = None, ANONYMOUS_USER, ANONYMOUS_USER
    state.pending_cookie, state.refreshed = None, False
    if response is not None:
        clear_session_cookie(response)
        state.clear_cookie = False
    else:
        state.clear_cookie = True
    return ended


# Protecting views -------------------------------------------------------------------------------


def _wants_json() -> bool:
    if request.is_json:
        return True
    state = _request_state()
    if state.source == "bearer":
        return True
    accept = request.accept_mimetypes
    return bool(accept) and accept.best_match(["text/html", "application/json"]) == "application/json"


def _login_url(settings: ViewSettings) -> str | None:
    # Read at use: FAROE_LOGIN_VIEW set after Faroe(app) counts too (else the one read then, or
    # the account pages' sign-in).
    view = current_app.config.get("FAROE_LOGIN_VIEW") or settings.login_view
    if not isinstance(view, str):
        return None
    if view.startswith("/"):
        return view
    try:
        return url_for(view)
    except BuildError:
        _logger.error("FAROE_LOGIN_VIEW names an endpoint that does not exist")
        return None


def _unauthorised(reason: str) -> Response:
    settings = _settings()
    login = None if _wants_json() else _login_url(settings)
    if login is None:
        response = jsonify(error=reason)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    separator = "&" if "?" in login else "?"
    return cast(Response, redirect(login + separator + urlencode({"next": request.full_path.rstrip("?")})))


_NO_MAX_AGE = object()


def _requiring(max_age: Any) -> Callable[[F], F]:
    """A decorator: a valid session, and when ``max_age`` is not ``_NO_MAX_AGE`` a fresh one
    (``None``: ``FAROE_FRESH_SESSION_MAX_AGE``)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            state = _request_state()
            if _session_of(state) is None or (
                state.faroe.extension.load_user is not None and not _user_of(state).is_authenticated
            ):
                return _unauthorised("login_required")
            if max_age is not _NO_MAX_AGE and not session_is_fresh(max_age):
                return _unauthorised("fresh_login_required")
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


@overload
def login_required(view: F) -> F: ...


@overload
def login_required(
    view: None = None, *, max_age: timedelta | float | None = None
) -> Callable[[F], F]: ...


def login_required(
    view: F | None = None, *, max_age: timedelta | float | None = None
) -> F | Callable[[F], F]:
    """Let the view run only with a valid session (and, with ``max_age``, a fresh one).

    ``@login_required`` or ``@login_required(max_age=timedelta(minutes=5))``. Otherwise JSON and
    bearer requests get 401 and others a redirect to ``FAROE_LOGIN_VIEW`` with ``next``.
    """
    decorate = _requiring(_NO_MAX_AGE if max_age is None else max_age)
    return decorate(view) if view is not None else decorate


@overload
def fresh_login_required(view: F) -> F: ...


@overload
def fresh_login_required(
    view: None = None, *, max_age: timedelta | float | None = None
) -> Callable[[F], F]: ...


def fresh_login_required(
    view: F | None = None, *, max_age: timedelta | float | None = None
) -> F | Callable[[F], F]:
    """``login_required`` with a session created at most ``max_age`` ago (default
    ``FAROE_FRESH_SESSION_MAX_AGE``, 10 minutes)."""
    decorate = _requiring(max_age)
    return decorate(view) if view is not None else decorate


def next_url(default: str = "/") -> str:
    """The request's ``next`` argument when it is a same-site path, else ``default``."""
    target = request.values.get("next", "")
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not any(character in target for character in "\r\n\t\\")
    ):
        return target
    return default


# The hook the extension installs ----------------------------------------------------------------


def _after_request(response: Response) -> Response:
    state: _RequestState | None = g.get(_G_KEY)
    if state is None:
        return response  # nothing looked at the session: nothing to do
    try:
        _finish(state, response)
    except Exception:  # noqa: BLE001 - the cookie must not break the answer
        _logger.exception("updating the session cookie failed")
    return response


def _finish(state: _RequestState, response: Response) -> None:
    """``Vary: Cookie`` when the cookie was read; the cookie when it changed: a session started
    or ended, an invalid token to clear, or (``FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST``) a
    session whose inactivity deadline this request moved."""
    if state.cookie_read or state.pending_cookie is not None:
        _vary_on_cookie(response)
    settings = state.settings
    token: str | None
    session: Mapping[str, Any] | FaroeSession | None
    if state.pending_cookie is not None:
        token, session = state.pending_cookie
    elif state.clear_cookie:
        token = session = None
    elif (
        state.refreshed
        and settings.refresh_each_request
        and state.session is not None
        and state.session.source == "cookie"
    ):
        token, session = state.session.token, state.session
    else:
        return
    if _sets_cookie(response, settings.cookie_name):
        return  # the view set or cleared it itself
    if token is None:
        clear_session_cookie(response)
    else:
        set_session_cookie(response, token, session)


def _vary_on_cookie(response: Response) -> None:
    if response.headers.get("Vary"):
        response.vary.add("Cookie")
    else:
        response.headers["Vary"] = "Cookie"


def _sets_cookie(response: Response, name: str) -> bool:
    prefix = name + "="
    return any(value.startswith(prefix) for value in response.headers.getlist("Set-Cookie"))


def _template_context() -> dict[str, Any]:
    return {"current_user": current_user}


def install(app: Flask) -> None:
    """Called by ``Faroe.init_app``: the cookie after each request, ``current_user`` in templates."""
    app.after_request(_after_request)
    app.context_processor(_template_context)
