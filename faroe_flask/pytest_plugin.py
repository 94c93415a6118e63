"""A pytest plugin (registered as ``faroe_flask`` under the ``pytest11`` entry point) with
fixtures for an application's tests. They build on the project's own ``app`` fixture, whose
Faroe must send through an ``Outbox`` (``faroe_flask.testing.memory_parts`` or ``memory_faroe``):

* ``faroe_outbox``: the app's ``Outbox``;
* ``faroe_user``: a user signed up through the whole flow (``user@example.com``,
  ``TEST_PASSWORD``, and ``faroe_signup_fields``), as a ``SignedIn``;
* ``faroe_client``: ``app.test_client()`` with ``faroe_user``'s session cookie;
* ``faroe_signup_fields``: the application's own sign-up fields for ``faroe_user`` (``{}``;
  override it, e.g. ``{"username": "user"}``, when the app declares required ones).

When the ``app`` fixture is torn down, the plugin first closes the connections of its Faroe
(``Faroe.close``: database engines, Redis client, mail helper threads), before the fixture's own
clean-up runs (removing a temporary database file, for example), so that a test suite leaves no
SQLite ``-wal``/``-shm`` files and no database connections behind.

Disable it with ``-p no:faroe_flask``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .testing import Outbox, SignedIn, close_faroe, outbox_of, set_client_session, sign_up

FAROE_USER_EMAIL_ADDRESS = "user@example.com"


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Generator[None, Any, Any]:
    """Any fixture whose value is a Flask app with Faroe (the ``app`` fixture): close its Faroe
    when the fixture is torn down. Finalizers run last-added first, so this runs before the rest
    of a ``yield`` fixture (added while its value was made)."""
    value = yield
    if isinstance(value, Flask) and "faroe" in value.extensions:
        request.addfinalizer(lambda: close_faroe(value))
    return value


@pytest.fixture
def faroe_signup_fields() -> Mapping[str, str]:
    """The application's own sign-up fields of ``faroe_user`` (override when the app has some)."""
    return {}


@pytest.fixture
def faroe_outbox(app: Flask) -> Outbox:
    return outbox_of(app)


@pytest.fixture
def faroe_user(app: Flask, faroe_signup_fields: Mapping[str, str]) -> SignedIn:
    return sign_up(FAROE_USER_EMAIL_ADDRESS, app=app, fields=faroe_signup_fields)


@pytest.fixture
def faroe_client(app: Flask, faroe_user: SignedIn) -> FlaskClient:
    client = app.test_client()
    set_client_session(client, faroe_user)
    return client
