"""Exceptions of the Faroe client and its transports.

An *action error* (``"ok": false``) is not an exception: it is returned as ``ActionError``. The
exceptions below mean that the action was not invoked, or that its result could not be read.
Messages name the endpoint, the status or the offending field, never a token, a password or a
response body.
"""

from __future__ import annotations

from ..core.interfaces import FaroeError

__all__ = [
    "ClientError",
    "TransportError",
    "UnexpectedStatusError",
    "MalformedResponseError",
]


class ClientError(FaroeError):
    """Base class of the client's exceptions."""


class TransportError(ClientError):
    """The request could not be sent or its response not read: connection refused or reset,
    timeout, a broken HTTP response. The action may or may not have run."""


class UnexpectedStatusError(ClientError):
    """The endpoint answered with an HTTP status other than 200, so the action was not invoked
    (400: the request body was rejected; 401: not authenticated; ...)."""

    def __init__(self, status: int, message: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(message or f"the action invocation endpoint answered HTTP {status}")
        self.status = status
        #: The ``Retry-After`` seconds of the answer (a 429 of the per-client limits), if any.
        self.retry_after = retry_after


class MalformedResponseError(ClientError):
    """A 200 response whose body is not a valid action result (foundations.md F2.5, F13)."""
