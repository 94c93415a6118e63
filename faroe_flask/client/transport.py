"""Transports: how a request body reaches an action invocation endpoint and its answer comes back.

A transport has one method, ``send(body: bytes) -> bytes``: it delivers a JSON request body and
returns the body of a 200 response. Any other outcome is an exception: ``UnexpectedStatusError``
for another status (the action was not invoked), ``TransportError`` when no complete response
arrived. ``HTTPTransport`` speaks HTTP with the standard library; ``LocalTransport`` calls a
``faroe_flask.Server`` in the same process.
"""

from __future__ import annotations

import copy
import http.client
import selectors
import ssl
import threading
import urllib.parse
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..core.interfaces import InvalidActionInvocationRequestError
from .errors import MalformedResponseError, TransportError, UnexpectedStatusError

if TYPE_CHECKING:
    from ..core.server import Server

__all__ = ["Transport", "HTTPTransport", "LocalTransport"]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024


@runtime_checkable
class Transport(Protocol):
    """Sends one request body and returns the body of the 200 response."""

    def send(self, body: bytes) -> bytes: ...


def _socket_is_readable(connection: http.client.HTTPConnection) -> bool:
    """True if an idle keep-alive connection has data or EOF pending: the server closed it (or
    sent something unsolicited), so it must not be reused."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            return bool(selector.select(0))
    except (OSError, ValueError):
        return True


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("header names and values must be strings")
        if not name or any(character in name + value for character in "\r\n\0"):
            raise ValueError("header names and values must not be empty or hold line breaks")
        checked[name] = value
    return checked


def _seconds(value: str | None) -> int | None:
    """A ``Retry-After`` in seconds (its date form, which the endpoint never sends, is ``None``)."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def is_token_secret(value: str) -> bool:
    """A bearer secret: non-empty, visible ASCII only (so that its bytes on the wire are
    unambiguous; ``secrets.token_urlsafe()`` makes good ones)."""
    return bool(value) and all(33 <= ord(character) <= 126 for character in value)


class HTTPTransport:
    """POSTs request bodies to ``url`` with ``http.client``; thread-safe, with keep-alive.

    * ``headers`` are added to every request (``Content-Type: application/json`` is always sent);
      ``bearer_secret`` adds ``Authorization: Bearer <secret>``.
    * ``timeout`` (seconds) applies to connecting and to every read and write on the socket; a
      timeout raises ``TransportError``.
    * Idle connections are kept (at most ``max_idle_connections``) and reused by later requests,
      from any thread; a connection the server has closed meanwhile is detected before reuse.
      Nothing is retried, since most actions are not idempotent.
    * Redirects are not followed: every status other than 200 raises ``UnexpectedStatusError``.
    * A response body larger than ``max_response_bytes`` raises ``MalformedResponseError``.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        bearer_secret: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_idle_connections: int = 8,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("the URL must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("put credentials in headers or bearer_secret, not in the URL")
        port = parts.port  # raises ValueError for a bad port
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_response_bytes < 1 or max_idle_connections < 0:
            raise ValueError("invalid limits")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # For messages: never the query string, which might carry a credential.
        self._display = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        self._headers: dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            **_checked_headers(headers or {}),
        }
        if bearer_secret is not None:
            if not is_token_secret(bearer_secret):
                raise ValueError("bearer_secret must be a non-empty string of visible ASCII characters")
            self._headers["Authorization"] = f"Bearer {bearer_secret}"
        self._timeout = timeout
        self._max_response_bytes = max_response_bytes
        self._max_idle = max_idle_connections
        self._ssl_context = ssl_context
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        #: False for a transport made by ``with_headers``: the connections are its origin's.
        self._owns_connections = True

    @property
    def url(self) -> str:
        """The endpoint URL without its query string."""
        return self._display

    def __repr__(self) -> str:
        return f"HTTPTransport({self._display!r})"

    def with_headers(self, headers: Mapping[str, str]) -> HTTPTransport:
        """This transport with ``headers`` added to (or replacing) its own on every request.

        It shares this transport's kept connections, URL, secret, timeout and limits, so one per
        call costs nothing: e.g. an application server calling the endpoint on behalf of one of its
        users (``Client.for_end_user``). Dropping it closes nothing; ``close()`` on either closes
        the shared idle connections.
        """
        view = copy.copy(self)
        view._headers = {**self._headers, **_checked_headers(headers)}
        view._owns_connections = False
        return view

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _checkout(self) -> http.client.HTTPConnection:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            return self._new_connection()
        if _socket_is_readable(connection):
            connection.close()  # the next request opens a fresh socket
        return connection

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def send(self, body: bytes) -> bytes:
        connection = self._checkout()
        try:
            connection.request("POST", self._path, body=body, headers=self._headers)
            response = connection.getresponse()
            if response.length is not None:  # Content-Length: read it all, or fail if truncated
                fits = response.length <= self._max_response_bytes
                data = response.read() if fits else b""
            else:  # chunked or delimited by the end of the connection
                data = response.read(self._max_response_bytes + 1)
                fits = len(data) <= self._max_response_bytes and (
                    response.isclosed() or not response.read(1)
                )
        except TimeoutError:
            connection.close()
            raise TransportError(f"request to {self._display} timed out after {self._timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise TransportError(
                f"request to {self._display} failed: {type(exc).__name__}"
            ) from exc
        if not fits or response.will_close:
            connection.close()
        else:
            self._checkin(connection)
        if response.status != 200:
            raise UnexpectedStatusError(
                response.status,
                f"{self._display} answered HTTP {response.status}",
                retry_after=_seconds(response.getheader("Retry-After")),
            )
        if not fits:
            raise MalformedResponseError(
                f"the response of {self._display} is larger than {self._max_response_bytes} bytes"
            )
        return data

    def close(self) -> None:
        """Close the idle connections. The transport stays usable and reconnects when needed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def __del__(self) -> None:
        if not getattr(self, "_owns_connections", False):
            return  # a view made by with_headers (or a half-built transport): nothing of its own
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __enter__(self) -> HTTPTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LocalTransport:
    """Calls ``server.resolve_action_invocation_request`` in-process, with no HTTP.

    The request still travels as the exact JSON body an HTTP client would send, and the answer is
    read from the exact JSON the endpoint would return, so the client code path is the same. A
    rejected request raises ``UnexpectedStatusError(400)``, as the HTTP endpoint answers 400.
    ``blocklist`` / ``allowlist`` restrict the actions as the endpoint's configuration would.
    """

    def __init__(
        self,
        server: Server,
        *,
        blocklist: Collection[str] = (),
        allowlist: Collection[str] | None = None,
    ) -> None:
        self.server = server
        self._blocklist = blocklist
        self._allowlist = allowlist

    def __repr__(self) -> str:
        return "LocalTransport()"

    def send(self, body: bytes) -> bytes:
        try:
            result = self.server.resolve_action_invocation_request(
                body, blocklist=self._blocklist, allowlist=self._allowlist
            )
        except InvalidActionInvocationRequestError:
            raise UnexpectedStatusError(400, "the server rejected the request body (HTTP 400)") from None
        try:
            return result.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedResponseError("the server's result is not valid Unicode") from None
