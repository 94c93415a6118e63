"""Rejections are counted and summarised: a flood of them writes a handful of lines; metrics
count every one; the health and metrics routes can require a token."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from faroe_flask.flask import rejections
from faroe_flask.flask.rejections import MAX_REASONS_COUNTED, MAX_REASONS_LOGGED, RejectionLog

from .conftest import AppFactory


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


_LOGGER = "faroe_flask"


@pytest.fixture(autouse=True)
def own_logger(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """The rejection logs a test makes (itself or through an app) write to a child of
    ``faroe_flask`` of their own: a summary that another test's log still has pending (its timer
    fires up to a minute later) cannot land among this test's lines."""
    global _LOGGER
    _LOGGER = f"faroe_flask.test_rejection_log.{request.node.name}"
    monkeypatch.setattr(rejections, "_logger", logging.getLogger(_LOGGER))


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == _LOGGER]


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


# Edges found by mutation testing ------------------------------------------------------------------


def test_the_summary_orders_by_count_then_by_status_and_reason(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock())
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        for _ in range(2):  # each logged once, then held back once: all with the same count
            log.record(429, "client_limit:email", "b reason")
            log.record(400, "bad_request", "b reason")
            log.record(400, "bad_request", "a reason")
            log.note("storage down")
        log.record(403, "captcha_missing", "captcha missing")
        log.record(403, "captcha_missing", "captcha missing")
        log.record(403, "captcha_missing", "captcha missing")
        log.close()
    assert messages(caplog)[-1] == (
        "faroe held back 6 repeated log lines in the last 60 s: 403 captcha missing x2; storage down x1; "
        "400 a reason x1; 400 b reason x1; 429 b reason x1"
    )
    assert caplog.records[-1].levelno == logging.WARNING


def test_a_note_is_logged_at_its_level(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock(), subject="user server")
    with caplog.at_level(logging.DEBUG, logger="faroe_flask"):
        log.note("disk full", logging.ERROR)
        log.note("slow storage")
        log.record(400, "bad_request", "unknown action")
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.ERROR, "user server: disk full"),
        (logging.WARNING, "user server: slow storage"),
        (logging.INFO, "user server request rejected with 400: unknown action"),
    ]
    assert log.totals == {(400, "bad_request"): 1}


def test_only_rejections_held_back_are_summed_up_at_info(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock())
    with caplog.at_level(logging.DEBUG, logger="faroe_flask"):
        log.record(400, "bad_request", "unknown action")
        log.record(400, "bad_request", "unknown action")
        log.flush()
        log.flush()  # nothing held back any more: no line
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.INFO, "faroe request rejected with 400: unknown action"),
        (logging.INFO, "faroe held back 1 repeated log lines in the last 60 s: 400 unknown action x1"),
    ]


def test_an_interval_starts_again_once_it_is_over(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    log = RejectionLog(interval=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        log.record(400, "bad_request", "unknown action")
        clock.now += 59.9
        log.record(400, "bad_request", "unknown action")  # held back: a timer is pending
        clock.now += 0.1
        log.flush()  # what the timer does at the end of the interval
        clock.now += 60  # exactly one interval after the flush: a new one
        log.record(400, "bad_request", "unknown action")
        clock.now += 59.9
        log.record(400, "bad_request", "unknown action")  # held back
        log.close()
    assert messages(caplog) == [
        "faroe request rejected with 400: unknown action",
        "faroe held back 1 repeated log lines in the last 60 s: 400 unknown action x1",
        "faroe request rejected with 400: unknown action",
        "faroe held back 1 repeated log lines in the last 60 s: 400 unknown action x1",
    ]


def test_an_interval_is_over_after_exactly_its_length_without_a_pending_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    clock.now = 0.0
    log = RejectionLog(interval=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        log.record(400, "bad_request", "unknown action")  # 0 s after the start: the first interval
        clock.now = 60.0
        log.record(400, "bad_request", "unknown action")  # a new interval: logged again
        clock.now = 119.9
        log.record(400, "bad_request", "unknown action")
        log.close()
    assert messages(caplog) == [
        "faroe request rejected with 400: unknown action",
        "faroe request rejected with 400: unknown action",
        "faroe held back 1 repeated log lines in the last 60 s: 400 unknown action x1",
    ]


def test_the_timer_waits_for_the_end_of_the_interval_and_a_flush_stops_it(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=0.6)
    before = set(threading.enumerate())
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        log.record(401, "unauthorized", "not authorised")
        time.sleep(0.3)
        log.record(401, "unauthorized", "not authorised")  # held back: the timer waits the other 0.3 s
        [timer] = [thread for thread in set(threading.enumerate()) - before if thread.name == "faroe-rejection-log"]
        assert timer.daemon
        started = time.monotonic()
        timer.join(5)
        assert 0.15 < time.monotonic() - started < 0.55
        assert messages(caplog)[-1] == "faroe held back 1 repeated log lines in the last 0.6 s: 401 not authorised x1"
        # A flush ends the next interval's timer at once.
        log.record(401, "unauthorized", "not authorised")
        log.record(401, "unauthorized", "not authorised")
        [timer] = [thread for thread in set(threading.enumerate()) - before if thread.name == "faroe-rejection-log"]
        log.flush()
        timer.join(0.3)
        assert not timer.is_alive()
    assert len(messages(caplog)) == 4


@pytest.mark.parametrize("interval", [0, -1.0, float("nan")])
def test_the_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="^interval must be positive$"):
        RejectionLog(interval=interval)


def test_the_default_interval_logger_and_subject(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the module's own default logger, not this file's per-test one
    log = RejectionLog()
    assert log.interval == 60.0 and log.logger is logging.getLogger("faroe_flask") and log.subject == "faroe"
    other = logging.getLogger("faroe_flask.user_server")
    assert RejectionLog(logger=other).logger is other


def test_the_counter_sees_every_rejection_but_no_note() -> None:
    log = RejectionLog(interval=60, clock=ManualClock())
    seen: list[tuple[int, str]] = []
    log.counter = lambda status, kind: seen.append((status, kind))
    log.record(400, "bad_request", "unknown action")
    log.record(400, "bad_request", "unknown action")
    log.note("storage down")
    log.record(429, "client_limit:email", "client limit email")
    assert seen == [(400, "bad_request"), (400, "bad_request"), (429, "client_limit:email")]
    assert log.totals == {(400, "bad_request"): 2, (429, "client_limit:email"): 1}


def test_a_raising_counter_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = RejectionLog(interval=60, clock=ManualClock())

    def broken(status: int, kind: str) -> None:
        raise RuntimeError("metrics down")

    log.counter = broken
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        log.record(413, "too_large", "body too large")
    [failure] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert failure.getMessage() == "the faroe rejection counter raised" and failure.exc_info is not None
