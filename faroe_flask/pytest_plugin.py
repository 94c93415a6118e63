"""A pytest plugin (registered as ``faroe_flask`` under the ``pytest11`` entry point) with
fixtures for an application's tests. They build on the project's own ``app`` fixture, whose
Faroe must send through an ``Outbox`` (``faroe_flask.testing.memory_parts`` or ``memory_faroe``):

* ``faroe_outbox``: the app's ``Outbox``;
* ``faroe_user``: a user signed up through the whole flow (``user@example.com``,
  ``TEST_PASSWORD``), as a ``SignedIn``;
* ``faroe_client``: ``app.test_client()`` with ``faroe_user``'s session cookie.

Disable it with ``-p no:faroe_flask``.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .testing import Outbox, SignedIn, outbox_of, set_client_session, sign_up

FAROE_USER_EMAIL_ADDRESS = "user@example.com"


@pytest.fixture
def faroe_outbox(app: Flask) -> Outbox:
    return outbox_of(app)


@pytest.fixture
def faroe_user(app: Flask) -> SignedIn:
    return sign_up(FAROE_USER_EMAIL_ADDRESS, app=app)


@pytest.fixture
def faroe_client(app: Flask, faroe_user: SignedIn) -> FlaskClient:
    client = app.test_client()
    set_client_session(client, faroe_user)
    return client
