"""Serving a Faroe app in production with waitress: ``serve(app)`` and ``flask faroe serve``.

Waitress reads each request completely in its single I/O thread before a worker thread sees it,
so a client that sends half a request, or sends it slowly, holds a *connection* (one file
descriptor and a small buffer), never a worker thread. What keeps a few clients from starving the
others is therefore:

* ``connection_limit`` (``FAROE_SERVE_CONNECTION_LIMIT``, 1000): room for many idle or slow
  clients. Waitress's default of 100 is taken by 100 half-open connections. The soft file
  descriptor limit is raised to fit when the hard limit allows, and waitress polls with
  ``poll()`` (``select()`` cannot watch a descriptor above 1023);
* ``channel_timeout`` (``FAROE_SERVE_CHANNEL_TIMEOUT``, 30 s; waitress: 120 s) with
  ``cleanup_interval`` 5 s: a connection that sent nothing for that long is closed;
* a receive deadline (``FAROE_SERVE_RECEIVE_TIMEOUT``, 30 s; waitress has none): a connection
  that takes longer than that to send one whole request - a client dripping a byte at a time is
  never idle - is closed at the next clean-up;
* ``max_request_body_size``: ``FAROE_MAX_REQUEST_BYTES`` plus 1 KiB for chunked framing (waitress:
  1 GiB). A declared larger body is refused with 413 before any of it is read, a chunked one as
  soon as the limit is passed; bodies never spill to temporary files (``inbuf_overflow`` 512 KiB);
* ``max_request_header_size`` 16 KiB (waitress: 256 KiB), so that a full connection table holds
  at most about ``connection_limit * (16 KiB + body limit)`` of buffered input;
* ``threads`` (``FAROE_SERVE_THREADS``, 8) run complete requests; each holds at most one database
  connection at a time, so keep it at most the engine's pool (5 + 10 overflow by default);
* a cap per client address (``FAROE_SERVE_CONNECTIONS_PER_ADDRESS``, 50; waitress has none): one
  address cannot take the whole connection table (``faroe_flask.flask.fair_connections``).

``waitress_settings(app)`` returns these settings (overrides win), ``create_server(app)`` a
waitress server that is not yet running, ``serve(app)`` serves until interrupted.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import ConfigError, _bool, _int, _names, _optional_int

__all__ = ["serve", "create_server", "waitress_settings", "endpoint_paths", "endpoint_urls", "startup_lines"]

_logger = logging.getLogger("faroe_flask")

#: Allowance over FAROE_MAX_REQUEST_BYTES: waitress counts a chunked body with its chunk framing;
#: the endpoint still checks the exact limit on the decoded body.
BODY_FRAMING_ALLOWANCE = 1024
MAX_REQUEST_HEADER_BYTES = 16 * 1024
CLEANUP_INTERVAL = 5
# File descriptors a process needs besides its client connections: database pool, SMTP,
# listening sockets, logs, the waitress trigger pipe.
_SPARE_DESCRIPTORS = 128
_OTHER_ADDRESSES = frozenset({"host", "port", "unix_socket", "sockets"})


def waitress_settings(app: Flask, **overrides: Any) -> dict[str, Any]:
    """The waitress adjustments ``serve`` uses for ``app``: the ``FAROE_SERVE_*`` keys, the body
    limit from ``FAROE_MAX_REQUEST_BYTES`` and the fixed safe values above; ``overrides`` win."""
    config = app.config
    channel_timeout = _int(config, "FAROE_SERVE_CHANNEL_TIMEOUT", minimum=1)
    receive_timeout = receive_timeout_of(app)
    settings: dict[str, Any] = {
        "listen": _listen(config),
        "threads": _int(config, "FAROE_SERVE_THREADS", minimum=1),
        "connection_limit": _int(config, "FAROE_SERVE_CONNECTION_LIMIT", minimum=1),
        "channel_timeout": channel_timeout,
        "cleanup_interval": min(CLEANUP_INTERVAL, channel_timeout, receive_timeout or CLEANUP_INTERVAL),
        "max_request_body_size": _int(config, "FAROE_MAX_REQUEST_BYTES", minimum=1)
        + BODY_FRAMING_ALLOWANCE,
        "max_request_header_size": MAX_REQUEST_HEADER_BYTES,
        "asyncore_use_poll": True,
        "expose_tracebacks": False,
        "clear_untrusted_proxy_headers": _bool(config, "FAROE_SERVE_CLEAR_UNTRUSTED_PROXY_HEADERS"),
    }
    proxy = config.get("FAROE_SERVE_TRUSTED_PROXY")
    if proxy:
        if not isinstance(proxy, str):
            raise ConfigError("FAROE_SERVE_TRUSTED_PROXY must be an address or '*'")
        settings["trusted_proxy"] = proxy
        count = _optional_int(config, "FAROE_SERVE_TRUSTED_PROXY_COUNT", minimum=1)
        if count is not None:
            settings["trusted_proxy_count"] = count
        headers = _names(config, "FAROE_SERVE_TRUSTED_PROXY_HEADERS") or ()
        if headers:
            settings["trusted_proxy_headers"] = " ".join(headers)
    if "listen" not in overrides and _OTHER_ADDRESSES.intersection(overrides):
        del settings["listen"]  # waitress takes one way of saying where to listen
    settings.update(overrides)
    return settings


def receive_timeout_of(app: Flask) -> int | None:
    """``FAROE_SERVE_RECEIVE_TIMEOUT`` in whole seconds; ``None`` or 0 turns it off."""
    value = _optional_int(app.config, "FAROE_SERVE_RECEIVE_TIMEOUT", minimum=0)
    return value or None


def _listen(config: Mapping[str, Any]) -> str:
    listen = config.get("FAROE_SERVE_LISTEN")
    if isinstance(listen, (list, tuple)):
        listen = " ".join(str(item) for item in listen)
    if not isinstance(listen, str) or not listen.strip():
        raise ConfigError("FAROE_SERVE_LISTEN must be HOST:PORT (several separated by spaces)")
    return listen


def _raise_descriptor_limit(connection_limit: int) -> int:
    """Raise the soft RLIMIT_NOFILE so that ``connection_limit`` connections fit; return the
    connection limit that fits (lower, with a warning, when the hard limit is too low)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on this platform (Windows)
        return connection_limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connection_limit + _SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fitting = max(1, soft - _SPARE_DESCRIPTORS)
        _logger.warning(
            "the open-files limit (%d) is too low for %d connections; accepting at most %d",
            soft, connection_limit, fitting,
        )
        return fitting
    return connection_limit


def create_server(app: Flask, **overrides: Any) -> Any:
    """A waitress server for ``app`` with ``waitress_settings(app, **overrides)``, not yet running
    (call ``.run()``). ``map=`` is passed through to waitress."""
    from waitress import create_server as waitress_create_server  # type: ignore[import-untyped]

    settings = waitress_settings(app, **overrides)
    settings["connection_limit"] = _raise_descriptor_limit(int(settings["connection_limit"]))
    server = waitress_create_server(app, **settings)
    receive_timeout = receive_timeout_of(app)
    if receive_timeout is not None:
        _bound_receiving(server, receive_timeout)
    _cap_connections_per_address(app, server, settings.get("trusted_proxy"))
    return server


def _cap_connections_per_address(app: Flask, server: Any, trusted_proxy: str | None) -> None:
    from .fair_connections import ConnectionCounts, limit_connections_per_address

    per_address = _optional_int(app.config, "FAROE_SERVE_CONNECTIONS_PER_ADDRESS", minimum=0)
    if not per_address or trusted_proxy == "*":
        return
    counts = ConnectionCounts(
        per_address,
        _int(app.config, "FAROE_CLIENT_IPV6_PREFIX", minimum=1),
        frozenset({trusted_proxy}) if trusted_proxy else frozenset(),
    )
    state = app.extensions.get("faroe")

    def refused() -> None:
        if state is not None:
            state.rejections.record(503, "connections_per_address", "too many connections from one address")

    limit_connections_per_address(_listeners(server), counts, refused)
    server.faroe_connection_counts = counts


def _bound_receiving(server: Any, seconds: float) -> None:
    """Close connections whose current request has been arriving for longer than ``seconds``.

    Each request parser notes when its first byte came; waitress's periodic clean-up (every
    ``cleanup_interval``) then also closes the channels whose unfinished request is older. Only
    the receiving side is bounded: a request being answered is never cut.
    """
    from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
    from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]

    class TimedParser(HTTPRequestParser):  # type: ignore[misc]
        def __init__(self, adj: Any) -> None:
            super().__init__(adj)
            self.started = time.monotonic()

    class TimedChannel(HTTPChannel):  # type: ignore[misc]
        parser_class = TimedParser

    def bound(listener: Any) -> None:
        clean_up = listener.maintenance

        def maintenance(now: float) -> None:
            clean_up(now)
            cutoff = time.monotonic() - seconds
            for channel in list(listener.active_channels.values()):
                request = channel.request
                if request is not None and not channel.requests and getattr(request, "started", cutoff) < cutoff:
                    channel.will_close = True

        listener.maintenance = maintenance
        listener.channel_class = TimedChannel

    for listener in _listeners(server):
        bound(listener)


def endpoint_paths(app: Flask) -> list[str]:
    """The paths the app serves the Faroe endpoint at: where an endpoint blueprint was
    registered (none with ``Faroe(app, register_blueprint=False)`` and no blueprint of its own)."""
    from .blueprint import invoke_endpoint

    return [
        rule.rule
        for rule in app.url_map.iter_rules()
        if inspect.unwrap(app.view_functions.get(rule.endpoint, _no_view)) is invoke_endpoint
    ]


def _no_view() -> None:
    """Stands for a rule without a view function."""


def _listeners(server: Any) -> list[Any]:
    """The listening dispatchers of a waitress server (one, or one per address it listens on)."""
    from waitress.server import BaseWSGIServer  # type: ignore[import-untyped]

    if isinstance(server, BaseWSGIServer):
        return [server]
    return [dispatcher for dispatcher in server.map.values() if isinstance(dispatcher, BaseWSGIServer)]


def endpoint_urls(app: Flask, server: Any) -> list[str]:
    """The endpoint's URL on each address ``server`` listens on (none without an endpoint)."""
    listening = getattr(server, "effective_listen", None)
    if listening is None:
        listening = [(server.effective_host, server.effective_port)]
    urls = []
    for path in endpoint_paths(app):
        for host, port in listening:
            if host == "unix":  # waitress names a unix socket ("unix", its path)
                urls.append(f"unix:{port} {path}")
                continue
            shown = f"[{host}]" if ":" in str(host) else host
            urls.append(f"http://{shown}:{port}{path}")
    return urls


def serve(app: Flask, **overrides: Any) -> None:
    """Serve ``app`` with waitress and the settings above until interrupted.

    Prints ``Faroe endpoint: POST <url>`` for each address, or says that the app serves no
    endpoint. ``overrides`` are waitress adjustments (``listen="0.0.0.0:8080"``, ``threads=16``,
    ...) and win over the configuration.
    """
    server = create_server(app, **overrides)
    for line in startup_lines(app, server):
        print(line, flush=True)
    server.run()


def startup_lines(app: Flask, server: Any) -> list[str]:
    """What ``serve`` prints: the endpoint's URLs, or that the app has no endpoint."""
    urls = endpoint_urls(app, server)
    if not urls:
        return [
            "No Faroe endpoint: the app registers none (Faroe(app, register_blueprint=False)); "
            "its own views run actions in-process"
        ]
    return [f"Faroe endpoint: POST {url}" for url in urls]
