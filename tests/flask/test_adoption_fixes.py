"""The rough edges of adoption that issue 20 lists under point 5, one test each (the log wording
of a failed notification is in tests/core/test_signin.py, ``db current`` after the application's
Alembic in tests/sql/test_alembic_app.py)."""

from __future__ import annotations

import json
import re

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask, render_template_string
from flask_wtf import CSRFProtect

from faroe_flask import login_required
from faroe_flask.flask.serving import create_server, endpoint_paths, startup_lines
from faroe_flask.sql.migrate import MIGRATIONS_LOCATION
from faroe_flask.testing import memory_faroe


def test_a_login_view_set_after_the_extension_is_used() -> None:
    app = Flask("late_login_view")
    memory_faroe(app)
    app.config["FAROE_LOGIN_VIEW"] = "login"  # after Faroe(app)

    @app.get("/login")
    def login() -> str:
        return "sign in"

    @app.get("/private")
    @login_required
    def private() -> str:
        return "secret"

    response = app.test_client().get("/private")
    assert response.status_code == 302 and response.location == "/login?next=%2Fprivate"
    app.config["FAROE_LOGIN_VIEW"] = "/elsewhere"
    assert app.test_client().get("/private").location == "/elsewhere?next=%2Fprivate"


@pytest.mark.parametrize("register", ["none", "default", "own prefix"])
def test_serve_prints_the_endpoint_the_app_really_has(register: str) -> None:
    app = Flask("serve_lines")
    faroe = memory_faroe(app, register_blueprint=register == "default")
    if register == "own prefix":
        app.register_blueprint(faroe.create_blueprint(url_prefix="/api/auth"))
    server = create_server(app, listen="127.0.0.1:0")
    try:
        port = server.effective_port
        lines = startup_lines(app, server)
    finally:
        server.close()
    if register == "none":
        assert endpoint_paths(app) == []
        assert lines == [
            "No Faroe endpoint: the app registers none (Faroe(app, register_blueprint=False)); "
            "its own views run actions in-process"
        ]
        return
    path = "/faroe" if register == "default" else "/api/auth"
    assert lines == [f"Faroe endpoint: POST http://127.0.0.1:{port}{path}"]
    # And that URL answers (the 404).
    response = app.test_client().post(path, data=json.dumps({"action": "get_session", "arguments": {"session_token": "x"}}))
    assert response.status_code == 200 and response.json is not None
    assert response.json["error_code"] == "invalid_session_token"


def test_the_first_migrations_title_does_not_promise_a_users_table() -> None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_LOCATION)
    script = ScriptDirectory.from_config(config).get_revision("faroe_0001")
    assert script is not None
    title = script.doc.splitlines()[0]
    assert "storage table" in title and "unless the app has its own" in title


@pytest.mark.parametrize("order", ["csrf first", "faroe first"])
def test_csrfprotect_leaves_the_faroe_endpoint_alone_and_guards_the_apps_forms(order: str) -> None:
    app = Flask("csrf")
    app.config.update(SECRET_KEY="test", FAROE_ENDPOINT_SECRET="endpoint-secret")
    if order == "csrf first":
        CSRFProtect(app)
    memory_faroe(app)
    if order == "faroe first":
        CSRFProtect(app)

    @app.post("/profile")
    def profile() -> str:
        return "saved"

    client = app.test_client()
    body = json.dumps({"action": "get_session", "arguments": {"session_token": "x"}})
    response = client.post("/faroe", data=body, headers={"Authorization": "Bearer endpoint-secret"})
    assert response.status_code == 200 and response.json is not None
    assert response.json["error_code"] == "invalid_session_token"
    assert client.post("/faroe", data=body).status_code == 401  # its own check still applies
    # The app's own form is protected (what docs/csrf.md tells existing forms to do about it).
    assert client.post("/profile").status_code == 400
    # Faroe's first-request function is gone: later requests pay nothing for it.
    assert [f.__name__ for f in app.before_request_funcs.get(None, [])] == ["csrf_protect"]


def test_without_csrfprotect_nothing_stays_on_the_request_path() -> None:
    app = Flask("no_csrf")
    memory_faroe(app)
    assert app.test_client().get("/nothing").status_code == 404
    assert app.before_request_funcs.get(None, []) == []


def test_the_csrf_guide_recipes_work() -> None:
    """docs/csrf.md: the hidden field, the header from the meta tag, an exempt bearer API."""
    app = Flask("csrf_guide")
    app.config.update(SECRET_KEY="test")
    csrf = CSRFProtect(app)
    memory_faroe(app)
    page = (
        '<meta name="csrf-token" content="{{ csrf_token() }}">'
        '<form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}"></form>'
    )

    @app.get("/new")
    def new() -> str:
        return render_template_string(page)

    @app.post("/posts")
    def create_post() -> str:
        return "saved"

    @app.post("/api/v1/posts")
    @csrf.exempt
    def api_create_post() -> str:
        return "api saved"

    client = app.test_client()
    assert client.post("/posts", data={"title": "t"}).status_code == 400
    (token,) = set(re.findall(r'(?:content|value)="([^"]+)"', client.get("/new").text))
    assert client.post("/posts", data={"title": "t", "csrf_token": token}).text == "saved"
    assert client.post("/posts", headers={"X-CSRFToken": token}).text == "saved"
    assert client.post("/api/v1/posts").text == "api saved"
