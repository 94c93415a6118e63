"""A real waitress server on a free loopback port, for the HTTP tests."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from waitress import create_server, wasyncore


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free 127.0.0.1 port; yield its base URL.

    Each server gets its own socket map (waitress shares one global map by default, so closing
    one server would close the others' sockets), and its loop runs in small steps until told to
    stop, so that nothing is closed under a running select.
    """
    socket_map: dict[int, Any] = {}
    server: Any = create_server(app, map=socket_map, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, count=1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(socket_map)



@contextlib.contextmanager
def run_http_server(server: Any) -> Iterator[str]:
    """Run a bound ``socketserver``-style HTTP server (``serve_forever`` / ``shutdown``) in a
    thread; yield its base URL; stop and close it afterwards."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def serve_werkzeug(app: Any) -> contextlib.AbstractContextManager[str]:
    """Serve a WSGI app with Werkzeug's development server on a free 127.0.0.1 port.

    Unlike waitress, which reads a chunked body whole and then sets ``CONTENT_LENGTH``, it hands
    the app a chunked body as a stream of unknown length, so the app's own limit is what stops it.
    """
    from werkzeug.serving import make_server

    return run_http_server(make_server("127.0.0.1", 0, app, threaded=True))
