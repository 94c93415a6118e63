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
to its absolute expiry, whichever is sooner. While ``FAROE_SESSION_COOKIE_REFRESH_EACH_REQUEST``
is on, a request whose cookie held a valid session re-sends it with a fresh Max-Age, as the
session's inactivity deadline moves forward.

Reading the session: ``get_session_token()`` is the token of this request, from
``Authorization: Bearer <token>`` (when ``FAROE_SESSION_ACCEPT_BEARER``) or else the cookie.
``get_current_session()`` validates it once per request with ``get_session`` and caches the
``FaroeSession`` (or ``None``) on ``g``; ``get_current_user()`` loads the user from the
configured user store on first use (a ``FaroeUser``, or ``ANONYMOUS_USER``). The
``current_session`` and ``current_user`` proxies are lazy views of the same. A token that is
invalid, expired, revoked or garbage gives no session and never raises; a cookie holding such a
token is cleared on the response.

Protecting views: ``@login_required`` answers 401 (JSON ``{"error": "login_required"}``) to JSON
and bearer requests and redirects others to ``FAROE_LOGIN_VIEW`` (an endpoint name or a path)
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
from werkzeug.local import LocalProxy
from werkzeug.routing import BuildError

from ..core.credentials import parse_token
from ..core.envelope import ActionError, ActionResult, ActionSuccess
from ..core.interfaces import User, UserNotFoundError

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
    "current_session",
    "current_user",
    "end_session",
    "fresh_login_required",
    "get_current_session",
    "get_current_user",
    "get_session_token",
    "login_required",
    "next_url",
    "session_is_fresh",
    "set_session_cookie",
    "start_session",
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


@dataclasses.dataclass(frozen=True)
class FaroeUser:
    """The signed-in user. ``record`` is the user store's ``User`` (it holds the password hash:
    do not render it)."""

    id: str
    email_address: str
    display_name: str
    record: User = dataclasses.field(repr=False)
    is_authenticated: bool = dataclasses.field(default=True, init=False)
    is_anonymous: bool = dataclasses.field(default=False, init=False)

    @classmethod
    def from_user(cls, user: User) -> FaroeUser:
        return cls(user.id, user.email_address, user.display_name, user)


@dataclasses.dataclass(frozen=True)
class AnonymousUser:
    """``current_user`` when there is no valid session."""

    id: None = None
    email_address: str = ""
    display_name: str = ""
    record: None = None
    is_authenticated: bool = dataclasses.field(default=False, init=False)
    is_anonymous: bool = dataclasses.field(default=True, init=False)


ANONYMOUS_USER = AnonymousUser()


@dataclasses.dataclass
class _RequestState:
    """What this request knows about its session (kept on ``g``)."""

    token: str | None = None
    source: TokenSource | None = None
    looked_up: bool = False
    session: FaroeSession | None = None
    user: FaroeUser | AnonymousUser | None = None
    clear_cookie: bool = False
    # ``start_session`` without a response: set on the response in ``after_request``.
    pending_cookie: tuple[str, Mapping[str, Any] | None] | None = None


# Settings ---------------------------------------------------------------------------------------


def _state() -> FaroeState:
    state = current_app.extensions.get("faroe")
    if state is None:
        raise RuntimeError("the Faroe extension is not initialised on the current app")
    return cast("FaroeState", state)


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
    state = g.get(_G_KEY)
    if state is None:
        state = _RequestState()
        setattr(g, _G_KEY, state)
    return cast(_RequestState, state)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def _read_token(settings: ViewSettings) -> tuple[str | None, TokenSource | None]:
    if settings.accept_bearer:
        token = _bearer(request.headers.get("Authorization"))
        # Only a value shaped like a session token (``<24-char id>.<secret>``): another bearer
        # credential (an API gateway's, the Faroe endpoint's secret) leaves the cookie in charge.
        if token is not None and _looks_like_token(token):
            return token, "bearer"
    cookie = request.cookies.get(settings.cookie_name)
    if cookie:
        return cookie, "cookie"
    return None, None


def _looks_like_token(token: str) -> bool:
    return parse_token(token) is not None


def get_session_token() -> str | None:
    """The session token this request carries (bearer header first, then the cookie), valid or
    not; ``None`` outside a request."""
    if not has_request_context():
        return None
    state = _request_state()
    if not state.looked_up and state.token is None:
        state.token, state.source = _read_token(_settings())
    return state.token


def get_current_session() -> FaroeSession | None:
    """The valid session of this request, validated once (``get_session``) and cached on ``g``."""
    if not has_request_context():
        return None
    state = _request_state()
    if state.looked_up:
        return state.session
    token = get_session_token()
    state.looked_up = True
    if token is None:
        return None
    try:
        result = _state().invoke("get_session", {"session_token": token})
    except Exception:  # noqa: BLE001 - a token must never turn into a 500
        _logger.exception("looking up the request's session failed")
        return None
    if result.ok and result.values is not None:
        try:
            state.session = FaroeSession.from_model(
                result.values["session"], token, state.source or "cookie"
            )
        except (KeyError, TypeError, ValueError):
            _logger.error("get_session answered a malformed session model")
    elif result.error_code == "invalid_session_token":
        state.clear_cookie = state.source == "cookie"
    return state.session


def get_current_user() -> FaroeUser | AnonymousUser:
    """The signed-in user (loaded from the user store on first use), else ``ANONYMOUS_USER``."""
    if not has_request_context():
        return ANONYMOUS_USER
    state = _request_state()
    if state.user is not None:
        return state.user
    session = get_current_session()
    user: FaroeUser | AnonymousUser = ANONYMOUS_USER
    if session is not None:
        try:
            user = FaroeUser.from_user(_state().user_store.get_user(session.user_id))
        except UserNotFoundError:
            pass
        except Exception:  # noqa: BLE001 - a broken user store answers "not signed in"
            _logger.exception("loading the signed-in user failed")
    state.user = user
    return user


#: The request's ``FaroeSession``, or ``None`` (test it with ``if current_session:``).
current_session: FaroeSession | None = cast(
    "FaroeSession | None", LocalProxy(get_current_session)
)
#: The request's ``FaroeUser`` or ``ANONYMOUS_USER``; ``current_user.is_authenticated``.
current_user: FaroeUser | AnonymousUser = cast(
    "FaroeUser | AnonymousUser", LocalProxy(get_current_user)
)


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
        state.session, state.user, state.clear_cookie = session, None, False
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
    state.looked_up, state.token, state.session, state.user = True, None, None, ANONYMOUS_USER
    state.pending_cookie = None
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
            if get_current_session() is None:
                return _unauthorised("login_required")
            if max_age is not _NO_MAX_AGE and not session_is_fresh(max_age):
                return _unauthorised("fresh_login_required")
            return function(*args, **kwargs)

        return cast(F, wrapper)

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
    state = g.get(_G_KEY)
    if state is None:
        return response  # nothing looked at the session: nothing to do
    try:
        _finish(cast(_RequestState, state), response)
    except Exception:  # noqa: BLE001 - the cookie must not break the answer
        _logger.exception("updating the session cookie failed")
    return response


def _finish(state: _RequestState, response: Response) -> None:
    settings = _settings()
    if state.source == "cookie" or state.pending_cookie is not None:
        response.vary.add("Cookie")
    if _sets_cookie(response, settings.cookie_name):
        return  # the view set or cleared it itself
    if state.pending_cookie is not None:
        set_session_cookie(response, *state.pending_cookie)
    elif state.clear_cookie:
        clear_session_cookie(response)
    elif (
        settings.refresh_each_request
        and state.session is not None
        and state.session.source == "cookie"
    ):
        set_session_cookie(response, state.session.token, state.session)


def _sets_cookie(response: Response, name: str) -> bool:
    prefix = name + "="
    return any(value.startswith(prefix) for value in response.headers.getlist("Set-Cookie"))


def install(app: Flask) -> None:
    """Called by ``Faroe.init_app``: clear or refresh the cookie after each request."""
    app.after_request(_after_request)
