"""A real waitress server on a free loopback port, for the HTTP tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from waitress import create_server, wasyncore


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free 127.0.0.1 port; yield its base URL."""
    socket_map: dict[int, Any] = {}
    server: Any = create_server(app, map=socket_map, host="127.0.0.1", port=0, threads=4)
    with running(server, socket_map) as base_url:
        yield base_url


@contextlib.contextmanager
def running(server: Any, socket_map: dict[int, Any]) -> Iterator[str]:
    """Run a waitress server created with ``map=socket_map``; yield its base URL.

    Each server gets its own socket map (waitress shares one global map by default, so closing
    one server would close the others' sockets), and its loop runs in small steps until told to
    stop, so that nothing is closed under a running select.
    """
    stop = threading.Event()
    use_poll = bool(server.adj.asyncore_use_poll)

    def run() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, count=1, use_poll=use_poll)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(socket_map)
