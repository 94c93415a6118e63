"""A cap on the connections one client address may hold open in ``serve`` (waitress).

Waitress accepts connections until ``connection_limit`` is reached, whoever opens them, and then
stops accepting: one address holding a thousand slow connections locks every other client out.
With the cap (``FAROE_SERVE_CONNECTIONS_PER_ADDRESS``, 50), a connection beyond an address's
share is answered ``503`` with ``Connection: close`` and closed as soon as it is accepted, in the
I/O thread, without reading it; everyone else's connections keep being accepted.

An address is counted as ``client_key`` names clients for the per-client limits (an IPv6 host
by its /64). The trusted proxy (``FAROE_SERVE_TRUSTED_PROXY``) is exempt: behind a proxy every
connection comes from it, so the proxy must cap connections per client itself (see
docs/limits.md); ``*`` turns the cap off. Unix-socket connections are not counted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .client_limits import client_key

__all__ = ["limit_connections_per_address", "ConnectionCounts"]

REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Connection: close\r\nContent-Length: 0\r\nRetry-After: 5\r\n\r\n"
)


class ConnectionCounts:
    """Open connections by client address; thread-safe."""

    def __init__(self, per_address: int, ipv6_prefix: int = 64, exempt: frozenset[str] = frozenset()) -> None:
        self.per_address = per_address
        self.ipv6_prefix = ipv6_prefix
        self.exempt = exempt
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}
        #: Connections refused since start (for tests and checks).
        self.refused = 0

    def key_of(self, addr: Any) -> str | None:
        """The counted name of a peer address (``None``: not counted)."""
        if not isinstance(addr, tuple) or not addr or not isinstance(addr[0], str) or addr[1] is None:
            return None
        host = addr[0]
        if host in self.exempt:
            return None
        key = client_key(host, self.ipv6_prefix)
        return None if key == "unknown" or key in self.exempt else key

    def try_open(self, key: str) -> bool:
        with self._lock:
            count = self._open.get(key, 0)
            if count >= self.per_address:
                self.refused += 1
                return False
            self._open[key] = count + 1
            return True

    def release(self, counted: list[str]) -> None:
        """Count a connection's close once, whoever notices it first (``counted`` holds its key
        until then)."""
        with self._lock:
            if not counted:
                return
            key = counted.pop()
            count = self._open.get(key, 0) - 1
            if count > 0:
                self._open[key] = count
            else:
                self._open.pop(key, None)

    def open_from(self, host: str) -> int:
        key = client_key(host, self.ipv6_prefix)
        with self._lock:
            return self._open.get(key, 0)


def limit_connections_per_address(
    listeners: list[Any],
    counts: ConnectionCounts,
    on_refused: Callable[[], None] | None = None,
) -> None:
    """Make each waitress listener refuse a connection beyond ``counts.per_address`` from one
    address. Call after any other change of the listeners' ``channel_class``."""
    for listener in listeners:
        base = listener.channel_class

        class CountedChannel(base):  # type: ignore[misc, valid-type]
            def __init__(self, server: Any, sock: Any, addr: Any, adj: Any, map: Any = None,
                         counted: list[str] | None = None) -> None:
                self._faroe_counted = counted or []  # set before the channel can be closed
                super().__init__(server, sock, addr, adj, map)

            def del_channel(self, map: Any = None) -> None:
                super().del_channel(map)
                counts.release(self._faroe_counted)

        def make_channel(server: Any, sock: Any, addr: Any, adj: Any, map: Any = None,
                         channel_class: type = CountedChannel) -> Any:
            key = counts.key_of(addr)
            if key is not None and not counts.try_open(key):
                try:
                    sock.send(REFUSAL)
                except OSError:
                    pass
                sock.close()
                if on_refused is not None:
                    on_refused()
                return None
            counted = [key] if key is not None else []
            try:
                return channel_class(server, sock, addr, adj, map, counted=counted)
            except OSError:  # the peer went away during set-up (waitress would log and go on)
                counts.release(counted)
                sock.close()
                return None

        listener.channel_class = make_channel
