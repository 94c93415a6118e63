"""A TCP proxy on loopback in front of a database server, which can cut one connection on cue.

``CuttingProxy(host, port)`` listens on ``127.0.0.1`` and pipes every connection to the server.
``cut_next(forward=...)`` arms it for the next request a client sends on an open connection:

* ``forward=False``: the request is dropped and the connection closed. The client had found its
  connection open (nothing to read on the socket), sent a statement, and the connection broke:
  the statement never reached the server.
* ``forward=True``: the request reaches the server, whose whole reply is read and dropped, then
  the connection is closed: the statement ran (and, in autocommit mode, was committed) but the
  client only sees the connection break.

Arm it only while the client holds an idle, already open connection (make one call first), so
that the cut hits a statement and not a connection's handshake. Every loop is bounded in time.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import Literal

_Mode = Literal["before", "after"]


class CuttingProxy:
    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)  # the accept loop sees ``close`` within 0.1 s
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._armed: _Mode | None = None
        self._closing = False
        self._threads: list[threading.Thread] = []
        #: Connections accepted, and connections cut, so far; connections open now, and at most.
        self.accepted = 0
        self.cuts = 0
        self.live = 0
        self.most_live = 0
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def cut_next(self, *, forward: bool) -> None:
        with self._lock:
            self._armed = "after" if forward else "before"

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    @property
    def armed(self) -> bool:
        with self._lock:
            return self._armed is not None

    def close(self) -> None:
        self._closing = True
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self._target, timeout=10)
            upstream.settimeout(None)
            with self._lock:
                self.accepted += 1
                self.live += 1
                self.most_live = max(self.most_live, self.live)
            pump = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            pump.start()
            self._threads.append(pump)

    def _take_cue(self) -> _Mode | None:
        with self._lock:
            mode, self._armed = self._armed, None
            if mode is not None:
                self.cuts += 1
            return mode

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while not self._closing:
                readable, _, _ = select.select([client, upstream], [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    if sock is upstream:
                        client.sendall(data)
                        continue
                    mode = self._take_cue()
                    if mode is None:
                        upstream.sendall(data)
                        continue
                    if mode == "after":
                        upstream.sendall(data)
                        _drain_reply(upstream)
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self.live -= 1
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


def _drain_reply(upstream: socket.socket) -> None:
    """Read the server's reply until it has been quiet for a moment (at most 5 s in all)."""
    deadline = time.monotonic() + 5
    got_some = False
    while time.monotonic() < deadline:
        readable, _, _ = select.select([upstream], [], [], 0.1 if got_some else 1.0)
        if not readable:
            if got_some:
                return
            continue
        if not upstream.recv(65536):
            return
        got_some = True
