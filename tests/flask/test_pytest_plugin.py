"""The ``faroe_flask`` pytest plugin's fixtures, on this module's own ``app`` fixture."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify

from faroe_flask import current_user, login_required
from faroe_flask.pytest_plugin import FAROE_USER_EMAIL_ADDRESS
from faroe_flask.testing import Outbox, SignedIn, memory_faroe


@pytest.fixture
def app() -> Flask:
    app = Flask("plugin_test")
    app.config.update(TESTING=True)
    memory_faroe(app)

    @app.get("/me")
    @login_required
    def me() -> object:
        return jsonify(id=current_user.id)

    return app


def test_the_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("faroe_flask")


def test_faroe_client_is_signed_in(faroe_client: object, faroe_user: SignedIn, app: Flask) -> None:
    response = faroe_client.get("/me")  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.json == {"id": faroe_user.user_id}
    assert app.test_client().get("/me").status_code == 401


def test_faroe_outbox_holds_the_signup_code(faroe_outbox: Outbox, faroe_user: SignedIn) -> None:
    assert faroe_user.email_address == FAROE_USER_EMAIL_ADDRESS
    assert len(faroe_outbox.code_for(FAROE_USER_EMAIL_ADDRESS)) == 8
