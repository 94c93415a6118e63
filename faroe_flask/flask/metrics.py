"""Opt-in Prometheus metrics (``pip install faroe-flask[metrics]``).

    FAROE_METRICS_PATH = "/faroe/metrics"      # a private registry, exported on that path
    # or, into the application's own registry (exported however the app already does it):
    enable_metrics(app, registry=prometheus_client.REGISTRY)

Metrics (labels hold only action names, error codes and ``ok``; never a token, an address or a
user id):

* ``faroe_action_invocations_total{action, result}``: ``result`` is ``ok`` or the error code;
* ``faroe_action_duration_seconds{action}``: a histogram of the time each action took;
* ``faroe_password_hash_queue_wait_seconds``: how long each password hash waited for a slot
  (``FAROE_MAX_CONCURRENT_PASSWORD_HASHING``);
* ``faroe_rejected_requests_total{status, kind}``: every request a door turned away (400, 401,
  413, a per-client limit's 429, a captcha's 403/503, a connection over the per-address cap),
  by a short fixed kind (``faroe_flask.flask.rejections``); the log only summarises them.

They come from the core's observer hooks (``Server.add_action_observer``,
``PasswordHasher.wait_observer``),
so the endpoint's bodies are never parsed twice. The metrics route is open unless
``FAROE_OPERATIONS_TOKEN`` is set (then it needs ``Authorization: Bearer <token>``); keep it on
an internal address or behind the proxy.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flask import Flask, Response

from .config import ConfigError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from ..core.envelope import ActionResult
    from ..core.server import RunAction

__all__ = ["FaroeMetrics", "enable_metrics"]

#: Seconds: from an in-memory read to a slow Argon2id hash and an SMTP send.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
WAIT_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class FaroeMetrics:
    """The three metrics, registered in ``registry`` (a new private one by default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ImportError:  # pragma: no cover - the extra is not installed
            raise ConfigError(
                "Faroe metrics need prometheus-client: pip install 'faroe-flask[metrics]'"
            ) from None
        self.registry = registry if registry is not None else CollectorRegistry()
        self.invocations = Counter(
            "faroe_action_invocations",
            "Faroe action invocations by action and result (ok or the error code).",
            ("action", "result"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "faroe_action_duration_seconds",
            "Time taken by each Faroe action.",
            ("action",),
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.rejections = Counter(
            "faroe_rejected_requests",
            "Requests turned away before any action ran, by HTTP status and kind.",
            ("status", "kind"),
            registry=self.registry,
        )
        self.hash_wait = Histogram(
            "faroe_password_hash_queue_wait_seconds",
            "Time each password hash waited for a free hashing slot.",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )

    def observe_action(self, action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        """An action observer (``Server.add_action_observer``): times the action, counts its result."""
        started = time.perf_counter()
        result = run(action, arguments)
        seconds = time.perf_counter() - started
        self.invocations.labels(action, "ok" if result.ok else result.error_code).inc()
        self.duration.labels(action).observe(seconds)
        return result

    def observe_hash_wait(self, seconds: float) -> None:
        self.hash_wait.observe(seconds)

    def count_rejection(self, status: int, kind: str) -> None:
        self.rejections.labels(str(status), kind).inc()

    def export(self) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def enable_metrics(
    app: Flask, *, registry: CollectorRegistry | None = None, path: str | None = None
) -> FaroeMetrics:
    """Count the actions of ``app``'s Faroe server into ``registry``; serve them on ``path``
    (``GET``) when given. Call after ``Faroe(app)``; once per app."""
    state: Any = app.extensions.get("faroe")
    if state is None:
        raise RuntimeError("initialise the Faroe extension before enabling its metrics")
    if state.metrics is not None:
        raise RuntimeError("Faroe metrics are already enabled on this app")
    metrics = FaroeMetrics(registry)
    server = state.server
    server.add_action_observer(metrics.observe_action)
    server.passwords.wait_observer = metrics.observe_hash_wait
    state.rejections.counter = metrics.count_rejection
    state.metrics = metrics
    if path is not None:
        from .operations import token_protected

        app.add_url_rule(
            path, endpoint="faroe_metrics", view_func=token_protected(app, metrics.export), methods=["GET"]
        )
    return metrics
