"""A real waitress server on a free loopback port, for the HTTP tests."""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
from collections.abc import Iterator
from typing import Any

from waitress import create_server, wasyncore


@contextlib.contextmanager
def open_files_limit(wanted: int) -> Iterator[None]:
    """Raise the soft open-files limit to ``wanted`` (at most the hard limit) for a while, for
    tests that hold thousands of client sockets and server channels in one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free 127.0.0.1 port; yield its base URL."""
    socket_map: dict[int, Any] = {}
    server: Any = create_server(app, map=socket_map, host="127.0.0.1", port=0, threads=4)
    with running(server, socket_map) as base_url:
        yield base_url


@contextlib.contextmanager
def serve_production(app: Any, **overrides: Any) -> Iterator[tuple[Any, dict[int, Any], int]]:
    """Serve a Faroe app with ``faroe_flask.flask.serving``'s settings (``overrides`` win) on a
    free 127.0.0.1 port; yield the waitress server, its socket map and its port."""
    from faroe_flask.flask.serving import create_server as create_faroe_server

    socket_map: dict[int, Any] = {}
    server = create_faroe_server(app, map=socket_map, host="127.0.0.1", port=0, **overrides)
    with running(server, socket_map):
        yield server, socket_map, int(server.effective_port)


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


class TCPProxy:
    """Forwards loopback connections to ``target``; ``stop()`` closes the listener and every
    forwarded connection (the database looks unreachable), ``start()`` listens again on the same
    port. Threads poll in small steps and end at ``close()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._spawn(self._accept, listener)

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def close(self) -> None:
        self.stop()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> TCPProxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            with self._lock:
                if self._listener is not listener:
                    return
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


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
