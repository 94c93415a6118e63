"""The user-server protocol in both directions (user-server.md).

* ``UserServerClient``: a ``UserStore`` that calls a user server over HTTP, so that a Faroe
  ``Server`` can use users kept by another application.
* ``user_server_blueprint``: a Flask blueprint that serves any ``UserStore`` (for example the
  app's own ``SQLUserStore``) as a user server, for a Faroe server elsewhere.
"""

from __future__ import annotations

from .blueprint import user_server_blueprint
from .client import (
    UserServerActionError,
    UserServerClient,
    UserServerError,
    UserServerMalformedResponseError,
    UserServerStatusError,
    UserServerUnavailableError,
)

__all__ = [
    "UserServerActionError",
    "UserServerClient",
    "UserServerError",
    "UserServerMalformedResponseError",
    "UserServerStatusError",
    "UserServerUnavailableError",
    "user_server_blueprint",
]
