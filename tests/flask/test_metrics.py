"""Opt-in Prometheus metrics, scraped from a real waitress server: invocations by action and
result, latency histograms, password-hash queue waits; no token or address in any label."""

from __future__ import annotations

from faroe_flask.core.envelope import ActionResult
from faroe_flask.core.server import RunAction

import contextlib
import http.client
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from faroe_flask.flask.metrics import enable_metrics

from ..conftest import CapturingEmailSender
from ..servers import serve_production
from .conftest import PASSWORD, AppFactory

EMAIL = "metrics.user@example.com"
METRICS = "/faroe/metrics"


@contextlib.contextmanager
def served(app: Flask) -> Iterator[int]:
    with serve_production(app) as (_, _, port):
        yield port


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def act(port: int, action: str, **arguments: str) -> dict[str, Any]:
    status, _, body = request(port, "POST", "/faroe", json.dumps({"action": action, "arguments": arguments}).encode())
    assert status == 200
    result: dict[str, Any] = json.loads(body)
    return result


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_route(make_app: AppFactory, email_sender: CapturingEmailSender) -> None:
    app = make_app({"FAROE_METRICS_PATH": METRICS})
    with served(app) as port:
        for _ in range(2):
            assert act(port, "get_session", session_token="x.y")["error_code"] == "invalid_session_token"
        signup_token = act(port, "create_signup", email_address=EMAIL)["values"]["signup_token"]
        code = email_sender.last("signup_code")["code"]
        assert act(port, "verify_signup_email_address_verification_code", signup_token=signup_token,
                   email_address_verification_code=code)["ok"]
        assert act(port, "set_signup_password", signup_token=signup_token, password=PASSWORD)["ok"]
        session_token = act(port, "complete_signup", signup_token=signup_token)["values"]["session_token"]
        status, content_type, body = request(port, "GET", METRICS)
    assert status == 200 and content_type.startswith("text/plain")
    text = body.decode()
    found = samples(text)
    count = "faroe_action_invocations_total"
    assert found[(count, (("action", "get_session"), ("result", "invalid_session_token")))] == 2
    assert found[(count, (("action", "create_signup"), ("result", "ok")))] == 1
    assert found[(count, (("action", "complete_signup"), ("result", "ok")))] == 1
    assert found[("faroe_action_duration_seconds_count", (("action", "get_session"),))] == 2
    assert found[("faroe_action_duration_seconds_count", (("action", "set_signup_password"),))] == 1
    assert found[("faroe_password_hash_queue_wait_seconds_count", ())] == 1
    for secret in (EMAIL, signup_token, session_token, code, PASSWORD, signup_token.split(".")[0]):
        assert secret not in text
    labels = {value for _, pairs in found for name, value in pairs if name != "le"}
    assert labels == {"get_session", "create_signup", "verify_signup_email_address_verification_code",
                      "set_signup_password", "complete_signup", "ok", "invalid_session_token"}


def test_metrics_in_the_apps_own_registry(make_app: AppFactory) -> None:
    app = make_app()
    registry = CollectorRegistry()
    enable_metrics(app, registry=registry)
    client = app.test_client()
    client.post("/faroe", data=json.dumps({"action": "get_session", "arguments": {"session_token": "x.y"}}))
    value = registry.get_sample_value(
        "faroe_action_invocations_total", {"action": "get_session", "result": "invalid_session_token"}
    )
    assert value == 1
    assert client.get(METRICS).status_code == 404  # no route unless asked for
    with pytest.raises(RuntimeError, match="already enabled"):
        enable_metrics(app, registry=registry)


def test_metrics_keep_an_existing_observer(make_app: AppFactory) -> None:
    seen: list[str] = []
    app = make_app()

    def observe(action: str, arguments: dict[str, str], run: RunAction) -> ActionResult:
        seen.append(action)
        return run(action, arguments)

    app.extensions["faroe"].server.add_action_observer(observe)
    metrics = enable_metrics(app)
    app.extensions["faroe"].invoke("get_session", {"session_token": "x.y"})
    assert seen == ["get_session"]
    assert metrics.registry.get_sample_value(
        "faroe_action_invocations_total", {"action": "get_session", "result": "invalid_session_token"}
    ) == 1
