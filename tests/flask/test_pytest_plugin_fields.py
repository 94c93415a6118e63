"""The pytest plugin on an app with a required sign-up field: ``faroe_signup_fields`` overridden."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from flask import Flask, jsonify

from faroe_flask import current_user, login_required
from faroe_flask.flask.hooks import SignupField
from faroe_flask.testing import SignedIn, memory_faroe

USERNAMES: dict[str, str] = {}


@pytest.fixture
def app() -> Flask:
    app = Flask("plugin_fields_test")
    app.config.update(TESTING=True)
    faroe = memory_faroe(app)
    faroe.signup_fields = [SignupField("username", "Username")]

    @faroe.signup_fields_receiver
    def save(user_id: str, fields: Mapping[str, str]) -> None:
        USERNAMES[user_id] = fields["username"]

    @app.get("/me")
    @login_required
    def me() -> object:
        return jsonify(username=USERNAMES[str(current_user.id)])

    return app


@pytest.fixture
def faroe_signup_fields() -> Mapping[str, str]:
    return {"username": "plugin-user"}


def test_faroe_user_signs_up_with_the_overridden_fields(faroe_client: object, faroe_user: SignedIn) -> None:
    assert USERNAMES[faroe_user.user_id] == "plugin-user"
    response = faroe_client.get("/me")  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.json == {"username": "plugin-user"}
