"""Rejections are counted and summarised: a flood of them writes a handful of lines; metrics
count every one; the health and metrics routes can require a token."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from faroe_flask.flask.rejections import MAX_REASONS_COUNTED, MAX_REASONS_LOGGED, RejectionLog

from .conftest import AppFactory


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "faroe_flask"]


def test_the_first_of_each_reason_is_logged_and_the_rest_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    log = RejectionLog(interval=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for _ in range(1000):
            log.record(400, "bad_request", "unknown action")
        for _ in range(300):
            log.record(429, "client_limit:email", "client limit email")
        log.note("per-client limit email not applied: the storage failed (ConnectionError)")
        log.note("per-client limit email not applied: the storage failed (ConnectionError)")
        assert messages(caplog) == [
            "faroe request rejected with 400: unknown action",
            "faroe request rejected with 429: client limit email",
            "faroe: per-client limit email not applied: the storage failed (ConnectionError)",
        ]
        log.flush()
    assert messages(caplog)[3:] == [
        "faroe held back 1299 repeated log lines in the last 60 s: 400 unknown action x999; "
        "429 client limit email x299; per-client limit email not applied: the storage failed "
        "(ConnectionError) x1"
    ]
    assert [record.levelno for record in caplog.records][3] == logging.WARNING  # the worst held back
    assert log.totals == {(400, "bad_request"): 1000, (429, "client_limit:email"): 300}
    # A new interval logs the first one again.
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        caplog.clear()
        log.record(400, "bad_request", "unknown action")
        log.flush()
    assert messages(caplog) == ["faroe request rejected with 400: unknown action"]


def test_varied_reasons_cannot_buy_more_lines(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock())
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for index in range(5000):
            log.record(400, "bad_request", f"not a JSON document (at character {index})")
        log.flush()
    lines = messages(caplog)
    assert len(lines) == MAX_REASONS_LOGGED + 1
    summary = lines[-1]
    assert summary.startswith(f"faroe held back {5000 - MAX_REASONS_LOGGED} repeated log lines")
    assert summary.count("x1;") + summary.count("x1\n") <= MAX_REASONS_COUNTED
    assert f"400 other reasons x{5000 - MAX_REASONS_LOGGED - MAX_REASONS_COUNTED}" in summary


def test_the_summary_is_written_by_a_timer_at_the_end_of_the_interval(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=0.3)
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for _ in range(3):
            log.record(401, "unauthorized", "not authorised")
        assert len(messages(caplog)) == 1
        deadline = time.monotonic() + 5
        while len(messages(caplog)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert messages(caplog)[1] == "faroe held back 2 repeated log lines in the last 0.3 s: 401 not authorised x2"
    assert not any(thread.name == "faroe-rejection-log" and thread.is_alive() for thread in threading.enumerate()
                   if thread is not threading.current_thread() and not thread.daemon)


def test_a_raising_counter_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock())

    def broken(status: int, kind: str) -> None:
        raise RuntimeError("metrics down")

    log.counter = broken
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        log.record(413, "too_large", "body too large")
    assert log.totals == {(413, "too_large"): 1}
    assert "faroe request rejected with 413: body too large" in messages(caplog)


def test_a_flood_of_bad_bodies_writes_two_lines_and_metrics_count_them_all(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("prometheus_client")
    app = make_app({"FAROE_METRICS_PATH": "/faroe/metrics", "FAROE_CLIENT_EMAIL_LIMIT": "1/minute"})
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for _ in range(500):
            assert client.post("/faroe", data=b'{"action":"nope","arguments":{}}').status_code == 400
        for index in range(3):
            client.post("/faroe", data=b'{"action":"create_signup","arguments":{"email_address":"a%d@example.com"}}' % index)
        app.extensions["faroe"].rejections.flush()
    lines = [line for line in messages(caplog) if "rejected" in line or "held back" in line]
    assert lines == [
        "faroe request rejected with 400: unknown action",
        "faroe request rejected with 429: client limit email",
        "faroe held back 500 repeated log lines in the last 60 s: 400 unknown action x499; 429 client limit email x1",
    ]
    exported = client.get("/faroe/metrics").get_data(as_text=True)
    assert 'faroe_rejected_requests_total{kind="bad_request",status="400"} 500.0' in exported
    assert 'faroe_rejected_requests_total{kind="client_limit:email",status="429"} 2.0' in exported


def test_401_and_413_are_counted_too(make_app: AppFactory) -> None:
    app = make_app({"FAROE_ENDPOINT_SECRET": "s3cret", "FAROE_MAX_REQUEST_BYTES": 100})
    client = app.test_client()
    assert client.post("/faroe", data=b"{}").status_code == 401
    assert client.post("/faroe", data=b"x" * 200, headers={"Authorization": "Bearer s3cret"}).status_code == 413
    assert app.extensions["faroe"].rejections.totals == {(401, "unauthorized"): 1, (413, "too_large"): 1}


def test_health_and_metrics_behind_the_operations_token(make_app: AppFactory) -> None:
    pytest.importorskip("prometheus_client")
    app = make_app({"FAROE_HEALTH_PATH": "/faroe/health", "FAROE_METRICS_PATH": "/faroe/metrics",
                    "FAROE_OPERATIONS_TOKEN": "ops-token"})
    client = app.test_client()
    for path in ("/faroe/health", "/faroe/metrics"):
        refused = client.get(path)
        assert refused.status_code == 401 and refused.data == b""
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer ops-token"}).status_code == 200
    assert app.extensions["faroe"].rejections.totals == {(401, "unauthorized"): 4}
    open_app = make_app({"FAROE_HEALTH_PATH": "/faroe/health"})
    assert open_app.test_client().get("/faroe/health").status_code == 200


def test_closing_faroe_writes_the_summary_of_what_was_held_back(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for _ in range(3):
            assert client.post("/faroe", data=b'{"action":"nope","arguments":{}}').status_code == 400
        app.extensions["faroe"].extension.close(app)
    lines = [line for line in messages(caplog) if "rejected" in line or "held back" in line]
    assert lines == [
        "faroe request rejected with 400: unknown action",
        "faroe held back 2 repeated log lines in the last 60 s: 400 unknown action x2",
    ]
