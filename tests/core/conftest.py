"""Fixtures for the account-flow tests: a server on interfering wrappers, and a signed-up user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..conftest import CapturingEmailSender
from .helpers import Account, sign_up
from .wrappers import Rig, build_rig


@pytest.fixture
def rig(make_server: Callable[..., Any], storage: Any, user_store: Any) -> Rig:
    return build_rig(make_server, storage, user_store)


@pytest.fixture
def account(rig: Rig, email_sender: CapturingEmailSender) -> Account:
    return Account(*sign_up(rig.server, email_sender))
