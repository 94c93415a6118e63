"""Rejected requests are logged once at INFO with their reason; list names are checked at start-up."""

from __future__ import annotations

import json
import time
import logging

import pytest
from flask import Flask

from faroe_flask import ConfigError, MemoryUserStore
from faroe_flask.user_server import user_server_blueprint

from .conftest import AppFactory

MARKER = "Hunter2-secret-value"


def rejection_records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == logger and "rejected" in record.getMessage()
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not a JSON document (Expecting value at character 0)"),
        (f'["{MARKER}"]'.encode(), "the JSON document is not an object"),
        (f'{{"action":"{MARKER}","arguments":{{}}}}'.encode(), "unknown action"),
        (f'{{"action":"get_session","arguments":{{"{MARKER}":"{MARKER}"}}}}'.encode(),
         "argument session_token missing or not a string"),
        (f'{{"action":"get_session","arguments":{{"session_token":"{MARKER}\\q"}}}}'.encode(),
         "not a JSON document (Invalid \\escape at character 74)"),
        (f'{{"a":"{MARKER}","a":"{MARKER}"}}'.encode(), "repeated member name in a JSON object"),
        (f'{{"action":"get_session","arguments":"{MARKER}"}}'.encode(), "arguments missing or not an object"),
    ],
)
def test_each_rejection_is_logged_once_at_info_with_its_reason(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, body: bytes, reason: str
) -> None:
    app = make_app()
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        response = app.test_client().post("/faroe", data=body)
    assert response.status_code == 400 and response.data == b""
    records = rejection_records(caplog, "faroe_flask")
    assert len(records) == 1
    assert records[0].levelno == logging.INFO
    assert records[0].getMessage() == f"faroe request rejected with 400: {reason}"
    assert MARKER not in caplog.text


def test_blocked_and_not_allowed_actions_say_so(make_app: AppFactory, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"action":"create_signup","arguments":{"email_address":"user@example.com"}}'
    blocked = make_app({"FAROE_ACTION_BLOCKLIST": "create_signup"})
    allowing = make_app({"FAROE_ACTION_ALLOWLIST": ["get_session"]})
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        assert blocked.test_client().post("/faroe", data=body).status_code == 400
        assert allowing.test_client().post("/faroe", data=body).status_code == 400
    messages = [record.getMessage() for record in rejection_records(caplog, "faroe_flask")]
    assert messages == [
        "faroe request rejected with 400: action blocked",
        "faroe request rejected with 400: action not allowed",
    ]
    assert "user@example.com" not in caplog.text


def test_accepted_requests_and_action_errors_log_no_rejection(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    with caplog.at_level(logging.DEBUG, logger="faroe_flask"):
        response = app.test_client().post(
            "/faroe", data=b'{"action":"get_session","arguments":{"session_token":"x.y"}}'
        )
    assert response.status_code == 200
    assert rejection_records(caplog, "faroe_flask") == []


@pytest.mark.parametrize("key", ["FAROE_ACTION_ALLOWLIST", "FAROE_ACTION_BLOCKLIST"])
def test_an_unknown_action_name_in_a_list_is_a_config_error_naming_it(make_app: AppFactory, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"{key} names an unknown action: 'create_singup' \(did you mean 'create_signup'\?\)"):
        make_app({key: "get_session, create_singup"})
    with pytest.raises(ConfigError, match=rf"{key} names an unknown action: 'Get_Session'"):
        make_app({key: ["Get_Session"]})


def test_known_names_in_either_list_are_accepted(make_app: AppFactory) -> None:
    def status(app: Flask, action: str, **arguments: str) -> int:
        body = json.dumps({"action": action, "arguments": arguments})
        return app.test_client().post("/faroe", data=body).status_code

    allowing = make_app({"FAROE_ACTION_ALLOWLIST": "get_session, delete_session"})
    assert status(allowing, "get_session", session_token="x.y") == 200
    assert status(allowing, "create_signup", email_address="user@example.com") == 400
    blocking = make_app({"FAROE_ACTION_BLOCKLIST": ["create_signup", "complete_user_password_reset"]})
    assert status(blocking, "create_signup", email_address="user@example.com") == 400
    assert status(blocking, "get_session", session_token="x.y") == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (f"{{{MARKER}".encode(), "not a JSON document (Expecting property name enclosed in double quotes at character 1)"),
        (f'{{"action":"{MARKER}","arguments":{{}}}}'.encode(), "unknown action"),
        (f'{{"action":"get_user","arguments":{{"user_id":["{MARKER}"]}}}}'.encode(),
         "argument user_id missing or not a string"),
        (f'{{"action":"create_user","arguments":{{"email_address":"a@b.c","password_hash":"{MARKER}!",'
         f'"password_hash_algorithm_id":"x","password_salt":"AA=="}}}}'.encode(),
         "argument password_hash is not base64"),
    ],
)
def test_user_server_rejections_are_logged_once_at_info(
    caplog: pytest.LogCaptureFixture, body: bytes, reason: str
) -> None:
    app = Flask("user_server_rejections")
    app.register_blueprint(user_server_blueprint(MemoryUserStore(), authenticate=lambda request: True))
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        response = app.test_client().post("/faroe-user-server", data=body)
    assert response.status_code == 400 and response.data == b""
    records = rejection_records(caplog, "faroe_flask.user_server")
    assert [(record.levelno, record.getMessage()) for record in records] == [
        (logging.INFO, f"user server request rejected with 400: {reason}")
    ]
    assert MARKER not in caplog.text


def test_a_flood_of_user_server_rejections_is_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    """500 bad bodies of two kinds: one line each at once, then one summary line at the end of the
    interval (here 5 s, far more than the 500 requests take), never a value from a body."""
    app = Flask("user_server_flood")
    app.register_blueprint(user_server_blueprint(
        MemoryUserStore(), authenticate=lambda request: True, rejection_log_interval=5,
    ))
    client = app.test_client()
    bodies = [f'{{"action":"{MARKER}{index}","arguments":{{}}}}'.encode() for index in range(400)]
    bodies += [f"{{{MARKER}".encode()] * 100
    with caplog.at_level(logging.INFO, logger="faroe_flask"):
        assert {client.post("/faroe-user-server", data=body).status_code for body in bodies} == {400}
        deadline = time.monotonic() + 20
        # Only this blueprint's summary ends the wait: another test's log may sum up in between.
        while time.monotonic() < deadline and not any(
            r.name == "faroe_flask.user_server" and "held back" in r.getMessage() for r in caplog.records
        ):
            time.sleep(0.05)
    lines = [record.getMessage() for record in caplog.records if record.name == "faroe_flask.user_server"]
    assert lines == [
        "user server request rejected with 400: unknown action",
        "user server request rejected with 400: not a JSON document "
        "(Expecting property name enclosed in double quotes at character 1)",
        "user server held back 498 repeated log lines in the last 5 s: 400 unknown action x399; "
        "400 not a JSON document (Expecting property name enclosed in double quotes at character 1) x99",
    ]
    assert MARKER not in caplog.text
